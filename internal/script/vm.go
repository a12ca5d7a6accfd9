package script

import (
	"context"
	"errors"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// A vm is one Lua state set up as Redis 7.0 sets up its scripting state:
// the base, table, string, math and coroutine libraries (without print,
// dofile, loadfile, getfenv, setfenv, module, require and newproxy), the
// cjson, cmsgpack, bit and struct libraries, and the redis table. Globals
// and every library table are read-only, as in Redis 7.0 (lua_enablereadonlytable):
// scripts see them through empty proxy tables whose __newindex refuses
// writes, so nothing one script does can change what the next one sees in
// this reused state. Reading a global that does not exist is an error.
type vm struct {
	e    *Engine
	L    *lua.LState
	hook hookCtx

	G       *lua.LTable // the real globals
	env     *lua.LTable // G's read-only proxy: the environment of scripts
	proxies map[*lua.LTable]proxy
	errfn   *lua.LFunction // __redis__err__handler
	empty   *lua.LTable    // KEYS and ARGV between runs
	strMeta *lua.LTable    // the read-only view of the string metatable

	// functions state only: library chunks run with fnEnv, an empty table
	// whose __index (in fnEnvMeta) is loadEnv while a library loads and
	// env while its functions run.
	fnEnv, fnEnvMeta, loadEnv *lua.LTable

	fns     map[*lua.FunctionProto]*lua.LFunction // scripts bound to this state
	sources map[string]string                     // loadstring chunk names → their sources

	// run state: set for the duration of one script or function
	run    *Run
	host   Host
	source string // "@user_script" or "@user_function": where errors say they come from

	args   [][]byte // redis.call's arguments, reused
	argBuf []byte
	ends   []int

	orig map[string]lua.LValue // library functions before Ferry's wrappers
}

// proxy records the table a read-only proxy stands for and what
// getmetatable shows for it.
type proxy struct {
	target *lua.LTable
	meta   lua.LValue
}

// Lua limits. Lua 5.1 allows LUAI_MAXCALLS (20000) nested calls and a
// stack of LUAI_MAXCSTACK (8000) values for one C function; these bound
// gopher-lua's call stack and value stack likewise. Coroutines get smaller
// stacks (gopher-lua allocates a thread's call stack whole, 80 bytes a
// frame).
const (
	callStackSize   = 5000
	coCallStackSize = 2000
	coRegistrySize  = 1 << 10
	registryInitial = 8 << 10
	registryMax     = 512 << 10
	registryGrow    = 16 << 10
	maxCStack       = 8000
)

func newVM(e *Engine) *vm {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:     true,
		CallStackSize:    callStackSize,
		RegistrySize:     registryInitial,
		RegistryMaxSize:  registryMax,
		RegistryGrowStep: registryGrow,
	})
	v := &vm{e: e, L: L, proxies: map[*lua.LTable]proxy{},
		fns: map[*lua.FunctionProto]*lua.LFunction{}, sources: map[string]string{},
		orig: map[string]lua.LValue{}}
	v.hook.v = v
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{"", lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath}, {lua.CoroutineLibName, lua.OpenCoroutine},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	v.G = L.G.Global
	for _, name := range []string{"print", "dofile", "loadfile", "getfenv", "setfenv", "module",
		"require", "newproxy", "_printregs", "_GOPHER_LUA_VERSION", "package"} {
		v.G.RawSetString(name, lua.LNil)
	}
	v.setupBase()
	v.setupLibs()
	v.setupRedis()
	v.errfn = L.NewFunction(v.errorHandler)
	v.G.RawSetString("__redis__err__handler", v.errfn)
	v.empty = L.NewTable()
	v.protectGlobals()
	L.SetContext(&v.hook)
	return v
}

// protectGlobals puts the read-only proxies in place: each library table
// in G is replaced by its proxy, G gets the metatable that makes reading
// an unknown global an error, and scripts get G's proxy as environment.
func (v *vm) protectGlobals() {
	L := v.L
	for _, name := range []string{"string", "table", "math", "coroutine", "redis", "bit", "struct", "cjson", "cmsgpack"} {
		if t, ok := v.G.RawGetString(name).(*lua.LTable); ok {
			v.G.RawSetString(name, v.protect(t, lua.LNil))
		}
	}
	// Strings index the string library through their metatable; the
	// metatable is read-only too and indexes the proxy.
	strMT := L.NewTable()
	strMT.RawSetString("__index", v.G.RawGetString("string"))
	L.SetMetatable(lua.LString(""), strMT)
	v.strMeta = v.protect(strMT, lua.LNil)

	gmeta := L.NewTable()
	gmeta.RawSetString("__index", L.NewFunction(globalMissing))
	v.G.Metatable = gmeta
	v.env = v.protect(v.G, v.protect(gmeta, lua.LNil))
	v.G.RawSetString("_G", v.env)
	L.Env = v.env
}

// protect returns a read-only proxy for t; getmetatable(proxy) gives meta.
func (v *vm) protect(t *lua.LTable, meta lua.LValue) *lua.LTable {
	p := v.L.NewTable()
	mt := v.L.NewTable()
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", v.L.NewFunction(readonlyWrite))
	p.Metatable = mt
	v.proxies[p] = proxy{target: t, meta: meta}
	return p
}

// unproxy returns the table a proxy stands for, or t itself.
func (v *vm) unproxy(t *lua.LTable) *lua.LTable {
	if p, ok := v.proxies[t]; ok {
		return p.target
	}
	return t
}

func (v *vm) isProxy(lv lua.LValue) bool {
	t, ok := lv.(*lua.LTable)
	if !ok {
		return false
	}
	_, ok = v.proxies[t]
	return ok
}

const errReadonly = "Attempt to modify a readonly table"

// readonlyWrite is a proxy's __newindex: the error Lua raises for an
// assignment to a read-only table, with the script's position.
func readonlyWrite(L *lua.LState) int {
	L.RaiseError(errReadonly)
	return 0
}

// raiseReadonly is the same error raised by a library function (rawset,
// setmetatable, table.insert), which Lua reports without a position.
func raiseReadonly(L *lua.LState) {
	L.Error(lua.LString(errReadonly), 0)
}

// globalMissing is the globals' __index (luaProtectedTableError).
func globalMissing(L *lua.LState) int {
	if L.GetTop() != 2 {
		L.RaiseError("Wrong number of arguments to luaProtectedTableError")
	}
	k := L.Get(2)
	var name string
	switch kv := k.(type) {
	case lua.LString:
		name = string(kv)
	case lua.LNumber:
		name = formatNumber(float64(kv))
	default:
		L.RaiseError("Second argument to luaProtectedTableError must be a string or number")
	}
	L.RaiseError("Script attempted to access nonexistent global variable '%s'", name)
	return 0
}

// hookCtx is the context the Lua VM consults before every instruction:
// its Done channel is closed once the running script must stop (SCRIPT
// KILL, the memory bound, SHUTDOWN) or a library load ran out of time.
// Consulting it costs a pointer and an atomic load.
type hookCtx struct {
	v        *vm
	deadline time.Time // loading a function library: when to give up
	count    int
}

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

var errStopped = errors.New("script stopped")

func (h *hookCtx) Done() <-chan struct{} {
	if r := h.v.run; r != nil {
		if r.stop.Load() != stopNone {
			return closedCh
		}
		if r.busy.Load() && r.OnBusy != nil {
			f := r.OnBusy
			r.OnBusy = nil // once; only this goroutine reads it
			f()
		}
	}
	if !h.deadline.IsZero() {
		if h.count++; h.count&1023 == 0 && time.Now().After(h.deadline) {
			return closedCh
		}
	}
	return nil
}

func (h *hookCtx) Err() error                  { return errStopped }
func (h *hookCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (h *hookCtx) Value(any) any               { return nil }

var _ context.Context = (*hookCtx)(nil)

// bind returns the function for proto in this state, made once.
func (v *vm) bind(proto *lua.FunctionProto) *lua.LFunction {
	fn := v.fns[proto]
	if fn == nil {
		fn = v.L.NewFunctionFromProto(proto)
		fn.Env = v.env
		v.fns[proto] = fn
	}
	return fn
}

// stringArray makes a Lua array of strings (KEYS, ARGV).
func (v *vm) stringArray(items [][]byte) *lua.LTable {
	t := v.L.CreateTable(len(items), 0)
	for _, it := range items {
		t.Append(lua.LString(it))
	}
	return t
}

// close releases the state.
func (v *vm) close() { v.L.Close() }
