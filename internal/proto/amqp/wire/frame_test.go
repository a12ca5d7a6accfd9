package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFrame(t *testing.T) {
	tests := []struct {
		name     string
		in       string // hex
		frameMax uint32
		want     Frame
		n        int
		code     uint16 // 0: no error
		fatal    bool
		text     string
	}{
		{name: "heartbeat", in: "08 0000 00000000 ce", want: Frame{Type: 8}, n: 8},
		{name: "method", in: "01 0001 00000005 003c0050 00 ce ff", want: Frame{Type: 1, Channel: 1, Payload: []byte{0, 0x3c, 0, 0x50, 0}}, n: 13},
		{name: "body", in: "03 0002 00000002 6869 ce", want: Frame{Type: 3, Channel: 2, Payload: []byte("hi")}, n: 10},
		{name: "empty body", in: "03 0002 00000000 ce", want: Frame{Type: 3, Channel: 2, Payload: []byte{}}, n: 8},
		{name: "header", in: "02 0001 0000000e 003c 0000 0000000000000005 0000 ce",
			want: Frame{Type: 2, Channel: 1, Payload: mustHex(t, "003c00000000000000000005 0000")}, n: 22},
		{name: "payload equal to frame_max is tolerated as RabbitMQ does", in: "03 0001 00001000" + strings.Repeat("00", 4096) + "ce", frameMax: 4096,
			want: Frame{Type: 3, Channel: 1, Payload: make([]byte, 4096)}, n: 4104},
		{name: "oversize", in: "01 0000 00001001", frameMax: 4096, code: FrameError, fatal: true,
			text: "type 1, all octets = <<>>: {frame_too_large,4097,4088}"},
		{name: "bad frame end", in: "01 0000 00000004 000a000b 41", code: FrameError, fatal: true,
			text: "type 1, all octets = <<0,10,0,11>>: {invalid_frame_end_marker,65}"},
		{name: "bad frame end, long payload", in: "03 0001 00000014 " + hex.EncodeToString([]byte("abcdefghijklmnopqrst")) + " 00", code: FrameError, fatal: true,
			text: `type 3, first 16 octets = <<"abcdefghijklmnop">>: {invalid_frame_end_marker,0}`},
		{name: "unknown type", in: "04 0000 00000001 41 ce", n: 9, code: FrameError,
			text: `type 4, all octets = <<"A">>: unknown_frame`},
		{name: "heartbeat with payload", in: "08 0000 00000001 00 ce", n: 9, code: FrameError,
			text: "type 8, all octets = <<0>>: unknown_frame"},
		{name: "heartbeat on a channel", in: "08 0005 00000000 ce", n: 8, code: UnexpectedFrame,
			text: "type 8, all octets = <<>>"},
		{name: "header on channel 0", in: "02 0000 0000000e 003c 0000 0000000000000005 0000 ce", n: 22, code: UnexpectedFrame},
		{name: "body on channel 0", in: "03 0000 00000001 00 ce", n: 9, code: UnexpectedFrame},
		{name: "short method", in: "01 0001 00000003 003c00 ce", n: 11, code: FrameError},
		{name: "short header", in: "02 0001 0000000b 003c0000000000000000 00 ce", n: 19, code: FrameError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustHex(t, tt.in)
			f, n, err := ParseFrame(in, tt.frameMax)
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("err %v", err)
				}
				if f.Type != tt.want.Type || f.Channel != tt.want.Channel || !bytes.Equal(f.Payload, tt.want.Payload) || n != tt.n {
					t.Fatalf("got %+v n=%d, want %+v n=%d", f, n, tt.want, tt.n)
				}
				if FrameSize(in) != n {
					t.Errorf("FrameSize = %d", FrameSize(in))
				}
				// Every strict prefix is incomplete.
				for i := 0; i < n; i++ {
					if _, m, err := ParseFrame(in[:i], tt.frameMax); err != ErrIncomplete || m != 0 {
						t.Fatalf("prefix %d: n=%d err=%v", i, m, err)
					}
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Code != tt.code || e.Fatal != tt.fatal || n != tt.n {
				t.Fatalf("got %+v n=%d, want code %d fatal %v n=%d", e, n, tt.code, tt.fatal, tt.n)
			}
			if tt.text != "" && e.Text != tt.text {
				t.Errorf("text %q, want %q", e.Text, tt.text)
			}
		})
	}
}

// TestParseFrameStream feeds a stream of frames one octet at a time, as a
// slow network would deliver it.
func TestParseFrameStream(t *testing.T) {
	var stream []byte
	stream = AppendMethodFrame(stream, 1, &BasicPublish{Exchange: "ex", RoutingKey: "rk"})
	stream = AppendBasicHeaderFrame(stream, 1, 10000, &BasicProperties{ContentType: "text/plain", DeliveryMode: 2})
	body := bytes.Repeat([]byte("0123456789"), 1000)
	stream = AppendBodyFrames(stream, 1, body, 4096)
	stream = AppendHeartbeat(stream)
	stream = AppendMethodFrame(stream, 0, &ConnectionCloseOk{})

	var buf []byte
	var got []Frame
	for _, c := range stream {
		buf = append(buf, c)
		for {
			f, n, err := ParseFrame(buf, 4096)
			if err == ErrIncomplete {
				if need := FrameSize(buf); need != 0 && need <= len(buf) {
					t.Fatalf("incomplete with %d octets buffered, frame size %d", len(buf), need)
				}
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			f.Payload = bytes.Clone(f.Payload)
			got = append(got, f)
			buf = buf[n:]
		}
	}
	if len(buf) != 0 {
		t.Fatalf("%d octets left over", len(buf))
	}
	// method, header, 3 body frames (4088+4088+1824), heartbeat, close-ok
	if len(got) != 7 {
		t.Fatalf("%d frames", len(got))
	}
	var d Decoder
	m, err := d.DecodeFrame(got[0])
	if err != nil || m.(*BasicPublish).RoutingKey != "rk" {
		t.Fatalf("publish: %v %v", m, err)
	}
	h, err := ParseContentHeader(got[1].Payload)
	if err != nil || h.ClassID != ClassBasic || h.BodySize != 10000 || h.Weight != 0 {
		t.Fatalf("header %+v %v", h, err)
	}
	var pv BasicPropertiesView
	if err := pv.Decode(h.Properties); err != nil || string(pv.ContentType) != "text/plain" || pv.DeliveryMode != 2 || pv.Has(BasicFlagPriority) {
		t.Fatalf("properties %+v %v", pv, err)
	}
	var joined []byte
	for i, f := range got[2:5] {
		if f.Type != FrameBody || f.Channel != 1 || len(f.Payload) > 4096-8 {
			t.Fatalf("body frame %d: type %d ch %d len %d", i, f.Type, f.Channel, len(f.Payload))
		}
		joined = append(joined, f.Payload...)
	}
	if !bytes.Equal(joined, body) {
		t.Fatal("body differs")
	}
	if got[5].Type != FrameHeartbeat || got[6].Type != FrameMethod {
		t.Fatalf("tail frames %+v", got[5:])
	}
}

func TestWriters(t *testing.T) {
	if got := AppendHeartbeat(nil); !bytes.Equal(got, mustHex(t, "08 0000 00000000 ce")) {
		t.Errorf("heartbeat %x", got)
	}
	if got := AppendBodyFrames(nil, 1, nil, 4096); len(got) != 0 {
		t.Errorf("empty body wrote %x", got)
	}
	got := AppendBodyFrames(nil, 3, []byte("abcde"), 10) // 2 octets per frame
	want := mustHex(t, "03 0003 00000002 6162 ce 03 0003 00000002 6364 ce 03 0003 00000001 65 ce")
	if !bytes.Equal(got, want) {
		t.Errorf("split body\n got %x\nwant %x", got, want)
	}
	if got := AppendBodyFrames(nil, 1, []byte("abc"), 0); !bytes.Equal(got, mustHex(t, "03 0001 00000003 616263 ce")) {
		t.Errorf("frame_max 0: %x", got)
	}
	// A content header with properties as received, and with none.
	props := mustHex(t, "9000 0a 746578742f706c61696e 02") // content-type text/plain, delivery-mode 2
	got = AppendContentHeaderFrame(nil, 1, ClassBasic, 5, props)
	want = mustHex(t, "02 0001 0000001a 003c 0000 0000000000000005 9000 0a 746578742f706c61696e 02 ce")
	if !bytes.Equal(got, want) {
		t.Errorf("content header\n got %x\nwant %x", got, want)
	}
	if got2 := AppendBasicHeaderFrame(nil, 1, 5, &BasicProperties{ContentType: "text/plain", DeliveryMode: 2}); !bytes.Equal(got2, want) {
		t.Errorf("basic header from BasicProperties\n got %x\nwant %x", got2, want)
	}
	if got := AppendBasicHeaderFrame(nil, 1, 0, nil); !bytes.Equal(got, mustHex(t, "02 0001 0000000e 003c 0000 0000000000000000 0000 ce")) {
		t.Errorf("header without properties %x", got)
	}
	// AppendContent: deliver, header, body.
	dl := &BasicDeliver{ConsumerTag: "c", DeliveryTag: 1, Exchange: "", RoutingKey: "q"}
	got = AppendContent([]byte("prefix"), 7, dl, props, []byte("hello"), 4096)
	want = append([]byte("prefix"), AppendMethodFrame(nil, 7, dl)...)
	want = AppendContentHeaderFrame(want, 7, ClassBasic, 5, props)
	want = AppendBodyFrames(want, 7, []byte("hello"), 4096)
	if !bytes.Equal(got, want) {
		t.Errorf("AppendContent\n got %x\nwant %x", got, want)
	}
	// BeginFrame/EndFrame for anything else.
	b, start := BeginFrame([]byte{0xaa}, FrameBody, 258)
	b = append(b, 'x')
	b = EndFrame(b, start)
	if !bytes.Equal(b, mustHex(t, "aa 03 0102 00000001 78 ce")) {
		t.Errorf("BeginFrame/EndFrame %x", b)
	}
}

func TestProtocolHeader(t *testing.T) {
	tests := []struct {
		in     string
		n      int
		reason string // "" ok, "incomplete"
	}{
		{"AMQP\x00\x00\x09\x01", 8, ""},
		{"AMQP\x00\x00\x09\x01rest", 8, ""},
		{"AMQP\x01\x01\x00\x09", 8, ""}, // 0-9, served as 0-9-1 as RabbitMQ does
		{"AMQP\x00\x00\x09", 0, "incomplete"},
		{"", 0, "incomplete"},
		{"AMQP\x01\x01\x08\x00", 0, "bad_version"}, // 0-8
		{"AMQP\x00\x01\x00\x00", 0, "bad_version"}, // 1.0
		{"GET / HTTP/1.1\r\n", 0, "detected_http_get"},
		{"\x16\x03\x01\x02\x00\x01\x00\x01", 0, "detected_tls"},
		{"HELLO!!!", 0, "bad_header"},
	}
	for _, tt := range tests {
		n, err := ParseProtocolHeader([]byte(tt.in))
		switch tt.reason {
		case "":
			if err != nil || n != tt.n {
				t.Errorf("%q: n=%d err=%v", tt.in, n, err)
			}
		case "incomplete":
			if err != ErrIncomplete || n != 0 {
				t.Errorf("%q: n=%d err=%v", tt.in, n, err)
			}
		default:
			var he *HeaderError
			if !errors.As(err, &he) || he.Reason != tt.reason || n != 0 || len(he.Got) != 8 {
				t.Errorf("%q: n=%d err=%v", tt.in, n, err)
			}
		}
	}
	if string(ProtocolHeader) != "AMQP\x00\x00\x09\x01" {
		t.Errorf("ProtocolHeader %q", ProtocolHeader)
	}
}

func TestErlBinary(t *testing.T) {
	for in, want := range map[string]string{
		"":             "<<>>",
		"abc":          `<<"abc">>`,
		"a\"b\\\n":     `<<"a\"b\\\n">>`,
		"\x00\x01\xff": "<<0,1,255>>",
		"wörld":        `<<"wörld">>`,
	} {
		if got := erlBinary([]byte(in), 16); got != want {
			t.Errorf("erlBinary(%q) = %s, want %s", in, got, want)
		}
	}
	if got := erlBinary(bytes.Repeat([]byte{1}, 5), 3); got != "<<1,1,1,...>>" {
		t.Errorf("cut: %s", got)
	}
}
