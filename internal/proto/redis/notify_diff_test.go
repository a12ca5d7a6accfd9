package redis

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/internal/keyspace"
)

// Keyspace notifications compared with redis-server 7.0.15: the same
// commands go to both servers, and the events each publishes for each
// command must be the same, in the same order.

// notifyScript exercises every command family Ferry implements. "SLEEP ms"
// pauses the script (for expiry); "DUMPRESTORE src dst" runs DUMP src and
// RESTORE dst with its payload (the payload is each server's own). The
// script runs from an empty server; keys with TTLs use long ones unless
// the point is their expiry.
var notifyScript = [][]string{
	// Strings.
	{"SET", "s", "v"}, {"SET", "s", "v2", "XX"}, {"SET", "s", "v", "NX"}, {"SET", "s2", "v", "EX", "100"},
	{"SET", "s", "v", "KEEPTTL"}, {"SET", "s", "v3", "GET"}, {"SET", "nx1", "v", "NX", "GET"}, {"SETNX", "s", "v"},
	{"SETNX", "s3", "v"}, {"SETEX", "s4", "100", "v"}, {"PSETEX", "s5", "100000", "v"}, {"MSET", "m1", "a", "m2", "b"},
	{"MSETNX", "m1", "x", "m3", "y"}, {"MSETNX", "n1", "a", "n2", "b"}, {"APPEND", "s", "x"}, {"APPEND", "newapp", "x"},
	{"SETRANGE", "s", "1", "zz"}, {"SETRANGE", "s", "0", ""}, {"SETRANGE", "nokey", "0", ""}, {"SETRANGE", "sr", "3", "ab"},
	{"INCR", "i"}, {"INCRBY", "i", "5"}, {"DECR", "i"}, {"DECRBY", "i", "2"}, {"INCRBYFLOAT", "f", "1.5"},
	{"INCR", "s"}, {"GETSET", "s", "new"}, {"GETSET", "gs", "new"}, {"GETDEL", "s"}, {"GETDEL", "missing"},
	{"GETEX", "s2", "EX", "200"}, {"GETEX", "s2", "PERSIST"}, {"GETEX", "s2"}, {"GETEX", "missing", "EX", "5"},
	{"GETEX", "s3", "PX", "100000"}, {"GETEX", "s3", "EXAT", "1"},
	{"GET", "missing"}, {"MGET", "missing", "s2", "missing2"}, {"STRLEN", "missing"}, {"GETRANGE", "missing", "0", "1"},
	{"SUBSTR", "missing", "0", "1"}, {"LCS", "s2", "missing"}, {"GET", "s2"},
	// Bits.
	{"SETBIT", "b", "7", "1"}, {"SETBIT", "b", "7", "1"}, {"GETBIT", "missing", "0"}, {"BITCOUNT", "missing"},
	{"BITPOS", "missing", "1"}, {"BITOP", "AND", "dest", "b", "s2"}, {"BITOP", "OR", "dest", "missing", "missing2"},
	{"BITOP", "NOT", "dest2", "b"}, {"BITFIELD", "bf", "SET", "u8", "0", "255"}, {"BITFIELD", "bf", "GET", "u8", "0"},
	{"BITFIELD", "bf", "INCRBY", "u8", "0", "1", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300"},
	{"BITFIELD", "bf2", "GET", "u8", "0"}, {"BITFIELD_RO", "missing", "GET", "u8", "0"},
	// Generic.
	{"DEL", "m1", "m2", "missing"}, {"UNLINK", "n1", "missing"}, {"EXISTS", "missing", "n2"}, {"TYPE", "missing"},
	{"TTL", "missing"}, {"PTTL", "missing"}, {"EXPIRETIME", "missing"}, {"OBJECT", "ENCODING", "missing"},
	{"EXPIRE", "s2", "100"}, {"EXPIRE", "s2", "100", "NX"}, {"EXPIRE", "s2", "200", "GT"}, {"EXPIRE", "s2", "10", "GT"},
	{"PEXPIRE", "s2", "300000"}, {"EXPIREAT", "s2", "4000000000"}, {"PEXPIREAT", "s2", "4000000000000"},
	{"EXPIRE", "missing", "10"}, {"EXPIRE", "s2", "-1"}, {"SET", "e", "v"}, {"PEXPIREAT", "e", "1"},
	{"SET", "e2", "v"}, {"EXPIRE", "e2", "0"}, {"SET", "p", "v", "EX", "100"}, {"PERSIST", "p"}, {"PERSIST", "p"},
	{"PERSIST", "missing"}, {"RENAME", "p", "p2"}, {"RENAME", "p2", "p2"}, {"RENAMENX", "p2", "s4"},
	{"RENAMENX", "p2", "p3"}, {"RENAME", "missing", "x"}, {"SET", "r1", "v"}, {"SET", "r2", "v"}, {"RENAME", "r1", "r2"},
	{"COPY", "p3", "c1"}, {"COPY", "p3", "c1"}, {"COPY", "p3", "c1", "REPLACE"}, {"COPY", "p3", "c1", "DB", "1"},
	{"COPY", "missing", "c9"}, {"MOVE", "c1", "1"}, {"MOVE", "p3", "1"}, {"MOVE", "missing", "1"},
	{"SELECT", "1"}, {"SET", "d1", "v"}, {"DEL", "d1"}, {"GET", "d1"}, {"EXPIRE", "p3", "100"}, {"SELECT", "0"},
	{"TOUCH", "p3", "missing"}, {"RANDOMKEY"}, {"DUMP", "missing"},
	{"DUMPRESTORE", "p3", "rs"}, {"DUMPRESTORE", "p3", "rs"},
	// Lists.
	{"RPUSH", "l", "a", "b", "c"}, {"LPUSH", "l", "z"}, {"LPUSHX", "l", "y"}, {"LPUSHX", "nolist", "y"},
	{"RPUSHX", "l", "q"}, {"LINSERT", "l", "BEFORE", "a", "x"}, {"LINSERT", "l", "BEFORE", "nothere", "x"},
	{"LINSERT", "missing", "AFTER", "a", "x"}, {"LSET", "l", "0", "first"}, {"LPOP", "l"}, {"RPOP", "l"},
	{"LPOP", "l", "2"}, {"LPOP", "missing"}, {"RPOP", "missing", "2"}, {"LTRIM", "l", "0", "0"}, {"LREM", "l", "0", "x"},
	{"LRANGE", "missing", "0", "-1"}, {"LLEN", "missing"}, {"LINDEX", "missing", "0"}, {"LPOS", "missing", "a"},
	{"RPUSH", "src", "1", "2", "3", "4"}, {"RPOPLPUSH", "src", "dst"}, {"LMOVE", "src", "dst", "LEFT", "RIGHT"},
	{"LMOVE", "src", "src", "RIGHT", "LEFT"}, {"RPOPLPUSH", "missing", "dst"}, {"BLPOP", "src", "1"},
	{"BRPOP", "dst", "1"}, {"BLMOVE", "dst", "src", "LEFT", "LEFT", "1"}, {"BRPOPLPUSH", "src", "dst", "1"},
	{"LPOP", "src", "10"}, {"LTRIM", "dst", "5", "10"}, {"RPUSH", "l2", "a"}, {"LREM", "l2", "0", "a"},
	{"RPUSH", "l3", "a", "b"}, {"LMPOP", "2", "missing", "l3", "LEFT"}, {"BLMPOP", "1", "2", "missing", "l3", "RIGHT"},
	{"LPUSH", "s3", "x"},
	// Hashes.
	{"HSET", "h", "f", "v", "g", "w"}, {"HSET", "h", "f", "v"}, {"HSETNX", "h", "f", "x"}, {"HSETNX", "h", "n", "v"},
	{"HMSET", "h", "a", "1"}, {"HINCRBY", "h", "cnt", "1"}, {"HINCRBYFLOAT", "h", "fl", "0.5"}, {"HDEL", "h", "f"},
	{"HDEL", "h", "nope"}, {"HGET", "missing", "f"}, {"HGETALL", "missing"}, {"HLEN", "missing"},
	{"HRANDFIELD", "missing"}, {"HEXISTS", "missing", "f"}, {"HMGET", "missing", "a"}, {"HSTRLEN", "missing", "f"},
	{"HKEYS", "missing"}, {"HVALS", "missing"}, {"HSCAN", "missing", "0"}, {"HGET", "h", "nofield"},
	{"HDEL", "h", "g", "n", "a", "cnt", "fl"}, {"HINCRBY", "hnew", "x", "1"},
	// Sets.
	{"SADD", "st", "a", "b", "c"}, {"SADD", "st", "a"}, {"SREM", "st", "a"}, {"SREM", "st", "zz"},
	{"SMOVE", "st", "st2", "b"}, {"SMOVE", "st", "st2", "nope"}, {"SPOP", "st"}, {"SADD", "st", "x", "y", "z"},
	{"SPOP", "st", "2"}, {"SPOP", "st", "5"}, {"SPOP", "missing"}, {"SADD", "u1", "a", "b"}, {"SADD", "u2", "b", "c"},
	{"SINTERSTORE", "si", "u1", "u2"}, {"SUNIONSTORE", "su", "u1", "u2"}, {"SDIFFSTORE", "sd", "u1", "u2"},
	{"SDIFFSTORE", "sd", "u1", "u1"}, {"SINTERSTORE", "si", "missing", "u1"}, {"SUNIONSTORE", "su2", "missing"},
	{"SMEMBERS", "missing"}, {"SCARD", "missing"}, {"SISMEMBER", "missing", "a"}, {"SRANDMEMBER", "missing"},
	{"SINTER", "missing", "u1"}, {"SUNION", "missing"}, {"SDIFF", "missing", "u1"}, {"SMISMEMBER", "missing", "a"},
	{"SINTERCARD", "2", "u1", "u2"}, {"SSCAN", "missing", "0"}, {"SMOVE", "st2", "st3", "b"},
	{"SADD", "one", "x"}, {"SMOVE", "one", "one2", "x"},
	// Sorted sets.
	{"ZADD", "z", "1", "a", "2", "b", "3", "c"}, {"ZADD", "z", "1", "a"}, {"ZADD", "z", "INCR", "5", "a"},
	{"ZADD", "z", "XX", "10", "new"}, {"ZADD", "z", "CH", "7", "a"}, {"ZINCRBY", "z", "1", "b"},
	{"ZREM", "z", "a"}, {"ZREM", "z", "nope"}, {"ZREMRANGEBYSCORE", "z", "0", "0"}, {"ZREMRANGEBYSCORE", "z", "3", "3"},
	{"ZADD", "z", "4", "d", "5", "e", "6", "f"}, {"ZREMRANGEBYRANK", "z", "0", "0"}, {"ZADD", "zl", "0", "a", "0", "b", "0", "c"},
	{"ZREMRANGEBYLEX", "zl", "[a", "[a"}, {"ZPOPMIN", "z"}, {"ZPOPMAX", "z", "1"}, {"ZPOPMIN", "missing"},
	{"ZADD", "z", "9", "g"}, {"BZPOPMIN", "z", "1"}, {"BZPOPMAX", "zl", "1"}, {"ZADD", "zl", "0", "a", "0", "d"},
	{"ZRANGESTORE", "zr", "zl", "0", "-1"}, {"ZRANGESTORE", "zr", "missing", "0", "-1"},
	{"ZUNIONSTORE", "zu", "2", "z", "zl"}, {"ZINTERSTORE", "zi", "2", "z", "zl"}, {"ZDIFFSTORE", "zd", "2", "z", "zl"},
	{"ZINTERSTORE", "zi", "1", "missing"}, {"ZSCORE", "missing", "a"}, {"ZRANGE", "missing", "0", "-1"},
	{"ZCARD", "missing"}, {"ZRANK", "missing", "a"}, {"ZCOUNT", "missing", "0", "1"}, {"ZMSCORE", "missing", "a"},
	{"ZRANDMEMBER", "missing"}, {"ZLEXCOUNT", "missing", "-", "+"}, {"ZSCAN", "missing", "0"},
	{"ZMPOP", "1", "z", "MIN"}, {"ZADD", "z", "10", "h", "11", "i"}, {"BZMPOP", "1", "2", "missing", "z", "MAX", "COUNT", "10"}, {"ZPOPMIN", "zl", "10"},
	// SORT.
	{"RPUSH", "sl", "3", "1", "2"}, {"SORT", "sl", "STORE", "sorted"}, {"SORT", "missing", "STORE", "sorted"},
	{"SORT", "sl"}, {"SORT_RO", "missing"},
	// Wrong types: errors publish nothing.
	{"LPUSH", "h", "x"}, {"GET", "l3"}, {"SADD", "hnew", "x"}, {"HSET", "st2", "f", "v"},
	// Expiry, lazily on access (the active cycle paused).
	{"DEBUG", "SET-ACTIVE-EXPIRE", "0"}, {"SET", "ex1", "v", "PX", "1"}, {"SLEEP", "30"}, {"GET", "ex1"},
	{"SET", "ex2", "v", "PX", "1"}, {"SLEEP", "30"}, {"EXISTS", "ex2"},
	{"SET", "ex3", "v", "PX", "1"}, {"SLEEP", "30"}, {"SET", "ex3", "new"},
	{"RPUSH", "exl", "a"}, {"PEXPIRE", "exl", "1"}, {"SLEEP", "30"}, {"LPUSH", "exl", "b"},
	{"HSET", "exh", "f", "v"}, {"PEXPIRE", "exh", "1"}, {"SLEEP", "30"}, {"HGET", "exh", "f"},
	{"SET", "ex4", "v", "PX", "1"}, {"SLEEP", "30"}, {"TTL", "ex4"},
	{"SET", "ex5", "v", "PX", "1"}, {"SLEEP", "30"}, {"DEL", "ex5"},
	{"SET", "ex7", "v", "PX", "1"}, {"SLEEP", "30"}, {"DBSIZE"}, {"KEYS", "ex7"}, {"SCAN", "0", "MATCH", "ex7", "COUNT", "1000"},
	{"DEBUG", "SET-ACTIVE-EXPIRE", "1"},
	// Expiry by the active cycle: nothing touches the key again (in a
	// database other than 0 too).
	{"SET", "ex6", "v", "PX", "20"}, {"SLEEP", "1000"},
	{"SELECT", "2"}, {"SET", "ex8", "v", "PX", "20"}, {"SELECT", "0"}, {"SLEEP", "1000"},
	// Databases.
	{"SWAPDB", "0", "1"}, {"SET", "afterswap", "v"}, {"SWAPDB", "0", "1"},
	{"FLUSHDB"},
}

// notifyRun runs notifyScript against addr with notify-keyspace-events
// set to flags and returns, per command, the events published while it
// ran ("channel payload", in order) and its reply.
func notifyRun(t *testing.T, addr, flags string) (events [][]string, replies []string) {
	t.Helper()
	c, sub := refDial(t, addr), refDial(t, addr)
	if r := c.do("FLUSHALL"); r != "+OK\r\n" {
		t.Fatalf("FLUSHALL: %q", r)
	}
	if r := c.do("CONFIG", "SET", "notify-keyspace-events", flags); r != "+OK\r\n" {
		t.Fatalf("CONFIG SET notify-keyspace-events %s: %q", flags, r)
	}
	sub.do("PSUBSCRIBE", "__key*__:*")
	sub.do("SUBSCRIBE", "zz:mark")
	// Every command is followed by a marker on zz:mark, so the events
	// between two markers are the command's.
	mark := func(i int) []string {
		c.do("PUBLISH", "zz:mark", strconv.Itoa(i))
		var evs []string
		for {
			m := refMessage(sub.reply())
			f := strings.SplitN(m, " ", 4)
			if f[0] == "message" && len(f) == 3 && f[1] == "zz:mark" {
				if f[2] != strconv.Itoa(i) {
					t.Fatalf("marker %s, want %d", f[2], i)
				}
				return evs
			}
			if f[0] != "pmessage" || len(f) != 4 {
				t.Fatalf("unexpected on the subscriber: %s", m)
			}
			evs = append(evs, f[2]+" "+f[3])
		}
	}
	mark(-1)
	for i, cmd := range notifyScript {
		switch cmd[0] {
		case "SLEEP":
			ms, _ := strconv.Atoi(cmd[1])
			time.Sleep(time.Duration(ms) * time.Millisecond)
			replies = append(replies, "")
		case "DUMPRESTORE":
			payload := c.do("DUMP", cmd[1])
			_, body, _ := strings.Cut(payload, "\r\n")
			body = strings.TrimSuffix(body, "\r\n")
			replies = append(replies, c.do("RESTORE", cmd[2], "0", body)+c.do("RESTORE", cmd[2], "0", body, "REPLACE"))
		default:
			replies = append(replies, c.do(cmd...))
		}
		events = append(events, mark(i))
	}
	c.do("CONFIG", "SET", "notify-keyspace-events", "")
	return events, replies
}

// TestKeyspaceNotificationsDiff runs notifyScript on Ferry and on
// redis-server with each class of events enabled in turn, and once with
// everything, and compares the events command by command.
func TestKeyspaceNotificationsDiff(t *testing.T) {
	// Every class letter on its own (K and E alternating), everything, and
	// classes without K or E (which publish nothing).
	for _, flags := range []string{"KEAmn", "KEA", "Kg", "E$", "Kl", "Es", "Kh", "Ez", "Kx", "Ee", "Km", "En",
		"KA", "gls"} {
		t.Run(flags, func(t *testing.T) {
			if testing.Short() && flags != "KEAmn" {
				t.Skip("one flag set in -short")
			}
			t.Parallel()
			ref := refRedis(t, "--enable-debug-command", "yes")
			ts := startServer(t, Config{}, keyspace.Config{})
			wantEv, wantRep := notifyRun(t, ref, flags)
			gotEv, gotRep := notifyRun(t, ts.addr, flags)
			bad := 0
			for i, cmd := range notifyScript {
				if fmt.Sprint(gotEv[i]) != fmt.Sprint(wantEv[i]) {
					t.Errorf("%q: events differ\nredis: %q\nferry: %q", cmd, wantEv[i], gotEv[i])
					bad++
				} else if flags == "KEAmn" && gotRep[i] != wantRep[i] {
					t.Logf("%q: replies differ (events agree)\nredis: %q\nferry: %q", cmd, wantRep[i], gotRep[i])
				}
				if bad > 40 {
					t.Fatal("too many differences")
				}
			}
		})
	}
}

// TestNotifyFlagsDiff: CONFIG SET/GET notify-keyspace-events round trips
// as in Redis (letters are normalised, 'A' replaces its classes, errors
// have Redis's text).
func TestNotifyFlagsDiff(t *testing.T) {
	var script refScript
	for _, f := range []string{"KEA", "AKE", "Kg$lshzxe", "KEg$lshzxet", "E", "K", "g", "x", "KEAmn", "nm", "KEAd",
		"Agd", "KEAt", "Et", "Kl\\sh", "Q", "\\e", "$$$", "AA", "xeK"} {
		script = append(script, "0 CONFIG SET notify-keyspace-events "+f, "0 CONFIG GET notify-keyspace-events")
	}
	diffRefScript(t, script)
}

// TestEvictedNotificationsDiff: with a memory limit and allkeys-lru,
// writing past the limit evicts keys, and each eviction is published as
// "evicted" on the database's channels, on Ferry as on redis-server (which
// keys go differs: each server accounts memory its own way).
func TestEvictedNotificationsDiff(t *testing.T) {
	check := func(t *testing.T, addr string) {
		c, sub := refDial(t, addr), refDial(t, addr)
		c.do("CONFIG", "SET", "notify-keyspace-events", "KEe")
		c.do("SELECT", "3")
		sub.do("PSUBSCRIBE", "__key*@3__:*")
		val := strings.Repeat("v", 1000)
		for i := 0; i < 100; i++ {
			c.do("SET", fmt.Sprintf("warm:%d", i), val)
		}
		info := c.do("INFO", "memory")
		var mem int
		for _, l := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
				mem, _ = strconv.Atoi(v)
			}
		}
		if mem == 0 {
			t.Fatalf("no used_memory in %q", info)
		}
		c.do("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
		if r := c.do("CONFIG", "SET", "maxmemory", strconv.Itoa(mem+50_000)); r != "+OK\r\n" {
			t.Fatalf("CONFIG SET maxmemory: %q", r)
		}
		for i := 0; i < 300; i++ {
			if r := c.do("SET", fmt.Sprintf("k:%d", i), val); r != "+OK\r\n" {
				t.Fatalf("SET k:%d: %q", i, r)
			}
		}
		c.do("CONFIG", "SET", "maxmemory", "0")
		evicted := map[string]bool{}
		for len(evicted) < 50 {
			m := refMessage(sub.replyWithin(2 * time.Second))
			f := strings.Fields(m)
			if len(f) != 4 || f[0] != "pmessage" {
				t.Fatalf("after %d evictions: %s", len(evicted), m)
			}
			switch {
			case strings.HasPrefix(f[2], "__keyspace@3__:") && f[3] == "evicted":
				evicted[strings.TrimPrefix(f[2], "__keyspace@3__:")] = true
			case f[2] == "__keyevent@3__:evicted":
			default:
				t.Fatalf("unexpected event %s", m)
			}
		}
		for k := range evicted {
			if r := c.do("EXISTS", k); r != ":0\r\n" {
				t.Fatalf("evicted key %s still exists", k)
			}
		}
	}
	t.Run("redis", func(t *testing.T) { check(t, refRedis(t)) })
	t.Run("ferry", func(t *testing.T) { check(t, startServer(t, Config{}, keyspace.Config{}).addr) })
}
