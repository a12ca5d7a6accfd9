package broker

import (
	"slices"
	"strings"
	"testing"
)

func TestPublishConsumeAck(t *testing.T) {
	e := newEnv(t)
	q := e.declare("work", nil)
	e.publish("", q, "one")
	e.publish("", q, "two")
	if n := e.queueLen(q); n != 2 {
		t.Fatalf("queue length %d", n)
	}
	tag, err := e.ch.Consume(ConsumeArgs{Queue: q})
	e.must(err)
	if !strings.HasPrefix(tag, "amq.ctag-") || len(tag) != len("amq.ctag-")+22 {
		t.Fatalf("generated tag %q", tag)
	}
	ev := e.sink.take()
	if len(ev) != 3 || ev[0].kind != "consume-ok" || ev[0].tag != tag {
		t.Fatalf("events %+v", ev)
	}
	for i, want := range []string{"one", "two"} {
		d := ev[i+1].d
		if string(d.Body) != want || d.DeliveryTag != uint64(i+1) || d.ConsumerTag != tag || d.Redelivered || d.RoutingKey != q {
			t.Fatalf("delivery %d = %+v", i, d)
		}
	}
	e.publish("", q, "three")
	if got := e.sink.bodies(); !slices.Equal(got, []string{"three"}) {
		t.Fatalf("live delivery %v", got)
	}
	e.must(e.ch.Ack(2, true))
	e.must(e.ch.Ack(3, false))
	wantErr(t, e.ch.Ack(3, false), CodePreconditionFailed, "PRECONDITION_FAILED - unknown delivery tag 3")
	qi, _ := e.b.Queues("/")
	if qi[0].MessagesUnacked != 0 || qi[0].Messages != 0 {
		t.Fatalf("queue info %+v", qi[0])
	}
	if e.b.Memory() != 0 {
		t.Fatalf("memory %d after all acked", e.b.Memory())
	}
}
