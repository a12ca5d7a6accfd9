package redis

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"ferry/internal/keyspace"
	"ferry/internal/testutil"
)

// Scripting through real clients and raw connections: go-redis's Script
// (EVALSHA falling back to EVAL on NOSCRIPT), atomicity, -BUSY and SCRIPT
// KILL seen from a second connection, what scripts log to the AOF, keyspace
// events, FUNCTION libraries. Byte-exact conversions against redis-server
// are in scripting_ref_test.go.

func TestScriptGoRedis(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		incr := goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return n`)
		for want := int64(1); want <= 3; want++ {
			n, err := incr.Run(ctx, rdb, []string{"counter"}, 60).Int64()
			if err != nil || n != want {
				t.Fatalf("run %d: %v %v", want, n, err)
			}
		}
		if ttl := rdb.TTL(ctx, "counter").Val(); ttl <= 0 || ttl > time.Minute {
			t.Fatalf("ttl %v", ttl)
		}
		if ok := rdb.ScriptExists(ctx, incr.Hash()).Val(); len(ok) != 1 || !ok[0] {
			t.Fatalf("script not cached: %v", ok)
		}
		// After SCRIPT FLUSH, Run gets NOSCRIPT from EVALSHA and sends EVAL.
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.EvalSha(ctx, incr.Hash(), []string{"counter"}, 60).Err(); err == nil ||
			err.Error() != "NOSCRIPT No matching script. Please use EVAL." {
			t.Fatalf("EVALSHA after flush: %v", err)
		}
		if n := incr.Run(ctx, rdb, []string{"counter"}, 60).Val(); n != int64(4) {
			t.Fatalf("run after flush: %v", n)
		}
		// Replies convert as Redis converts them.
		v, err := rdb.Eval(ctx, `return {1, 'two', {3, 4.9}, redis.status_reply('OK')}`, nil).Result()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(v) != "[1 two [3 4] OK]" {
			t.Fatalf("reply %v", v)
		}
		err = rdb.Eval(ctx, `return redis.call('SET', KEYS[1])`, []string{"k"}).Err()
		want := "ERR Wrong number of args calling Redis command from script script: "
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("error %v, want %q...", err, want)
		}
		err = rdb.EvalRO(ctx, `return redis.call('SET', KEYS[1], 'v')`, []string{"k"}).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "ERR Write commands are not allowed from read-only scripts. script: ") {
			t.Fatalf("EVAL_RO write: %v", err)
		}
		if v := rdb.EvalRO(ctx, `return redis.call('GET', KEYS[1])`, []string{"counter"}).Val(); v != "4" {
			t.Fatalf("EVAL_RO read: %v", v)
		}
	})
}

// TestScriptUndeclaredKeys: a script may use keys it did not declare, in
// any slot and any database (as Sidekiq's and asynq's scripts do).
func TestScriptUndeclaredKeys(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	conv(t, ts.addr,
		"EVAL \"redis.call('set','a{1}','x'); redis.call('set','b{2}','y'); redis.call('select', 3); redis.call('set','c','z'); return redis.call('mget', 'c', 'nokey')\" 0\r\n",
		"*2\r\n$1\r\nz\r\n$-1\r\n",
		"MGET a{1} b{2} c\r\n", "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$-1\r\n",
		"SELECT 3\r\n", "+OK\r\n",
		"GET c\r\n", "$1\r\nz\r\n",
	)
}

// TestScriptAtomic: a script's read-modify-write is never interleaved with
// other clients' commands, whatever keys they touch.
func TestScriptAtomic(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := goredis.NewClient(&goredis.Options{Addr: ts.addr, PoolSize: 16})
	defer rdb.Close()
	// Not atomic without the script: GET then SET of a different key.
	move := goredis.NewScript(`
local v = tonumber(redis.call('GET', 'total') or '0')
redis.call('SET', 'total', v + 1)
local w = tonumber(redis.call('GET', 'other') or '0')
redis.call('SET', 'other', w + 1)
return v + 1`)
	if err := move.Load(ctx, rdb).Err(); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*3)
	for i := 0; i < workers; i++ {
		wg.Add(3)
		// Scripts inside MULTI/EXEC run on EXEC's locks, beside the
		// queue other connections' scripts go through.
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				_, err := rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
					move.Run(ctx, p, nil)
					p.Incr(ctx, "other")
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				if err := move.Run(ctx, rdb, nil).Err(); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				if err := rdb.Incr(ctx, "other").Err(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := rdb.Get(ctx, "total").Val(); got != strconv.Itoa(2*workers*each) {
		t.Fatalf("total %s, want %d", got, 2*workers*each)
	}
	if got := rdb.Get(ctx, "other").Val(); got != strconv.Itoa(4*workers*each) {
		t.Fatalf("other %s, want %d", got, 4*workers*each)
	}
}

const (
	busyEval     = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
	busyFunction = "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
	unkillable   = "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n"
)

// TestScriptBusyKill: while a script runs past busy-reply-threshold, a
// second connection gets -BUSY (also for commands queued in MULTI), can
// kill a script that did not write, cannot kill one that did, and SHUTDOWN
// NOSAVE stops it. The texts are redis-server 7.0's.
func TestScriptBusyKill(t *testing.T) {
	shutdown := make(chan bool, 1)
	ts := startServer(t, Config{Shutdown: func(save, nosave bool) { shutdown <- nosave }}, keyspace.Config{})
	a := refDial(t, ts.addr)
	b := refDial(t, ts.addr)
	if r := b.do("CONFIG", "SET", "busy-reply-threshold", "200"); r != "+OK\r\n" {
		t.Fatal(r)
	}
	if r := b.do("CONFIG", "GET", "lua-time-limit"); r != "*2\r\n$14\r\nlua-time-limit\r\n$3\r\n200\r\n" {
		t.Fatalf("lua-time-limit alias: %q", r)
	}
	b.do("SET", "x", "before")

	loop := "local i = 0 while true do i = i + 1 end"
	a.send("EVAL", loop, "0")
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	for _, step := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"GET", "x"}, busyEval},
		{[]string{"FUNCTION", "KILL"}, busyEval},
		{[]string{"FUNCTION", "STATS"}, busyEval},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"GET", "x"}, busyEval},
		{[]string{"EXEC"}, busyEval},
		{[]string{"DISCARD"}, "+OK\r\n"},
		{[]string{"SCRIPT", "KILL"}, "+OK\r\n"},
	} {
		if r := b.do(step.cmd...); r != step.want {
			t.Fatalf("%v while busy: %q, want %q", step.cmd, r, step.want)
		}
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Fatalf("-BUSY after %v, before the threshold", waited)
	}
	sha := "a9d6b8a3e2e0f7ae2da8f5a0e56a0cc8bd5d8a5b"
	if r := a.reply(); !strings.HasPrefix(r, "-ERR Script killed by user with SCRIPT KILL... script: ") ||
		!strings.HasSuffix(r, ", on @user_script:1.\r\n") {
		t.Fatalf("killed script replied %q", r)
	}
	_ = sha
	if r := b.do("GET", "x"); r != "$6\r\nbefore\r\n" {
		t.Fatalf("after kill: %q", r)
	}
	if r := b.do("SCRIPT", "KILL"); r != "-NOTBUSY No scripts in execution right now.\r\n" {
		t.Fatalf("SCRIPT KILL with nothing running: %q", r)
	}

	// A script that wrote cannot be killed; SHUTDOWN without NOSAVE is
	// refused; SHUTDOWN NOSAVE stops it.
	a.send("EVAL", "redis.call('SET', 'x', 'during') "+loop, "0")
	time.Sleep(250 * time.Millisecond)
	for _, step := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"SCRIPT", "KILL"}, unkillable},
		{[]string{"FUNCTION", "KILL"}, unkillable},
		{[]string{"GET", "x"}, busyEval},
		{[]string{"SHUTDOWN"}, busyEval},
	} {
		if r := b.do(step.cmd...); r != step.want {
			t.Fatalf("%v while busy: %q, want %q", step.cmd, r, step.want)
		}
	}
	b.send("SHUTDOWN", "NOSAVE")
	if r := a.reply(); !strings.HasPrefix(r, "-ERR Script killed by SHUTDOWN script: ") {
		t.Fatalf("script stopped by SHUTDOWN NOSAVE replied %q", r)
	}
	select {
	case nosave := <-shutdown:
		if !nosave {
			t.Fatal("shutdown without NOSAVE")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SHUTDOWN NOSAVE did not shut down")
	}
	// The write made before the stop stays.
	c := refDial(t, ts.addr)
	if r := c.do("GET", "x"); r != "$6\r\nduring\r\n" {
		t.Fatalf("after SHUTDOWN NOSAVE: %q", r)
	}
}

// TestScriptBusyFunction: the same for FCALL: SCRIPT KILL refuses to kill a
// function, FUNCTION STATS describes it, FUNCTION KILL stops it.
func TestScriptBusyFunction(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	a := refDial(t, ts.addr)
	b := refDial(t, ts.addr)
	b.do("CONFIG", "SET", "busy-reply-threshold", "100")
	lib := "#!lua name=spin\nredis.register_function{function_name='spin', flags={'no-writes'}, callback=function(keys, args)\n  while true do end\nend}"
	if r := b.do("FUNCTION", "LOAD", lib); r != "$4\r\nspin\r\n" {
		t.Fatal(r)
	}
	a.send("FCALL", "spin", "0", "arg")
	time.Sleep(150 * time.Millisecond)
	if r := b.do("PING"); r != busyFunction {
		t.Fatalf("PING: %q", r)
	}
	if r := b.do("SCRIPT", "KILL"); r != busyFunction {
		t.Fatalf("SCRIPT KILL on a function: %q", r)
	}
	r := b.do("FUNCTION", "STATS")
	if !strings.HasPrefix(r, "*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*4\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n0\r\n$3\r\narg\r\n$11\r\nduration_ms\r\n:") ||
		!strings.HasSuffix(r, "$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n") {
		t.Fatalf("FUNCTION STATS: %q", r)
	}
	if r := b.do("FUNCTION", "KILL"); r != "+OK\r\n" {
		t.Fatalf("FUNCTION KILL: %q", r)
	}
	if r := a.reply(); r != "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:3.\r\n" {
		t.Fatalf("killed function replied %q", r)
	}
	if r := b.do("FUNCTION", "KILL"); r != "-NOTBUSY No scripts in execution right now.\r\n" {
		t.Fatalf("FUNCTION KILL with nothing running: %q", r)
	}
}

// TestScriptKillInsidePcall: a killed script cannot catch the error with
// pcall and carry on.
func TestScriptKillInsidePcall(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	a := refDial(t, ts.addr)
	b := refDial(t, ts.addr)
	b.do("CONFIG", "SET", "busy-reply-threshold", "50")
	a.send("EVAL", "while true do pcall(function() while true do end end) end", "0")
	time.Sleep(100 * time.Millisecond)
	if r := b.do("SCRIPT", "KILL"); r != "+OK\r\n" {
		t.Fatalf("SCRIPT KILL: %q", r)
	}
	if r := a.reply(); !strings.HasPrefix(r, "-ERR Script killed by user with SCRIPT KILL... script: ") {
		t.Fatalf("killed script replied %q", r)
	}
}

// scriptLog is a Persistence that records what is logged.
type scriptLog struct {
	mu  sync.Mutex
	log []string
	off int64
}

func (p *scriptLog) Append(db int, args [][]byte) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	p.log = append(p.log, strconv.Itoa(db)+": "+strings.Join(parts, " "))
	p.off++
	return p.off
}

func (p *scriptLog) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.log
	p.log = nil
	return l
}

func (p *scriptLog) WriteError() string            { return "" }
func (p *scriptLog) WaitSynced(int64) error        { return nil }
func (p *scriptLog) RepliesWait() bool             { return false }
func (p *scriptLog) Save() error                   { return nil }
func (p *scriptLog) BGSave(bool) (string, error)   { return "", nil }
func (p *scriptLog) BGRewriteAOF() (string, error) { return "", nil }
func (p *scriptLog) LastSave() int64               { return 0 }
func (p *scriptLog) Loading() bool                 { return false }
func (p *scriptLog) Info(func(string, any))        {}
func (p *scriptLog) DebugReload() error            { return nil }
func (p *scriptLog) Get(string) string             { return "" }
func (p *scriptLog) Set(string, string) error      { return nil }

// TestScriptPropagation: a script's writes are logged as the commands that
// ran (relative times made absolute), inside one MULTI/EXEC, in the
// database they ran in; a read-only script logs nothing; writes after
// redis.set_repl(redis.REPL_NONE) are not logged; a script inside MULTI
// shares the transaction's MULTI/EXEC; function library changes are logged
// as sent.
func TestScriptPropagation(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	p := &scriptLog{}
	ts.srv.SetPersistence(p, nil)
	c := refDial(t, ts.addr)
	expect := func(what string, want ...string) {
		t.Helper()
		got := p.take()
		for i := range got {
			// PEXPIREAT times depend on the clock: keep the command.
			if strings.Contains(got[i], "PEXPIREAT") {
				got[i] = got[i][:strings.LastIndexByte(got[i], ' ')] + " <ms>"
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s logged\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if r := c.do("EVAL", "local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], 100) return n", "1", "k"); r != ":1\r\n" {
		t.Fatal(r)
	}
	expect("INCR+EXPIRE", "0: MULTI", "0: INCR k", "0: PEXPIREAT k <ms>", "0: EXEC")
	c.do("EVAL", "return redis.call('GET', KEYS[1])", "1", "k")
	expect("a read-only script")
	c.do("EVAL", "redis.call('SET', 'a', '1') redis.call('SELECT', 2) redis.call('SET', 'b', '2') return 1", "0")
	expect("a script changing database", "0: MULTI", "0: SET a 1", "2: SET b 2", "2: EXEC")
	c.do("EVAL", "redis.call('SET', 'c', '1') redis.set_repl(redis.REPL_NONE) redis.call('SET', 'd', '2') redis.set_repl(redis.REPL_ALL) redis.call('SET', 'e', '3')", "0")
	expect("set_repl", "0: MULTI", "0: SET c 1", "0: SET e 3", "0: EXEC")
	// A script failing half way keeps what it wrote, and so does the log.
	c.do("EVAL", "redis.call('SET', 'f', '1') return redis.call('INCR', 'f', 'extra')", "0")
	expect("a failing script", "0: MULTI", "0: SET f 1", "0: EXEC")
	for _, cmd := range [][]string{{"MULTI"}, {"SET", "g", "1"}, {"EVAL", "redis.call('SET', 'h', '2')", "0"}, {"SET", "i", "3"}, {"EXEC"}} {
		c.do(cmd...)
	}
	expect("a script in MULTI", "0: MULTI", "0: SET g 1", "0: SET h 2", "0: SET i 3", "0: EXEC")
	lib := "#!lua name=l\nredis.register_function('f', function() return 1 end)"
	c.do("FUNCTION", "LOAD", lib)
	c.do("FUNCTION", "DELETE", "nosuch")
	c.do("FUNCTION", "DELETE", "l")
	expect("FUNCTION", "0: FUNCTION LOAD "+lib, "0: FUNCTION DELETE l")
}

// TestScriptNotifications: writes made by scripts fire keyspace events.
func TestScriptNotifications(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	sub := refDial(t, ts.addr)
	c := refDial(t, ts.addr)
	c.do("CONFIG", "SET", "notify-keyspace-events", "KEA")
	if r := sub.do("PSUBSCRIBE", "__key*@0__:*"); !strings.HasPrefix(r, "*3\r\n$10\r\npsubscribe\r\n") {
		t.Fatal(r)
	}
	c.do("EVAL", "redis.call('SET', KEYS[1], 'v') redis.call('LPUSH', 'list', 'x')", "1", "skey")
	var got []string
	for i := 0; i < 4; i++ {
		got = append(got, refMessage(sub.reply()))
	}
	want := []string{
		"pmessage __key*@0__:* __keyspace@0__:skey set",
		"pmessage __key*@0__:* __keyevent@0__:set skey",
		"pmessage __key*@0__:* __keyspace@0__:list lpush",
		"pmessage __key*@0__:* __keyevent@0__:lpush list",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestScriptCache: SCRIPT LOAD, EXISTS (any case), FLUSH; EVAL caches too;
// INFO memory counts the cached scripts.
func TestScriptCache(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	sha := "e0e1f9fabfc9d4800c877a703b823ac0578ff8db" // SHA1("return 1")
	conv(t, ts.addr,
		"SCRIPT LOAD \"return 1\"\r\n", "$40\r\n"+sha+"\r\n",
		"EVALSHA "+strings.ToUpper(sha)+" 0\r\n", ":1\r\n",
		"SCRIPT EXISTS "+sha+" "+strings.ToUpper(sha)+" ffff\r\n", "*3\r\n:1\r\n:1\r\n:0\r\n",
		"EVAL \"return 2\" 0\r\n", ":2\r\n",
		"SCRIPT EXISTS 7f923f79fe76194c868d7e1d0820de36700eb649\r\n", "*1\r\n:1\r\n",
		"SCRIPT FLUSH ASYNC\r\n", "+OK\r\n",
		"EVALSHA "+sha+" 0\r\n", "-NOSCRIPT No matching script. Please use EVAL.\r\n",
		"EVALSHA "+sha+" x\r\n", "-ERR value is not an integer or out of range\r\n",
		"EVALSHA "+sha+" 1\r\n", "-ERR Number of keys can't be greater than number of args\r\n",
		"SCRIPT FLUSH x\r\n", "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n",
		"SCRIPT DEBUG NO\r\n", "+OK\r\n",
	)
	c := refDial(t, ts.addr)
	c.do("SCRIPT", "LOAD", "return 1")
	c.do("SCRIPT", "LOAD", "return 2")
	if r := c.do("INFO", "memory"); !strings.Contains(r, "number_of_cached_scripts:2\r\n") {
		t.Fatalf("INFO memory: %q", r)
	}
}

// TestScriptShebangFlags: "#!lua flags=..." scripts get the checks
// functions get (Redis 7.0 evalGetCommandFlags / scriptPrepareForRun).
func TestScriptShebangFlags(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	c := refDial(t, ts.addr)
	for _, tc := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"EVAL", "#!lua flags=no-writes\nreturn redis.call('SET', 'k', 'v')", "0"},
			"-ERR Write commands are not allowed from read-only scripts. script: "},
		{[]string{"EVAL_RO", "#!lua\nreturn 1", "0"}, "-ERR Can not execute a script with write flag using *_ro command.\r\n"},
		{[]string{"EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"}, ":1\r\n"},
		{[]string{"EVAL", "#!lua flags=no-writes,bogus\nreturn 1", "0"}, "-ERR Unexpected flag in script shebang: bogus\r\n"},
		{[]string{"EVAL", "#!python\nreturn 1", "0"}, "-ERR Unexpected engine in script shebang: #!python\r\n"},
		{[]string{"EVAL", "#!lua x=y\nreturn 1", "0"}, "-ERR Unknown lua shebang option: x=y\r\n"},
		{[]string{"EVAL", "#!lua", "0"}, "-ERR Invalid script shebang\r\n"},
		{[]string{"EVAL", "#!lua\n\nreturn x", "0"}, "-ERR user_script:3: Script attempted to access nonexistent global variable 'x' script: "},
	} {
		if r := c.do(tc.cmd...); !strings.HasPrefix(r, tc.want) {
			t.Errorf("%q: %q, want %q", tc.cmd, r, tc.want)
		}
	}
	// Over maxmemory: scripts without flags fail at their first
	// memory-consuming write, flagged ones are refused unless allow-oom.
	c.do("SET", "filler", strings.Repeat("x", 4096))
	c.do("CONFIG", "SET", "maxmemory", "1")
	for _, tc := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"EVAL", "return redis.call('SET', 'k', 'v')", "0"},
			"-OOM command not allowed when used memory > 'maxmemory'. script: "},
		{[]string{"EVAL", "return redis.call('GET', 'filler') and 1", "0"}, ":1\r\n"},
		{[]string{"EVAL", "#!lua\nreturn 1", "0"}, "-OOM command not allowed when used memory > 'maxmemory'.\r\n"},
		{[]string{"EVAL", "#!lua flags=allow-oom\nreturn redis.call('SET', 'k', 'v')", "0"}, "+OK\r\n"},
		{[]string{"EVAL", "#!lua flags=no-writes\nreturn 1", "0"}, ":1\r\n"},
	} {
		if r := c.do(tc.cmd...); !strings.HasPrefix(r, tc.want) {
			t.Errorf("%q: %q, want %q", tc.cmd, r, tc.want)
		}
	}
	c.do("CONFIG", "SET", "maxmemory", "0")
}

// TestScriptMemoryLimit: a script building an ever larger table is stopped
// at lua-memory-limit, and library functions refuse to build a string past
// proto-max-bulk-len; the server carries on.
func TestScriptMemoryLimit(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	c := refDial(t, ts.addr)
	c.do("CONFIG", "SET", "lua-memory-limit", "16mb")
	c.send("EVAL", "local t = {} local i = 0 while true do i = i + 1 t[i] = 'some value ' .. i end", "0")
	if r := c.replyWithin(60 * time.Second); !strings.HasPrefix(r, "-ERR Script killed: it used more memory than lua-memory-limit allows script: ") {
		t.Fatalf("runaway table: %q", r)
	}
	for _, script := range []string{
		"return string.rep('x', 2^30)",
		"local s = string.rep('x', 2^20) return table.concat({s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s})",
	} {
		if r := c.do("EVAL", script, "0"); !strings.HasPrefix(r, "-ERR user_script:1: not enough memory script: ") {
			t.Fatalf("%.40q: %q", script, r)
		}
	}
	if r := c.do("PING"); r != "+PONG\r\n" {
		t.Fatal(r)
	}
}

// TestFunctions: FUNCTION LOAD / LIST / FCALL / DELETE / FLUSH through
// go-redis, and FUNCTION DUMP / RESTORE, including a payload redis-server
// 7.0.15 produced (LZF-compressed library code).
func TestFunctions(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		lib := `#!lua name=mylib
redis.register_function('knockknock', function() return 'Who\'s there?' end)
redis.register_function{function_name='getset', callback=function(keys, args)
  local old = redis.call('GET', keys[1])
  redis.call('SET', keys[1], args[1])
  return old
end, description='get and set', flags={'allow-oom'}}
redis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}`
		if name, err := rdb.FunctionLoad(ctx, lib).Result(); err != nil || name != "mylib" {
			t.Fatalf("FUNCTION LOAD: %q %v", name, err)
		}
		if err := rdb.FunctionLoad(ctx, lib).Err(); err == nil || err.Error() != "ERR Library 'mylib' already exists" {
			t.Fatalf("second FUNCTION LOAD: %v", err)
		}
		if err := rdb.FunctionLoadReplace(ctx, lib).Err(); err != nil {
			t.Fatal(err)
		}
		if v := rdb.FCall(ctx, "KnockKnock", nil).Val(); v != "Who's there?" {
			t.Fatalf("FCALL: %v", v)
		}
		rdb.FCall(ctx, "getset", []string{"k"}, "v1")
		if v := rdb.FCall(ctx, "getset", []string{"k"}, "v2").Val(); v != "v1" {
			t.Fatalf("getset: %v", v)
		}
		if v := rdb.FCallRO(ctx, "peek", []string{"k"}).Val(); v != "v2" {
			t.Fatalf("FCALL_RO: %v", v)
		}
		if err := rdb.FCallRO(ctx, "getset", []string{"k"}, "x").Err(); err == nil ||
			err.Error() != "ERR Can not execute a script with write flag using *_ro command." {
			t.Fatalf("FCALL_RO of a writing function: %v", err)
		}
		libs, err := rdb.FunctionList(ctx, goredis.FunctionListQuery{WithCode: true}).Result()
		if err != nil || len(libs) != 1 {
			t.Fatalf("FUNCTION LIST: %v %v", libs, err)
		}
		l := libs[0]
		if l.Name != "mylib" || l.Engine != "LUA" || l.Code != lib || len(l.Functions) != 3 {
			t.Fatalf("FUNCTION LIST: %+v", l)
		}
		if f := l.Functions[1]; f.Name != "getset" || f.Description != "get and set" || fmt.Sprint(f.Flags) != "[allow-oom]" {
			t.Fatalf("FUNCTION LIST function: %+v", f)
		}
		dump, err := rdb.FunctionDump(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if err := rdb.FunctionFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.FCall(ctx, "knockknock", nil).Err(); err == nil || err.Error() != "ERR Function not found" {
			t.Fatalf("after FLUSH: %v", err)
		}
		if err := rdb.FunctionRestore(ctx, dump).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.FunctionRestore(ctx, dump).Err(); err == nil || err.Error() != "ERR Library mylib already exists" {
			t.Fatalf("RESTORE again: %v", err)
		}
		if v := rdb.FCall(ctx, "knockknock", nil).Val(); v != "Who's there?" {
			t.Fatalf("FCALL after RESTORE: %v", v)
		}
		if err := rdb.FunctionDelete(ctx, "mylib").Err(); err != nil {
			t.Fatal(err)
		}
		// FUNCTION DUMP of redis-server 7.0.15 after loading the library
		// in redisDump.
		payload, _ := hex.DecodeString(redisDumpHex)
		if err := rdb.Do(ctx, "FUNCTION", "RESTORE", string(payload)).Err(); err != nil {
			t.Fatalf("RESTORE of redis-server's payload: %v", err)
		}
		if v := rdb.FCall(ctx, "echo_first", nil, "hello").Val(); v != "hello" {
			t.Fatalf("FCALL of a restored function: %v", v)
		}
		bad := []byte(string(payload))
		bad[len(bad)-1] ^= 1
		if err := rdb.Do(ctx, "FUNCTION", "RESTORE", string(bad)).Err(); err == nil || err.Error() != "ERR DUMP payload version or checksum are wrong" {
			t.Fatalf("RESTORE of a damaged payload: %v", err)
		}
	})
}

// redisDump is the library redisDumpHex holds (FUNCTION DUMP of
// redis-server 7.0.15).
const redisDump = "#!lua name=restored\nredis.register_function('echo_first', function(keys, args) return args[1] end)"

const redisDumpHex = "f5c3405d40621323216c7561206e616d653d726573746f7265640a20031f69732e72656769737465725f66756e6374696f6e28276563686f5f666972737402272c20e00016116b6579732c2061726773292072657475726e600c075b315d20656e64290a00759c5640729aa41c"

// TestFunctionsSnapshotHooks: the hooks persistence uses carry libraries
// through a snapshot.
func TestFunctionsSnapshotHooks(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	c := refDial(t, ts.addr)
	c.do("FUNCTION", "LOAD", redisDump)
	codes := ts.srv.Functions()
	if len(codes) != 1 || codes[0] != redisDump {
		t.Fatalf("Functions() = %q", codes)
	}
	other := startServer(t, Config{}, keyspace.Config{})
	if err := other.srv.LoadFunctions(codes); err != nil {
		t.Fatal(err)
	}
	if r := refDial(t, other.addr).do("FCALL", "echo_first", "0", "x"); r != "$1\r\nx\r\n" {
		t.Fatalf("FCALL after LoadFunctions: %q", r)
	}
	payload, err := FunctionsPayload(codes)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseFunctionsPayload(payload)
	if err != nil || len(back) != 1 || back[0] != redisDump {
		t.Fatalf("payload round trip: %q %v", back, err)
	}
}

var _ = testutil.Dial
