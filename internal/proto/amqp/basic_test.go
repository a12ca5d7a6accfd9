package amqp

import (
	"context"
	"fmt"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

func TestPublishConsumeRoundTrip(t *testing.T) {
	ts := startServer(t)
	_, ch := openChannel(t, ts)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Name) < 8 || q.Name[:8] != "amq.gen-" {
		t.Fatalf("server-named queue %q", q.Name)
	}
	msgs, err := ch.Consume(q.Name, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 1, 100, 200000, 3 << 20} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(i * 7)
		}
		pub := amqp091.Publishing{ContentType: "application/x-test", Headers: amqp091.Table{"n": int32(size)},
			CorrelationId: "c1", MessageId: fmt.Sprint(size), Timestamp: time.Unix(1700000000, 0), Body: body}
		if err := ch.PublishWithContext(context.Background(), "", q.Name, false, false, pub); err != nil {
			t.Fatal(err)
		}
		d := recv(t, msgs)
		if string(d.Body) != string(body) || d.ContentType != "application/x-test" || d.CorrelationId != "c1" ||
			d.MessageId != fmt.Sprint(size) || d.Headers["n"] != int32(size) || !d.Timestamp.Equal(time.Unix(1700000000, 0)) {
			t.Fatalf("size %d: got %d bytes, props %+v", size, len(d.Body), d)
		}
		if d.Exchange != "" || d.RoutingKey != q.Name || d.Redelivered {
			t.Fatalf("delivery fields %q %q %v", d.Exchange, d.RoutingKey, d.Redelivered)
		}
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
	}
}
