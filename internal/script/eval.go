package script

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ferry/internal/proto/resp"
)

// Flags are the script flags of a "#!lua flags=..." shebang or of
// redis.register_function (Redis 7.0 SCRIPT_FLAG_*).
type Flags uint32

// Script flags.
const (
	FlagNoWrites       Flags = 1 << iota // no-writes
	FlagAllowOOM                         // allow-oom
	FlagAllowStale                       // allow-stale
	FlagNoCluster                        // no-cluster
	FlagAllowCrossSlot                   // allow-cross-slot-keys
	// FlagEvalCompat marks an EVAL script without a shebang: it runs
	// with the command's flags, as before Redis 7.0.
	FlagEvalCompat
)

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagNoWrites, "no-writes"}, {FlagAllowOOM, "allow-oom"}, {FlagAllowStale, "allow-stale"},
	{FlagNoCluster, "no-cluster"}, {FlagAllowCrossSlot, "allow-cross-slot-keys"},
}

// Names lists the flags as FUNCTION LIST prints them.
func (f Flags) Names() []string {
	var out []string
	for _, fn := range flagNames {
		if f&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

func flagByName(name string) (Flags, bool) {
	for _, fn := range flagNames {
		if fn.name == name {
			return fn.f, true
		}
	}
	return 0, false
}

// Error is an error whose text is the complete reply Redis gives
// ("ERR Error compiling script ...", "ERR Library not found").
type Error struct{ Text string }

func (e *Error) Error() string { return e.Text }

func errf(text string) error { return &Error{Text: text} }

// Script is a compiled EVAL script.
type Script struct {
	SHA   string
	Body  string
	Flags Flags
	proto *lua.FunctionProto
}

// SHA1Hex returns the lower-case hex SHA1 of b (a script's name).
func SHA1Hex(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// ParseShebang reads the flags of an EVAL script's "#!lua flags=..."
// line (evalExtractShebangFlags); a script without one gets
// FlagEvalCompat. It returns the length of the line (without its newline,
// which stays so line numbers do not change).
func ParseShebang(body string) (Flags, int, error) {
	if !strings.HasPrefix(body, "#!") {
		return FlagEvalCompat, 0, nil
	}
	end := strings.IndexByte(body, '\n')
	if end < 0 {
		return 0, 0, errf("ERR Invalid script shebang")
	}
	parts, ok := splitArgs(body[:end])
	if !ok || len(parts) == 0 {
		return 0, 0, errf("ERR Invalid engine in script shebang")
	}
	if parts[0] != "#!lua" {
		return 0, 0, errf("ERR Unexpected engine in script shebang: " + parts[0])
	}
	var flags Flags
	for _, p := range parts[1:] {
		if !strings.HasPrefix(p, "flags=") {
			return 0, 0, errf("ERR Unknown lua shebang option: " + p)
		}
		list := p[len("flags="):]
		if list == "" {
			continue
		}
		for _, name := range strings.Split(list, ",") {
			f, ok := flagByName(name)
			if !ok {
				return 0, 0, errf("ERR Unexpected flag in script shebang: " + name)
			}
			flags |= f
		}
	}
	return flags, end, nil
}

// splitArgs splits a line as Redis's sdssplitargs does: words separated by
// blanks, "double quoted" (with \n, \t, \xHH ... escapes) or 'single quoted'.
func splitArgs(line string) ([]string, bool) {
	var out []string
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return out, true
		}
		var cur []byte
		inq, insq := false, false
		for {
			if inq {
				if i >= len(line) {
					return nil, false
				}
				c := line[i]
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && hexVal(line[i+2]) >= 0 && hexVal(line[i+3]) >= 0:
					cur = append(cur, byte(hexVal(line[i+2])*16+hexVal(line[i+3])))
					i += 3
				case c == '\\' && i+1 < len(line):
					i++
					switch line[i] {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, line[i])
					}
				case c == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, false
					}
					i++
					out = append(out, string(cur))
					goto next
				default:
					cur = append(cur, c)
				}
				i++
				continue
			}
			if insq {
				if i >= len(line) {
					return nil, false
				}
				c := line[i]
				switch {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					cur = append(cur, '\'')
					i++
				case c == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, false
					}
					i++
					out = append(out, string(cur))
					goto next
				default:
					cur = append(cur, c)
				}
				i++
				continue
			}
			if i >= len(line) || isSpace(line[i]) {
				out = append(out, string(cur))
				goto next
			}
			switch line[i] {
			case '"':
				inq = true
			case '\'':
				insq = true
			default:
				cur = append(cur, line[i])
			}
			i++
		}
	next:
	}
}

// Lookup finds a cached script by its SHA1, in any case.
func (e *Engine) Lookup(sha []byte) *Script {
	if len(sha) != 40 {
		return nil
	}
	var lower [40]byte
	for i, c := range sha {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	e.cacheMu.RLock()
	s := e.cache[string(lower[:])]
	e.cacheMu.RUnlock()
	return s
}

// Load returns the cached script for body, compiling and caching it first
// if needed (EVAL, SCRIPT LOAD). Errors are Redis's replies ("ERR Error
// compiling script (new function): user_script:1: ...").
func (e *Engine) Load(body []byte) (*Script, error) {
	sha := SHA1Hex(body)
	e.cacheMu.RLock()
	s := e.cache[sha]
	e.cacheMu.RUnlock()
	if s != nil {
		return s, nil
	}
	src := string(body)
	flags, skip, err := ParseShebang(src)
	if err != nil {
		return nil, err
	}
	proto, err := compile(src[skip:], "user_script")
	if err != nil {
		return nil, errf("ERR Error compiling script (new function): " + err.Error())
	}
	s = &Script{SHA: sha, Body: src, Flags: flags, proto: proto}
	e.cacheMu.Lock()
	if old := e.cache[sha]; old != nil {
		s = old
	} else {
		e.cache[sha] = s
		e.cacheBytes += int64(len(src)) + 40 + 64
	}
	e.cacheMu.Unlock()
	return s, nil
}

// Exists reports whether a script is cached (SCRIPT EXISTS).
func (e *Engine) Exists(sha []byte) bool { return e.Lookup(sha) != nil }

// FlushScripts empties the script cache and starts a fresh Lua state
// (SCRIPT FLUSH). It waits for a running script to finish.
func (e *Engine) FlushScripts() {
	e.cacheMu.Lock()
	e.cache = map[string]*Script{}
	e.cacheBytes = 0
	e.cacheMu.Unlock()
	e.mu.Lock()
	if e.eval != nil {
		e.eval.close()
		e.eval = nil
	}
	e.mu.Unlock()
}

// ScriptStats reports the number of cached scripts and the memory their
// sources take (INFO memory).
func (e *Engine) ScriptStats() (n int, bytes int64) {
	e.cacheMu.RLock()
	defer e.cacheMu.RUnlock()
	return len(e.cache), e.cacheBytes
}

// Eval runs a cached script with its keys and arguments (KEYS and ARGV)
// and writes its reply, or its error, to w. run describes the run for
// the Host and for other clients (SCRIPT KILL, BUSY); its Name and Eval
// are set here.
func (e *Engine) Eval(s *Script, run *Run, keys, args [][]byte, host Host, w *resp.Writer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eval == nil {
		e.eval = newVM(e)
	}
	v := e.eval
	fn := v.bind(s.proto)
	run.Name, run.Eval = s.SHA, true
	e.begin(run)
	v.start(run, host, "@user_script")
	v.G.RawSetString("KEYS", v.stringArray(keys))
	v.G.RawSetString("ARGV", v.stringArray(args))
	L := v.L
	L.Push(fn)
	if err := L.PCall(0, 1, v.errfn); err != nil {
		v.writeRunError(w, s.SHA, err)
	} else {
		writeValue(w, L.Get(-1), run.resp)
	}
	L.SetTop(0)
	v.G.RawSetString("KEYS", v.empty)
	v.G.RawSetString("ARGV", v.empty)
	v.finish()
	e.end(run)
}

// start binds a run to the state.
func (v *vm) start(run *Run, host Host, source string) {
	v.run, v.host, v.source = run, host, source
}

// finish unbinds the run and drops what it left behind.
func (v *vm) finish() {
	v.run, v.host = nil, nil
	if len(v.sources) > 0 {
		clear(v.sources)
	}
	if cap(v.argBuf) > 1<<20 {
		v.argBuf = nil
	}
	if cap(v.args) > 1024 {
		v.args, v.ends = nil, nil
	}
}
