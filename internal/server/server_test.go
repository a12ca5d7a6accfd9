package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"ferry/internal/config"
)

func TestRunServesAndShutsDown(t *testing.T) {
	cfg := config.Default()
	cfg.Memcached.Addr = "127.0.0.1:0"
	cfg.Redis.Addr = "127.0.0.1:0"
	cfg.AMQP.Addr = "127.0.0.1:0"
	cfg.Dir = t.TempDir()
	s, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), VerboseOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("dataset not loaded")
	}
	c, err := net.Dial("tcp", s.Addr("memcached").String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "set k 0 0 1\r\nv\r\nget k\r\n")
	r := bufio.NewReader(c)
	for _, want := range []string{"STORED\r\n", "VALUE k 0 1\r\n", "v\r\n", "END\r\n"} {
		if got, _ := r.ReadString('\n'); got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
	s.Shutdown()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Shutdown")
	}
}

func TestNewFailsOnBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := config.Default()
	cfg.Memcached.Addr = ln.Addr().String()
	cfg.Redis.Enabled = false
	cfg.AMQP.Enabled = false
	if _, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err == nil {
		t.Fatal("New succeeded on a port in use")
	}
}
