package amqp

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	"ferry/internal/broker"
	"ferry/internal/proto/amqp/wire"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// TestServerPropertiesLive checks what clients look for in
// connection.start: product, version and the capabilities table.
func TestServerPropertiesLive(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts)
	if c.Properties["product"] != "RabbitMQ" || c.Properties["version"] != CompatVersion {
		t.Fatalf("server properties %v", c.Properties)
	}
	caps, _ := c.Properties["capabilities"].(amqp091.Table)
	for _, k := range []string{"publisher_confirms", "exchange_exchange_bindings", "basic.nack", "consumer_cancel_notify",
		"connection.blocked", "authentication_failure_close", "per_consumer_qos", "direct_reply_to"} {
		if caps[k] != true {
			t.Errorf("capability %s = %v", k, caps[k])
		}
	}
	if c.Config.ChannelMax != 2047 || c.Config.FrameSize != 131072 {
		t.Fatalf("tuned channel_max %d frame_max %d", c.Config.ChannelMax, c.Config.FrameSize)
	}
}

// TestLoginLive checks refused logins (wrong password, unknown user,
// AMQPLAIN) and a missing vhost.
func TestLoginLive(t *testing.T) {
	ts := startServer(t)
	for _, url := range []string{
		"amqp://guest:wrong@" + ts.addr + "/",
		"amqp://nobody:guest@" + ts.addr + "/",
	} {
		// amqp091-go replaces RabbitMQ's text with its ErrCredentials.
		_, err := amqp091.Dial(url)
		if e, ok := err.(*amqp091.Error); !ok || e.Code != 403 {
			t.Fatalf("login with %s: %v", url, err)
		}
	}
	c, err := amqp091.DialConfig(ts.url(), amqp091.Config{SASL: []amqp091.Authentication{&amqp091.AMQPlainAuth{Username: "guest", Password: "guest"}}})
	must(t, err)
	c.Close()
	_, err = amqp091.Dial("amqp://guest:guest@" + ts.addr + "/novhost")
	expectAMQPError(t, err, 530, "NOT_ALLOWED - vhost novhost not found")
}

// TestProtocolHeaderMismatch checks that a wrong protocol header is
// answered with the one Ferry speaks, then the socket closes.
func TestProtocolHeaderMismatch(t *testing.T) {
	ts := startServer(t)
	for _, hdr := range []string{"AMQP\x00\x00\x0a\x00", "AMQP\x00\x01\x00\x00", "HTTP/1.1"} {
		rc := dialRaw(t, ts)
		rc.send([]byte(hdr))
		got, _ := io.ReadAll(rc.r)
		if !bytes.Equal(got, wire.ProtocolHeader) {
			t.Fatalf("header %q answered %q", hdr, got)
		}
	}
}

// TestHeartbeatTimeoutLive negotiates a 1 s heartbeat and then stays
// silent: the server sends heartbeats, then closes the socket after two
// missed intervals. A client that keeps talking stays connected.
func TestHeartbeatTimeoutLive(t *testing.T) {
	ts := startServer(t)
	rc := dialRaw(t, ts)
	rc.handshake(wire.ConnectionTuneOk{ChannelMax: 10, FrameMax: 131072, Heartbeat: 1}, nil)
	start := time.Now()
	heartbeats := 0
	for {
		typ, _, _, err := rc.tryFrame()
		if err != nil {
			break
		}
		if typ == wire.FrameHeartbeat {
			heartbeats++
		}
	}
	elapsed := time.Since(start)
	if heartbeats == 0 || elapsed < 1500*time.Millisecond || elapsed > 10*time.Second {
		t.Fatalf("closed after %v with %d heartbeats received", elapsed, heartbeats)
	}

	// amqp091-go sends heartbeats itself: the connection lives on.
	c, err := amqp091.DialConfig(ts.url(), amqp091.Config{Heartbeat: 2 * time.Second})
	must(t, err)
	defer c.Close()
	time.Sleep(5 * time.Second) // more than two intervals
	if c.IsClosed() {
		t.Fatal("a heartbeating client was disconnected")
	}
	ch, err := c.Channel()
	must(t, err)
	_, err = ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
}

// TestConnectionBlockedLive raises the broker's memory alarm by filling a
// queue past the watermark: the publishing connection is told
// connection.blocked, and connection.unblocked when a purge frees memory.
func TestConnectionBlockedLive(t *testing.T) {
	ts := startServer(t, func(_ *Config, bc *broker.Config) { bc.MemoryHighWatermark = 64 << 10 })
	c, ch := openChannel(t, ts)
	blocked := c.NotifyBlocked(make(chan amqp091.Blocking, 4))
	const q = "fill"
	_, err := ch.QueueDeclare(q, false, false, false, false, nil)
	must(t, err)
	body := make([]byte, 4096)
	// Publish until blocked (about 17 messages); publishes are
	// asynchronous, so a blocked connection just stops being read. The
	// rest must stay under the mark after the purge: a connection blocked
	// at the end would not read the client's connection.close.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 25 {
			if ch.PublishWithContext(t.Context(), "", q, false, false, amqp091.Publishing{Body: body}) != nil {
				return
			}
		}
	}()
	select {
	case b := <-blocked:
		if !b.Active || b.Reason != "low on memory" {
			t.Fatalf("blocked %+v", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no connection.blocked")
	}
	if !ts.b.MemoryAlarm() {
		t.Fatal("broker alarm not raised")
	}
	// Another connection purges the queue: the alarm clears.
	_, other := openChannel(t, ts)
	if _, err := other.QueuePurge(q, false); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-blocked:
		if b.Active {
			t.Fatalf("second notification %+v, want unblocked", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no connection.unblocked")
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("publisher still stuck after unblock")
	}
}

// TestProtocolViolationsLive sends malformed or out-of-order frames and
// checks the close code and RabbitMQ's text; other connections are not
// affected.
func TestProtocolViolationsLive(t *testing.T) {
	ts := startServer(t)
	bystander, bch := openChannel(t, ts)

	frame := func(typ uint8, ch uint16, payload []byte) []byte {
		b := []byte{typ, byte(ch >> 8), byte(ch), 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[3:], uint32(len(payload)))
		return append(append(b, payload...), wire.FrameEnd)
	}
	tests := []struct {
		name     string
		frameMax uint32
		chanMax  uint16
		send     func(rc *rawConn)
		code     uint16
		text     string
		key      wire.MethodKey
	}{
		{
			name: "frame over frame_max", frameMax: 4096,
			send: func(rc *rawConn) { rc.send(frame(wire.FrameBody, 1, make([]byte, 5000))) },
			code: 501, text: "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,5000,4088}",
		},
		{
			name: "bad frame end",
			send: func(rc *rawConn) {
				f := frame(wire.FrameHeartbeat, 0, nil)
				f[len(f)-1] = 0
				rc.send(f)
			},
			code: 501, text: "FRAME_ERROR - type 8, all octets = <<>>: {invalid_frame_end_marker,0}",
		},
		{
			name: "channel_max reached", chanMax: 1,
			send: func(rc *rawConn) { rc.method(2, &wire.ChannelOpen{}) },
			code: 530, text: "NOT_ALLOWED - number of channels opened (1) has reached the negotiated channel_max (1)",
		},
		{
			name: "method on a channel never opened",
			send: func(rc *rawConn) { rc.method(7, &wire.BasicQos{PrefetchCount: 1}) },
			code: 504, text: "CHANNEL_ERROR - expected 'channel.open'", key: wire.KeyBasicQos,
		},
		{
			name: "content body before a method",
			send: func(rc *rawConn) { rc.send(frame(wire.FrameBody, 1, []byte("x"))) },
			code: 505, text: "UNEXPECTED_FRAME - expected method frame, got non method frame instead",
		},
		{
			name: "method instead of content header",
			send: func(rc *rawConn) {
				rc.method(1, &wire.BasicPublish{RoutingKey: "q"})
				rc.method(1, &wire.BasicQos{})
			},
			code: 505, text: "UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead",
			key: wire.KeyBasicPublish,
		},
		{
			name: "second channel.open",
			send: func(rc *rawConn) { rc.method(1, &wire.ChannelOpen{}) },
			code: 504, text: "CHANNEL_ERROR - second 'channel.open' seen", key: wire.KeyChannelOpen,
		},
		{
			name: "unknown method id",
			send: func(rc *rawConn) { rc.send(frame(wire.FrameMethod, 1, []byte{0, 60, 0, 99})) },
			code: 540, text: "NOT_IMPLEMENTED - unknown method: class-id 60, method-id 99", key: wire.Key(60, 99),
		},
		{
			name: "unknown class id",
			send: func(rc *rawConn) { rc.send(frame(wire.FrameMethod, 1, []byte{0x12, 0x34, 0, 1})) },
			code: 540, text: "NOT_IMPLEMENTED - unknown method: class-id 4660, method-id 1", key: wire.Key(0x1234, 1),
		},
		{
			name: "server-only method from the client",
			send: func(rc *rawConn) { rc.method(1, &wire.BasicDeliver{ConsumerTag: "x"}) },
			code: 503, text: "COMMAND_INVALID - unimplemented method", key: wire.KeyBasicDeliver,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, ts)
			fm := tc.frameMax
			if fm == 0 {
				fm = 131072
			}
			rc.handshake(wire.ConnectionTuneOk{ChannelMax: tc.chanMax, FrameMax: fm}, nil)
			rc.method(1, &wire.ChannelOpen{})
			if _, m := rc.readMethod(); m.Key() != wire.KeyChannelOpenOk {
				t.Fatalf("got %v", m.Key())
			}
			tc.send(rc)
			rc.expectConnClose(tc.code, tc.text, tc.key)
			rc.expectEOF()
		})
	}
	// The bystander still works.
	if _, err := bch.QueueDeclare("", false, true, true, false, nil); err != nil || bystander.IsClosed() {
		t.Fatalf("bystander connection hurt: %v", err)
	}
}

// TestServerNamedConsumerTagLive checks that basic.consume with an empty
// tag gets a server-generated amq.ctag-… (amqp091-go and pika always name
// their consumers, so this goes raw).
func TestServerNamedConsumerTagLive(t *testing.T) {
	ts := startServer(t)
	rc := openRaw(t, ts)
	rc.method(1, &wire.QueueDeclare{Queue: "", Exclusive: true})
	_, m := rc.readMethod()
	q := m.(*wire.QueueDeclareOk).Queue
	rc.method(1, &wire.BasicConsume{Queue: q})
	_, m = rc.readMethod()
	ok, isOk := m.(*wire.BasicConsumeOk)
	if !isOk || !strings.HasPrefix(ok.ConsumerTag, "amq.ctag-") {
		t.Fatalf("consume answered %#v", m)
	}
}

// TestCrossingChannelClose: the client closes a channel while the server's
// channel.close for an error on it is in flight (amqp091-go's issue 43).
// Each side answers the other's close; the channel number stays taken
// until the client's close-ok, then opens again, and the connection lives.
func TestCrossingChannelClose(t *testing.T) {
	ts := startServer(t)
	rc := openRaw(t, ts)
	rc.send(wire.AppendContent(nil, 1, &wire.BasicPublish{Exchange: "nonexisting-exchange"}, nil, nil, 4096))
	rc.method(1, &wire.ChannelClose{ReplyCode: 200, ReplyText: "bye"})
	rc.expectChanClose(1, 404, "NOT_FOUND - no exchange 'nonexisting-exchange' in vhost '/'", wire.KeyBasicPublish)
	if ch, m := rc.readMethod(); ch != 1 || m.Key() != wire.KeyChannelCloseOk {
		t.Fatalf("got %v on %d, want channel.close-ok", m.Key(), ch)
	}
	rc.method(1, &wire.ChannelCloseOk{})
	rc.method(1, &wire.ChannelOpen{})
	if ch, m := rc.readMethod(); ch != 1 || m.Key() != wire.KeyChannelOpenOk {
		t.Fatalf("got %v on %d, want channel.open-ok", m.Key(), ch)
	}
	rc.method(1, &wire.ExchangeDeclare{Exchange: "still-here", Type: "direct", AutoDelete: true})
	if _, m := rc.readMethod(); m.Key() != wire.KeyExchangeDeclareOk {
		t.Fatalf("got %v, want exchange.declare-ok", m.Key())
	}
}
