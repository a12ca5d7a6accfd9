package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"ferry/internal/config"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// startAMQPOnly runs a Server with only the AMQP front end on 127.0.0.1:0.
func startAMQPOnly(t *testing.T, dir string) (*Server, chan error) {
	t.Helper()
	cfg := config.Default()
	cfg.Memcached.Enabled = false
	cfg.Redis.Enabled = false
	cfg.Persist.AppendOnly = false
	cfg.Persist.Save = ""
	cfg.AMQP.Addr = "127.0.0.1:0"
	cfg.Dir = dir
	s, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), VerboseOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	return s, done
}

// TestAMQPShutdownAndRestart: connections are closed with RabbitMQ's 320
// CONNECTION_FORCED at shutdown, the broker is reachable from the server,
// and a confirmed persistent message survives the restart.
func TestAMQPShutdownAndRestart(t *testing.T) {
	dir := t.TempDir()
	s, done := startAMQPOnly(t, dir)
	if s.Broker() == nil || s.AMQP() == nil {
		t.Fatal("Broker() or AMQP() is nil")
	}
	url := "amqp://guest:guest@" + s.Addr("amqp").String() + "/"
	conn, err := amqp091.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	closed := conn.NotifyClose(make(chan *amqp091.Error, 1))
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("durable-q", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", "durable-q", false, false,
		amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: []byte("kept")})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dc.WaitContext(context.Background()); !ok || err != nil {
		t.Fatalf("confirm: %v %v", ok, err)
	}
	s.Shutdown()
	select {
	case e := <-closed:
		if e == nil || e.Code != 320 || e.Reason != "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'" {
			t.Fatalf("close reason %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no connection.close at shutdown")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	s2, done2 := startAMQPOnly(t, dir)
	defer func() { s2.Shutdown(); <-done2 }()
	conn2, err := amqp091.Dial("amqp://guest:guest@" + s2.Addr("amqp").String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	ch2, err := conn2.Channel()
	if err != nil {
		t.Fatal(err)
	}
	m, ok, err := ch2.Get("durable-q", true)
	if err != nil || !ok || string(m.Body) != "kept" {
		t.Fatalf("after restart: %q %v %v", m.Body, ok, err)
	}
}
