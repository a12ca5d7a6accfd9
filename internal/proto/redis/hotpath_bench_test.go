package redis

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"

	"ferry/internal/keyspace"
)

// The hot path: the commands redis-benchmark's default tests send, run
// through Conn.process exactly as a connection runs them (parse, lookup,
// checks, handler, reply), without the network. docs/benchmarks.md compares
// these commands with redis-server; these benchmarks show where the
// in-process time goes, and TestHotPathAllocs keeps them allocation-free.

// hotCommands are redis-benchmark's commands (-t set,get,...) with its key
// patterns over -r 100000 random keys and its 3-byte value.
var hotCommands = []struct {
	name string
	gen  func(r *rand.Rand) []string
}{
	{"SET", func(r *rand.Rand) []string { return []string{"SET", randKey(r, "key:"), "xxx"} }},
	{"GET", func(r *rand.Rand) []string { return []string{"GET", randKey(r, "key:")} }},
	{"INCR", func(r *rand.Rand) []string { return []string{"INCR", randKey(r, "counter:")} }},
	{"LPUSH", func(r *rand.Rand) []string { return []string{"LPUSH", "mylist", "xxx"} }},
	{"LPOP", func(r *rand.Rand) []string { return []string{"LPOP", "mylist"} }},
	{"SADD", func(r *rand.Rand) []string { return []string{"SADD", "myset", randKey(r, "element:")} }},
	{"HSET", func(r *rand.Rand) []string { return []string{"HSET", "myhash", randKey(r, "element:"), "xxx"} }},
	// With -r, redis-benchmark's zadd score is random too ("ZADD myzset
	// __rand_int__ element:__rand_int__"): members move on every update.
	{"ZADD", func(r *rand.Rand) []string { return []string{"ZADD", "myzset", randKey(r, ""), randKey(r, "element:")} }},
	{"MSET", func(r *rand.Rand) []string {
		a := []string{"MSET"}
		for i := 0; i < 10; i++ {
			a = append(a, randKey(r, "key:"), "xxx")
		}
		return a
	}},
}

// cpuTime returns the CPU time the process has used, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func randKey(r *rand.Rand, prefix string) string {
	return fmt.Sprintf("%s%012d", prefix, r.IntN(100000))
}

// encodeCommand writes args as a RESP multibulk, as clients send them.
func encodeCommand(args []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte(b.String())
}

// benchConn is a connection of s that is fed input directly.
func benchConn(s *Server) *Conn {
	c := &Conn{srv: s, ownIn: make([]byte, readBufSize), ownOut: make([]byte, 0, outBufSize)}
	c.parser.Limits = s.config().Limits
	c.in, c.out.Buf, c.out.Proto = c.ownIn, c.ownOut, 2
	c.authed = true
	return c
}

// runInput processes one input buffer's commands and drops the replies.
func (c *Conn) runInput(in []byte) {
	c.r, c.w = 0, copy(c.in, in)
	c.process()
	c.out.Buf = c.out.Buf[:0]
}

// hotInputs returns n inputs of pipeline commands each for a hot command.
func hotInputs(gen func(*rand.Rand) []string, n, pipeline int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	ins := make([][]byte, n)
	for i := range ins {
		for j := 0; j < pipeline; j++ {
			ins[i] = append(ins[i], encodeCommand(gen(r))...)
		}
	}
	return ins
}

// countingLog is a Propagator that keeps only a count, as the server's
// persistence layer does with appendonly no: every write is still handed
// over, so the benchmark pays for propagation as production does.
type countingLog struct{ n int64 }

func (l *countingLog) Append(db int, args [][]byte) int64 { l.n++; return 0 }

func newHotServer(tb testing.TB) *Server {
	ks := keyspace.New(keyspace.Config{})
	tb.Cleanup(ks.Close)
	s := New(ks, Config{})
	tb.Cleanup(s.Close)
	s.prop = &countingLog{}
	return s
}

func BenchmarkHotPath(b *testing.B) {
	for _, pipeline := range []int{1, 16} {
		for _, hc := range hotCommands {
			b.Run(fmt.Sprintf("%s/P%d", hc.name, pipeline), func(b *testing.B) {
				s := newHotServer(b)
				c := benchConn(s)
				ins := hotInputs(hc.gen, 1024, pipeline)
				// Fill the keyspace first, as redis-benchmark's runs find it.
				for _, in := range ins {
					c.runInput(in)
				}
				if hc.name == "GET" {
					for _, in := range hotInputs(hotCommands[0].gen, 1024, pipeline) {
						c.runInput(in)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					c.runInput(ins[i&1023])
				}
				// The machine is shared: CPU time per command moves less
				// than wall time when other processes take the CPUs.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*pipeline), "cpu-ns/cmd")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pipeline), "ns/cmd")
			})
		}
	}
}

// TestHotPathAllocs: the commands of the benchmark matrix allocate nothing
// per request once their keys exist (MSET and the collections included).
func TestHotPathAllocs(t *testing.T) {
	for _, hc := range hotCommands {
		t.Run(hc.name, func(t *testing.T) {
			s := newHotServer(t)
			c := benchConn(s)
			ins := hotInputs(hc.gen, 64, 1)
			if hc.name == "LPOP" {
				// Keep the list from running dry: LPUSH many first.
				for i := 0; i < 1000; i++ {
					c.runInput(encodeCommand([]string{"LPUSH", "mylist", "xxx"}))
				}
			}
			for _, in := range ins {
				c.runInput(in) // create the keys and members
			}
			i := 0
			allocs := testing.AllocsPerRun(200, func() {
				c.runInput(ins[i%len(ins)])
				i++
			})
			if allocs != 0 {
				t.Errorf("%s: %.2f allocations per command", hc.name, allocs)
			}
			if c.closing {
				t.Fatal("connection closed")
			}
			if n := s.prop.(*countingLog).n; hc.name != "GET" && n == 0 {
				t.Errorf("%s: nothing propagated", hc.name)
			}
		})
	}
}

// TestHotPathReplies checks the benchmark's commands do what they should,
// so the benchmark measures real work.
func TestHotPathReplies(t *testing.T) {
	s := newHotServer(t)
	c := benchConn(s)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SET", "key:1", "xxx"}, "+OK\r\n"},
		{[]string{"GET", "key:1"}, "$3\r\nxxx\r\n"},
		{[]string{"INCR", "counter:1"}, ":1\r\n"},
		{[]string{"LPUSH", "mylist", "xxx"}, ":1\r\n"},
		{[]string{"LPOP", "mylist"}, "$3\r\nxxx\r\n"},
		{[]string{"SADD", "myset", "a"}, ":1\r\n"},
		{[]string{"HSET", "myhash", "a", "xxx"}, ":1\r\n"},
		{[]string{"ZADD", "myzset", "0", "a"}, ":1\r\n"},
		{[]string{"MSET", "key:1", "a", "key:2", "b"}, "+OK\r\n"},
		{[]string{"GET", "key:2"}, "$1\r\nb\r\n"},
	} {
		c.r, c.w = 0, copy(c.in, encodeCommand(tc.args))
		c.process()
		if got := string(c.out.Buf); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.args, got, tc.want)
		}
		c.out.Buf = c.out.Buf[:0]
	}
}
