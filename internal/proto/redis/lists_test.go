package redis

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/testutil"

	goredis "github.com/redis/go-redis/v9"

	"ferry/internal/keyspace"
)

func TestLists(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		check := func(got, want any) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
		check(rdb.RPush(ctx, "l", "a", "b", "c").Val(), 3)
		check(rdb.LPush(ctx, "l", "z").Val(), 4)
		check(rdb.LRange(ctx, "l", 0, -1).Val(), []string{"z", "a", "b", "c"})
		check(rdb.LRange(ctx, "l", -2, 100).Val(), []string{"b", "c"})
		check(rdb.LLen(ctx, "l").Val(), 4)
		check(rdb.LIndex(ctx, "l", -1).Val(), "c")
		check(rdb.LIndex(ctx, "l", 10).Err(), goredis.Nil)
		check(rdb.LSet(ctx, "l", 1, "A").Val(), "OK")
		check(rdb.LSet(ctx, "l", 10, "x").Err(), "ERR index out of range")
		check(rdb.LSet(ctx, "nokey", 0, "x").Err(), "ERR no such key")
		check(rdb.LInsertBefore(ctx, "l", "b", "pre").Val(), 5)
		check(rdb.LInsertAfter(ctx, "l", "nope", "x").Val(), -1)
		check(rdb.LPushX(ctx, "nokey", "x").Val(), 0)
		check(rdb.RPushX(ctx, "l", "b").Val(), 6)
		check(rdb.LRem(ctx, "l", -1, "b").Val(), 1)
		check(rdb.LPos(ctx, "l", "b", goredis.LPosArgs{}).Val(), 3)
		check(rdb.LPosCount(ctx, "l", "b", 0, goredis.LPosArgs{}).Val(), []int64{3})
		check(rdb.LTrim(ctx, "l", 1, -2).Val(), "OK")
		check(rdb.LRange(ctx, "l", 0, -1).Val(), []string{"A", "pre", "b"})
		check(rdb.LPop(ctx, "l").Val(), "A")
		check(rdb.RPopCount(ctx, "l", 5).Val(), []string{"b", "pre"})
		check(rdb.Exists(ctx, "l").Val(), 0) // emptied lists are deleted
		check(rdb.LPop(ctx, "l").Err(), goredis.Nil)
		rdb.RPush(ctx, "src", "1", "2", "3")
		check(rdb.LMove(ctx, "src", "dst", "LEFT", "RIGHT").Val(), "1")
		check(rdb.RPopLPush(ctx, "src", "dst").Val(), "3")
		check(rdb.LRange(ctx, "dst", 0, -1).Val(), []string{"3", "1"})
		check(rdb.LMove(ctx, "dst", "dst", "LEFT", "RIGHT").Val(), "3") // rotation
		check(rdb.LRange(ctx, "dst", 0, -1).Val(), []string{"1", "3"})
		key, vals, err := rdb.LMPop(ctx, "left", 1, "nokey", "dst").Result()
		check(fmt.Sprint(key, " ", vals, " ", err), "dst [1] <nil>")
		rdb.Set(ctx, "str", "x", 0)
		check(rdb.LPush(ctx, "str", "a").Err(), "WRONGTYPE Operation against a key holding the wrong kind of value")
		check(rdb.LMove(ctx, "dst", "str", "LEFT", "LEFT").Err(), "WRONGTYPE Operation against a key holding the wrong kind of value")
		check(rdb.LRange(ctx, "dst", 0, -1).Val(), []string{"3"}) // not popped on WRONGTYPE
		check(rdb.Do(ctx, "LPOP", "dst", "-1").Err(), "ERR value is out of range, must be positive")
		check(rdb.ObjectEncoding(ctx, "dst").Val(), "quicklist")
	})
}

func TestBlockingPops(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	pusher := clientFor(t, ts, 2)

	// Timeout.
	start := time.Now()
	if err := clientFor(t, ts, 2).BLPop(ctx, 100*time.Millisecond, "empty").Err(); err != goredis.Nil {
		t.Fatalf("BLPOP timeout: %v", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
		t.Fatalf("BLPOP timed out after %v", d)
	}

	// Waiters are served in the order they blocked.
	const n = 5
	results := make(chan string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		c := clientFor(t, ts, 2)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v, err := c.BLPop(ctx, 5*time.Second, "q").Result()
			if err != nil {
				results <- fmt.Sprint("err ", err)
				return
			}
			results <- fmt.Sprintf("%d:%s", i, v[1])
		}(i)
		waitBlocked(t, pusher, i+1)
	}
	for i := 0; i < n; i++ {
		pusher.RPush(ctx, "q", fmt.Sprint("m", i))
	}
	wg.Wait()
	close(results)
	got := map[string]bool{}
	for r := range results {
		got[r] = true
	}
	for i := 0; i < n; i++ {
		if !got[fmt.Sprintf("%d:m%d", i, i)] {
			t.Fatalf("not FIFO: %v", got)
		}
	}
	if pusher.Exists(ctx, "q").Val() != 0 {
		t.Fatal("elements left behind")
	}

	// BLMOVE wakes on a push and moves atomically.
	done := make(chan []string, 1)
	mover := clientFor(t, ts, 3)
	go func() {
		v, err := mover.BLMove(ctx, "from", "to", "RIGHT", "LEFT", 5*time.Second).Result()
		done <- []string{v, fmt.Sprint(err)}
	}()
	waitBlocked(t, pusher, 1)
	pusher.LPush(ctx, "from", "x")
	if r := <-done; r[0] != "x" || r[1] != "<nil>" || pusher.LIndex(ctx, "to", 0).Val() != "x" {
		t.Fatalf("BLMOVE: %v", r)
	}

	// Inside MULTI a blocking pop does not block.
	cmds, _ := pusher.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.BLPop(ctx, 0, "empty")
		return nil
	})
	if cmds[0].Err() != goredis.Nil {
		t.Fatalf("BLPOP in MULTI: %v", cmds[0].Err())
	}

	// A client that disconnects while blocked takes nothing.
	raw, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	raw.Write([]byte("BLPOP gone 0\r\n"))
	waitBlocked(t, pusher, 1)
	raw.Close()
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.blocked.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	pusher.RPush(ctx, "gone", "keep")
	if v := pusher.LRange(ctx, "gone", 0, -1).Val(); len(v) != 1 {
		t.Fatalf("element taken by a departed client: %v", v)
	}

	// CLIENT UNBLOCK.
	blocked := clientFor(t, ts, 2)
	id := blocked.ClientID(ctx).Val()
	errc := make(chan error, 1)
	go func() { errc <- blocked.BLPop(ctx, 0, "never").Err() }()
	waitBlocked(t, pusher, 1)
	if n := pusher.ClientUnblock(ctx, id).Val(); n != 1 {
		t.Fatalf("CLIENT UNBLOCK returned %d", n)
	}
	if err := <-errc; err != goredis.Nil {
		t.Fatalf("unblocked with TIMEOUT: %v", err)
	}
}

// waitBlocked waits until n clients are blocked.
func waitBlocked(t *testing.T, rdb *goredis.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		info := rdb.Info(context.Background(), "clients").Val()
		if containsLine(info, fmt.Sprintf("blocked_clients:%d", n)) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("never saw %d blocked clients", n)
}

func containsLine(s, line string) bool {
	for _, l := range splitLines(s) {
		if l == line {
			return true
		}
	}
	return false
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			l := s[start:i]
			if len(l) > 0 && l[len(l)-1] == '\r' {
				l = l[:len(l)-1]
			}
			out = append(out, l)
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// TestBlockedWaitersOfOtherTypes: a woken client that cannot use the key
// (it waits for another type, or the key changed type) keeps waiting and
// the clients behind it still get served, as Redis tries every waiter.
func TestBlockedWaitersOfOtherTypes(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	ctl := clientFor(t, ts, 2)

	zwait := make(chan error, 1)
	go func() { zwait <- clientFor(t, ts, 2).BZPopMin(ctx, 3*time.Second, "k").Err() }()
	waitBlocked(t, ctl, 1)
	lwait := make(chan []string, 1)
	go func() { v, _ := clientFor(t, ts, 2).BLPop(ctx, 3*time.Second, "k").Result(); lwait <- v }()
	waitBlocked(t, ctl, 2)
	ctl.RPush(ctx, "k", "x")
	select {
	case v := <-lwait:
		if len(v) != 2 || v[1] != "x" {
			t.Fatalf("BLPOP behind a BZPOPMIN got %v", v)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("BLPOP behind a BZPOPMIN on the same key was never served")
	}
	if err := <-zwait; err != goredis.Nil {
		t.Fatalf("BZPOPMIN: %v, want a timeout", err)
	}

	// The key turns into a string while a BLPOP waits: it keeps waiting.
	got := make(chan []string, 1)
	go func() { v, _ := clientFor(t, ts, 2).BLPop(ctx, 5*time.Second, "t").Result(); got <- v }()
	waitBlocked(t, ctl, 1)
	ctl.Set(ctx, "t", "str", 0)
	time.Sleep(50 * time.Millisecond)
	ctl.Del(ctx, "t")
	ctl.RPush(ctx, "t", "y")
	if v := <-got; len(v) != 2 || v[1] != "y" {
		t.Fatalf("BLPOP after its key was a string got %v, want [t y]", v)
	}
}

// TestBlockingFlushesEarlierReplies checks that the replies of commands
// pipelined before a blocking one leave before it blocks, as Redis writes
// them when its event loop goes idle.
func TestBlockingFlushesEarlierReplies(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	c := testutil.Dial(t, ts.addr)
	c.Send("SET a 1\r\nINCR n\r\nBLPOP waitlist 30\r\n")
	start := time.Now()
	c.Expect("+OK\r\n:1\r\n")
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("replies before BLPOP took %v", d)
	}
	conv(t, ts.addr, "RPUSH waitlist x\r\n", ":1\r\n")
	c.Expect("*2\r\n$8\r\nwaitlist\r\n$1\r\nx\r\n")
}

// TestBlockingAfterLargeReplyAndReplySkip checks that sending earlier
// replies before blocking keeps the blocking command's own reply handling
// right: CLIENT REPLY SKIP drops only its reply, after a reply larger than
// the connection's own buffer (this once panicked on a stale offset).
func TestBlockingAfterLargeReplyAndReplySkip(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	big := strings.Repeat("x", 60000)
	conv(t, ts.addr, "SET big "+big+"\r\n", "+OK\r\n")
	c := testutil.Dial(t, ts.addr)
	c.Send("GET big\r\nCLIENT REPLY SKIP\r\nBLPOP nokey 0.3\r\nPING\r\n")
	c.Expect("$60000\r\n" + big + "\r\n+PONG\r\n")
	c.Send("SET a 1\r\nCLIENT REPLY SKIP\r\nBLPOP nokey 0.2\r\nGET a\r\n")
	c.Expect("+OK\r\n$1\r\n1\r\n")
}
