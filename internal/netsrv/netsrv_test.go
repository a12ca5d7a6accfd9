package netsrv

import (
	"bufio"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// echo is a line echo handler for tests.
func echo(c *Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if line == "panic\n" {
			panic("test panic")
		}
		io.WriteString(c, line)
	}
}

func start(t *testing.T, cfg Config, h Handler) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := Listen(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close(time.Second) })
	return s
}

func dial(t *testing.T, s *Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

func roundTrip(t *testing.T, c net.Conn, s string) string {
	t.Helper()
	io.WriteString(c, s)
	b := make([]byte, len(s))
	n, _ := io.ReadFull(c, b)
	return string(b[:n])
}

func TestMaxConnsRejects(t *testing.T) {
	var rejected atomic.Int32
	s := start(t, Config{Name: "test", MaxConns: 1, Reject: func(c net.Conn) {
		rejected.Add(1)
		io.WriteString(c, "busy\n")
	}}, HandlerFunc(echo))
	c1 := dial(t, s)
	if got := roundTrip(t, c1, "hi\n"); got != "hi\n" {
		t.Fatalf("echo %q", got)
	}
	c2 := dial(t, s)
	b, _ := io.ReadAll(c2)
	if string(b) != "busy\n" || rejected.Load() != 1 || s.Stats().Rejected != 1 {
		t.Fatalf("rejection: %q, %d", b, rejected.Load())
	}
	c1.Close()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Current != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	c3 := dial(t, s)
	if got := roundTrip(t, c3, "again\n"); got != "again\n" {
		t.Fatalf("slot not freed: %q", got)
	}
}

func TestPanicIsContained(t *testing.T) {
	s := start(t, Config{Name: "test"}, HandlerFunc(echo))
	c := dial(t, s)
	io.WriteString(c, "panic\n")
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("connection not closed after panic: %v", err)
	}
	c2 := dial(t, s)
	if got := roundTrip(t, c2, "still up\n"); got != "still up\n" {
		t.Fatalf("server died with the panicking connection: %q", got)
	}
}

func TestRegistryAndKill(t *testing.T) {
	s := start(t, Config{Name: "test"}, HandlerFunc(func(c *Conn) {
		buf := make([]byte, 1)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}))
	c := dial(t, s)
	io.WriteString(c, "x")
	var ids []uint64
	deadline := time.Now().Add(5 * time.Second)
	for len(ids) == 0 && time.Now().Before(deadline) {
		s.Each(func(c *Conn) { ids = append(ids, c.ID) })
		time.Sleep(5 * time.Millisecond)
	}
	if len(ids) != 1 || s.Get(ids[0]) == nil {
		t.Fatalf("registry: %v", ids)
	}
	s.Get(ids[0]).Kill()
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("killed connection not closed: %v", err)
	}
	if st := s.Stats(); st.Total != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCloseEndsIdleConnections(t *testing.T) {
	s := start(t, Config{Name: "test"}, HandlerFunc(echo))
	c := dial(t, s)
	roundTrip(t, c, "x\n")
	done := make(chan struct{})
	go func() { s.Close(2 * time.Second); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if _, err := net.Dial("tcp", s.Addr().String()); err == nil {
		t.Fatal("still accepting after Close")
	}
}
