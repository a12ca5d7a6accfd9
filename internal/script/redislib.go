package script

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ferry/internal/proto/resp"
)

// The redis table: Redis 7.0's scripting API (script_lua.c).

// Version is what scripts read in redis.REDIS_VERSION; VersionNum is
// REDIS_VERSION_NUM (0x00MMmmpp).
const (
	Version    = "7.0.15"
	VersionNum = 0x07000f
)

func (v *vm) setupRedis() {
	L := v.L
	t := L.NewTable()
	for name, fn := range map[string]lua.LGFunction{
		"call":               func(L *lua.LState) int { return v.command(L, true) },
		"pcall":              func(L *lua.LState) int { return v.command(L, false) },
		"log":                v.log,
		"sha1hex":            sha1hexFn,
		"error_reply":        errorReply,
		"status_reply":       statusReply,
		"set_repl":           v.setRepl,
		"replicate_commands": func(L *lua.LState) int { L.Push(lua.LTrue); return 1 },
		"breakpoint":         func(L *lua.LState) int { L.Push(lua.LFalse); return 1 },
		"debug":              func(L *lua.LState) int { return 0 },
		"setresp":            v.setresp,
		"acl_check_cmd":      v.aclCheckCmd,
	} {
		t.RawSetString(name, L.NewFunction(fn))
	}
	for name, n := range map[string]int{
		"LOG_DEBUG": 0, "LOG_VERBOSE": 1, "LOG_NOTICE": 2, "LOG_WARNING": 3,
		"REPL_NONE": ReplNone, "REPL_AOF": ReplAOF, "REPL_SLAVE": ReplReplica,
		"REPL_REPLICA": ReplReplica, "REPL_ALL": ReplAll,
	} {
		t.RawSetString(name, lua.LNumber(n))
	}
	t.RawSetString("REDIS_VERSION", lua.LString(Version))
	t.RawSetString("REDIS_VERSION_NUM", lua.LNumber(VersionNum))
	v.G.RawSetString("redis", t)
}

// raiseError raises a Redis error table (luaPushError + luaError): msg is
// "-CODE text" or a bare text that gets ERR.
func raiseError(L *lua.LState, msg string) {
	L.Error(errorTable(L, msg), 0)
}

// command is redis.call (raise) and redis.pcall (luaRedisGenericCommand).
func (v *vm) command(L *lua.LState, raise bool) int {
	fail := func(msg string) int {
		t := errorTable(L, msg)
		if raise {
			L.Error(t, 0)
		}
		L.Push(t)
		return 1
	}
	if v.run == nil || v.host == nil {
		return fail("redis.call/pcall can only be called inside a script invocation")
	}
	args, bad := v.commandArgs(L)
	if bad != "" {
		return fail(bad)
	}
	reply, reject := v.host.Call(args, v.run.resp)
	if reject != "" {
		return fail(reject)
	}
	val, _, err := respToLua(L, reply)
	if err != nil {
		return fail("ERR Ferry could not convert the command's reply for the script")
	}
	if raise && len(reply) > 0 && reply[0] == '-' {
		L.Error(val, 0)
	}
	L.Push(val)
	return 1
}

// commandArgs collects redis.call's arguments as Redis does
// (luaArgsToRedisArgv): strings as they are, numbers with "%.17g",
// anything else refused with the error returned.
func (v *vm) commandArgs(L *lua.LState) ([][]byte, string) {
	n := L.GetTop()
	if n == 0 {
		return nil, "Please specify at least one argument for this redis lib call"
	}
	buf := v.argBuf[:0]
	ends := v.ends[:0]
	for i := 1; i <= n; i++ {
		switch x := L.Get(i).(type) {
		case lua.LString:
			buf = append(buf, x...)
		case lua.LNumber:
			buf = appendG17(buf, float64(x))
		default:
			v.argBuf, v.ends = buf, ends
			return nil, "Lua redis lib command arguments must be strings or integers"
		}
		ends = append(ends, len(buf))
	}
	args := v.args[:0]
	start := 0
	for _, end := range ends {
		args = append(args, buf[start:end:end])
		start = end
	}
	v.argBuf, v.ends, v.args = buf, ends, args
	return args, ""
}

func (v *vm) log(L *lua.LState) int {
	argc := L.GetTop()
	if argc < 2 {
		raiseError(L, "redis.log() requires two arguments or more.")
	}
	lv, ok := L.Get(1).(lua.LNumber)
	if !ok {
		if s, isStr := L.Get(1).(lua.LString); isStr {
			f, numeric := str2number(string(s))
			lv, ok = lua.LNumber(f), numeric
		}
	}
	if !ok {
		raiseError(L, "First argument must be a number (log level).")
	}
	level := luaInt(float64(lv))
	if level < 0 || level > 3 {
		raiseError(L, "Invalid debug level.")
	}
	var msg []byte
	for j := 2; j <= argc; j++ {
		if s, ok := toLuaString(L.Get(j)); ok {
			if j != 2 {
				msg = append(msg, ' ')
			}
			msg = append(msg, s...)
		}
	}
	if v.host != nil {
		v.host.Log(level, string(msg))
	} else if v.e.opts.Log != nil && level == 3 {
		v.e.opts.Log.Warn(string(msg))
	}
	return 0
}

func sha1hexFn(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseError(L, "wrong number of arguments")
	}
	s, _ := toLuaString(L.Get(1))
	sum := sha1.Sum([]byte(s))
	L.Push(lua.LString(hex.EncodeToString(sum[:])))
	return 1
}

// errorReply is redis.error_reply: a table {err=...}, "-" added when the
// message lacks it, so "x y" keeps the code x.
func errorReply(L *lua.LState) int {
	s, ok := L.Get(1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		L.Push(errorTable(L, "wrong number or type of arguments"))
		return 1
	}
	msg := string(s)
	if len(msg) == 0 || msg[0] != '-' {
		msg = "-" + msg
	}
	L.Push(errorTable(L, msg))
	return 1
}

func statusReply(L *lua.LState) int {
	s, ok := L.Get(1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		L.Push(errorTable(L, "wrong number or type of arguments"))
		return 1
	}
	t := L.CreateTable(0, 1)
	t.RawSetString("ok", s)
	L.Push(t)
	return 1
}

func (v *vm) setRepl(L *lua.LState) int {
	if v.run == nil {
		raiseError(L, "redis.set_repl can only be called inside a script invocation")
	}
	if L.GetTop() != 1 {
		raiseError(L, "redis.set_repl() requires two arguments.")
	}
	flags := luaInt(float64(luaToNumber(L.Get(1))))
	if flags&^ReplAll != 0 {
		raiseError(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
	}
	v.run.repl = flags
	return 0
}

func (v *vm) setresp(L *lua.LState) int {
	if v.run == nil {
		raiseError(L, "redis.setresp can only be called inside a script invocation")
	}
	if L.GetTop() != 1 {
		raiseError(L, "redis.setresp() requires one argument.")
	}
	p := luaInt(float64(luaToNumber(L.Get(1))))
	if p != 2 && p != 3 {
		raiseError(L, "RESP version must be 2 or 3.")
	}
	v.run.resp = p
	return 0
}

func (v *vm) aclCheckCmd(L *lua.LState) int {
	if v.run == nil || v.host == nil {
		raiseError(L, "redis.acl_check_cmd can only be called inside a script invocation")
	}
	args, bad := v.commandArgs(L)
	if bad != "" {
		raiseError(L, bad)
	}
	if !v.host.CommandExists(args) {
		raiseError(L, "Invalid command passed to redis.acl_check_cmd()")
	}
	L.Push(lua.LTrue)
	return 1
}

// luaToNumber is lua_tonumber: numbers, numeric strings, else 0.
func luaToNumber(lv lua.LValue) lua.LNumber {
	switch x := lv.(type) {
	case lua.LNumber:
		return x
	case lua.LString:
		if f, ok := str2number(string(x)); ok {
			return lua.LNumber(f)
		}
	}
	return 0
}

// luaInt is Lua 5.1's number-to-int conversion on x86-64 (a C cast to a
// 32-bit int): out of range gives INT_MIN.
func luaInt(f float64) int {
	if f != f || f >= 2147483648 || f <= -2147483649 {
		return -2147483648
	}
	return int(int32(f))
}

// errorHandler is __redis__err__handler: it turns whatever a script raised
// into a Redis error table and records where it was raised (the function
// that raised it, or its caller when that was a library function).
func (v *vm) errorHandler(L *lua.LState) int {
	errv := L.Get(1)
	t, ok := errv.(*lua.LTable)
	if !ok {
		t = L.CreateTable(0, 3)
		var s string
		switch x := errv.(type) {
		case lua.LNumber:
			s = formatNumber(float64(x))
		case lua.LString:
			s = luaMessage(string(x))
		default:
			s = x.String()
		}
		t.RawSetString("err", lua.LString("ERR "+s))
	}
	if v.run != nil {
		switch v.run.stop.Load() {
		case stopKilled:
			t = L.CreateTable(0, 3)
			t.RawSetString("err", lua.LString("ERR Script killed by user with SCRIPT KILL..."))
		case stopMemory:
			t = L.CreateTable(0, 3)
			t.RawSetString("err", lua.LString("ERR Script killed: it used more memory than lua-memory-limit allows"))
		case stopServer:
			t = L.CreateTable(0, 3)
			t.RawSetString("err", lua.LString("ERR Script killed by SHUTDOWN"))
		}
	}
	dbg, ok := L.GetStack(1)
	if ok {
		L.GetInfo("Sl", dbg, lua.LNil)
		if dbg.What == "G" {
			dbg, ok = L.GetStack(2)
			if ok {
				L.GetInfo("Sl", dbg, lua.LNil)
			}
		}
	}
	if ok {
		t.RawSetString("source", lua.LString(v.sourceOf(dbg)))
		t.RawSetString("line", lua.LNumber(dbg.CurrentLine))
	}
	L.Push(t)
	return 1
}

// sourceOf gives a frame's source as Lua's debug.getinfo does:
// "@user_script" for scripts, the chunk text for loadstring chunks.
func (v *vm) sourceOf(dbg *lua.Debug) string {
	if dbg.What == "G" {
		return "=[C]"
	}
	switch dbg.Source {
	case "user_script", "user_function":
		return "@" + dbg.Source
	}
	if src, ok := v.sources[dbg.Source]; ok {
		return src
	}
	return dbg.Source
}

// writeRunError writes the reply for a script that raised an error
// (luaCallFunction): "-<err> script: <name>, on <source>:<line>.".
func (v *vm) writeRunError(w *resp.Writer, name string, err error) {
	var obj lua.LValue = lua.LString(err.Error())
	if ae, ok := err.(*lua.ApiError); ok {
		obj = ae.Object
	}
	t, ok := obj.(*lua.LTable)
	if !ok {
		msg := "execution failure"
		if s, ok := toLuaString(obj); ok {
			msg = s
		}
		// The error handler itself found no room on a full call stack:
		// report the overflow as Redis does.
		if i := strings.Index(msg, ": stack overflow"); i > 0 {
			if j := strings.LastIndexByte(msg[:i], ':'); j > 0 {
				src := msg[:j]
				if src == "user_script" || src == "user_function" {
					src = "@" + src
				}
				w.Error("ERR " + msg + " script: " + name + ", on " + src + ":" + msg[j+1:i] + ".")
				return
			}
		}
		if len(msg) > 100 {
			msg = msg[:100]
		}
		w.Error(trimNewlines("ERR Error running script " + name + ", " + msg))
		return
	}
	msg := "ERR unknown error"
	if s, ok := toLuaString(t.RawGetString("err")); ok {
		msg = s
	}
	source, okS := toLuaString(t.RawGetString("source"))
	line, okL := toLuaString(t.RawGetString("line"))
	if okS && okL {
		msg += " script: " + name + ", on " + source + ":" + line + "."
	}
	w.Error(msg)
}
