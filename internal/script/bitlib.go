package script

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The bit library: LuaBitOp 1.0 as Redis ships it (deps/lua/src/lua_bit.c).
// Numbers become 32-bit integers the way LuaBitOp converts them (adding
// 2^52+2^51 and keeping the low 32 bits, which rounds to nearest and wraps
// modulo 2^32); results are signed 32-bit numbers.

func newBitLib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	reg := func(name string, fn lua.LGFunction) { t.RawSetString(name, L.NewFunction(fn)) }
	reg("tobit", func(L *lua.LState) int { return bret(L, bitArg(L, 1, "tobit")) })
	reg("bnot", func(L *lua.LState) int { return bret(L, ^bitArg(L, 1, "bnot")) })
	fold := func(name string, op func(a, b uint32) uint32) {
		reg(name, func(L *lua.LState) int {
			b := bitArg(L, 1, name)
			for i := L.GetTop(); i > 1; i-- {
				b = op(b, bitArg(L, i, name))
			}
			return bret(L, b)
		})
	}
	fold("band", func(a, b uint32) uint32 { return a & b })
	fold("bor", func(a, b uint32) uint32 { return a | b })
	fold("bxor", func(a, b uint32) uint32 { return a ^ b })
	shift := func(name string, op func(b, n uint32) uint32) {
		reg(name, func(L *lua.LState) int {
			b := bitArg(L, 1, name)
			n := bitArg(L, 2, name) & 31
			return bret(L, op(b, n))
		})
	}
	shift("lshift", func(b, n uint32) uint32 { return b << n })
	shift("rshift", func(b, n uint32) uint32 { return b >> n })
	shift("arshift", func(b, n uint32) uint32 { return uint32(int32(b) >> n) })
	shift("rol", func(b, n uint32) uint32 { return b<<n | b>>((32-n)&31) })
	shift("ror", func(b, n uint32) uint32 { return b<<((32-n)&31) | b>>n })
	reg("bswap", func(L *lua.LState) int {
		b := bitArg(L, 1, "bswap")
		return bret(L, b>>24|(b>>8)&0xff00|(b&0xff00)<<8|b<<24)
	})
	reg("tohex", func(L *lua.LState) int {
		b := bitArg(L, 1, "tohex")
		n := int32(8)
		if L.GetTop() >= 2 {
			n = int32(bitArg(L, 2, "tohex"))
		}
		digits := "0123456789abcdef"
		if n < 0 {
			n, digits = -n, "0123456789ABCDEF"
		}
		if n > 8 || n < 0 {
			n = 8
		}
		buf := make([]byte, n)
		for i := n - 1; i >= 0; i-- {
			buf[i] = digits[b&15]
			b >>= 4
		}
		L.Push(lua.LString(buf))
		return 1
	})
	return t
}

// bitArg is LuaBitOp's barg.
func bitArg(L *lua.LState, n int, fname string) uint32 {
	f := float64(luaToNumber(L.Get(n)))
	b := uint32(math.Float64bits(f + 6755399441055744.0))
	if b == 0 {
		switch x := L.Get(n).(type) {
		case lua.LNumber:
		case lua.LString:
			if _, ok := str2number(string(x)); ok {
				break
			}
			typeError(L, n, fname, "number")
		default:
			typeError(L, n, fname, "number")
		}
	}
	return b
}

func bret(L *lua.LState, b uint32) int {
	L.Push(lua.LNumber(float64(int32(b))))
	return 1
}
