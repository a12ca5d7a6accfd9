package amqp

import (
	"context"
	"fmt"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// fill publishes n messages "0".."n-1" to queue q.
func fill(t testing.TB, ch *amqp091.Channel, q string, n int) {
	t.Helper()
	for i := range n {
		publish(t, ch, "", q, amqp091.Publishing{Body: []byte(fmt.Sprint(i))})
	}
}

// TestQosPrefetchLive checks basic.qos per consumer (prefetch_count
// applies to each new consumer) and global (shared by the channel).
func TestQosPrefetchLive(t *testing.T) {
	ts := startServer(t)
	tests := []struct {
		name      string
		global    bool
		wantTotal int // deliveries outstanding before any ack
	}{
		{"per-consumer", false, 4}, // 2 for each consumer
		{"global", true, 2},        // 2 shared by the channel
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, ch := openChannel(t, ts)
			q := tempQueue(t, ch, "", nil)
			fill(t, ch, q, 10)
			must(t, ch.Qos(2, 0, tc.global))
			d1, err := ch.Consume(q, "", false, false, false, false, nil)
			must(t, err)
			d2, err := ch.Consume(q, "", false, false, false, false, nil)
			must(t, err)
			// Wait for the prefetch to fill (generously: the machine
			// may be loaded), then a moment more for any excess.
			var got []amqp091.Delivery
			deadline := time.After(10 * time.Second)
			var settle <-chan time.Time
		collect:
			for {
				select {
				case m := <-d1:
					got = append(got, m)
				case m := <-d2:
					got = append(got, m)
				case <-settle:
					break collect
				case <-deadline:
					break collect
				}
				if len(got) == tc.wantTotal && settle == nil {
					settle = time.After(300 * time.Millisecond)
				}
			}
			if len(got) != tc.wantTotal {
				t.Fatalf("%d deliveries outstanding, want %d", len(got), tc.wantTotal)
			}
			// Acking one lets exactly one more through.
			must(t, got[0].Ack(false))
			select {
			case <-d1:
			case <-d2:
			case <-time.After(10 * time.Second):
				t.Fatal("no delivery after an ack")
			}
			conn.Close()
		})
	}
}

// TestAckNackRejectLive covers ack (single and multiple), nack and reject
// with and without requeue, redelivered flags, recover and get/get-empty.
func TestAckNackRejectLive(t *testing.T) {
	ts := startServer(t)
	_, ch := openChannel(t, ts)
	q := tempQueue(t, ch, "", nil)

	// get-empty, then get-ok with the remaining message count.
	if _, ok, err := ch.Get(q, false); ok || err != nil {
		t.Fatalf("get on an empty queue: %v %v", ok, err)
	}
	fill(t, ch, q, 5)
	m, ok, err := ch.Get(q, false)
	if !ok || err != nil || string(m.Body) != "0" || m.MessageCount != 4 || m.Redelivered {
		t.Fatalf("get-ok %q count %d redelivered %v: %v %v", m.Body, m.MessageCount, m.Redelivered, ok, err)
	}
	// reject with requeue puts it back at its place, redelivered.
	must(t, m.Reject(true))
	m, _, _ = ch.Get(q, false)
	if string(m.Body) != "0" || !m.Redelivered {
		t.Fatalf("after reject+requeue %q redelivered=%v", m.Body, m.Redelivered)
	}
	// Take three more; ack multiple up to the third.
	var tags []uint64
	tags = append(tags, m.DeliveryTag)
	for range 3 {
		m, _, _ = ch.Get(q, false)
		tags = append(tags, m.DeliveryTag)
	}
	must(t, ch.Ack(tags[2], true)) // acks "0","1","2"
	// nack multiple with requeue: "3" comes back redelivered.
	must(t, ch.Nack(tags[3], true, true))
	m, _, _ = ch.Get(q, false)
	if string(m.Body) != "3" || !m.Redelivered {
		t.Fatalf("after nack+requeue %q redelivered=%v", m.Body, m.Redelivered)
	}
	// nack without requeue drops it (no dead-letter exchange).
	must(t, m.Nack(false, false))
	m, _, _ = ch.Get(q, false)
	if string(m.Body) != "4" {
		t.Fatalf("next message %q", m.Body)
	}
	// recover(requeue=true) gives unacknowledged deliveries back.
	must(t, ch.Recover(true))
	m, _, _ = ch.Get(q, true)
	if string(m.Body) != "4" || !m.Redelivered {
		t.Fatalf("after recover %q redelivered=%v", m.Body, m.Redelivered)
	}
	if got := drain(t, ch, q); len(got) != 0 {
		t.Fatalf("queue not empty: %q", got)
	}
	// Acking an unknown tag is a channel error.
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	must(t, ch.Ack(999, false))
	expectAMQPError(t, waitClose(t, closed), 406, "PRECONDITION_FAILED - unknown delivery tag 999")
}

// TestConsumerRedeliveryOnCloseLive checks that unacknowledged deliveries
// go back to the queue (redelivered) when the consumer's connection dies,
// and that no-ack consumers get messages without tags to ack.
func TestConsumerRedeliveryOnCloseLive(t *testing.T) {
	ts := startServer(t)
	_, ch := openChannel(t, ts)
	_, err := ch.QueueDeclare("work", false, false, false, false, nil)
	must(t, err)
	fill(t, ch, "work", 3)

	c2, ch2 := openChannel(t, ts)
	d, err := ch2.Consume("work", "w", false, false, false, false, nil)
	must(t, err)
	for range 3 {
		recv(t, d)
	}
	c2.Close()

	_, ch3 := openChannel(t, ts)
	d3, err := ch3.Consume("work", "", true, false, false, false, nil)
	must(t, err)
	for i := range 3 {
		m := recv(t, d3)
		if string(m.Body) != fmt.Sprint(i) || !m.Redelivered {
			t.Fatalf("redelivery %d: %q redelivered=%v", i, m.Body, m.Redelivered)
		}
	}
}

// TestMandatoryReturnLive checks basic.return for unroutable mandatory
// messages, with the content intact, and no return without mandatory.
func TestMandatoryReturnLive(t *testing.T) {
	ts := startServer(t)
	_, ch := openChannel(t, ts)
	returns := ch.NotifyReturn(make(chan amqp091.Return, 2))
	ctx := context.Background()
	must(t, ch.PublishWithContext(ctx, "amq.direct", "nowhere", true, false, amqp091.Publishing{
		Body: []byte("lost"), CorrelationId: "c9", Headers: amqp091.Table{"k": "v"}}))
	must(t, ch.PublishWithContext(ctx, "amq.direct", "nowhere", false, false, amqp091.Publishing{Body: []byte("quiet")}))
	select {
	case r := <-returns:
		if r.ReplyCode != 312 || r.ReplyText != "NO_ROUTE" || r.Exchange != "amq.direct" || r.RoutingKey != "nowhere" ||
			string(r.Body) != "lost" || r.CorrelationId != "c9" || r.Headers["k"] != "v" {
			t.Fatalf("return %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no basic.return")
	}
	// A synchronous round trip orders the check after the second publish.
	_, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
	select {
	case r := <-returns:
		t.Fatalf("unexpected return %q", r.Body)
	default:
	}
	// Publishing to a missing exchange is 404 on the channel.
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	publish(t, ch, "nope", "k", amqp091.Publishing{})
	expectAMQPError(t, waitClose(t, closed), 404, "NOT_FOUND - no exchange 'nope' in vhost '/'")
}

// TestPublisherConfirmsLive checks confirm.select: every publish is acked
// in order, routed or not, and a mandatory unroutable message is returned
// before its ack.
func TestPublisherConfirmsLive(t *testing.T) {
	ts := startServer(t)
	_, ch := openChannel(t, ts)
	must(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 200))
	returns := ch.NotifyReturn(make(chan amqp091.Return, 1))
	q := tempQueue(t, ch, "", nil)
	const n = 100
	for i := range n {
		publish(t, ch, "", q, amqp091.Publishing{Body: []byte{byte(i)}})
	}
	must(t, ch.PublishWithContext(context.Background(), "", "no-such-queue", true, false, amqp091.Publishing{Body: []byte("r")}))
	for i := 1; i <= n+1; i++ {
		select {
		case c := <-confirms:
			if c.DeliveryTag != uint64(i) || !c.Ack {
				t.Fatalf("confirm %+v, want ack of %d", c, i)
			}
			if i == n+1 {
				select {
				case <-returns:
				default:
					t.Fatal("ack of a returned message before its basic.return")
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("confirm %d missing", i)
		}
	}
	// Deferred confirmations through the client's API.
	dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", q, false, false, amqp091.Publishing{Body: []byte("d")})
	must(t, err)
	<-confirms // the listener above also sees it
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ok, err := dc.WaitContext(ctx); !ok || err != nil {
		t.Fatalf("deferred confirm %v %v", ok, err)
	}
	// confirm.select after tx.select is refused.
	_, ch2 := openChannel(t, ts)
	must(t, ch2.Tx())
	expectAMQPError(t, ch2.Confirm(false), 406, "PRECONDITION_FAILED - cannot switch from tx to confirm mode")
}

// TestTransactionsLive covers tx.select, commit and rollback of publishes
// and acks.
func TestTransactionsLive(t *testing.T) {
	ts := startServer(t)
	_, ch := openChannel(t, ts)
	q := "txq"
	_, err := ch.QueueDeclare(q, false, false, false, false, nil)
	must(t, err)
	_, tx := openChannel(t, ts)
	must(t, tx.Tx())
	publish(t, tx, "", q, amqp091.Publishing{Body: []byte("a")})
	publish(t, tx, "", q, amqp091.Publishing{Body: []byte("b")})
	if got := drain(t, ch, q); len(got) != 0 {
		t.Fatalf("uncommitted publishes visible: %q", got)
	}
	must(t, tx.TxRollback())
	if got := drain(t, ch, q); len(got) != 0 {
		t.Fatalf("rolled-back publishes visible: %q", got)
	}
	publish(t, tx, "", q, amqp091.Publishing{Body: []byte("c")})
	must(t, tx.TxCommit())
	// Acks inside a transaction take effect at commit.
	m, ok, err := tx.Get(q, false)
	if !ok || err != nil || string(m.Body) != "c" {
		t.Fatalf("get %q %v %v", m.Body, ok, err)
	}
	must(t, m.Ack(false))
	must(t, tx.TxRollback())
	must(t, tx.Recover(true))
	m, ok, _ = tx.Get(q, false)
	if !ok || string(m.Body) != "c" || !m.Redelivered {
		t.Fatalf("after rolled-back ack and recover: %q %v", m.Body, m.Redelivered)
	}
	must(t, m.Ack(false))
	must(t, tx.TxCommit())
	if got := drain(t, ch, q); len(got) != 0 {
		t.Fatalf("committed ack left %q", got)
	}
	// commit on a non-transactional channel.
	expectAMQPError(t, ch.TxCommit(), 406, "PRECONDITION_FAILED - channel is not transactional")
}

// TestConsumerCancelNotifyLive checks the server-sent basic.cancel when a
// consumer's queue is deleted, and basic.cancel from the client.
func TestConsumerCancelNotifyLive(t *testing.T) {
	ts := startServer(t)
	_, ch := openChannel(t, ts)
	_, err := ch.QueueDeclare("doomed", false, false, false, false, nil)
	must(t, err)
	cancels := ch.NotifyCancel(make(chan string, 1))
	d, err := ch.Consume("doomed", "ctag", false, false, false, false, nil)
	must(t, err)
	_, other := openChannel(t, ts)
	_, err = other.QueueDelete("doomed", false, false, false)
	must(t, err)
	select {
	case tag := <-cancels:
		if tag != "ctag" {
			t.Fatalf("cancelled %q", tag)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no basic.cancel from the server")
	}
	if _, open := <-d; open {
		t.Fatal("delivery channel still open after the cancel")
	}
	// A client cancel stops deliveries.
	qd, err := ch.QueueDeclare("", false, false, true, false, nil)
	must(t, err)
	q := qd.Name
	d, err = ch.Consume(q, "", false, false, false, false, nil)
	must(t, err)
	fill(t, ch, q, 1)
	m := recv(t, d)
	must(t, ch.Cancel(m.ConsumerTag, false))
	fill(t, ch, q, 1)
	if got := drain(t, ch, q); len(got) != 1 {
		t.Fatalf("after cancel the queue holds %q", got)
	}
	// Exclusive consume locks others out.
	_, err = ch.Consume(q, "excl", false, true, false, false, nil)
	must(t, err)
	_, err = ch.Consume(q, "second", false, false, false, false, nil)
	expectAMQPError(t, err, 403, fmt.Sprintf("ACCESS_REFUSED - queue '%s' in vhost '/' in exclusive use", q))
}

// TestDirectReplyToLive runs an RPC round trip over amq.rabbitmq.reply-to.
func TestDirectReplyToLive(t *testing.T) {
	ts := startServer(t)
	_, server := openChannel(t, ts)
	_, err := server.QueueDeclare("rpc", false, false, false, false, nil)
	must(t, err)
	reqs, err := server.Consume("rpc", "", false, false, false, false, nil)
	must(t, err)
	go func() {
		for r := range reqs {
			server.PublishWithContext(context.Background(), "", r.ReplyTo, false, false,
				amqp091.Publishing{CorrelationId: r.CorrelationId, Body: append([]byte("re:"), r.Body...)})
			r.Ack(false)
		}
	}()

	_, client := openChannel(t, ts)
	replies, err := client.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	must(t, err)
	for i := range 3 {
		id := fmt.Sprint("corr-", i)
		publish(t, client, "", "rpc", amqp091.Publishing{ReplyTo: "amq.rabbitmq.reply-to", CorrelationId: id, Body: []byte(id)})
		m := recv(t, replies)
		if m.CorrelationId != id || string(m.Body) != "re:"+id {
			t.Fatalf("reply %q corr %q", m.Body, m.CorrelationId)
		}
	}
	// Publishing with direct reply-to without consuming from it fails.
	_, lone := openChannel(t, ts)
	closed := lone.NotifyClose(make(chan *amqp091.Error, 1))
	publish(t, lone, "", "rpc", amqp091.Publishing{ReplyTo: "amq.rabbitmq.reply-to"})
	expectAMQPError(t, waitClose(t, closed), 406, "PRECONDITION_FAILED - fast reply consumer does not exist")
	// The reply consumer must be no-ack.
	_, acking := openChannel(t, ts)
	_, err = acking.Consume("amq.rabbitmq.reply-to", "", false, false, false, false, nil)
	expectAMQPError(t, err, 406, "PRECONDITION_FAILED - reply consumer cannot acknowledge")
}

// TestGlobalQosChangeLive raises and lowers the channel's global prefetch
// while a consumer runs, as Celery does for ETA tasks (kombu uses
// global=true against RabbitMQ 3.3+): a raise lets more deliveries through
// at once, a lower holds new ones until enough are acked.
func TestGlobalQosChangeLive(t *testing.T) {
	ts := startServer(t)
	_, ch := openChannel(t, ts)
	q := tempQueue(t, ch, "", nil)
	fill(t, ch, q, 10)
	must(t, ch.Qos(1, 0, true))
	d, err := ch.Consume(q, "", false, false, false, false, nil)
	must(t, err)
	first := recv(t, d)
	noDelivery(t, d)
	must(t, ch.Qos(3, 0, true))
	recv(t, d)
	last := recv(t, d)
	noDelivery(t, d)
	// Lowered to 1 with 3 unacked: nothing new until all but 0 are acked.
	must(t, ch.Qos(1, 0, true))
	must(t, first.Ack(false))
	noDelivery(t, d)
	must(t, last.Ack(true))
	if m := recv(t, d); string(m.Body) != "3" {
		t.Fatalf("after the acks got %q, want 3", m.Body)
	}
	noDelivery(t, d)
}
