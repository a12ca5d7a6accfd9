package wire

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// ErrIncomplete means the buffer does not yet hold a whole frame (or a whole
// protocol header): read more and call again with the same first byte.
var ErrIncomplete = errors.New("amqp: incomplete frame")

// Error is a protocol violation found while reading frames or decoding
// methods, properties or tables. Code is the reply code the front end closes
// the connection with (FrameError, SyntaxError, UnexpectedFrame,
// NotImplemented …); ClassID and MethodID name the offending method when one
// is known, as connection.close carries them. Text is the explanation in
// RabbitMQ's words, without the "FRAME_ERROR - " prefix that ReplyText adds.
//
// Fatal means the byte stream has lost sync (a bad frame-end octet, an
// oversize frame): the front end sends connection.close and closes the socket
// after a short grace period without reading further, as RabbitMQ does. A
// non-fatal Error leaves the stream in sync, so the front end sends
// connection.close and keeps reading frames until close-ok.
type Error struct {
	Code     uint16
	Channel  uint16
	ClassID  uint16
	MethodID uint16
	Text     string
	Fatal    bool
}

func (e *Error) Error() string { return "amqp: " + e.ReplyText() }

// ReplyText is the reply-text of the connection.close the front end sends:
// the reply code's name, " - ", and Text, cut to a shortstr as RabbitMQ
// does (see TruncateReplyText).
func (e *Error) ReplyText() string {
	name := ReplyCodeName(e.Code)
	if name == "" {
		name = "INTERNAL_ERROR"
	}
	return TruncateReplyText(name + " - " + e.Text)
}

// ConnectionClose returns the connection.close method that reports e.
func (e *Error) ConnectionClose() *ConnectionClose {
	return &ConnectionClose{ReplyCode: e.Code, ReplyText: e.ReplyText(), ClassID: e.ClassID, MethodID: e.MethodID}
}

// TruncateReplyText cuts a reply text to fit a shortstr the way RabbitMQ's
// rabbit_binary_generator does: a text over 255 bytes becomes its first 252
// bytes followed by "...".
func TruncateReplyText(s string) string {
	if len(s) <= maxShortstr {
		return s
	}
	return s[:maxShortstr-3] + "..."
}

func frameErr(code uint16, channel uint16, fatal bool, text string) *Error {
	return &Error{Code: code, Channel: channel, Fatal: fatal, Text: text}
}

// methodErr reports a method whose arguments could not be decoded.
func methodErr(code uint16, k MethodKey, text string) *Error {
	return &Error{Code: code, ClassID: k.ClassID(), MethodID: k.MethodID(), Text: text}
}

// snippet formats a payload as RabbitMQ's reader does in frame errors:
// "all octets = <<...>>" for up to 16 octets, else "first 16 octets = ...".
func snippet(payload []byte) string {
	if len(payload) <= 16 {
		return "all octets = " + erlBinary(payload, 16)
	}
	return "first 16 octets = " + erlBinary(payload[:16], 16)
}

// erlBinary formats b as an Erlang binary term the way ~p prints it
// (<<"text">> when printable, <<1,2,3>> otherwise), showing at most max
// octets followed by "..." so a huge payload does not make a huge text.
func erlBinary(b []byte, max int) string {
	more := false
	if len(b) > max {
		b, more = b[:max], true
	}
	out := make([]byte, 0, 4+4*len(b))
	out = append(out, "<<"...)
	if len(b) > 0 && printable(b) {
		out = append(out, '"')
		for _, c := range b {
			switch c {
			case '"', '\\':
				out = append(out, '\\', c)
			case '\n':
				out = append(out, `\n`...)
			case '\r':
				out = append(out, `\r`...)
			case '\t':
				out = append(out, `\t`...)
			case '\v':
				out = append(out, `\v`...)
			case '\b':
				out = append(out, `\b`...)
			case '\f':
				out = append(out, `\f`...)
			case 0x1b:
				out = append(out, `\e`...)
			default:
				out = append(out, c)
			}
		}
		if more {
			out = append(out, "..."...)
		}
		out = append(out, '"')
	} else {
		for i, c := range b {
			if i > 0 {
				out = append(out, ',')
			}
			out = strconv.AppendUint(out, uint64(c), 10)
		}
		if more {
			out = append(out, ",..."...)
		}
	}
	return string(append(out, ">>"...))
}

// printable reports whether Erlang would print b as a string: valid UTF-8
// of printable characters and the usual escapes.
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		switch {
		case r >= 0x20 && r < 0x7f, r >= 0xa0:
		case r == '\n', r == '\r', r == '\t', r == '\v', r == '\b', r == '\f', r == 0x1b:
		default:
			return false
		}
	}
	return true
}
