package amqp

import (
	"context"
	"fmt"
	"testing"
	"time"

	"ferry/internal/broker"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// TestPagingLive queues far more than the memory high watermark through
// amqp091-go: paging keeps the broker's message memory under it (no
// connection.blocked), and a consumer then gets every message intact and
// in order.
func TestPagingLive(t *testing.T) {
	const n, size = 20000, 2048 // ~40 MB of bodies against an 8 MB watermark
	ts := startServer(t, withBrokerDir(t.TempDir()), func(_ *Config, bc *broker.Config) {
		bc.MemoryHighWatermark = 8 << 20
		bc.MemoryPagingThreshold = 4 << 20
	})
	conn, ch := openChannel(t, ts)
	blocked := conn.NotifyBlocked(make(chan amqp091.Blocking, 4))
	if _, err := ch.QueueDeclare("paged", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	body := func(i int) []byte {
		b := make([]byte, size)
		copy(b, fmt.Sprintf("msg-%06d|", i))
		for k := 16; k < size; k++ {
			b[k] = byte(i + k)
		}
		return b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var last *amqp091.DeferredConfirmation
	for i := 0; i < n; i++ {
		var err error
		last, err = ch.PublishWithDeferredConfirmWithContext(ctx, "", "paged", false, false,
			amqp091.Publishing{Body: body(i), Headers: amqp091.Table{"i": int32(i)}, Priority: 0})
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if ok, err := last.WaitContext(ctx); !ok || err != nil {
		t.Fatalf("last confirm: %v %v", ok, err)
	}
	select {
	case b := <-blocked:
		t.Fatalf("publisher blocked while paging was possible: %+v (memory %d)", b, ts.b.Memory())
	default:
	}
	if m := ts.b.Memory(); m > 8<<20 {
		t.Fatalf("broker message memory %d above the watermark", m)
	}
	if err := ch.Qos(300, 0, false); err != nil {
		t.Fatal(err)
	}
	ds, err := ch.Consume("paged", "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		var d amqp091.Delivery
		select {
		case d = <-ds:
		case <-ctx.Done():
			t.Fatalf("timed out at delivery %d", i)
		}
		if string(d.Body) != string(body(i)) || d.Headers["i"] != int32(i) {
			t.Fatalf("delivery %d: %.16q headers %v", i, d.Body, d.Headers)
		}
		if i%100 == 99 || i == n-1 {
			if err := d.Ack(true); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for ts.b.Memory() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("memory %d after all acked", ts.b.Memory())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
