package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/internal/persist/rdb"

	"github.com/redis/go-redis/v9"
)

// Persistence as an operator drives it, through the real binary: Redis's
// switches from a redis.conf, flags and CONFIG SET; turning the AOF on at
// runtime; BGSAVE SCHEDULE; DEBUG RELOAD; SHUTDOWN SAVE|NOSAVE; loading a
// large dataset (-LOADING, progress in the log); MISCONF after a failed
// snapshot on a real full disk; redis-py across a kill -9.

// startFerryIn runs the binary in working directory cwd and waits for
// the redis listener, and for "Ready to accept connections" when ready.
func startFerryIn(t *testing.T, cwd string, ready bool, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(ferryBin, args...)
	cmd.Dir = cwd
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{Cmd: cmd, Addrs: map[string]string{}}
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				p.Addrs[m[1]] = m[2]
			}
			done := !signalled && p.Addrs["redis"] != "" && (!ready || strings.Contains(p.log.String(), "Ready to accept connections"))
			p.mu.Unlock()
			if done {
				signalled = true
				close(up)
			}
		}
	}()
	t.Cleanup(func() { p.Stop(t) })
	select {
	case <-up:
	case <-time.After(60 * time.Second):
		t.Fatalf("ferry did not start; log:\n%s", p.Log())
	}
	return p
}

// waitExit waits for the process to end by itself (SHUTDOWN).
func waitExit(t *testing.T, p *Proc) {
	t.Helper()
	done := make(chan struct{})
	go func() { p.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("ferry did not exit; log:\n%s", p.Log())
	}
}

func configGet(t *testing.T, c *redis.Client, name string) string {
	t.Helper()
	m, err := c.ConfigGet(context.Background(), name).Result()
	if err != nil {
		t.Fatalf("CONFIG GET %s: %v", name, err)
	}
	v, ok := m[name]
	if !ok {
		t.Fatalf("CONFIG GET %s: not returned (%v)", name, m)
	}
	return v
}

// waitInfo waits until INFO persistence's field has the value want.
func waitInfo(t *testing.T, c *redis.Client, field, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := infoPersistence(t, c, field)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("INFO persistence %s:%s, waited for %s", field, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedisSwitches: every persistence directive of redis.conf is read
// from a config file, command-line flags override it (as redis-server's
// do), CONFIG GET shows the result, the files are named and written as
// configured, and CONFIG SET changes each one at runtime.
func TestRedisSwitches(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(t.TempDir(), "redis.conf")
	os.WriteFile(conf, []byte(`# persistence as an operator writes it
port 0
dir `+dir+`
appendonly yes
appendfsync always
save 900 1
save 300 10
dbfilename "mydump.rdb"
appendfilename "myappend.aof"
auto-aof-rewrite-percentage 50
auto-aof-rewrite-min-size 32mb
aof-load-truncated no
rdbcompression no
rdbchecksum no
stop-writes-on-bgsave-error no
`), 0o644)
	p := startFerry(t, []string{"redis"}, "redis-server", conf, "--appendfsync", "everysec", "--rdbcompression", "no")
	c := goRedis(t, p.Addrs["redis"])
	waitLoaded(t, c, p)
	ctx := context.Background()
	want := map[string]string{
		"appendonly":                  "yes",
		"appendfsync":                 "everysec", // the flag wins over the file
		"save":                        "900 1 300 10",
		"dbfilename":                  "mydump.rdb",
		"appendfilename":              "myappend.aof",
		"auto-aof-rewrite-percentage": "50",
		"auto-aof-rewrite-min-size":   "33554432",
		"aof-load-truncated":          "no",
		"rdbcompression":              "no",
		"rdbchecksum":                 "no",
		"stop-writes-on-bgsave-error": "no",
		"dir":                         dir,
	}
	for k, v := range want {
		if got := configGet(t, c, k); got != v {
			t.Errorf("CONFIG GET %s = %q, want %q", k, got, v)
		}
	}
	long := strings.Repeat("compressible ", 100)
	c.Set(ctx, "long", long, 0)
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "mydump.rdb"))
	if err != nil {
		t.Fatalf("dbfilename not honoured: %v", err)
	}
	if !bytes.Contains(b, []byte(long)) {
		t.Error("rdbcompression no: the value is not stored raw")
	}
	if !bytes.HasSuffix(b, make([]byte, 8)) {
		t.Errorf("rdbchecksum no: checksum %x, want zeros", b[len(b)-8:])
	}
	names, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "myappend.aof.*"))
	if len(names) < 2 { // manifest and an incremental file at least
		t.Errorf("appendfilename not honoured: %v", names)
	}
	// CONFIG SET each one, then read it back.
	sets := [][2]string{
		{"appendfsync", "always"}, {"appendfsync", "no"}, {"appendfsync", "everysec"},
		{"save", "3600 1 300 100 60 10000"}, {"save", ""}, {"dbfilename", "other.rdb"},
		{"auto-aof-rewrite-percentage", "100"}, {"auto-aof-rewrite-min-size", "67108864"},
		{"aof-load-truncated", "yes"}, {"rdbcompression", "yes"}, {"rdbchecksum", "yes"},
		{"stop-writes-on-bgsave-error", "yes"},
	}
	for _, kv := range sets {
		if err := c.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Errorf("CONFIG SET %s %q: %v", kv[0], kv[1], err)
			continue
		}
		if got := configGet(t, c, kv[0]); got != kv[1] {
			t.Errorf("after CONFIG SET %s %q: CONFIG GET says %q", kv[0], kv[1], got)
		}
	}
	// Redis's refusals, word for word.
	bad := [][3]string{
		{"appendfsync", "sometimes", "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no"},
		{"appendonly", "maybe", "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"},
		{"save", "100", "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"},
		{"appendfilename", "x.aof", "ERR CONFIG SET failed (possibly related to argument 'appendfilename') - can't set immutable config"},
	}
	for _, b := range bad {
		if err := c.ConfigSet(ctx, b[0], b[1]).Err(); err == nil || err.Error() != b[2] {
			t.Errorf("CONFIG SET %s %s: %v, want %q", b[0], b[1], err, b[2])
		}
	}
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.rdb")); err != nil {
		t.Errorf("CONFIG SET dbfilename not honoured: %v", err)
	}
}

// TestDefaultDataDir: `ferry` without --dir keeps its data under ./data,
// as an AOF (everysec) plus a snapshot, and comes back with it.
func TestDefaultDataDir(t *testing.T) {
	cwd := t.TempDir()
	args := []string{"--redis-addr", "127.0.0.1:0", "--memcached-addr", "127.0.0.1:0", "--amqp-addr", "127.0.0.1:0"}
	p := startFerryIn(t, cwd, true, args...)
	c := goRedis(t, p.Addrs["redis"])
	ctx := context.Background()
	for k, v := range map[string]string{"appendonly": "yes", "appendfsync": "everysec", "save": "3600 1 300 100 60 10000", "dir": filepath.Join(cwd, "data")} {
		if got := configGet(t, c, k); got != v {
			t.Errorf("default %s = %q, want %q", k, got, v)
		}
	}
	c.Set(ctx, "k", "v", time.Hour)
	time.Sleep(1200 * time.Millisecond) // one everysec fsync
	kill9(t, p)
	if _, err := os.Stat(filepath.Join(cwd, "data", "appendonlydir", "appendonly.aof.manifest")); err != nil {
		t.Errorf("no AOF under ./data: %v", err)
	}
	p2 := startFerryIn(t, cwd, true, args...)
	c2 := goRedis(t, p2.Addrs["redis"])
	if v, err := c2.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("after restart: %q %v", v, err)
	}
	if ttl := c2.TTL(ctx, "k").Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("TTL after restart: %v", ttl)
	}
	c2.Set(ctx, "k2", "v2", 0)
	p2.Stop(t) // graceful: a final snapshot (save points are set)
	if _, err := os.Stat(filepath.Join(cwd, "data", "dump.rdb")); err != nil {
		t.Errorf("no dump.rdb under ./data after a graceful stop: %v", err)
	}
}

// fill writes n string keys through a pipeline.
func fill(t *testing.T, c *redis.Client, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i += 1000 {
		pipe := c.Pipeline()
		for j := i; j < min(i+1000, n); j++ {
			pipe.Set(ctx, fmt.Sprint(prefix, j), fmt.Sprint("value-", j), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAppendonlyAtRuntime: CONFIG SET appendonly yes on a server running
// without an AOF writes one from the dataset (a rewrite, as Redis), logs
// every write from then on, and a kill -9 loses none of it; CONFIG SET
// appendonly no stops logging.
func TestAppendonlyAtRuntime(t *testing.T) {
	dir := t.TempDir()
	p, c := ferryRedis(t, dir, "--appendonly", "no", "--save", "")
	ctx := context.Background()
	fill(t, c, "before:", 20000)
	if v := infoPersistence(t, c, "aof_enabled"); v != "0" {
		t.Fatalf("aof_enabled:%s with appendonly no", v)
	}
	// BGREWRITEAOF with the AOF off writes one anyway, as Redis.
	if v, err := c.BgRewriteAOF(ctx).Result(); err != nil || v != "Background append only file rewriting started" {
		t.Fatalf("BGREWRITEAOF with appendonly no: %q %v", v, err)
	}
	waitInfo(t, c, "aof_rewrites", "1")
	waitInfo(t, c, "aof_rewrite_in_progress", "0")
	if b, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "appendonly.aof.*.base.rdb")); len(b) != 1 {
		t.Errorf("no base file after BGREWRITEAOF with appendonly no: %v", b)
	}
	if err := c.ConfigSet(ctx, "appendonly", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	if v := infoPersistence(t, c, "aof_enabled"); v != "1" {
		t.Errorf("aof_enabled:%s after CONFIG SET appendonly yes", v)
	}
	c.Set(ctx, "during", "1", 0) // while the rewrite may still run
	waitInfo(t, c, "aof_rewrite_in_progress", "0")
	if v := infoPersistence(t, c, "aof_rewrites"); v != "2" {
		t.Errorf("aof_rewrites:%s, want 2 (turning the AOF on rewrites it)", v)
	}
	if v := infoPersistence(t, c, "aof_last_bgrewrite_status"); v != "ok" {
		t.Errorf("aof_last_bgrewrite_status:%s", v)
	}
	if b, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "appendonly.aof.*.base.rdb")); len(b) != 1 {
		t.Errorf("no base file after turning the AOF on: %v", b)
	}
	c.Set(ctx, "after", "2", 0)
	if err := c.ConfigSet(ctx, "appendfsync", "always").Err(); err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, "synced", "3", 0)
	kill9(t, p)
	_, c2 := ferryRedis(t, dir, "--appendonly", "yes", "--save", "")
	if n := c2.DBSize(ctx).Val(); n != 20003 {
		t.Errorf("DBSIZE after kill -9: %d, want 20003", n)
	}
	for k, v := range map[string]string{"before:19999": "value-19999", "during": "1", "after": "2", "synced": "3"} {
		if got := c2.Get(ctx, k).Val(); got != v {
			t.Errorf("GET %s = %q, want %q", k, got, v)
		}
	}
	// Off again: nothing more is logged.
	if err := c2.ConfigSet(ctx, "appendonly", "no").Err(); err != nil {
		t.Fatal(err)
	}
	if v := infoPersistence(t, c2, "aof_enabled"); v != "0" {
		t.Errorf("aof_enabled:%s after CONFIG SET appendonly no", v)
	}
}

// TestBackgroundJobsQueue: BGSAVE during a rewrite is refused, or
// scheduled with SCHEDULE; BGREWRITEAOF during a BGSAVE is scheduled; both
// queued jobs then run. Replies are redis-server 7.0's.
func TestBackgroundJobsQueue(t *testing.T) {
	dir := t.TempDir()
	_, c := ferryRedis(t, dir, "--appendonly", "yes", "--save", "")
	ctx := context.Background()
	fill(t, c, "k:", 100000)
	// One pipeline: the rewrite of 100k keys is still running when the
	// next commands arrive.
	pipe := c.Pipeline()
	rw := pipe.BgRewriteAOF(ctx)
	save := pipe.BgSave(ctx)
	sched := pipe.Do(ctx, "BGSAVE", "SCHEDULE")
	rw2 := pipe.BgRewriteAOF(ctx)
	pipe.Exec(ctx)
	if v, err := rw.Result(); err != nil || v != "Background append only file rewriting started" {
		t.Errorf("BGREWRITEAOF: %q %v", v, err)
	}
	if err := save.Err(); err == nil || err.Error() != "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible." {
		t.Errorf("BGSAVE during a rewrite: %v", err)
	}
	if v, err := sched.Result(); err != nil || v != "Background saving scheduled" {
		t.Errorf("BGSAVE SCHEDULE during a rewrite: %v %v", v, err)
	}
	if err := rw2.Err(); err == nil || err.Error() != "ERR Background append only file rewriting already in progress" {
		t.Errorf("BGREWRITEAOF during a rewrite: %v", err)
	}
	waitInfo(t, c, "rdb_saves", "1") // the scheduled save ran
	waitInfo(t, c, "rdb_bgsave_in_progress", "0")
	if v := infoPersistence(t, c, "rdb_last_bgsave_status"); v != "ok" {
		t.Errorf("rdb_last_bgsave_status:%s", v)
	}
	// The other way round: a rewrite asked for during a save waits.
	pipe = c.Pipeline()
	save = pipe.BgSave(ctx)
	save2 := pipe.BgSave(ctx)
	rw = pipe.BgRewriteAOF(ctx)
	info := pipe.Info(ctx, "persistence")
	pipe.Exec(ctx)
	if v, err := save.Result(); err != nil || v != "Background saving started" {
		t.Errorf("BGSAVE: %q %v", v, err)
	}
	if err := save2.Err(); err == nil || err.Error() != "ERR Background save already in progress" {
		t.Errorf("BGSAVE during a BGSAVE: %v", err)
	}
	if v, err := rw.Result(); err != nil || v != "Background append only file rewriting scheduled" {
		t.Errorf("BGREWRITEAOF during a BGSAVE: %q %v", v, err)
	}
	if !strings.Contains(info.Val(), "aof_rewrite_scheduled:1") {
		t.Errorf("INFO during a BGSAVE with a rewrite queued:\n%s", info.Val())
	}
	waitInfo(t, c, "aof_rewrites", "2")
	waitInfo(t, c, "aof_rewrite_scheduled", "0")
	before := c.LastSave(ctx).Val()
	if before == 0 {
		t.Error("LASTSAVE is 0 after saves")
	}
}

// TestDebugReloadAndShutdown: DEBUG RELOAD keeps every key, TTL and
// memcached flag; SHUTDOWN SAVE saves without save points, SHUTDOWN NOSAVE
// does not save even with them, plain SHUTDOWN saves when save points are
// set.
func TestDebugReloadAndShutdown(t *testing.T) {
	dir := t.TempDir()
	p, c := ferryAll(t, dir, "--appendonly", "no", "--save", "")
	ctx := context.Background()
	mc := dialMC(t, p.Addrs["memcached"])
	mc.do("set mc 77 0 2\r\nhi\r\n", "STORED")
	c.Set(ctx, "str", "v", time.Hour)
	c.RPush(ctx, "list", "a", "b", "c")
	c.HSet(ctx, "hash", "f", "v")
	c.ZAdd(ctx, "zset", redis.Z{Score: 1.5, Member: "m"})
	c.SAdd(ctx, "set", 1, 2, 3)
	if v, err := c.Do(ctx, "DEBUG", "RELOAD").Result(); err != nil || v != "OK" {
		t.Fatalf("DEBUG RELOAD: %v %v", v, err)
	}
	if n := c.DBSize(ctx).Val(); n != 6 {
		t.Errorf("DBSIZE after DEBUG RELOAD: %d", n)
	}
	if ttl := c.TTL(ctx, "str").Val(); ttl < 59*time.Minute {
		t.Errorf("TTL after DEBUG RELOAD: %v", ttl)
	}
	if got := c.LRange(ctx, "list", 0, -1).Val(); strings.Join(got, ",") != "a,b,c" {
		t.Errorf("list after DEBUG RELOAD: %v", got)
	}
	if got := c.ZScore(ctx, "zset", "m").Val(); got != 1.5 {
		t.Errorf("zset after DEBUG RELOAD: %v", got)
	}
	if got := mcGetAll(mc, "mc"); got != "VALUE mc 77 2|hi|END" {
		t.Errorf("memcached item after DEBUG RELOAD: %q", got)
	}
	// SHUTDOWN SAVE with no save points: saved.
	c.Set(ctx, "saved", "1", 0)
	c.Do(ctx, "SHUTDOWN", "SAVE") // the connection drops
	waitExit(t, p)
	p, c = ferryAll(t, dir, "--appendonly", "no", "--save", "")
	if got := c.Get(ctx, "saved").Val(); got != "1" {
		t.Errorf("after SHUTDOWN SAVE: saved=%q", got)
	}
	// SHUTDOWN NOSAVE with save points: nothing saved.
	c.ConfigSet(ctx, "save", "3600 1")
	c.Set(ctx, "lost", "1", 0)
	c.Do(ctx, "SHUTDOWN", "NOSAVE")
	waitExit(t, p)
	p, c = ferryAll(t, dir, "--appendonly", "no", "--save", "3600 1")
	if n := c.Exists(ctx, "lost").Val(); n != 0 {
		t.Error("SHUTDOWN NOSAVE saved")
	}
	if got := c.Get(ctx, "saved").Val(); got != "1" {
		t.Errorf("after SHUTDOWN NOSAVE: saved=%q", got)
	}
	// Plain SHUTDOWN with save points: saved.
	c.Set(ctx, "plain", "1", 0)
	c.Do(ctx, "SHUTDOWN")
	waitExit(t, p)
	_, c = ferryAll(t, dir, "--appendonly", "no", "--save", "")
	if got := c.Get(ctx, "plain").Val(); got != "1" {
		t.Errorf("after SHUTDOWN with save points: plain=%q", got)
	}
}

// writeBigRDB writes a dump.rdb of n string keys (some with a TTL).
func writeBigRDB(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := rdb.NewWriter(bw, nil)
	exp := time.Now().Add(time.Hour).UnixMilli()
	for i := 0; i < n; i++ {
		e := rdb.Entry{Key: []byte("key:" + strconv.Itoa(i)), Value: rdb.String("value:" + strconv.Itoa(i) + ":0123456789abcdef0123456789abcdef")}
		if i%10 == 0 {
			e.ExpireAt = exp
		}
		if err := w.WriteEntry(&e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestLoadingLargeDataset: while a large snapshot loads, clients get
// -LOADING (Redis's text) and INFO persistence says how far it is; the log
// reports progress (percent, keys/s); then every key is there.
func TestLoadingLargeDataset(t *testing.T) {
	const n = 300_000 // about 10 s for the race-enabled build
	dir := t.TempDir()
	writeBigRDB(t, filepath.Join(dir, "dump.rdb"), n)
	start := time.Now()
	p := startFerryIn(t, t.TempDir(), false, "redis-server", "--port", "0", "--dir", dir, "--appendonly", "no")
	c := redis.NewClient(&redis.Options{Addr: p.Addrs["redis"], Protocol: 2, MaxRetries: -1})
	defer c.Close()
	ctx := context.Background()
	sawLoading, sawInfo := false, false
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			break
		}
		if err.Error() != "LOADING Redis is loading the dataset in memory" {
			t.Fatalf("PING while loading: %v", err)
		}
		sawLoading = true
		if err := c.Set(ctx, "x", "y", 0).Err(); err == nil || err.Error() != "LOADING Redis is loading the dataset in memory" {
			t.Errorf("SET while loading: %v", err)
		}
		if s, err := c.Info(ctx, "persistence").Result(); err == nil && strings.Contains(s, "loading:1") {
			if !regexp.MustCompile(`loading_loaded_perc:\d+\.\d\d`).MatchString(s) || !strings.Contains(s, "loading_total_bytes:") {
				t.Errorf("INFO persistence while loading:\n%s", s)
			}
			sawInfo = true
		}
		if time.Since(start) > 3*time.Minute {
			t.Fatal("still loading after 3 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !sawLoading || !sawInfo {
		t.Errorf("never saw the loading state (LOADING %v, INFO %v): the load was too quick to observe", sawLoading, sawInfo)
	}
	if got := c.DBSize(ctx).Val(); got != n {
		t.Errorf("DBSIZE %d, want %d", got, n)
	}
	if got := infoPersistence(t, c, "rdb_last_load_keys_loaded"); got != strconv.Itoa(n) {
		t.Errorf("rdb_last_load_keys_loaded:%s", got)
	}
	log := p.Log()
	if !regexp.MustCompile(`msg=Loading percent=\d+\.\d keys=\d+ keys_per_sec=\d+`).MatchString(log) {
		t.Errorf("no progress lines in the log:\n%s", log)
	}
	m := regexp.MustCompile(`msg="DB loaded from disk" keys=(\d+) seconds=(\S+) keys_per_sec=(\d+)`).FindStringSubmatch(log)
	if m == nil || m[1] != strconv.Itoa(n) {
		t.Errorf("no final load line in the log:\n%s", log)
	} else {
		t.Logf("loaded %s keys in %s s (%s keys/s, race-enabled build)", m[1], m[2], m[3])
	}
}

// TestMISCONFAfterFailedSave: with save points and
// stop-writes-on-bgsave-error, a snapshot that fails on a real full disk
// makes write commands fail with Redis's MISCONF text while reads go on;
// a successful save lifts it; with stop-writes-on-bgsave-error no, writes
// go on regardless.
func TestMISCONFAfterFailedSave(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	os.Mkdir(dir, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	const misconf = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."
	p, c := ferryAll(t, dir, "--appendonly", "no", "--save", "3600 1")
	ctx := context.Background()
	mc := dialMC(t, p.Addrs["memcached"])
	for i := 0; i < 100; i++ { // 400 KB that LZF cannot shrink: does not fit
		v := make([]byte, 4000)
		rand.Read(v)
		c.Set(ctx, fmt.Sprint("k", i), v, 0)
	}
	if v, err := c.BgSave(ctx).Result(); err != nil || v != "Background saving started" {
		t.Fatalf("BGSAVE: %q %v", v, err)
	}
	waitInfo(t, c, "rdb_last_bgsave_status", "err")
	for _, cmd := range [][]any{{"SET", "a", "1"}, {"DEL", "k1"}, {"INCR", "n"}, {"LPUSH", "l", "x"}} {
		if err := c.Do(ctx, cmd...).Err(); err == nil || err.Error() != misconf {
			t.Errorf("%v after a failed save: %v", cmd, err)
		}
	}
	mc.do("set mc 0 0 1\r\nv\r\n", "SERVER_ERROR "+misconf)
	if v, err := c.Get(ctx, "k1").Result(); err != nil || len(v) != 4000 {
		t.Errorf("GET after a failed save: %v", err)
	}
	if !strings.Contains(p.Log(), "Background saving error") || !strings.Contains(p.Log(), "no space left on device") {
		t.Errorf("the log does not name the error:\n%s", p.Log())
	}
	// No partial dump.rdb or temp file is left behind.
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		var names []string
		for _, e := range ents {
			if e.Name() != "amqp" { // the broker's store
				names = append(names, e.Name())
			}
		}
		if len(names) > 0 {
			t.Errorf("files left on the full disk: %v", names)
		}
	}
	// stop-writes-on-bgsave-error no: writes go on.
	c.ConfigSet(ctx, "stop-writes-on-bgsave-error", "no")
	if err := c.Set(ctx, "a", "1", 0).Err(); err != nil {
		t.Errorf("SET with stop-writes-on-bgsave-error no: %v", err)
	}
	c.ConfigSet(ctx, "stop-writes-on-bgsave-error", "yes")
	// Room again (the data shrinks to fit): a save succeeds, writes resume.
	// DEL is refused, so shrink through a client that bypasses nothing:
	// turn the check off, delete, turn it on, save.
	c.ConfigSet(ctx, "stop-writes-on-bgsave-error", "no")
	for i := 10; i < 100; i++ {
		c.Del(ctx, fmt.Sprint("k", i))
	}
	c.ConfigSet(ctx, "stop-writes-on-bgsave-error", "yes")
	if err := c.Set(ctx, "b", "1", 0).Err(); err == nil || err.Error() != misconf {
		t.Errorf("SET before a successful save: %v", err)
	}
	if v, err := c.BgSave(ctx).Result(); err != nil || v != "Background saving started" {
		t.Fatalf("BGSAVE: %q %v", v, err)
	}
	waitInfo(t, c, "rdb_last_bgsave_status", "ok")
	if err := c.Set(ctx, "b", "1", 0).Err(); err != nil {
		t.Errorf("SET after a successful save: %v", err)
	}
	mc.do("set mc 0 0 1\r\nv\r\n", "STORED")
	// Everything acknowledged is in the snapshot.
	p.Stop(t)
	_, c2 := ferryAll(t, dir, "--appendonly", "no", "--save", "")
	for _, k := range []string{"k0", "k9", "a", "b", "mc"} {
		if c2.Exists(ctx, k).Val() != 1 {
			t.Errorf("%s missing after restart", k)
		}
	}
}

const redisPyPersistWrite = `
import sys, redis
r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]))
r.set("py:str", "hello", ex=3600)
r.rpush("py:list", *[str(i) for i in range(200)])
r.hset("py:hash", mapping={"a": "1", "b": "2"})
r.sadd("py:set", 1, 2, 3, "x")
r.zadd("py:zset", {"m1": 1.5, "m2": -2})
r.incrbyfloat("py:float", 2.5)
assert r.bgrewriteaof() in (True, b"Background append only file rewriting started")
info = r.info("persistence")
for f in ("loading", "rdb_changes_since_last_save", "rdb_bgsave_in_progress", "rdb_last_save_time",
          "rdb_last_bgsave_status", "aof_enabled", "aof_rewrite_in_progress", "aof_last_write_status"):
    assert f in info, f
assert info["aof_enabled"] == 1
import time
while r.info("persistence")["aof_rewrite_in_progress"]:
    time.sleep(0.02)
r.set("py:after-rewrite", "1")
before = r.lastsave()
r.save()
assert r.lastsave() >= before
print("written")
`

const redisPyPersistCheck = `
import sys, redis
r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
assert r.get("py:str") == "hello"
assert 3500 < r.ttl("py:str") <= 3600, r.ttl("py:str")
assert r.lrange("py:list", 0, -1) == [str(i) for i in range(200)]
assert r.hgetall("py:hash") == {"a": "1", "b": "2"}
assert r.smembers("py:set") == {"1", "2", "3", "x"}
assert r.zrange("py:zset", 0, -1, withscores=True) == [("m2", -2.0), ("m1", 1.5)]
assert r.get("py:float") == "2.5"
assert r.get("py:after-rewrite") == "1"
assert r.get("py:always") == "1"
print("checked")
`

// TestRedisPyPersistence: redis-py writes every type, rewrites the AOF and
// saves; after a kill -9 (appendfsync always) redis-py reads it all back.
func TestRedisPyPersistence(t *testing.T) {
	dir := t.TempDir()
	p, c := ferryRedis(t, dir, "--appendonly", "yes", "--appendfsync", "always")
	host, port, _ := strings.Cut(p.Addrs["redis"], ":")
	if out := python(t, redisPyPersistWrite, host, port); !strings.Contains(out, "written") {
		t.Fatalf("redis-py: %s", out)
	}
	c.Set(context.Background(), "py:always", "1", 0)
	kill9(t, p)
	p2, _ := ferryRedis(t, dir, "--appendonly", "yes")
	host, port, _ = strings.Cut(p2.Addrs["redis"], ":")
	if out := python(t, redisPyPersistCheck, host, port); !strings.Contains(out, "checked") {
		t.Fatalf("redis-py after kill -9: %s", out)
	}
}
