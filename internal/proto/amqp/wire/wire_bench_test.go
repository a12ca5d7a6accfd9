package wire

import (
	"bytes"
	"testing"
)

// publishStream is what a client sends per message: basic.publish, a
// content header (content-type and delivery-mode, as pika and amqp091-go
// send for persistent messages) and the body.
func publishStream(bodySize int) []byte {
	var b []byte
	b = AppendMethodFrame(b, 1, &BasicPublish{Exchange: "amq.direct", RoutingKey: "work.queue"})
	b = AppendBasicHeaderFrame(b, 1, uint64(bodySize), &BasicProperties{ContentType: "application/json", DeliveryMode: 2})
	return AppendBodyFrames(b, 1, bytes.Repeat([]byte("x"), bodySize), 131072)
}

// BenchmarkDecodePublish is the front end's per-message read path: three
// frames parsed, the method decoded through a Decoder, the header split and
// the properties the broker needs read through a view.
func BenchmarkDecodePublish(b *testing.B) {
	for _, size := range []int{16, 1024} {
		b.Run(sizeName(size), func(b *testing.B) {
			in := publishStream(size)
			var d Decoder
			var props BasicPropertiesView
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				buf := in
				var body int
				for len(buf) > 0 {
					f, n, err := ParseFrame(buf, 131072)
					if err != nil {
						b.Fatal(err)
					}
					switch f.Type {
					case FrameMethod:
						m, err := d.DecodeFrame(f)
						if err != nil {
							b.Fatal(err)
						}
						if p := m.(*BasicPublish); len(p.RoutingKey) == 0 {
							b.Fatal("no routing key")
						}
					case FrameHeader:
						h, err := ParseContentHeader(f.Payload)
						if err != nil {
							b.Fatal(err)
						}
						if err := props.Decode(h.Properties); err != nil || props.DeliveryMode != 2 {
							b.Fatal(err)
						}
					case FrameBody:
						body += len(f.Payload)
					}
					buf = buf[n:]
				}
				if body != size {
					b.Fatal("body size")
				}
			}
		})
	}
}

// BenchmarkDecodePublishAllocating is the same through DecodeMethod and
// BasicProperties, for comparison: a struct and strings per message.
func BenchmarkDecodePublishAllocating(b *testing.B) {
	in := publishStream(16)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		buf := in
		for len(buf) > 0 {
			f, n, err := ParseFrame(buf, 131072)
			if err != nil {
				b.Fatal(err)
			}
			switch f.Type {
			case FrameMethod:
				k, args := f.Method()
				if _, err := DecodeMethod(k.ClassID(), k.MethodID(), args); err != nil {
					b.Fatal(err)
				}
			case FrameHeader:
				h, _ := ParseContentHeader(f.Payload)
				var p BasicProperties
				if err := p.Decode(h.Properties); err != nil {
					b.Fatal(err)
				}
			}
			buf = buf[n:]
		}
	}
}

// BenchmarkEncodeDeliver is the per-message write path: basic.deliver, the
// publisher's properties as received, the body, appended to a reused buffer.
func BenchmarkEncodeDeliver(b *testing.B) {
	for _, size := range []int{16, 1024, 200 << 10} {
		b.Run(sizeName(size), func(b *testing.B) {
			props := (&BasicProperties{ContentType: "application/json", DeliveryMode: 2}).AppendTo(nil)
			body := bytes.Repeat([]byte("x"), size)
			deliver := &BasicDeliver{ConsumerTag: "amq.ctag-AbCdEfGhIjKlMnOpQrStUv", Exchange: "amq.direct", RoutingKey: "work.queue"}
			var dst []byte
			b.ReportAllocs()
			for b.Loop() {
				deliver.DeliveryTag++
				dst = AppendContent(dst[:0], 1, deliver, props, body, 131072)
			}
			b.SetBytes(int64(len(dst)))
		})
	}
}

func BenchmarkParseFrame(b *testing.B) {
	in := AppendMethodFrame(nil, 1, &BasicAck{DeliveryTag: 42})
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseFrame(in, 131072); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeAck(b *testing.B) {
	args := (&BasicAck{DeliveryTag: 42, Multiple: true}).AppendTo(nil)[4:]
	var d Decoder
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(60, 80, args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTable(b *testing.B) {
	enc, _ := AppendTable(nil, allTypesTable())
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeTable(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("validate", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		b.ReportAllocs()
		for b.Loop() {
			if err := ValidateTable(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	t := allTypesTable()
	b.Run("encode", func(b *testing.B) {
		var dst []byte
		b.SetBytes(int64(len(enc)))
		b.ReportAllocs()
		for b.Loop() {
			dst, _ = AppendTable(dst[:0], t)
		}
	})
}

func sizeName(n int) string {
	switch {
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + "KB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
