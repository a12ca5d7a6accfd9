package redis

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"ferry/internal/keyspace"
	"ferry/internal/netsrv"
	"ferry/internal/testutil"
)

type testServer struct {
	ks   *keyspace.Keyspace
	srv  *Server
	addr string
}

func startServer(t testing.TB, cfg Config, kcfg keyspace.Config) *testServer {
	t.Helper()
	ks := keyspace.New(kcfg)
	t.Cleanup(ks.Close)
	s := New(ks, cfg)
	t.Cleanup(s.Close)
	ln := testutil.Serve(t, netsrv.Config{Name: "redis", MaxConns: cfg.MaxClients, Reject: s.Reject, EventLoops: testEventLoops()}, s)
	s.SetListeners(single{ln})
	return &testServer{ks: ks, srv: s, addr: ln.Addr().String()}
}

// testEventLoops is how many event loops test servers use: 2, as
// production on two CPUs, or FERRY_TEST_EVENT_LOOPS (0 serves every client
// from its own goroutine).
func testEventLoops() int {
	if v, err := strconv.Atoi(os.Getenv("FERRY_TEST_EVENT_LOOPS")); err == nil {
		return v
	}
	return 2
}

// single adapts one listener to Listeners.
type single struct{ *netsrv.Server }

func clientFor(t testing.TB, ts *testServer, proto int) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: ts.addr, Protocol: proto, DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// forBothProtocols runs fn against a fresh server with a RESP2 and a RESP3
// go-redis client.
func forBothProtocols(t *testing.T, fn func(t *testing.T, ctx context.Context, rdb *goredis.Client)) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			ts := startServer(t, Config{}, keyspace.Config{})
			fn(t, context.Background(), clientFor(t, ts, proto))
		})
	}
}

// conv sends raw RESP and compares exact replies.
func conv(t *testing.T, addr string, pairs ...string) {
	t.Helper()
	c := testutil.Dial(t, addr)
	for i := 0; i+1 < len(pairs); i += 2 {
		c.Send(pairs[i])
		c.Expect(pairs[i+1])
	}
}

func TestConnectionCommands(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	conv(t, ts.addr,
		"PING\r\n", "+PONG\r\n",
		"*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n", "$2\r\nhi\r\n",
		"ECHO \"a b\"\r\n", "$3\r\na b\r\n",
		"SELECT 15\r\n", "+OK\r\n",
		"SELECT 16\r\n", "-ERR DB index is out of range\r\n",
		"SELECT x\r\n", "-ERR value is not an integer or out of range\r\n",
		"nosuch a b\r\n", "-ERR unknown command 'nosuch', with args beginning with: 'a' 'b' \r\n",
		"GET\r\n", "-ERR wrong number of arguments for 'get' command\r\n",
		"CLIENT FOO\r\n", "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
		"CLIENT SETNAME my-client\r\n", "+OK\r\n",
		"CLIENT GETNAME\r\n", "$9\r\nmy-client\r\n",
		"CLIENT SETNAME \"a b\"\r\n", "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
		"AUTH x\r\n", "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
		"HELLO 4\r\n", "-NOPROTO unsupported protocol version\r\n",
		"QUIT\r\n", "+OK\r\n",
	)
}

func TestProtocolErrorsClose(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	for _, tt := range []struct{ in, want string }{
		{"*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"*1\r\n+x\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"},
		{"*a\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"SET \"a\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"*1\r\n$1073741824\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
	} {
		c := testutil.Dial(t, ts.addr)
		c.Send(tt.in)
		c.Expect(tt.want)
		c.ExpectClosed()
	}
}

func TestRequirePass(t *testing.T) {
	ts := startServer(t, Config{RequirePass: "s3cret"}, keyspace.Config{})
	conv(t, ts.addr,
		"GET k\r\n", "-NOAUTH Authentication required.\r\n",
		"AUTH wrong\r\n", "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
		"AUTH default s3cret\r\n", "+OK\r\n",
		"GET k\r\n", "$-1\r\n",
	)
	ctx := context.Background()
	ok := goredis.NewClient(&goredis.Options{Addr: ts.addr, Password: "s3cret", Protocol: 3})
	defer ok.Close()
	if err := ok.Set(ctx, "a", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	bad := goredis.NewClient(&goredis.Options{Addr: ts.addr, Password: "nope", Protocol: 2})
	defer bad.Close()
	if err := bad.Get(ctx, "a").Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password accepted: %v", err)
	}
}

func TestHello(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	c := testutil.Dial(t, ts.addr)
	c.Send("HELLO 3 SETNAME x\r\n")
	if l := c.Line(); l != "%7" {
		t.Fatalf("HELLO 3 reply starts %q", l)
	}
	var lines []string
	for l := c.Line(); l != "*0"; l = c.Line() {
		lines = append(lines, l)
	}
	if got := strings.Join(lines, ","); !strings.HasPrefix(got, "$6,server,$5,redis,$7,version,$6,7.0.15,$5,proto,:3,$2,id,") ||
		!strings.HasSuffix(got, "$4,mode,$10,standalone,$4,role,$6,master,$7,modules") {
		t.Fatalf("HELLO 3 reply %q", got)
	}
	c.Send("GET missing\r\n")
	c.Expect("_\r\n")
	c.Send("HELLO 2\r\n")
	if l := c.Line(); l != "*14" {
		t.Fatalf("HELLO 2 reply starts %q", l)
	}
}

func TestStrings(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		check := func(got, want any) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
		check(rdb.Set(ctx, "k", "v", 0).Val(), "OK")
		check(rdb.Get(ctx, "k").Val(), "v")
		check(rdb.Get(ctx, "missing").Err(), goredis.Nil)
		check(rdb.SetNX(ctx, "k", "x", 0).Val(), false)
		check(rdb.SetXX(ctx, "nokey", "x", 0).Val(), false)
		check(rdb.SetArgs(ctx, "k", "new", goredis.SetArgs{Get: true}).Val(), "v")
		check(rdb.Set(ctx, "t", "1", 10*time.Second).Val(), "OK")
		if ttl := rdb.TTL(ctx, "t").Val(); ttl <= 0 || ttl > 10*time.Second {
			t.Fatalf("ttl %v", ttl)
		}
		check(rdb.SetArgs(ctx, "t", "2", goredis.SetArgs{KeepTTL: true}).Val(), "OK")
		if rdb.TTL(ctx, "t").Val() <= 0 {
			t.Fatal("KEEPTTL lost the TTL")
		}
		check(rdb.Set(ctx, "t", "3", 0).Val(), "OK")
		check(rdb.TTL(ctx, "t").Val(), time.Duration(-1))
		check(rdb.MSet(ctx, "a", "1", "b", "2").Val(), "OK")
		check(rdb.MGet(ctx, "a", "b", "nope").Val(), []any{"1", "2", nil})
		check(rdb.MSetNX(ctx, "a", "x", "c", "3").Val(), false)
		check(rdb.Exists(ctx, "c").Val(), 0)
		check(rdb.Incr(ctx, "n").Val(), 1)
		check(rdb.IncrBy(ctx, "n", 10).Val(), 11)
		check(rdb.Decr(ctx, "n").Val(), 10)
		check(rdb.DecrBy(ctx, "n", 20).Val(), -10)
		check(rdb.IncrByFloat(ctx, "f", 10.5).Val(), 10.5)
		check(rdb.IncrByFloat(ctx, "f", 0.1).Val(), 10.6)
		check(rdb.Get(ctx, "f").Val(), "10.6")
		check(rdb.Set(ctx, "big", "9223372036854775807", 0).Val(), "OK")
		check(rdb.Incr(ctx, "big").Err(), "ERR increment or decrement would overflow")
		check(rdb.Incr(ctx, "k").Err(), "ERR value is not an integer or out of range")
		check(rdb.Append(ctx, "s", "Hello").Val(), 5)
		check(rdb.Append(ctx, "s", " World").Val(), 11)
		check(rdb.StrLen(ctx, "s").Val(), 11)
		check(rdb.GetRange(ctx, "s", 0, 4).Val(), "Hello")
		check(rdb.GetRange(ctx, "s", -5, -1).Val(), "World")
		check(rdb.GetRange(ctx, "s", 5, 1).Val(), "")
		check(rdb.SetRange(ctx, "s", 6, "Redis").Val(), 11)
		check(rdb.Get(ctx, "s").Val(), "Hello Redis")
		check(rdb.SetRange(ctx, "pad", 3, "x").Val(), 4)
		check(rdb.Get(ctx, "pad").Val(), "\x00\x00\x00x")
		check(rdb.GetSet(ctx, "s", "y").Val(), "Hello Redis")
		check(rdb.GetDel(ctx, "s").Val(), "y")
		check(rdb.Exists(ctx, "s").Val(), 0)
		check(rdb.Set(ctx, "e", "1", 0).Val(), "OK")
		check(rdb.GetEx(ctx, "e", 5*time.Second).Val(), "1")
		if rdb.TTL(ctx, "e").Val() <= 0 {
			t.Fatal("GETEX did not set a TTL")
		}
		check(rdb.Do(ctx, "GETEX", "e", "PERSIST").Val(), "1")
		check(rdb.TTL(ctx, "e").Val(), time.Duration(-1))
		check(rdb.SetEx(ctx, "x", "1", time.Second).Val(), "OK")
		check(rdb.Do(ctx, "SETEX", "x", "0", "v").Err(), "ERR invalid expire time in 'setex' command")
		check(rdb.Do(ctx, "SET", "x", "v", "NX", "XX").Err(), "ERR syntax error")
		check(rdb.Do(ctx, "SET", "x", "v", "EX", "10", "KEEPTTL").Err(), "ERR syntax error")
		check(rdb.LPush(ctx, "l", "a").Err(), nil)
		check(rdb.Get(ctx, "l").Err(), "WRONGTYPE Operation against a key holding the wrong kind of value")
	})
}

func TestKeys(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		check := func(got, want any) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
		rdb.MSet(ctx, "a", "1", "b", "2", "c", "3")
		check(rdb.Del(ctx, "a", "b", "zz").Val(), 2)
		check(rdb.Exists(ctx, "c", "c", "a").Val(), 2)
		check(rdb.Type(ctx, "c").Val(), "string")
		check(rdb.Type(ctx, "zz").Val(), "none")
		check(rdb.Expire(ctx, "c", 100*time.Second).Val(), true)
		check(rdb.ExpireNX(ctx, "c", 50*time.Second).Val(), false)
		check(rdb.ExpireGT(ctx, "c", 50*time.Second).Val(), false)
		check(rdb.ExpireLT(ctx, "c", 50*time.Second).Val(), true)
		check(rdb.Do(ctx, "EXPIRE", "c", "10", "NX", "XX").Err(), "ERR NX and XX, GT or LT options at the same time are not compatible")
		if ttl := rdb.PTTL(ctx, "c").Val(); ttl <= 49*time.Second || ttl > 50*time.Second {
			t.Fatalf("pttl %v", ttl)
		}
		if at := rdb.ExpireTime(ctx, "c").Val(); at < time.Duration(time.Now().Unix())*time.Second {
			t.Fatalf("expiretime %v", at)
		}
		check(rdb.Persist(ctx, "c").Val(), true)
		check(rdb.TTL(ctx, "c").Val(), time.Duration(-1))
		check(rdb.TTL(ctx, "nope").Val(), time.Duration(-2))
		check(rdb.Expire(ctx, "c", -1).Val(), true)
		check(rdb.Exists(ctx, "c").Val(), 0)
		rdb.Set(ctx, "src", "v", time.Hour)
		check(rdb.Rename(ctx, "src", "dst").Val(), "OK")
		check(rdb.Get(ctx, "dst").Val(), "v")
		if rdb.TTL(ctx, "dst").Val() <= 0 {
			t.Fatal("RENAME lost the TTL")
		}
		check(rdb.Rename(ctx, "nope", "x").Err(), "ERR no such key")
		rdb.Set(ctx, "other", "o", 0)
		check(rdb.RenameNX(ctx, "dst", "other").Val(), false)
		check(rdb.Copy(ctx, "dst", "copy", 0, false).Val(), 1)
		check(rdb.Get(ctx, "copy").Val(), "v")
		check(rdb.Copy(ctx, "dst", "copy", 0, false).Val(), 0)
		check(rdb.Copy(ctx, "dst", "copy", 3, false).Val(), 1)
		check(rdb.Move(ctx, "other", 2).Val(), true)
		check(rdb.Exists(ctx, "other").Val(), 0)
		rdb.FlushDB(ctx)
		for i := 0; i < 300; i++ {
			rdb.Set(ctx, fmt.Sprintf("user:%d", i), i, 0)
		}
		rdb.Set(ctx, "other", "x", 0)
		check(len(rdb.Keys(ctx, "user:*").Val()), 300)
		check(rdb.DBSize(ctx).Val(), 301)
		seen := map[string]bool{}
		iter := rdb.Scan(ctx, 0, "user:1*", 7).Iterator()
		for iter.Next(ctx) {
			seen[iter.Val()] = true
		}
		check(iter.Err(), nil)
		check(len(seen), 111) // user:1, user:10-19, user:100-199
		check(len(rdb.Keys(ctx, "user:?").Val()), 10)
		if k := rdb.RandomKey(ctx).Val(); k == "" {
			t.Fatal("RANDOMKEY returned nothing")
		}
		check(rdb.ObjectEncoding(ctx, "user:5").Val(), "int")
		check(rdb.ObjectEncoding(ctx, "other").Val(), "embstr")
		check(rdb.Touch(ctx, "user:1", "nope").Val(), 1)
		check(rdb.FlushAll(ctx).Val(), "OK")
		check(rdb.DBSize(ctx).Val(), 0)
	})
}

func TestTransactions(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 3)
	other := clientFor(t, ts, 2)
	cmds, err := rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, "a", "1", 0)
		p.Incr(ctx, "a")
		p.Get(ctx, "a")
		return nil
	})
	if err != nil || cmds[2].(*goredis.StringCmd).Val() != "2" {
		t.Fatalf("MULTI/EXEC: %v %v", cmds, err)
	}
	// WATCH: a change by another client aborts EXEC.
	err = rdb.Watch(ctx, func(tx *goredis.Tx) error {
		other.Set(ctx, "a", "changed", 0)
		_, err := tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Set(ctx, "a", "mine", 0)
			return nil
		})
		return err
	}, "a")
	if err != goredis.TxFailedErr {
		t.Fatalf("watch after change: %v", err)
	}
	if v := rdb.Get(ctx, "a").Val(); v != "changed" {
		t.Fatalf("a = %q", v)
	}
	// WATCH on a key that expires meanwhile aborts too.
	rdb.Set(ctx, "ex", "1", 50*time.Millisecond)
	err = rdb.Watch(ctx, func(tx *goredis.Tx) error {
		time.Sleep(120 * time.Millisecond)
		_, err := tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Set(ctx, "ex", "2", 0)
			return nil
		})
		return err
	}, "ex")
	if err != goredis.TxFailedErr {
		t.Fatalf("watch across expiry: %v", err)
	}
	conv(t, ts.addr,
		"MULTI\r\n", "+OK\r\n",
		"SET x 1\r\n", "+QUEUED\r\n",
		"NOSUCH\r\n", "-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
		"EXEC\r\n", "-EXECABORT Transaction discarded because of previous errors.\r\n",
		"EXEC\r\n", "-ERR EXEC without MULTI\r\n",
		"DISCARD\r\n", "-ERR DISCARD without MULTI\r\n",
		"MULTI\r\n", "+OK\r\n",
		"MULTI\r\n", "-ERR MULTI calls can not be nested\r\n",
		"WATCH x\r\n", "-ERR WATCH inside MULTI is not allowed\r\n",
		"INCR x\r\n", "+QUEUED\r\n",
		"LPUSH x a\r\n", "+QUEUED\r\n",
		"EXEC\r\n", "*2\r\n:1\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
	)
}

func TestConfigAndInfo(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	if err := rdb.ConfigSet(ctx, "maxmemory", "100mb").Err(); err != nil {
		t.Fatal(err)
	}
	got := rdb.ConfigGet(ctx, "maxmemory*").Val()
	if got["maxmemory"] != "104857600" || got["maxmemory-policy"] != "noeviction" {
		t.Fatalf("CONFIG GET: %v", got)
	}
	if err := rdb.ConfigSet(ctx, "nosuch", "1").Err(); err == nil || err.Error() != "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'" {
		t.Fatalf("CONFIG SET unknown: %v", err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", "bogus").Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy')") {
		t.Fatalf("CONFIG SET bad value: %v", err)
	}
	rdb.Set(ctx, "k", "v", time.Minute)
	info := rdb.Info(ctx).Val()
	for _, want := range []string{"# Server\r\nredis_version:7.0.15", "# Clients\r\nconnected_clients:1", "maxmemory:104857600",
		"# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=", "total_commands_processed:"} {
		if !strings.Contains(info, want) {
			t.Fatalf("INFO lacks %q:\n%s", want, info)
		}
	}
	if cs := rdb.Info(ctx, "commandstats").Val(); !strings.Contains(cs, "cmdstat_set:calls=1,") {
		t.Fatalf("commandstats: %s", cs)
	}
}

func TestCommandTable(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 3)
	info, err := rdb.Command(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	get := info["get"]
	if get == nil || get.Arity != 2 || get.FirstKeyPos != 1 || !get.ReadOnly {
		t.Fatalf("COMMAND get: %+v", get)
	}
	if mset := info["mset"]; mset.LastKeyPos != -1 || mset.StepCount != 2 {
		t.Fatalf("COMMAND mset: %+v", mset)
	}
	keys := rdb.CommandGetKeys(ctx, "MSET", "a", "1", "b", "2").Val()
	if fmt.Sprint(keys) != "[a b]" {
		t.Fatalf("GETKEYS %v", keys)
	}
	docs := rdb.Do(ctx, "COMMAND", "DOCS", "set").Val()
	if !strings.Contains(fmt.Sprint(docs), "summary") {
		t.Fatalf("COMMAND DOCS set: %v", docs)
	}
}

func TestMaxClients(t *testing.T) {
	ts := startServer(t, Config{MaxClients: 1}, keyspace.Config{})
	c1 := testutil.Dial(t, ts.addr)
	c1.Send("PING\r\n")
	c1.Expect("+PONG\r\n")
	c2 := testutil.Dial(t, ts.addr)
	c2.Expect("-ERR max number of clients reached\r\n")
	c2.ExpectClosed()

	// CONFIG SET maxclients applies to new connections at once.
	c1.Send("CONFIG SET maxclients 2\r\n")
	c1.Expect("+OK\r\n")
	c3 := testutil.Dial(t, ts.addr)
	c3.Send("PING\r\n")
	c3.Expect("+PONG\r\n")
	c4 := testutil.Dial(t, ts.addr)
	c4.Expect("-ERR max number of clients reached\r\n")
	c1.Send("CONFIG SET maxclients 1\r\n")
	c1.Expect("+OK\r\n")
	c3.Send("PING\r\n") // connections already in are kept, as Redis
	c3.Expect("+PONG\r\n")
}

func TestOOM(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{Policy: keyspace.NoEviction})
	conv(t, ts.addr, "SET a 1\r\n", "+OK\r\n")
	ts.ks.SetMaxMemory(1)
	conv(t, ts.addr,
		"SET b 2\r\n", "-OOM command not allowed when used memory > 'maxmemory'.\r\n",
		"GET a\r\n", "$1\r\n1\r\n",
		"DEL a\r\n", ":1\r\n",
	)
}

func TestPubSub(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			ts := startServer(t, Config{}, keyspace.Config{})
			ctx := context.Background()
			sub := clientFor(t, ts, proto)
			pub := clientFor(t, ts, proto)
			ps := sub.Subscribe(ctx, "master", "other")
			defer ps.Close()
			if _, err := ps.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			pps := sub.PSubscribe(ctx, "news.*")
			defer pps.Close()
			if _, err := pps.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			if n := pub.Publish(ctx, "master", "python is good").Val(); n != 1 {
				t.Fatalf("PUBLISH reached %d", n)
			}
			pub.Publish(ctx, "master", "java is good,too")
			pub.Publish(ctx, "news.art", "pattern")
			for _, want := range []string{"python is good", "java is good,too"} {
				m, err := ps.ReceiveMessage(ctx)
				if err != nil || m.Channel != "master" || m.Payload != want {
					t.Fatalf("got %+v %v, want %q", m, err, want)
				}
			}
			m, err := pps.ReceiveMessage(ctx)
			if err != nil || m.Pattern != "news.*" || m.Payload != "pattern" {
				t.Fatalf("pmessage %+v %v", m, err)
			}
			if n := pub.PubSubNumSub(ctx, "master").Val()["master"]; n != 1 {
				t.Fatalf("NUMSUB %d", n)
			}
			if n := pub.PubSubNumPat(ctx).Val(); n != 1 {
				t.Fatalf("NUMPAT %d", n)
			}
			if ch := pub.PubSubChannels(ctx, "*").Val(); len(ch) != 2 {
				t.Fatalf("CHANNELS %v", ch)
			}
		})
	}
}

func TestPubSubRESP2Context(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	conv(t, ts.addr,
		"SUBSCRIBE a b\r\n", "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n",
		"GET x\r\n", "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
		"PING\r\n", "*2\r\n$4\r\npong\r\n$0\r\n\r\n",
		"UNSUBSCRIBE\r\n", "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n",
		"UNSUBSCRIBE\r\n", "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
		"GET x\r\n", "$-1\r\n",
	)
}

func TestKeyspaceNotifications(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{HZ: 50})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	if err := rdb.ConfigSet(ctx, "notify-keyspace-events", "KEA").Err(); err != nil {
		t.Fatal(err)
	}
	if v := rdb.ConfigGet(ctx, "notify-keyspace-events").Val()["notify-keyspace-events"]; v != "AKE" {
		t.Fatalf("flags read back as %q", v)
	}
	ps := clientFor(t, ts, 2).PSubscribe(ctx, "__key*__:*")
	defer ps.Close()
	ps.Receive(ctx)
	rdb.Set(ctx, "k", "v", 50*time.Millisecond)
	want := []string{"__keyspace@0__:k set", "__keyevent@0__:set k", "__keyspace@0__:k expire", "__keyevent@0__:expire k",
		"__keyspace@0__:k expired", "__keyevent@0__:expired k"}
	for _, w := range want {
		m, err := ps.ReceiveMessage(ctx)
		if err != nil || m.Channel+" "+m.Payload != w {
			t.Fatalf("got %v %v, want %q", m, err, w)
		}
	}
}

func TestSlowSubscriberIsDisconnected(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	rdb.ConfigSet(ctx, "client-output-buffer-limit", "pubsub 1mb 256kb 1")
	stalled := testutil.Dial(t, ts.addr)
	stalled.Send("SUBSCRIBE flood\r\n") // and never read again
	time.Sleep(50 * time.Millisecond)
	msg := strings.Repeat("x", 64<<10)
	start := time.Now()
	for i := 0; i < 400; i++ {
		rdb.Publish(ctx, "flood", msg)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("publisher was slowed down: %v", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for rdb.PubSubNumSub(ctx, "flood").Val()["flood"] != 0 {
		if time.Now().After(deadline) {
			t.Fatal("stalled subscriber was not disconnected")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, Config{Timeout: 1}, keyspace.Config{})
	c := testutil.Dial(t, ts.addr)
	silent := testutil.Dial(t, ts.addr) // never sends a command
	c.Send("PING\r\n")
	c.Expect("+PONG\r\n")
	start := time.Now()
	c.ExpectClosed()
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("closed after %v, before the timeout", d)
	}
	silent.ExpectClosed()
	// A subscriber is not idle, however long it waits.
	sub := testutil.Dial(t, ts.addr)
	sub.Send("SUBSCRIBE ch\r\n")
	sub.Expect("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n")
	time.Sleep(2500 * time.Millisecond)
	sub.Send("PING\r\n")
	sub.Expect("*2\r\n$4\r\npong\r\n$0\r\n\r\n")
}
