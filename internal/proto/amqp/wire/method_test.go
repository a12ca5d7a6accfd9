package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fill sets every field of the method struct m to a pseudo-random value;
// mode 0 leaves zero values, mode 1 uses maximal lengths and values.
func fill(t *testing.T, m any, rng *rand.Rand, mode int) {
	t.Helper()
	v := reflect.ValueOf(m).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if mode == 0 {
			continue
		}
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(mode == 1 || rng.IntN(2) == 1)
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if mode == 1 {
				f.SetUint(^uint64(0) >> (64 - f.Type().Bits()))
			} else {
				f.SetUint(rng.Uint64() >> (64 - f.Type().Bits()))
			}
		case reflect.String:
			n := rng.IntN(40)
			if mode == 1 {
				n = 255
			}
			b := make([]byte, n)
			for j := range b {
				b[j] = 'a' + byte(rng.IntN(26))
			}
			f.SetString(string(b))
		case reflect.Map:
			if mode == 1 {
				f.Set(reflect.ValueOf(allTypesTable()))
			} else if rng.IntN(2) == 1 {
				f.Set(reflect.ValueOf(Table{"x-max-length": int64(rng.IntN(1000)), "x-queue-type": "classic"}))
			} else {
				f.Set(reflect.ValueOf(Table{}))
			}
		default:
			t.Fatalf("%T field %s: unexpected kind %s", m, v.Type().Field(i).Name, f.Kind())
		}
	}
}

// normalize makes a zero-filled struct comparable with its decoded copy:
// a nil table decodes as an empty one.
func normalize(m any) {
	v := reflect.ValueOf(m).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Map && f.IsNil() {
			f.Set(reflect.MakeMap(f.Type()))
		}
	}
}

// TestMethodRoundTrip encodes and decodes every method of the spec with
// zero, maximal and random field values, through DecodeMethod and a Decoder.
func TestMethodRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var d Decoder
	infos := Methods()
	if len(infos) != 66 {
		t.Errorf("spec has %d methods, want 66 (0-9-1 with RabbitMQ's extensions)", len(infos))
	}
	for _, info := range infos {
		t.Run(info.Name, func(t *testing.T) {
			for iter := 0; iter < 30; iter++ {
				m := NewMethod(info.Key)
				if m == nil {
					t.Fatalf("NewMethod(%v) = nil", info.Key)
				}
				fill(t, m, rng, min(iter, 2))
				normalize(m)
				if err := m.Validate(); err != nil {
					t.Fatalf("Validate: %v", err)
				}
				payload := m.AppendTo(nil)
				k := MethodKey(uint32(payload[0])<<24 | uint32(payload[1])<<16 | uint32(payload[2])<<8 | uint32(payload[3]))
				if k != info.Key || m.Key() != info.Key || m.Name() != info.Name || k.Name() != info.Name {
					t.Fatalf("key %v / %v / name %q, want %v %q", k, m.Key(), m.Name(), info.Key, info.Name)
				}
				if m.HasContent() != info.Content {
					t.Errorf("HasContent = %v, info says %v", m.HasContent(), info.Content)
				}
				got, err := DecodeMethod(k.ClassID(), k.MethodID(), payload[4:])
				if err != nil {
					t.Fatalf("DecodeMethod(%x): %v", payload, err)
				}
				if !reflect.DeepEqual(got, m) {
					t.Fatalf("round trip:\n got %#v\nwant %#v", got, m)
				}
				got2, err := d.Decode(k.ClassID(), k.MethodID(), payload[4:])
				if err != nil || !reflect.DeepEqual(got2, m) {
					t.Fatalf("Decoder round trip: %v\n got %#v\nwant %#v", err, got2, m)
				}
				if again := got.AppendTo(nil); !bytes.Equal(again, payload) {
					t.Fatalf("re-encoding differs:\n%x\n%x", again, payload)
				}
			}
		})
	}
}

// TestMethodMalformed cuts every method's arguments short at every length
// and appends a stray octet: each is a 501 frame error naming the method,
// never a panic.
func TestMethodMalformed(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, info := range Methods() {
		m := NewMethod(info.Key)
		fill(t, m, rng, 2)
		args := m.AppendTo(nil)[4:]
		check := func(what string, b []byte, wantCode uint16) {
			_, err := DecodeMethod(info.Key.ClassID(), info.Key.MethodID(), b)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s %s: err = %v, want *Error", info.Name, what, err)
			}
			if e.Code != wantCode || e.ClassID != info.Key.ClassID() || e.MethodID != info.Key.MethodID() {
				t.Fatalf("%s %s: %+v, want code %d with the method's ids", info.Name, what, e, wantCode)
			}
		}
		for n := 0; n < len(args); n++ {
			_, err := DecodeMethod(info.Key.ClassID(), info.Key.MethodID(), args[:n])
			if err == nil {
				// A cut inside a table can leave a shorter valid table
				// only if the size prefix were rewritten; it is not.
				t.Fatalf("%s cut to %d of %d octets decoded without error", info.Name, n, len(args))
			}
			var e *Error
			if !errors.As(err, &e) || (e.Code != FrameError && e.Code != SyntaxError) {
				t.Fatalf("%s cut to %d: %v", info.Name, n, err)
			}
		}
		check("with a trailing octet", append(bytes.Clone(args), 0), FrameError)
	}
}

func TestMethodErrorTexts(t *testing.T) {
	_, err := DecodeMethod(60, 80, []byte{0, 0, 0})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	if got, want := e.ReplyText(), "FRAME_ERROR - cannot decode <<0,0,0>>"; got != want {
		t.Errorf("ReplyText = %q, want %q", got, want)
	}
	if e.ClassID != 60 || e.MethodID != 80 || e.Fatal {
		t.Errorf("error = %+v", e)
	}
	cl := e.ConnectionClose()
	if cl.ReplyCode != 501 || cl.ClassID != 60 || cl.MethodID != 80 || cl.ReplyText != e.ReplyText() {
		t.Errorf("ConnectionClose = %+v", cl)
	}

	_, err = DecodeMethod(60, 99, nil)
	if !errors.As(err, &e) || e.Code != NotImplemented || e.ClassID != 60 || e.MethodID != 99 {
		t.Fatalf("unknown method: %v", err)
	}
	if got, want := e.ReplyText(), "NOT_IMPLEMENTED - unknown method: class-id 60, method-id 99"; got != want {
		t.Errorf("ReplyText = %q, want %q", got, want)
	}
	var d Decoder
	if _, err := d.Decode(99, 10, nil); !errors.As(err, &e) || e.Code != NotImplemented {
		t.Fatalf("Decoder, unknown class: %v", err)
	}
	if _, err := d.DecodeFrame(Frame{Type: FrameBody, Channel: 1, Payload: []byte("x")}); !errors.As(err, &e) || e.Code != UnexpectedFrame ||
		e.ReplyText() != "UNEXPECTED_FRAME - expected method frame, got non method frame instead" {
		t.Fatalf("DecodeFrame of a body frame: %v", err)
	}

	// RabbitMQ checks UTF-8 in shortstrs of methods without content.
	bad := (&QueueDeclare{Queue: "\xff\xfe"}).AppendTo(nil)[4:]
	if _, err := DecodeMethod(50, 10, bad); !errors.As(err, &e) || e.Code != FrameError || e.Text != "Malformed UTF-8 in shortstr" {
		t.Fatalf("invalid UTF-8 in queue.declare: %v", err)
	}
	pub := (&BasicPublish{RoutingKey: "\xff\xfe"}).AppendTo(nil)[4:]
	if m, err := DecodeMethod(60, 40, pub); err != nil || m.(*BasicPublish).RoutingKey != "\xff\xfe" {
		t.Fatalf("basic.publish skips the UTF-8 check: %v", err)
	}

	// An invalid table is a syntax error.
	decl := (&QueueDeclare{Queue: "q"}).AppendTo(nil)[4:]
	decl = append(decl[:len(decl)-4], 0, 0, 0, 4, 1, 'k', 'Z', 0)
	if _, err := DecodeMethod(50, 10, decl); !errors.As(err, &e) || e.Code != SyntaxError || !strings.Contains(e.Text, "unknown field value type 'Z'") {
		t.Fatalf("bad table: %v", err)
	}

	long := strings.Repeat("x", 300)
	if got := TruncateReplyText(long); len(got) != 255 || !strings.HasSuffix(got, "...") {
		t.Errorf("TruncateReplyText: %d bytes %q", len(got), got[240:])
	}
}

// TestMethodGolden checks encodings computed by hand from the spec's layout.
func TestMethodGolden(t *testing.T) {
	tests := []struct {
		m   Method
		hex string
	}{
		{&ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60}, "000a001e" + "07ff" + "00020000" + "003c"},
		{&BasicAck{DeliveryTag: 1}, "003c0050" + "0000000000000001" + "00"},
		{&BasicNack{DeliveryTag: 7, Multiple: true, Requeue: true}, "003c0078" + "0000000000000007" + "03"},
		{&BasicPublish{RoutingKey: "hello", Mandatory: true}, "003c0028" + "0000" + "00" + "0568656c6c6f" + "01"},
		{&BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 2, Redelivered: true, Exchange: "ex", RoutingKey: "rk"},
			"003c003c" + "0463746167" + "0000000000000002" + "01" + "026578" + "02726b"},
		{&QueueDeclare{Queue: "q", Durable: true, NoWait: true, Arguments: Table{}}, "0032000a" + "0000" + "0171" + "12" + "00000000"},
		{&ExchangeUnbindOk{}, "00280033"}, // RabbitMQ numbers unbind-ok 51, not 41
		{&ConnectionClose{ReplyCode: 320, ReplyText: "bye", ClassID: 0, MethodID: 0}, "000a0032" + "0140" + "03627965" + "0000" + "0000"},
		{&ChannelOpen{}, "0014000a" + "00"},
		{&ConfirmSelect{NoWait: false}, "0055000a" + "00"},
	}
	for _, tt := range tests {
		want, _ := hex.DecodeString(tt.hex)
		if got := tt.m.AppendTo(nil); !bytes.Equal(got, want) {
			t.Errorf("%s: got %x, want %x", tt.m.Name(), got, want)
		}
		got, err := DecodeMethod(uint16(want[0])<<8|uint16(want[1]), uint16(want[2])<<8|uint16(want[3]), want[4:])
		if err != nil || !reflect.DeepEqual(got, tt.m) {
			t.Errorf("%s: decoded %#v, %v", tt.m.Name(), got, err)
		}
	}
	frame := AppendMethodFrame(nil, 1, &BasicAck{DeliveryTag: 1})
	want, _ := hex.DecodeString("01" + "0001" + "0000000d" + "003c0050" + "0000000000000001" + "00" + "ce")
	if !bytes.Equal(frame, want) {
		t.Errorf("basic.ack frame %x, want %x", frame, want)
	}
}

func TestMethodInfo(t *testing.T) {
	get := KeyBasicGet.Info()
	if get == nil || !get.Synchronous || !get.IsResponse(KeyBasicGetOk) || !get.IsResponse(KeyBasicGetEmpty) || get.IsResponse(KeyBasicAck) {
		t.Errorf("basic.get info %+v", get)
	}
	if i := KeyExchangeUnbind.Info(); i.Responses[0] != KeyExchangeUnbindOk || KeyExchangeUnbindOk.MethodID() != 51 {
		t.Errorf("exchange.unbind answered by %v", i.Responses)
	}
	if i := KeyBasicPublish.Info(); !i.Content || i.Synchronous || i.NoWait {
		t.Errorf("basic.publish info %+v", i)
	}
	for _, k := range []MethodKey{KeyBasicPublish, KeyBasicReturn, KeyBasicDeliver, KeyBasicGetOk} {
		if !k.Info().Content {
			t.Errorf("%v carries content", k)
		}
	}
	if Key(60, 99).Info() != nil || Key(60, 99).String() != "{60,99}" || KeyBasicPublish.String() != "basic.publish" {
		t.Errorf("unknown key: %v %q", Key(60, 99).Info(), Key(60, 99).String())
	}
	for _, i := range Methods() {
		if i.Synchronous && len(i.Responses) == 0 {
			t.Errorf("%s is synchronous without a response", i.Name)
		}
		if !i.Synchronous && len(i.Responses) != 0 {
			t.Errorf("%s is asynchronous with responses", i.Name)
		}
	}
	qd := &QueueDeclare{}
	if !qd.Synchronous() {
		t.Error("queue.declare without nowait is synchronous")
	}
	qd.NoWait = true
	if qd.Synchronous() {
		t.Error("queue.declare nowait is asynchronous")
	}
	if (&BasicAck{}).Synchronous() || !(&BasicQos{}).Synchronous() {
		t.Error("basic.ack asynchronous, basic.qos synchronous")
	}
	if ReplyCodeName(NotFound) != "NOT_FOUND" || ReplyCodeName(999) != "" || !IsHardError(FrameError) || IsHardError(NotFound) {
		t.Error("reply code tables")
	}
	if ClassName(ClassConfirm) != "confirm" || ClassName(1) != "" {
		t.Error("class names")
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("q", 256)
	m := &QueueDeclare{Queue: long}
	var fe *FieldError
	if err := m.Validate(); !errors.As(err, &fe) || fe.Field != "queue.declare queue" {
		t.Fatalf("Validate = %v", err)
	}
	// AppendTo cuts the shortstr so the frame stays well formed.
	got, err := DecodeMethod(50, 10, m.AppendTo(nil)[4:])
	if err != nil || got.(*QueueDeclare).Queue != long[:255] {
		t.Fatalf("cut shortstr: %v", err)
	}
	bad := &QueueDeclare{Arguments: Table{"x-ch": make(chan int)}}
	if err := bad.Validate(); !errors.As(err, &fe) || !strings.Contains(err.Error(), "chan int") {
		t.Fatalf("Validate of a table with a channel: %v", err)
	}
	got, err = DecodeMethod(50, 10, bad.AppendTo(nil)[4:])
	if err != nil || got.(*QueueDeclare).Arguments["x-ch"] != nil {
		t.Fatalf("unsupported value is written as void: %v %v", got, err)
	}
}

// TestDecoderReuse checks the Decoder's contract: the struct is reused, the
// strings are interned and stay valid after the buffer changes.
func TestDecoderReuse(t *testing.T) {
	var d Decoder
	buf := (&BasicPublish{Exchange: "amq.topic", RoutingKey: "a.b"}).AppendTo(nil)
	m1, err := d.Decode(60, 40, buf[4:])
	if err != nil {
		t.Fatal(err)
	}
	p1 := m1.(*BasicPublish)
	ex, rk := p1.Exchange, p1.RoutingKey
	for i := range buf {
		buf[i] = 'X' // the caller reuses its read buffer
	}
	if ex != "amq.topic" || rk != "a.b" {
		t.Fatalf("strings alias the buffer: %q %q", ex, rk)
	}
	buf2 := (&BasicPublish{Exchange: "amq.topic", RoutingKey: "c.d"}).AppendTo(nil)
	m2, _ := d.Decode(60, 40, buf2[4:])
	if m2 != m1 {
		t.Error("Decoder did not reuse its basic.publish struct")
	}
	if p := m2.(*BasicPublish); p.RoutingKey != "c.d" || p.Exchange != "amq.topic" {
		t.Fatalf("second decode: %+v", p)
	}
	if unsafeStringData(ex) != unsafeStringData(m2.(*BasicPublish).Exchange) {
		t.Error("exchange name was not interned")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := d.Decode(60, 40, buf2[4:]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Decoder.Decode(basic.publish) allocates %.1f times per call", allocs)
	}
}

func TestTimestampProperty(t *testing.T) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	p := BasicProperties{Timestamp: ts}
	var q BasicProperties
	if err := q.Decode(p.AppendTo(nil)); err != nil || !q.Timestamp.Equal(ts) || q.Flags != BasicFlagTimestamp {
		t.Fatalf("timestamp round trip: %v %v %x", q.Timestamp, err, q.Flags)
	}
}
