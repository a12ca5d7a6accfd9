// Package resp is the Redis serialization protocol (RESP2 and RESP3) without
// I/O: a Parser that splits a client's byte stream into commands (multibulk
// and inline forms) under Redis's limits, and a Writer of replies in either
// protocol version. It imports only the standard library.
package resp

import (
	"bytes"
	"errors"
)

// Limits bound what a client may send, as Redis's configuration does.
type Limits struct {
	MaxBulkLen   int64 // proto-max-bulk-len (512 MB)
	MaxMultibulk int   // most arguments in one command (Redis: INT_MAX)
	MaxInline    int   // longest inline command or header line (64 KB)
}

// DefaultLimits are Redis 7's defaults.
var DefaultLimits = Limits{MaxBulkLen: 512 << 20, MaxMultibulk: 1<<31 - 1, MaxInline: 64 << 10}

// ErrIncomplete means the buffer does not yet hold a whole command.
var ErrIncomplete = errors.New("resp: incomplete command")

// ProtocolError is malformed input. Redis replies "-ERR Protocol error: "
// followed by Msg and closes the connection.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "Protocol error: " + e.Msg }

func protoErr(msg string) error { return &ProtocolError{Msg: msg} }

// Parser splits a RESP byte stream into commands. A partly received
// multibulk command keeps its progress between calls, so a command arriving
// in many reads is not re-parsed from its start each time. The parser keeps
// positions relative to the start of the pending command: the caller may
// move the unread bytes (compact its buffer) between calls, but must pass
// them again from the same first byte. A Parser is not safe for concurrent
// use.
type Parser struct {
	Limits Limits
	// Unauthenticated, when set, applies Redis's tighter limits for
	// clients that have not authenticated yet (at most 10 arguments of at
	// most 16 KB).
	Unauthenticated bool

	args   [][]byte
	inline []byte // unescaped inline arguments

	// progress of a pending multibulk command
	pending bool
	argc    int
	spans   [][2]int // finished arguments, relative to the command start
	pos     int      // next byte to parse, relative to the command start
	bulkLen int      // length of the bulk being read, -1 before its header
}

// NewParser returns a parser with the given limits.
func NewParser(l Limits) *Parser { return &Parser{Limits: l} }

// Need reports how many bytes of input the pending command needs at least
// (0 if unknown), so callers can size their buffer for a large bulk.
func (p *Parser) Need() int {
	if !p.pending || p.bulkLen < 0 {
		return 0
	}
	return p.pos + p.bulkLen + 2
}

// Parse reads the command at the start of buf. It returns the arguments
// (aliasing buf or the parser's storage: valid until the next call) and the
// bytes used, ErrIncomplete (nothing used), or a *ProtocolError. An empty
// inline line yields zero arguments and uses its bytes, as Redis ignores it.
func (p *Parser) Parse(buf []byte) ([][]byte, int, error) {
	if !p.pending {
		if len(buf) == 0 {
			return nil, 0, ErrIncomplete
		}
		if buf[0] != '*' {
			return p.parseInline(buf)
		}
		n, used, err := p.header(buf, 0, "too big mbulk count string")
		if err != nil {
			return nil, 0, err
		}
		maxArgs := int64(p.Limits.MaxMultibulk)
		if p.Unauthenticated {
			maxArgs = 10
		}
		if n > maxArgs {
			if p.Unauthenticated {
				return nil, 0, protoErr("unauthenticated multibulk length")
			}
			return nil, 0, protoErr("invalid multibulk length")
		}
		if n <= 0 {
			return p.args[:0], used, nil // "*0" and "*-1" are no-ops, as in Redis
		}
		p.pending, p.argc, p.pos, p.bulkLen = true, int(n), used, -1
		p.spans = p.spans[:0]
	}
	for len(p.spans) < p.argc {
		if p.bulkLen < 0 {
			if p.pos >= len(buf) {
				return nil, 0, ErrIncomplete
			}
			if buf[p.pos] != '$' {
				c := buf[p.pos]
				p.reset()
				return nil, 0, protoErr("expected '$', got '" + string(c) + "'")
			}
			n, used, err := p.header(buf, p.pos, "too big bulk count string")
			if err == ErrIncomplete {
				return nil, 0, err
			}
			maxBulk := p.Limits.MaxBulkLen
			if p.Unauthenticated {
				maxBulk = 16384
			}
			if err == nil && (n < 0 || n > maxBulk) {
				if p.Unauthenticated && n >= 0 {
					err = protoErr("unauthenticated bulk length")
				} else {
					err = protoErr("invalid bulk length")
				}
			}
			if err != nil {
				p.reset()
				return nil, 0, err
			}
			p.pos += used
			p.bulkLen = int(n)
		}
		end := p.pos + p.bulkLen
		if end+2 > len(buf) {
			return nil, 0, ErrIncomplete
		}
		// Redis does not check the CR LF after a bulk; it skips two bytes.
		p.spans = append(p.spans, [2]int{p.pos, end})
		p.pos = end + 2
		p.bulkLen = -1
	}
	args := p.args[:0]
	for _, s := range p.spans {
		args = append(args, buf[s[0]:s[1]])
	}
	p.args = args
	used := p.pos
	p.reset()
	return args, used, nil
}

func (p *Parser) reset() {
	p.pending = false
	p.argc, p.pos, p.bulkLen = 0, 0, -1
	p.spans = p.spans[:0]
}

// header reads "<c><integer>\r\n" at buf[at:], returning the integer and the
// header's length.
func (p *Parser) header(buf []byte, at int, tooBig string) (int64, int, error) {
	rest := buf[at:]
	nl := bytes.IndexByte(rest, '\r')
	if nl < 0 || nl+1 >= len(rest) {
		if len(rest) > p.Limits.MaxInline {
			return 0, 0, protoErr(tooBig)
		}
		return 0, 0, ErrIncomplete
	}
	n, ok := parseInt(rest[1:nl])
	if !ok {
		if rest[0] == '*' {
			return 0, 0, protoErr("invalid multibulk length")
		}
		return 0, 0, protoErr("invalid bulk length")
	}
	return n, nl + 2, nil
}

// parseInline reads a telnet-style command line, split as Redis's
// sdssplitargs does (quotes and escapes).
func (p *Parser) parseInline(buf []byte) ([][]byte, int, error) {
	nl := bytes.IndexByte(buf, '\n')
	if nl < 0 {
		if len(buf) > p.Limits.MaxInline {
			return nil, 0, protoErr("too big inline request")
		}
		return nil, 0, ErrIncomplete
	}
	line := buf[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	args, inline, ok := SplitArgs(p.args[:0], p.inline[:0], line)
	p.args, p.inline = args, inline
	if !ok {
		return nil, 0, protoErr("unbalanced quotes in request")
	}
	return args, nl + 1, nil
}

// SplitArgs splits a line the way redis-cli and Redis's inline protocol do:
// spaces separate; "double quotes" allow \n \r \t \b \a \\ \" and \xHH
// escapes; 'single quotes' allow \'; a closing quote must be followed by a
// space or the end. Arguments are appended to args; unescaped bytes are
// stored in store. It reports false on unbalanced quotes.
func SplitArgs(args [][]byte, store, line []byte) ([][]byte, []byte, bool) {
	// Arguments point into store, so reserve it up front: appending must
	// not move it while earlier arguments alias it.
	if cap(store) < len(line) {
		store = make([]byte, 0, len(line))
	}
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return args, store, true
		}
		start := len(store)
		inDQ, inSQ := false, false
		done := false
		for !done {
			if inDQ {
				if i == len(line) {
					return args, store, false
				}
				c := line[i]
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					store = append(store, hexVal(line[i+2])<<4|hexVal(line[i+3]))
					i += 3
				case c == '\\' && i+1 < len(line):
					i++
					switch line[i] {
					case 'n':
						c = '\n'
					case 'r':
						c = '\r'
					case 't':
						c = '\t'
					case 'b':
						c = '\b'
					case 'a':
						c = '\a'
					default:
						c = line[i]
					}
					store = append(store, c)
				case c == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return args, store, false
					}
					done = true
				default:
					store = append(store, c)
				}
			} else if inSQ {
				if i == len(line) {
					return args, store, false
				}
				c := line[i]
				switch {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					store = append(store, '\'')
				case c == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return args, store, false
					}
					done = true
				default:
					store = append(store, c)
				}
			} else {
				if i == len(line) {
					break
				}
				switch c := line[i]; c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inDQ = true
				case '\'':
					inSQ = true
				default:
					store = append(store, c)
				}
			}
			if i < len(line) {
				i++
			}
			if i == len(line) && !inDQ && !inSQ {
				break
			}
		}
		args = append(args, store[start:len(store):len(store)])
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// parseInt parses a RESP header integer (optional '-', digits) without
// allocating.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n < 0 {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}
