package broker

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func persistent(exchange, key, body string) *Message {
	return msgWith(exchange, key, body, Properties{DeliveryMode: 2})
}

func TestDurableTopologyAndMessagesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	b := newTestBroker(t, dir)
	e := envFor(t, b)
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "dx", Type: "topic", Durable: true, Args: Table{"alternate-exchange": "ae"}}))
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "tx", Type: "fanout"})) // transient
	_, err := e.ch.QueueDeclare(QueueDeclare{Name: "dq", Durable: true, Args: Table{"x-max-length": int32(100), "x-max-priority": uint8(3)}})
	e.must(err)
	_, err = e.ch.QueueDeclare(QueueDeclare{Name: "tq"})
	e.must(err)
	e.must(e.ch.QueueBind("dq", "dx", "a.#", Table{"k": int64(1) << 40}))
	e.must(e.ch.QueueBind("tq", "dx", "a.#", nil))
	e.must(e.b.AddVHost("other"))
	e.must(e.b.AddUser("bob", "secret", []string{"monitoring"}))
	e.must(e.b.SetPermissions("bob", "other", "^b-", ".*", ""))
	e.must(e.ch.ConfirmSelect())
	e.must(e.ch.Publish(persistent("dx", "a.1", "p1"), false, false))
	e.must(e.ch.Publish(msg("dx", "a.2", "transient"), false, false))
	e.must(e.ch.Publish(persistent("dx", "a.3", "p2"), false, false))
	e.must(e.ch.Publish(persistent("dx", "a.4", "acked"), false, false))
	e.sink.waitFor(t, "confirms", func(ev []event) bool {
		for _, x := range ev {
			if x.kind == "confirm" && x.seq == 4 {
				return true
			}
		}
		return false
	})
	// Consume and ack "acked", leave p1 delivered-but-unacked.
	for i := 0; i < 4; i++ {
		_, err := e.ch.Get("dq", false)
		e.must(err)
	}
	e.must(e.ch.Ack(4, false))
	e.must(b.Close())

	b2 := newTestBroker(t, dir)
	defer b2.Close()
	e2 := envFor(t, b2)
	qs, _ := b2.Queues("/")
	if len(qs) != 1 || qs[0].Name != "dq" || !qs[0].Durable {
		t.Fatalf("queues after restart %+v", qs)
	}
	e2.must(e2.ch.ExchangeDeclare(ExchangeDeclare{Name: "dx", Type: "topic", Durable: true, Args: Table{"alternate-exchange": "ae"}}))
	wantErr(t, e2.ch.ExchangeDeclare(ExchangeDeclare{Name: "tx", Passive: true}), 404, "NOT_FOUND - no exchange 'tx' in vhost '/'")
	// Argument types survive: redeclaring with a uint8 x-max-priority is equivalent; a string is not.
	_, err = e2.ch.QueueDeclare(QueueDeclare{Name: "dq", Durable: true, Args: Table{"x-max-length": int32(100), "x-max-priority": uint8(3)}})
	e2.must(err)
	bs, _ := b2.Bindings("/")
	if len(bs) != 1 || bs[0].Destination != "dq" || bs[0].Arguments["k"] != int64(1)<<40 {
		t.Fatalf("bindings after restart %+v", bs)
	}
	var got []string
	for {
		d, ok := e2.getBody("dq")
		if !ok {
			break
		}
		if !d.Redelivered {
			t.Errorf("recovered message %q not marked redelivered", d.Body)
		}
		got = append(got, string(d.Body))
	}
	if !slices.Equal(got, []string{"p1", "p2"}) {
		t.Fatalf("recovered %v, want [p1 p2]", got)
	}
	if _, err := b2.Authenticate("bob", "secret"); err != nil {
		t.Fatal("user lost")
	}
	if p := b2.Permissions("other"); len(p) != 1 || p[0].Configure != "^b-" {
		t.Fatalf("permissions %+v", p)
	}
	// The definitions file is RabbitMQ-shaped JSON.
	data, err := os.ReadFile(filepath.Join(dir, "definitions.json"))
	e2.must(err)
	var raw map[string]any
	e2.must(json.Unmarshal(data, &raw))
	for _, k := range []string{"users", "vhosts", "permissions", "exchanges", "queues", "bindings"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("definitions lack %q", k)
		}
	}
}

func TestDeletedQueueMessagesDoNotComeBack(t *testing.T) {
	dir := t.TempDir()
	b := newTestBroker(t, dir)
	e := envFor(t, b)
	_, err := e.ch.QueueDeclare(QueueDeclare{Name: "dq", Durable: true})
	e.must(err)
	e.must(e.ch.Publish(persistent("", "dq", "old"), false, false))
	_, err = e.ch.QueueDelete("dq", false, false)
	e.must(err)
	_, err = e.ch.QueueDeclare(QueueDeclare{Name: "dq", Durable: true})
	e.must(err)
	e.must(e.ch.Publish(persistent("", "dq", "new"), false, false))
	e.must(e.ch.QueueBind("dq", "amq.fanout", "", nil))
	e.must(e.ch.Publish(persistent("amq.fanout", "", "purged"), false, false))
	e.sink.take()
	// Purge the last one only: get "new" back into place after.
	d, _ := e.getBody("dq")
	_, err = e.ch.QueuePurge("dq")
	e.must(err)
	e.must(e.ch.Publish(persistent("", "dq", string(d.Body)), false, false))
	b.Close()
	b2 := newTestBroker(t, dir)
	defer b2.Close()
	e2 := envFor(t, b2)
	var got []string
	for {
		d, ok := e2.getBody("dq")
		if !ok {
			break
		}
		got = append(got, string(d.Body))
	}
	if !slices.Equal(got, []string{"new"}) {
		t.Fatalf("recovered %v", got)
	}
	if st := b2.Stats().Store; st.LiveMessages != 0 {
		t.Fatalf("store still holds %d messages after all were consumed", st.LiveMessages)
	}
}

func TestPersistentConfirmWaitsForFsync(t *testing.T) {
	dir := t.TempDir()
	b, err := New(Config{Dir: dir, Codec: testCodec{}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := envFor(t, b)
	_, err = e.ch.QueueDeclare(QueueDeclare{Name: "dq", Durable: true})
	e.must(err)
	e.declare("tq", nil)
	e.must(e.ch.ConfirmSelect())
	f0 := b.Stats().Store.Fsyncs
	for i := 0; i < 50; i++ {
		e.must(e.ch.Publish(persistent("", "dq", "p"), false, false))
	}
	ev := e.sink.waitFor(t, "all confirms", func(ev []event) bool {
		return len(ev) > 0 && ev[len(ev)-1].seq == 50
	})
	for _, x := range ev {
		if x.nack {
			t.Fatalf("nack %+v", x)
		}
	}
	if f := b.Stats().Store.Fsyncs - f0; f == 0 || f >= 50 {
		t.Fatalf("%d fsyncs for 50 confirmed publishes", f)
	}
	t.Logf("%d confirm frames, %d fsyncs for 50 persistent publishes", len(ev), b.Stats().Store.Fsyncs-f0)
	if len(ev) >= 50 {
		t.Fatalf("confirms not coalesced: %d frames", len(ev))
	}
	covered := map[uint64]bool{}
	var prev uint64
	for _, x := range ev {
		if x.multiple {
			for s := prev + 1; s <= x.seq; s++ {
				covered[s] = true
			}
		} else {
			covered[x.seq] = true
		}
		prev = x.seq
	}
	if len(covered) != 50 {
		t.Fatalf("confirms cover %d of 50", len(covered))
	}
	// Transient messages and non-durable queues confirm at once.
	e.sink.take()
	e.must(e.ch.Publish(persistent("", "tq", "p"), false, false))
	e.must(e.ch.Publish(msg("", "dq", "t"), false, false))
	if ev := e.sink.take(); len(ev) != 2 || ev[0].seq != 51 || ev[1].seq != 52 {
		t.Fatalf("immediate confirms %+v", ev)
	}
}

func TestAuthAndPermissions(t *testing.T) {
	b := newTestBroker(t, "")
	defer b.Close()
	if _, err := b.Authenticate("guest", "wrong"); err != ErrLoginRefused {
		t.Fatalf("bad password: %v", err)
	}
	if _, err := b.Authenticate("nobody", "guest"); err != ErrLoginRefused {
		t.Fatalf("bad user: %v", err)
	}
	if !b.LoopbackOnly("guest") {
		t.Fatal("guest must be loopback-only by default")
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.AddUser("bob", "pw", nil))
	must(b.AddVHost("v"))
	bob, err := b.Authenticate("bob", "pw")
	must(err)
	_, err = b.Connect(bob, "v", ConnInfo{})
	wantErr(t, err, 530, "NOT_ALLOWED - access to vhost 'v' refused for user 'bob'")
	_, err = b.Connect(bob, "nov", ConnInfo{})
	wantErr(t, err, 530, "NOT_ALLOWED - vhost nov not found")
	must(b.SetPermissions("bob", "v", "^bob-", "^(bob-.*|amq\\.default)$", "^bob-"))
	conn, err := b.Connect(bob, "v", ConnInfo{})
	must(err)
	ch, err := conn.OpenChannel(newSink())
	must(err)
	_, err = ch.QueueDeclare(QueueDeclare{Name: "other"})
	wantErr(t, err, 403, "ACCESS_REFUSED - access to queue 'other' in vhost 'v' refused for user 'bob'")
	_, err = ch.QueueDeclare(QueueDeclare{Name: "bob-q"})
	must(err)
	must(ch.Publish(msg("", "bob-q", "x"), false, false))
	wantErr(t, ch.Publish(msg("amq.direct", "k", "x"), false, false), 403,
		"ACCESS_REFUSED - access to exchange 'amq.direct' in vhost 'v' refused for user 'bob'")
	wantErr(t, ch.QueueBind("bob-q", "amq.direct", "k", nil), 403,
		"ACCESS_REFUSED - access to exchange 'amq.direct' in vhost 'v' refused for user 'bob'")
	// Tightening permissions takes effect on open channels.
	must(b.SetPermissions("bob", "v", "^bob-", "", "^bob-"))
	wantErr(t, ch.Publish(msg("", "bob-q", "x"), false, false), 403,
		"ACCESS_REFUSED - access to exchange 'amq.default' in vhost 'v' refused for user 'bob'")
	// Deleting the user force-closes its connections.
	closed := make(chan *Error, 1)
	conn2, err := b.Connect(bob, "v", ConnInfo{ForceClose: func(e *Error) { closed <- e }})
	must(err)
	_ = conn2
	must(b.DeleteUser("bob"))
	select {
	case e := <-closed:
		if e.Code != 320 || e.Text != "CONNECTION_FORCED - user 'bob' is deleted" {
			t.Fatalf("force close %v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("connection of deleted user not closed")
	}
	// Password hashes are RabbitMQ's salted SHA-256.
	h := HashPassword("test12")
	raw, err := decodeHash(h)
	must(err)
	if !checkPassword(raw, "test12") || checkPassword(raw, "test13") || len(raw) != 36 {
		t.Fatal("hash check")
	}
}

// TestRabbitMQPasswordHash checks a hash produced by RabbitMQ itself
// (rabbitmqctl hash_password, from RabbitMQ's documentation).
func TestRabbitMQPasswordHash(t *testing.T) {
	raw, err := decodeHash("kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR")
	if err != nil {
		t.Fatal(err)
	}
	if !checkPassword(raw, "test12") {
		t.Fatal("RabbitMQ's hash of test12 rejected")
	}
}

func TestMemoryWatermark(t *testing.T) {
	alarms := make(chan bool, 10)
	b, err := New(Config{Codec: testCodec{}, Logger: quietLogger(), MemoryHighWatermark: 10_000,
		OnMemoryAlarm: func(on bool) { alarms <- on }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := envFor(t, b)
	e.declare("q", nil)
	body := string(make([]byte, 3000))
	for i := 0; i < 4; i++ {
		e.publish("", "q", body)
	}
	if !b.MemoryAlarm() || <-alarms != true {
		t.Fatalf("no alarm at %d bytes", b.Memory())
	}
	_, err = e.ch.QueuePurge("q")
	e.must(err)
	if b.MemoryAlarm() || <-alarms != false || b.Memory() != 0 {
		t.Fatalf("alarm not cleared, memory %d", b.Memory())
	}
}
