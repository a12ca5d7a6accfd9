// Package testutil starts real listeners on 127.0.0.1:0 for tests and talks
// to them byte by byte. Test-only; it imports netsrv and the standard library.
package testutil

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"ferry/internal/netsrv"
)

// Serve starts h on an ephemeral loopback port and stops it when the test
// ends.
func Serve(t testing.TB, cfg netsrv.Config, h netsrv.Handler) *netsrv.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	srv, err := netsrv.Listen(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close(2 * time.Second) })
	return srv
}

// Conn is a client connection with helpers for line protocols.
type Conn struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

// Dial connects to addr.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &Conn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

// Raw returns the underlying connection.
func (c *Conn) Raw() net.Conn { return c.nc }

// Send writes s as is.
func (c *Conn) Send(s string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// ReadN reads exactly n bytes.
func (c *Conn) ReadN(n int) string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(c.r, b); err != nil {
		c.t.Fatalf("read %d bytes: %v (got %q)", n, err, b)
	}
	return string(b)
}

// Expect reads len(want) bytes and fails the test unless they equal want.
func (c *Conn) Expect(want string) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, len(want))
	n, err := io.ReadFull(c.r, b)
	if string(b[:n]) != want {
		c.t.Fatalf("reply mismatch:\n got: %q (err %v)\nwant: %q", b[:n], err, want)
	}
}

// Line reads one CRLF- or LF-terminated line without its ending.
func (c *Conn) Line() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	s, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read line: %v (got %q)", err, s)
	}
	return strings.TrimRight(s, "\r\n")
}

// ExpectClosed fails unless the server closes the connection soon.
func (c *Conn) ExpectClosed() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := io.ReadAll(c.r)
	if err != nil {
		c.t.Fatalf("connection not closed: %v (read %q)", err, rest)
	}
}

// ExpectSilence fails if anything arrives within d.
func (c *Conn) ExpectSilence(d time.Duration) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	if n, _ := c.r.Read(b[:]); n > 0 {
		rest, _ := c.r.Peek(c.r.Buffered())
		c.t.Fatalf("unexpected data: %q", append(b[:1], rest...))
	}
}

// Lines splits s on CRLF, for compact expectations in tables.
func Lines(s ...string) string {
	var b bytes.Buffer
	for _, l := range s {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return b.String()
}
