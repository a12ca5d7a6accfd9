package persist_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"ferry/internal/keyspace"
	"ferry/internal/netsrv"
	"ferry/internal/persist"
	"ferry/internal/persist/rdb"
	"ferry/internal/proto/memcache"
	redisfe "ferry/internal/proto/redis"
	"ferry/internal/testutil"
)

// node is one Ferry instance as the composition root builds it (keyspace,
// Redis and memcached front ends, persistence manager) with live listeners
// on 127.0.0.1:0. Restarting builds a fresh node over the same directory.
type node struct {
	t      testing.TB
	cfg    persist.Config
	ks     *keyspace.Keyspace
	redis  *redisfe.Server
	mc     *memcache.Server
	m      *persist.Manager
	lns    []*netsrv.Server
	RAddr  string // Redis listener
	MCAddr string // memcached listener
	logBuf *syncBuffer
	closed bool
}

// syncBuffer is a log sink tests read while the node writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testConfig is a persistence configuration in a fresh directory, with no
// save points (tests save when they mean to).
func testConfig(t testing.TB) persist.Config {
	cfg := persist.DefaultConfig()
	cfg.Dir = t.TempDir()
	cfg.Save = nil
	return cfg
}

// startNode builds a node, loads the dataset and starts persistence. It
// fails the test if loading fails; use buildNode + load for that case.
func startNode(t testing.TB, cfg persist.Config) *node {
	t.Helper()
	n := buildNode(t, cfg)
	if err := n.m.Load(); err != nil {
		t.Fatalf("load: %v\nlog:\n%s", err, n.logBuf)
	}
	if err := n.m.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	return n
}

// buildNode wires a node as internal/server does, without loading.
func buildNode(t testing.TB, cfg persist.Config) *node {
	t.Helper()
	n := &node{t: t, cfg: cfg, logBuf: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(n.logBuf, nil))
	n.ks = keyspace.New(keyspace.Config{Databases: 16})
	n.redis = redisfe.New(n.ks, redisfe.Config{Databases: 16, Log: log, Shutdown: func(bool, bool) {}})
	n.m = persist.New(n.ks, cfg, log, n.redis.Limits, n.redis.Replay)
	n.ks.AddObserver(n.m)
	n.redis.SetPersistence(n.m, persist.ParamNames)
	n.mc = memcache.New(n.ks, memcache.Config{Limits: memcache.DefaultLimits, Log: io.Discard, Persist: n.m})
	rl := testutil.Serve(t, netsrv.Config{Name: "redis"}, n.redis)
	ml := testutil.Serve(t, netsrv.Config{Name: "memcached"}, n.mc)
	n.lns = []*netsrv.Server{rl, ml}
	n.RAddr, n.MCAddr = rl.Addr().String(), ml.Addr().String()
	t.Cleanup(func() { n.stop(false) })
	return n
}

// stop ends the node: listeners first (as the server does), then
// persistence (flushing the AOF; a final save only if save points say so
// and nosave is false), then the engines.
func (n *node) stop(save bool) {
	if n.closed {
		return
	}
	n.closed = true
	for _, l := range n.lns {
		l.Close(2 * time.Second)
	}
	if err := n.m.Close(save, !save); err != nil {
		n.t.Errorf("closing persistence: %v", err)
	}
	n.mc.Close()
	n.redis.Close()
	n.ks.Close()
}

// restart stops the node and starts a new one over the same directory.
func (n *node) restart() *node {
	n.t.Helper()
	n.stop(false)
	return startNode(n.t, n.cfg)
}

// client is a go-redis client of the node. Its timeouts only catch hangs:
// on a shared 2-core machine under -race a MULTI of a dozen commands racing
// a SAVE and a rewrite has taken over 10 s.
func (n *node) client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: n.RAddr, Protocol: 2, MaxRetries: -1,
		ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, PoolSize: 64})
	n.t.Cleanup(func() { c.Close() })
	return c
}

// mc sends memcached text commands and returns the reply up to and
// including a line that ends one (STORED, END, …).
func (n *node) mcConn() *testutil.Conn { return testutil.Dial(n.t, n.MCAddr) }

// dump is the whole keyspace in a canonical text form: db, key, type,
// expiry, memcached flags and the full value, sorted (set members, hash
// fields) where the type has no order.
func dump(ks *keyspace.Keyspace) map[string]string {
	snap := ks.Snapshot()
	defer snap.Release()
	out := map[string]string{}
	for _, it := range snap.Items {
		v, err := persist.ToRDB(it.Type, it.Str, it.Obj)
		if err != nil {
			out[fmt.Sprintf("%d/%q", it.DB, it.Key)] = "error: " + err.Error()
			continue
		}
		out[fmt.Sprintf("%d/%q", it.DB, it.Key)] = fmt.Sprintf("exp=%d flags=%d %s", it.Expire, it.Flags, canon(v))
	}
	return out
}

// canon renders an RDB value canonically.
func canon(v rdb.Value) string {
	var parts []string
	switch x := v.(type) {
	case rdb.String:
		return "string:" + strconv.Quote(string(x))
	case rdb.List:
		for _, e := range x {
			parts = append(parts, strconv.Quote(string(e)))
		}
		return "list:[" + strings.Join(parts, " ") + "]"
	case rdb.Set:
		for _, e := range x {
			parts = append(parts, strconv.Quote(string(e)))
		}
		sort.Strings(parts)
		return "set:{" + strings.Join(parts, " ") + "}"
	case rdb.Hash:
		for _, fv := range x {
			parts = append(parts, strconv.Quote(string(fv.Field))+"="+strconv.Quote(string(fv.Value)))
		}
		sort.Strings(parts)
		return "hash:{" + strings.Join(parts, " ") + "}"
	case rdb.ZSet:
		for _, m := range x {
			parts = append(parts, strconv.Quote(string(m.Member))+"@"+strconv.FormatFloat(m.Score, 'g', -1, 64))
		}
		sort.Strings(parts)
		return "zset:{" + strings.Join(parts, " ") + "}"
	}
	return fmt.Sprintf("%T", v)
}

// sameDump fails the test with the differences between two dumps.
func sameDump(t testing.TB, got, want map[string]string) {
	t.Helper()
	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("missing %s (%.200s)", k, w))
		} else if g != w {
			diffs = append(diffs, fmt.Sprintf("%s:\n   got %.300s\n  want %.300s", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("unexpected %s (%.200s)", k, g))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		if len(diffs) > 20 {
			diffs = append(diffs[:20], fmt.Sprintf("… and %d more", len(diffs)-20))
		}
		t.Fatalf("%d keys differ (of %d):\n%s", len(diffs), len(want), strings.Join(diffs, "\n"))
	}
}

// populate writes every type in its small and large encodings into several
// databases, with TTLs, through the Redis port, and memcached items with
// client flags and expiry through the memcached port.
func populate(t testing.TB, n *node) {
	t.Helper()
	ctx := context.Background()
	c := n.client()
	big := strings.Repeat("x", 100_000)
	for db := 0; db < 3; db++ {
		p := c.Pipeline()
		p.Do(ctx, "SELECT", db)
		p.Set(ctx, "str", "hello", 0)
		p.Set(ctx, "int", "12345", 0)
		p.Set(ctx, "neg", "-9223372036854775808", 0)
		p.Set(ctx, "bin", "\x00\xff\r\n\x01", 0)
		p.Set(ctx, "big", big, 0) // LZF-compressible
		p.Set(ctx, "empty", "", 0)
		p.Set(ctx, "ttl", "v", time.Hour)
		p.Do(ctx, "SET", "pxat", "v", "PXAT", time.Now().Add(90*time.Minute).UnixMilli())
		p.RPush(ctx, "list:small", "a", "1", "", "b")
		for i := 0; i < 30; i++ {
			vals := make([]any, 0, 200)
			for j := 0; j < 200; j++ {
				vals = append(vals, fmt.Sprintf("element-%d-%d", i, j))
			}
			p.RPush(ctx, "list:big", vals...)
		}
		p.RPush(ctx, "list:bigelem", big, "x", big)
		p.SAdd(ctx, "set:int", 1, 2, 3, -5, 1<<40)
		p.SAdd(ctx, "set:str", "a", "b", "c")
		for i := 0; i < 1000; i++ {
			p.SAdd(ctx, "set:bigint", i*7)
			p.SAdd(ctx, "set:big", fmt.Sprintf("member-%d", i))
		}
		p.HSet(ctx, "hash:small", "f1", "v1", "f2", "2", "empty", "")
		for i := 0; i < 1000; i++ {
			p.HSet(ctx, "hash:big", fmt.Sprintf("field-%d", i), fmt.Sprintf("value-%d", i))
		}
		p.HSet(ctx, "hash:bigval", "f", big)
		p.ZAdd(ctx, "zset:small", redis.Z{Score: 1, Member: "a"}, redis.Z{Score: -2.5, Member: "b"},
			redis.Z{Score: math.Inf(1), Member: "inf"}, redis.Z{Score: math.Inf(-1), Member: "-inf"})
		for i := 0; i < 500; i++ {
			p.ZAdd(ctx, "zset:big", redis.Z{Score: float64(i) / 3, Member: fmt.Sprintf("m-%d", i)})
		}
		p.Expire(ctx, "list:small", 2*time.Hour)
		p.Expire(ctx, "set:big", 3*time.Hour)
		p.Expire(ctx, "hash:small", 4*time.Hour)
		p.Expire(ctx, "zset:big", 5*time.Hour)
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mc := n.mcConn()
	mc.Send("set mc:plain 0 0 5\r\nhello\r\n")
	mc.Expect("STORED\r\n")
	mc.Send("set mc:flags 3735928559 0 3\r\nabc\r\n")
	mc.Expect("STORED\r\n")
	mc.Send("set mc:ttl 42 3600 3\r\nxyz\r\n")
	mc.Expect("STORED\r\n")
	mc.Send("set mc:counter 7 0 2\r\n10\r\nincr mc:counter 5\r\n")
	mc.Expect("STORED\r\n15\r\n")
	mc.Send("set mc:app 9 0 1\r\na\r\nappend mc:app 0 0 1\r\nb\r\n")
	mc.Expect("STORED\r\nSTORED\r\n")
}

// mcGet returns memcached's "VALUE key flags bytes" line and the data of
// one key, or "" for a miss.
func mcGet(t testing.TB, n *node, key string) string {
	t.Helper()
	mc := n.mcConn()
	mc.Send("get " + key + "\r\n")
	line := mc.Line()
	if line == "END" {
		return ""
	}
	data := mc.Line()
	mc.Expect("END\r\n")
	return line + " " + data
}

// waitFor polls cond until it holds or fails the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// infoField reads one INFO persistence field.
func infoField(t testing.TB, c *redis.Client, name string) string {
	t.Helper()
	s, err := c.Info(context.Background(), "persistence").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == name {
			return v
		}
	}
	t.Fatalf("INFO persistence has no %s:\n%s", name, s)
	return ""
}

type redisPipeliner = redis.Pipeliner

var _ = net.Dial
