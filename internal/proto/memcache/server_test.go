package memcache

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"ferry/internal/clock"
	"ferry/internal/keyspace"
	"ferry/internal/netsrv"
	"ferry/internal/testutil"
)

type testServer struct {
	ks   *keyspace.Keyspace
	clk  *clock.Manual
	srv  *Server
	addr string
}

func startServer(t *testing.T, cfg Config, kcfg keyspace.Config) *testServer {
	t.Helper()
	clk := clock.NewManual(time.Unix(1_800_000_000, 0))
	kcfg.Clock = clk
	ks := keyspace.New(kcfg)
	t.Cleanup(ks.Close)
	s := New(ks, cfg)
	ln := testutil.Serve(t, netsrv.Config{Name: "memcached", MaxConns: cfg.MaxConns, Reject: s.Reject}, s)
	s.SetConnCounter(ln)
	return &testServer{ks: ks, clk: clk, srv: s, addr: ln.Addr().String()}
}

// TestConversations checks exact reply bytes for request sequences on one
// connection each (memcached protocol.txt).
func TestConversations(t *testing.T) {
	L := testutil.Lines
	tests := []struct {
		name string
		send string
		want string
	}{
		{"set get", "set k 5 0 3\r\nabc\r\nget k\r\n", L("STORED", "VALUE k 5 3", "abc", "END")},
		{"get miss", "get nope\r\n", L("END")},
		{"multi get", "set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nget a x b\r\n",
			L("STORED", "STORED", "VALUE a 0 1", "1", "VALUE b 0 1", "2", "END")},
		{"empty value", "set e 0 0 0\r\n\r\nget e\r\n", L("STORED", "VALUE e 0 0", "", "END")},
		{"add", "add k 0 0 1\r\na\r\nadd k 0 0 1\r\nb\r\nget k\r\n", L("STORED", "NOT_STORED", "VALUE k 0 1", "a", "END")},
		{"replace", "replace k 0 0 1\r\na\r\nset k 0 0 1\r\na\r\nreplace k 3 0 1\r\nb\r\nget k\r\n",
			L("NOT_STORED", "STORED", "STORED", "VALUE k 3 1", "b", "END")},
		{"append prepend", "append k 0 0 1\r\na\r\nset k 7 0 1\r\nb\r\nappend k 0 0 1\r\nc\r\nprepend k 0 0 1\r\na\r\nget k\r\n",
			L("NOT_STORED", "STORED", "STORED", "STORED", "VALUE k 7 3", "abc", "END")},
		{"cas", "cas k 0 0 1 1\r\na\r\nset k 0 0 1\r\na\r\ncas k 0 0 1 999999\r\nb\r\n",
			L("NOT_FOUND", "STORED", "EXISTS")},
		{"noreply", "set k 0 0 1 noreply\r\na\r\nadd k 0 0 1 noreply\r\nb\r\ndelete k noreply\r\nget k\r\n", L("END")},
		{"delete", "delete k\r\nset k 0 0 1\r\na\r\ndelete k 0\r\ndelete k\r\n", L("NOT_FOUND", "STORED", "DELETED", "NOT_FOUND")},
		{"delete with time", "delete k 5\r\n", L("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]")},
		{"incr decr", "incr n 1\r\nset n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 3\r\ndecr n 100\r\nget n\r\n",
			L("NOT_FOUND", "STORED", "15", "12", "0", "VALUE n 0 1", "0", "END")},
		{"incr wraps", "set n 0 0 20\r\n18446744073709551615\r\nincr n 2\r\n", L("STORED", "1")},
		{"incr non numeric", "set n 0 0 3\r\nabc\r\nincr n 1\r\n", L("STORED", "CLIENT_ERROR cannot increment or decrement non-numeric value")},
		{"incr bad delta", "incr n abc\r\n", L("CLIENT_ERROR invalid numeric delta argument")},
		{"incr keeps flags", "set n 9 0 1\r\n1\r\nincr n 1\r\nget n\r\n", L("STORED", "2", "VALUE n 9 1", "2", "END")},
		{"touch", "touch k 10\r\nset k 0 0 1\r\na\r\ntouch k 10\r\n", L("NOT_FOUND", "STORED", "TOUCHED")},
		{"unknown", "bogus\r\n", L("ERROR")},
		{"empty line", "\r\n", L("ERROR")},
		{"get no key", "get\r\n", L("ERROR")},
		{"set wrong token count", "set k 0 0\r\n", L("ERROR")},
		{"bad chunk", "set k 0 0 1\r\nabc\r\n", L("CLIENT_ERROR bad data chunk", "ERROR")},
		{"key too long", "get " + strings.Repeat("x", 251) + "\r\n", L("CLIENT_ERROR bad command line format")},
		{"version", "version\r\n", L("VERSION " + CompatVersion)},
		{"verbosity", "verbosity 1\r\nverbosity 0 noreply\r\n", L("OK")},
		{"flush_all", "set k 0 0 1\r\na\r\nflush_all\r\nget k\r\nflush_all noreply\r\n", L("STORED", "OK", "END")},
		{"gat gats", "set k 1 0 1\r\na\r\ngat 100 k\r\ngats 100 k nope\r\n",
			L("STORED", "VALUE k 1 1", "a", "END", "VALUE k 1 1 %CAS%", "a", "END")},
		{"meta set get", "ms k 2 T90 F5\r\nhi\r\nmg k s v t f k O1\r\n", L("HD", "VA 2 s2 t90 f5 kk O1", "hi")},
		{"meta miss quiet", "mg x v\r\nmg x v q\r\nmn\r\n", L("EN", "MN")},
		{"meta hit without value", "ms k 1\r\na\r\nmg k\r\nmg k q\r\n", L("HD", "HD", "HD")},
		{"meta base64", "ms Zm9v 2 b\r\nhi\r\nmg foo v\r\nmg Zm9v b k v\r\nmg !! b v\r\n",
			L("HD", "VA 2", "hi", "VA 2 b kZm9v", "hi", "CLIENT_ERROR error decoding key")},
		{"meta modes", "ms k 1 ME\r\na\r\nms k 1 ME\r\nb\r\nms k 1 MA\r\nc\r\nms k 1 MP\r\nd\r\nms j 1 MR\r\nx\r\nmg k v\r\n",
			L("HD", "NS", "HD", "HD", "NS", "VA 3", "dac")},
		{"meta bad mode", "ms k 1 MZ\r\na\r\n", L("CLIENT_ERROR invalid mode for ms M token")},
		{"meta cas", "ms k 1\r\na\r\nms k 1 C1\r\nb\r\nmd k C1\r\nms j 1 C1\r\nx\r\n", L("HD", "EX", "EX", "NF")},
		{"meta quiet set", "ms k 1 q\r\na\r\nmn\r\n", L("MN")},
		{"meta delete", "md k\r\nms k 1\r\na\r\nmd k q\r\nmd k q\r\nmn\r\n", L("NF", "HD", "NF", "MN")},
		{"meta arith", "ma n\r\nma n N0 J10 v\r\nma n v D5\r\nma n v MD D100\r\nma n q\r\nmn\r\nmg n v\r\n",
			L("NF", "VA 2", "10", "VA 2", "15", "VA 1", "0", "MN", "VA 1", "1")},
		{"meta arith non numeric", "ms k 1\r\na\r\nma k\r\n", L("HD", "CLIENT_ERROR cannot increment or decrement non-numeric value")},
		{"meta flag errors", "mg k zz\r\nmg k T\r\nmg k v v\r\nmg\r\n",
			L("CLIENT_ERROR invalid flag", "CLIENT_ERROR bad token in command line format", "CLIENT_ERROR duplicate flag", "ERROR")},
		{"meta vivify", "mg v N30 s t\r\nmg v N30 s t\r\n", L("HD s0 t30 W", "HD s0 t30 Z")},
		{"meta invalidate", "ms k 1\r\na\r\nmd k I\r\nmg k v\r\nmg k v\r\nms k 1\r\nb\r\nmg k v\r\n",
			L("HD", "HD", "VA 1 W X", "a", "VA 1 X Z", "a", "HD", "VA 1", "b")},
		{"meta debug", "me k\r\nms k 1 T100\r\na\r\nme k\r\n", L("EN", "HD", "ME k exp=100 la=0 cas=%CAS% fetch=no cls=1 size=61")},
		{"ms too large", "ms k 5000\r\n" + strings.Repeat("x", 5000) + "\r\nmn\r\n", L("SERVER_ERROR object too large for cache", "MN")},
		{"set too large swallowed", "set k 0 0 5000\r\n" + strings.Repeat("x", 5000) + "\r\nget k\r\n",
			L("SERVER_ERROR object too large for cache", "END")},
		{"stats reset", "stats reset\r\n", L("RESET")},
		{"stats unknown", "stats bogus\r\n", L("ERROR")},
		{"shutdown disabled", "shutdown\r\n", L("ERROR: shutdown not enabled")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, Config{Limits: Limits{MaxLine: 2048, MaxKeysLine: 1 << 20, MaxItemSize: 4096}}, keyspace.Config{})
			c := testutil.Dial(t, ts.addr)
			c.Send(tt.send)
			want := tt.want
			if strings.Contains(want, "%CAS%") {
				// CAS uniques are opaque: read the reply and check its shape.
				got := c.ReadN(len(want) - len("%CAS%"))
				for !strings.HasSuffix(got, "\r\n") || strings.Count(got, "\r\n") < strings.Count(want, "\r\n") {
					got += c.ReadN(1)
				}
				i := strings.Index(want, "%CAS%")
				if got[:i] != want[:i] || !strings.HasSuffix(got, want[i+5:]) {
					t.Fatalf("got %q want %q", got, want)
				}
				return
			}
			c.Expect(want)
			c.ExpectSilence(20 * time.Millisecond)
		})
	}
}

func TestExpiry(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	c := testutil.Dial(t, ts.addr)
	now := ts.clk.Now().Unix()
	c.Send("set rel 0 60 1\r\na\r\n")
	c.Send(fmt.Sprintf("set abs 0 %d 1\r\nb\r\n", now+120))
	c.Send("set neg 0 -1 1\r\nc\r\n")
	c.Send(fmt.Sprintf("set past 0 %d 1\r\nd\r\n", now-10))
	c.Expect(testutil.Lines("STORED", "STORED", "STORED", "STORED"))
	c.Send("get rel abs neg past\r\n")
	c.Expect(testutil.Lines("VALUE rel 0 1", "a", "VALUE abs 0 1", "b", "END"))
	ts.clk.Advance(61 * time.Second)
	c.Send("get rel abs\r\n")
	c.Expect(testutil.Lines("VALUE abs 0 1", "b", "END"))
	ts.clk.Advance(60 * time.Second)
	c.Send("get abs\r\ntouch abs 10\r\n")
	c.Expect(testutil.Lines("END", "NOT_FOUND"))
	// gat/touch move the expiry.
	c.Send("set t 0 5 1\r\na\r\ntouch t 100\r\n")
	c.Expect(testutil.Lines("STORED", "TOUCHED"))
	ts.clk.Advance(50 * time.Second)
	c.Send("gat 0 t\r\n")
	c.Expect(testutil.Lines("VALUE t 0 1", "a", "END"))
	ts.clk.Advance(1000 * time.Second)
	c.Send("get t\r\n")
	c.Expect(testutil.Lines("VALUE t 0 1", "a", "END"))
}

func TestStatsCounters(t *testing.T) {
	ts := startServer(t, Config{MaxBytes: 64 << 20}, keyspace.Config{MaxMemory: 64 << 20, Policy: keyspace.AllKeysLRU})
	c := testutil.Dial(t, ts.addr)
	c.Send("set a 0 0 1\r\n1\r\nget a\r\nget b\r\nincr a 1\r\ndelete zz\r\n")
	c.Expect(testutil.Lines("STORED", "VALUE a 0 1", "1", "END", "END", "2", "NOT_FOUND"))
	stats := map[string]string{}
	c.Send("stats\r\n")
	for {
		l := c.Line()
		if l == "END" {
			break
		}
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "STAT" {
			t.Fatalf("bad stats line %q", l)
		}
		stats[f[1]] = f[2]
	}
	for k, v := range map[string]string{"cmd_get": "2", "get_hits": "1", "get_misses": "1", "cmd_set": "1",
		"incr_hits": "1", "delete_misses": "1", "curr_items": "1", "limit_maxbytes": "67108864",
		"curr_connections": "1", "total_items": "1", "threads": "4"} {
		if stats[k] != v {
			t.Errorf("stat %s = %q, want %q", k, stats[k], v)
		}
	}
	c.Send("stats slabs\r\n")
	if l := c.Line(); l != "STAT 1:chunk_size 96" {
		t.Fatalf("stats slabs first line %q", l)
	}
	for l := c.Line(); l != "END"; l = c.Line() {
	}
	c.Send("stats items\r\n")
	if l := c.Line(); l != "STAT items:1:number 1" {
		t.Fatalf("stats items first line %q", l)
	}
}

func TestLineTooLongCloses(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	c := testutil.Dial(t, ts.addr)
	c.Send(strings.Repeat("a", 3000))
	c.Expect(testutil.Lines("CLIENT_ERROR line too long"))
	c.ExpectClosed()
}

func TestMaxConnections(t *testing.T) {
	ts := startServer(t, Config{MaxConns: 1}, keyspace.Config{})
	c1 := testutil.Dial(t, ts.addr)
	c1.Send("version\r\n")
	c1.Line()
	c2 := testutil.Dial(t, ts.addr)
	c2.Expect("ERROR Too many open connections\r\n")
	c2.ExpectClosed()
}

func TestSlabClassesMatchMemcached(t *testing.T) {
	// memcached 1.6 -vv prints these chunk sizes for the default -f 1.25 -n 48.
	want := []int{96, 120, 152, 192, 240, 304, 384, 480, 600, 752, 944, 1184, 1480}
	for i, w := range want {
		if slabClasses[i] != w {
			t.Fatalf("class %d chunk %d, want %d", i+1, slabClasses[i], w)
		}
	}
	if last := slabClasses[len(slabClasses)-1]; last != 524288 {
		t.Fatalf("largest chunk %d", last)
	}
}
