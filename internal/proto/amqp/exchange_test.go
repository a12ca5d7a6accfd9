package amqp

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// publish publishes body on ch, failing the test on an error.
func publish(t testing.TB, ch *amqp091.Channel, exchange, key string, pub amqp091.Publishing) {
	t.Helper()
	if err := ch.PublishWithContext(context.Background(), exchange, key, false, false, pub); err != nil {
		t.Fatalf("publish to %q/%q: %v", exchange, key, err)
	}
}

// tempQueue declares a server-named exclusive queue bound to exchange with
// the given keys (args for each binding).
func tempQueue(t testing.TB, ch *amqp091.Channel, exchange string, args amqp091.Table, keys ...string) string {
	t.Helper()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := ch.QueueBind(q.Name, k, exchange, false, args); err != nil {
			t.Fatalf("bind %q to %q: %v", k, exchange, err)
		}
	}
	return q.Name
}

// drain gets every ready message of queue with basic.get and returns the
// bodies, sorted.
func drain(t testing.TB, ch *amqp091.Channel, queue string) []string {
	t.Helper()
	var got []string
	for {
		m, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatalf("get %q: %v", queue, err)
		}
		if !ok {
			break
		}
		got = append(got, string(m.Body))
	}
	sort.Strings(got)
	return got
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestExchangeTypesLive routes through every exchange type, including the
// predeclared ones, and checks which bound queues receive each message.
func TestExchangeTypesLive(t *testing.T) {
	ts := startServer(t)
	_, ch := openChannel(t, ts)

	type binding struct {
		keys []string
		args amqp091.Table
	}
	type msg struct {
		key     string
		headers amqp091.Table
	}
	tests := []struct {
		name, exchange, kind string // kind "" = predeclared
		bindings             []binding
		msgs                 []msg
		want                 [][]string // per binding, the message keys received
	}{
		{
			name: "direct", exchange: "t.direct", kind: "direct",
			bindings: []binding{{keys: []string{"a"}}, {keys: []string{"a", "b"}}},
			msgs:     []msg{{key: "a"}, {key: "b"}, {key: "c"}},
			want:     [][]string{{"a"}, {"a", "b"}},
		},
		{
			name: "amq.direct", exchange: "amq.direct",
			bindings: []binding{{keys: []string{"x"}}},
			msgs:     []msg{{key: "x"}, {key: "y"}},
			want:     [][]string{{"x"}},
		},
		{
			name: "fanout", exchange: "amq.fanout",
			bindings: []binding{{keys: []string{"ignored"}}, {keys: []string{""}}},
			msgs:     []msg{{key: "k1"}, {key: "k2"}},
			want:     [][]string{{"k1", "k2"}, {"k1", "k2"}},
		},
		{
			name: "topic", exchange: "t.topic", kind: "topic",
			bindings: []binding{{keys: []string{"*.orange.*"}}, {keys: []string{"*.*.rabbit", "lazy.#"}}, {keys: []string{"#"}}},
			msgs: []msg{{key: "quick.orange.rabbit"}, {key: "lazy.orange.elephant"}, {key: "quick.orange.fox"},
				{key: "lazy.brown.fox"}, {key: "lazy"}, {key: "quick.brown.fox"}, {key: "orange"}},
			want: [][]string{
				{"lazy.orange.elephant", "quick.orange.fox", "quick.orange.rabbit"},
				{"lazy", "lazy.brown.fox", "lazy.orange.elephant", "quick.orange.rabbit"},
				{"lazy", "lazy.brown.fox", "lazy.orange.elephant", "orange", "quick.brown.fox", "quick.orange.fox", "quick.orange.rabbit"},
			},
		},
		{
			name: "headers", exchange: "amq.headers",
			bindings: []binding{
				{keys: []string{""}, args: amqp091.Table{"x-match": "all", "format": "pdf", "type": "report"}},
				{keys: []string{""}, args: amqp091.Table{"x-match": "any", "format": "pdf", "type": "log"}},
				{keys: []string{""}, args: amqp091.Table{"format": "zip"}}, // x-match defaults to all
			},
			msgs: []msg{
				{key: "m1", headers: amqp091.Table{"format": "pdf", "type": "report"}},
				{key: "m2", headers: amqp091.Table{"format": "pdf", "type": "other"}},
				{key: "m3", headers: amqp091.Table{"type": "log"}},
				{key: "m4", headers: amqp091.Table{"format": "zip", "x": int32(1)}},
				{key: "m5"},
			},
			want: [][]string{{"m1"}, {"m1", "m2", "m3"}, {"m4"}},
		},
		{
			name: "amq.match", exchange: "amq.match",
			bindings: []binding{{keys: []string{""}, args: amqp091.Table{"x-match": "any", "n": int32(1)}}},
			msgs:     []msg{{key: "a", headers: amqp091.Table{"n": int32(1)}}, {key: "b", headers: amqp091.Table{"n": int32(2)}}},
			want:     [][]string{{"a"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.kind != "" {
				if err := ch.ExchangeDeclare(tc.exchange, tc.kind, false, true, false, false, nil); err != nil {
					t.Fatal(err)
				}
			}
			queues := make([]string, len(tc.bindings))
			for i, b := range tc.bindings {
				queues[i] = tempQueue(t, ch, tc.exchange, b.args, b.keys...)
			}
			for _, m := range tc.msgs {
				publish(t, ch, tc.exchange, m.key, amqp091.Publishing{Headers: m.headers, Body: []byte(m.key)})
			}
			for i, q := range queues {
				if got := drain(t, ch, q); !equalStrings(got, tc.want[i]) {
					t.Errorf("binding %d got %q, want %q", i, got, tc.want[i])
				}
			}
		})
	}
}

// TestExchangeFeaturesLive covers alternate exchanges, internal exchanges,
// exchange-to-exchange bindings, auto-delete and delete if-unused.
func TestExchangeFeaturesLive(t *testing.T) {
	ts := startServer(t)
	_, ch := openChannel(t, ts)

	// Alternate exchange: unroutable messages go to the AE's queues.
	must(t, ch.ExchangeDeclare("ae", "fanout", false, false, false, false, nil))
	unrouted := tempQueue(t, ch, "ae", nil, "")
	must(t, ch.ExchangeDeclare("main", "direct", false, false, false, false, amqp091.Table{"alternate-exchange": "ae"}))
	routed := tempQueue(t, ch, "main", nil, "known")
	publish(t, ch, "main", "known", amqp091.Publishing{Body: []byte("r")})
	publish(t, ch, "main", "unknown", amqp091.Publishing{Body: []byte("u")})
	if got := drain(t, ch, routed); !equalStrings(got, []string{"r"}) {
		t.Fatalf("routed queue %q", got)
	}
	if got := drain(t, ch, unrouted); !equalStrings(got, []string{"u"}) {
		t.Fatalf("alternate exchange queue %q", got)
	}

	// Exchange-to-exchange: src (topic) → dst (fanout) → queue.
	must(t, ch.ExchangeDeclare("src", "topic", false, false, false, false, nil))
	must(t, ch.ExchangeDeclare("dst", "fanout", false, false, true, false, nil)) // internal
	e2e := tempQueue(t, ch, "dst", nil, "")
	must(t, ch.ExchangeBind("dst", "a.#", "src", false, nil))
	publish(t, ch, "src", "a.b", amqp091.Publishing{Body: []byte("ab")})
	publish(t, ch, "src", "b.a", amqp091.Publishing{Body: []byte("ba")})
	if got := drain(t, ch, e2e); !equalStrings(got, []string{"ab"}) {
		t.Fatalf("e2e queue %q", got)
	}
	must(t, ch.ExchangeUnbind("dst", "a.#", "src", false, nil))
	publish(t, ch, "src", "a.c", amqp091.Publishing{Body: []byte("ac")})
	if got := drain(t, ch, e2e); len(got) != 0 {
		t.Fatalf("after unbind the e2e queue got %q", got)
	}

	// Publishing to an internal exchange is refused (403, channel).
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	publish(t, ch, "dst", "", amqp091.Publishing{})
	err := waitClose(t, closed)
	expectAMQPError(t, err, 403, "ACCESS_REFUSED - cannot publish to internal exchange 'dst' in vhost '/'")

	// Delete if-unused refuses an exchange with bindings.
	_, ch = openChannel(t, ts)
	err = ch.ExchangeDelete("main", true, false)
	expectAMQPError(t, err, 406, "PRECONDITION_FAILED - exchange 'main' in vhost '/' in use")

	// Auto-delete: the exchange goes when its last binding goes.
	_, ch = openChannel(t, ts)
	must(t, ch.ExchangeDeclare("auto", "direct", false, true, false, false, nil))
	q := tempQueue(t, ch, "auto", nil, "k")
	must(t, ch.QueueUnbind(q, "k", "auto", nil))
	err = ch.ExchangeDeclarePassive("auto", "direct", false, true, false, false, nil)
	expectAMQPError(t, err, 404, "NOT_FOUND - no exchange 'auto' in vhost '/'")

	// Redeclaring with another type is an inequivalent argument; an
	// unknown type is a connection error.
	_, ch = openChannel(t, ts)
	err = ch.ExchangeDeclare("src", "fanout", false, false, false, false, nil)
	expectAMQPError(t, err, 406, "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'src' in vhost '/': received 'fanout' but current is 'topic'")
	c, ch := openChannel(t, ts)
	err = ch.ExchangeDeclare("odd", "nosuchtype", false, false, false, false, nil)
	expectAMQPError(t, err, 503, "COMMAND_INVALID - unknown exchange type 'nosuchtype'")
	waitClosed(t, c)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// expectAMQPError checks err is a server error with code and text.
func expectAMQPError(t testing.TB, err error, code int, text string) {
	t.Helper()
	var e *amqp091.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want %d %q", err, err, code, text)
	}
	if e.Code != code || e.Reason != text {
		t.Fatalf("error %d %q, want %d %q", e.Code, e.Reason, code, text)
	}
}

// waitClose waits for a NotifyClose channel to report the server's error
// (an asynchronous one, such as a publish refused).
func waitClose(t testing.TB, closed chan *amqp091.Error) error {
	t.Helper()
	select {
	case e, ok := <-closed:
		if !ok || e == nil {
			t.Fatal("channel closed without an error")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("not closed")
	}
	return nil
}

// waitClosed waits until the connection is closed.
func waitClosed(t testing.TB, c *amqp091.Connection) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !c.IsClosed() {
		if time.Now().After(deadline) {
			t.Fatal("connection still open")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
