package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lua scripting through the built binary and the clients that send
// scripts: redis-py's register_script and Lock, kombu's restore lock
// (testdata/redis_scripting.py), go-redis's Script, and scripts' effects
// in the AOF surviving a restart. FERRY_E2E_REFERENCE=redis runs the
// client tests against /usr/bin/redis-server to prove their expectations.

const redisScriptingScript = "testdata/redis_scripting.py"

// TestScriptingPython: redis-py register_script (EVALSHA, NOSCRIPT, SCRIPT
// LOAD, pipelines, error texts, conversions), Lock (acquire, release,
// extend, reacquire, expiry, blocking acquires from several connections)
// and kombu 5.2.4's restore of unacknowledged messages under its Mutex.
func TestScriptingPython(t *testing.T) {
	srv := startRedis(t)
	out := pythonFile(t, redisScriptingScript, srv.Port)
	sections := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "PASS "):
			sections[strings.TrimPrefix(line, "PASS ")] = true
		case strings.HasPrefix(line, "FAIL "):
			t.Error(line)
		}
	}
	if !strings.Contains(out, "\nDONE\n") && !strings.HasPrefix(out, "DONE\n") {
		t.Fatalf("script did not finish:\n%s", out)
	}
	for _, name := range []string{"register_script", "lock_basics", "lock_timeout", "lock_contention", "kombu_restore"} {
		if !sections[name] {
			t.Errorf("section %s did not pass", name)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// TestScriptingGoRedis: go-redis's Script.Run sends EVALSHA and falls back
// to EVAL on NOSCRIPT (first run, after SCRIPT FLUSH); Script.Load and
// EvalSha; errors keep Redis's text.
func TestScriptingGoRedis(t *testing.T) {
	srv := startRedis(t)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, Protocol: 3})
	defer c.Close()
	c.FlushAll(ctx)
	c.ScriptFlush(ctx)
	limiter := redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return {err = 'LIMITED too many calls'} end
return n`)
	if ok := c.ScriptExists(ctx, limiter.Hash()).Val(); ok[0] {
		t.Fatal("script cached before its first run")
	}
	for i := 1; i <= 3; i++ {
		n, err := limiter.Run(ctx, c, []string{"rate:u1"}, 3, 60000).Int()
		if err != nil || n != i {
			t.Fatalf("call %d: %v %v", i, n, err)
		}
	}
	err := limiter.Run(ctx, c, []string{"rate:u1"}, 3, 60000).Err()
	if err == nil || err.Error() != "LIMITED too many calls" {
		t.Fatalf("over the limit: %v", err)
	}
	if ttl := c.PTTL(ctx, "rate:u1").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl %v", ttl)
	}
	c.ScriptFlush(ctx)
	err = c.EvalSha(ctx, limiter.Hash(), []string{"rate:u2"}, 3, 60000).Err()
	if err == nil || err.Error() != "NOSCRIPT No matching script. Please use EVAL." || !redis.HasErrorPrefix(err, "NOSCRIPT") {
		t.Fatalf("EVALSHA after SCRIPT FLUSH: %v", err)
	}
	if n, err := limiter.Run(ctx, c, []string{"rate:u2"}, 3, 60000).Int(); err != nil || n != 1 {
		t.Fatalf("Run after SCRIPT FLUSH: %v %v", n, err)
	}
	if sha, err := limiter.Load(ctx, c).Result(); err != nil || sha != limiter.Hash() {
		t.Fatalf("SCRIPT LOAD: %q %v", sha, err)
	}
	if n, err := limiter.EvalSha(ctx, c, []string{"rate:u2"}, 3, 60000).Int(); err != nil || n != 2 {
		t.Fatalf("EvalSha: %v %v", n, err)
	}
	// RESP3 conversions through go-redis.
	v, err := c.Eval(ctx, "return {map={a=1}}", nil).Result()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(v) != "map[a:1]" {
		t.Fatalf("map reply: %#v", v)
	}
	if f, err := c.Eval(ctx, "return {double=0.5}", nil).Result(); err != nil || f != 0.5 {
		t.Fatalf("double reply: %v %v", f, err)
	}
	var rerr redis.Error
	err = c.Eval(ctx, "return redis.call('nosuch')", nil).Err()
	if !errors.As(err, &rerr) || !strings.HasPrefix(err.Error(), "ERR Unknown Redis command called from script script: ") {
		t.Fatalf("unknown command: %v", err)
	}
}

// TestScriptingAOFReplay: what scripts write reaches the AOF as the
// commands that ran (no EVAL, so values a script computed from TIME,
// random members or math.random replay as they were), and a restart loads
// the same dataset, TTLs included; a script that failed half way keeps
// what it wrote before the error, after the restart too.
func TestScriptingAOFReplay(t *testing.T) {
	if isRedisReference() {
		t.Skip("Ferry's AOF")
	}
	dir := t.TempDir()
	p, c := ferryRedis(t, dir, "--appendonly", "yes", "--appendfsync", "always")
	ctx := context.Background()
	c.SAdd(ctx, "pool", "a", "b", "c", "d", "e", "f", "g", "h")
	scripts := []struct {
		body string
		keys []string
		args []any
	}{
		// Values computed inside the script: replaying the script would
		// give different ones.
		{`local t = redis.call('TIME') redis.call('SET', KEYS[1], t[1] .. '.' .. t[2]) return 1`, []string{"stamp"}, nil},
		{`local m = redis.call('SPOP', KEYS[1]) redis.call('RPUSH', KEYS[2], m) return m`, []string{"pool", "picked"}, nil},
		{`local m = redis.call('SRANDMEMBER', KEYS[1]) redis.call('HSET', KEYS[2], 'member', m) return m`, []string{"pool", "h"}, nil},
		{`redis.call('SET', KEYS[1], tostring(math.random())) return 1`, []string{"rnd"}, nil},
		// Relative expiry is logged as an absolute time.
		{`redis.call('SET', KEYS[1], ARGV[1], 'EX', 3600) redis.call('ZADD', KEYS[2], 1.5, 'x') return 1`, []string{"ttl", "z"}, []any{"v"}},
		// Keys the script did not declare, another database.
		{`redis.call('SELECT', 5) redis.call('INCRBY', 'undeclared', 7) return 1`, nil, nil},
		// Written before the error: kept.
		{`redis.call('SET', 'half', 'done') return redis.call('INCR', 'stamp')`, nil, nil},
	}
	for i := 0; i < 3; i++ {
		for _, s := range scripts {
			redis.NewScript(s.body).Run(ctx, c, s.keys, s.args...)
		}
	}
	// A script in MULTI and one in a pipeline with other writes.
	if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "tx", "1", 0)
		p.Eval(ctx, `redis.call('APPEND', 'tx', '2') return 1`, nil)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := contents(t, p.Addrs["redis"])
	if want["0/half"] == "" || want["5/undeclared"] == "" || want["0/picked"] == "" {
		t.Fatalf("scripts did not write: %v", want)
	}
	aof, err := os.ReadFile(incrFile(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"EVAL", "evalsha", "EVALSHA"} {
		if strings.Contains(string(aof), "\r\n"+bad+"\r\n") {
			t.Errorf("the AOF holds %s (scripts must be logged as their effects)", bad)
		}
	}
	upper := strings.ToUpper(string(aof))
	if !strings.Contains(upper, "\r\nSPOP\r\n") && !strings.Contains(upper, "\r\nSREM\r\n") {
		t.Error("the AOF lacks the SPOP (or SREM) a script ran")
	}
	if !strings.Contains(upper, "\r\nPXAT\r\n") && !strings.Contains(upper, "\r\nPEXPIREAT\r\n") {
		t.Error("the AOF lacks the absolute expiry of SET EX in a script")
	}
	for _, cmd := range []string{"RPUSH", "INCRBY", "MULTI", "EXEC"} {
		if !strings.Contains(upper, "\r\n"+cmd+"\r\n") {
			t.Errorf("the AOF lacks %s", cmd)
		}
	}
	p.Stop(t)
	p2, _ := ferryRedis(t, dir, "--appendonly", "yes")
	got := contents(t, p2.Addrs["redis"])
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after restart\n%v\nwant\n%v", got, want)
	}
}
