package persist_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"ferry/internal/persist"
)

// TestSaveLoadRoundTrip: every type in every encoding, TTLs, several
// databases and memcached flags survive SAVE and a restart from dump.rdb,
// with each combination of rdbcompression and rdbchecksum.
func TestSaveLoadRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name                  string
		compression, checksum bool
	}{
		{"defaults", true, true},
		{"no-compression", false, true},
		{"no-checksum", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.AppendOnly = false
			cfg.RDBCompression, cfg.RDBChecksum = tt.compression, tt.checksum
			n := startNode(t, cfg)
			populate(t, n)
			want := dump(n.ks)
			if err := n.client().Save(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(filepath.Join(cfg.Dir, "dump.rdb"))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o644 {
				t.Errorf("dump.rdb mode %v, want 0644 as redis-server creates it", st.Mode().Perm())
			}
			n = n.restart()
			sameDump(t, dump(n.ks), want)
			if got := mcGet(t, n, "mc:flags"); got != "VALUE mc:flags 3735928559 3 abc" {
				t.Errorf("memcached item after restart: %q", got)
			}
			if got := mcGet(t, n, "mc:app"); got != "VALUE mc:app 9 2 ab" {
				t.Errorf("memcached item after restart: %q", got)
			}
			c := n.client()
			if ttl := c.TTL(context.Background(), "ttl").Val(); ttl < 59*time.Minute || ttl > time.Hour {
				t.Errorf("TTL after restart %v", ttl)
			}
		})
	}
}

// TestSaveSkipsExpired: keys that expired before the save are not written,
// and keys whose time passes while the server is down are not loaded
// (counted in rdb_last_load_keys_expired).
func TestSaveSkipsExpiredAndLoadExpires(t *testing.T) {
	cfg := testConfig(t)
	cfg.AppendOnly = false
	n := startNode(t, cfg)
	c := n.client()
	ctx := context.Background()
	c.Set(ctx, "gone", "v", 10*time.Millisecond)
	c.Set(ctx, "soon", "v", 1200*time.Millisecond)
	c.Set(ctx, "stays", "v", 0)
	time.Sleep(50 * time.Millisecond)
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	n.stop(false)
	time.Sleep(1300 * time.Millisecond) // "soon" expires while down
	n = startNode(t, cfg)
	got := dump(n.ks)
	if len(got) != 1 || got[`0/"stays"`] == "" {
		t.Fatalf("after restart: %v", got)
	}
	if v := infoField(t, n.client(), "rdb_last_load_keys_expired"); v != "1" {
		t.Errorf("rdb_last_load_keys_expired:%s, want 1", v)
	}
	if v := infoField(t, n.client(), "rdb_last_load_keys_loaded"); v != "1" {
		t.Errorf("rdb_last_load_keys_loaded:%s, want 1", v)
	}
}

// TestAOFReplay: with appendonly yes, a restart replays the log to the same
// dataset, whatever the commands were (relative TTLs, random pops,
// blocking pops, float increments, transactions, memcached changes), and
// across a rewrite with writes going on after it, in both base formats.
func TestAOFReplay(t *testing.T) {
	for _, preamble := range []bool{true, false} {
		name := "rdb-preamble"
		if !preamble {
			name = "aof-base"
		}
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.AOFUseRDBPreamble = preamble
			n := startNode(t, cfg)
			populate(t, n)
			ctx := context.Background()
			c := n.client()
			runMixedWrites(t, n, 0)
			if _, err := c.BgRewriteAOF(ctx).Result(); err != nil {
				t.Fatal(err)
			}
			runMixedWrites(t, n, 1) // during and after the rewrite
			waitFor(t, 20*time.Second, "the rewrite", func() bool {
				return infoField(t, c, "aof_rewrite_in_progress") == "0"
			})
			if v := infoField(t, c, "aof_last_bgrewrite_status"); v != "ok" {
				t.Fatalf("aof_last_bgrewrite_status:%s\n%s", v, n.logBuf)
			}
			runMixedWrites(t, n, 2)
			want := dump(n.ks)
			n = n.restart()
			sameDump(t, dump(n.ks), want)
			if got := mcGet(t, n, "mc:flags"); got != "VALUE mc:flags 3735928559 3 abc" {
				t.Errorf("memcached item after restart: %q", got)
			}
		})
	}
}

// runMixedWrites runs commands whose logged form differs from what the
// client sent, each round on its own keys.
func runMixedWrites(t testing.TB, n *node, round int) {
	t.Helper()
	ctx := context.Background()
	c := n.client()
	k := func(s string) string { return s + ":" + string(rune('a'+round)) }
	cmds := [][]any{
		{"SET", k("ex"), "v", "EX", "1000"},
		{"SETEX", k("setex"), "2000", "v"},
		{"PSETEX", k("psetex"), "3000000", "v"},
		{"SET", k("keepttl"), "1", "EX", "500"},
		{"SET", k("keepttl"), "2", "KEEPTTL"},
		{"SET", k("get"), "old"},
		{"SET", k("get"), "new", "GET"},
		{"GETEX", k("get"), "PX", "700000"},
		{"INCRBYFLOAT", k("float"), "1.1"},
		{"INCRBYFLOAT", k("float"), "2.2"},
		{"APPEND", k("app"), "abc"},
		{"SETRANGE", k("app"), "1", "XY"},
		{"SETBIT", k("bits"), "100", "1"},
		{"RPUSH", k("list"), "1", "2", "3", "4", "5"},
		{"LPOP", k("list")},
		{"LMOVE", k("list"), k("list2"), "LEFT", "RIGHT"},
		{"SADD", k("set"), "a", "b", "c", "d", "e", "f"},
		{"SPOP", k("set"), "2"},
		{"SMOVE", k("set"), k("set2"), "a"},
		{"HSET", k("hash"), "f", "1", "g", "x"},
		{"HINCRBYFLOAT", k("hash"), "f", "0.5"},
		{"HDEL", k("hash"), "g"},
		{"ZADD", k("zset"), "1", "a", "2", "b", "3", "c"},
		{"ZINCRBY", k("zset"), "2.5", "a"},
		{"ZPOPMIN", k("zset")},
		{"EXPIRE", k("zset"), "100000"},
		{"PERSIST", k("ex")},
		{"RENAME", k("setex"), k("renamed")},
		{"COPY", k("hash"), k("hashcopy")},
		{"SELECT", "5"},
		{"SET", k("db5"), "five"},
		{"MOVE", k("db5"), "6"},
		{"SELECT", "0"},
		{"DEL", "str"},
		{"SET", k("short"), "v", "PX", "1"}, // expires at once: logged DEL or dropped
	}
	conn := c.Conn()
	defer conn.Close()
	for _, cmd := range cmds {
		if err := conn.Do(ctx, cmd...).Err(); err != nil && err.Error() != "redis: nil" {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	// A blocking pop served later is logged as the pop that served it.
	done := make(chan error, 1)
	go func() { done <- c.BLPop(ctx, 10*time.Second, k("blq")).Err() }()
	time.Sleep(50 * time.Millisecond)
	c.RPush(ctx, k("blq"), "x", "y")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A transaction.
	if _, err := c.TxPipelined(ctx, func(p redisPipeliner) error {
		p.Incr(ctx, k("tx"))
		p.RPush(ctx, k("txlist"), "a")
		p.Expire(ctx, k("txlist"), time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// memcached changes.
	mc := n.mcConn()
	mk := k("mc")
	mc.Send("set " + mk + " 5 0 1\r\n1\r\nincr " + mk + " 9\r\nprepend " + mk + " 0 0 1\r\nx\r\n")
	mc.Expect("STORED\r\n10\r\nSTORED\r\n")
	mc.Send("set " + mk + "t 6 100 1\r\nv\r\ntouch " + mk + "t 5000\r\n")
	mc.Expect("STORED\r\nTOUCHED\r\n")
	mc.Send("set " + mk + "d 0 0 1\r\nv\r\ndelete " + mk + "d\r\n")
	mc.Expect("STORED\r\nDELETED\r\n")
	time.Sleep(5 * time.Millisecond)
}

// TestDebugReload: DEBUG RELOAD saves and loads back the same dataset,
// memcached flags and TTLs included.
func TestDebugReload(t *testing.T) {
	cfg := testConfig(t)
	n := startNode(t, cfg)
	populate(t, n)
	want := dump(n.ks)
	c := n.client()
	if err := c.Do(context.Background(), "DEBUG", "RELOAD").Err(); err != nil {
		t.Fatal(err)
	}
	sameDump(t, dump(n.ks), want)
	if got := mcGet(t, n, "mc:ttl"); got != "VALUE mc:ttl 42 3 xyz" {
		t.Errorf("memcached item after DEBUG RELOAD: %q", got)
	}
	// Still writable, and the AOF still logs.
	if err := c.Set(context.Background(), "after", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	want = dump(n.ks)
	n = n.restart()
	sameDump(t, dump(n.ks), want)
}

// TestShutdownSaves: like redis-server, a final snapshot is written at
// shutdown when save points are configured (even with the AOF on), or when
// SHUTDOWN SAVE asks; never with NOSAVE.
func TestShutdownSaves(t *testing.T) {
	for _, tt := range []struct {
		name      string
		save      string
		aof       bool
		saveFlag  bool
		wantWrite bool
	}{
		{"save points, aof", "3600 1", true, false, true},
		{"save points, no aof", "3600 1", false, false, true},
		{"no save points", "", true, false, false},
		{"SHUTDOWN SAVE", "", true, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.AppendOnly = tt.aof
			var err error
			if cfg.Save, err = persist.ParseSave(tt.save); err != nil {
				t.Fatal(err)
			}
			n := startNode(t, cfg)
			n.client().Set(context.Background(), "k", "v", 0)
			n.closed = true
			for _, l := range n.lns {
				l.Close(time.Second)
			}
			if err := n.m.Close(tt.saveFlag, false); err != nil {
				t.Fatal(err)
			}
			_, err = os.Stat(filepath.Join(cfg.Dir, "dump.rdb"))
			if got := err == nil; got != tt.wantWrite {
				t.Fatalf("dump.rdb written: %v, want %v", got, tt.wantWrite)
			}
			n.mc.Close()
			n.redis.Close()
			n.ks.Close()
		})
	}
}

// TestConfigSetAppendfsync: switching the fsync policy at runtime while
// clients write loses nothing and blocks no client.
func TestConfigSetAppendfsync(t *testing.T) {
	cfg := testConfig(t)
	cfg.AppendFsync = "everysec"
	n := startNode(t, cfg)
	ctx := context.Background()
	c := n.client()
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for i := 0; ; i++ {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				if err := c.RPush(ctx, "list", g*1_000_000+i).Err(); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	for _, p := range []string{"always", "no", "everysec", "always"} {
		time.Sleep(100 * time.Millisecond)
		if err := c.ConfigSet(ctx, "appendfsync", p).Err(); err != nil {
			t.Fatal(err)
		}
		if got := c.ConfigGet(ctx, "appendfsync").Val()["appendfsync"]; got != p {
			t.Fatalf("appendfsync %q, want %q", got, p)
		}
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	for g := 0; g < 8; g++ {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a writer hangs after CONFIG SET appendfsync")
		}
	}
	want := dump(n.ks)
	n = n.restart()
	sameDump(t, dump(n.ks), want)
}

// TestAOFLogsEveryTransaction: each MULTI/EXEC of a connection is logged,
// not only the first (a Txn's change count once hid the transactions that
// changed no more than the connection's previous command had).
func TestAOFLogsEveryTransaction(t *testing.T) {
	n := startNode(t, testConfig(t))
	ctx := context.Background()
	c := n.client()
	conn := c.Conn()
	defer conn.Close()
	if err := conn.MSet(ctx, "a", 1, "b", 2, "c", 3).Err(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := conn.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, "n")
			p.RPush(ctx, "l", i)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := dump(n.ks)
	n = n.restart()
	sameDump(t, dump(n.ks), want)
}
