package broker

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func TestAdminAndStats(t *testing.T) {
	dir := t.TempDir()
	b := newTestBroker(t, dir)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.AddVHost("v1"))
	if err := b.AddVHost("v1"); err == nil {
		t.Fatal("duplicate vhost accepted")
	}
	must(b.SetPermissions("guest", "v1", ".*", ".*", ".*"))
	u, _ := b.Authenticate("guest", "guest")
	closed := make(chan *Error, 1)
	conn, err := b.Connect(u, "v1", ConnInfo{Name: "peer", ForceClose: func(e *Error) { closed <- e }})
	must(err)
	ch, err := conn.OpenChannel(newSink())
	must(err)
	_, err = ch.QueueDeclare(QueueDeclare{Name: "q", Durable: true})
	must(err)
	must(ch.ExchangeDeclare(ExchangeDeclare{Name: "x", Type: "fanout", Durable: true}))
	must(ch.ExchangeBind("x", "amq.fanout", "", nil))
	must(ch.QueueBind("q", "x", "", nil))
	must(ch.Publish(persistent("amq.fanout", "", "m"), false, false))
	st := b.Stats()
	if st.Published != 1 || st.Connections != 1 || st.Memory <= 0 {
		t.Fatalf("stats %+v", st)
	}
	cs := b.Connections()
	if len(cs) != 1 || cs[0].Name != "peer" || cs[0].VHost != "v1" || cs[0].Channels != 1 {
		t.Fatalf("connections %+v", cs)
	}
	if vs := b.VHosts(); !slices.Equal(vs, []string{"/", "v1"}) {
		t.Fatalf("vhosts %v", vs)
	}
	xs, _ := b.Exchanges("v1")
	if len(xs) != 8 {
		t.Fatalf("exchanges %+v", xs)
	}
	must(b.SetUserTags("guest", []string{"administrator", "management"}))
	if us := b.Users(); len(us) != 1 || !slices.Equal(us[0].Tags, []string{"administrator", "management"}) {
		t.Fatalf("users %+v", us)
	}
	must(b.ChangePassword("guest", "new"))
	if _, err := b.Authenticate("guest", "guest"); err == nil {
		t.Fatal("old password still works")
	}
	must(b.Close())

	// Everything durable came back, including the e2e binding.
	b = newTestBroker(t, dir)
	defer b.Close()
	bs, err := b.Bindings("v1")
	must(err)
	if len(bs) != 2 || bs[0].Source != "amq.fanout" || bs[0].DestinationType != "exchange" {
		t.Fatalf("bindings %+v", bs)
	}
	qs, _ := b.Queues("v1")
	if len(qs) != 1 || qs[0].Messages != 1 {
		t.Fatalf("queues %+v", qs)
	}
	u, err = b.Authenticate("guest", "new")
	must(err)
	conn, err = b.Connect(u, "v1", ConnInfo{ForceClose: func(e *Error) { closed <- e }})
	must(err)
	must(b.DeleteVHost("v1"))
	select {
	case e := <-closed:
		if e.Text != "CONNECTION_FORCED - vhost 'v1' is deleted" {
			t.Fatalf("force close %v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed")
	}
	conn.Close()
	if _, err := b.Queues("v1"); err == nil {
		t.Fatal("deleted vhost still listed")
	}
	if st := b.Stats(); st.Memory != 0 || st.Store.LiveMessages != 0 {
		t.Fatalf("deleted vhost's messages still held: %+v", st)
	}
}

func TestDeadLetterRoutingKeyDropsCC(t *testing.T) {
	e := newEnv(t)
	e.declare("dead", nil)
	e.declare("src", Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dead"})
	e.must(e.ch.Publish(msgWith("", "src", "m", Properties{Headers: Table{"CC": []any{"elsewhere"}}}), false, false))
	_, err := e.ch.Get("src", false)
	e.must(err)
	e.sink.take()
	e.must(e.ch.Nack(1, false, false))
	d, ok := e.getBody("dead")
	if !ok || d.RoutingKey != "dead" {
		t.Fatalf("dead letter %+v", d)
	}
	p, _ := testCodec{}.Decode(d.Props)
	if _, ok := p.Headers["CC"]; ok {
		t.Fatal("CC kept with an explicit dead-letter routing key")
	}
	death := p.Headers["x-death"].([]any)[0].(map[string]any)
	if !valuesEqual(death["routing-keys"], []any{"src", "elsewhere"}) || death["reason"] != "rejected" {
		t.Fatalf("x-death %v", death)
	}
}

// otherDecimal stands in for the wire package's decimal type.
type otherDecimal struct {
	Scale uint8
	Value int32
}

func TestTypedArgumentsRoundTrip(t *testing.T) {
	in := Table{
		"s": "str", "x": []byte{0, 1}, "t": true, "b": int8(-1), "B": uint8(2), "sh": int16(-3), "u": uint16(4),
		"I": int32(-5), "i": uint32(6), "l": int64(1) << 62, "f": float32(1.5), "d": 2.25,
		"T": time.Unix(1700000000, 0), "V": nil, "A": []any{"a", int32(1)}, "F": map[string]any{"k": int64(9)},
		"D": Decimal{Scale: 2, Value: 150}, "wD": otherDecimal{Scale: 2, Value: 150},
	}
	raw, err := json.Marshal(encodeTable(in))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytesReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	out, err := decodeTable(m)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range in {
		if typeName(out[k]) != typeName(v) || !valuesEqual(out[k], v) {
			t.Errorf("%s: %#v (%s) came back as %#v (%s)", k, v, typeName(v), out[k], typeName(out[k]))
		}
	}
	if typeName(otherDecimal{}) != "decimal" || typeClass(otherDecimal{}) != "int" {
		t.Fatal("foreign decimal type not recognised")
	}
}
