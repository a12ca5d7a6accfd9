package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Pub/Sub as the users use it: two redis-cli sessions, redis-py's
// publisher loop and listen(), go-redis over RESP2 and RESP3, a subscriber
// that stops reading, subscribers coming and going by the thousand, and
// keyspace notifications set from a config file. TestRedisPubSub
// (redis_test.go) covers redis-py's several channels, psubscribe,
// get_message and run_in_thread.

const pubsubStories = "testdata/pubsub_stories.py"

// TestPubSubRedisCLISessions: one redis-cli session SUBSCRIBEs, another,
// interactive, PUBLISHes twice with the quoting; the subscriber
// prints both and PUBLISH answers the number of receivers.
func TestPubSubRedisCLISessions(t *testing.T) {
	srv := startRedis(t)
	sub := startLines(t, requireCommand(t, "redis-cli"), "-p", srv.Port, "SUBSCRIBE", "master")
	sub.expectLines(10*time.Second, "subscribe", "master", "1")
	in := "PUBLISH master 'python is good'\nPUBLISH master \"java is good,too\"\nPUBLISH nobody x\n"
	if got := redisCLI(t, srv, strings.NewReader(in)); got != "1\n1\n0\n" {
		t.Fatalf("publishing session printed %q, want receiver counts 1, 1, 0", got)
	}
	sub.expectLines(10*time.Second,
		"message", "master", "python is good",
		"message", "master", "java is good,too")
	// A second subscriber session: PUBLISH counts both.
	sub2 := startLines(t, requireCommand(t, "redis-cli"), "-p", srv.Port, "PSUBSCRIBE", "mas*")
	sub2.expectLines(10*time.Second, "psubscribe", "mas*", "1")
	if got := redisCLI(t, srv, nil, "PUBLISH", "master", "both"); got != "2\n" {
		t.Fatalf("PUBLISH to a channel and a pattern subscriber: %q", got)
	}
	sub.expectLines(10*time.Second, "message", "master", "both")
	sub2.expectLines(10*time.Second, "pmessage", "mas*", "master", "both")
}

// TestPubSubRedisPyPublisherLoop: a publisher runs `while True:
// r.publish(...)`; a listener that subscribes meanwhile first sees its
// confirmation, then exactly the messages published after it subscribed,
// in order and without gaps, and then waits in place for the next one.
func TestPubSubRedisPyPublisherLoop(t *testing.T) {
	srv := startRedis(t)
	pub := startLines(t, "/usr/bin/python3", pubsubStories, srv.Port, "publisher", "name")
	// Let the station broadcast to nobody for a while.
	receivers := map[int]string{}
	readPub := func(until func() bool) {
		for !until() {
			l := pub.next(20 * time.Second)
			if l == "BYE" {
				t.Fatalf("publisher stopped early; %s", pub.output())
			}
			i, n, _ := strings.Cut(l, " ")
			k, _ := strconv.Atoi(i)
			receivers[k] = n
		}
	}
	readPub(func() bool { return len(receivers) >= 20 })
	const n = 100
	lis := startLines(t, "/usr/bin/python3", pubsubStories, srv.Port, "listener", "name", strconv.Itoa(n))
	lis.expectLines(20*time.Second, "subscribe name 1")
	first := -1
	for k := 0; k < n; k++ {
		l := lis.next(20 * time.Second)
		var seq int
		if _, err := fmt.Sscanf(l, "message name message %d", &seq); err != nil {
			t.Fatalf("listener line %q; %s", l, lis.output())
		}
		if first < 0 {
			first = seq
		} else if seq != first+k {
			t.Fatalf("listener got message %d after %d messages from %d: a gap or reordering", seq, k, first)
		}
	}
	lis.expectLines(10*time.Second, "WAITING")
	c := dialRESP(t, srv.Addr)
	expectReply(t, "SET stop", c.do("SET", "stop:name", "1"), respStatus("OK"))
	for l := pub.next(20 * time.Second); l != "BYE"; l = pub.next(20 * time.Second) {
		i, n, _ := strings.Cut(l, " ")
		k, _ := strconv.Atoi(i)
		receivers[k] = n
	}
	pub.wait(20 * time.Second)
	// Every publish before `first` reached nobody; `first` reached the
	// listener (that the next ones did, its gapless sequence shows).
	for i := 0; i < first; i++ {
		if receivers[i] != "0" {
			t.Fatalf("publish %d (before the listener's first message %d) reached %s", i, first, receivers[i])
		}
	}
	if receivers[first] != "1" {
		t.Fatalf("publish %d, the listener's first message, reached %q", first, receivers[first])
	}
	// The listener waits in place: a message published a while later
	// still arrives.
	time.Sleep(time.Second)
	expectReply(t, "PUBLISH late", c.do("PUBLISH", "name", "late news"), int64(1))
	lis.expectLines(10*time.Second, "message name late news", "BYE")
	lis.wait(10 * time.Second)
}

// TestPubSubGoRedis: go-redis v9's Subscribe and PSubscribe, with Channel()
// and ReceiveMessage, over RESP2 and RESP3.
func TestPubSubGoRedis(t *testing.T) {
	srv := startRedis(t)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			opt := &redis.Options{Addr: srv.Addr, Protocol: proto}
			pubc, subc := redis.NewClient(opt), redis.NewClient(opt)
			defer pubc.Close()
			defer subc.Close()
			prefix := fmt.Sprintf("r%d.", proto)
			ps := subc.Subscribe(ctx, prefix+"orders", prefix+"alerts")
			defer ps.Close()
			for i := 0; i < 2; i++ {
				v, err := ps.Receive(ctx)
				if s, ok := v.(*redis.Subscription); err != nil || !ok || s.Kind != "subscribe" || s.Count != i+1 {
					t.Fatalf("confirmation %d: %#v %v", i, v, err)
				}
			}
			pps := subc.PSubscribe(ctx, prefix+"news.*")
			defer pps.Close()
			if v, err := pps.Receive(ctx); err != nil {
				t.Fatalf("psubscribe confirmation: %#v %v", v, err)
			}
			const n = 200
			for i := 0; i < n; i++ {
				ch := prefix + "orders"
				if i%2 == 1 {
					ch = prefix + "news.tech"
				}
				if got, err := pubc.Publish(ctx, ch, fmt.Sprint(i)).Result(); err != nil || got != 1 {
					t.Fatalf("PUBLISH %s: %d %v", ch, got, err)
				}
			}
			if got := pubc.Publish(ctx, prefix+"alerts", "fire").Val(); got != 1 {
				t.Fatalf("PUBLISH alerts reached %d", got)
			}
			// Channel(): the channel subscriber's messages in order.
			msgs := ps.Channel()
			for i := 0; i < n; i += 2 {
				select {
				case m := <-msgs:
					if m.Channel != prefix+"orders" || m.Payload != fmt.Sprint(i) {
						t.Fatalf("Channel() message %+v, want orders %d", m, i)
					}
				case <-ctx.Done():
					t.Fatal("Channel(): timed out")
				}
			}
			if m := <-msgs; m.Channel != prefix+"alerts" || m.Payload != "fire" {
				t.Fatalf("alerts: %+v", m)
			}
			for i := 1; i < n; i += 2 {
				m, err := pps.ReceiveMessage(ctx)
				if err != nil || m.Pattern != prefix+"news.*" || m.Channel != prefix+"news.tech" || m.Payload != fmt.Sprint(i) {
					t.Fatalf("pmessage %+v %v, want %d", m, err, i)
				}
			}
			if got := pubc.PubSubNumSub(ctx, prefix+"orders").Val()[prefix+"orders"]; got != 1 {
				t.Fatalf("NUMSUB %d", got)
			}
			if err := ps.Unsubscribe(ctx, prefix+"orders"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "unsubscribe seen by PUBLISH", func() bool {
				return pubc.Publish(ctx, prefix+"orders", "x").Val() == 0
			})
			// A RESP3 client keeps ordinary commands while subscribed
			// (go-redis uses the subscribed connection only for pubsub,
			// so this is checked through PING's reply on it).
			if err := ps.Ping(ctx); err != nil {
				t.Fatalf("PING on the subscribed connection: %v", err)
			}
		})
	}
}

// dialSmallBuffer connects with a small receive buffer, so that what the
// server sends piles up in the server rather than in the kernel.
func dialSmallBuffer(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: ioTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// countingSubscriber reads every message of a raw subscription and checks
// that the sequence numbers at the start of the payloads follow each other.
type countingSubscriber struct {
	got atomic.Int64
	err atomic.Value
}

func startCountingSubscriber(t *testing.T, addr, channel string) *countingSubscriber {
	t.Helper()
	c := dialRESP(t, addr)
	expectReply(t, "SUBSCRIBE", c.do("SUBSCRIBE", channel), []any{"subscribe", channel, int64(1)})
	cs := &countingSubscriber{}
	go func() {
		for {
			c.c.SetReadDeadline(time.Now().Add(2 * time.Minute))
			v, err := readRESP(c.r)
			if err != nil {
				return
			}
			m, ok := v.([]any)
			if !ok || len(m) != 3 {
				cs.err.Store(fmt.Sprintf("not a message: %#v", v))
				return
			}
			payload, _ := m[2].(string)
			seq, _, _ := strings.Cut(payload, ":")
			if want := strconv.FormatInt(cs.got.Load(), 10); seq != want {
				cs.err.Store(fmt.Sprintf("message %q, want sequence %s", seq, want))
				return
			}
			cs.got.Add(1)
		}
	}()
	return cs
}

// publishFlood publishes n messages "<i>:<padding>" of size bytes to
// channel, pipelined, and returns how long it took.
func publishFlood(t *testing.T, addr, channel string, from, n, size int) time.Duration {
	t.Helper()
	c := dialRESP(t, addr)
	pad := strings.Repeat("x", size)
	start := time.Now()
	const batch = 64
	for i := from; i < from+n; i += batch {
		var b strings.Builder
		k := min(batch, from+n-i)
		for j := 0; j < k; j++ {
			p := strconv.Itoa(i+j) + ":" + pad
			fmt.Fprintf(&b, "*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(channel), channel, len(p), p)
		}
		c.send(b.String())
		for j := 0; j < k; j++ {
			if _, ok := c.reply().(int64); !ok {
				t.Fatal("PUBLISH reply is not an integer")
			}
		}
	}
	return time.Since(start)
}

// numSub returns PUBSUB NUMSUB channel.
func numSub(t *testing.T, c *respConn, channel string) int64 {
	t.Helper()
	r, ok := c.do("PUBSUB", "NUMSUB", channel).([]any)
	if !ok || len(r) != 2 {
		t.Fatalf("PUBSUB NUMSUB: %#v", r)
	}
	return r[1].(int64)
}

// TestPubSubStalledSubscriber: a subscriber whose socket stops being read
// does not slow the publisher or the other subscribers; with
// client-output-buffer-limit pubsub 32mb 8mb 60 (from the config file) it
// is disconnected past the hard limit, and past the soft limit once it has
// stayed over it for the configured seconds; memory stays bounded.
func TestPubSubStalledSubscriber(t *testing.T) {
	if isRedisReference() {
		t.Skip("measures the ferry process")
	}
	conf := filepath.Join(t.TempDir(), "redis.conf")
	if err := os.WriteFile(conf, []byte("client-output-buffer-limit pubsub 32mb 8mb 60\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startFerry(t, []string{"redis"}, "redis-server", conf, "--port", "0")
	addr := p.Addrs["redis"]
	admin := dialRESP(t, addr)
	expectReply(t, "CONFIG GET", admin.do("CONFIG", "GET", "client-output-buffer-limit"), []any{
		"client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"})

	const size = 4 << 10
	t.Run("hard", func(t *testing.T) {
		a, b := startCountingSubscriber(t, addr, "flood"), startCountingSubscriber(t, addr, "flood")
		// Baseline: the publisher alone with two readers.
		const n = 4000 // 16 MB each
		base := publishFlood(t, addr, "flood", 0, n, size)
		waitFor(t, 30*time.Second, "readers got the baseline", func() bool { return a.got.Load() == n && b.got.Load() == n })
		rss0 := vmRSS(t, p.Cmd.Process.Pid)

		// Two floods, each with a subscriber that stalls: 40000 messages of
		// 4 KB, 160 MB each, five times the hard limit.
		const m = 40000
		var rss [2]int64
		var took time.Duration
		for round := 0; round < 2; round++ {
			stalled := dialSmallBuffer(t, addr)
			io.WriteString(stalled, "*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nflood\r\n")
			waitFor(t, 5*time.Second, "stalled subscriber subscribed", func() bool { return numSub(t, admin, "flood") == 3 })
			from := n + round*m
			took = publishFlood(t, addr, "flood", from, m, size)
			waitFor(t, 60*time.Second, "readers got the flood", func() bool {
				return a.got.Load() == int64(from+m) && b.got.Load() == int64(from+m)
			})
			for _, s := range []*countingSubscriber{a, b} {
				if e := s.err.Load(); e != nil {
					t.Fatalf("reading subscriber: %v", e)
				}
			}
			if n := numSub(t, admin, "flood"); n != 2 {
				t.Fatalf("stalled subscriber still subscribed after 160 MB (NUMSUB %d)", n)
			}
			// The server closed the stalled socket: once its pending bytes
			// are read, it reads EOF.
			stalled.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, err := io.Copy(io.Discard, stalled); err != nil {
				t.Fatalf("stalled socket: %v, want EOF", err)
			}
			rss[round] = vmRSS(t, p.Cmd.Process.Pid)
		}
		perMsgBase, perMsg := base/time.Duration(n), took/time.Duration(m)
		t.Logf("publish: %v per message alone, %v with a stalled subscriber; RSS %d MB, %d MB after one flood, %d MB after two",
			perMsgBase, perMsg, rss0>>20, rss[0]>>20, rss[1]>>20)
		if perMsg > 4*perMsgBase+200*time.Microsecond {
			t.Errorf("the stalled subscriber slowed the publisher: %v per message, %v without it", perMsg, perMsgBase)
		}
		// Bounded: a second 160 MB flood at a stalled subscriber costs
		// little more memory than the first (an unbounded buffer would add
		// 160 MB, and the race detector's shadow memory as much again). The
		// first flood's growth is mostly the readers' and the stalled
		// client's buffers at up to 32 MB each, with the garbage of growing
		// them, in a -race binary.
		if grow := rss[1] - rss[0]; grow > 128<<20 {
			t.Errorf("RSS grew by %d MB more on a second flood at a stalled subscriber", grow>>20)
		}
		if !strings.Contains(p.Log(), "overcoming of output buffer limits") || !strings.Contains(p.Log(), "limit=hard") {
			t.Errorf("no hard-limit disconnection in the log:\n%s", p.Log())
		}
	})

	t.Run("soft", func(t *testing.T) {
		// Soft limit 1 MB for 3 s (the hard one off): a subscriber over it
		// for less than 3 s stays, one over it longer is disconnected at
		// the next message, as Redis checks on each append.
		expectReply(t, "CONFIG SET", admin.do("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 1mb 3"), respStatus("OK"))
		defer admin.do("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")
		stalled := dialSmallBuffer(t, addr)
		io.WriteString(stalled, "*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nsoft\r\n")
		paused := dialSmallBuffer(t, addr)
		io.WriteString(paused, "*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nsoft\r\n")
		waitFor(t, 5*time.Second, "subscribed", func() bool { return numSub(t, admin, "soft") == 2 })
		// 1500 messages of 4 KB: 6 MB pending for each, far over 1 MB.
		over := time.Now() // the soft limit's time starts after this
		publishFlood(t, addr, "soft", 0, 1500, size)
		// The paused reader catches up within the 2 s.
		var pausedBytes atomic.Int64
		pausedDone := make(chan error, 1)
		go func() {
			r := bufio.NewReaderSize(paused, 1<<16)
			buf := make([]byte, 1<<16)
			for {
				paused.SetReadDeadline(time.Now().Add(30 * time.Second))
				n, err := r.Read(buf)
				pausedBytes.Add(int64(n))
				if err != nil {
					pausedDone <- err
					return
				}
			}
		}()
		waitFor(t, 10*time.Second, "paused reader caught up", func() bool { return pausedBytes.Load() > 5<<20 })
		// Keep publishing a small message every 100 ms for 7 s.
		var kicked time.Duration
		for i := 0; i < 70; i++ {
			publishFlood(t, addr, "soft", 1500+i, 1, 10)
			if kicked == 0 && numSub(t, admin, "soft") == 1 {
				kicked = time.Since(over)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if kicked == 0 {
			t.Fatal("subscriber over the soft limit for 7 s was not disconnected")
		}
		if kicked < 3*time.Second {
			t.Fatalf("disconnected %v after going over the soft limit, before its 3 s", kicked)
		}
		if n := numSub(t, admin, "soft"); n != 1 {
			t.Fatalf("NUMSUB soft %d: the reader that caught up was disconnected too", n)
		}
		if !strings.Contains(p.Log(), "limit=soft") {
			t.Errorf("no soft-limit disconnection in the log")
		}
		t.Logf("soft limit: disconnected %v after going over", kicked)
	})
}

// TestPubSubChurnNoLeak: thousands of channels and patterns, subscribers
// connecting and leaving at random (unsubscribing, RESET, QUIT, or just
// dropping the connection) while messages flow: afterwards PUBSUB and INFO
// count nothing and only the checking client is connected.
func TestPubSubChurnNoLeak(t *testing.T) {
	srv := startRedis(t)
	admin := dialRESP(t, srv.Addr)
	rng := rand.New(rand.NewSource(1))
	var mu sync.Mutex
	pick := func(n int) int { mu.Lock(); defer mu.Unlock(); return rng.Intn(n) }
	stop := make(chan struct{})
	var pubWG sync.WaitGroup
	pubWG.Add(1)
	go func() { // a publisher on random channels all along
		defer pubWG.Done()
		c := dialRESP(t, srv.Addr)
		defer c.c.Close()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c.do("PUBLISH", fmt.Sprintf("ch:%d", pick(3000)), "m")
		}
	}()
	const rounds, clients = 10, 40
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		for k := 0; k < clients; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.DialTimeout("tcp", srv.Addr, ioTimeout)
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				var b strings.Builder
				args := []string{"SUBSCRIBE"}
				for i := 0; i < 50; i++ {
					args = append(args, fmt.Sprintf("ch:%d", pick(3000)))
				}
				b.WriteString(command(args...))
				args = []string{"PSUBSCRIBE"}
				for i := 0; i < 10; i++ {
					args = append(args, fmt.Sprintf("ch:%d*", pick(1000)))
				}
				b.WriteString(command(args...))
				b.WriteString(command("SSUBSCRIBE", fmt.Sprintf("sh:%d", pick(500))))
				switch pick(4) {
				case 0: // drop the connection
				case 1:
					b.WriteString(command("UNSUBSCRIBE") + command("PUNSUBSCRIBE") + command("SUNSUBSCRIBE") + command("PING"))
				case 2:
					b.WriteString(command("RESET"))
				case 3:
					b.WriteString(command("QUIT"))
				}
				c.SetWriteDeadline(time.Now().Add(ioTimeout))
				io.WriteString(c, b.String())
				// Read a little (or not at all) before leaving.
				c.SetReadDeadline(time.Now().Add(time.Duration(pick(100)) * time.Millisecond))
				io.ReadFull(c, make([]byte, pick(8192)))
			}()
		}
		wg.Wait()
	}
	close(stop)
	pubWG.Wait()
	var state string
	deadline := time.Now().Add(20 * time.Second)
	for {
		ch, _ := admin.do("PUBSUB", "CHANNELS").([]any)
		sh, _ := admin.do("PUBSUB", "SHARDCHANNELS").([]any)
		info, _ := admin.do("INFO").(string)
		if len(ch) == 0 && len(sh) == 0 && admin.do("PUBSUB", "NUMPAT") == int64(0) &&
			strings.Contains(info, "pubsub_channels:0\r\n") && strings.Contains(info, "pubsub_patterns:0\r\n") &&
			strings.Contains(info, "pubsubshard_channels:0\r\n") && strings.Contains(info, "connected_clients:1\r\n") {
			break
		}
		if time.Now().After(deadline) {
			state = fmt.Sprintf("%d channels, %d shard channels, NUMPAT %v\nCLIENT LIST:\n%v", len(ch), len(sh),
				admin.do("PUBSUB", "NUMPAT"), admin.do("CLIENT", "LIST"))
			t.Fatalf("20 s after the churn: %s", abbrev(state))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKeyspaceNotificationsConfigFile: notify-keyspace-events and a memory
// limit from redis.conf; a redis-py subscriber in database 3 sees the
// events of its database's channels (set, expire, expired, del, evicted),
// and CONFIG SET changes them at run time.
func TestKeyspaceNotificationsConfigFile(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "redis.conf")
	if err := os.WriteFile(conf, []byte("notify-keyspace-events KEA\nhz 50\nenable-debug-command yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var srv *redisServer
	if isRedisReference() {
		srv = startRealRedis(t, "--notify-keyspace-events", "KEA", "--hz", "50", "--enable-debug-command", "yes")
	} else {
		p := startFerry(t, []string{"redis"}, "redis-server", conf, "--port", "0")
		_, port, _ := net.SplitHostPort(p.Addrs["redis"])
		srv = &redisServer{Addr: p.Addrs["redis"], Port: port, Pid: p.Cmd.Process.Pid}
	}
	c := dialRESP(t, srv.Addr)
	expectReply(t, "CONFIG GET", c.do("CONFIG", "GET", "notify-keyspace-events"), []any{"notify-keyspace-events", "AKE"})
	sub := startLines(t, "/usr/bin/python3", pubsubStories, srv.Port, "notifications", "3")
	sub.expectLines(20*time.Second, "READY")
	expectReply(t, "SELECT", c.do("SELECT", "3"), respStatus("OK"))
	c.do("SET", "k", "v")
	c.do("PEXPIRE", "k", "50") // expires by the active cycle
	time.Sleep(500 * time.Millisecond)
	c.do("SET", "lazy", "v", "PX", "10")
	c.do("DEBUG", "SET-ACTIVE-EXPIRE", "0")
	time.Sleep(50 * time.Millisecond)
	c.do("GET", "lazy") // expires on access
	c.do("DEBUG", "SET-ACTIVE-EXPIRE", "1")
	c.do("LPUSH", "l", "a")
	c.do("HSET", "h", "f", "v")
	c.do("SADD", "s", "m")
	c.do("ZADD", "z", "1", "m")
	c.do("DEL", "l")
	c.do("SELECT", "4")
	c.do("SET", "other-db", "v") // not on database 3's channels
	c.do("SELECT", "3")
	c.do("SET", "end", "v")
	sub.expectLines(20*time.Second,
		"__keyspace@3__:k set", "__keyevent@3__:set k",
		"__keyspace@3__:k expire", "__keyevent@3__:expire k",
		"__keyspace@3__:k expired", "__keyevent@3__:expired k",
		"__keyspace@3__:lazy set", "__keyevent@3__:set lazy",
		"__keyspace@3__:lazy expire", "__keyevent@3__:expire lazy",
		"__keyspace@3__:lazy expired", "__keyevent@3__:expired lazy",
		"__keyspace@3__:l lpush", "__keyevent@3__:lpush l",
		"__keyspace@3__:h hset", "__keyevent@3__:hset h",
		"__keyspace@3__:s sadd", "__keyevent@3__:sadd s",
		"__keyspace@3__:z zadd", "__keyevent@3__:zadd z",
		"__keyspace@3__:l del", "__keyevent@3__:del l",
		"__keyspace@4__:other-db set", "__keyevent@4__:set other-db",
		"__keyspace@3__:end set", "__keyevent@3__:set end",
		"BYE")
	sub.wait(10 * time.Second)

	// Eviction, and flags changed at run time: only evicted events.
	expectReply(t, "CONFIG SET", c.do("CONFIG", "SET", "notify-keyspace-events", "Ee"), respStatus("OK"))
	ev := dialRESP(t, srv.Addr)
	expectReply(t, "SUBSCRIBE", ev.do("SUBSCRIBE", "__keyevent@3__:evicted"), []any{"subscribe", "__keyevent@3__:evicted", int64(1)})
	info, _ := c.do("INFO", "memory").(string)
	var used int64
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			used, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	c.do("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
	c.do("CONFIG", "SET", "maxmemory", strconv.FormatInt(used+200<<10, 10))
	val := strings.Repeat("v", 1000)
	for i := 0; i < 1000; i++ {
		c.do("SET", fmt.Sprintf("big:%d", i), val)
	}
	c.do("CONFIG", "SET", "maxmemory", "0")
	m, ok := ev.reply().([]any)
	if !ok || len(m) != 3 || m[0] != "message" || m[1] != "__keyevent@3__:evicted" || m[2] == "" {
		t.Fatalf("evicted event: %#v", m)
	}
}
