package redis

import (
	"fmt"
	"strings"
	"testing"

	"ferry/internal/keyspace"
)

// EVALSHA of a small script (INCR + EXPIRE, the redis-benchmark comparison
// in docs/benchmarks.md) run through Conn.process as a connection runs it:
// parse, lookup, checks, the whole-keyspace lock, the Lua call and its two
// commands, the reply. TestEvalShaAllocs keeps its allocations bounded.

const benchScript = "local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], 60) return n"

func scriptBenchInput(t testing.TB, s *Server) ([]byte, *Conn) {
	c := &Conn{srv: s, ownIn: make([]byte, readBufSize), ownOut: make([]byte, 0, outBufSize), authed: true}
	c.parser.Limits = s.config().Limits
	c.in, c.out.Buf, c.out.Proto = c.ownIn, c.ownOut, 2
	sc, err := s.scripts.eng.Load([]byte(benchScript))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, a := range []string{"EVALSHA", sc.SHA, "1", "counter"} {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte("*4\r\n" + b.String()), c
}

func runScriptInput(c *Conn, in []byte) {
	c.r, c.w = 0, copy(c.in, in)
	c.process()
	c.out.Buf = c.out.Buf[:0]
}

func BenchmarkEvalSha(b *testing.B) {
	ks := keyspace.New(keyspace.Config{})
	defer ks.Close()
	s := New(ks, Config{})
	defer s.Close()
	in, c := scriptBenchInput(b, s)
	runScriptInput(c, in)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runScriptInput(c, in)
	}
}

// TestEvalShaAllocs: EVALSHA compiles nothing and allocates only what the
// Lua values of one run need (KEYS and ARGV, the replies turned into Lua
// values, the run's record).
func TestEvalShaAllocs(t *testing.T) {
	ks := keyspace.New(keyspace.Config{})
	defer ks.Close()
	s := New(ks, Config{})
	defer s.Close()
	in, c := scriptBenchInput(t, s)
	runScriptInput(c, in)
	if n := testing.AllocsPerRun(200, func() { runScriptInput(c, in) }); n > 12 {
		t.Fatalf("EVALSHA: %.1f allocations per command", n)
	}
}

// BenchmarkEvalShaParallel: many connections running scripts at once
// (they serialize on the keyspace).
func BenchmarkEvalShaParallel(b *testing.B) {
	ks := keyspace.New(keyspace.Config{})
	defer ks.Close()
	s := New(ks, Config{})
	defer s.Close()
	in, c := scriptBenchInput(b, s)
	runScriptInput(c, in)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		in, c := scriptBenchInput(b, s)
		for pb.Next() {
			runScriptInput(c, in)
		}
	})
}
