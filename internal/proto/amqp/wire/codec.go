package wire

import (
	"encoding/binary"
	"errors"
	"math"
	"unicode/utf8"
)

// Limits of the AMQP string types (spec 4.2.5.3).
const (
	maxShortstr = 255
	maxLongstr  = math.MaxUint32
)

// errShort and errTrailing are the reader's structural failures; finish
// turns them into RabbitMQ's "cannot decode" frame error.
var (
	errShort    = errors.New("short")
	errTrailing = errors.New("trailing")
	errUTF8     = errors.New("utf8")
)

// reader decodes method arguments and properties from a byte slice. The
// first failure sticks in err and later reads return zero values, so
// generated code reads every field and checks once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) octet() uint8 {
	if len(r.b) < 1 {
		r.fail(errShort)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) short() uint16 {
	if len(r.b) < 2 {
		r.fail(errShort)
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) long() uint32 {
	if len(r.b) < 4 {
		r.fail(errShort)
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) longlong() uint64 {
	if len(r.b) < 8 {
		r.fail(errShort)
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// shortstrBytes returns a shortstr as a view of the input.
func (r *reader) shortstrBytes() []byte {
	if len(r.b) < 1 || len(r.b) < 1+int(r.b[0]) {
		r.fail(errShort)
		return nil
	}
	n := int(r.b[0])
	v := r.b[1 : 1+n : 1+n]
	r.b = r.b[1+n:]
	return v
}

// shortstr returns a shortstr as a string, interned through st when st is
// not nil. checkUTF8 applies RabbitMQ's rule that shortstrs of methods
// without content must be valid UTF-8 (content-bearing methods skip the
// check for speed, as RabbitMQ does).
func (r *reader) shortstr(st *strTable, checkUTF8 bool) string {
	b := r.shortstrBytes()
	if checkUTF8 && !utf8.Valid(b) {
		r.fail(errUTF8)
		return ""
	}
	return st.str(b)
}

// longstrBytes returns a longstr as a view of the input.
func (r *reader) longstrBytes() []byte {
	if len(r.b) < 4 {
		r.fail(errShort)
		return nil
	}
	n := binary.BigEndian.Uint32(r.b)
	if uint64(len(r.b)-4) < uint64(n) {
		r.fail(errShort)
		return nil
	}
	v := r.b[4 : 4+n : 4+n]
	r.b = r.b[4+n:]
	return v
}

func (r *reader) longstr() string { return string(r.longstrBytes()) }

// tableBytes returns a field table as a view of the input, length prefix
// included, after checking that it is well formed.
func (r *reader) tableBytes() []byte {
	if len(r.b) < 4 {
		r.fail(errShort)
		return nil
	}
	n := binary.BigEndian.Uint32(r.b)
	if uint64(len(r.b)-4) < uint64(n) {
		r.fail(errShort)
		return nil
	}
	v := r.b[: 4+n : 4+n]
	if err := validatePairs(v[4:], 0); err != nil {
		r.fail(err)
		return nil
	}
	r.b = r.b[4+n:]
	return v
}

func (r *reader) table() Table {
	if len(r.b) < 4 {
		r.fail(errShort)
		return nil
	}
	n := binary.BigEndian.Uint32(r.b)
	if uint64(len(r.b)-4) < uint64(n) {
		r.fail(errShort)
		return nil
	}
	t, err := decodePairs(r.b[4:4+n], 0)
	if err != nil {
		r.fail(err)
		return nil
	}
	r.b = r.b[4+n:]
	return t
}

// finish reports the reader's outcome for the arguments args of method k,
// with RabbitMQ's reply codes and texts: malformed arguments (too short,
// trailing octets) are a 501 frame error "cannot decode <<...>>", invalid
// UTF-8 in a shortstr a 501 "Malformed UTF-8 in shortstr", an invalid field
// table a 502 syntax error.
func (r *reader) finish(k MethodKey, args []byte) error {
	if r.err == nil && len(r.b) != 0 {
		r.err = errTrailing
	}
	switch r.err {
	case nil:
		return nil
	case errShort, errTrailing:
		return methodErr(FrameError, k, "cannot decode "+erlBinary(args, 64))
	case errUTF8:
		return methodErr(FrameError, k, "Malformed UTF-8 in shortstr")
	}
	if te, ok := r.err.(*TableError); ok {
		return methodErr(SyntaxError, k, te.Msg)
	}
	return methodErr(FrameError, k, r.err.Error())
}

// appendShortstr appends a shortstr; AppendTo's contract (see Method) is
// that a string over 255 bytes is cut to 255 so the frame stays well formed.
func appendShortstr(dst []byte, s string) []byte {
	if len(s) > maxShortstr {
		s = s[:maxShortstr]
	}
	dst = append(dst, byte(len(s)))
	return append(dst, s...)
}

func appendShortstrBytes(dst []byte, s []byte) []byte {
	if len(s) > maxShortstr {
		s = s[:maxShortstr]
	}
	dst = append(dst, byte(len(s)))
	return append(dst, s...)
}

func appendLongstr(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

func appendLongstrBytes(dst []byte, s []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// appendTableField appends a method's or property's table; values of
// unsupported Go types are written as void (Validate reports them).
func appendTableField(dst []byte, t Table) []byte {
	dst, _ = AppendTable(dst, t)
	return dst
}

// appendRawTable appends a table held as wire bytes (length prefix
// included); an empty slice is the empty table.
func appendRawTable(dst []byte, raw []byte) []byte {
	if len(raw) < 4 {
		return append(dst, 0, 0, 0, 0)
	}
	return append(dst, raw...)
}

func checkShortstr(field, s string) error {
	if len(s) > maxShortstr {
		return &FieldError{Field: field, Msg: "shortstr longer than 255 bytes"}
	}
	return nil
}

func checkLongstr(field, s string) error {
	if uint64(len(s)) > maxLongstr {
		return &FieldError{Field: field, Msg: "longstr longer than 4 GiB"}
	}
	return nil
}

func checkTable(field string, t Table) error {
	if _, err := AppendTable(nil, t); err != nil {
		return &FieldError{Field: field, Msg: err.Error()}
	}
	return nil
}

// FieldError reports a field value that cannot be encoded (Validate).
type FieldError struct {
	Field string // "basic.publish exchange", "basic properties headers"
	Msg   string
}

func (e *FieldError) Error() string { return "amqp: " + e.Field + ": " + e.Msg }

// strTable interns short strings decoded from the wire: exchange names,
// routing keys, queue names and consumer tags repeat from one message to the
// next, so a small direct-mapped cache turns most conversions into a lookup
// and decoding basic.publish allocates nothing in the steady state. A nil
// *strTable converts without caching.
type strTable struct {
	slots [strSlots]string
}

const (
	strSlots  = 128 // power of two
	strMaxLen = 64  // longer strings are rarely repeated keys
)

func (t *strTable) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if t == nil || len(b) > strMaxLen {
		return string(b)
	}
	// FNV-1a: cheap for short keys and good enough to spread them.
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	slot := &t.slots[h&(strSlots-1)]
	if *slot == string(b) { // compiles to a comparison, no allocation
		return *slot
	}
	s := string(b)
	*slot = s
	return s
}

// finishProperties reports the reader's outcome for the content properties
// b of class classID: malformed properties are a 501 frame error, an invalid
// headers table a 502 syntax error.
func (r *reader) finishProperties(classID uint16, b []byte) error {
	if r.err == nil && len(r.b) != 0 {
		r.err = errTrailing
	}
	if r.err == nil {
		return nil
	}
	e := &Error{Code: FrameError, ClassID: classID, Text: "cannot decode properties " + erlBinary(b, 64)}
	if te, ok := r.err.(*TableError); ok {
		e.Code, e.Text = SyntaxError, te.Msg
	}
	return e
}
