package memcache

import (
	"fmt"
	"net"
	"os"
	"strconv"
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

// testEventLoops is how many event loops test servers use: 2, or
// FERRY_TEST_EVENT_LOOPS (0 serves every connection from its own
// goroutine).
func testEventLoops() int {
	if v, err := strconv.Atoi(os.Getenv("FERRY_TEST_EVENT_LOOPS")); err == nil {
		return v
	}
	return 2
}

func startServer(t *testing.T, cfg Config, kcfg keyspace.Config) *testServer {
	t.Helper()
	clk := clock.NewManual(time.Unix(1_800_000_000, 0))
	kcfg.Clock = clk
	ks := keyspace.New(kcfg)
	t.Cleanup(ks.Close)
	s := New(ks, cfg)
	ln := testutil.Serve(t, netsrv.Config{Name: "memcached", MaxConns: cfg.MaxConns, Reject: s.Reject, EventLoops: testEventLoops()}, s)
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
			L("HD", "VA 2", "hi", "VA 2 kZm9v b", "hi", "CLIENT_ERROR error decoding key")},
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
			L("HD", "HD", "VA 1 X W", "a", "VA 1 Z X", "a", "HD", "VA 1", "b")},
		{"meta debug", "me k\r\nms k 1 T100\r\na\r\nme k\r\n", L("EN", "HD", "ME k exp=-100 la=0 cas=%CAS% fetch=no cls=1 size=61")},
		{"ms too large", "ms k 5000\r\n" + strings.Repeat("x", 5000) + "\r\nmn\r\n", L("SERVER_ERROR object too large for cache", "MN")},
		{"set too large swallowed", "set k 0 0 5000\r\n" + strings.Repeat("x", 5000) + "\r\nget k\r\n",
			L("SERVER_ERROR object too large for cache", "END")},
		{"stats reset", "stats reset\r\n", L("RESET")},
		// Rules observed on memcached 1.6.18 (see docs/dev/memcached.md).
		{"noreply drops errors", "set x abc 0 1 noreply\r\nx\r\nincr n abc noreply\r\ndelete b x noreply\r\nmn\r\n", L("ERROR", "MN")},
		{"noreply drops bad chunk", "set x 0 0 1 noreply\r\nxyz\r\nmn\r\n", L("ERROR", "MN")}, // the leftover CR LF is an empty command
		{"extra storage token ignored", "set f 0 0 1 garbage\r\nx\r\n", L("STORED")},
		{"storage format error keeps data", "set f -1 0 1\r\nx\r\n", L("CLIENT_ERROR bad command line format", "ERROR")},
		{"flags wrap to 32 bits", "set f 4294967297 0 1\r\nx\r\nget f\r\n", L("STORED", "VALUE f 1 1", "x", "END")},
		{"exptime wraps to int32", "set f 0 4294967296 1\r\nx\r\nget f\r\n", L("STORED", "VALUE f 0 1", "x", "END")},
		{"gat without keys", "gat 0\r\ngat\r\n", L("END", "ERROR")},
		{"multiget long key drops hits", "set a 0 0 1\r\n1\r\nget a " + strings.Repeat("x", 251) + "\r\n",
			L("STORED", "CLIENT_ERROR bad command line format")},
		{"delete forms", "delete k 0 noreply\r\ndelete k noreply\r\ndelete k 00\r\ndelete k 0 noreply x\r\n",
			L("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]", "ERROR")},
		{"incr extra token ignored", "set n 0 0 1\r\n5\r\nincr n 1 x\r\nincr n +2\r\n", L("STORED", "6", "8")},
		{"incr leading zeros", "set n 0 0 5\r\n00001\r\nincr n 1\r\n", L("STORED", "2")},
		{"flush_all forms", "flush_all 0\r\nflush_all abc\r\nflush_all 1 2\r\nflush_all 0 noreply\r\nflush_all 1 2 3\r\n",
			L("OK", "CLIENT_ERROR invalid exptime argument", "OK", "ERROR")},
		{"verbosity forms", "verbosity\r\nverbosity -1\r\nverbosity 1 2\r\nverbosity noreply\r\nmn\r\n",
			L("ERROR", "CLIENT_ERROR bad command line format", "OK", "MN")},
		{"cache_memlimit", "cache_memlimit 100\r\ncache_memlimit 2\r\ncache_memlimit x\r\ncache_memlimit 2000000000\r\n",
			L("OK", "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m", "ERROR", "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes")},
		{"command names are case-sensitive", "GET foo\r\n", L("ERROR")},
		{"mg miss echoes", "mg missing v k O5\r\n", L("EN kmissing O5")},
		{"mg t before T", "ms k 1\r\na\r\nmg k t T30\r\nmg k T40 t\r\n", L("HD", "HD t-1", "HD t40")},
		{"ms c and codes", "ms a 1 c k O2\r\n1\r\nms a 1 ME c k O2\r\n1\r\nms zz 1 C5 c\r\n1\r\n",
			L("HD c%CAS% ka O2", "NS c0 ka O2", "NF c0")},
		{"ms mode is case-sensitive", "ms k 1 Ms\r\na\r\nms k 1 MSS\r\na\r\n",
			L("CLIENT_ERROR invalid mode for ms M token", "CLIENT_ERROR incorrect length for M token")},
		{"ms bad flags value", "ms k 1 Fabc\r\na\r\nms k 1 T\r\na\r\n",
			L("CLIENT_ERROR bad command line format", "CLIENT_ERROR bad token in command line format")},
		{"ms key too long keeps data", "ms " + strings.Repeat("k", 251) + " 1\r\na\r\n", L("CLIENT_ERROR bad command line format", "ERROR")},
		{"md ma flag errors", "md d 0\r\nma a Dabc\r\nma a Mx\r\n",
			L("CLIENT_ERROR invalid or duplicate flag", "CLIENT_ERROR invalid or duplicate flag", "CLIENT_ERROR invalid mode for ma M token")},
		{"ma quiet", "ma n N0 J5 q\r\nma n q\r\nma n q v\r\nma zz q\r\nmg n v\r\n", L("HD", "NF", "VA 1", "7")},
		{"ma flag order", "ma n N100 J1 t T200\r\nma n T300 t\r\n", L("HD t100", "HD t300")},
		{"mg too many flags", "mg k" + strings.Repeat(" v", 18) + "\r\n", L("CLIENT_ERROR options flags are too long")},
		{"me without key", "me\r\n", L("CLIENT_ERROR bad command line format")},
		{"slabs admin", "slabs reassign 1 2\r\nslabs reassign 1 1\r\nslabs reassign 1 99\r\nslabs automove 1\r\nslabs automove 3\r\nslabs automove x\r\n",
			L("OK", "SAME src and dst class are identical", "BADCLASS invalid src or dst class id", "OK", "ERROR", "CLIENT_ERROR bad command line format")},
		{"lru admin", "lru tune 10 10 0.1 2.0\r\nlru tune 50 40 0.1 2\r\nlru mode flat\r\nlru bogus 1\r\n",
			L("OK", "ERROR hot and warm pcts must not exceed 80", "OK", "ERROR")},
		{"lru_crawler", "lru_crawler crawl all\r\nlru_crawler crawl 99\r\nlru_crawler sleep 2000000\r\nlru_crawler enable\r\n",
			L("OK", "BADCLASS invalid class id", "CLIENT_ERROR sleep must be one second or less", "OK")},
		{"metadump", "ms a:1 1 T0\r\nx\r\nlru_crawler metadump all\r\n",
			"HD\r\nkey=a%3A1 exp=-1 la=1800000000 cas=%CAS% fetch=no cls=1 size=63\nEND\r\n"},
		{"cachedump", "set a 0 0 1\r\nx\r\nstats cachedump 1 0\r\nstats cachedump 99 0\r\nstats cachedump\r\n",
			L("STORED", "ITEM a [1 b; 0 s]", "END", "CLIENT_ERROR Illegal slab id", "CLIENT_ERROR bad command line")},
		{"stats detail", "stats detail on\r\nset u:1 0 0 1\r\nx\r\nget u:1 u:2 nope\r\ndelete u:2\r\nstats detail dump\r\nstats detail\r\n",
			L("OK", "STORED", "VALUE u:1 0 1", "x", "END", "NOT_FOUND", "PREFIX u get 2 hit 1 set 1 del 1", "END",
				"CLIENT_ERROR usage: stats detail on|off|dump")},
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

func TestUDP(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.ServeUDP(pc)
	t.Cleanup(func() { pc.Close() })
	client, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	roundTrip := func(id uint16, req string) string {
		t.Helper()
		hdr := []byte{byte(id >> 8), byte(id), 0, 0, 0, 1, 0, 0}
		client.Write(append(hdr, req...))
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		parts := map[int]string{}
		total := -1
		buf := make([]byte, 2048)
		for total < 0 || len(parts) < total {
			n, err := client.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			if gotID := uint16(buf[0])<<8 | uint16(buf[1]); gotID != id {
				t.Fatalf("request id %d, want %d", gotID, id)
			}
			parts[int(buf[2])<<8|int(buf[3])] = string(buf[8:n])
			total = int(buf[4])<<8 | int(buf[5])
		}
		var out strings.Builder
		for i := 0; i < total; i++ {
			out.WriteString(parts[i])
		}
		return out.String()
	}
	if got := roundTrip(1, "set k 0 0 3\r\nabc\r\n"); got != "STORED\r\n" {
		t.Fatalf("set over UDP: %q", got)
	}
	big := strings.Repeat("x", 4000) // the reply spans several datagrams
	roundTrip(2, "set big 0 0 4000\r\n"+big+"\r\n")
	if got := roundTrip(3, "get big k\r\n"); got != "VALUE big 0 4000\r\n"+big+"\r\nVALUE k 0 3\r\nabc\r\nEND\r\n" {
		t.Fatalf("multi-datagram get: %d bytes", len(got))
	}
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
