package script

import (
	"bytes"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Base library functions Ferry replaces: where gopher-lua differs from
// Lua 5.1 as Redis embeds it (number formatting and parsing, error values,
// Redis's pcall), and where a function must see through the read-only
// proxies (rawget, next, pairs, ipairs) or refuse to write through them
// (rawset, setmetatable).

func (v *vm) setupBase() {
	L := v.L
	for _, name := range []string{"setmetatable", "rawset", "rawget", "unpack", "select"} {
		v.orig[name] = v.G.RawGetString(name)
	}
	set := func(name string, fn lua.LGFunction) { v.G.RawSetString(name, L.NewFunction(fn)) }
	set("error", luaError)
	set("pcall", v.pcall)
	set("tostring", luaTostring)
	set("tonumber", luaTonumber)
	set("loadstring", v.loadstring)
	set("load", v.load)
	set("getmetatable", v.getmetatable)
	set("setmetatable", v.setmetatable)
	set("rawget", v.rawget)
	set("rawset", v.rawset)
	set("next", v.next)
	set("pairs", v.pairs)
	set("ipairs", v.ipairs)
	set("unpack", luaUnpack)
	set("gcinfo", v.gcinfo)
	set("collectgarbage", v.collectgarbage)
	v.G.RawSetString("_VERSION", lua.LString("Lua 5.1"))
}

// luaError is Lua 5.1's error: string and number messages get the position
// of the function at level (default 1).
func luaError(L *lua.LState) int {
	msg := L.Get(1)
	level := L.OptInt(2, 1)
	switch m := msg.(type) {
	case lua.LString:
		if level > 0 {
			m = lua.LString(luaWhere(L, level)) + m
		}
		L.Error(m, 0)
	case lua.LNumber:
		if level > 0 {
			L.Error(lua.LString(luaWhere(L, level)+formatNumber(float64(m))), 0)
		}
		L.Error(m, 0)
	default:
		L.Error(msg, 0)
	}
	return 0
}

// pcall is Redis 7.0's replacement for Lua's pcall (luaRedisPcall): a
// Redis error table caught from the called function becomes its message
// string, so scripts written for older Redis versions keep working.
func (v *vm) pcall(L *lua.LState) int {
	if L.GetTop() == 0 {
		// Redis calls the boolean it pushed as a placeholder.
		L.Push(lua.LFalse)
		L.Push(lua.LString("attempt to call a boolean value"))
		return 2
	}
	fn := L.Get(1)
	if fn.Type() != lua.LTFunction && L.GetMetaField(fn, "__call").Type() != lua.LTFunction {
		L.SetTop(0)
		L.Push(lua.LFalse)
		L.Push(lua.LString("attempt to call a " + fn.Type().String() + " value"))
		return 2
	}
	nargs := L.GetTop() - 1
	if err := L.PCall(nargs, lua.MultRet, nil); err != nil {
		var obj lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok {
			obj = ae.Object
		}
		switch o := obj.(type) {
		case *lua.LTable:
			if s, ok := toLuaString(o.RawGetString("err")); ok {
				obj = lua.LString(s)
			}
		case lua.LString:
			obj = lua.LString(luaMessage(string(o)))
		}
		L.Push(lua.LFalse)
		L.Push(obj)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// isLuaString reports what lua_isstring does: strings and numbers.
func isLuaString(lv lua.LValue) bool {
	switch lv.(type) {
	case lua.LString, lua.LNumber:
		return true
	}
	return false
}

// toLuaString converts as lua_tolstring does (numbers with "%.14g").
func toLuaString(lv lua.LValue) (string, bool) {
	switch x := lv.(type) {
	case lua.LString:
		return string(x), true
	case lua.LNumber:
		return formatNumber(float64(x)), true
	}
	return "", false
}

func luaTostring(L *lua.LState) int {
	lv := L.CheckAny(1)
	if n, ok := lv.(lua.LNumber); ok {
		L.Push(lua.LString(formatNumber(float64(n))))
		return 1
	}
	if fn := L.GetMetaField(lv, "__tostring"); fn != lua.LNil {
		L.Push(fn)
		L.Push(lv)
		L.Call(1, 1)
		return 1
	}
	L.Push(lua.LString(lv.String()))
	return 1
}

// luaTonumber is Lua 5.1's tonumber (strtod for base 10, strtoul for
// other bases).
func luaTonumber(L *lua.LState) int {
	base := L.OptInt(2, 10)
	if base == 10 {
		lv := L.CheckAny(1)
		switch x := lv.(type) {
		case lua.LNumber:
			L.Push(x)
			return 1
		case lua.LString:
			if f, ok := str2number(string(x)); ok {
				L.Push(lua.LNumber(f))
				return 1
			}
		}
		L.Push(lua.LNil)
		return 1
	}
	s := checkLString(L, 1)
	if base < 2 || base > 36 {
		L.ArgError(2, "base out of range")
	}
	n, used := strtoul(s, base)
	if used > 0 {
		for used < len(s) && isSpace(s[used]) {
			used++
		}
		if used == len(s) {
			L.Push(lua.LNumber(float64(n)))
			return 1
		}
	}
	L.Push(lua.LNil)
	return 1
}

// checkLString is luaL_checkstring: strings, and numbers converted.
func checkLString(L *lua.LState, n int) string {
	lv := L.Get(n)
	if s, ok := toLuaString(lv); ok {
		return s
	}
	L.TypeError(n, lua.LTString)
	return ""
}

// optLString is luaL_optstring.
func optLString(L *lua.LState, n int, def string) string {
	if L.Get(n) == lua.LNil {
		return def
	}
	return checkLString(L, n)
}

// loadstring compiles a chunk in the scripts' read-only environment.
func (v *vm) loadstring(L *lua.LState) int {
	src := checkLString(L, 1)
	name := optLString(L, 2, src)
	return v.loadChunk(L, src, name)
}

// load reads a chunk from a function returning pieces until nil or "".
func (v *vm) load(L *lua.LState) int {
	fn, ok := L.Get(1).(*lua.LFunction)
	if !ok {
		typeError(L, 1, "load", "function")
	}
	name := optLString(L, 2, "=(load)")
	var buf bytes.Buffer
	for {
		L.Push(fn)
		L.Call(0, 1)
		piece := L.Get(-1)
		L.Pop(1)
		if piece == lua.LNil {
			break
		}
		s, ok := piece.(lua.LString)
		if !ok {
			L.RaiseError("reader function must return a string")
		}
		if len(s) == 0 {
			break
		}
		if int64(buf.Len()+len(s)) > v.e.maxStr.Load() {
			L.RaiseError("chunk too large")
		}
		buf.WriteString(string(s))
	}
	return v.loadChunk(L, buf.String(), name)
}

func (v *vm) loadChunk(L *lua.LState, src, name string) int {
	id := chunkID(name)
	proto, err := compile(src, id)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	if len(v.sources) < 64 {
		v.sources[id] = name
	}
	fn := L.NewFunctionFromProto(proto)
	fn.Env = v.env
	L.Push(fn)
	return 1
}

// chunkID is Lua 5.1's luaO_chunkid: how a chunk names itself in error
// positions ("=name" → name, "@file" → file, source → [string "..."]).
func chunkID(source string) string {
	const idSize = 60
	switch {
	case strings.HasPrefix(source, "="):
		s := source[1:]
		if len(s) > idSize-1 {
			s = s[:idSize-1]
		}
		return s
	case strings.HasPrefix(source, "@"):
		s := source[1:]
		if len(s) > idSize-1 {
			s = "..." + s[len(s)-(idSize-1-3):]
		}
		return s
	}
	line := source
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	room := idSize - len(`[string "..."]`) - 1
	if len(line) > room || len(line) < len(source) {
		if len(line) > room {
			line = line[:room]
		}
		return `[string "` + line + `..."]`
	}
	return `[string "` + line + `"]`
}

func (v *vm) getmetatable(L *lua.LState) int {
	lv := L.CheckAny(1)
	switch x := lv.(type) {
	case *lua.LTable:
		if p, ok := v.proxies[x]; ok {
			L.Push(p.meta)
			return 1
		}
	case lua.LString:
		L.Push(v.strMeta)
		return 1
	}
	mt := L.GetMetatable(lv)
	if t, ok := mt.(*lua.LTable); ok {
		if m := t.RawGetString("__metatable"); m != lua.LNil {
			L.Push(m)
			return 1
		}
	}
	L.Push(mt)
	return 1
}

func (v *vm) setmetatable(L *lua.LState) int {
	if v.isProxy(L.Get(1)) {
		raiseReadonly(L)
	}
	return v.callOrig(L, "setmetatable")
}

func (v *vm) rawset(L *lua.LState) int {
	if v.isProxy(L.Get(1)) {
		raiseReadonly(L)
	}
	return v.callOrig(L, "rawset")
}

func (v *vm) rawget(L *lua.LState) int {
	t := L.CheckTable(1)
	L.CheckAny(2)
	L.Push(v.unproxy(t).RawGet(L.Get(2)))
	return 1
}

// callOrig runs the library's own function on the current arguments.
func (v *vm) callOrig(L *lua.LState, name string) int {
	fn := v.orig[name].(*lua.LFunction)
	return fn.GFunction(L)
}

func (v *vm) next(L *lua.LState) int {
	t := v.unproxy(L.CheckTable(1))
	k, val := t.Next(L.Get(2))
	if k == lua.LNil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(k)
	L.Push(val)
	return 2
}

func (v *vm) pairs(L *lua.LState) int {
	t := L.CheckTable(1)
	L.Push(v.G.RawGetString("next"))
	L.Push(t)
	L.Push(lua.LNil)
	return 3
}

func (v *vm) ipairs(L *lua.LState) int {
	t := L.CheckTable(1)
	L.Push(L.NewFunction(v.ipairsAux))
	L.Push(t)
	L.Push(lua.LNumber(0))
	return 3
}

func (v *vm) ipairsAux(L *lua.LState) int {
	t := v.unproxy(L.CheckTable(1))
	i := L.CheckInt(2) + 1
	val := t.RawGetInt(i)
	if val == lua.LNil {
		return 0
	}
	L.Push(lua.LNumber(i))
	L.Push(val)
	return 2
}

// luaUnpack is Lua 5.1's unpack, including its limit on the number of
// results (the C stack, LUAI_MAXCSTACK).
func luaUnpack(L *lua.LState) int {
	t := L.CheckTable(1)
	i := L.OptInt(2, 1)
	e := L.OptInt(3, t.Len())
	if i > e {
		return 0
	}
	n := e - i + 1
	if n <= 0 || n+L.GetTop() >= maxCStack {
		L.RaiseError("too many results to unpack")
	}
	for ; i <= e; i++ {
		L.Push(t.RawGetInt(i))
	}
	return n
}

// gcinfo and collectgarbage report the memory Lua uses; Lua values live on
// the Go heap, collected by Go's collector, so "collect" and "step" have
// nothing to do (a script cannot force a collection of the whole server).
func (v *vm) gcinfo(L *lua.LState) int {
	L.Push(lua.LNumber(float64(v.memKB())))
	return 1
}

func (v *vm) collectgarbage(L *lua.LState) int {
	opt := optLString(L, 1, "collect")
	switch opt {
	case "count":
		L.Push(lua.LNumber(float64(v.memKB())))
	case "step":
		L.Push(lua.LTrue)
	case "collect", "stop", "restart", "setpause", "setstepmul":
		L.Push(lua.LNumber(0))
	default:
		L.ArgError(1, "invalid option '"+opt+"'")
	}
	return 1
}

// memKB estimates a state's memory in KB: its value stack and bound
// scripts (Go does not account memory per state).
func (v *vm) memKB() int {
	return 24 + len(v.fns)
}
