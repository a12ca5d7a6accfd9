//go:build linux

package netsrv

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineEcho serves line echo from event loops; "block\n" detaches first.
type lineEcho struct{}

func (lineEcho) ServeConn(c *Conn) { echo(c) }

func (lineEcho) Open(c *Conn) Session { return &echoSession{c: c} }

type echoSession struct {
	c   *Conn
	buf []byte
}

func (s *echoSession) Ready() bool {
	var b [4096]byte
	n, err := s.c.ReadNow(b[:])
	if err == ErrWouldBlock {
		return true
	}
	if n == 0 {
		return false
	}
	s.buf = append(s.buf, b[:n]...)
	for {
		i := indexByte(s.buf, '\n')
		if i < 0 {
			return true
		}
		line := string(s.buf[:i+1])
		s.buf = s.buf[i+1:]
		switch line {
		case "panic\n":
			panic("test panic")
		case "sleep\n":
			time.Sleep(300 * time.Millisecond) // a slow command, on the loop

		case "detach\n":
			s.c.Detach()
			io.WriteString(s.c, "detached\n")
			r := bufio.NewReader(io.MultiReader(bytesReader(s.buf), s.c))
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return false
				}
				io.WriteString(s.c, l)
			}
		}
		if _, err := io.WriteString(s.c, line); err != nil {
			return false
		}
	}
}

func TestLoopEcho(t *testing.T) {
	s := start(t, Config{Name: "test", EventLoops: 2}, lineEcho{})
	if len(s.loops) != 2 {
		t.Fatalf("loops = %d", len(s.loops))
	}
	c := dial(t, s)
	if got := roundTrip(t, c, "hello\n"); got != "hello\n" {
		t.Fatalf("got %q", got)
	}
}

func indexByte(b []byte, ch byte) int {
	for i, x := range b {
		if x == ch {
			return i
		}
	}
	return -1
}

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func bytesReader(b []byte) io.Reader { return &sliceReader{b: append([]byte(nil), b...)} }

// The tests below run the goroutine-per-connection tests' scenarios on
// event loops, and the loop's own cases: detaching, full socket buffers.

func TestLoopMaxConnsRejects(t *testing.T) {
	s := start(t, Config{Name: "test", MaxConns: 1, EventLoops: 2, Reject: func(c net.Conn) {
		io.WriteString(c, "busy\n")
	}}, lineEcho{})
	c1 := dial(t, s)
	if got := roundTrip(t, c1, "hi\n"); got != "hi\n" {
		t.Fatalf("echo %q", got)
	}
	c2 := dial(t, s)
	if b, _ := io.ReadAll(c2); string(b) != "busy\n" || s.Stats().Rejected != 1 {
		t.Fatalf("rejection: %q", b)
	}
	c1.Close()
	waitFor(t, func() bool { return s.Stats().Current == 0 })
	if got := roundTrip(t, dial(t, s), "again\n"); got != "again\n" {
		t.Fatalf("slot not freed: %q", got)
	}
}

func TestLoopPanicIsContained(t *testing.T) {
	s := start(t, Config{Name: "test", EventLoops: 1}, lineEcho{})
	other := dial(t, s)
	roundTrip(t, other, "first\n")
	c := dial(t, s)
	io.WriteString(c, "panic\n")
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("connection not closed after panic: %v", err)
	}
	if got := roundTrip(t, other, "still up\n"); got != "still up\n" {
		t.Fatalf("the loop died with the panicking connection: %q", got)
	}
	waitFor(t, func() bool { return s.Stats().Current == 1 })
}

func TestLoopKill(t *testing.T) {
	s := start(t, Config{Name: "test", EventLoops: 1}, lineEcho{})
	c := dial(t, s)
	roundTrip(t, c, "x\n")
	var ids []uint64
	s.Each(func(c *Conn) { ids = append(ids, c.ID) })
	if len(ids) != 1 {
		t.Fatalf("registry: %v", ids)
	}
	s.Get(ids[0]).Kill()
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("killed connection not closed: %v", err)
	}
	waitFor(t, func() bool { return s.Stats().Current == 0 })
}

// TestLoopDetach: a detached connection goes on being served by its own
// goroutine while the loop, handed to a new goroutine, serves the others.
func TestLoopDetach(t *testing.T) {
	s := start(t, Config{Name: "test", EventLoops: 1}, lineEcho{})
	a, b := dial(t, s), dial(t, s)
	roundTrip(t, a, "a\n")
	roundTrip(t, b, "b\n")
	io.WriteString(a, "detach\nafter\n")
	if got := readN(t, a, len("detached\nafter\n")); got != "detached\nafter\n" {
		t.Fatalf("detached connection: %q", got)
	}
	// a now sits in a blocking read on its goroutine: b must not wait for it.
	for i := 0; i < 100; i++ {
		if got := roundTrip(t, b, "more\n"); got != "more\n" {
			t.Fatalf("loop stalled after detach: %q", got)
		}
	}
	if got := roundTrip(t, a, "still\n"); got != "still\n" {
		t.Fatalf("detached connection: %q", got)
	}
	// Kill and Close reach detached connections too.
	var idA uint64
	s.Each(func(c *Conn) {
		if c.Detached() {
			idA = c.ID
		}
	})
	if idA == 0 {
		t.Fatal("no connection reports Detached")
	}
	s.Get(idA).Kill()
	if _, err := io.ReadAll(a); err != nil {
		t.Fatalf("killed detached connection: %v", err)
	}
	waitFor(t, func() bool { return s.Stats().Current == 1 })
}

// bigWriter answers "big\n" with size bytes and anything else with an echo.
type bigWriter struct{ size int }

func (h bigWriter) ServeConn(c *Conn) {}

func (h bigWriter) Open(c *Conn) Session { return &bigSession{c: c, size: h.size} }

type bigSession struct {
	c    *Conn
	size int
}

func (s *bigSession) Ready() bool {
	var b [64]byte
	n, err := s.c.ReadNow(b[:])
	if err == ErrWouldBlock {
		return true
	}
	if n == 0 {
		return false
	}
	if string(b[:n]) == "big\n" {
		if _, err := s.c.Write(make([]byte, s.size)); err != nil {
			return false
		}
	} else if _, err := s.c.Write(b[:n]); err != nil {
		return false
	}
	if s.c.Detached() {
		// The write filled the socket buffer: serve on as a goroutine.
		for {
			n, err := s.c.Read(b[:])
			if err != nil {
				return false
			}
			if _, err := s.c.Write(b[:n]); err != nil {
				return false
			}
		}
	}
	return true
}

// TestLoopFullSocketDetaches: a client that does not read its large reply
// cannot stall the loop; it gets every byte once it reads.
func TestLoopFullSocketDetaches(t *testing.T) {
	const size = 32 << 20
	s := start(t, Config{Name: "test", EventLoops: 1}, bigWriter{size: size})
	slow, other := dial(t, s), dial(t, s)
	slow.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(slow, "big\n")
	time.Sleep(50 * time.Millisecond)
	for i := 0; i < 50; i++ {
		if got := roundTrip(t, other, "ping\n"); got != "ping\n" {
			t.Fatalf("loop stalled by a slow reader: %q", got)
		}
	}
	n, err := io.CopyN(io.Discard, slow, size)
	if err != nil || n != size {
		t.Fatalf("slow reader got %d bytes: %v", n, err)
	}
	if got := roundTrip(t, slow, "echo\n"); got != "echo\n" {
		t.Fatalf("after the large reply: %q", got)
	}
}

// TestLoopCloseEndsConnections: Close ends idle looped and detached
// connections, stops the loops and accepting.
func TestLoopCloseEndsConnections(t *testing.T) {
	base := runtime.NumGoroutine()
	cfg := Config{Name: "test", EventLoops: 2, Addr: "127.0.0.1:0"}
	s, err := Listen(cfg, lineEcho{})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	var conns []net.Conn
	for i := 0; i < 10; i++ {
		c := dial(t, s)
		roundTrip(t, c, "x\n")
		conns = append(conns, c)
	}
	io.WriteString(conns[0], "detach\n")
	readN(t, conns[0], len("detached\n"))
	done := make(chan struct{})
	go func() { s.Close(2 * time.Second); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	for _, c := range conns {
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("connection not closed: %v", err)
		}
	}
	if _, err := net.Dial("tcp", s.Addr().String()); err == nil {
		t.Fatal("still accepting after Close")
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= base })
}

// TestLoopManyClients pipelines from many clients at once over two loops.
func TestLoopManyClients(t *testing.T) {
	s := start(t, Config{Name: "test", EventLoops: 2}, lineEcho{})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			for j := 0; j < 200; j++ {
				var batch strings.Builder
				for k := 0; k < 5; k++ {
					fmt.Fprintf(&batch, "c%d-%d-%d\n", i, j, k)
				}
				if _, err := io.WriteString(c, batch.String()); err != nil {
					errs <- err
					return
				}
				for k := 0; k < 5; k++ {
					line, err := r.ReadString('\n')
					if want := fmt.Sprintf("c%d-%d-%d\n", i, j, k); err != nil || line != want {
						errs <- fmt.Errorf("got %q, %v; want %q", line, err, want)
						return
					}
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestLoopCloseLetsRepliesOut: Close ends input, but a command already
// read still gets its reply out.
func TestLoopCloseLetsRepliesOut(t *testing.T) {
	cfg := Config{Name: "test", EventLoops: 1, Addr: "127.0.0.1:0"}
	s, err := Listen(cfg, lineEcho{})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	c := dial(t, s)
	roundTrip(t, c, "x\n")
	io.WriteString(c, "sleep\n")
	time.Sleep(100 * time.Millisecond) // the loop is in the slow command
	s.Close(2 * time.Second)
	if got, _ := io.ReadAll(c); string(got) != "sleep\n" {
		t.Fatalf("reply of the command running at Close: %q", got)
	}
}

func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	b := make([]byte, n)
	m, err := io.ReadFull(c, b)
	if err != nil {
		t.Fatalf("read: %v (%q)", err, b[:m])
	}
	return string(b)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
