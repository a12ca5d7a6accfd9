package redis

import (
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/internal/keyspace"
	"ferry/internal/netsrv"
	"ferry/internal/testutil"
)

// spinScript runs for ARGV[1] milliseconds of wall-clock time.
const spinScript = `local t = redis.call('TIME')
local s = t[1]*1000000 + t[2]
while true do
  local n = redis.call('TIME')
  if n[1]*1000000 + n[2] - s > tonumber(ARGV[1])*1000 then break end
end
return 1`

// TestBusyScriptFreesWaitingLoops: a script queued by a detached client
// can be run by a connection still on an event loop (the runner of flat
// combining), and loop clients can queue behind a detached runner's
// script. Once the script passes busy-reply-threshold no loop may wait
// for it: other clients on the loop get -BUSY and may send SCRIPT KILL.
func TestBusyScriptFreesWaitingLoops(t *testing.T) {
	tests := []struct {
		name   string
		bShort int // short scripts b pipelines before its long one
	}{
		{"loop runner runs a detached client's script", 0},
		{"loop client queued behind a detached runner", 1500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startOneLoop(t)
			admin := refDial(t, ts.addr)
			if r := admin.do("CONFIG", "SET", "busy-reply-threshold", "300"); r != "+OK\r\n" {
				t.Fatalf("CONFIG SET: %q", r)
			}
			// b leaves the loop for good (a blocking pop detaches it).
			b := refDial(t, ts.addr)
			if r := b.do("BLPOP", "nothing", "0.01"); r != "*-1\r\n" {
				t.Fatalf("BLPOP: %q", r)
			}
			// a, on the loop, runs short scripts back to back while b's
			// long one comes: it queues behind one of a's, or a queues
			// behind it.
			short := refCommand("EVAL", "return 1", "0")
			a := refDial(t, ts.addr)
			go a.nc.Write([]byte(strings.Repeat(short, 3000)))
			time.Sleep(2 * time.Millisecond)
			go b.nc.Write([]byte(strings.Repeat(short, tt.bShort) + refCommand("EVAL", spinScript, "0", "3000")))
			time.Sleep(900 * time.Millisecond) // b's script is busy by now
			c := refDial(t, ts.addr)
			start := time.Now()
			if r := c.replyAfter("PING", 2*time.Second); !strings.HasPrefix(r, "-BUSY") {
				t.Fatalf("PING during a busy script: %q after %v (the loop stalled)", r, time.Since(start))
			}
			if r := c.replyAfter("SCRIPT", 2*time.Second, "KILL"); r != "+OK\r\n" {
				t.Fatalf("SCRIPT KILL: %q", r)
			}
			for i := 0; i < tt.bShort; i++ {
				if r := b.reply(); r != ":1\r\n" {
					t.Fatalf("b's short script %d: %q", i, r)
				}
			}
			if r := b.reply(); !strings.HasPrefix(r, "-ERR") {
				t.Fatalf("killed script: %q", r)
			}
		})
	}
}

// replyAfter sends a command and waits at most d for its reply.
func (c *refConn) replyAfter(cmd string, d time.Duration, args ...string) string {
	c.send(append([]string{cmd}, args...)...)
	return c.replyWithin(d)
}

// TestOneLoopScenarios: on a server whose clients all share one event
// loop, each scenario leaves a client waiting, gone or misbehaving in a
// way that must not stall the loop: a probe client on the same loop is
// served throughout, and the scenario's own clients get Redis's replies.
func TestOneLoopScenarios(t *testing.T) {
	ping := func(t *testing.T, probe *refConn, what string) {
		t.Helper()
		if r := probe.replyAfter("PING", 3*time.Second); r != "+PONG\r\n" {
			t.Fatalf("%s: probe on the same loop got %q", what, r)
		}
	}
	big := strings.Repeat("v", 8<<20)
	tests := []struct {
		name string
		run  func(t *testing.T, ts *testServer, probe *refConn)
	}{
		{"disconnect mid-bulk", func(t *testing.T, ts *testServer, probe *refConn) {
			for i := 0; i < 20; i++ {
				c := refDial(t, ts.addr)
				c.nc.Write([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\nabc"))
				c.nc.Close()
			}
			ping(t, probe, "after disconnects")
		}},
		{"disconnect while blocked", func(t *testing.T, ts *testServer, probe *refConn) {
			c := refDial(t, ts.addr)
			c.send("BLPOP", "q", "0")
			time.Sleep(50 * time.Millisecond)
			c.nc.Close()
			ping(t, probe, "blocked client gone")
			if r := probe.do("RPUSH", "q", "x"); r != ":1\r\n" {
				t.Fatalf("RPUSH: %q", r)
			}
			if r := probe.do("LLEN", "q"); r != ":1\r\n" {
				t.Fatalf("a gone client took the element: LLEN %q", r)
			}
		}},
		{"reply larger than the socket buffer, reader stalls", func(t *testing.T, ts *testServer, probe *refConn) {
			if r := probe.do("SET", "big", big); r != "+OK\r\n" {
				t.Fatal(r)
			}
			c := refDial(t, ts.addr)
			c.send("GET", "big")
			c.send("PING")
			time.Sleep(100 * time.Millisecond) // the reply fills the socket buffers
			ping(t, probe, "stalled reader")
			want := "$" + itoa(len(big)) + "\r\n" + big + "\r\n"
			if r := c.reply(); r != want {
				t.Fatalf("GET big: %d bytes, want %d", len(r), len(want))
			}
			if r := c.reply(); r != "+PONG\r\n" {
				t.Fatalf("PING after GET big: %q", r)
			}
		}},
		{"CLIENT PAUSE then UNPAUSE from another client", func(t *testing.T, ts *testServer, probe *refConn) {
			a := refDial(t, ts.addr)
			if r := a.do("CLIENT", "PAUSE", "3000", "WRITE"); r != "+OK\r\n" {
				t.Fatal(r)
			}
			w := refDial(t, ts.addr)
			w.send("SET", "p", "1")
			time.Sleep(50 * time.Millisecond)
			ping(t, probe, "paused writer")
			start := time.Now()
			if r := probe.do("CLIENT", "UNPAUSE"); r != "+OK\r\n" {
				t.Fatal(r)
			}
			if r := w.reply(); r != "+OK\r\n" || time.Since(start) > 2*time.Second {
				t.Fatalf("paused SET: %q after %v", r, time.Since(start))
			}
		}},
		{"CLIENT UNBLOCK and CLIENT KILL of blocked and looped clients", func(t *testing.T, ts *testServer, probe *refConn) {
			b := refDial(t, ts.addr)
			id := strings.TrimSpace(strings.TrimPrefix(b.do("CLIENT", "ID"), ":"))
			b.send("BLPOP", "none", "0")
			time.Sleep(50 * time.Millisecond)
			if r := probe.do("CLIENT", "UNBLOCK", id, "ERROR"); r != ":1\r\n" {
				t.Fatalf("UNBLOCK: %q", r)
			}
			if r := b.reply(); !strings.HasPrefix(r, "-UNBLOCKED") {
				t.Fatalf("unblocked BLPOP: %q", r)
			}
			b.send("BLPOP", "none", "0")
			time.Sleep(50 * time.Millisecond)
			if r := probe.do("CLIENT", "KILL", "ID", id); r != ":1\r\n" {
				t.Fatalf("KILL blocked: %q", r)
			}
			if r := b.reply(); r != "<closed>" {
				t.Fatalf("killed blocked client got %q", r)
			}
			l := refDial(t, ts.addr)
			lid := strings.TrimSpace(strings.TrimPrefix(l.do("CLIENT", "ID"), ":"))
			if r := probe.do("CLIENT", "KILL", "ID", lid); r != ":1\r\n" {
				t.Fatalf("KILL looped: %q", r)
			}
			if r := l.reply(); r != "<closed>" {
				t.Fatalf("killed looped client got %q", r)
			}
			self := refDial(t, ts.addr)
			sid := strings.TrimSpace(strings.TrimPrefix(self.do("CLIENT", "ID"), ":"))
			if r := self.do("CLIENT", "KILL", "ID", sid); r != ":0\r\n" {
				t.Fatalf("KILL self (SKIPME yes): %q", r)
			}
			if r := self.do("CLIENT", "KILL", "ID", sid, "SKIPME", "no"); r != ":1\r\n" {
				t.Fatalf("KILL self (SKIPME no): %q", r)
			}
			if r := self.reply(); r != "<closed>" {
				t.Fatalf("after killing itself: %q", r)
			}
			ping(t, probe, "kills")
		}},
		{"MULTI with a blocking pop, WATCH from two clients", func(t *testing.T, ts *testServer, probe *refConn) {
			a, b := refDial(t, ts.addr), refDial(t, ts.addr)
			a.do("WATCH", "w")
			b.do("SET", "w", "1")
			a.do("MULTI")
			a.do("BLPOP", "none", "0")
			if r := a.do("EXEC"); r != "*-1\r\n" {
				t.Fatalf("EXEC after a watched change: %q", r)
			}
			a.do("MULTI")
			a.do("BLPOP", "none", "0")
			if r := a.do("EXEC"); r != "*1\r\n*-1\r\n" {
				t.Fatalf("EXEC with BLPOP: %q", r)
			}
			ping(t, probe, "MULTI")
		}},
		{"HELLO 3, SUBSCRIBE, PING, RESET, then commands", func(t *testing.T, ts *testServer, probe *refConn) {
			s := refDial(t, ts.addr)
			if r := s.do("HELLO", "3"); !strings.HasPrefix(r, "%") {
				t.Fatalf("HELLO 3: %q", r)
			}
			s.do("SUBSCRIBE", "ch")
			if r := s.do("PING"); r != "+PONG\r\n" {
				t.Fatalf("PING subscribed RESP3: %q", r)
			}
			if r := probe.do("PUBLISH", "ch", "m"); r != ":1\r\n" {
				t.Fatalf("PUBLISH: %q", r)
			}
			if r := s.reply(); r != ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n" {
				t.Fatalf("message: %q", r)
			}
			if r := s.do("RESET"); r != "+RESET\r\n" {
				t.Fatalf("RESET: %q", r)
			}
			if r := probe.do("PUBLISH", "ch", "m"); r != ":0\r\n" {
				t.Fatalf("PUBLISH after RESET: %q", r)
			}
			if r := s.do("SET", "after", "reset"); r != "+OK\r\n" {
				t.Fatalf("SET after RESET: %q", r)
			}
			ping(t, probe, "subscriber")
		}},
		{"slow subscriber past the output limit", func(t *testing.T, ts *testServer, probe *refConn) {
			probe.do("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb 1")
			s := refDial(t, ts.addr)
			s.do("SUBSCRIBE", "flood")
			msg := strings.Repeat("m", 64<<10)
			for i := 0; i < 200; i++ {
				if r := probe.replyAfter("PUBLISH", 3*time.Second, "flood", msg); !strings.HasPrefix(r, ":") {
					t.Fatalf("PUBLISH %d: %q", i, r)
				}
			}
			ping(t, probe, "flooded subscriber")
			s.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.Copy(io.Discard, s.nc); err != nil {
				t.Fatalf("the subscriber past the hard limit was not closed: %v", err)
			}
			probe.do("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startOneLoop(t)
			probe := refDial(t, ts.addr)
			tt.run(t, ts, probe)
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// startLoopsN starts a server with n event loops (0: a goroutine per
// client).
func startLoopsN(t *testing.T, n int) *testServer {
	t.Helper()
	ks := keyspace.New(keyspace.Config{})
	t.Cleanup(ks.Close)
	s := New(ks, Config{})
	t.Cleanup(s.Close)
	ln := testutil.Serve(t, netsrv.Config{Name: "redis", Reject: s.Reject, EventLoops: n}, s)
	s.SetListeners(single{ln})
	return &testServer{ks: ks, srv: s, addr: ln.Addr().String()}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// TestConnectDisconnectLeaksNothing: clients that come and go in every
// way a client can (quit, vanish mid-command, after blocking, after
// subscribing, after a large reply, killed) leave no descriptor and no
// goroutine behind, on event loops and on goroutines of their own.
func TestConnectDisconnectLeaksNothing(t *testing.T) {
	ways := []func(c *refConn){
		func(c *refConn) { c.do("QUIT") },
		func(c *refConn) { c.nc.Write([]byte("*2\r\n$3\r\nGET\r\n$5\r\nab")) },
		func(c *refConn) { c.do("BLPOP", "none", "0.001") },
		func(c *refConn) { c.send("BLPOP", "none", "0") },
		func(c *refConn) { c.do("SUBSCRIBE", "x") },
		func(c *refConn) { c.do("HELLO", "3"); c.do("PSUBSCRIBE", "*"); c.do("RESET") },
		func(c *refConn) { c.send("GET", "big") },
		func(c *refConn) { c.do("CLIENT", "KILL", "SKIPME", "no", "ID", "0") },
		func(c *refConn) {},
	}
	for _, loops := range []int{0, 1, 2} {
		t.Run("loops="+itoa(loops), func(t *testing.T) {
			ts := startLoopsN(t, loops)
			probe := refDial(t, ts.addr)
			probe.do("SET", "big", strings.Repeat("b", 1<<20))
			warm := func(rounds int) {
				for i := 0; i < rounds; i++ {
					for _, way := range ways {
						c := refDial(t, ts.addr)
						way(c)
						c.nc.Close()
					}
				}
			}
			warm(3)
			settle := func() (int, int) {
				time.Sleep(200 * time.Millisecond)
				return openFDs(t), runtime.NumGoroutine()
			}
			fds0, gs0 := settle()
			warm(40)
			var fds, gs int
			for i := 0; i < 50; i++ {
				if fds, gs = settle(); fds <= fds0+2 && gs <= gs0+2 {
					break
				}
			}
			if fds > fds0+2 || gs > gs0+2 {
				t.Fatalf("after %d connections: fds %d -> %d, goroutines %d -> %d", 40*len(ways), fds0, fds, gs0, gs)
			}
			if r := probe.do("INFO", "clients"); !strings.Contains(r, "connected_clients:1\r\n") {
				t.Fatalf("INFO clients after all left: %q", r)
			}
		})
	}
}

// TestPanickingCommandReleasesClient: a handler that panics ends its
// connection (netsrv recovers); the client's state goes with it, on event
// loops as on goroutines of their own: a subscriber leaves its channels.
func TestPanickingCommandReleasesClient(t *testing.T) {
	for _, loops := range []int{0, 1} {
		t.Run("loops="+itoa(loops), func(t *testing.T) {
			ts := startLoopsN(t, loops)
			ts.srv.table["echo"].Run = func(c *Conn, args [][]byte) { panic("test panic") }
			probe := refDial(t, ts.addr)
			for _, proto := range []string{"2", "3"} {
				s := refDial(t, ts.addr)
				s.do("HELLO", proto)
				if proto == "3" {
					s.do("SUBSCRIBE", "ch")
				}
				s.do("WATCH", "w")
				if r := s.do("ECHO", "x"); r != "<closed>" {
					t.Fatalf("RESP%s: ECHO that panics: %q", proto, r)
				}
			}
			deadline := time.Now().Add(3 * time.Second)
			for {
				r := probe.do("PUBLISH", "ch", "m")
				if r == ":0\r\n" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("PUBLISH to the channel of a client that is gone: %q", r)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestPauseWriteHoldsExec: CLIENT PAUSE WRITE holds EXEC of a transaction
// that writes (Redis pauses it as a write), not one that only reads.
func TestPauseWriteHoldsExec(t *testing.T) {
	tests := []struct {
		name    string
		queued  []string
		paused  bool
		wantRep string
	}{
		{"writes", []string{"SET", "pz", "1"}, true, "*1\r\n+OK\r\n"},
		{"reads", []string{"GET", "nothing"}, false, "*1\r\n$-1\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startOneLoop(t)
			admin, c := refDial(t, ts.addr), refDial(t, ts.addr)
			c.do("MULTI")
			c.do(tt.queued...)
			admin.do("CLIENT", "PAUSE", "600", "WRITE")
			start := time.Now()
			if r := c.do("EXEC"); r != tt.wantRep {
				t.Fatalf("EXEC: %q", r)
			}
			if took := time.Since(start); tt.paused != (took > 400*time.Millisecond) {
				t.Fatalf("EXEC took %v, paused = %v", took, tt.paused)
			}
		})
	}
}
