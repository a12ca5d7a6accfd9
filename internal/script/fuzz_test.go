package script

import (
	"bytes"
	"testing"

	"ferry/internal/proto/resp"
)

// The decoders scripts feed with data from outside (cjson.decode,
// cmsgpack.unpack, struct.unpack, the shebang line, the Lua compiler)
// take arbitrary bytes: each must answer with a reply or a Redis error,
// never a panic. Scripts run through a Host that refuses every command.

// nullHost refuses every command a script sends.
type nullHost struct{}

func (nullHost) Call([][]byte, int) ([]byte, string) {
	return nil, "Unknown Redis command called from script"
}
func (nullHost) CommandExists([][]byte) bool { return false }
func (nullHost) Log(int, string)             {}

// runScript compiles body and runs it with args as ARGV; it returns the
// reply's bytes.
func runScript(t testing.TB, e *Engine, body string, args ...[]byte) []byte {
	t.Helper()
	s, err := e.Load([]byte(body))
	if err != nil {
		t.Fatalf("%q: %v", body, err)
	}
	w := &resp.Writer{Proto: 2}
	e.Eval(s, &Run{}, nil, args, nullHost{}, w)
	return w.Buf
}

func fuzzEngine() *Engine {
	return New(Options{MaxStringLen: 1 << 20, MemoryLimit: 256 << 20})
}

func TestDecodersTable(t *testing.T) {
	e := fuzzEngine()
	for _, tc := range []struct {
		body string
		args []string
		want string
	}{
		{"return cjson.decode(ARGV[1])[2]", []string{"[1,\"x\"]"}, "$1\r\nx\r\n"},
		{"return cjson.encode(cjson.decode(ARGV[1]))", []string{`{"a":[1,2]}`}, "$11\r\n{\"a\":[1,2]}\r\n"},
		{"return cmsgpack.unpack(ARGV[1])", []string{"\x93\x01\x02\x03"}, "*3\r\n:1\r\n:2\r\n:3\r\n"},
		{"return {struct.unpack(ARGV[1], ARGV[2])}", []string{">I2", "\x01\x02"}, "*2\r\n:258\r\n:3\r\n"},
		{"return redis.sha1hex(ARGV[1])", []string{"abc"}, "$40\r\na9993e364706816aba3e25717850c26c9cd0d89d\r\n"},
		{"return cjson.decode(ARGV[1])", []string{"[1,"}, "-ERR user_script:1: Expected value but found T_END at character 4 script: "},
	} {
		args := make([][]byte, len(tc.args))
		for i, a := range tc.args {
			args[i] = []byte(a)
		}
		if got := runScript(t, e, tc.body, args...); !bytes.HasPrefix(got, []byte(tc.want)) {
			t.Errorf("%s %q: %q, want %q", tc.body, tc.args, got, tc.want)
		}
	}
}

// FuzzDecoders feeds arbitrary bytes to the libraries' decoders and a
// round trip through their encoders.
func FuzzDecoders(f *testing.F) {
	for _, seed := range []string{"[1,2,{\"a\":null}]", "\x93\x01\xa1x\xc0", "\xdc\xff\xff", "{\"a\":1e400}", "\"\\ud800\"", ">I2 i4 s", "\xc4\x05ab"} {
		f.Add([]byte(seed), []byte("<i4"))
	}
	e := fuzzEngine()
	scripts := []string{
		"return cjson.decode(ARGV[1])",
		"return cjson.encode(cjson.decode(ARGV[1]))",
		"return {cmsgpack.unpack(ARGV[1])}",
		"return cmsgpack.pack(cmsgpack.unpack_limit(ARGV[1], 8))",
		"return {struct.unpack(ARGV[2], ARGV[1])}",
		"return {pcall(struct.pack, ARGV[1], 1, 2, 'x')}",
		"return {pcall(struct.size, ARGV[1])}",
		"return {string.format('%q', ARGV[1]), tonumber(ARGV[1]), bit.tohex(#ARGV[1])}",
	}
	f.Fuzz(func(t *testing.T, data, format []byte) {
		for _, body := range scripts {
			out := runScript(t, e, body, data, format)
			if len(out) == 0 || !bytes.HasSuffix(out, []byte("\r\n")) {
				t.Fatalf("%s: reply %q", body, out)
			}
		}
	})
}

// FuzzCompile compiles arbitrary source with an optional shebang: a
// script or a Redis error ("ERR Error compiling script ..."), never a
// panic or a Go stack overflow. Nothing runs (the source may loop).
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		"return 1", "#!lua flags=no-writes\nreturn 1", "#!lua name=x\n", "local t = {} t[1] = (((((1)))))",
		"return 'a' .. \"b\\n\" .. [[c]]", "for i = 1, 10 do end", "#!lua flags=\"no-writes\"\n", "x = = 1",
		string(bytes.Repeat([]byte("("), 2000)),
	} {
		f.Add(seed)
	}
	e := fuzzEngine()
	f.Fuzz(func(t *testing.T, src string) {
		s, err := e.Load([]byte(src))
		if err == nil {
			if s.SHA != SHA1Hex([]byte(src)) || e.Lookup([]byte(s.SHA)) != s {
				t.Fatalf("cached under the wrong name")
			}
		} else if text := err.Error(); !bytes.HasPrefix([]byte(text), []byte("ERR ")) {
			t.Fatalf("error %q has no code", text)
		}
		if n, _ := e.ScriptStats(); n > 1000 {
			e.FlushScripts()
		}
	})
}
