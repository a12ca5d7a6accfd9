package wire

import "strconv"

// Method is one AMQP method: a struct per method in spec_gen.go
// (BasicPublish, QueueDeclare, ConnectionStart …) with typed fields.
//
// Method frame payload (spec 4.2.4):
//
//	+----------+-----------+---------------------------------------+
//	| class-id | method-id | arguments (packed, in spec order)     |
//	|    2     |     2     | bits share octets, LSB first          |
//	+----------+-----------+---------------------------------------+
type Method interface {
	// Key identifies the method (class and method ids).
	Key() MethodKey
	// Name is the method's name as RabbitMQ prints it in error texts,
	// e.g. "basic.publish".
	Name() string
	// HasContent reports whether a content header and body follow the
	// method (basic.publish, basic.return, basic.deliver, basic.get-ok).
	HasContent() bool
	// Synchronous reports whether the sender waits for a response: the
	// method is synchronous in the spec and, when it has a nowait field,
	// nowait is false (RabbitMQ's is_method_synchronous).
	Synchronous() bool
	// Decode sets every field from the method's arguments (the frame
	// payload after the class and method ids). Strings are copied; on
	// error the fields are undefined and the error is an *Error.
	Decode(args []byte) error
	// AppendTo appends the method frame payload (class id, method id,
	// arguments) to dst. It never fails: a shortstr over 255 bytes is cut
	// to 255 and a table value of an unsupported Go type is written as
	// void. Validate reports those.
	AppendTo(dst []byte) []byte
	// Validate reports a field AppendTo cannot encode faithfully, as a
	// *FieldError.
	Validate() error
}

// MethodKey identifies a method: class id in the high 16 bits, method id in
// the low 16 bits, which is also how the two ids open a method frame's
// payload. The generated constants are named KeyClassMethod
// (KeyBasicPublish).
type MethodKey uint32

// Key returns the key of the method with these ids.
func Key(classID, methodID uint16) MethodKey { return MethodKey(classID)<<16 | MethodKey(methodID) }

// ClassID returns the key's class id.
func (k MethodKey) ClassID() uint16 { return uint16(k >> 16) }

// MethodID returns the key's method id.
func (k MethodKey) MethodID() uint16 { return uint16(k) }

// Name returns the method's name ("basic.publish"), or "" if the
// specification has no such method.
func (k MethodKey) Name() string {
	if i := k.Info(); i != nil {
		return i.Name
	}
	return ""
}

// String returns the method's name, or its ids if it is unknown.
func (k MethodKey) String() string {
	if n := k.Name(); n != "" {
		return n
	}
	return "{" + strconv.Itoa(int(k.ClassID())) + "," + strconv.Itoa(int(k.MethodID())) + "}"
}

// MethodInfo describes a method as the specification does.
type MethodInfo struct {
	Key         MethodKey
	Name        string // "basic.get"
	Content     bool   // a content header and body follow
	Synchronous bool   // the peer answers with one of Responses
	NoWait      bool   // has a nowait field that makes it asynchronous
	Responses   []MethodKey
}

// IsResponse reports whether r answers the method described by i.
func (i *MethodInfo) IsResponse(r MethodKey) bool {
	for _, k := range i.Responses {
		if k == r {
			return true
		}
	}
	return false
}

// methodDecoder is what every generated method struct implements: Decode
// with an optional string interning table.
type methodDecoder interface {
	Method
	decode(args []byte, st *strTable) error
}

// DecodeMethod decodes the arguments of the method with these ids into a
// newly allocated struct. An unknown class or method is a 540 NOT_IMPLEMENTED
// *Error (RabbitMQ has no answer: its reader crashes on an unknown id);
// malformed arguments are reported as Method.Decode describes.
//
// Front ends should decode through a Decoder instead, which reuses structs.
func DecodeMethod(classID, methodID uint16, args []byte) (Method, error) {
	k := Key(classID, methodID)
	m := newMethod(k)
	if m == nil {
		return nil, unknownMethod(k)
	}
	if err := m.decode(args, nil); err != nil {
		return nil, err
	}
	return m, nil
}

// NewMethod returns a new zero struct of the method k, or nil if k is
// unknown.
func NewMethod(k MethodKey) Method {
	if m := newMethod(k); m != nil {
		return m
	}
	return nil
}

func unknownMethod(k MethodKey) *Error {
	return &Error{Code: NotImplemented, ClassID: k.ClassID(), MethodID: k.MethodID(),
		Text: "unknown method: class-id " + strconv.Itoa(int(k.ClassID())) + ", method-id " + strconv.Itoa(int(k.MethodID()))}
}

// Decoder decodes methods for one connection without allocating in the
// steady state: it keeps one struct per method and returns a pointer to it,
// and interns short strings (exchange names, routing keys, queue names,
// consumer tags) in a small cache, since the same ones recur message after
// message. A Decoder is not safe for concurrent use; the zero value is ready.
//
// The Method a Decoder returns is valid until it decodes the next method of
// the same kind: keep the strings and tables (never modified afterwards),
// not the struct. Frames of different channels may interleave, so a
// basic.publish waiting for its content must be copied (p := *m.(*BasicPublish),
// which allocates nothing) before the next frame is decoded.
type Decoder struct {
	strs    strTable
	methods methodSet
}

// Decode decodes the arguments of the method with these ids, like
// DecodeMethod.
func (d *Decoder) Decode(classID, methodID uint16, args []byte) (Method, error) {
	k := Key(classID, methodID)
	m := d.methods.get(k)
	if m == nil {
		return nil, unknownMethod(k)
	}
	if err := m.decode(args, &d.strs); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeFrame decodes a method frame's payload (class id, method id,
// arguments). Another frame type is a 505 UNEXPECTED_FRAME, in RabbitMQ's
// words.
func (d *Decoder) DecodeFrame(f Frame) (Method, error) {
	if f.Type != FrameMethod {
		return nil, &Error{Code: UnexpectedFrame, Channel: f.Channel, Text: "expected method frame, got non method frame instead"}
	}
	k, args := f.Method()
	if len(f.Payload) < 4 {
		return nil, &Error{Code: FrameError, Channel: f.Channel, Text: "type 1, " + snippet(f.Payload) + ": unknown_frame"}
	}
	return d.Decode(k.ClassID(), k.MethodID(), args)
}
