package wire_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"ferry/internal/proto/amqp/wire"
)

// TestInteropAMQP091Go runs a scripted peer built only from this package
// against the amqp091-go client: the connection handshake (start, tune,
// open), a channel, queue.declare with arguments of every field type, a
// publish with every property and a body spanning several frames, a consume
// whose deliveries carry the properties as received and as re-encoded, an
// ack, and both closes. Each side checks what the other sent, so the codec
// is proven against a real client rather than against itself.
func TestInteropAMQP091Go(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	args := amqp.Table{
		"x-max-length": int64(1000), "x-message-ttl": int32(60000), "x-queue-type": "classic",
		"x-overflow": "reject-publish", "x-single-active-consumer": true,
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320000 octets: 3 frames at 131072
	pub := amqp.Publishing{
		Headers: amqp.Table{
			"bool": true, "byte": byte(200), "int8": int8(-8), "int16": int16(-16000), "uint16": uint16(60000),
			"int32": int32(-2000000000), "uint32": uint32(4000000000), "int64": int64(-9000000000000000000),
			"float32": float32(1.5), "float64": -2.25, "decimal": amqp.Decimal{Scale: 2, Value: 12345},
			"string": "hello, wörld", "bytes": []byte{0, 1, 2, 255}, "void": nil,
			"array": []any{int32(1), "two", nil, amqp.Table{"in": true}},
			"time":  time.Unix(1700000000, 0),
			"table": amqp.Table{"x": int64(1), "nested": amqp.Table{"deep": "yes"}},
		},
		ContentType: "application/json", ContentEncoding: "gzip", DeliveryMode: amqp.Persistent, Priority: 9,
		CorrelationId: "corr-1", ReplyTo: "amq.rabbitmq.reply-to", Expiration: "60000", MessageId: "msg-1",
		Timestamp: time.Unix(1700000001, 0), Type: "order.created", UserId: "guest", AppId: "interop",
		Body: body,
	}

	serverDone := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			serverDone <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		p := &peer{c: c, frameMax: wire.FrameMinSize}
		serverDone <- p.serve(toWire(args).(wire.Table), toWire(pub.Headers).(wire.Table), body)
	}()

	conn, err := amqp.DialConfig(fmt.Sprintf("amqp://guest:guest@%s/", ln.Addr()), amqp.Config{
		Properties: amqp.Table{"connection_name": "interop"},
		Dial:       amqp.DefaultDial(10 * time.Second),
	})
	if err != nil {
		t.Fatalf("amqp.Dial: %v (server: %v)", err, drain(serverDone))
	}
	defer conn.Close()
	if got := conn.Properties["product"]; got != "Ferry" {
		t.Errorf("server product seen by the client: %v", got)
	}
	if caps, _ := conn.Properties["capabilities"].(amqp.Table); caps["publisher_confirms"] != true {
		t.Errorf("capabilities not seen by the client: %v", conn.Properties)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v (server: %v)", err, drain(serverDone))
	}
	q, err := ch.QueueDeclare("interop", true, false, false, false, args)
	if err != nil || q.Name != "interop" || q.Messages != 7 || q.Consumers != 3 {
		t.Fatalf("queue.declare: %+v %v", q, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ch.PublishWithContext(ctx, "amq.direct", "interop", true, false, pub); err != nil {
		t.Fatalf("publish: %v", err)
	}
	deliveries, err := ch.Consume("interop", "ctag-1", false, false, false, false, nil)
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	for i, how := range []string{"properties as received", "properties re-encoded"} {
		var d amqp.Delivery
		select {
		case d = <-deliveries:
		case <-time.After(10 * time.Second):
			t.Fatalf("delivery %d not received (server: %v)", i, drain(serverDone))
		}
		if d.ConsumerTag != "ctag-1" || d.DeliveryTag != uint64(i+1) || d.Exchange != "amq.direct" || d.RoutingKey != "interop" || d.Redelivered != (i == 1) {
			t.Errorf("%s: deliver fields %q %d %q %q %v", how, d.ConsumerTag, d.DeliveryTag, d.Exchange, d.RoutingKey, d.Redelivered)
		}
		if !bytes.Equal(d.Body, body) {
			t.Errorf("%s: body of %d octets differs", how, len(d.Body))
		}
		if d.ContentType != pub.ContentType || d.ContentEncoding != pub.ContentEncoding || d.DeliveryMode != pub.DeliveryMode ||
			d.Priority != pub.Priority || d.CorrelationId != pub.CorrelationId || d.ReplyTo != pub.ReplyTo ||
			d.Expiration != pub.Expiration || d.MessageId != pub.MessageId || !d.Timestamp.Equal(pub.Timestamp) ||
			d.Type != pub.Type || d.UserId != pub.UserId || d.AppId != pub.AppId {
			t.Errorf("%s: properties differ: %+v", how, d)
		}
		if got, want := toWire(d.Headers), toWire(pub.Headers); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: headers\n got %#v\nwant %#v", how, got, want)
		}
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Close(); err != nil {
		t.Fatalf("channel close: %v", err)
	}
	if err := conn.Close(); err != nil {
		t.Fatalf("connection close: %v", err)
	}
	if err := drain(serverDone); err != nil {
		t.Fatalf("server: %v", err)
	}
}

func drain(ch chan error) error {
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		return errors.New("server still running")
	}
}

// toWire converts amqp091-go's table values to the Go values this package
// decodes: named Table types become wire.Table, Decimal becomes
// wire.Decimal, times are UTC.
func toWire(v any) any {
	switch v := v.(type) {
	case amqp.Table:
		out := wire.Table{}
		for k, e := range v {
			out[k] = toWire(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toWire(e)
		}
		return out
	case amqp.Decimal:
		return wire.Decimal{Scale: v.Scale, Value: v.Value}
	case time.Time:
		return v.UTC()
	}
	return v
}

// peer is the server side of the conversation, written as a front end
// would use the package: a read buffer fed to ParseFrame, a Decoder, and an
// output buffer of appended frames.
type peer struct {
	c        net.Conn
	buf      []byte
	frameMax uint32
	d        wire.Decoder
	out      []byte
}

func (p *peer) fill() error {
	var tmp [65536]byte
	n, err := p.c.Read(tmp[:])
	p.buf = append(p.buf, tmp[:n]...)
	return err
}

// frame returns the next frame other than a heartbeat, its payload copied.
func (p *peer) frame() (wire.Frame, error) {
	for {
		f, n, err := wire.ParseFrame(p.buf, p.frameMax)
		if err == wire.ErrIncomplete {
			if err := p.fill(); err != nil {
				return wire.Frame{}, err
			}
			continue
		}
		if err != nil {
			return wire.Frame{}, err
		}
		f.Payload = bytes.Clone(f.Payload)
		p.buf = p.buf[n:]
		if f.Type != wire.FrameHeartbeat {
			return f, nil
		}
	}
}

func (p *peer) method() (uint16, wire.Method, error) {
	f, err := p.frame()
	if err != nil {
		return 0, nil, err
	}
	if f.Type != wire.FrameMethod {
		return 0, nil, fmt.Errorf("frame type %d, want a method", f.Type)
	}
	k, args := f.Method()
	m, err := wire.DecodeMethod(k.ClassID(), k.MethodID(), args)
	if err != nil {
		return 0, nil, err
	}
	if err := m.Validate(); err != nil {
		return 0, nil, err
	}
	return f.Channel, m, nil
}

func (p *peer) send(ch uint16, m wire.Method) error {
	if err := m.Validate(); err != nil {
		return err
	}
	p.out = wire.AppendMethodFrame(p.out[:0], ch, m)
	_, err := p.c.Write(p.out)
	return err
}

func (p *peer) serve(wantArgs, wantHeaders wire.Table, wantBody []byte) error {
	for len(p.buf) < 8 {
		if err := p.fill(); err != nil {
			return err
		}
	}
	n, err := wire.ParseProtocolHeader(p.buf)
	if err != nil {
		return err
	}
	p.buf = p.buf[n:]
	err = p.send(0, &wire.ConnectionStart{
		VersionMajor: 0, VersionMinor: 9,
		ServerProperties: wire.Table{"product": "Ferry", "version": "test", "platform": "Go",
			"capabilities": wire.Table{"publisher_confirms": true, "exchange_exchange_bindings": true, "basic.nack": true,
				"consumer_cancel_notify": true, "connection.blocked": true, "authentication_failure_close": true,
				"per_consumer_qos": true, "direct_reply_to": true}},
		Mechanisms: "PLAIN AMQPLAIN", Locales: "en_US",
	})
	if err != nil {
		return err
	}
	_, m, err := p.method()
	if err != nil {
		return err
	}
	so, ok := m.(*wire.ConnectionStartOk)
	if !ok || so.Mechanism != "PLAIN" || so.Response != "\x00guest\x00guest" || so.Locale != "en_US" {
		return fmt.Errorf("start-ok %#v", m)
	}
	caps, _ := so.ClientProperties["capabilities"].(wire.Table)
	if so.ClientProperties["connection_name"] != "interop" || caps["connection.blocked"] != true || caps["basic.nack"] != true {
		return fmt.Errorf("client properties %#v", so.ClientProperties)
	}
	if err := p.send(0, &wire.ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 0}); err != nil {
		return err
	}
	if _, m, err = p.method(); err != nil {
		return err
	}
	if to, ok := m.(*wire.ConnectionTuneOk); !ok || to.FrameMax != 131072 || to.ChannelMax != 2047 {
		return fmt.Errorf("tune-ok %#v", m)
	}
	p.frameMax = 131072
	if _, m, err = p.method(); err != nil {
		return err
	}
	if o, ok := m.(*wire.ConnectionOpen); !ok || o.VirtualHost != "/" {
		return fmt.Errorf("open %#v", m)
	}
	if err := p.send(0, &wire.ConnectionOpenOk{}); err != nil {
		return err
	}

	var props []byte // the publisher's properties in wire form
	for {
		f, err := p.frame()
		if err != nil {
			return err
		}
		m, err := p.d.DecodeFrame(f)
		if err != nil {
			return err
		}
		ch := f.Channel
		switch m := m.(type) {
		case *wire.ChannelOpen:
			err = p.send(ch, &wire.ChannelOpenOk{})
		case *wire.QueueDeclare:
			if m.Queue != "interop" || !m.Durable || m.NoWait || !reflect.DeepEqual(m.Arguments, wantArgs) {
				return fmt.Errorf("queue.declare %#v", m)
			}
			err = p.send(ch, &wire.QueueDeclareOk{Queue: m.Queue, MessageCount: 7, ConsumerCount: 3})
		case *wire.BasicPublish:
			if m.Exchange != "amq.direct" || m.RoutingKey != "interop" || !m.Mandatory || m.Immediate {
				return fmt.Errorf("basic.publish %#v", m)
			}
			hf, err := p.frame()
			if err != nil {
				return err
			}
			h, err := wire.ParseContentHeader(hf.Payload)
			if err != nil || hf.Type != wire.FrameHeader || h.ClassID != wire.ClassBasic || h.BodySize != uint64(len(wantBody)) {
				return fmt.Errorf("content header %+v %v", h, err)
			}
			var bp wire.BasicProperties
			if err := bp.Decode(h.Properties); err != nil {
				return err
			}
			if !reflect.DeepEqual(bp.Headers, wantHeaders) || bp.ContentType != "application/json" || bp.DeliveryMode != 2 ||
				bp.Priority != 9 || bp.Expiration != "60000" || bp.Timestamp.Unix() != 1700000001 || bp.AppID != "interop" {
				return fmt.Errorf("properties %+v", bp)
			}
			// The property list re-encoded from the decoded struct decodes
			// to the same thing.
			var again wire.BasicProperties
			if err := again.Decode(bp.AppendTo(nil)); err != nil || !reflect.DeepEqual(again, bp) {
				return fmt.Errorf("re-encoded properties %+v %v", again, err)
			}
			props = bytes.Clone(h.Properties)
			var got []byte
			for uint64(len(got)) < h.BodySize {
				bf, err := p.frame()
				if err != nil || bf.Type != wire.FrameBody {
					return fmt.Errorf("body frame %d %v", bf.Type, err)
				}
				got = append(got, bf.Payload...)
			}
			if !bytes.Equal(got, wantBody) {
				return errors.New("body differs")
			}
		case *wire.BasicConsume:
			if m.Queue != "interop" || m.ConsumerTag != "ctag-1" || m.NoAck {
				return fmt.Errorf("basic.consume %#v", m)
			}
			if err := p.send(ch, &wire.BasicConsumeOk{ConsumerTag: m.ConsumerTag}); err != nil {
				return err
			}
			// Deliver the message twice: once forwarding the publisher's
			// property octets, once re-encoding the decoded properties.
			dl := &wire.BasicDeliver{ConsumerTag: m.ConsumerTag, DeliveryTag: 1, Exchange: "amq.direct", RoutingKey: "interop"}
			p.out = wire.AppendContent(p.out[:0], ch, dl, props, wantBody, p.frameMax)
			var bp wire.BasicProperties
			if err := bp.Decode(props); err != nil {
				return err
			}
			dl2 := &wire.BasicDeliver{ConsumerTag: m.ConsumerTag, DeliveryTag: 2, Redelivered: true, Exchange: "amq.direct", RoutingKey: "interop"}
			p.out = wire.AppendMethodFrame(p.out, ch, dl2)
			p.out = wire.AppendBasicHeaderFrame(p.out, ch, uint64(len(wantBody)), &bp)
			p.out = wire.AppendBodyFrames(p.out, ch, wantBody, p.frameMax)
			_, err = p.c.Write(p.out)
		case *wire.BasicAck:
			if m.Multiple || m.DeliveryTag < 1 || m.DeliveryTag > 2 {
				return fmt.Errorf("basic.ack %#v", m)
			}
		case *wire.ChannelClose:
			err = p.send(ch, &wire.ChannelCloseOk{})
		case *wire.ConnectionClose:
			if m.ReplyCode != wire.ReplySuccess {
				return fmt.Errorf("connection.close %#v", m)
			}
			return p.send(0, &wire.ConnectionCloseOk{})
		default:
			return fmt.Errorf("unexpected %s", m.Name())
		}
		if err != nil {
			return err
		}
	}
}
