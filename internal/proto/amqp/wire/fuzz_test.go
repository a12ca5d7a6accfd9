package wire

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReadFrame parses arbitrary streams: no panic, errors are *Error with a
// known code, used sizes stay in bounds, and every frame re-encodes to the
// octets it came from.
func FuzzReadFrame(f *testing.F) {
	f.Add(AppendHeartbeat(nil), uint32(0))
	f.Add(AppendMethodFrame(nil, 1, &BasicPublish{Exchange: "ex", RoutingKey: "rk"}), uint32(4096))
	f.Add(AppendContent(nil, 1, &BasicDeliver{ConsumerTag: "c"}, []byte{0x90, 0, 1, 'a', 2}, []byte("body"), 4096), uint32(4096))
	f.Add([]byte("\x01\x00\x00\x00\x00\x00\x04\x00\x0a\x00\x0b\x41"), uint32(0))
	f.Add([]byte("\x08\x00\x05\x00\x00\x00\x00\xce"), uint32(131072))
	f.Fuzz(func(t *testing.T, in []byte, frameMax uint32) {
		buf := in
		for len(buf) > 0 {
			fr, n, err := ParseFrame(buf, frameMax)
			if err == ErrIncomplete {
				if n != 0 {
					t.Fatalf("incomplete used %d", n)
				}
				return
			}
			if n < 0 || n > len(buf) {
				t.Fatalf("n = %d of %d", n, len(buf))
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || (e.Code != FrameError && e.Code != UnexpectedFrame) {
					t.Fatalf("error %v", err)
				}
				if e.Fatal != (n == 0) {
					t.Fatalf("fatal %v with n %d", e.Fatal, n)
				}
				if e.Fatal {
					return
				}
				buf = buf[n:]
				continue
			}
			out, start := BeginFrame(nil, fr.Type, fr.Channel)
			out = append(out, fr.Payload...)
			out = EndFrame(out, start)
			if !bytes.Equal(out, buf[:n]) {
				t.Fatalf("re-encoded %x, read %x", out, buf[:n])
			}
			if fr.Type == FrameMethod {
				var d Decoder
				d.DecodeFrame(fr)
			}
			if fr.Type == FrameHeader {
				h, err := ParseContentHeader(fr.Payload)
				if err != nil {
					t.Fatal(err)
				}
				var v BasicPropertiesView
				v.Decode(h.Properties)
			}
			buf = buf[n:]
		}
	})
}

// FuzzDecodeMethod decodes arbitrary arguments for arbitrary ids: no panic,
// errors are *Error, and what decodes re-encodes to something that decodes
// to the same encoding again (tables are rewritten in sorted order, so the
// first re-encoding may differ from the input).
func FuzzDecodeMethod(f *testing.F) {
	for _, m := range []Method{
		&BasicPublish{Exchange: "ex", RoutingKey: "rk", Mandatory: true},
		&QueueDeclare{Queue: "q", Durable: true, Arguments: Table{"x-max-length": int64(10), "x-queue-type": "quorum"}},
		&ConnectionStartOk{ClientProperties: Table{"capabilities": Table{"basic.nack": true}}, Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"},
		&ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60},
		&BasicNack{DeliveryTag: 3, Multiple: true},
		&ExchangeUnbindOk{},
	} {
		p := m.AppendTo(nil)
		f.Add(m.Key().ClassID(), m.Key().MethodID(), p[4:])
	}
	f.Fuzz(func(t *testing.T, classID, methodID uint16, args []byte) {
		m, err := DecodeMethod(classID, methodID, args)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.ClassID != classID || e.MethodID != methodID {
				t.Fatalf("error %v", err)
			}
			return
		}
		if m.Key() != Key(classID, methodID) {
			t.Fatalf("key %v", m.Key())
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded method does not validate: %v", err)
		}
		enc := m.AppendTo(nil)
		m2, err := DecodeMethod(classID, methodID, enc[4:])
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if enc2 := m2.AppendTo(nil); !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable encoding\n%x\n%x", enc, enc2)
		}
		var d Decoder
		if _, err := d.Decode(classID, methodID, args); err != nil {
			t.Fatalf("Decoder disagrees: %v", err)
		}
	})
}

// FuzzTable decodes arbitrary tables: no panic, ValidateTable agrees with
// DecodeTable, and a decoded table encodes stably.
func FuzzTable(f *testing.F) {
	all, _ := AppendTable(nil, allTypesTable())
	f.Add(all)
	f.Add([]byte{0, 0, 0, 0})
	f.Add(wireTable([]byte("\x01kL\xff\xff\xff\xff\xff\xff\xff\xff")))
	f.Add(wireTable([]byte("\x01kA\x00\x00\x00\x06F\x00\x00\x00\x00V")))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := DecodeTable(b)
		verr := ValidateTable(b)
		if (err == nil) != (verr == nil) {
			t.Fatalf("DecodeTable %v, ValidateTable %v", err, verr)
		}
		if err != nil {
			var te *TableError
			if !errors.As(err, &te) {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		enc, err := AppendTable(nil, tab)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		tab2, err := DecodeTable(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if enc2, _ := AppendTable(nil, tab2); !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable encoding\n%x\n%x", enc, enc2)
		}
		if len(enc) > len(b)+len(b)/2+16 && len(tab) > 0 {
			// Only 'L'→'l' and duplicate names change sizes, never by much.
			t.Fatalf("encoding grew from %d to %d", len(b), len(enc))
		}
	})
}

// FuzzBasicProperties decodes arbitrary property lists with both decoders:
// they agree, and a decoded list encodes stably.
func FuzzBasicProperties(f *testing.F) {
	f.Add((&BasicProperties{ContentType: "text/plain", DeliveryMode: 2, Headers: Table{"a": int32(1)}}).AppendTo(nil))
	f.Add([]byte{0, 0})
	f.Add([]byte{0xff, 0xfc})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p BasicProperties
		var v BasicPropertiesView
		err, verr := p.Decode(b), v.Decode(b)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Decode %v, view %v", err, verr)
		}
		if err != nil {
			return
		}
		if p.Flags != v.Flags || p.ContentType != string(v.ContentType) || p.DeliveryMode != v.DeliveryMode || uint64(p.Timestamp.Unix()) != v.Timestamp && v.Has(BasicFlagTimestamp) {
			t.Fatalf("decoders disagree: %+v %+v", p, v)
		}
		enc := p.AppendTo(nil)
		var p2 BasicProperties
		if err := p2.Decode(enc); err != nil {
			t.Fatal(err)
		}
		if enc2 := p2.AppendTo(nil); !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable encoding\n%x\n%x", enc, enc2)
		}
	})
}
