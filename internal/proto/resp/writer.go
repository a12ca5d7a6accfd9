package resp

import (
	"math"
	"strconv"
)

// Writer appends replies to Buf in the client's protocol version (2 or 3).
// Types RESP2 lacks are sent the way Redis sends them to RESP2 clients:
// maps as flat arrays, sets as arrays, doubles as bulk strings, booleans as
// integers, nulls as $-1 or *-1. The zero Writer speaks RESP2.
type Writer struct {
	Buf   []byte
	Proto int
}

// Resp3 reports whether the client negotiated RESP3.
func (w *Writer) Resp3() bool { return w.Proto == 3 }

func (w *Writer) line(prefix byte, s string) {
	w.Buf = append(w.Buf, prefix)
	w.Buf = append(w.Buf, s...)
	w.Buf = append(w.Buf, '\r', '\n')
}

func (w *Writer) count(prefix byte, n int) {
	w.Buf = append(w.Buf, prefix)
	w.Buf = strconv.AppendInt(w.Buf, int64(n), 10)
	w.Buf = append(w.Buf, '\r', '\n')
}

// Simple writes a status reply (+OK).
func (w *Writer) Simple(s string) { w.line('+', s) }

// OK writes +OK.
func (w *Writer) OK() { w.Buf = append(w.Buf, "+OK\r\n"...) }

// Error writes an error reply; msg starts with its code ("ERR ...",
// "WRONGTYPE ..."). Newlines in msg are replaced so the reply stays one line.
func (w *Writer) Error(msg string) {
	w.Buf = append(w.Buf, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		w.Buf = append(w.Buf, c)
	}
	w.Buf = append(w.Buf, '\r', '\n')
}

// Int writes an integer reply.
func (w *Writer) Int(n int64) {
	w.Buf = append(w.Buf, ':')
	w.Buf = strconv.AppendInt(w.Buf, n, 10)
	w.Buf = append(w.Buf, '\r', '\n')
}

// Bulk writes a bulk string.
func (w *Writer) Bulk(b []byte) {
	w.count('$', len(b))
	w.Buf = append(w.Buf, b...)
	w.Buf = append(w.Buf, '\r', '\n')
}

// BulkString writes a bulk string from a Go string.
func (w *Writer) BulkString(s string) {
	w.count('$', len(s))
	w.Buf = append(w.Buf, s...)
	w.Buf = append(w.Buf, '\r', '\n')
}

// BulkInt writes an integer as a bulk string (as Redis does for some
// replies, e.g. INCRBYFLOAT's neighbours and CONFIG values).
func (w *Writer) BulkInt(n int64) {
	var b [20]byte
	w.Bulk(strconv.AppendInt(b[:0], n, 10))
}

// Null writes a null bulk string: $-1 in RESP2, _ in RESP3.
func (w *Writer) Null() {
	if w.Proto == 3 {
		w.Buf = append(w.Buf, "_\r\n"...)
	} else {
		w.Buf = append(w.Buf, "$-1\r\n"...)
	}
}

// NullArray writes a null array: *-1 in RESP2, _ in RESP3.
func (w *Writer) NullArray() {
	if w.Proto == 3 {
		w.Buf = append(w.Buf, "_\r\n"...)
	} else {
		w.Buf = append(w.Buf, "*-1\r\n"...)
	}
}

// Array starts an array of n elements.
func (w *Writer) Array(n int) { w.count('*', n) }

// Map starts a map of n key/value pairs (RESP2: an array of 2n elements).
func (w *Writer) Map(n int) {
	if w.Proto == 3 {
		w.count('%', n)
	} else {
		w.count('*', 2*n)
	}
}

// Set starts a set of n elements (RESP2: an array).
func (w *Writer) Set(n int) {
	if w.Proto == 3 {
		w.count('~', n)
	} else {
		w.count('*', n)
	}
}

// Push starts an out-of-band push message of n elements (RESP2: an array).
func (w *Writer) Push(n int) {
	if w.Proto == 3 {
		w.count('>', n)
	} else {
		w.count('*', n)
	}
}

// Bool writes a boolean (RESP2: :1 or :0).
func (w *Writer) Bool(b bool) {
	switch {
	case w.Proto == 3 && b:
		w.Buf = append(w.Buf, "#t\r\n"...)
	case w.Proto == 3:
		w.Buf = append(w.Buf, "#f\r\n"...)
	case b:
		w.Buf = append(w.Buf, ":1\r\n"...)
	default:
		w.Buf = append(w.Buf, ":0\r\n"...)
	}
}

// Double writes a floating point reply (RESP2: a bulk string), formatted
// as Redis 7.0 does.
func (w *Writer) Double(f float64) {
	var b [32]byte
	s := AppendDouble(b[:0], f)
	if w.Proto == 3 {
		w.Buf = append(w.Buf, ',')
		w.Buf = append(w.Buf, s...)
		w.Buf = append(w.Buf, '\r', '\n')
		return
	}
	w.Bulk(s)
}

// Verbatim writes a verbatim string with a three-letter format such as
// "txt" (RESP2: a bulk string).
func (w *Writer) Verbatim(format, s string) {
	if w.Proto != 3 {
		w.BulkString(s)
		return
	}
	w.count('=', len(s)+4)
	w.Buf = append(w.Buf, format...)
	w.Buf = append(w.Buf, ':')
	w.Buf = append(w.Buf, s...)
	w.Buf = append(w.Buf, '\r', '\n')
}

// BigNumber writes a big number given as decimal text (RESP2: bulk string).
func (w *Writer) BigNumber(s string) {
	if w.Proto != 3 {
		w.BulkString(s)
		return
	}
	w.line('(', s)
}

// Raw appends bytes that are already RESP.
func (w *Writer) Raw(b []byte) { w.Buf = append(w.Buf, b...) }

// AppendDouble formats f as Redis 7.0's d2string does: "inf", "-inf",
// "nan", integers that a double holds exactly (|f| < 2^52) without a
// fraction, anything else with %.17g.
func AppendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0"...)
		}
		return append(dst, '0')
	case f > -4503599627370495 && f < 4503599627370496 && f == math.Trunc(f):
		return strconv.AppendInt(dst, int64(f), 10)
	}
	return appendG17(dst, f)
}

// appendG17 formats like C's "%.17g".
func appendG17(dst []byte, f float64) []byte {
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', 17, 64)
	// Go writes exponents as e+06 like C; both print at least two digits.
	_ = start
	return dst
}
