package script

import (
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The cjson library: lua-cjson 2.1.0 as Redis ships it (deps/lua/src/
// lua_cjson.c), with its defaults: numbers encoded with 14 significant
// digits, NaN and Inf refused when encoding and accepted when decoding,
// sparse arrays (more than twice as many slots as items, and over 10)
// refused, nesting limited to 1000 levels each way, "/" escaped. JSON null
// decodes to cjson.null.

type cjsonConfig struct {
	sparseConvert  bool
	sparseRatio    int
	sparseSafe     int
	encodeMaxDepth int
	decodeMaxDepth int
	encodeInvalid  int // 0 off, 1 on, 2 null
	decodeInvalid  bool
	keepBuffer     bool
	precision      int
}

func defaultCJSONConfig() *cjsonConfig {
	return &cjsonConfig{sparseRatio: 2, sparseSafe: 10, encodeMaxDepth: 1000, decodeMaxDepth: 1000,
		decodeInvalid: true, keepBuffer: true, precision: 14}
}

// jsonNull is cjson.null (a NULL light userdata in C).
type jsonNullType struct{}

func newCJSONLib(L *lua.LState, v *vm) *lua.LTable {
	null := L.NewUserData()
	null.Value = jsonNullType{}
	return v.cjsonModule(L, defaultCJSONConfig(), null)
}

func (v *vm) cjsonModule(L *lua.LState, cfg *cjsonConfig, null *lua.LUserData) *lua.LTable {
	t := L.NewTable()
	reg := func(name string, fn lua.LGFunction) { t.RawSetString(name, L.NewFunction(fn)) }
	reg("encode", func(L *lua.LState) int {
		if L.GetTop() != 1 {
			argError(L, 1, "encode", "expected 1 argument")
		}
		e := jsonEncoder{L: L, cfg: cfg, null: null, limit: v.e.maxStr.Load()}
		e.value(L.Get(1), 0)
		L.Push(lua.LString(e.buf))
		return 1
	})
	reg("decode", func(L *lua.LState) int {
		if L.GetTop() != 1 {
			argError(L, 1, "decode", "expected 1 argument")
		}
		s := argString(L, 1, "decode")
		L.Push(jsonDecode(L, cfg, null, s))
		return 1
	})
	reg("encode_sparse_array", func(L *lua.LState) int {
		argCount(L, 3)
		conv := boolOption(L, 1, &cfg.sparseConvert)
		intOption(L, "encode_sparse_array", 2, &cfg.sparseRatio, 0, math.MaxInt32)
		intOption(L, "encode_sparse_array", 3, &cfg.sparseSafe, 0, math.MaxInt32)
		L.Push(conv)
		L.Push(lua.LNumber(cfg.sparseRatio))
		L.Push(lua.LNumber(cfg.sparseSafe))
		return 3
	})
	reg("encode_max_depth", func(L *lua.LState) int {
		argCount(L, 1)
		L.Push(intOption(L, "encode_max_depth", 1, &cfg.encodeMaxDepth, 1, math.MaxInt32))
		return 1
	})
	reg("decode_max_depth", func(L *lua.LState) int {
		argCount(L, 1)
		L.Push(intOption(L, "decode_max_depth", 1, &cfg.decodeMaxDepth, 1, math.MaxInt32))
		return 1
	})
	reg("encode_number_precision", func(L *lua.LState) int {
		argCount(L, 1)
		L.Push(intOption(L, "encode_number_precision", 1, &cfg.precision, 1, 14))
		return 1
	})
	reg("encode_keep_buffer", func(L *lua.LState) int {
		argCount(L, 1)
		L.Push(boolOption(L, 1, &cfg.keepBuffer))
		return 1
	})
	reg("encode_invalid_numbers", func(L *lua.LState) int {
		argCount(L, 1)
		if lv := L.Get(1); lv != lua.LNil {
			switch x := lv.(type) {
			case lua.LBool:
				cfg.encodeInvalid = 0
				if x {
					cfg.encodeInvalid = 1
				}
			default:
				cfg.encodeInvalid = checkOption(L, 1, []string{"off", "on", "null"})
			}
		}
		switch cfg.encodeInvalid {
		case 0:
			L.Push(lua.LFalse)
		case 1:
			L.Push(lua.LTrue)
		default:
			L.Push(lua.LString("null"))
		}
		return 1
	})
	reg("decode_invalid_numbers", func(L *lua.LState) int {
		argCount(L, 1)
		L.Push(boolOption(L, 1, &cfg.decodeInvalid))
		return 1
	})
	reg("new", func(L *lua.LState) int {
		L.Push(v.cjsonModule(L, defaultCJSONConfig(), null))
		return 1
	})
	t.RawSetString("null", null)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
	return t
}

func argCount(L *lua.LState, n int) {
	if L.GetTop() > n {
		L.RaiseError("bad argument #%d to '?' (found too many arguments)", n+1)
	}
}

// checkOption is luaL_checkoption.
func checkOption(L *lua.LState, n int, opts []string) int {
	s, ok := toLuaString(L.Get(n))
	if !ok {
		L.RaiseError("bad argument #%d to '?' (string expected, got %s)", n, typeName(L, n))
	}
	for i, o := range opts {
		if o == s {
			return i
		}
	}
	L.RaiseError("bad argument #%d to '?' (invalid option '%s')", n, s)
	return 0
}

func boolOption(L *lua.LState, n int, setting *bool) lua.LValue {
	if lv := L.Get(n); lv != lua.LNil {
		if b, ok := lv.(lua.LBool); ok {
			*setting = bool(b)
		} else {
			*setting = checkOption(L, n, []string{"off", "on"}) == 1
		}
	}
	return lua.LBool(*setting)
}

func intOption(L *lua.LState, fname string, n int, setting *int, min, max int) lua.LValue {
	if L.Get(n) != lua.LNil {
		val := int(toInteger(argNumber(L, n, fname)))
		if val < min || val > max {
			argError(L, 1, fname, fmt.Sprintf("expected integer between %d and %d", min, max))
		}
		*setting = val
	}
	return lua.LNumber(*setting)
}

type jsonEncoder struct {
	L     *lua.LState
	cfg   *cjsonConfig
	null  *lua.LUserData
	buf   []byte
	limit int64
}

func (e *jsonEncoder) fail(typ, reason string) {
	e.L.RaiseError("Cannot serialise %s: %s", typ, reason)
}

func (e *jsonEncoder) value(lv lua.LValue, depth int) {
	if int64(len(e.buf)) > e.limit {
		e.L.RaiseError(errNoMemory)
	}
	switch x := lv.(type) {
	case lua.LString:
		e.str(string(x))
	case lua.LNumber:
		e.number(float64(x))
	case lua.LBool:
		if x {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
	case *lua.LNilType:
		e.buf = append(e.buf, "null"...)
	case *lua.LTable:
		depth++
		if depth > e.cfg.encodeMaxDepth {
			e.L.RaiseError("Cannot serialise, excessive nesting (%d)", depth)
		}
		if n := e.arrayLength(x); n > 0 {
			e.buf = append(e.buf, '[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					e.buf = append(e.buf, ',')
				}
				e.value(x.RawGetInt(i), depth)
			}
			e.buf = append(e.buf, ']')
			return
		}
		e.buf = append(e.buf, '{')
		first := true
		var k lua.LValue = lua.LNil
		for {
			nk, val := x.Next(k)
			if nk == lua.LNil {
				break
			}
			if !first {
				e.buf = append(e.buf, ',')
			}
			first = false
			switch kk := nk.(type) {
			case lua.LNumber:
				e.buf = append(e.buf, '"')
				e.number(float64(kk))
				e.buf = append(e.buf, '"', ':')
			case lua.LString:
				e.str(string(kk))
				e.buf = append(e.buf, ':')
			default:
				e.fail(nk.Type().String(), "table key must be a number or string")
			}
			e.value(val, depth)
			k = nk
		}
		e.buf = append(e.buf, '}')
	case *lua.LUserData:
		if x == e.null {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.fail("userdata", "type not supported")
	default:
		if lv == lua.LNil {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.fail(lv.Type().String(), "type not supported")
	}
}

// arrayLength is lua_array_length: the largest key when every key is a
// positive integer (0 for an empty table, -1 for anything else).
func (e *jsonEncoder) arrayLength(t *lua.LTable) int {
	maxK, items := 0.0, 0
	var k lua.LValue = lua.LNil
	for {
		nk, _ := t.Next(k)
		if nk == lua.LNil {
			break
		}
		n, ok := nk.(lua.LNumber)
		f := float64(n)
		if !ok || f == 0 || math.Floor(f) != f || f < 1 {
			return -1
		}
		if f > maxK {
			maxK = f
		}
		items++
		k = nk
	}
	if e.cfg.sparseRatio > 0 && maxK > float64(items*e.cfg.sparseRatio) && maxK > float64(e.cfg.sparseSafe) {
		if !e.cfg.sparseConvert {
			e.fail("table", "excessively sparse array")
		}
		return -1
	}
	if maxK > float64(math.MaxInt32) {
		return -1
	}
	return int(maxK)
}

func (e *jsonEncoder) number(f float64) {
	switch e.cfg.encodeInvalid {
	case 0:
		if math.IsInf(f, 0) || math.IsNaN(f) {
			e.fail("number", "must not be NaN or Inf")
		}
	case 1:
		if math.IsNaN(f) {
			e.buf = append(e.buf, "nan"...)
			return
		}
	default:
		if math.IsInf(f, 0) || math.IsNaN(f) {
			e.buf = append(e.buf, "null"...)
			return
		}
	}
	e.buf = appendCFloat(e.buf, f, 'g', e.cfg.precision, "")
}

const hexDigits = "0123456789abcdef"

func (e *jsonEncoder) str(s string) {
	e.buf = append(e.buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			e.buf = append(e.buf, '\\', '"')
		case c == '\\':
			e.buf = append(e.buf, '\\', '\\')
		case c == '/':
			e.buf = append(e.buf, '\\', '/')
		case c == '\b':
			e.buf = append(e.buf, '\\', 'b')
		case c == '\t':
			e.buf = append(e.buf, '\\', 't')
		case c == '\n':
			e.buf = append(e.buf, '\\', 'n')
		case c == '\f':
			e.buf = append(e.buf, '\\', 'f')
		case c == '\r':
			e.buf = append(e.buf, '\\', 'r')
		case c < 0x20 || c == 0x7f:
			e.buf = append(e.buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		default:
			e.buf = append(e.buf, c)
		}
	}
	e.buf = append(e.buf, '"')
}

// JSON decoding (json_next_token, json_process_value).

type jsonTok int

const (
	tObjBegin jsonTok = iota
	tObjEnd
	tArrBegin
	tArrEnd
	tString
	tNumber
	tBoolean
	tNull
	tColon
	tComma
	tEnd
	tWhitespace
	tError
	tUnknown
)

var jsonTokNames = [...]string{"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING",
	"T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END", "T_WHITESPACE", "T_ERROR", "T_UNKNOWN"}

type jsonToken struct {
	typ   jsonTok
	index int
	str   string // string value, or the error text
	num   float64
	b     bool
}

type jsonParser struct {
	L     *lua.LState
	cfg   *cjsonConfig
	null  *lua.LUserData
	data  string
	pos   int
	depth int
	tmp   []byte
}

func (p *jsonParser) at(i int) byte {
	if i < len(p.data) {
		return p.data[i]
	}
	return 0 // the C string's terminator
}

func ch2token(c byte) jsonTok {
	switch c {
	case '{':
		return tObjBegin
	case '}':
		return tObjEnd
	case '[':
		return tArrBegin
	case ']':
		return tArrEnd
	case ',':
		return tComma
	case ':':
		return tColon
	case 0:
		return tEnd
	case ' ', '\t', '\r', '\n':
		return tWhitespace
	case '"', '+', '-', 'f', 'i', 'I', 'n', 'N', 't':
		return tUnknown
	}
	if isDigit(c) {
		return tUnknown
	}
	return tError
}

func (p *jsonParser) next() jsonToken {
	var tok jsonToken
	for {
		tok.typ = ch2token(p.at(p.pos))
		if tok.typ != tWhitespace {
			break
		}
		p.pos++
	}
	tok.index = p.pos
	switch tok.typ {
	case tError:
		tok.str = "invalid token"
		return tok
	case tEnd:
		return tok
	case tUnknown:
	default:
		p.pos++
		return tok
	}
	c := p.at(p.pos)
	rest := p.data[p.pos:]
	switch {
	case c == '"':
		p.stringToken(&tok)
	case c == '-' || isDigit(c):
		if !p.cfg.decodeInvalid && p.invalidNumber() {
			tok.typ, tok.str = tError, "invalid number"
			return tok
		}
		p.numberToken(&tok)
	case len(rest) >= 4 && rest[:4] == "true":
		tok.typ, tok.b = tBoolean, true
		p.pos += 4
	case len(rest) >= 5 && rest[:5] == "false":
		tok.typ, tok.b = tBoolean, false
		p.pos += 5
	case len(rest) >= 4 && rest[:4] == "null":
		tok.typ = tNull
		p.pos += 4
	case p.cfg.decodeInvalid && p.invalidNumber():
		p.numberToken(&tok)
	default:
		tok.typ, tok.str = tError, "invalid token"
	}
	return tok
}

// invalidNumber is json_is_invalid_number: numbers JSON does not allow
// (a plus sign, hexadecimal, leading zeros, inf, nan).
func (p *jsonParser) invalidNumber() bool {
	i := p.pos
	if p.at(i) == '+' {
		return true
	}
	if p.at(i) == '-' {
		i++
	}
	if p.at(i) == '0' {
		c2 := p.at(i + 1)
		return c2|0x20 == 'x' || isDigit(c2)
	} else if p.at(i) <= '9' {
		return false
	}
	rest := p.data[min(i, len(p.data)):]
	if len(rest) >= 3 {
		w := string([]byte{rest[0] | 0x20, rest[1] | 0x20, rest[2] | 0x20})
		if w == "inf" || w == "nan" {
			return true
		}
	}
	return false
}

func (p *jsonParser) numberToken(tok *jsonToken) {
	tok.typ = tNumber
	end := p.pos
	for end < len(p.data) && p.data[end] != 0 {
		end++
	}
	f, n := strtod(p.data[p.pos:end])
	if n == 0 {
		tok.typ, tok.str = tError, "invalid number"
		return
	}
	tok.num = f
	p.pos += n
}

func (p *jsonParser) stringToken(tok *jsonToken) {
	p.pos++ // the quote
	p.tmp = p.tmp[:0]
	for {
		c := p.at(p.pos)
		if c == '"' {
			break
		}
		if c == 0 {
			tok.typ, tok.index, tok.str = tError, p.pos, "unexpected end of string"
			return
		}
		if c == '\\' {
			esc := p.at(p.pos + 1)
			var out byte
			switch esc {
			case '"', '\\', '/':
				out = esc
			case 'b':
				out = '\b'
			case 't':
				out = '\t'
			case 'n':
				out = '\n'
			case 'f':
				out = '\f'
			case 'r':
				out = '\r'
			case 'u':
				if !p.unicodeEscape() {
					tok.typ, tok.index, tok.str = tError, p.pos, "invalid unicode escape code"
					return
				}
				continue
			default:
				tok.typ, tok.index, tok.str = tError, p.pos, "invalid escape code"
				return
			}
			p.tmp = append(p.tmp, out)
			p.pos += 2
			continue
		}
		p.tmp = append(p.tmp, c)
		p.pos++
	}
	p.pos++
	tok.typ = tString
	tok.str = string(p.tmp)
}

func (p *jsonParser) hex4(at int) int {
	v := 0
	for i := 0; i < 4; i++ {
		d := hexVal(p.at(at + i))
		if d < 0 {
			return -1
		}
		v = v<<4 | d
	}
	return v
}

func (p *jsonParser) unicodeEscape() bool {
	cp := p.hex4(p.pos + 2)
	if cp < 0 {
		return false
	}
	escLen := 6
	if cp&0xF800 == 0xD800 {
		if cp&0x400 != 0 {
			return false
		}
		if p.at(p.pos+6) != '\\' || p.at(p.pos+7) != 'u' {
			return false
		}
		low := p.hex4(p.pos + 8)
		if low < 0 || low&0xFC00 != 0xDC00 {
			return false
		}
		cp = ((cp&0x3FF)<<10 | low&0x3FF) + 0x10000
		escLen = 12
	}
	switch {
	case cp <= 0x7F:
		p.tmp = append(p.tmp, byte(cp))
	case cp <= 0x7FF:
		p.tmp = append(p.tmp, byte(0xC0|cp>>6), byte(0x80|cp&0x3F))
	case cp <= 0xFFFF:
		p.tmp = append(p.tmp, byte(0xE0|cp>>12), byte(0x80|(cp>>6)&0x3F), byte(0x80|cp&0x3F))
	case cp <= 0x1FFFFF:
		p.tmp = append(p.tmp, byte(0xF0|cp>>18), byte(0x80|(cp>>12)&0x3F), byte(0x80|(cp>>6)&0x3F), byte(0x80|cp&0x3F))
	default:
		return false
	}
	p.pos += escLen
	return true
}

func (p *jsonParser) fail(exp string, tok jsonToken) {
	found := tok.str
	if tok.typ != tError {
		found = jsonTokNames[tok.typ]
	}
	p.L.RaiseError("Expected %s but found %s at character %d", exp, found, tok.index+1)
}

func (p *jsonParser) descend() {
	p.depth++
	if p.depth > p.cfg.decodeMaxDepth || p.depth > maxReplyDepth/3 {
		p.L.RaiseError("Found too many nested data structures (%d) at character %d", p.depth, p.pos)
	}
}

func (p *jsonParser) value(tok jsonToken) lua.LValue {
	switch tok.typ {
	case tString:
		return lua.LString(tok.str)
	case tNumber:
		return lua.LNumber(tok.num)
	case tBoolean:
		return lua.LBool(tok.b)
	case tNull:
		return p.null
	case tObjBegin:
		p.descend()
		t := p.L.NewTable()
		tok = p.next()
		if tok.typ == tObjEnd {
			p.depth--
			return t
		}
		for {
			if tok.typ != tString {
				p.fail("object key string", tok)
			}
			key := tok.str
			tok = p.next()
			if tok.typ != tColon {
				p.fail("colon", tok)
			}
			val := p.value(p.next())
			t.RawSetString(key, val)
			tok = p.next()
			if tok.typ == tObjEnd {
				p.depth--
				return t
			}
			if tok.typ != tComma {
				p.fail("comma or object end", tok)
			}
			tok = p.next()
		}
	case tArrBegin:
		p.descend()
		t := p.L.NewTable()
		tok = p.next()
		if tok.typ == tArrEnd {
			p.depth--
			return t
		}
		for i := 1; ; i++ {
			t.RawSetInt(i, p.value(tok))
			tok = p.next()
			if tok.typ == tArrEnd {
				p.depth--
				return t
			}
			if tok.typ != tComma {
				p.fail("comma or array end", tok)
			}
			tok = p.next()
		}
	}
	p.fail("value", tok)
	return lua.LNil
}

func jsonDecode(L *lua.LState, cfg *cjsonConfig, null *lua.LUserData, s string) lua.LValue {
	if len(s) >= 2 && (s[0] == 0 || s[1] == 0) {
		L.RaiseError("JSON parser does not support UTF-16 or UTF-32")
	}
	p := &jsonParser{L: L, cfg: cfg, null: null, data: s}
	v := p.value(p.next())
	if tok := p.next(); tok.typ != tEnd {
		p.fail("the end", tok)
	}
	return v
}
