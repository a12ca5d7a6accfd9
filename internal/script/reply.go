package script

import (
	"errors"
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"

	"ferry/internal/proto/resp"
)

// Conversions between RESP and Lua values, as Redis 7.0's script_lua.c
// does them.
//
// RESP → Lua (a command's reply to redis.call): integer → number; bulk →
// string; RESP2 null bulk or null array → false; RESP3 null → nil; status
// → {ok=...}; error → {err=...}; array → array table; RESP3 map →
// {map={k=v}}, set → {set={k=true}}, double → {double=n}, boolean →
// boolean, big number → {big_number="..."}, verbatim →
// {verbatim_string={format=..., string=...}}; attributes are skipped.
//
// Lua → RESP (a script's return value): see writeValue.

// maxReplyDepth is how deeply nested a reply may be. Redis runs out of Lua
// stack (LUAI_MAXCSTACK) after 7995 nested tables when it converts a
// script's reply and ends that branch with "-ERR reached lua stack limit";
// the same bound keeps a malformed or cyclic structure from recursing
// without end here.
const maxReplyDepth = 7995

var errBadReply = errors.New("script: malformed RESP reply")

// respToLua parses one RESP reply at the start of b into a Lua value,
// returning it and the bytes it took.
func respToLua(L *lua.LState, b []byte) (lua.LValue, int, error) {
	return parseReply(L, b, 0)
}

func readLine(b []byte) ([]byte, int, error) {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return b[:i], i + 2, nil
		}
	}
	return nil, 0, errBadReply
}

func parseLen(line []byte) (int64, error) {
	n, err := strconv.ParseInt(string(line), 10, 64)
	if err != nil || n < -1 {
		return 0, errBadReply
	}
	return n, nil
}

func parseReply(L *lua.LState, b []byte, depth int) (lua.LValue, int, error) {
	if len(b) == 0 || depth > maxReplyDepth {
		return nil, 0, errBadReply
	}
	line, n, err := readLine(b[1:])
	if err != nil {
		return nil, 0, err
	}
	n++ // the type byte
	switch b[0] {
	case '+':
		t := L.CreateTable(0, 1)
		t.RawSetString("ok", lua.LString(line))
		return t, n, nil
	case '-':
		return errorTable(L, "-"+string(line)), n, nil
	case ':':
		v, err := strconv.ParseInt(string(line), 10, 64)
		if err != nil {
			return nil, 0, errBadReply
		}
		return lua.LNumber(float64(v)), n, nil
	case '$', '=':
		size, err := parseLen(line)
		if err != nil {
			return nil, 0, err
		}
		if size < 0 {
			if b[0] == '$' {
				return lua.LFalse, n, nil
			}
			return nil, 0, errBadReply
		}
		if int64(len(b)-n) < size+2 || b[n+int(size)] != '\r' || b[n+int(size)+1] != '\n' {
			return nil, 0, errBadReply
		}
		body := b[n : n+int(size)]
		n += int(size) + 2
		if b[0] == '$' {
			return lua.LString(body), n, nil
		}
		if len(body) < 4 || body[3] != ':' {
			return nil, 0, errBadReply
		}
		inner := L.CreateTable(0, 2)
		inner.RawSetString("format", lua.LString(body[:3]))
		inner.RawSetString("string", lua.LString(body[4:]))
		t := L.CreateTable(0, 1)
		t.RawSetString("verbatim_string", inner)
		return t, n, nil
	case '*', '~', '%', '|', '>':
		count, err := parseLen(line)
		if err != nil {
			return nil, 0, err
		}
		if count < 0 {
			if b[0] == '*' {
				return lua.LFalse, n, nil
			}
			return nil, 0, errBadReply
		}
		items := count
		if b[0] == '%' || b[0] == '|' {
			items = 2 * count
		}
		// Every element takes at least three bytes: a count larger than
		// the rest of the reply is malformed (and must not size a table).
		if items > int64(len(b)-n)/3 {
			return nil, 0, errBadReply
		}
		switch b[0] {
		case '|':
			// Attributes describe the reply that follows; Lua gets the
			// reply alone.
			for i := int64(0); i < items; i++ {
				_, m, err := parseReply(L, b[n:], depth+1)
				if err != nil {
					return nil, 0, err
				}
				n += m
			}
			v, m, err := parseReply(L, b[n:], depth)
			if err != nil {
				return nil, 0, err
			}
			return v, n + m, nil
		case '%':
			inner := L.CreateTable(0, int(count))
			for i := int64(0); i < count; i++ {
				k, m, err := parseReply(L, b[n:], depth+1)
				if err != nil {
					return nil, 0, err
				}
				n += m
				v, m, err := parseReply(L, b[n:], depth+1)
				if err != nil {
					return nil, 0, err
				}
				n += m
				if k != lua.LNil && !isNaNValue(k) {
					inner.RawSet(k, v)
				}
			}
			t := L.CreateTable(0, 1)
			t.RawSetString("map", inner)
			return t, n, nil
		case '~':
			inner := L.CreateTable(0, int(count))
			for i := int64(0); i < count; i++ {
				k, m, err := parseReply(L, b[n:], depth+1)
				if err != nil {
					return nil, 0, err
				}
				n += m
				if k != lua.LNil && !isNaNValue(k) {
					inner.RawSet(k, lua.LTrue)
				}
			}
			t := L.CreateTable(0, 1)
			t.RawSetString("set", inner)
			return t, n, nil
		}
		t := L.CreateTable(int(count), 0)
		for i := int64(0); i < count; i++ {
			v, m, err := parseReply(L, b[n:], depth+1)
			if err != nil {
				return nil, 0, err
			}
			n += m
			t.RawSetInt(int(i+1), v)
		}
		return t, n, nil
	case '_':
		if len(line) != 0 {
			return nil, 0, errBadReply
		}
		return lua.LNil, n, nil
	case '#':
		switch string(line) {
		case "t":
			return lua.LTrue, n, nil
		case "f":
			return lua.LFalse, n, nil
		}
		return nil, 0, errBadReply
	case ',':
		f, ok := parseDouble(line)
		if !ok {
			return nil, 0, errBadReply
		}
		t := L.CreateTable(0, 1)
		t.RawSetString("double", lua.LNumber(f))
		return t, n, nil
	case '(':
		t := L.CreateTable(0, 1)
		t.RawSetString("big_number", lua.LString(line))
		return t, n, nil
	}
	return nil, 0, errBadReply
}

func isNaNValue(v lua.LValue) bool {
	f, ok := v.(lua.LNumber)
	return ok && f != f
}

func parseDouble(b []byte) (float64, bool) {
	switch string(b) {
	case "inf", "+inf":
		return math.Inf(1), true
	case "-inf":
		return math.Inf(-1), true
	case "nan", "-nan":
		return math.NaN(), true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil
}

// errorTable is Redis's luaPushErrorBuff: "-CODE message" keeps its code,
// a bare message gets ERR; trailing newlines go.
func errorTable(L *lua.LState, buf string) *lua.LTable {
	t := L.CreateTable(0, 1)
	t.RawSetString("err", lua.LString(errorText(buf)))
	return t
}

func errorText(buf string) string {
	code, msg := "ERR", buf
	if len(buf) > 0 && buf[0] == '-' {
		rest := buf[1:]
		if i := indexByte(rest, ' '); i >= 0 {
			code, msg = rest[:i], rest[i+1:]
		} else {
			msg = rest
		}
	}
	for len(msg) > 0 && (msg[len(msg)-1] == '\r' || msg[len(msg)-1] == '\n') {
		msg = msg[:len(msg)-1]
	}
	for len(msg) > 0 && (msg[0] == '\r' || msg[0] == '\n') {
		msg = msg[1:]
	}
	return code + " " + msg
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// writeValue converts a script's return value to a reply
// (luaReplyToRedisReply). scriptResp is the protocol the script chose with
// redis.setresp: booleans depend on it. Tables are, in order of precedence:
// {err=string} an error; {ok=string} a status; {double=number};
// {big_number=string}; {verbatim_string={format=, string=}}; {map=table};
// {set=table}; otherwise an array of the values at 1, 2, ... up to the
// first nil. Numbers are truncated to integers; nil and unknown types are
// null; false is null in RESP2 scripts.
func writeValue(w *resp.Writer, v lua.LValue, scriptResp int) {
	writeValueDepth(w, v, scriptResp, 1)
}

func writeValueDepth(w *resp.Writer, v lua.LValue, scriptResp, depth int) {
	if depth > maxReplyDepth {
		w.Error("ERR reached lua stack limit")
		return
	}
	switch x := v.(type) {
	case lua.LString:
		w.Bulk(unsafeBytes(string(x)))
	case lua.LBool:
		if scriptResp == 2 {
			if x {
				w.Int(1)
			} else {
				w.Null()
			}
			return
		}
		w.Bool(bool(x))
	case lua.LNumber:
		w.Int(toInteger(float64(x)))
	case *lua.LTable:
		writeTable(w, x, scriptResp, depth)
	default:
		w.Null()
	}
}

// toInteger is C's (long long) cast on x86-64: out of range and NaN give
// the minimum.
func toInteger(f float64) int64 {
	if f != f || f >= 9223372036854775808.0 || f < -9223372036854775808.0 {
		return math.MinInt64
	}
	return int64(f)
}

func writeTable(w *resp.Writer, t *lua.LTable, scriptResp, depth int) {
	if e, ok := t.RawGetString("err").(lua.LString); ok {
		w.Error(trimNewlines(string(e)))
		return
	}
	if st, ok := t.RawGetString("ok").(lua.LString); ok {
		w.Simple(mapNewlines(string(st)))
		return
	}
	if d, ok := t.RawGetString("double").(lua.LNumber); ok {
		writeDouble(w, float64(d))
		return
	}
	if bn, ok := t.RawGetString("big_number").(lua.LString); ok {
		w.BigNumber(mapNewlines(string(bn)))
		return
	}
	if vs, ok := t.RawGetString("verbatim_string").(*lua.LTable); ok {
		if f, ok := vs.RawGetString("format").(lua.LString); ok {
			if s, ok := vs.RawGetString("string").(lua.LString); ok {
				fs, ss := string(f), string(s)
				ext := []byte("   ")
				copy(ext, fs)
				if i := indexByte(fs, 0); i >= 0 && i < 3 {
					for j := i; j < 3; j++ {
						ext[j] = ' '
					}
				}
				w.Verbatim(string(ext), ss)
				return
			}
		}
	}
	if m, ok := t.RawGetString("map").(*lua.LTable); ok {
		n := 0
		m.ForEach(func(lua.LValue, lua.LValue) { n++ })
		w.Map(n)
		m.ForEach(func(k, val lua.LValue) {
			writeValueDepth(w, k, scriptResp, depth+1)
			writeValueDepth(w, val, scriptResp, depth+1)
		})
		return
	}
	if s, ok := t.RawGetString("set").(*lua.LTable); ok {
		n := 0
		s.ForEach(func(lua.LValue, lua.LValue) { n++ })
		w.Set(n)
		s.ForEach(func(k, _ lua.LValue) { writeValueDepth(w, k, scriptResp, depth+1) })
		return
	}
	n := 0
	for t.RawGetInt(n+1) != lua.LNil {
		n++
	}
	w.Array(n)
	for i := 1; i <= n; i++ {
		writeValueDepth(w, t.RawGetInt(i), scriptResp, depth+1)
	}
}

// writeDouble is Redis 7.0's addReplyDouble: "%.17g" (inf and -inf
// spelled out), as a bulk string in RESP2.
func writeDouble(w *resp.Writer, f float64) {
	var b [40]byte
	s := appendG17(b[:0], f)
	if w.Proto == 3 {
		w.Buf = append(w.Buf, ',')
		w.Buf = append(w.Buf, s...)
		w.Buf = append(w.Buf, '\r', '\n')
		return
	}
	w.Bulk(s)
}

// trimNewlines drops the newlines at the end of an error (the writer turns
// inner ones into spaces).
func trimNewlines(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\r' || s[len(s)-1] == '\n') {
		s = s[:len(s)-1]
	}
	return s
}

// mapNewlines turns CR and LF into spaces (sdsmapchars).
func mapNewlines(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] == '\r' || b[j] == '\n' {
					b[j] = ' '
				}
			}
			return string(b)
		}
	}
	return s
}
