// Package proc holds what the load tools need to run reference servers as
// child processes: a free loopback port and a bounded copy of their output.
package proc

import (
	"net"
	"sync"
)

// FreePort asks the kernel for an unused loopback port. Another process
// could take it before the server binds it; the server then fails clearly.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailMax is how much of a process's output a TailBuffer keeps.
const tailMax = 16 << 10

// TailBuffer keeps the last part of a process's output for error messages.
type TailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

// Write keeps p, dropping the oldest output beyond tailMax.
func (t *TailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

// String returns the kept output.
func (t *TailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
