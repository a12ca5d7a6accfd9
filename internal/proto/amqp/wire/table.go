package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// Table is an AMQP field table decoded to plain Go values. Values have these
// Go types, one per RabbitMQ field type tag (RabbitMQ's table of types, not
// the 0-9-1 grammar's: see docs/dev/amqp-wire.md and RabbitMQ's errata):
//
//	't' bool       'b' int8      'B' uint8     's' int16    'u' uint16
//	'I' int32      'i' uint32    'l' int64     'f' float32  'd' float64
//	'D' Decimal    'S' string    'x' []byte    'A' []any    'T' time.Time (UTC, seconds)
//	'F' Table      'V' nil
//
// Decoding also accepts 'L' as a signed 64-bit integer (int64), as RabbitMQ
// does; it is written back as 'l'. AppendTable additionally accepts int
// (written as 'l') and map[string]any nested anywhere. Tables are written
// with their keys in sorted order, so a table that arrived sorted (and
// without 'L') is written back byte for byte; the broker forwards message
// properties as received bytes, so the order of a publisher's headers
// survives anyway.
type Table = map[string]any

// Decimal is the 'D' field type: Value × 10^-Scale.
type Decimal struct {
	Scale uint8
	Value int32
}

// maxTableDepth bounds the nesting of tables and arrays inside a table, so
// hostile input cannot drive decoding arbitrarily deep (amqp091-go stops at
// 32; RabbitMQ has no limit).
const maxTableDepth = 64

// TableError is an invalid field table: an unknown type tag, a value that
// runs past the table's end, nesting deeper than 64 levels, or (when
// encoding) a Go value without an AMQP field type. Method decoding reports
// it as a 502 syntax error.
type TableError struct{ Msg string }

func (e *TableError) Error() string { return "amqp: invalid field table: " + e.Msg }

func tableErr(format string, args ...any) error {
	return &TableError{Msg: fmt.Sprintf(format, args...)}
}

// DecodeTable decodes a field table as it appears on the wire: a long-uint
// size followed by exactly that many octets of name/value pairs. Strings and
// byte arrays are copied, so the result does not alias b. A name that occurs
// twice keeps its last value.
func DecodeTable(b []byte) (Table, error) {
	if len(b) < 4 {
		return nil, tableErr("%d octets, need at least 4 for the size", len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) != uint64(len(b)-4) {
		return nil, tableErr("size %d, but %d octets follow", n, len(b)-4)
	}
	return decodePairs(b[4:], 0)
}

// ValidateTable checks a field table in wire form (size prefix included)
// as DecodeTable would, without allocating.
func ValidateTable(b []byte) error {
	if len(b) < 4 {
		return tableErr("%d octets, need at least 4 for the size", len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) != uint64(len(b)-4) {
		return tableErr("size %d, but %d octets follow", n, len(b)-4)
	}
	return validatePairs(b[4:], 0)
}

func decodePairs(b []byte, depth int) (Table, error) {
	if depth > maxTableDepth {
		return nil, tableErr("nested deeper than %d levels", maxTableDepth)
	}
	t := make(Table)
	for len(b) > 0 {
		kn := int(b[0])
		if len(b) < 1+kn+1 {
			return nil, tableErr("field name or type runs past the end of the table")
		}
		key := string(b[1 : 1+kn])
		v, n, err := decodeValue(b[1+kn:], depth)
		if err != nil {
			if te, ok := err.(*TableError); ok && te.Msg == msgPastEnd {
				return nil, tableErr("value of %q runs past the end of the table", key)
			}
			return nil, err
		}
		t[key] = v
		b = b[1+kn+n:]
	}
	return t, nil
}

const msgPastEnd = "value runs past the end of the table"

var errPastEnd = &TableError{Msg: msgPastEnd}

// valueSize returns the size of the field value (type tag included) at the
// start of b, and for 'S', 'x', 'A' and 'F' the offset of its contents.
func valueSize(b []byte) (size, off int, err error) {
	if len(b) < 1 {
		return 0, 0, errPastEnd
	}
	fixed := 0
	switch b[0] {
	case 'V':
		fixed = 0
	case 't', 'b', 'B':
		fixed = 1
	case 's', 'u':
		fixed = 2
	case 'I', 'i', 'f':
		fixed = 4
	case 'D':
		fixed = 5
	case 'l', 'L', 'd', 'T':
		fixed = 8
	case 'S', 'x', 'A', 'F':
		if len(b) < 5 {
			return 0, 0, errPastEnd
		}
		n := binary.BigEndian.Uint32(b[1:])
		if uint64(len(b)-5) < uint64(n) {
			return 0, 0, errPastEnd
		}
		return 5 + int(n), 5, nil
	default:
		return 0, 0, tableErr("unknown field value type %q", rune(b[0]))
	}
	if len(b) < 1+fixed {
		return 0, 0, errPastEnd
	}
	return 1 + fixed, 1, nil
}

func decodeValue(b []byte, depth int) (any, int, error) {
	size, off, err := valueSize(b)
	if err != nil {
		return nil, 0, err
	}
	p := b[off:size]
	var v any
	switch b[0] {
	case 'V':
		v = nil
	case 't':
		v = p[0] != 0
	case 'b':
		v = int8(p[0])
	case 'B':
		v = p[0]
	case 's':
		v = int16(binary.BigEndian.Uint16(p))
	case 'u':
		v = binary.BigEndian.Uint16(p)
	case 'I':
		v = int32(binary.BigEndian.Uint32(p))
	case 'i':
		v = binary.BigEndian.Uint32(p)
	case 'f':
		v = math.Float32frombits(binary.BigEndian.Uint32(p))
	case 'D':
		v = Decimal{Scale: p[0], Value: int32(binary.BigEndian.Uint32(p[1:]))}
	case 'l', 'L':
		v = int64(binary.BigEndian.Uint64(p))
	case 'd':
		v = math.Float64frombits(binary.BigEndian.Uint64(p))
	case 'T':
		v = time.Unix(int64(binary.BigEndian.Uint64(p)), 0).UTC()
	case 'S':
		v = string(p)
	case 'x':
		v = append([]byte{}, p...) // a copy: tables outlive the read buffer
	case 'A':
		if depth+1 > maxTableDepth {
			return nil, 0, tableErr("nested deeper than %d levels", maxTableDepth)
		}
		arr := []any{}
		for q := p; len(q) > 0; {
			e, n, err := decodeValue(q, depth+1)
			if err != nil {
				return nil, 0, err
			}
			arr = append(arr, e)
			q = q[n:]
		}
		v = arr
	case 'F':
		t, err := decodePairs(p, depth+1)
		if err != nil {
			return nil, 0, err
		}
		v = t
	}
	return v, size, nil
}

func validatePairs(b []byte, depth int) error {
	if depth > maxTableDepth {
		return tableErr("nested deeper than %d levels", maxTableDepth)
	}
	for len(b) > 0 {
		kn := int(b[0])
		if len(b) < 1+kn+1 {
			return tableErr("field name or type runs past the end of the table")
		}
		n, err := validateValue(b[1+kn:], depth)
		if err != nil {
			return err
		}
		b = b[1+kn+n:]
	}
	return nil
}

func validateValue(b []byte, depth int) (int, error) {
	size, off, err := valueSize(b)
	if err != nil {
		return 0, err
	}
	switch b[0] {
	case 'A':
		if depth+1 > maxTableDepth {
			return 0, tableErr("nested deeper than %d levels", maxTableDepth)
		}
		for q := b[off:size]; len(q) > 0; {
			n, err := validateValue(q, depth+1)
			if err != nil {
				return 0, err
			}
			q = q[n:]
		}
	case 'F':
		if err := validatePairs(b[off:size], depth+1); err != nil {
			return 0, err
		}
	}
	return size, nil
}

// AppendTable appends t in wire form (long-uint size, then name/value pairs
// in sorted name order) to dst. A nil or empty t is the empty table. A value
// of a Go type with no AMQP field type (see Table), a name longer than 255
// bytes or nesting deeper than 64 levels is reported as a *TableError; the
// bytes appended are still a well-formed table (such a value is written as
// void, such a name cut to 255 bytes).
func AppendTable(dst []byte, t Table) ([]byte, error) {
	return appendTable(dst, t, 0)
}

func appendTable(dst []byte, t Table, depth int) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	var firstErr error
	if depth > maxTableDepth {
		firstErr = tableErr("nested deeper than %d levels", maxTableDepth)
		t = nil
	}
	var small [16]string
	keys := small[:0]
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(k) > maxShortstr && firstErr == nil {
			firstErr = tableErr("field name longer than 255 bytes")
		}
		dst = appendShortstr(dst, k)
		var err error
		dst, err = appendValue(dst, t[k], depth)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return patchSize(dst, start, firstErr)
}

// patchSize writes the long-uint size of what follows start+4.
func patchSize(dst []byte, start int, err error) ([]byte, error) {
	n := len(dst) - start - 4
	if uint64(n) > maxLongstr {
		// Unreachable in practice (a 4 GiB table); keep the output well formed.
		dst = dst[:start+4]
		n = 0
		if err == nil {
			err = tableErr("table larger than 4 GiB")
		}
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(n))
	return dst, err
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, 'V'), nil
	case bool:
		if v {
			return append(dst, 't', 1), nil
		}
		return append(dst, 't', 0), nil
	case int8:
		return append(dst, 'b', byte(v)), nil
	case uint8:
		return append(dst, 'B', v), nil
	case int16:
		return binary.BigEndian.AppendUint16(append(dst, 's'), uint16(v)), nil
	case uint16:
		return binary.BigEndian.AppendUint16(append(dst, 'u'), v), nil
	case int32:
		return binary.BigEndian.AppendUint32(append(dst, 'I'), uint32(v)), nil
	case uint32:
		return binary.BigEndian.AppendUint32(append(dst, 'i'), v), nil
	case int64:
		return binary.BigEndian.AppendUint64(append(dst, 'l'), uint64(v)), nil
	case int:
		return binary.BigEndian.AppendUint64(append(dst, 'l'), uint64(int64(v))), nil
	case float32:
		return binary.BigEndian.AppendUint32(append(dst, 'f'), math.Float32bits(v)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(dst, 'd'), math.Float64bits(v)), nil
	case Decimal:
		return binary.BigEndian.AppendUint32(append(dst, 'D', v.Scale), uint32(v.Value)), nil
	case string:
		if uint64(len(v)) > maxLongstr {
			return append(dst, 'V'), tableErr("string longer than 4 GiB")
		}
		return appendLongstr(append(dst, 'S'), v), nil
	case []byte:
		if uint64(len(v)) > maxLongstr {
			return append(dst, 'V'), tableErr("byte array longer than 4 GiB")
		}
		return appendLongstrBytes(append(dst, 'x'), v), nil
	case time.Time:
		return binary.BigEndian.AppendUint64(append(dst, 'T'), uint64(v.Unix())), nil
	case []any:
		dst = append(dst, 'A')
		start := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		var firstErr error
		if depth+1 > maxTableDepth {
			firstErr = tableErr("nested deeper than %d levels", maxTableDepth)
			v = nil
		}
		for _, e := range v {
			var err error
			dst, err = appendValue(dst, e, depth+1)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
		return patchSize(dst, start, firstErr)
	case map[string]any:
		return appendTable(append(dst, 'F'), v, depth+1)
	}
	return append(dst, 'V'), tableErr("no AMQP field type for Go type %T", v)
}
