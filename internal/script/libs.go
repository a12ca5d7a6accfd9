package script

import (
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/pm"
)

// Library functions Ferry replaces or adds to gopher-lua's string, table,
// math and coroutine libraries, plus the libraries Redis adds (bit,
// struct, cjson, cmsgpack).

func (v *vm) setupLibs() {
	L := v.L
	fn := func(f lua.LGFunction) *lua.LFunction { return L.NewFunction(f) }

	str := v.G.RawGetString("string").(*lua.LTable)
	str.RawSetString("format", fn(v.strFormat))
	str.RawSetString("rep", fn(v.strRep))
	str.RawSetString("gsub", fn(v.strGsub))
	str.RawSetString("__index", lua.LNil)

	tab := v.G.RawGetString("table").(*lua.LTable)
	for _, name := range []string{"insert", "remove", "sort"} {
		orig := tab.RawGetString(name).(*lua.LFunction)
		tab.RawSetString(name, fn(func(L *lua.LState) int {
			if v.isProxy(L.Get(1)) {
				raiseReadonly(L)
			}
			return orig.GFunction(L)
		}))
	}
	tab.RawSetString("concat", fn(v.tabConcat))
	tab.RawSetString("foreach", fn(tabForeach))
	tab.RawSetString("foreachi", fn(tabForeachi))
	tab.RawSetString("setn", fn(func(L *lua.LState) int {
		L.RaiseError("'setn' is obsolete")
		return 0
	}))

	m := v.G.RawGetString("math").(*lua.LTable)
	m.RawSetString("random", fn(v.mathRandom))
	m.RawSetString("randomseed", fn(v.mathRandomseed))

	co := v.G.RawGetString("coroutine").(*lua.LTable)
	create := co.RawGetString("create").(*lua.LFunction)
	co.RawSetString("create", fn(func(L *lua.LState) int {
		defer smallThreads(L)()
		n := create.GFunction(L)
		if th, ok := L.Get(-1).(*lua.LState); ok {
			th.SetContext(&v.hook)
		}
		return n
	}))
	wrap := co.RawGetString("wrap").(*lua.LFunction)
	co.RawSetString("wrap", fn(func(L *lua.LState) int {
		defer smallThreads(L)()
		n := wrap.GFunction(L)
		if cl, ok := L.Get(-1).(*lua.LFunction); ok && len(cl.Upvalues) > 0 {
			if th, ok := cl.Upvalues[0].Value().(*lua.LState); ok {
				th.SetContext(&v.hook)
			}
		}
		return n
	}))

	v.G.RawSetString("bit", newBitLib(L))
	v.G.RawSetString("struct", newStructLib(L, v))
	v.G.RawSetString("cjson", newCJSONLib(L, v))
	v.G.RawSetString("cmsgpack", newMsgpackLib(L, v))
}

// smallThreads makes the threads L creates until the returned function
// runs use coroutine-sized stacks.
func smallThreads(L *lua.LState) func() {
	saved := L.Options
	L.Options.CallStackSize = coCallStackSize
	L.Options.RegistrySize = coRegistrySize
	return func() { L.Options = saved }
}

// errNoMemory is Lua's memory error: what a library function raises
// rather than build a string past the bound (proto-max-bulk-len).
const errNoMemory = "not enough memory"

func (v *vm) checkSize(L *lua.LState, n int64) {
	if n > v.e.maxStr.Load() || n < 0 {
		L.RaiseError(errNoMemory)
	}
}

func (v *vm) strRep(L *lua.LState) int {
	s := argString(L, 1, "rep")
	n := argInt(L, 2, "rep")
	if n <= 0 || len(s) == 0 {
		L.Push(lua.LString(""))
		return 1
	}
	v.checkSize(L, int64(len(s))*int64(n))
	b := make([]byte, 0, len(s)*n)
	for i := 0; i < n; i++ {
		b = append(b, s...)
	}
	L.Push(lua.LString(b))
	return 1
}

// strGsub is Lua 5.1's string.gsub (str_gsub), building its result in one
// pass (gopher-lua's copies the string once per match).
func (v *vm) strGsub(L *lua.LState) int {
	const fname = "gsub"
	src := argString(L, 1, fname)
	pat := argString(L, 2, fname)
	repl := L.Get(3)
	switch repl.Type() {
	case lua.LTNumber, lua.LTString, lua.LTFunction, lua.LTTable:
	default:
		argError(L, 3, fname, "string/function/table expected")
	}
	maxN := argOptInt(L, 4, fname, len(src)+1)
	var replStr string
	if repl.Type() == lua.LTNumber || repl.Type() == lua.LTString {
		replStr, _ = toLuaString(repl)
	}
	if maxN <= 0 {
		L.Push(lua.LString(src))
		L.Push(lua.LNumber(0))
		return 2
	}
	matches, err := pm.Find(pat, unsafeBytes(src), 0, maxN)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	out := make([]byte, 0, len(src))
	prev := 0
	for i, md := range matches {
		if i&255 == 255 && v.run != nil && v.run.stop.Load() != stopNone {
			L.RaiseError("%s", errStopped.Error())
		}
		start, end := md.Capture(0), md.Capture(1)
		out = append(out, src[prev:start]...)
		whole := src[start:end]
		switch repl.Type() {
		case lua.LTNumber, lua.LTString:
			for j := 0; j < len(replStr); j++ {
				c := replStr[j]
				if c != '%' {
					out = append(out, c)
					continue
				}
				j++
				if j >= len(replStr) {
					break
				}
				d := replStr[j]
				switch {
				case !isDigit(d):
					out = append(out, d)
				case d == '0':
					out = append(out, whole...)
				default:
					out = append(out, captureValue(L, md, src, int(d-'1'))...)
				}
			}
		case lua.LTFunction:
			L.Push(repl)
			n := pushCaptures(L, md, src)
			L.Call(n, 1)
			out = appendReplacement(L, out, whole)
		case lua.LTTable:
			L.Push(L.GetTable(repl, captureLValue(L, md, src, 0, true)))
			out = appendReplacement(L, out, whole)
		}
		prev = end
		v.checkSize(L, int64(len(out)))
	}
	out = append(out, src[prev:]...)
	v.checkSize(L, int64(len(out)))
	L.Push(lua.LString(out))
	L.Push(lua.LNumber(len(matches)))
	return 2
}

// appendReplacement adds the value a function or table gave for a match:
// false or nil keep the match, strings and numbers replace it.
func appendReplacement(L *lua.LState, out []byte, whole string) []byte {
	r := L.Get(-1)
	L.Pop(1)
	if r == lua.LNil || r == lua.LFalse {
		return append(out, whole...)
	}
	s, ok := toLuaString(r)
	if !ok {
		L.RaiseError("invalid replacement value (a %s)", r.Type().String())
	}
	return append(out, s...)
}

// captureLValue is Lua's push_onecapture: capture i (0-based), the whole
// match when the pattern has no captures and i is 0.
func captureLValue(L *lua.LState, md *pm.MatchData, src string, i int, wholeOK bool) lua.LValue {
	idx := 2 * (i + 1)
	if idx >= md.CaptureLength() {
		if i == 0 && wholeOK || i == 0 && md.CaptureLength() == 2 {
			return lua.LString(src[md.Capture(0):md.Capture(1)])
		}
		L.RaiseError("invalid capture index")
	}
	if md.IsPosCapture(idx) {
		return lua.LNumber(md.Capture(idx))
	}
	return lua.LString(src[md.Capture(idx):md.Capture(idx+1)])
}

func captureValue(L *lua.LState, md *pm.MatchData, src string, i int) string {
	lv := captureLValue(L, md, src, i, false)
	if n, ok := lv.(lua.LNumber); ok {
		return strconv.Itoa(int(n))
	}
	return string(lv.(lua.LString))
}

func pushCaptures(L *lua.LState, md *pm.MatchData, src string) int {
	n := md.CaptureLength()/2 - 1
	if n == 0 {
		L.Push(lua.LString(src[md.Capture(0):md.Capture(1)]))
		return 1
	}
	for i := 0; i < n; i++ {
		L.Push(captureLValue(L, md, src, i, false))
	}
	return n
}

// tabConcat is Lua 5.1's table.concat; numbers are formatted as Lua
// formats them, and the result is bounded like any string.
func (v *vm) tabConcat(L *lua.LState) int {
	const fname = "concat"
	sep := argOptString(L, 2, fname, "")
	t := argTable(L, 1, fname)
	i := argOptInt(L, 3, fname, 1)
	last := 0
	if L.Get(4) == lua.LNil {
		last = t.Len()
	} else {
		last = argInt(L, 4, fname)
	}
	field := func(k int) string {
		s, ok := toLuaString(t.RawGetInt(k))
		if !ok {
			L.RaiseError("invalid value (at index %d) in table for 'concat'", k)
		}
		return s
	}
	var total int64
	for k := i; k <= last; k++ {
		total += int64(len(field(k)))
		if k < last {
			total += int64(len(sep))
		}
		v.checkSize(L, total)
	}
	out := make([]byte, 0, total)
	for k := i; k <= last; k++ {
		out = append(out, field(k)...)
		if k < last {
			out = append(out, sep...)
		}
	}
	L.Push(lua.LString(out))
	return 1
}

func tabForeach(L *lua.LState) int {
	t := argTable(L, 1, "foreach")
	f := L.CheckFunction(2)
	var k lua.LValue = lua.LNil
	for {
		nk, val := t.Next(k)
		if nk == lua.LNil {
			return 0
		}
		L.Push(f)
		L.Push(nk)
		L.Push(val)
		L.Call(2, 1)
		if r := L.Get(-1); r != lua.LNil {
			return 1
		}
		L.Pop(1)
		k = nk
	}
}

func tabForeachi(L *lua.LState) int {
	t := argTable(L, 1, "foreachi")
	f := L.CheckFunction(2)
	n := t.Len()
	for i := 1; i <= n; i++ {
		L.Push(f)
		L.Push(lua.LNumber(i))
		L.Push(t.RawGetInt(i))
		L.Call(2, 1)
		if r := L.Get(-1); r != lua.LNil {
			return 1
		}
		L.Pop(1)
	}
	return 0
}

// mathRandom is Redis's math.random (redis_math_random): the
// deterministic redisLrand48 generator every script shares.
func (v *vm) mathRandom(L *lua.LState) int {
	r := float64(v.e.rand.next()%math.MaxInt32) / float64(math.MaxInt32)
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := argInt(L, 1, "random")
		if u < 1 {
			argError(L, 1, "random", "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u)) + 1))
	case 2:
		l := argInt(L, 1, "random")
		u := argInt(L, 2, "random")
		if l > u {
			argError(L, 2, "random", "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u-l+1)) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}

func (v *vm) mathRandomseed(L *lua.LState) int {
	v.e.rand.seed(int32(argInt(L, 1, "randomseed")))
	return 0
}

// lrand48 is Redis's redisLrand48 (rand.c): the 48-bit linear
// congruential generator of drand48, seeded as Redis seeds it.
type lrand48 struct{ x [3]uint16 }

func newLrand48() lrand48 { return lrand48{x: [3]uint16{0x330E, 0xABCD, 0x1234}} }

func (r *lrand48) seed(s int32) {
	r.x = [3]uint16{0x330E, uint16(s), uint16(uint32(s) >> 16)}
}

func (r *lrand48) next() int32 {
	x := uint64(r.x[2])<<32 | uint64(r.x[1])<<16 | uint64(r.x[0])
	x = (x*0x5DEECE66D + 0xB) & (1<<48 - 1)
	r.x = [3]uint16{uint16(x), uint16(x >> 16), uint16(x >> 32)}
	return int32(x >> 17)
}
