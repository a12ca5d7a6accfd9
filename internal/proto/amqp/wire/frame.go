package wire

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
)

// Frame layout (spec 2.3.5, 4.2.3): a 7-octet header, the payload, the
// frame-end octet.
//
//	+------+---------+-------------+---------------+-----------+
//	| type | channel |    size     |    payload    | frame-end |
//	|  1   |    2    |      4      |  size octets  | 1 (0xCE)  |
//	+------+---------+-------------+---------------+-----------+
const (
	// FrameHeaderSize is the size of a frame's header.
	FrameHeaderSize = 7
	// FrameOverhead is what a frame adds to its payload (header and
	// frame-end octet); a frame_max of N allows payloads of N-8 octets.
	FrameOverhead = FrameHeaderSize + 1
)

// Frame is one frame as read from the wire. Payload aliases the buffer given
// to ParseFrame: it is valid until the caller reuses that buffer.
type Frame struct {
	Type    uint8 // FrameMethod, FrameHeader, FrameBody or FrameHeartbeat
	Channel uint16
	Payload []byte
}

// ParseFrame reads the frame at the start of buf, a sans-I/O step: the front
// end reads from its socket into a reused buffer and calls ParseFrame until
// it returns ErrIncomplete, then flushes its replies and reads again.
//
// frameMax is the negotiated frame_max (connection.tune-ok), or FrameMinSize
// before tuning as RabbitMQ does; 0 means no limit. As RabbitMQ does, a
// payload up to frameMax octets is accepted (8 more than the spec allows),
// because several clients count the limit wrongly.
//
// It returns the frame and the number of octets it used. On ErrIncomplete
// nothing is used; FrameSize then tells how large the buffer must grow. Other
// errors are *Error values with RabbitMQ's codes and texts:
//
//   - an oversize frame, or a frame-end octet other than 0xCE: 501
//     FRAME_ERROR, Fatal (n is 0);
//   - an unknown frame type, a heartbeat with a payload, a method frame
//     shorter than its class and method ids, a content header shorter
//     than 12 octets: 501 FRAME_ERROR;
//   - a heartbeat on a channel other than 0, a content header or body on
//     channel 0: 505 UNEXPECTED_FRAME.
//
// A non-fatal error still reports n, the frame's size, so the caller can
// step over the frame while it waits for connection.close-ok.
func ParseFrame(buf []byte, frameMax uint32) (f Frame, n int, err error) {
	if len(buf) < FrameHeaderSize {
		return Frame{}, 0, ErrIncomplete
	}
	typ := buf[0]
	ch := binary.BigEndian.Uint16(buf[1:])
	size := binary.BigEndian.Uint32(buf[3:])
	if frameMax != 0 && size > frameMax {
		return Frame{}, 0, frameErr(FrameError, ch, true, "type "+strconv.Itoa(int(typ))+", all octets = <<>>: {frame_too_large,"+
			strconv.FormatUint(uint64(size), 10)+","+strconv.FormatInt(int64(frameMax)-FrameOverhead, 10)+"}")
	}
	total := uint64(FrameOverhead) + uint64(size)
	if uint64(len(buf)) < total {
		return Frame{}, 0, ErrIncomplete
	}
	n = int(total)
	payload := buf[FrameHeaderSize : n-1 : n-1]
	if end := buf[n-1]; end != FrameEnd {
		return Frame{}, 0, frameErr(FrameError, ch, true, "type "+strconv.Itoa(int(typ))+", "+snippet(payload)+
			": {invalid_frame_end_marker,"+strconv.Itoa(int(end))+"}")
	}
	f = Frame{Type: typ, Channel: ch, Payload: payload}
	switch typ {
	case FrameMethod:
		if len(payload) < 4 {
			return Frame{}, n, unknownFrame(f)
		}
	case FrameHeader:
		if len(payload) < contentHeaderMin {
			return Frame{}, n, unknownFrame(f)
		}
		if ch == 0 {
			return Frame{}, n, unexpectedFrame(f)
		}
	case FrameBody:
		if ch == 0 {
			return Frame{}, n, unexpectedFrame(f)
		}
	case FrameHeartbeat:
		if len(payload) != 0 {
			return Frame{}, n, unknownFrame(f)
		}
		if ch != 0 {
			return Frame{}, n, unexpectedFrame(f)
		}
	default:
		return Frame{}, n, unknownFrame(f)
	}
	return f, n, nil
}

func unknownFrame(f Frame) error {
	return frameErr(FrameError, f.Channel, false, "type "+strconv.Itoa(int(f.Type))+", "+snippet(f.Payload)+": unknown_frame")
}

func unexpectedFrame(f Frame) error {
	return frameErr(UnexpectedFrame, f.Channel, false, "type "+strconv.Itoa(int(f.Type))+", "+snippet(f.Payload))
}

// FrameSize returns the size of the whole frame at the start of buf (header,
// payload and frame-end), or 0 while its header is incomplete.
func FrameSize(buf []byte) int {
	if len(buf) < FrameHeaderSize {
		return 0
	}
	return FrameOverhead + int(binary.BigEndian.Uint32(buf[3:]))
}

// Method returns the method key of a method frame and its arguments (the
// payload after the class and method ids). ParseFrame guarantees a method
// frame's payload holds the ids.
func (f Frame) Method() (MethodKey, []byte) {
	if len(f.Payload) < 4 {
		return 0, nil
	}
	return MethodKey(binary.BigEndian.Uint32(f.Payload)), f.Payload[4:]
}

// ProtocolHeader is the header a 0-9-1 client sends first, and what the
// server writes back before closing when the client's header is not one it
// accepts (spec 4.2.2).
var ProtocolHeader = []byte("AMQP\x00\x00\x09\x01")

// protocolHeader09 is AMQP 0-9's header, which RabbitMQ serves as 0-9-1.
var protocolHeader09 = []byte("AMQP\x01\x01\x00\x09")

// HeaderError is a connection that did not start with an acceptable protocol
// header. The front end writes ProtocolHeader and closes the connection.
type HeaderError struct {
	Got    []byte // the first octets received
	Reason string // RabbitMQ's: bad_version, bad_header, detected_http_get, detected_tls
}

func (e *HeaderError) Error() string {
	return "amqp: refused connection: " + e.Reason + " " + erlBinary(e.Got, 8)
}

// ParseProtocolHeader checks the 8-octet protocol header at the start of
// buf. It returns the octets used (8), ErrIncomplete while fewer than 8
// octets have arrived, or a *HeaderError. It accepts 0-9-1 and, as RabbitMQ
// does, 0-9 ("AMQP" 1 1 0 9), which the same framing serves.
func ParseProtocolHeader(buf []byte) (int, error) {
	if len(buf) < len(ProtocolHeader) {
		return 0, ErrIncomplete
	}
	h := buf[:len(ProtocolHeader)]
	if bytes.Equal(h, ProtocolHeader) || bytes.Equal(h, protocolHeader09) {
		return len(h), nil
	}
	e := &HeaderError{Got: bytes.Clone(h), Reason: "bad_header"}
	switch {
	case bytes.HasPrefix(h, []byte("AMQP")):
		e.Reason = "bad_version"
	case bytes.HasPrefix(h, []byte("GET ")):
		e.Reason = "detected_http_get"
	case h[0] == 0x16 && h[1] == 0x03 && h[5] == 0x01:
		e.Reason = "detected_tls"
	}
	return 0, e
}

// BeginFrame appends a frame header with a placeholder size to dst and
// returns the new buffer and the frame's start, for EndFrame. Between the
// two calls the caller appends the payload.
func BeginFrame(dst []byte, typ uint8, channel uint16) ([]byte, int) {
	start := len(dst)
	return append(dst, typ, byte(channel>>8), byte(channel), 0, 0, 0, 0), start
}

// EndFrame completes the frame begun at start: it fills in the payload size
// and appends the frame-end octet.
func EndFrame(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start+3:], uint32(len(dst)-start-FrameHeaderSize))
	return append(dst, FrameEnd)
}

// AppendMethodFrame appends a method frame carrying m on channel. It does
// not check m (see Method.Validate) nor the frame against frame_max: method
// frames cannot be split, and the server's own methods fit the 4096-octet
// minimum.
func AppendMethodFrame(dst []byte, channel uint16, m Method) []byte {
	dst, start := BeginFrame(dst, FrameMethod, channel)
	dst = m.AppendTo(dst)
	return EndFrame(dst, start)
}

// Content header payload (spec 4.2.6.1):
//
//	+----------+--------+-----------+----------------+-----------------------+
//	| class-id | weight | body size | property flags | property list ...     |
//	|    2     | 2 (=0) |     8     | 2 per 15 props | present properties    |
//	+----------+--------+-----------+----------------+-----------------------+
const contentHeaderMin = 12 // class-id, weight and body size, as RabbitMQ requires

// ContentHeader is a decoded content header frame payload. Properties holds
// the property flags and list undecoded (aliasing the payload), as RabbitMQ
// keeps them: the broker forwards them to consumers as they came, and
// decodes them (BasicPropertiesView, BasicProperties) only when it needs a
// property.
type ContentHeader struct {
	ClassID    uint16
	Weight     uint16 // must be 0 (RabbitMQ: unexpected frame otherwise)
	BodySize   uint64
	Properties []byte
}

// ParseContentHeader splits a content header frame's payload. It fails only
// on a payload shorter than 12 octets, which ParseFrame already rejects.
// Checking ClassID against the method's class, Weight and the body size
// limit belongs to content assembly in the front end.
func ParseContentHeader(payload []byte) (ContentHeader, error) {
	if len(payload) < contentHeaderMin {
		return ContentHeader{}, &Error{Code: FrameError, Text: "type 2, " + snippet(payload) + ": unknown_frame"}
	}
	return ContentHeader{
		ClassID:    binary.BigEndian.Uint16(payload),
		Weight:     binary.BigEndian.Uint16(payload[2:]),
		BodySize:   binary.BigEndian.Uint64(payload[4:]),
		Properties: payload[12:],
	}, nil
}

// AppendContentHeaderFrame appends a content header frame with properties
// already in wire form (property flags and list), typically the ones a
// publisher sent.
func AppendContentHeaderFrame(dst []byte, channel, classID uint16, bodySize uint64, properties []byte) []byte {
	dst, start := BeginFrame(dst, FrameHeader, channel)
	dst = appendContentHeaderPrefix(dst, classID, bodySize)
	if len(properties) < 2 {
		dst = append(dst, 0, 0) // no properties
	} else {
		dst = append(dst, properties...)
	}
	return EndFrame(dst, start)
}

// AppendBasicHeaderFrame appends a content header frame of class basic
// whose properties are p (nil: none).
func AppendBasicHeaderFrame(dst []byte, channel uint16, bodySize uint64, p *BasicProperties) []byte {
	dst, start := BeginFrame(dst, FrameHeader, channel)
	dst = appendContentHeaderPrefix(dst, ClassBasic, bodySize)
	if p == nil {
		dst = append(dst, 0, 0)
	} else {
		dst = p.AppendTo(dst)
	}
	return EndFrame(dst, start)
}

func appendContentHeaderPrefix(dst []byte, classID uint16, bodySize uint64) []byte {
	dst = binary.BigEndian.AppendUint16(dst, classID)
	dst = append(dst, 0, 0) // weight
	return binary.BigEndian.AppendUint64(dst, bodySize)
}

// AppendBodyFrames appends body as content body frames on channel, each
// carrying at most frameMax-8 octets (frameMax 0: no limit). An empty body
// appends nothing: a content of size 0 has no body frames.
func AppendBodyFrames(dst []byte, channel uint16, body []byte, frameMax uint32) []byte {
	max := uint64(math.MaxUint32)
	if frameMax != 0 {
		max = uint64(frameMax) - FrameOverhead
		if frameMax <= FrameOverhead {
			max = 1 // nonsense frame_max: still make progress
		}
	}
	for len(body) > 0 {
		n := len(body)
		if uint64(n) > max {
			n = int(max)
		}
		var start int
		dst, start = BeginFrame(dst, FrameBody, channel)
		dst = append(dst, body[:n]...)
		dst = EndFrame(dst, start)
		body = body[n:]
	}
	return dst
}

// heartbeatFrame is the whole heartbeat frame (spec 4.2.7).
var heartbeatFrame = []byte{FrameHeartbeat, 0, 0, 0, 0, 0, 0, FrameEnd}

// AppendHeartbeat appends a heartbeat frame.
func AppendHeartbeat(dst []byte) []byte { return append(dst, heartbeatFrame...) }

// AppendContent appends the frames of a content-bearing method: the method
// frame of m, a content header of m's class with properties in wire form,
// and the body split at frameMax. This is basic.deliver, basic.get-ok and
// basic.return on the wire.
func AppendContent(dst []byte, channel uint16, m Method, properties []byte, body []byte, frameMax uint32) []byte {
	dst = AppendMethodFrame(dst, channel, m)
	dst = AppendContentHeaderFrame(dst, channel, m.Key().ClassID(), uint64(len(body)), properties)
	return AppendBodyFrames(dst, channel, body, frameMax)
}
