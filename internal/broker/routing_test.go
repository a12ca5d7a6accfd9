package broker

import (
	"slices"
	"testing"
)

// routedTo publishes one message and returns the queues (among names)
// that received it.
func (e *env) routedTo(names []string, m *Message) []string {
	e.t.Helper()
	before := map[string]int{}
	for _, n := range names {
		before[n] = e.queueLen(n)
	}
	e.must(e.ch.Publish(m, false, false))
	var got []string
	for _, n := range names {
		if e.queueLen(n) > before[n] {
			got = append(got, n)
		}
	}
	return got
}

func TestExchangeTypes(t *testing.T) {
	e := newEnv(t)
	qs := []string{"q1", "q2", "q3"}
	for _, q := range qs {
		e.declare(q, nil)
	}
	e.must(e.ch.QueueBind("q1", "amq.direct", "a", nil))
	e.must(e.ch.QueueBind("q2", "amq.direct", "a", nil))
	e.must(e.ch.QueueBind("q3", "amq.direct", "b", nil))
	e.must(e.ch.QueueBind("q1", "amq.fanout", "ignored", nil))
	e.must(e.ch.QueueBind("q3", "amq.fanout", "", nil))
	e.must(e.ch.QueueBind("q1", "amq.topic", "*.orange.*", nil))
	e.must(e.ch.QueueBind("q2", "amq.topic", "*.*.rabbit", nil))
	e.must(e.ch.QueueBind("q2", "amq.topic", "lazy.#", nil))
	e.must(e.ch.QueueBind("q3", "amq.headers", "", Table{"x-match": "all", "format": "pdf", "type": "report"}))
	e.must(e.ch.QueueBind("q2", "amq.headers", "", Table{"x-match": "any", "format": "pdf", "type": "log"}))
	e.must(e.ch.QueueBind("q1", "amq.match", "", Table{"present": nil}))
	e.must(e.ch.QueueBind("q1", "amq.headers", "", Table{"x-match": "all-with-x", "x-tag": "t"}))

	hdr := func(h Table) *Message { return msgWith("amq.headers", "", "b", Properties{Headers: h}) }
	tests := []struct {
		name string
		m    *Message
		want []string
	}{
		{"direct two", msg("amq.direct", "a", "b"), []string{"q1", "q2"}},
		{"direct one", msg("amq.direct", "b", "b"), []string{"q3"}},
		{"direct none", msg("amq.direct", "c", "b"), nil},
		{"fanout", msg("amq.fanout", "whatever", "b"), []string{"q1", "q3"}},
		{"default exchange", msg("", "q2", "b"), []string{"q2"}},
		{"default exchange unknown", msg("", "nope", "b"), nil},
		{"topic both", msg("amq.topic", "quick.orange.rabbit", "b"), []string{"q1", "q2"}},
		{"topic dedup", msg("amq.topic", "lazy.orange.rabbit", "b"), []string{"q1", "q2"}},
		{"topic hash", msg("amq.topic", "lazy.pink.male.rabbit", "b"), []string{"q2"}},
		{"topic none", msg("amq.topic", "quick.brown.fox", "b"), nil},
		{"headers all", hdr(Table{"format": "pdf", "type": "report"}), []string{"q2", "q3"}},
		{"headers all missing one", hdr(Table{"format": "pdf"}), []string{"q2"}},
		{"headers any", hdr(Table{"type": "log"}), []string{"q2"}},
		{"headers none", hdr(Table{"type": "other"}), nil},
		{"headers numeric equality", hdr(Table{"format": "zip", "type": "log"}), []string{"q2"}},
		{"headers all-with-x", hdr(Table{"x-tag": "t"}), []string{"q1"}},
		{"headers void matches presence", msgWith("amq.match", "", "b", Properties{Headers: Table{"present": int32(7)}}), []string{"q1"}},
		{"headers void absent", msgWith("amq.match", "", "b", Properties{Headers: Table{"other": int32(7)}}), nil},
		{"CC adds routes", msgWith("amq.direct", "b", "x", Properties{Headers: Table{"CC": []any{"a"}}}), []string{"q1", "q2", "q3"}},
		{"BCC adds routes", msgWith("amq.direct", "zz", "x", Properties{Headers: Table{"BCC": []any{"b", int32(5)}}}), []string{"q3"}},
	}
	for _, tt := range tests {
		if got := e.routedTo(qs, tt.m); !slices.Equal(got, tt.want) {
			t.Errorf("%s: routed to %v, want %v", tt.name, got, tt.want)
		}
	}
	// BCC is stripped before delivery, CC stays.
	_, err := e.ch.QueuePurge("q3")
	e.must(err)
	e.must(e.ch.Publish(msgWith("amq.direct", "zz", "x", Properties{Headers: Table{"BCC": []any{"b"}, "keep": "me"}}), false, false))
	found, err := e.ch.Get("q3", true)
	e.must(err)
	ev := e.sink.take()
	if !found || len(ev) != 1 {
		t.Fatalf("get: %v %+v", found, ev)
	}
	p, _ := testCodec{}.Decode(ev[0].d.Props)
	if _, ok := p.Headers["BCC"]; ok || p.Headers["keep"] != "me" {
		t.Fatalf("delivered headers %v", p.Headers)
	}
}

func TestExchangeToExchangeAndAlternate(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"qa", "qb", "qc", "unrouted"} {
		e.declare(q, nil)
	}
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "x1", Type: "topic"}))
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "x2", Type: "fanout"}))
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "ae", Type: "fanout"}))
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "withae", Type: "direct", Args: Table{"alternate-exchange": "ae"}}))
	e.must(e.ch.ExchangeBind("x2", "x1", "a.#", nil))
	e.must(e.ch.ExchangeBind("x1", "x2", "", nil)) // a cycle
	e.must(e.ch.QueueBind("qa", "x1", "a.b", nil))
	e.must(e.ch.QueueBind("qb", "x2", "", nil))
	e.must(e.ch.QueueBind("qc", "withae", "k", nil))
	e.must(e.ch.QueueBind("unrouted", "ae", "", nil))
	names := []string{"qa", "qb", "qc", "unrouted"}
	tests := []struct {
		m    *Message
		want []string
	}{
		{msg("x1", "a.b", "m"), []string{"qa", "qb"}},
		{msg("x1", "a.z", "m"), []string{"qb"}},
		{msg("x2", "zzz", "m"), []string{"qb"}}, // x2 → x1 → x2 (visited), x1 routes nothing for zzz
		{msg("withae", "k", "m"), []string{"qc"}},
		{msg("withae", "other", "m"), []string{"unrouted"}},
	}
	for _, tt := range tests {
		if got := e.routedTo(names, tt.m); !slices.Equal(got, tt.want) {
			t.Errorf("%s/%s: routed to %v, want %v", tt.m.Exchange, tt.m.RoutingKey, got, tt.want)
		}
	}
	// Unbinding breaks the path.
	e.must(e.ch.ExchangeUnbind("x2", "x1", "a.#", nil))
	if got := e.routedTo(names, msg("x1", "a.z", "m")); got != nil {
		t.Errorf("after unbind routed to %v", got)
	}
}

func TestMandatoryReturn(t *testing.T) {
	e := newEnv(t)
	e.must(e.ch.ConfirmSelect())
	e.must(e.ch.Publish(msg("amq.direct", "nowhere", "lost"), true, false))
	e.must(e.ch.Publish(msg("amq.direct", "nowhere", "dropped"), false, false))
	ev := e.sink.take()
	if len(ev) != 3 || ev[0].kind != "return" || ev[0].code != 312 || ev[0].text != "NO_ROUTE" ||
		string(ev[0].d.Body) != "lost" || ev[1].kind != "confirm" || ev[1].seq != 1 || ev[1].nack ||
		ev[2].kind != "confirm" || ev[2].seq != 2 {
		t.Fatalf("events %+v", ev)
	}
}

func TestAutoDeleteExchangeAndBindingIdentity(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "ad", Type: "direct", AutoDelete: true}))
	// Same key, different arguments: two bindings.
	e.must(e.ch.QueueBind("q", "ad", "k", nil))
	e.must(e.ch.QueueBind("q", "ad", "k", Table{"v": int32(1)}))
	e.must(e.ch.QueueBind("q", "ad", "k", nil)) // duplicate: no-op
	bs, _ := e.b.Bindings("/")
	if len(bs) != 2 {
		t.Fatalf("bindings %+v", bs)
	}
	if got := e.routedTo([]string{"q"}, msg("ad", "k", "m")); len(got) != 1 {
		t.Fatal("not routed")
	}
	e.must(e.ch.QueueUnbind("q", "ad", "k", nil))
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "ad", Passive: true}))
	e.must(e.ch.QueueUnbind("q", "ad", "k", Table{"v": int32(1)}))
	wantErr(t, e.ch.ExchangeDeclare(ExchangeDeclare{Name: "ad", Passive: true}), 404, "NOT_FOUND - no exchange 'ad' in vhost '/'")
	// Deleting a queue removes its bindings, auto-deleting exchanges.
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "ad2", Type: "fanout", AutoDelete: true}))
	e.must(e.ch.QueueBind("q", "ad2", "", nil))
	_, err := e.ch.QueueDelete("q", false, false)
	e.must(err)
	wantErr(t, e.ch.ExchangeDeclare(ExchangeDeclare{Name: "ad2", Passive: true}), 404, "NOT_FOUND - no exchange 'ad2' in vhost '/'")
	if bs, _ := e.b.Bindings("/"); len(bs) != 0 {
		t.Fatalf("bindings left %+v", bs)
	}
}
