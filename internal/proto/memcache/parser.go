package memcache

import (
	"bytes"
)

// Status is the outcome of parsing the front of the input.
type Status uint8

// Parse outcomes.
const (
	// NeedMore: no complete request yet; Request.Need, when non-zero, is the
	// total input length the pending request needs.
	NeedMore Status = iota
	// Ready: Request holds a complete request.
	Ready
	// Fail: the input is bad. Reply with Request.Err, drop Request.Swallow
	// bytes that follow, and close the connection if Request.Close.
	Fail
)

// Limits bound what a client may send.
type Limits struct {
	MaxLine     int // longest command line (memcached: 2048)
	MaxKeysLine int // longest get/gets/gat/gats line (many keys)
	MaxItemSize int // largest value (-I)
}

// DefaultLimits are memcached's defaults.
var DefaultLimits = Limits{MaxLine: 2048, MaxKeysLine: 1 << 20, MaxItemSize: 1 << 20}

// MaxKeyLen is the longest key memcached accepts.
const MaxKeyLen = 250

// Request is one parsed request. Its slices alias the parser's input and
// token storage: they are valid until the next Parse call.
type Request struct {
	Line    []byte   // the command line without its line ending
	Tokens  [][]byte // Line split on spaces; Tokens[0] is the command
	Need    int      // NeedMore: total bytes required, if known
	Err     string   // Fail: the error reply line (without CR LF)
	Swallow int      // bytes to discard after the consumed ones
	Close   bool     // Fail: close the connection after replying

	// Storage commands (set add replace append prepend cas ms), when the
	// line had the right shape (Storage is true):
	Storage  bool
	Key      []byte
	Data     []byte // the data block, without CR LF
	DataLen  int
	TooLarge bool // DataLen exceeds the item size limit; Swallow is set
	Flags    uint32
	Exptime  int64
	CAS      uint64
	NoReply  bool
}

// Parser splits a memcached text/meta protocol byte stream into requests.
// It does no I/O and keeps its token storage between calls, so parsing
// allocates nothing once warmed up. A Parser is not safe for concurrent use.
type Parser struct {
	Limits Limits
	toks   [][]byte
}

// NewParser returns a parser with the given limits.
func NewParser(l Limits) *Parser {
	return &Parser{Limits: l, toks: make([][]byte, 0, 24)}
}

// Parse examines buf, which starts at a request boundary. It returns the
// status and how many bytes of buf the request (or bad input) used.
func (p *Parser) Parse(buf []byte, r *Request) (Status, int) {
	*r = Request{}
	nl := bytes.IndexByte(buf, '\n')
	if nl < 0 {
		if len(buf) <= p.Limits.MaxLine {
			return NeedMore, 0
		}
		// memcached lets long multi-key retrievals through; anything else
		// this long is an attack or garbage.
		if isRetrieval(buf) && len(buf) <= p.Limits.MaxKeysLine {
			return NeedMore, 0
		}
		r.Err, r.Close = "CLIENT_ERROR line too long", true
		return Fail, len(buf)
	}
	// As memcached, the length limit applies while no newline has arrived;
	// a complete line that fits the buffer is parsed whatever its length.
	line := buf[:nl]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	r.Line = line
	p.toks = tokenize(p.toks[:0], line)
	r.Tokens = p.toks
	used := nl + 1
	if len(r.Tokens) == 0 {
		return Ready, used
	}
	dataTok := dataLengthToken(r.Tokens)
	if dataTok < 0 {
		return Ready, used
	}
	if !p.parseStorage(r, dataTok) {
		// memcached rejects the line before reading any data, so what
		// follows is read as commands again.
		r.Err = "CLIENT_ERROR bad command line format"
		return Fail, used
	}
	n := r.DataLen
	if itemSize(len(r.Key), n, r.Flags) > p.Limits.MaxItemSize {
		// Ready, so the handler can apply memcached's side effects (a
		// failed set removes the old value); the data block is discarded.
		r.TooLarge = true
		r.Swallow = n + 2
		return Ready, used
	}
	total := used + n + 2
	if len(buf) < total {
		r.Need = total
		return NeedMore, 0
	}
	r.Data = buf[used : used+n]
	if buf[used+n] != '\r' || buf[used+n+1] != '\n' {
		r.Err = "CLIENT_ERROR bad data chunk"
		return Fail, total
	}
	return Ready, total
}

// parseStorage reads the arguments of a command followed by a data block:
// "<cmd> <key> <flags> <exptime> <bytes> [<cas>] [noreply]" or
// "ms <key> <datalen> <flag>*". It reports whether they are well formed.
func (p *Parser) parseStorage(r *Request, dataTok int) bool {
	t := r.Tokens
	r.NoReply = string(t[0]) != "ms" && string(t[len(t)-1]) == "noreply"
	r.Storage = true
	r.Key = t[1]
	n, ok := parseInt(t[dataTok])
	if !ok || n < 0 || n > 1<<31-3 {
		return false
	}
	r.DataLen = int(n)
	if string(t[0]) == "ms" {
		// memcached rejects these before reading the data block; flag
		// errors come after it (the handler reports them).
		return len(r.Key) <= MaxKeyLen && len(t) <= maxMetaTokens
	}
	if len(r.Key) > MaxKeyLen {
		return false
	}
	flags, ok1 := parseFlags(t[2])
	exp, ok2 := parseExptime(t[3])
	if !ok1 || !ok2 {
		return false
	}
	r.Flags, r.Exptime = flags, exp
	rest := t[5:]
	if string(t[0]) == "cas" {
		cas, ok := parseUint(t[5])
		if !ok {
			return false
		}
		r.CAS = cas
		rest = t[6:]
	}
	// memcached ignores an extra token unless it is "noreply".
	r.NoReply = len(rest) == 1 && string(rest[0]) == "noreply"
	return true
}

// isRetrieval reports whether a line starts a multi-key retrieval command.
func isRetrieval(line []byte) bool {
	return bytes.HasPrefix(line, []byte("get ")) || bytes.HasPrefix(line, []byte("gets ")) ||
		bytes.HasPrefix(line, []byte("gat ")) || bytes.HasPrefix(line, []byte("gats "))
}

// dataLengthToken returns the index of the token giving the length of the
// data block that follows the line, or -1 when the command has none.
func dataLengthToken(t [][]byte) int {
	switch string(t[0]) {
	case "set", "add", "replace", "append", "prepend":
		if len(t) == 5 || len(t) == 6 {
			return 4
		}
	case "cas":
		if len(t) == 6 || len(t) == 7 {
			return 4
		}
	case "ms":
		if len(t) >= 3 {
			return 2
		}
	}
	return -1
}

// tokenize splits line on spaces, collapsing runs of them, as memcached.
func tokenize(dst [][]byte, line []byte) [][]byte {
	i := 0
	for i < len(line) {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' {
			j++
		}
		if j > i {
			dst = append(dst, line[i:j])
		}
		i = j
	}
	return dst
}

// parseUint parses a decimal uint64 as memcached's strtoull-based parsing
// accepts it: digits with an optional leading '+'.
func parseUint(b []byte) (uint64, bool) {
	if len(b) > 0 && b[0] == '+' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseInt parses a decimal int64 with an optional sign.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	} else if len(b) > 0 && b[0] == '+' {
		b = b[1:]
	}
	if len(b) > 0 && b[0] == '+' {
		return 0, false
	}
	u, ok := parseUint(b)
	if !ok || u > 1<<63 || (!neg && u == 1<<63) {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

// parseExptime parses an expiration time. memcached keeps the low 32 bits
// as a signed number, so 2^32 means "never" and 2^31 "already expired".
func parseExptime(b []byte) (int64, bool) {
	n, ok := parseInt(b)
	return int64(int32(n)), ok
}

// parseFlags parses client flags; memcached keeps the low 32 bits.
func parseFlags(b []byte) (uint32, bool) {
	n, ok := parseUint(b)
	return uint32(n), ok
}
