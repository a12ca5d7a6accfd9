package script

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The cmsgpack library: lua-cmsgpack 0.4.0 as Redis ships it
// (deps/lua/src/lua_cmsgpack.c). pack encodes each argument (integers in
// the smallest MessagePack integer type, other numbers as float32 when
// exact else float64, strings as str, tables whose keys are exactly 1..n
// as arrays and others as maps, tables nested deeper than 16 as nil);
// unpack decodes every value (unpack_one and unpack_limit return the next
// offset first, -1 at the end).

const msgpackMaxNesting = 16

func newMsgpackLib(L *lua.LState, v *vm) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(v.mpPack))
	t.RawSetString("unpack", L.NewFunction(func(L *lua.LState) int { return mpUnpackFull(L, 0, 0) }))
	t.RawSetString("unpack_one", L.NewFunction(func(L *lua.LState) int {
		offset := int(toInteger(argOptNumber(L, 2, "unpack_one", 0)))
		L.SetTop(1)
		return mpUnpackFull(L, 1, offset)
	}))
	t.RawSetString("unpack_limit", L.NewFunction(func(L *lua.LState) int {
		limit := int(toInteger(argNumber(L, 2, "unpack_limit")))
		offset := int(toInteger(argOptNumber(L, 3, "unpack_limit", 0)))
		L.SetTop(1)
		return mpUnpackFull(L, limit, offset)
	}))
	t.RawSetString("_NAME", lua.LString("cmsgpack"))
	t.RawSetString("_VERSION", lua.LString("lua-cmsgpack 0.4.0"))
	t.RawSetString("_COPYRIGHT", lua.LString("Copyright (C) 2012, Salvatore Sanfilippo"))
	t.RawSetString("_DESCRIPTION", lua.LString("MessagePack C implementation for Lua"))
	return t
}

func (v *vm) mpPack(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		L.RaiseError("bad argument #0 to 'pack' (MessagePack pack needs input.)")
	}
	enc := mpEncoder{L: L, limit: v.e.maxStr.Load()}
	for i := 1; i <= n; i++ {
		enc.value(L.Get(i), 0)
	}
	L.Push(lua.LString(enc.buf))
	return 1
}

type mpEncoder struct {
	L     *lua.LState
	buf   []byte
	limit int64
}

func (e *mpEncoder) value(lv lua.LValue, level int) {
	if int64(len(e.buf)) > e.limit {
		e.L.RaiseError(errNoMemory)
	}
	switch x := lv.(type) {
	case lua.LString:
		e.bytes(string(x))
	case lua.LBool:
		if x {
			e.buf = append(e.buf, 0xc3)
		} else {
			e.buf = append(e.buf, 0xc2)
		}
	case lua.LNumber:
		f := float64(x)
		if !math.IsInf(f, 0) && float64(toInteger(f)) == f {
			e.int(toInteger(f))
		} else {
			e.double(f)
		}
	case *lua.LTable:
		if level == msgpackMaxNesting {
			e.buf = append(e.buf, 0xc0)
			return
		}
		if isArray(x) {
			n := x.Len()
			e.header(n, 0x90, 0xdc, 0xdd)
			for j := 1; j <= n; j++ {
				e.value(x.RawGetInt(j), level+1)
			}
			return
		}
		n := 0
		x.ForEach(func(lua.LValue, lua.LValue) { n++ })
		e.header(n, 0x80, 0xde, 0xdf)
		x.ForEach(func(k, val lua.LValue) {
			e.value(k, level+1)
			e.value(val, level+1)
		})
	default:
		e.buf = append(e.buf, 0xc0)
	}
}

// isArray is table_is_an_array: every key a positive integer, as many
// keys as the largest.
func isArray(t *lua.LTable) bool {
	count, maxK := 0, 0.0
	ok := true
	t.ForEach(func(k, _ lua.LValue) {
		n, isNum := k.(lua.LNumber)
		f := float64(n)
		if !isNum || f <= 0 || f != math.Trunc(f) || f > math.MaxInt32 {
			ok = false
			return
		}
		if f > maxK {
			maxK = f
		}
		count++
	})
	return ok && int(maxK) == count
}

func (e *mpEncoder) header(n int, fix, b16, b32 byte) {
	switch {
	case n < 16:
		e.buf = append(e.buf, fix|byte(n))
	case n <= 0xffff:
		e.buf = append(e.buf, b16, byte(n>>8), byte(n))
	default:
		e.buf = append(e.buf, b32)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(n))
	}
}

func (e *mpEncoder) bytes(s string) {
	n := len(s)
	switch {
	case n < 32:
		e.buf = append(e.buf, 0xa0|byte(n))
	case n <= 0xff:
		e.buf = append(e.buf, 0xd9, byte(n))
	case n <= 0xffff:
		e.buf = append(e.buf, 0xda, byte(n>>8), byte(n))
	default:
		e.buf = append(e.buf, 0xdb)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(n))
	}
	e.buf = append(e.buf, s...)
}

func (e *mpEncoder) int(n int64) {
	b := e.buf
	if n >= 0 {
		switch {
		case n <= 127:
			b = append(b, byte(n))
		case n <= 0xff:
			b = append(b, 0xcc, byte(n))
		case n <= 0xffff:
			b = append(b, 0xcd, byte(n>>8), byte(n))
		case n <= 0xffffffff:
			b = append(b, 0xce)
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		default:
			b = append(b, 0xcf)
			b = binary.BigEndian.AppendUint64(b, uint64(n))
		}
	} else {
		switch {
		case n >= -32:
			b = append(b, byte(int8(n)))
		case n >= -128:
			b = append(b, 0xd0, byte(int8(n)))
		case n >= -32768:
			b = append(b, 0xd1, byte(n>>8), byte(n))
		case n >= -2147483648:
			b = append(b, 0xd2)
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		default:
			b = append(b, 0xd3)
			b = binary.BigEndian.AppendUint64(b, uint64(n))
		}
	}
	e.buf = b
}

func (e *mpEncoder) double(d float64) {
	if f := float32(d); float64(f) == d {
		e.buf = append(e.buf, 0xca)
		e.buf = binary.BigEndian.AppendUint32(e.buf, math.Float32bits(f))
		return
	}
	e.buf = append(e.buf, 0xcb)
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(d))
}

// Decoding.

type mpCursor struct {
	p   string
	err int // 0, mpEOF, mpBadFmt
}

const (
	mpEOF = iota + 1
	mpBadFmt
)

func (c *mpCursor) need(n int) bool {
	if len(c.p) < n {
		c.err = mpEOF
		return false
	}
	return true
}

// maxMsgpackDepth bounds nested arrays and maps when decoding (Lua runs out
// of stack for them in C).
const maxMsgpackDepth = 2000

func mpUnpackFull(L *lua.LState, limit, offset int) int {
	s := argString(L, 1, "unpack")
	decodeAll := limit == 0 && offset == 0
	if offset < 0 || limit < 0 {
		L.RaiseError("Invalid request to unpack with offset of %d and limit of %d.", offset, len(s))
	} else if offset > len(s) {
		L.RaiseError("Start offset %d greater than input length %d.", offset, len(s))
	}
	if decodeAll {
		limit = math.MaxInt32
	}
	c := &mpCursor{p: s[offset:]}
	cnt := 0
	for ; len(c.p) > 0 && cnt < limit; cnt++ {
		if L.GetTop() >= maxCStack {
			L.RaiseError("stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)")
		}
		v := mpDecode(L, c, 0)
		switch c.err {
		case mpEOF:
			L.RaiseError("Missing bytes in input.")
		case mpBadFmt:
			L.RaiseError("Bad data format in input.")
		}
		L.Push(v)
	}
	if !decodeAll {
		next := len(s) - len(c.p)
		if len(c.p) == 0 {
			next = -1
		}
		L.Insert(lua.LNumber(next), 2)
		cnt++
	}
	return cnt
}

func mpDecode(L *lua.LState, c *mpCursor, depth int) lua.LValue {
	if !c.need(1) {
		return lua.LNil
	}
	if depth > maxMsgpackDepth {
		L.RaiseError("stack overflow (in function mp_decode_to_lua_array)")
	}
	be16 := func() uint64 { return uint64(binary.BigEndian.Uint16([]byte(c.p[1:3]))) }
	be32 := func() uint64 { return uint64(binary.BigEndian.Uint32([]byte(c.p[1:5]))) }
	be64 := func() uint64 { return binary.BigEndian.Uint64([]byte(c.p[1:9])) }
	t := c.p[0]
	switch t {
	case 0xcc:
		if !c.need(2) {
			return lua.LNil
		}
		v := lua.LNumber(c.p[1])
		c.p = c.p[2:]
		return v
	case 0xd0:
		if !c.need(2) {
			return lua.LNil
		}
		v := lua.LNumber(int8(c.p[1]))
		c.p = c.p[2:]
		return v
	case 0xcd, 0xd1:
		if !c.need(3) {
			return lua.LNil
		}
		u := be16()
		c.p = c.p[3:]
		if t == 0xd1 {
			return lua.LNumber(int16(u))
		}
		return lua.LNumber(u)
	case 0xce, 0xd2:
		if !c.need(5) {
			return lua.LNil
		}
		u := be32()
		c.p = c.p[5:]
		if t == 0xd2 {
			return lua.LNumber(int32(u))
		}
		return lua.LNumber(u)
	case 0xcf, 0xd3:
		if !c.need(9) {
			return lua.LNil
		}
		u := be64()
		c.p = c.p[9:]
		if t == 0xd3 {
			return lua.LNumber(float64(int64(u)))
		}
		return lua.LNumber(float64(u))
	case 0xc0:
		c.p = c.p[1:]
		return lua.LNil
	case 0xc3:
		c.p = c.p[1:]
		return lua.LTrue
	case 0xc2:
		c.p = c.p[1:]
		return lua.LFalse
	case 0xca:
		if !c.need(5) {
			return lua.LNil
		}
		f := math.Float32frombits(uint32(be32()))
		c.p = c.p[5:]
		return lua.LNumber(float64(f))
	case 0xcb:
		if !c.need(9) {
			return lua.LNil
		}
		f := math.Float64frombits(be64())
		c.p = c.p[9:]
		return lua.LNumber(f)
	case 0xd9, 0xda, 0xdb:
		hdr := 2
		switch t {
		case 0xda:
			hdr = 3
		case 0xdb:
			hdr = 5
		}
		if !c.need(hdr) {
			return lua.LNil
		}
		var l uint64
		switch t {
		case 0xd9:
			l = uint64(c.p[1])
		case 0xda:
			l = be16()
		default:
			l = be32()
		}
		if uint64(len(c.p)) < uint64(hdr)+l {
			c.err = mpEOF
			return lua.LNil
		}
		v := lua.LString(c.p[hdr : hdr+int(l)])
		c.p = c.p[hdr+int(l):]
		return v
	case 0xdc, 0xdd:
		hdr := 3
		if t == 0xdd {
			hdr = 5
		}
		if !c.need(hdr) {
			return lua.LNil
		}
		var l uint64
		if t == 0xdc {
			l = be16()
		} else {
			l = be32()
		}
		c.p = c.p[hdr:]
		return mpArray(L, c, l, depth)
	case 0xde, 0xdf:
		hdr := 3
		if t == 0xdf {
			hdr = 5
		}
		if !c.need(hdr) {
			return lua.LNil
		}
		var l uint64
		if t == 0xde {
			l = be16()
		} else {
			l = be32()
		}
		c.p = c.p[hdr:]
		return mpMap(L, c, l, depth)
	}
	switch {
	case t&0x80 == 0:
		c.p = c.p[1:]
		return lua.LNumber(t)
	case t&0xe0 == 0xe0:
		c.p = c.p[1:]
		return lua.LNumber(int8(t))
	case t&0xe0 == 0xa0:
		l := int(t & 0x1f)
		if !c.need(1 + l) {
			return lua.LNil
		}
		v := lua.LString(c.p[1 : 1+l])
		c.p = c.p[1+l:]
		return v
	case t&0xf0 == 0x90:
		c.p = c.p[1:]
		return mpArray(L, c, uint64(t&0xf), depth)
	case t&0xf0 == 0x80:
		c.p = c.p[1:]
		return mpMap(L, c, uint64(t&0xf), depth)
	}
	c.err = mpBadFmt
	return lua.LNil
}

func mpArray(L *lua.LState, c *mpCursor, n uint64, depth int) lua.LValue {
	t := L.NewTable()
	for i := uint64(1); i <= n; i++ {
		v := mpDecode(L, c, depth+1)
		if c.err != 0 {
			return t
		}
		t.RawSetInt(int(i), v)
	}
	return t
}

func mpMap(L *lua.LState, c *mpCursor, n uint64, depth int) lua.LValue {
	t := L.NewTable()
	for i := uint64(0); i < n; i++ {
		k := mpDecode(L, c, depth+1)
		if c.err != 0 {
			return t
		}
		v := mpDecode(L, c, depth+1)
		if c.err != 0 {
			return t
		}
		if k == lua.LNil {
			L.RaiseError("table index is nil")
		}
		if f, ok := k.(lua.LNumber); ok && f != f {
			L.RaiseError("table index is NaN")
		}
		t.RawSet(k, v)
	}
	return t
}
