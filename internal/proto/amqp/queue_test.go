package amqp

import (
	"fmt"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// TestQueueDeclareOptionsLive covers passive, exclusive, auto-delete,
// server-named queues, purge and delete if-unused / if-empty.
func TestQueueDeclareOptionsLive(t *testing.T) {
	ts := startServer(t)
	c1, ch := openChannel(t, ts)

	// Passive on a missing queue: 404, channel closed.
	_, err := ch.QueueDeclarePassive("missing", false, false, false, false, nil)
	expectAMQPError(t, err, 404, "NOT_FOUND - no queue 'missing' in vhost '/'")

	ch, err = c1.Channel()
	must(t, err)
	q, err := ch.QueueDeclare("ex", false, false, true, false, nil)
	must(t, err)
	if q.Name != "ex" || q.Messages != 0 || q.Consumers != 0 {
		t.Fatalf("declare-ok %+v", q)
	}
	publish(t, ch, "", "ex", amqp091.Publishing{Body: []byte("1")})
	publish(t, ch, "", "ex", amqp091.Publishing{Body: []byte("2")})
	// Passive declare reports the counts.
	q, err = ch.QueueDeclarePassive("ex", false, false, true, false, nil)
	must(t, err)
	if q.Messages != 2 {
		t.Fatalf("passive declare-ok %+v, want 2 messages", q)
	}

	// Another connection may not use an exclusive queue.
	c2, ch2 := openChannel(t, ts)
	_, err = ch2.QueueDeclarePassive("ex", false, false, false, false, nil)
	expectAMQPError(t, err, 405, "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'ex' in vhost '/'. "+
		"It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.")

	// Delete if-empty refuses, purge empties, then if-empty succeeds.
	_, err = ch.QueueDelete("ex", false, true, false)
	expectAMQPError(t, err, 406, "PRECONDITION_FAILED - queue 'ex' in vhost '/' not empty")
	ch, _ = c1.Channel()
	n, err := ch.QueuePurge("ex", false)
	must(t, err)
	if n != 2 {
		t.Fatalf("purge-ok %d, want 2", n)
	}
	// If-unused refuses a queue with a consumer.
	_, err = ch.Consume("ex", "c", false, false, false, false, nil)
	must(t, err)
	_, err = ch.QueueDelete("ex", true, false, false)
	expectAMQPError(t, err, 406, "PRECONDITION_FAILED - queue 'ex' in vhost '/' in use")

	// The exclusive queue dies with its connection.
	c1.Close()
	ch2, err = c2.Channel()
	must(t, err)
	_, err = ch2.QueueDeclarePassive("ex", false, false, false, false, nil)
	expectAMQPError(t, err, 404, "NOT_FOUND - no queue 'ex' in vhost '/'")

	// Auto-delete: the queue goes when its last consumer is cancelled.
	ch2, _ = c2.Channel()
	_, err = ch2.QueueDeclare("ad", false, true, false, false, nil)
	must(t, err)
	_, err = ch2.Consume("ad", "only", false, false, false, false, nil)
	must(t, err)
	must(t, ch2.Cancel("only", false))
	_, err = ch2.QueueDeclarePassive("ad", false, false, false, false, nil)
	expectAMQPError(t, err, 404, "NOT_FOUND - no queue 'ad' in vhost '/'")

	// Redeclaring with other properties is inequivalent.
	ch2, _ = c2.Channel()
	_, err = ch2.QueueDeclare("plain", false, false, false, false, nil)
	must(t, err)
	_, err = ch2.QueueDeclare("plain", true, false, false, false, nil)
	expectAMQPError(t, err, 406, "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'plain' in vhost '/': received 'true' but current is 'false'")
}

// TestQueueArgumentsLive covers x-message-ttl, per-message expiration,
// x-expires, x-max-length with each overflow mode, dead-lettering with
// x-death, priorities and single active consumer.
func TestQueueArgumentsLive(t *testing.T) {
	ts := startServer(t)
	conn, ch := openChannel(t, ts)
	reopen := func() {
		var err error
		ch, err = conn.Channel()
		must(t, err)
	}

	// Dead-letter target.
	must(t, ch.ExchangeDeclare("dlx", "direct", false, false, false, false, nil))
	dead := tempQueue(t, ch, "dlx", nil, "dead")

	t.Run("message-ttl-and-dlx", func(t *testing.T) {
		_, err := ch.QueueDeclare("ttl", false, false, false, false, amqp091.Table{
			"x-message-ttl": int32(50), "x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dead"})
		must(t, err)
		publish(t, ch, "", "ttl", amqp091.Publishing{Body: []byte("old"), Headers: amqp091.Table{"h": "v"}})
		m := getEventually(t, ch, dead)
		if string(m.Body) != "old" || m.Headers["h"] != "v" {
			t.Fatalf("dead-lettered %q %v", m.Body, m.Headers)
		}
		deaths, _ := m.Headers["x-death"].([]any)
		if len(deaths) != 1 {
			t.Fatalf("x-death %v", m.Headers["x-death"])
		}
		d := deaths[0].(amqp091.Table)
		if d["reason"] != "expired" || d["queue"] != "ttl" || d["count"] != int64(1) || d["exchange"] != "" {
			t.Fatalf("x-death entry %v", d)
		}
		if m.Headers["x-first-death-reason"] != "expired" || m.Headers["x-first-death-queue"] != "ttl" {
			t.Fatalf("x-first-death headers %v", m.Headers)
		}
	})

	t.Run("per-message-expiration", func(t *testing.T) {
		_, err := ch.QueueDeclare("exp", false, false, false, false, nil)
		must(t, err)
		publish(t, ch, "", "exp", amqp091.Publishing{Body: []byte("gone"), Expiration: "30"})
		publish(t, ch, "", "exp", amqp091.Publishing{Body: []byte("kept")})
		time.Sleep(100 * time.Millisecond)
		if got := drain(t, ch, "exp"); !equalStrings(got, []string{"kept"}) {
			t.Fatalf("got %q", got)
		}
		// A bad expiration is a channel error.
		closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
		publish(t, ch, "", "exp", amqp091.Publishing{Expiration: "abc"})
		expectAMQPError(t, waitClose(t, closed), 406, "PRECONDITION_FAILED - invalid expiration 'abc': no_integer")
		reopen()
	})

	t.Run("expires", func(t *testing.T) {
		_, err := ch.QueueDeclare("unused", false, false, false, false, amqp091.Table{"x-expires": int32(100)})
		must(t, err)
		// A passive declare counts as use and pushes the deadline back
		// (as RabbitMQ's stat), so probe less often than x-expires.
		deadline := time.Now().Add(10 * time.Second)
		for {
			time.Sleep(300 * time.Millisecond)
			probe, err := conn.Channel()
			must(t, err)
			_, err = probe.QueueDeclarePassive("unused", false, false, false, false, nil)
			if err != nil {
				expectAMQPError(t, err, 404, "NOT_FOUND - no queue 'unused' in vhost '/'")
				break
			}
			probe.Close()
			if time.Now().After(deadline) {
				t.Fatal("x-expires queue still there")
			}
		}
	})

	t.Run("max-length-drop-head", func(t *testing.T) {
		_, err := ch.QueueDeclare("dh", false, false, false, false, amqp091.Table{"x-max-length": int32(2),
			"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dead"})
		must(t, err)
		for i := 1; i <= 4; i++ {
			publish(t, ch, "", "dh", amqp091.Publishing{Body: []byte(fmt.Sprint(i))})
		}
		if got := drain(t, ch, "dh"); !equalStrings(got, []string{"3", "4"}) {
			t.Fatalf("queue kept %q", got)
		}
		if got := drain(t, ch, dead); !equalStrings(got, []string{"1", "2"}) {
			t.Fatalf("dead-lettered %q", got)
		}
	})

	t.Run("max-length-reject-publish", func(t *testing.T) {
		for _, mode := range []string{"reject-publish", "reject-publish-dlx"} {
			c, err := conn.Channel()
			must(t, err)
			must(t, c.Confirm(false))
			confirms := c.NotifyPublish(make(chan amqp091.Confirmation, 10))
			_, err = c.QueueDeclare(mode, false, false, false, false, amqp091.Table{"x-max-length-bytes": int64(10),
				"x-overflow": mode, "x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dead"})
			must(t, err)
			publish(t, c, "", mode, amqp091.Publishing{Body: []byte("0123456789")})
			publish(t, c, "", mode, amqp091.Publishing{Body: []byte("x")})
			for i, want := range []bool{true, false} {
				select {
				case cf := <-confirms:
					if cf.DeliveryTag != uint64(i+1) || cf.Ack != want {
						t.Fatalf("%s: confirm %+v, want tag %d ack %v", mode, cf, i+1, want)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%s: no confirm", mode)
				}
			}
			wantDead := []string(nil)
			if mode == "reject-publish-dlx" {
				wantDead = []string{"x"}
			}
			if got := drain(t, c, dead); !equalStrings(got, wantDead) {
				t.Fatalf("%s: dead-lettered %q", mode, got)
			}
			if got := drain(t, c, mode); !equalStrings(got, []string{"0123456789"}) {
				t.Fatalf("%s: queue holds %q", mode, got)
			}
		}
	})

	t.Run("priority", func(t *testing.T) {
		_, err := ch.QueueDeclare("prio", false, false, false, false, amqp091.Table{"x-max-priority": int32(5)})
		must(t, err)
		for i, p := range []uint8{1, 9, 0, 3} {
			publish(t, ch, "", "prio", amqp091.Publishing{Priority: p, Body: []byte(fmt.Sprint(i))})
		}
		var order []string
		for range 4 {
			m, ok, err := ch.Get("prio", true)
			if err != nil || !ok {
				t.Fatalf("get: %v %v", ok, err)
			}
			order = append(order, string(m.Body))
		}
		// 9 is capped to the maximum 5; equal priorities keep FIFO.
		if !equalStrings(order, []string{"1", "3", "0", "2"}) {
			t.Fatalf("priority order %q", order)
		}
	})

	t.Run("single-active-consumer", func(t *testing.T) {
		_, err := ch.QueueDeclare("sac", false, false, false, false, amqp091.Table{"x-single-active-consumer": true})
		must(t, err)
		c1, err := conn.Channel()
		must(t, err)
		c2, err := conn.Channel()
		must(t, err)
		d1, err := c1.Consume("sac", "first", false, false, false, false, nil)
		must(t, err)
		d2, err := c2.Consume("sac", "second", false, false, false, false, nil)
		must(t, err)
		for i := range 3 {
			publish(t, ch, "", "sac", amqp091.Publishing{Body: []byte(fmt.Sprint(i))})
		}
		for range 3 {
			m := recv(t, d1)
			must(t, m.Ack(false))
		}
		noDelivery(t, d2)
		// When the active consumer goes, the next one takes over.
		must(t, c1.Cancel("first", false))
		publish(t, ch, "", "sac", amqp091.Publishing{Body: []byte("next")})
		if m := recv(t, d2); string(m.Body) != "next" {
			t.Fatalf("second consumer got %q", m.Body)
		}
	})
}

// getEventually polls queue with basic.get until a message arrives.
func getEventually(t testing.TB, ch *amqp091.Channel, queue string) amqp091.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, ok, err := ch.Get(queue, true)
		must(t, err)
		if ok {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing arrived in %q", queue)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDurableQueueSurvivesRestartLive restarts the broker over the same
// directory: durable exchanges, queues, bindings and persistent messages
// come back, transient ones do not; unacknowledged ones are redelivered.
func TestDurableQueueSurvivesRestartLive(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, withBrokerDir(dir))
	c, ch := openChannel(t, ts)
	must(t, ch.ExchangeDeclare("dx", "topic", true, false, false, false, nil))
	_, err := ch.QueueDeclare("dq", true, false, false, false, nil)
	must(t, err)
	_, err = ch.QueueDeclare("tq", false, false, false, false, nil)
	must(t, err)
	must(t, ch.QueueBind("dq", "k.*", "dx", false, nil))
	must(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 10))
	publish(t, ch, "dx", "k.1", amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: []byte("p1")})
	publish(t, ch, "dx", "k.2", amqp091.Publishing{DeliveryMode: amqp091.Transient, Body: []byte("t1")})
	publish(t, ch, "dx", "k.3", amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: []byte("p2")})
	for range 3 {
		if cf := <-confirms; !cf.Ack {
			t.Fatalf("nack %+v", cf)
		}
	}
	// One persistent message is delivered but not acknowledged.
	m, ok, err := ch.Get("dq", false)
	if err != nil || !ok || string(m.Body) != "p1" {
		t.Fatalf("get %q %v %v", m.Body, ok, err)
	}
	c.Close()
	ts.ln.Close(5 * time.Second)
	ts.b.Close()

	ts = startServer(t, withBrokerDir(dir))
	_, ch = openChannel(t, ts)
	if _, err := ch.QueueDeclarePassive("tq", false, false, false, false, nil); err == nil {
		t.Fatal("transient queue survived the restart")
	}
	_, ch = openChannel(t, ts)
	must(t, ch.ExchangeDeclarePassive("dx", "topic", true, false, false, false, nil))
	var got []string
	for range 2 {
		m, ok, err := ch.Get("dq", true)
		if err != nil || !ok {
			t.Fatalf("get after restart: %v %v", ok, err)
		}
		got = append(got, fmt.Sprintf("%s/%v", m.Body, m.Redelivered))
	}
	// Ferry records no deliveries on disk, so every recovered message is
	// marked redelivered (docs/dev/amqp-broker.md, deviations).
	if !equalStrings(got, []string{"p1/true", "p2/true"}) {
		t.Fatalf("after restart %q", got)
	}
	// The binding survived too.
	publish(t, ch, "dx", "k.9", amqp091.Publishing{Body: []byte("again")})
	if m := getEventually(t, ch, "dq"); string(m.Body) != "again" {
		t.Fatalf("binding after restart delivered %q", m.Body)
	}
}
