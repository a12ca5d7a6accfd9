package script

import (
	"fmt"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Argument checks worded as Lua 5.1's lauxlib words them
// ("bad argument #2 to 'format' (number expected, got nil)"), for the
// library functions Ferry implements.

func argError(L *lua.LState, n int, fname, msg string) {
	L.RaiseError("bad argument #%d to '%s' (%s)", n, fname, msg)
}

// typeName is luaL_typename: "no value" for a missing argument.
func typeName(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	return L.Get(n).Type().String()
}

func typeError(L *lua.LState, n int, fname, want string) {
	argError(L, n, fname, fmt.Sprintf("%s expected, got %s", want, typeName(L, n)))
}

// argNumber is luaL_checknumber: numbers and numeric strings.
func argNumber(L *lua.LState, n int, fname string) float64 {
	switch x := L.Get(n).(type) {
	case lua.LNumber:
		return float64(x)
	case lua.LString:
		if f, ok := str2number(string(x)); ok {
			return f
		}
	}
	typeError(L, n, fname, "number")
	return 0
}

// argOptNumber is luaL_optnumber.
func argOptNumber(L *lua.LState, n int, fname string, def float64) float64 {
	if L.Get(n) == lua.LNil {
		return def
	}
	return argNumber(L, n, fname)
}

// argInt is luaL_checkint (a C int).
func argInt(L *lua.LState, n int, fname string) int {
	return luaInt(argNumber(L, n, fname))
}

// argOptInt is luaL_optint.
func argOptInt(L *lua.LState, n int, fname string, def int) int {
	if L.Get(n) == lua.LNil {
		return def
	}
	return argInt(L, n, fname)
}

// argString is luaL_checklstring: strings, and numbers converted.
func argString(L *lua.LState, n int, fname string) string {
	if s, ok := toLuaString(L.Get(n)); ok {
		return s
	}
	typeError(L, n, fname, "string")
	return ""
}

// argOptString is luaL_optlstring.
func argOptString(L *lua.LState, n int, fname, def string) string {
	if L.Get(n) == lua.LNil {
		return def
	}
	return argString(L, n, fname)
}

// argTable is luaL_checktype(L, n, LUA_TTABLE).
func argTable(L *lua.LState, n int, fname string) *lua.LTable {
	if t, ok := L.Get(n).(*lua.LTable); ok {
		return t
	}
	typeError(L, n, fname, "table")
	return nil
}

// quoteArgError rewrites gopher-lua's argument errors ("bad argument #1
// to sub (number expected, got nil)") the way Lua 5.1 words them, with the
// function name quoted ("to 'sub'"; "to '?'" when unknown).
func quoteArgError(msg string) string {
	const marker = "bad argument #"
	i := strings.Index(msg, marker)
	if i < 0 {
		return msg
	}
	j := i + len(marker)
	for j < len(msg) && isDigit(msg[j]) {
		j++
	}
	if !strings.HasPrefix(msg[j:], " to ") {
		return msg
	}
	j += len(" to ")
	end := strings.Index(msg[j:], " (")
	if end < 0 {
		return msg
	}
	name := msg[j : j+end]
	if strings.HasPrefix(name, "'") {
		return msg
	}
	if strings.HasPrefix(name, "<") || name == "(anonymous)" {
		name = "?"
	}
	return msg[:j] + "'" + name + "'" + msg[j+end:]
}

// luaWhere is luaL_where: "chunk:line: " for the Lua function at level
// (1 = the caller of the running Go function), "" for a Go function.
func luaWhere(L *lua.LState, level int) string {
	dbg, ok := L.GetStack(level)
	if !ok {
		return ""
	}
	if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil || dbg.What == "G" || dbg.CurrentLine < 0 {
		return ""
	}
	return dbg.Source + ":" + strconv.Itoa(dbg.CurrentLine) + ": "
}

// luaMessage rewrites gopher-lua's runtime error texts into Lua 5.1's
// ("attempt to index a nil value", "attempt to perform arithmetic on a
// string value", ...), and quotes function names in argument errors.
// Lua 5.1 also names the variable involved ("local 'x'"), which gopher-lua
// does not track; those messages come out in Lua's unnamed form.
func luaMessage(msg string) string {
	msg = quoteArgError(msg)
	// Keep the position prefix ("user_script:1: ").
	prefix, body := "", msg
	if i := strings.Index(msg, ": "); i >= 0 && strings.IndexByte(msg[:i], ' ') < 0 {
		prefix, body = msg[:i+2], msg[i+2:]
	}
	switch {
	case strings.HasPrefix(body, "attempt to index a non-table object("):
		rest := body[len("attempt to index a non-table object("):]
		if j := strings.IndexByte(rest, ')'); j >= 0 {
			return prefix + "attempt to index a " + rest[:j] + " value"
		}
	case strings.HasPrefix(body, "cannot perform ") && strings.Contains(body, " operation between "):
		rest := body[len("cannot perform "):]
		op := rest[:strings.IndexByte(rest, ' ')]
		types := strings.SplitN(rest[strings.Index(rest, " operation between ")+len(" operation between "):], " and ", 2)
		if len(types) == 2 {
			a, b := types[0], types[1]
			if op == "concat" {
				bad := a
				if a == "string" || a == "number" {
					bad = b
				}
				return prefix + "attempt to concatenate a " + bad + " value"
			}
			bad := a
			if a == "number" {
				bad = b
			}
			return prefix + "attempt to perform arithmetic on a " + bad + " value"
		}
	case body == "__len undefined":
		return prefix + "attempt to get length of a nil value"
	case body == "__unm undefined":
		return prefix + "attempt to perform arithmetic on a nil value"
	case body == "attempt to call a non-function object":
		return prefix + "attempt to call a nil value"
	case strings.HasPrefix(body, "attempt to compare "):
		parts := strings.SplitN(body[len("attempt to compare "):], " with ", 2)
		if len(parts) == 2 && parts[0] == parts[1] {
			return prefix + "attempt to compare two " + parts[0] + " values"
		}
	}
	return msg
}
