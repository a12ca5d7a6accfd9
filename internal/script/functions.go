package script

import (
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ferry/internal/proto/resp"
)

// Function libraries (Redis 7.0 functions.c and function_lua.c). A library
// is Lua code after a "#!lua name=<lib>" line; loading runs it with only
// the library API in reach (redis.register_function, redis.log, the
// version and log-level constants) and keeps the functions it registers.
// Functions run in their own Lua state with the same environment EVAL
// scripts get, receiving keys and arguments as their two parameters.
// Function names are case-insensitive; library names are not.

// loadTimeout bounds how long a library's top-level code may run.
const loadTimeout = 500 * time.Millisecond

// Library is a loaded function library.
type Library struct {
	Name  string
	Code  string
	Funcs []*Function // in registration order
}

// Function is a function a library registered.
type Function struct {
	Name    string
	Desc    string
	HasDesc bool
	Flags   Flags
	Lib     *Library
	fn      *lua.LFunction
}

type functions struct {
	mu    sync.RWMutex
	libs  map[string]*Library
	order []*Library
	funcs map[string]*Function // by lower-case name
	vm    *vm                  // made on first load (under Engine.mu)
	load  *loadCtx             // the library being loaded
}

type loadCtx struct {
	lib *Library
}

func (f *functions) init() {
	f.libs = map[string]*Library{}
	f.funcs = map[string]*Function{}
	f.order = nil
}

// functionVM makes the functions state: an EVAL-like state whose scripts'
// environment can be switched between the library API (while loading) and
// the full globals (while running).
func (e *Engine) functionVM() *vm {
	if e.funcs.vm != nil {
		return e.funcs.vm
	}
	v := newVM(e)
	L := v.L
	// The library API: redis.register_function, redis.log, constants.
	api := L.NewTable()
	for _, k := range []string{"log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"} {
		api.RawSetString(k, v.proxies[v.G.RawGetString("redis").(*lua.LTable)].target.RawGetString(k))
	}
	api.RawSetString("register_function", L.NewFunction(e.registerFunction))
	apiMeta := L.NewTable()
	apiMeta.RawSetString("__index", L.NewFunction(apiMissing))
	api.Metatable = apiMeta
	loadGlobals := L.NewTable()
	loadGlobals.RawSetString("redis", v.protect(api, lua.LNil))
	loadGlobals.Metatable = apiMeta
	v.loadEnv = v.protect(loadGlobals, lua.LNil)
	v.fnEnv = L.NewTable()
	v.fnEnvMeta = L.NewTable()
	v.fnEnvMeta.RawSetString("__index", v.env)
	v.fnEnvMeta.RawSetString("__newindex", L.NewFunction(readonlyWrite))
	v.fnEnv.Metatable = v.fnEnvMeta
	v.proxies[v.fnEnv] = proxy{target: v.G, meta: lua.LNil}
	e.funcs.vm = v
	return v
}

// apiMissing is the library API's __index: every unknown name is an
// error, even inside the redis table.
func apiMissing(L *lua.LState) int {
	name, _ := toLuaString(L.Get(2))
	L.RaiseError("Script attempted to access nonexistent global variable '%s'", name)
	return 0
}

// parseLibraryHeader reads "#!<engine> name=<lib>" (functionExtractLibMetaData).
func parseLibraryHeader(code string) (engine, name string, body string, err error) {
	if !strings.HasPrefix(code, "#!") {
		return "", "", "", errf("ERR Missing library metadata")
	}
	end := strings.IndexByte(code, '\n')
	if end < 0 {
		return "", "", "", errf("ERR Invalid library metadata")
	}
	parts, ok := splitArgs(code[:end])
	if !ok || len(parts) == 0 {
		return "", "", "", errf("ERR Invalid library metadata")
	}
	engine = parts[0][2:]
	gotName := false
	for _, p := range parts[1:] {
		if len(p) >= 5 && strings.EqualFold(p[:5], "name=") {
			if gotName {
				return "", "", "", errf("ERR Invalid metadata value, name argument was given multiple times")
			}
			name, gotName = p[5:], true
			continue
		}
		return "", "", "", errf("ERR Invalid metadata value given: " + p)
	}
	if !gotName {
		return "", "", "", errf("ERR Library name was not given")
	}
	return engine, name, code[end:], nil
}

// validName is functionsVerifyName: letters, digits, underscores.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || c == '_') {
			return false
		}
	}
	return true
}

const errNameChars = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"

// LoadLibrary loads a library (FUNCTION LOAD); with replace, a library of
// the same name is replaced. It returns the library's name. The caller
// holds the keyspace (no script runs meanwhile).
func (e *Engine) LoadLibrary(code string, replace bool) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	lib, err := e.buildLibrary(code)
	if err != nil {
		return "", err
	}
	f := &e.funcs
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.libs[lib.Name]
	if old != nil && !replace {
		return "", errf("ERR Library '" + lib.Name + "' already exists")
	}
	for _, fn := range lib.Funcs {
		if other := f.funcs[strings.ToLower(fn.Name)]; other != nil && other.Lib != old {
			return "", errf("ERR Function " + fn.Name + " already exists")
		}
	}
	if old != nil {
		f.unlink(old)
	}
	f.link(lib)
	return lib.Name, nil
}

// buildLibrary compiles and runs a library's code, collecting its
// functions, without linking it.
func (e *Engine) buildLibrary(code string) (*Library, error) {
	engine, name, body, err := parseLibraryHeader(code)
	if err != nil {
		return nil, err
	}
	if !validName(name) {
		return nil, errf(errNameChars)
	}
	if !strings.EqualFold(engine, "lua") {
		return nil, errf("ERR Engine '" + engine + "' not found")
	}
	proto, err := compile(body, "user_function")
	if err != nil {
		return nil, errf("ERR Error compiling function: " + err.Error())
	}
	v := e.functionVM()
	lib := &Library{Name: name, Code: code}
	e.funcs.load = &loadCtx{lib: lib}
	v.hook.deadline = time.Now().Add(loadTimeout)
	v.fnEnvMeta.RawSetString("__index", v.loadEnv)
	fn := v.L.NewFunctionFromProto(proto)
	fn.Env = v.fnEnv
	L := v.L
	L.Push(fn)
	err = L.PCall(0, 0, nil)
	timedOut := !v.hook.deadline.IsZero() && time.Now().After(v.hook.deadline)
	v.hook.deadline = time.Time{}
	v.fnEnvMeta.RawSetString("__index", v.env)
	e.funcs.load = nil
	L.SetTop(0)
	if err != nil {
		msg := "ERR " + err.Error()
		if ae, ok := err.(*lua.ApiError); ok {
			if t, ok := ae.Object.(*lua.LTable); ok {
				msg = "ERR unknown error"
				if s, ok := toLuaString(t.RawGetString("err")); ok {
					msg = s
				}
			} else if s, ok := toLuaString(ae.Object); ok {
				msg = "ERR " + luaMessage(s)
			}
		}
		if timedOut {
			msg = "ERR FUNCTION LOAD timeout"
		}
		return nil, errf("ERR Error registering functions: " + msg)
	}
	if len(lib.Funcs) == 0 {
		return nil, errf("ERR No functions registered")
	}
	return lib, nil
}

// registerFunction is redis.register_function.
func (e *Engine) registerFunction(L *lua.LState) int {
	ctx := e.funcs.load
	if ctx == nil {
		raiseError(L, "redis.register_function can only be called on FUNCTION LOAD command")
	}
	var f Function
	switch L.GetTop() {
	case 1:
		t, ok := L.Get(1).(*lua.LTable)
		if !ok {
			raiseError(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
		}
		var cb *lua.LFunction
		hasName := false
		var k lua.LValue = lua.LNil
		for {
			nk, val := t.Next(k)
			if nk == lua.LNil {
				break
			}
			k = nk
			key, ok := toLuaString(nk)
			if !ok {
				raiseError(L, "named argument key given to redis.register_function is not a string")
			}
			switch strings.ToLower(key) {
			case "function_name":
				s, ok := val.(lua.LString)
				if !ok {
					raiseError(L, "function_name argument given to redis.register_function must be a string")
				}
				f.Name, hasName = string(s), true
			case "description":
				s, ok := val.(lua.LString)
				if !ok {
					raiseError(L, "description argument given to redis.register_function must be a string")
				}
				f.Desc, f.HasDesc = string(s), true
			case "callback":
				fn, ok := val.(*lua.LFunction)
				if !ok {
					raiseError(L, "callback argument given to redis.register_function must be a function")
				}
				cb = fn
			case "flags":
				ft, ok := val.(*lua.LTable)
				if !ok {
					raiseError(L, "flags argument to redis.register_function must be a table representing function flags")
				}
				flags, ok := readFlags(ft)
				if !ok {
					raiseError(L, "unknown flag given")
				}
				f.Flags = flags
			default:
				raiseError(L, "unknown argument given to redis.register_function")
			}
		}
		if !hasName {
			raiseError(L, "redis.register_function must get a function name argument")
		}
		if cb == nil {
			raiseError(L, "redis.register_function must get a callback argument")
		}
		f.fn = cb
	case 2:
		s, ok := L.Get(1).(lua.LString)
		if !ok {
			raiseError(L, "first argument to redis.register_function must be a string")
		}
		fn, ok := L.Get(2).(*lua.LFunction)
		if !ok {
			raiseError(L, "second argument to redis.register_function must be a function")
		}
		f.Name, f.fn = string(s), fn
	default:
		raiseError(L, "wrong number of arguments to redis.register_function")
	}
	if !validName(f.Name) {
		raiseError(L, errNameChars[len("ERR "):])
	}
	for _, other := range ctx.lib.Funcs {
		if strings.EqualFold(other.Name, f.Name) {
			raiseError(L, "Function already exists in the library")
		}
	}
	f.Lib = ctx.lib
	ctx.lib.Funcs = append(ctx.lib.Funcs, &f)
	return 0
}

func readFlags(t *lua.LTable) (Flags, bool) {
	var flags Flags
	for j := 1; ; j++ {
		v := t.RawGetInt(j)
		if v == lua.LNil {
			return flags, true
		}
		s, ok := toLuaString(v)
		if !ok {
			return 0, false
		}
		found := false
		for _, fn := range flagNames {
			if strings.EqualFold(fn.name, s) {
				flags |= fn.f
				found = true
			}
		}
		if !found {
			return 0, false
		}
	}
}

func (f *functions) link(lib *Library) {
	f.libs[lib.Name] = lib
	f.order = append(f.order, lib)
	for _, fn := range lib.Funcs {
		f.funcs[strings.ToLower(fn.Name)] = fn
	}
}

func (f *functions) unlink(lib *Library) {
	delete(f.libs, lib.Name)
	for i, l := range f.order {
		if l == lib {
			f.order = append(f.order[:i:i], f.order[i+1:]...)
			break
		}
	}
	for _, fn := range lib.Funcs {
		delete(f.funcs, strings.ToLower(fn.Name))
	}
}

// DeleteLibrary removes a library (FUNCTION DELETE).
func (e *Engine) DeleteLibrary(name string) error {
	f := &e.funcs
	f.mu.Lock()
	defer f.mu.Unlock()
	lib := f.libs[name]
	if lib == nil {
		return errf("ERR Library not found")
	}
	f.unlink(lib)
	return nil
}

// FlushLibraries removes every library (FUNCTION FLUSH).
func (e *Engine) FlushLibraries() {
	f := &e.funcs
	f.mu.Lock()
	f.init()
	f.mu.Unlock()
}

// Libraries returns the loaded libraries in load order (FUNCTION LIST,
// FUNCTION DUMP, snapshots).
func (e *Engine) Libraries() []*Library {
	f := &e.funcs
	f.mu.RLock()
	defer f.mu.RUnlock()
	return append([]*Library(nil), f.order...)
}

// LibraryCodes returns every library's code in load order: what an RDB
// file stores (one FUNCTION2 record each) and FUNCTION DUMP serializes.
func (e *Engine) LibraryCodes() []string {
	libs := e.Libraries()
	out := make([]string, len(libs))
	for i, l := range libs {
		out[i] = l.Code
	}
	return out
}

// Restore policies of FUNCTION RESTORE.
const (
	RestoreAppend = iota
	RestoreReplace
	RestoreFlush
)

// RestoreLibraries loads libraries from their codes (FUNCTION RESTORE,
// loading an RDB file) all or nothing, under a restore policy.
func (e *Engine) RestoreLibraries(codes []string, policy int) error {
	e.mu.Lock()
	var libs []*Library
	seen := map[string]bool{}
	seenFn := map[string]bool{}
	for _, code := range codes {
		lib, err := e.buildLibrary(code)
		if err != nil {
			e.mu.Unlock()
			return err
		}
		if seen[lib.Name] {
			e.mu.Unlock()
			return errf("ERR Library '" + lib.Name + "' already exists")
		}
		seen[lib.Name] = true
		for _, fn := range lib.Funcs {
			if seenFn[strings.ToLower(fn.Name)] {
				e.mu.Unlock()
				return errf("ERR Function " + fn.Name + " already exists")
			}
			seenFn[strings.ToLower(fn.Name)] = true
		}
		libs = append(libs, lib)
	}
	e.mu.Unlock()
	f := &e.funcs
	f.mu.Lock()
	defer f.mu.Unlock()
	if policy == RestoreFlush {
		f.init()
		for _, lib := range libs {
			f.link(lib)
		}
		return nil
	}
	var replaced []*Library
	for _, lib := range libs {
		if old := f.libs[lib.Name]; old != nil {
			if policy != RestoreReplace {
				return errf("ERR Library " + lib.Name + " already exists")
			}
			replaced = append(replaced, old)
		}
	}
	for _, old := range replaced {
		f.unlink(old)
	}
	for _, lib := range libs {
		for _, fn := range lib.Funcs {
			if f.funcs[strings.ToLower(fn.Name)] != nil {
				for _, old := range replaced {
					f.link(old)
				}
				return errf("ERR Function " + fn.Name + " already exists")
			}
		}
	}
	for _, lib := range libs {
		f.link(lib)
	}
	return nil
}

// Function finds a function by name, in any case.
func (e *Engine) Function(name []byte) *Function {
	f := &e.funcs
	f.mu.RLock()
	fn := f.funcs[strings.ToLower(string(name))]
	f.mu.RUnlock()
	return fn
}

// FunctionCounts reports the number of libraries and functions.
func (e *Engine) FunctionCounts() (libs, funcs int) {
	f := &e.funcs
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.libs), len(f.funcs)
}

// CallFunction runs a library function with keys and arguments (FCALL) and
// writes its reply or error to w.
func (e *Engine) CallFunction(fn *Function, run *Run, keys, args [][]byte, host Host, w *resp.Writer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.functionVM()
	run.Name, run.Eval = fn.Name, false
	e.begin(run)
	v.start(run, host, "@user_function")
	L := v.L
	L.Push(fn.fn)
	L.Push(v.stringArray(keys))
	L.Push(v.stringArray(args))
	if err := L.PCall(2, 1, v.errfn); err != nil {
		v.writeRunError(w, fn.Name, err)
	} else {
		writeValue(w, L.Get(-1), run.resp)
	}
	L.SetTop(0)
	v.finish()
	e.end(run)
}
