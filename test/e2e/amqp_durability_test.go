package e2e

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

func amqpURL(port string) string { return "amqp://guest:guest@127.0.0.1:" + port + "/" }

func amqpDial(t *testing.T, port string) *amqp091.Connection {
	t.Helper()
	c, err := amqp091.Dial(amqpURL(port))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func amqpChannel(t *testing.T, c *amqp091.Connection) *amqp091.Channel {
	t.Helper()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestAMQPKill9KeepsConfirmedMessages publishes persistent messages to a
// durable queue from two publishers with confirms, kills ferry with
// SIGKILL while they are still publishing, restarts it on the same
// directory, and checks that every confirmed message comes back (marked
// redelivered), that nothing unknown appears, and that messages acked
// before the kill stay gone. Deliveries unacknowledged at the kill come
// back too.
func TestAMQPKill9KeepsConfirmedMessages(t *testing.T) {
	dir := t.TempDir()
	p, port := amqpFerry(t, dir)
	setup := amqpChannel(t, amqpDial(t, port))
	if _, err := setup.QueueDeclare("orders", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	// 100 messages first: a consumer acks 60 and holds 40 unacked.
	for i := range 100 {
		if err := setup.PublishWithContext(context.Background(), "", "orders", false, false,
			amqp091.Publishing{DeliveryMode: amqp091.Persistent, MessageId: fmt.Sprint("early-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	cch := amqpChannel(t, amqpDial(t, port))
	cch.Qos(100, 0, false)
	deliveries, err := cch.Consume("orders", "holder", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	for i := range 100 {
		select {
		case d := <-deliveries:
			if i < 60 {
				d.Ack(false)
				acked[d.MessageId] = true
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d of 100 delivered", i)
		}
	}
	// The acks are asynchronous: basic.cancel-ok on the same channel
	// proves the broker has handled them.
	if err := cch.Cancel("holder", false); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	confirmed := map[string]bool{}
	published := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for pub := range 2 {
		ch := amqpChannel(t, amqpDial(t, port))
		if err := ch.Confirm(false); err != nil {
			t.Fatal(err)
		}
		confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 4096))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ids []string // by delivery tag - 1
			go func() {
				for c := range confirms {
					if c.Ack {
						mu.Lock()
						confirmed[ids[c.DeliveryTag-1]] = true
						mu.Unlock()
					}
				}
			}()
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("p%d-%d", pub, seq)
				mu.Lock()
				ids = append(ids, id)
				published[id] = true
				mu.Unlock()
				if ch.PublishWithContext(context.Background(), "", "orders", false, false,
					amqp091.Publishing{DeliveryMode: amqp091.Persistent, MessageId: id, Body: make([]byte, 200)}) != nil {
					return // the server was killed
				}
			}
		}()
	}
	// Kill once a good number are confirmed, with publishes in flight.
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(confirmed)
		mu.Unlock()
		if n >= 2000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d publishes confirmed", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	kill9(t, p)
	close(stop)
	wg.Wait()
	mu.Lock()
	want := map[string]bool{}
	for id := range confirmed {
		want[id] = true
	}
	mu.Unlock()
	for i := 60; i < 100; i++ {
		want[fmt.Sprint("early-", i)] = true
	}

	_, port = amqpFerry(t, dir)
	ch := amqpChannel(t, amqpDial(t, port))
	got := map[string]bool{}
	notRedelivered := 0
	for {
		m, ok, err := ch.Get("orders", true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		id := m.MessageId
		if got[id] {
			t.Fatalf("message %s delivered twice after the restart", id)
		}
		got[id] = true
		if !m.Redelivered {
			notRedelivered++
		}
		mu.Lock()
		known := published[id] || (len(id) > 6 && id[:6] == "early-")
		mu.Unlock()
		if !known {
			t.Fatalf("unknown message %q after the restart", id)
		}
		if acked[id] {
			t.Fatalf("message %s was acked before the kill and came back", id)
		}
	}
	lost := 0
	for id := range want {
		if !got[id] {
			lost++
			if lost < 5 {
				t.Errorf("confirmed message %s lost", id)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d confirmed or unacked messages lost", lost, len(want))
	}
	if notRedelivered > 0 {
		t.Fatalf("%d recovered messages without the redelivered flag", notRedelivered)
	}
	t.Logf("%d confirmed before the kill, %d recovered (%d published but unconfirmed also kept)", len(want), len(got), len(got)-len(want))
}

// TestAMQPConsumerDeathRequeues cuts a consumer's TCP connection while it
// holds unacknowledged deliveries: they go back to the queue, redelivered,
// in their original order, and a new consumer gets them.
func TestAMQPConsumerDeathRequeues(t *testing.T) {
	_, port := amqpFerry(t, t.TempDir())
	ch := amqpChannel(t, amqpDial(t, port))
	if _, err := ch.QueueDeclare("jobs", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		ch.PublishWithContext(context.Background(), "", "jobs", false, false,
			amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: []byte(fmt.Sprint(i))})
	}
	var raw net.Conn
	dying, err := amqp091.DialConfig(amqpURL(port), amqp091.Config{Dial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		raw = c
		return c, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	dch := amqpChannel(t, dying)
	dch.Qos(5, 0, false)
	d, err := dch.Consume("jobs", "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		m := <-d
		if string(m.Body) != fmt.Sprint(i) {
			t.Fatalf("delivery %d: %q", i, m.Body)
		}
	}
	raw.Close() // the consumer dies without a goodbye

	ch2 := amqpChannel(t, amqpDial(t, port))
	d2, err := ch2.Consume("jobs", "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		select {
		case m := <-d2:
			if string(m.Body) != fmt.Sprint(i) || m.Redelivered != (i < 5) {
				t.Fatalf("delivery %d: %q redelivered=%v", i, m.Body, m.Redelivered)
			}
			m.Ack(false)
		case <-time.After(20 * time.Second):
			t.Fatalf("delivery %d missing", i)
		}
	}
}
