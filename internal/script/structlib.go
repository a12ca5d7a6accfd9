package script

import (
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The struct library as Redis ships it (deps/lua/src/lua_struct.c, Roberto
// Ierusalimschy's struct 0.2 with Redis's bounds checks): struct.pack,
// struct.unpack and struct.size over formats of
//
//	> <   big / little endian (default: native, little on x86-64)
//	![n]  maximum alignment (default 8)
//	x     padding byte
//	b B   signed / unsigned char      h H  short      l L  long (8)
//	T     size_t (8)                  i[n] I[n]  int of n bytes (default 4, at most 32)
//	f d   float / double
//	c[n]  n chars (pack: 0 = the whole string; unpack: 0 = the previous number)
//	s     zero-terminated string
//	' '   ignored

const (
	structMaxIntSize = 32
	structMaxAlign   = 8
)

type structHeader struct {
	little bool
	align  int
}

func newStructLib(L *lua.LState, v *vm) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(v.structPack))
	t.RawSetString("unpack", L.NewFunction(structUnpack))
	t.RawSetString("size", L.NewFunction(structSize))
	return t
}

type structFmt struct {
	L     *lua.LState
	s     string
	i     int
	fname string
}

func (f *structFmt) more() bool { return f.i < len(f.s) }

func (f *structFmt) next() byte {
	c := f.s[f.i]
	f.i++
	return c
}

func (f *structFmt) getnum(def int) int {
	if !f.more() || !isDigit(f.s[f.i]) {
		return def
	}
	a := 0
	for f.more() && isDigit(f.s[f.i]) {
		d := int(f.s[f.i] - '0')
		if a > (math.MaxInt32/10) || a*10 > math.MaxInt32-d {
			f.L.RaiseError("integral size overflow")
		}
		a = a*10 + d
		f.i++
	}
	return a
}

func (f *structFmt) optsize(opt byte) int {
	switch opt {
	case 'B', 'b':
		return 1
	case 'H', 'h':
		return 2
	case 'L', 'l', 'T', 'd':
		return 8
	case 'f':
		return 4
	case 'x':
		return 1
	case 'c':
		return f.getnum(1)
	case 'i', 'I':
		sz := f.getnum(4)
		if sz > structMaxIntSize {
			f.L.RaiseError("integral size %d is larger than limit of %d", sz, structMaxIntSize)
		}
		return sz
	}
	return 0
}

func structToAlign(pos int, h *structHeader, opt byte, size int) int {
	if size == 0 || opt == 'c' {
		return 0
	}
	if size > h.align {
		size = h.align
	}
	return (size - (pos & (size - 1))) & (size - 1)
}

func (f *structFmt) control(opt byte, h *structHeader) {
	switch opt {
	case ' ':
	case '>':
		h.little = false
	case '<':
		h.little = true
	case '!':
		a := f.getnum(structMaxAlign)
		if a <= 0 || a&(a-1) != 0 {
			f.L.RaiseError("alignment %d is not a power of 2", a)
		}
		h.align = a
	default:
		argError(f.L, 1, f.fname, fmt.Sprintf("invalid format option '%c'", opt))
	}
}

func putInt(buf []byte, value uint64, little bool, size int) []byte {
	b := make([]byte, size)
	for i := 0; i < size; i++ {
		idx := size - 1 - i
		if little {
			idx = i
		}
		b[idx] = byte(value)
		value >>= 8
	}
	return append(buf, b...)
}

func (v *vm) structPack(L *lua.LState) int {
	const fname = "pack"
	f := &structFmt{L: L, s: argString(L, 1, fname), fname: fname}
	h := structHeader{little: true, align: 1}
	arg := 2
	var out []byte
	for f.more() {
		opt := f.next()
		size := f.optsize(opt)
		toalign := structToAlign(len(out), &h, opt, size)
		for ; toalign > 0; toalign-- {
			out = append(out, 0)
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			n := argNumber(L, arg, fname)
			arg++
			var value uint64
			if n < 0 {
				value = uint64(toInteger(n))
			} else {
				value = cULong(n)
			}
			out = putInt(out, value, h.little, size)
		case 'x':
			out = append(out, 0)
		case 'f':
			bits := math.Float32bits(float32(argNumber(L, arg, fname)))
			arg++
			out = putInt(out, uint64(bits), h.little, 4)
		case 'd':
			bits := math.Float64bits(argNumber(L, arg, fname))
			arg++
			out = putInt(out, bits, h.little, 8)
		case 'c', 's':
			s := argString(L, arg, fname)
			arg++
			if size == 0 {
				size = len(s)
			}
			if len(s) < size {
				argError(L, arg, fname, "string too short")
			}
			v.checkSize(L, int64(len(out)+size))
			out = append(out, s[:size]...)
			if opt == 's' {
				out = append(out, 0)
			}
		default:
			f.control(opt, &h)
		}
	}
	L.Push(lua.LString(out))
	return 1
}

func getInt(b []byte, little, signed bool, size int) float64 {
	var l uint64
	for i := 0; i < size; i++ {
		idx := i
		if little {
			idx = size - 1 - i
		}
		l = l<<8 | uint64(b[idx])
	}
	if !signed {
		return float64(l)
	}
	mask := ^uint64(0) << (uint(size*8-1) & 63)
	if l&mask != 0 {
		l |= mask
	}
	return float64(int64(l))
}

func structUnpack(L *lua.LState) int {
	const fname = "unpack"
	f := &structFmt{L: L, s: argString(L, 1, fname), fname: fname}
	data := argString(L, 2, fname)
	ld := len(data)
	posArg := argOptNumber(L, 3, fname, 1)
	pos := int64(toInteger(posArg))
	if pos <= 0 {
		if pos == 0 {
			argError(L, 3, fname, "offset must be 1 or greater")
		}
		argError(L, 2, fname, "data string too short")
	}
	pos--
	h := structHeader{little: true, align: 1}
	n := 0
	for f.more() {
		opt := f.next()
		size := f.optsize(opt)
		pos += int64(structToAlign(int(pos), &h, opt, size))
		if size > ld || pos > int64(ld-size) {
			argError(L, 2, fname, "data string too short")
		}
		if L.GetTop()+2 >= maxCStack {
			L.RaiseError("stack overflow (too many results)")
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			signed := opt >= 'a'
			L.Push(lua.LNumber(getInt([]byte(data[pos:pos+int64(size)]), h.little, signed, size)))
			n++
		case 'x':
		case 'f':
			bits := uint32(getIntU(data[pos:pos+4], h.little))
			L.Push(lua.LNumber(float64(math.Float32frombits(bits))))
			n++
		case 'd':
			L.Push(lua.LNumber(math.Float64frombits(getIntU(data[pos:pos+8], h.little))))
			n++
		case 'c':
			if size == 0 {
				if n == 0 {
					L.RaiseError("format 'c0' needs a previous size")
				}
				prev, ok := L.Get(-1).(lua.LNumber)
				if !ok {
					L.RaiseError("format 'c0' needs a previous size")
				}
				size = int(cULong(float64(prev)))
				if float64(prev) < 0 || float64(prev) > float64(ld) {
					size = ld + 1
				}
				L.Pop(1)
				n--
				if size > ld || pos > int64(ld-size) {
					argError(L, 2, fname, "data string too short")
				}
			}
			L.Push(lua.LString(data[pos : pos+int64(size)]))
			n++
		case 's':
			e := -1
			for k := pos; k < int64(ld); k++ {
				if data[k] == 0 {
					e = int(k)
					break
				}
			}
			if e < 0 {
				L.RaiseError("unfinished string in data")
			}
			size = e - int(pos) + 1
			L.Push(lua.LString(data[pos : pos+int64(size)-1]))
			n++
		default:
			f.control(opt, &h)
		}
		pos += int64(size)
	}
	L.Push(lua.LNumber(pos + 1))
	return n + 1
}

func getIntU(b string, little bool) uint64 {
	var l uint64
	for i := 0; i < len(b); i++ {
		idx := i
		if little {
			idx = len(b) - 1 - i
		}
		l = l<<8 | uint64(b[idx])
	}
	return l
}

func structSize(L *lua.LState) int {
	const fname = "size"
	f := &structFmt{L: L, s: argString(L, 1, fname), fname: fname}
	h := structHeader{little: true, align: 1}
	pos := 0
	for f.more() {
		opt := f.next()
		size := f.optsize(opt)
		pos += structToAlign(pos, &h, opt, size)
		if opt == 's' {
			argError(L, 1, fname, "option 's' has no fixed size")
		} else if opt == 'c' && size == 0 {
			argError(L, 1, fname, "option 'c0' has no fixed size")
		}
		if !isAlnum(opt) {
			f.control(opt, &h)
		}
		pos += size
	}
	L.Push(lua.LNumber(pos))
	return 1
}
