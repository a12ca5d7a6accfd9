package broker

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func (e *env) getBody(q string) (Delivery, bool) {
	e.t.Helper()
	found, err := e.ch.Get(q, true)
	e.must(err)
	if !found {
		return Delivery{}, false
	}
	d := deliveries(e.sink.take())
	return d[0], true
}

func waitLen(t *testing.T, e *env, q string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.queueLen(q) != n {
		if time.Now().After(deadline) {
			t.Fatalf("queue %s has %d messages, want %d", q, e.queueLen(q), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMessageTTLDeadLetters(t *testing.T) {
	e := newEnv(t)
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "dlx", Type: "fanout"}))
	e.declare("dead", nil)
	e.must(e.ch.QueueBind("dead", "dlx", "", nil))
	e.declare("ttl", Table{"x-message-ttl": int32(30), "x-dead-letter-exchange": "dlx"})
	e.must(e.ch.QueueBind("ttl", "amq.direct", "rk", nil))
	e.must(e.ch.Publish(msgWith("amq.direct", "rk", "m1", Properties{Headers: Table{"CC": []any{"cc1"}}, Expiration: "60000", HasExpiration: true}), false, false))
	waitLen(t, e, "dead", 1)
	if e.queueLen("ttl") != 0 {
		t.Fatal("expired message still in its queue")
	}
	d, _ := e.getBody("dead")
	if d.Exchange != "dlx" || d.RoutingKey != "rk" {
		t.Fatalf("dead-lettered with exchange %q key %q", d.Exchange, d.RoutingKey)
	}
	p, err := testCodec{}.Decode(d.Props)
	e.must(err)
	if p.HasExpiration {
		t.Fatal("expiration kept after dead-lettering")
	}
	deaths, _ := p.Headers["x-death"].([]any)
	if len(deaths) != 1 {
		t.Fatalf("x-death %v", p.Headers["x-death"])
	}
	death := deaths[0].(map[string]any)
	want := map[string]any{"count": int64(1), "reason": "expired", "queue": "ttl", "exchange": "amq.direct",
		"routing-keys": []any{"rk", "cc1"}, "original-expiration": "60000"}
	for k, v := range want {
		if !valuesEqual(death[k], v) || typeClass(death[k]) != typeClass(v) {
			t.Errorf("x-death %s = %#v, want %#v", k, death[k], v)
		}
	}
	if ts, ok := death["time"].(time.Time); !ok || time.Since(ts) > time.Minute {
		t.Errorf("x-death time %v", death["time"])
	}
	for k, v := range map[string]string{"x-first-death-reason": "expired", "x-first-death-queue": "ttl", "x-first-death-exchange": "amq.direct"} {
		if p.Headers[k] != v {
			t.Errorf("%s = %v", k, p.Headers[k])
		}
	}
}

func TestPerMessageExpirationOnlyAtHead(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	e.publish("", "q", "long")
	e.must(e.ch.Publish(msgWith("", "q", "short", Properties{Expiration: "1", HasExpiration: true}), false, false))
	time.Sleep(20 * time.Millisecond)
	if e.queueLen("q") != 2 {
		t.Fatal("message behind the head expired early")
	}
	if d, _ := e.getBody("q"); string(d.Body) != "long" {
		t.Fatalf("got %q", d.Body)
	}
	// Now "short" is at the head, long expired: it is dropped on access.
	if _, found := e.getBody("q"); found {
		t.Fatal("expired message delivered")
	}
}

func TestTTLZeroDeliversToWaitingConsumer(t *testing.T) {
	e := newEnv(t)
	e.declare("q", Table{"x-message-ttl": int32(0)})
	e.publish("", "q", "nobody")
	if e.queueLen("q") != 0 {
		t.Fatal("ttl 0 message kept without a consumer")
	}
	_, err := e.ch.Consume(ConsumeArgs{Queue: "q", NoAck: true})
	e.must(err)
	e.sink.take()
	e.publish("", "q", "someone")
	if got := e.sink.bodies(); !slices.Equal(got, []string{"someone"}) {
		t.Fatalf("got %v", got)
	}
}

func TestMaxLengthOverflow(t *testing.T) {
	e := newEnv(t)
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "dlx", Type: "fanout"}))
	e.declare("dead", nil)
	e.must(e.ch.QueueBind("dead", "dlx", "", nil))
	e.declare("drop", Table{"x-max-length": int32(2), "x-dead-letter-exchange": "dlx"})
	for i := 0; i < 4; i++ {
		e.publish("", "drop", fmt.Sprint(i))
	}
	if e.queueLen("drop") != 2 || e.queueLen("dead") != 2 {
		t.Fatalf("drop-head: %d kept, %d dead", e.queueLen("drop"), e.queueLen("dead"))
	}
	if d, _ := e.getBody("drop"); string(d.Body) != "2" {
		t.Fatalf("drop-head kept %q first", d.Body)
	}
	d, _ := e.getBody("dead")
	p, _ := testCodec{}.Decode(d.Props)
	if r := p.Headers["x-death"].([]any)[0].(map[string]any)["reason"]; r != "maxlen" || string(d.Body) != "0" {
		t.Fatalf("dead letter %q reason %v", d.Body, r)
	}

	e.declare("bytes", Table{"x-max-length-bytes": int32(10)})
	e.publish("", "bytes", "123456")
	e.publish("", "bytes", "7890ab")
	if e.queueLen("bytes") != 1 {
		t.Fatalf("max-length-bytes kept %d", e.queueLen("bytes"))
	}

	e.must(e.ch.ConfirmSelect())
	e.declare("rej", Table{"x-max-length": int32(1), "x-overflow": "reject-publish"})
	e.declare("rejdlx", Table{"x-max-length": int32(1), "x-overflow": "reject-publish-dlx", "x-dead-letter-exchange": "dlx"})
	e.sink.take()
	e.publish("", "rej", "a")
	e.publish("", "rej", "b")
	e.publish("", "rejdlx", "c")
	e.publish("", "rejdlx", "d")
	ev := e.sink.take()
	var got []string
	for _, x := range ev {
		got = append(got, fmt.Sprintf("%d:%v", x.seq, x.nack))
	}
	if !slices.Equal(got, []string{"1:false", "2:true", "3:false", "4:true"}) {
		t.Fatalf("confirms %v", got)
	}
	if e.queueLen("rej") != 1 || e.queueLen("rejdlx") != 1 {
		t.Fatal("reject-publish let a message in")
	}
	dd, _ := e.getBody("dead") // "1" from drop-head is still first
	_ = dd
	for {
		d, ok := e.getBody("dead")
		if !ok {
			t.Fatal("reject-publish-dlx did not dead-letter")
		}
		if string(d.Body) == "d" {
			break
		}
	}
}

func TestRejectDeadLettersAndCycles(t *testing.T) {
	e := newEnv(t)
	// q1 dead-letters to q2 through the default exchange, and q2 back to q1.
	e.declare("q1", Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "q2"})
	e.declare("q2", Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "q1", "x-message-ttl": int32(20)})
	e.publish("", "q1", "m")
	_, err := e.ch.Get("q1", false)
	e.must(err)
	e.sink.take()
	e.must(e.ch.Reject(1, false)) // rejected → q2
	if e.queueLen("q2") != 1 {
		t.Fatal("rejected message not dead-lettered")
	}
	// q2 expires it → q1 (the cycle contains a rejection, so it is allowed).
	waitLen(t, e, "q1", 1)
	d, _ := e.getBody("q1")
	p, _ := testCodec{}.Decode(d.Props)
	deaths := p.Headers["x-death"].([]any)
	if len(deaths) != 2 || deaths[0].(map[string]any)["queue"] != "q2" || deaths[1].(map[string]any)["reason"] != "rejected" {
		t.Fatalf("x-death %v", deaths)
	}
	if p.Headers["x-first-death-reason"] != "rejected" {
		t.Fatalf("first death %v", p.Headers["x-first-death-reason"])
	}

	// A fully automatic cycle (expiry only) is dropped: q3 expires to itself.
	e.declare("q3", Table{"x-dead-letter-exchange": "", "x-message-ttl": int32(10)})
	e.publish("", "q3", "loop")
	time.Sleep(100 * time.Millisecond)
	if n := e.queueLen("q3"); n != 1 && n != 0 {
		t.Fatalf("q3 has %d", n)
	}
	waitLen(t, e, "q3", 0)

	// The same death twice increments its count.
	e.declare("q4", Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "q4"})
	e.publish("", "q4", "again")
	for i := 0; i < 2; i++ {
		_, err := e.ch.Get("q4", false)
		e.must(err)
		d := deliveries(e.sink.take())[0]
		e.must(e.ch.Reject(d.DeliveryTag, false))
	}
	d, _ = e.getBody("q4")
	p, _ = testCodec{}.Decode(d.Props)
	deaths = p.Headers["x-death"].([]any)
	if len(deaths) != 1 || !valuesEqual(deaths[0].(map[string]any)["count"], int64(2)) {
		t.Fatalf("x-death after two rejections %v", deaths)
	}
}

func TestQueueExpires(t *testing.T) {
	e := newEnv(t)
	e.declare("idle", Table{"x-expires": int32(40)})
	e.declare("busy", Table{"x-expires": int32(40)})
	_, err := e.ch.Consume(ConsumeArgs{Queue: "busy"})
	e.must(err)
	deadline := time.Now().Add(10 * time.Second)
	for {
		qi, _ := e.b.Queues("/")
		if len(qi) == 1 && qi[0].Name == "busy" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queues %+v", qi)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPriorityQueue(t *testing.T) {
	e := newEnv(t)
	e.declare("pq", Table{"x-max-priority": int32(5)})
	for i, p := range []uint8{0, 3, 9, 1, 5} {
		e.must(e.ch.Publish(msgWith("", "pq", fmt.Sprintf("%d-%d", i, p), Properties{Priority: p}), false, false))
	}
	var got []string
	for {
		d, ok := e.getBody("pq")
		if !ok {
			break
		}
		got = append(got, string(d.Body))
	}
	// 9 is capped at 5 and keeps its publish order against the other 5.
	if !slices.Equal(got, []string{"2-9", "4-5", "1-3", "3-1", "0-0"}) {
		t.Fatalf("priority order %v", got)
	}
}

func TestMaxLengthZero(t *testing.T) {
	e := newEnv(t)
	e.declare("z", Table{"x-max-length": int32(0), "x-message-ttl": int32(1000)})
	e.publish("", "z", "gone")
	if e.queueLen("z") != 0 {
		t.Fatal("max-length 0 kept a message")
	}
	_, err := e.ch.Consume(ConsumeArgs{Queue: "z", NoAck: true})
	e.must(err)
	e.sink.take()
	e.publish("", "z", "taken")
	if got := e.sink.bodies(); !slices.Equal(got, []string{"taken"}) {
		t.Fatalf("with a consumer waiting got %v", got)
	}
}

func TestQueueExpiresPushedBackByUse(t *testing.T) {
	e := newEnv(t)
	e.declare("q", Table{"x-expires": int32(150)})
	start := time.Now()
	for time.Since(start) < 300*time.Millisecond {
		time.Sleep(30 * time.Millisecond)
		if _, err := e.ch.Get("q", true); err != nil {
			t.Fatalf("queue expired while in use: %v", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if qs, _ := e.b.Queues("/"); len(qs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("unused queue never expired")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
