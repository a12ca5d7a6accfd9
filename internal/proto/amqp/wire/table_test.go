package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// wireTable wraps name/value pairs in their size prefix.
func wireTable(pairs []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(pairs))), pairs...)
}

// TestTableTypes checks each field type's encoding, computed by hand from
// RabbitMQ's table of types, in both directions.
func TestTableTypes(t *testing.T) {
	tests := []struct {
		v    any
		wire string
	}{
		{true, "t\x01"},
		{false, "t\x00"},
		{int8(-1), "b\xff"},
		{uint8(255), "B\xff"},
		{int16(-2), "s\xff\xfe"},
		{uint16(65534), "u\xff\xfe"},
		{int32(-3), "I\xff\xff\xff\xfd"},
		{uint32(0xfffffffd), "i\xff\xff\xff\xfd"},
		{int64(-4), "l\xff\xff\xff\xff\xff\xff\xff\xfc"},
		{float32(1.5), "f\x3f\xc0\x00\x00"},
		{float64(1.5), "d\x3f\xf8\x00\x00\x00\x00\x00\x00"},
		{Decimal{Scale: 2, Value: 314}, "D\x02\x00\x00\x01\x3a"},
		{"hi", "S\x00\x00\x00\x02hi"},
		{[]byte{1, 2}, "x\x00\x00\x00\x02\x01\x02"},
		{[]any{true, nil}, "A\x00\x00\x00\x03t\x01V"},
		{[]any{}, "A\x00\x00\x00\x00"},
		{time.Unix(1, 0).UTC(), "T\x00\x00\x00\x00\x00\x00\x00\x01"},
		{Table{"k": int8(1)}, "F\x00\x00\x00\x04\x01kb\x01"},
		{Table{}, "F\x00\x00\x00\x00"},
		{nil, "V"},
	}
	for _, tt := range tests {
		want := wireTable([]byte("\x01v" + tt.wire))
		got, err := AppendTable(nil, Table{"v": tt.v})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("encode %T %v: %q %v, want %q", tt.v, tt.v, got, err, want)
		}
		dec, err := DecodeTable(want)
		if err != nil || !reflect.DeepEqual(dec, Table{"v": tt.v}) {
			t.Errorf("decode %q: %#v %v, want %#v", want, dec, err, tt.v)
		}
		if err := ValidateTable(want); err != nil {
			t.Errorf("validate %q: %v", want, err)
		}
	}
	// Conveniences: Go int is written as 'l'; RabbitMQ's 'L' reads as int64.
	got, _ := AppendTable(nil, Table{"n": 5})
	if !bytes.Equal(got, wireTable([]byte("\x01nl\x00\x00\x00\x00\x00\x00\x00\x05"))) {
		t.Errorf("int: %q", got)
	}
	dec, err := DecodeTable(wireTable([]byte("\x01nL\xff\xff\xff\xff\xff\xff\xff\xff")))
	if err != nil || dec["n"] != int64(-1) {
		t.Errorf("'L': %#v %v", dec, err)
	}
}

// TestTableRoundTrip: a table with every type decodes to the same Go values
// and encodes back to the same bytes (keys sorted, as AppendTable writes).
func TestTableRoundTrip(t *testing.T) {
	in := allTypesTable()
	b, err := AppendTable(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip\n got %#v\nwant %#v", out, in)
	}
	b2, _ := AppendTable(nil, out)
	if !bytes.Equal(b, b2) {
		t.Fatal("re-encoding differs")
	}
	// NaN survives as bits.
	nan, _ := AppendTable(nil, Table{"f": math.Float64frombits(0x7ff8000000000001)})
	dec, _ := DecodeTable(nan)
	if again, _ := AppendTable(nil, dec); !bytes.Equal(again, nan) {
		t.Error("NaN payload changed")
	}
	// A table that arrived with keys in sorted order is rewritten byte for byte.
	sorted := wireTable([]byte("\x01at\x01\x01bs\xff\xfe\x01cS\x00\x00\x00\x02hi"))
	dec, err = DecodeTable(sorted)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := AppendTable(nil, dec); !bytes.Equal(again, sorted) {
		t.Errorf("sorted table rewritten as %q", again)
	}
	if b, _ := AppendTable(nil, nil); !bytes.Equal(b, []byte{0, 0, 0, 0}) {
		t.Errorf("nil table %q", b)
	}
}

func TestTableMalformed(t *testing.T) {
	deep := []byte{}
	for i := 0; i < 70; i++ {
		deep = append([]byte("\x01kF"), wireTable(deep)...)
	}
	tests := []struct {
		name string
		b    []byte
		msg  string
	}{
		{"short size", []byte{0, 0, 0}, "need at least 4"},
		{"size too large", []byte{0, 0, 0, 5, 1, 'k', 'V'}, "size 5"},
		{"size too small", []byte{0, 0, 0, 1, 1, 'k', 'V'}, "size 1"},
		{"unknown type", wireTable([]byte("\x01kZ")), "unknown field value type 'Z'"},
		{"0-9-1 grammar's shortstr tag is a short int in RabbitMQ", wireTable([]byte("\x01ks\x05")), "runs past"},
		{"name past end", wireTable([]byte("\x05ab")), "runs past"},
		{"no type", wireTable([]byte("\x01k")), "runs past"},
		{"long past end", wireTable([]byte("\x01kI\x00\x00")), "runs past"},
		{"string past end", wireTable([]byte("\x01kS\x00\x00\x00\x09abc")), "runs past"},
		{"array with bad element", wireTable([]byte("\x01kA\x00\x00\x00\x01Q")), "unknown field value type 'Q'"},
		{"nested table bad", wireTable([]byte("\x01kF\x00\x00\x00\x02\x01z")), "runs past"},
		{"too deep", wireTable(deep), "nested deeper"},
	}
	for _, tt := range tests {
		_, err := DecodeTable(tt.b)
		var te *TableError
		if !errors.As(err, &te) || !strings.Contains(te.Msg, tt.msg) {
			t.Errorf("%s: DecodeTable = %v, want %q", tt.name, err, tt.msg)
		}
		if verr := ValidateTable(tt.b); verr == nil {
			t.Errorf("%s: ValidateTable accepted it", tt.name)
		}
	}
	// Encoding errors still produce a well-formed table.
	b, err := AppendTable(nil, Table{"a": struct{}{}, "b": uint64(1), strings.Repeat("k", 300): true})
	var te *TableError
	if !errors.As(err, &te) {
		t.Fatalf("unsupported types: %v", err)
	}
	if dec, err := DecodeTable(b); err != nil || dec["a"] != nil || dec["b"] != nil || len(dec) != 3 {
		t.Fatalf("voided table %#v %v", dec, err)
	}
}

func TestPropertiesRoundTrip(t *testing.T) {
	full := BasicProperties{
		ContentType: "application/json", ContentEncoding: "gzip", Headers: allTypesTable(),
		DeliveryMode: 2, Priority: 9, CorrelationID: "corr", ReplyTo: "amq.rabbitmq.reply-to",
		Expiration: "60000", MessageID: "m-1", Timestamp: time.Unix(1700000000, 0).UTC(), Type: "t",
		UserID: "guest", AppID: "app", ClusterID: "c",
	}
	b := full.AppendTo(nil)
	if binary.BigEndian.Uint16(b) != 0xfffc {
		t.Errorf("flags %04x, want fffc (all 14 properties)", binary.BigEndian.Uint16(b))
	}
	var got BasicProperties
	if err := got.Decode(b); err != nil {
		t.Fatal(err)
	}
	want := full
	want.Flags = 0xfffc
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
	}
	if again := got.AppendTo(nil); !bytes.Equal(again, b) {
		t.Fatal("re-encoding differs")
	}
	var v BasicPropertiesView
	if err := v.Decode(b); err != nil {
		t.Fatal(err)
	}
	if string(v.ContentType) != full.ContentType || string(v.Expiration) != "60000" || v.DeliveryMode != 2 || v.Priority != 9 ||
		v.Timestamp != 1700000000 || string(v.ClusterID) != "c" || v.Flags != 0xfffc {
		t.Fatalf("view %+v", v)
	}
	h, err := DecodeTable(v.Headers)
	if err != nil || !reflect.DeepEqual(h, full.Headers) {
		t.Fatalf("view headers %v", err)
	}

	// Present-but-empty properties survive through Flags.
	empty := []byte{0x90, 0x00, 0x00, 0x00} // content-type "", delivery-mode 0
	var e BasicProperties
	if err := e.Decode(empty); err != nil || e.Flags != BasicFlagContentType|BasicFlagDeliveryMode {
		t.Fatalf("empty props %+v %v", e, err)
	}
	if again := e.AppendTo(nil); !bytes.Equal(again, empty) {
		t.Errorf("present-but-empty written as %x", again)
	}
	// Decoding resets what a previous decode set.
	if err := got.Decode([]byte{0, 0}); err != nil || !reflect.DeepEqual(got, BasicProperties{}) {
		t.Errorf("reset: %+v %v", got, err)
	}
	if err := v.Decode([]byte{0, 0}); err != nil || !reflect.DeepEqual(v, BasicPropertiesView{}) {
		t.Errorf("view reset: %+v %v", v, err)
	}
	// The continuation and reserved bits are ignored, as RabbitMQ does.
	if err := got.Decode([]byte{0x00, 0x03}); err != nil || got.Flags != 0 {
		t.Errorf("low bits: %+v %v", got, err)
	}
}

func TestPropertiesMalformed(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		code uint16
	}{
		{"no flags", nil, FrameError},
		{"one octet", []byte{0}, FrameError},
		{"missing content-type", []byte{0x80, 0}, FrameError},
		{"content-type past end", []byte{0x80, 0, 5, 'a'}, FrameError},
		{"trailing", []byte{0, 0, 1}, FrameError},
		{"bad headers", append([]byte{0x20, 0}, wireTable([]byte("\x01kZ"))...), SyntaxError},
		{"headers past end", []byte{0x20, 0, 0, 0, 0, 9}, FrameError},
	}
	for _, tt := range tests {
		var p BasicProperties
		var v BasicPropertiesView
		for _, err := range []error{p.Decode(tt.b), v.Decode(tt.b)} {
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code || e.ClassID != ClassBasic {
				t.Errorf("%s: %v, want code %d", tt.name, err, tt.code)
			}
		}
	}
	var fe *FieldError
	if err := (&BasicProperties{Type: strings.Repeat("t", 256)}).Validate(); !errors.As(err, &fe) {
		t.Errorf("Validate: %v", err)
	}
	if err := (&BasicProperties{Headers: Table{"x": 1}}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
