package broker

import (
	"fmt"
	"slices"
	"testing"
)

func deliveries(ev []event) []Delivery {
	var out []Delivery
	for _, e := range ev {
		if e.kind == "deliver" || e.kind == "get" {
			out = append(out, e.d)
		}
	}
	return out
}

func TestRoundRobinAndPrefetch(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	ch2, s2 := e.newChannel()
	e.must(e.ch.Qos(0, 2, false))
	e.must(ch2.Qos(0, 2, false))
	_, err := e.ch.Consume(ConsumeArgs{Queue: "q", Tag: "a"})
	e.must(err)
	_, err = ch2.Consume(ConsumeArgs{Queue: "q", Tag: "b"})
	e.must(err)
	for i := 0; i < 6; i++ {
		e.publish("", "q", fmt.Sprint(i))
	}
	a, b := deliveries(e.sink.take()), deliveries(s2.take())
	if len(a) != 2 || len(b) != 2 || string(a[0].Body) != "0" || string(b[0].Body) != "1" || string(a[1].Body) != "2" {
		t.Fatalf("a=%v b=%v", a, b)
	}
	if n := e.queueLen("q"); n != 2 {
		t.Fatalf("ready %d, want 2 held back by prefetch", n)
	}
	e.must(e.ch.Ack(a[0].DeliveryTag, false))
	if got := deliveries(e.sink.take()); len(got) != 1 || string(got[0].Body) != "4" {
		t.Fatalf("after ack got %v", got)
	}
	// A consumer created after qos(0) has no limit; earlier ones keep theirs.
	e.must(ch2.Qos(0, 0, false))
	e.must(ch2.Cancel("b"))
	_, err = ch2.Consume(ConsumeArgs{Queue: "q", Tag: "b2"})
	e.must(err)
	if got := deliveries(s2.take()); len(got) != 1 || string(got[0].Body) != "5" {
		t.Fatalf("new consumer got %v", got)
	}
}

func TestGlobalPrefetch(t *testing.T) {
	e := newEnv(t)
	e.declare("q1", nil)
	e.declare("q2", nil)
	e.must(e.ch.Qos(0, 3, true))
	_, err := e.ch.Consume(ConsumeArgs{Queue: "q1", Tag: "c1"})
	e.must(err)
	_, err = e.ch.Consume(ConsumeArgs{Queue: "q2", Tag: "c2"})
	e.must(err)
	for i := 0; i < 3; i++ {
		e.publish("", "q1", "a")
		e.publish("", "q2", "b")
	}
	got := deliveries(e.sink.take())
	if len(got) != 3 {
		t.Fatalf("delivered %d with a shared limit of 3", len(got))
	}
	// An ack on q1's delivery lets q2's waiting message through.
	var q1tag uint64
	for _, d := range got {
		if d.ConsumerTag == "c1" {
			q1tag = d.DeliveryTag
			break
		}
	}
	e.must(e.ch.Ack(q1tag, false))
	if n := len(deliveries(e.sink.take())); n != 1 {
		t.Fatalf("after one ack delivered %d", n)
	}
	// Raising the limit releases more at once.
	e.must(e.ch.Qos(0, 0, true))
	if n := len(deliveries(e.sink.take())); n != 2 {
		t.Fatalf("after lifting the limit delivered %d", n)
	}
}

func TestNoAckAndGet(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	for i := 0; i < 3; i++ {
		e.publish("", "q", fmt.Sprint(i))
	}
	found, err := e.ch.Get("q", false)
	e.must(err)
	ev := e.sink.take()
	if !found || len(ev) != 1 || !ev[0].d.Get || ev[0].d.MessageCount != 2 || string(ev[0].d.Body) != "0" || ev[0].d.DeliveryTag != 1 {
		t.Fatalf("get: %v %+v", found, ev)
	}
	_, err = e.ch.Consume(ConsumeArgs{Queue: "q", NoAck: true})
	e.must(err)
	got := deliveries(e.sink.take())
	if len(got) != 2 || got[0].DeliveryTag != 2 || got[1].DeliveryTag != 3 {
		t.Fatalf("no-ack deliveries %+v", got)
	}
	found, err = e.ch.Get("q", false)
	if err != nil || found {
		t.Fatalf("get on empty queue: %v %v", found, err)
	}
	// The get is still unacked; the no-ack ones never were.
	wantErr(t, e.ch.Ack(2, false), 406, "PRECONDITION_FAILED - unknown delivery tag 2")
	e.must(e.ch.Ack(1, false))
}

func TestNackRequeueKeepsPositionAndRedelivered(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	for i := 0; i < 5; i++ {
		e.publish("", "q", fmt.Sprint(i))
	}
	for i := 0; i < 4; i++ {
		_, err := e.ch.Get("q", false)
		e.must(err)
	}
	e.sink.take()
	e.must(e.ch.Nack(3, false, true)) // "2"
	e.must(e.ch.Nack(1, false, true)) // "0"
	e.must(e.ch.Reject(2, true))      // "1"
	var order []string
	var redelivered []bool
	for {
		found, err := e.ch.Get("q", true)
		e.must(err)
		if !found {
			break
		}
		d := deliveries(e.sink.take())[0]
		order = append(order, string(d.Body))
		redelivered = append(redelivered, d.Redelivered)
	}
	if !slices.Equal(order, []string{"0", "1", "2", "4"}) || !slices.Equal(redelivered, []bool{true, true, true, false}) {
		t.Fatalf("order %v redelivered %v", order, redelivered)
	}
	// Tag 4 ("3") is still outstanding; nack multiple discards it (no DLX).
	e.must(e.ch.Nack(4, true, false))
	if e.queueLen("q") != 0 {
		t.Fatal("discarded message came back")
	}
}

func TestRecoverAndCloseRequeue(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	e.publish("", "q", "a")
	e.publish("", "q", "b")
	_, err := e.ch.Consume(ConsumeArgs{Queue: "q", Tag: "c"})
	e.must(err)
	e.sink.take()
	e.must(e.ch.Recover(true))
	got := deliveries(e.sink.take())
	if len(got) != 2 || !got[0].Redelivered || got[0].DeliveryTag != 3 || string(got[0].Body) != "a" {
		t.Fatalf("after recover %+v", got)
	}
	e.ch.Close()
	if n := e.queueLen2("q"); n != 2 {
		t.Fatalf("after close, ready %d", n)
	}
	if err := e.ch.Ack(3, false); err != ErrClosed {
		t.Fatalf("ack on closed channel: %v", err)
	}
}

// queueLen2 reads a queue's length through a fresh channel.
func (e *env) queueLen2(name string) int {
	ch, _ := e.newChannel()
	defer ch.Close()
	ok, err := ch.QueueDeclare(QueueDeclare{Name: name, Passive: true})
	e.must(err)
	return int(ok.Messages)
}

func TestCancelServerCancelAndAutoDelete(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	_, err := e.ch.Consume(ConsumeArgs{Queue: "q", Tag: "c"})
	e.must(err)
	e.publish("", "q", "x")
	e.must(e.ch.Cancel("c"))
	e.must(e.ch.Cancel("unknown")) // ignored, as the spec asks
	e.sink.take()
	e.publish("", "q", "y")
	if len(deliveries(e.sink.take())) != 0 {
		t.Fatal("cancelled consumer still receives")
	}
	e.must(e.ch.Ack(1, false)) // its delivery is still outstanding
	// Deleting the queue cancels consumers from the server side.
	_, err = e.ch.Consume(ConsumeArgs{Queue: "q", Tag: "d"})
	e.must(err)
	ch2, s2 := e.newChannel()
	n, err := ch2.QueueDelete("q", false, false)
	e.must(err)
	if n != 0 {
		t.Fatalf("delete count %d", n)
	}
	ev := e.sink.take()
	if ev[len(ev)-1].kind != "cancel" || ev[len(ev)-1].tag != "d" || len(s2.take()) != 0 {
		t.Fatalf("events %+v", ev)
	}
	// Auto-delete: deleted when the last consumer goes, not before one came.
	_, err = e.ch.QueueDeclare(QueueDeclare{Name: "ad", AutoDelete: true})
	e.must(err)
	e.publish("", "ad", "m")
	if e.queueLen("ad") != 1 {
		t.Fatal("auto-delete queue vanished before any consumer")
	}
	_, err = e.ch.Consume(ConsumeArgs{Queue: "ad", Tag: "x1"})
	e.must(err)
	_, err = ch2.Consume(ConsumeArgs{Queue: "ad", Tag: "x2"})
	e.must(err)
	e.must(e.ch.Cancel("x1"))
	e.queueLen("ad")
	ch2.Close()
	_, err = e.ch.QueueDeclare(QueueDeclare{Name: "ad", Passive: true})
	wantErr(t, err, 404, "NOT_FOUND - no queue 'ad' in vhost '/'")
}

func TestExclusiveQueueDiesWithConnection(t *testing.T) {
	e := newEnv(t)
	ok, err := e.ch.QueueDeclare(QueueDeclare{Exclusive: true, Durable: true})
	e.must(err)
	if len(ok.Name) != len("amq.gen-")+22 || ok.Name[:8] != "amq.gen-" {
		t.Fatalf("server-named queue %q", ok.Name)
	}
	qi, _ := e.b.Queues("/")
	if len(qi) != 1 || qi[0].Durable || !qi[0].Exclusive {
		t.Fatalf("exclusive queue info %+v", qi)
	}
	e.conn.Close()
	if qi, _ := e.b.Queues("/"); len(qi) != 0 {
		t.Fatalf("exclusive queue survived its connection: %+v", qi)
	}
	if _, err := e.conn.OpenChannel(newSink()); err != ErrClosed {
		t.Fatalf("channel on closed connection: %v", err)
	}
}

func TestSingleActiveConsumerAndPriority(t *testing.T) {
	e := newEnv(t)
	e.declare("sac", Table{"x-single-active-consumer": true})
	ch2, s2 := e.newChannel()
	_, err := e.ch.Consume(ConsumeArgs{Queue: "sac", Tag: "first"})
	e.must(err)
	_, err = ch2.Consume(ConsumeArgs{Queue: "sac", Tag: "second"})
	e.must(err)
	for i := 0; i < 4; i++ {
		e.publish("", "sac", "m")
	}
	if a, b := len(deliveries(e.sink.take())), len(deliveries(s2.take())); a != 4 || b != 0 {
		t.Fatalf("single active consumer: first %d second %d", a, b)
	}
	e.ch.Close() // requeues to the next active consumer
	if b := len(deliveries(s2.take())); b != 4 {
		t.Fatalf("second got %d after first left", b)
	}

	e2 := newEnv(t)
	e2.declare("p", nil)
	chLow, sLow := e2.newChannel()
	_, err = chLow.Consume(ConsumeArgs{Queue: "p", Tag: "low"})
	e2.must(err)
	e2.must(e2.ch.Qos(0, 1, false))
	_, err = e2.ch.Consume(ConsumeArgs{Queue: "p", Tag: "high", Args: Table{"x-priority": int32(10)}})
	e2.must(err)
	for i := 0; i < 3; i++ {
		e2.publish("", "p", "m")
	}
	// High priority takes what its prefetch allows; the rest spill over.
	if hi, lo := len(deliveries(e2.sink.take())), len(deliveries(sLow.take())); hi != 1 || lo != 2 {
		t.Fatalf("priority consumers: high %d low %d", hi, lo)
	}
}

func TestSinkBackPressure(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	e.sink.limit = 3
	_, err := e.ch.Consume(ConsumeArgs{Queue: "q", NoAck: true})
	e.must(err)
	for i := 0; i < 10; i++ {
		e.publish("", "q", "m")
	}
	if n := len(deliveries(e.sink.take())); n != 3 {
		t.Fatalf("delivered %d past a full sink", n)
	}
	e.sink.mu.Lock()
	e.sink.held, e.sink.limit = 0, 0
	e.sink.mu.Unlock()
	e.ch.Resume()
	if n := len(deliveries(e.sink.take())); n != 7 {
		t.Fatalf("after resume delivered %d", n)
	}
}

func TestTransactions(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	e.publish("", "q", "pre")
	e.must(e.ch.TxSelect())
	e.must(e.ch.Publish(msg("", "q", "t1"), false, false))
	e.must(e.ch.Publish(msg("amq.direct", "none", "ret"), true, false))
	if e.queueLen("q") != 1 || len(e.sink.take()) != 0 {
		t.Fatal("transactional publish visible before commit")
	}
	e.must(e.ch.TxCommit())
	ev := e.sink.take()
	if e.queueLen("q") != 2 || len(ev) != 1 || ev[0].kind != "return" {
		t.Fatalf("after commit: len %d events %+v", e.queueLen("q"), ev)
	}
	_, err := e.ch.Get("q", false)
	e.must(err)
	e.sink.take()
	e.must(e.ch.Ack(1, false))
	wantErr(t, e.ch.Ack(1, false), 406, "PRECONDITION_FAILED - unknown delivery tag 1")
	e.must(e.ch.Publish(msg("", "q", "t2"), false, false))
	e.must(e.ch.TxRollback())
	if e.queueLen("q") != 1 {
		t.Fatal("rollback kept the publish or lost the ack")
	}
	e.must(e.ch.Ack(1, false)) // back among the unacked after rollback
	e.must(e.ch.TxCommit())
	if qi, _ := e.b.Queues("/"); qi[0].MessagesUnacked != 0 || qi[0].Messages != 1 {
		t.Fatalf("after committed ack %+v", qi[0])
	}
}

func TestDirectReplyTo(t *testing.T) {
	e := newEnv(t)
	tag, err := e.ch.Consume(ConsumeArgs{Queue: "amq.rabbitmq.reply-to", NoAck: true})
	e.must(err)
	rt, err := e.ch.ReplyTo()
	e.must(err)
	if _, err := e.ch.QueueDeclare(QueueDeclare{Name: rt, Passive: true}); err != nil {
		t.Fatal(err)
	}
	server, _ := e.newChannel()
	e.must(server.Publish(msg("", rt, "answer"), true, false))
	ev := e.sink.take()
	d := deliveries(ev)
	if len(d) != 1 || d[0].ConsumerTag != tag || string(d[0].Body) != "answer" {
		t.Fatalf("reply events %+v", ev)
	}
	e.must(e.ch.Cancel(tag))
	_, s := server, newSink()
	_ = s
	e.must(server.Publish(msg("", rt, "late"), false, false))
	if len(e.sink.take()) != 0 {
		t.Fatal("reply delivered after cancel")
	}
}
