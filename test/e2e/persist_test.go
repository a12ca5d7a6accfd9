package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Persistence through real processes: Ferry is killed with SIGKILL under
// load and restarted on the same directory; its files are torn, corrupted,
// and its disk filled.

// ferryRedis starts `ferry redis-server --port 0 --dir dir options…`.
func ferryRedis(t *testing.T, dir string, options ...string) (*Proc, *redis.Client) {
	t.Helper()
	p := startFerry(t, []string{"redis"}, append([]string{"redis-server", "--port", "0", "--dir", dir}, options...)...)
	c := goRedis(t, p.Addrs["redis"])
	waitLoaded(t, c, p)
	return p, c
}

// ferryAll starts `ferry` with both front ends on ephemeral ports.
func ferryAll(t *testing.T, dir string, options ...string) (*Proc, *redis.Client) {
	t.Helper()
	p := startFerry(t, []string{"redis", "memcached"}, append([]string{"--redis-addr", "127.0.0.1:0",
		"--memcached-addr", "127.0.0.1:0", "--amqp-addr", "127.0.0.1:0", "--dir", dir}, options...)...)
	c := goRedis(t, p.Addrs["redis"])
	waitLoaded(t, c, p)
	return p, c
}

func goRedis(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1, PoolSize: 32,
		DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// waitLoaded waits until the server answers PING (not -LOADING).
func waitLoaded(t *testing.T, c *redis.Client, p *Proc) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v\nlog:\n%s", err, p.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill9 sends SIGKILL to the ferry process and waits for it to die.
func kill9(t *testing.T, p *Proc) {
	t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.Cmd.Wait()
}

// writerLog records one client's writes: sent is the last sequence number
// sent, and ackAt[i-1] when write i was acknowledged.
type writerLog struct {
	sent  atomic.Int64
	mu    sync.Mutex
	ackAt []time.Time
}

func (w *writerLog) acked() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int64(len(w.ackAt))
}

// loadWriters runs n go-redis clients, each writing sequence numbers 1, 2,
// … to its own keys (a list, one string per write, and a hash field),
// until the server goes away. Every write is one command so it is
// acknowledged alone.
func loadWriters(c *redis.Client, n int) ([]*writerLog, *sync.WaitGroup) {
	logs := make([]*writerLog, n)
	var wg sync.WaitGroup
	ctx := context.Background()
	for g := 0; g < n; g++ {
		logs[g] = &writerLog{}
		wg.Add(1)
		go func(g int, w *writerLog) {
			defer wg.Done()
			for i := int64(1); ; i++ {
				w.sent.Store(i)
				var err error
				switch i % 3 {
				case 0:
					err = c.RPush(ctx, fmt.Sprintf("list:%d", g), i).Err()
				case 1:
					err = c.Set(ctx, fmt.Sprintf("str:%d:%d", g, i), i, 0).Err()
				case 2:
					err = c.HSet(ctx, fmt.Sprintf("hash:%d", g), strconv.FormatInt(i, 10), i).Err()
				}
				if err != nil {
					return // the server was killed
				}
				w.mu.Lock()
				w.ackAt = append(w.ackAt, time.Now())
				w.mu.Unlock()
			}
		}(g, logs[g])
	}
	return logs, &wg
}

// present reports which of writer g's writes the dataset holds.
func present(t *testing.T, c *redis.Client, g int, upTo int64) []bool {
	t.Helper()
	ctx := context.Background()
	got := make([]bool, upTo+1)
	for _, v := range c.LRange(ctx, fmt.Sprintf("list:%d", g), 0, -1).Val() {
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil || i < 1 || i > upTo || i%3 != 0 || got[i] {
			t.Errorf("writer %d: list holds %q, never sent as such (sent up to %d)", g, v, upTo)
			continue
		}
		got[i] = true
	}
	for f, v := range c.HGetAll(ctx, fmt.Sprintf("hash:%d", g)).Val() {
		i, err := strconv.ParseInt(f, 10, 64)
		if err != nil || i < 1 || i > upTo || i%3 != 2 || v != f {
			t.Errorf("writer %d: hash holds %q=%q, never sent (sent up to %d)", g, f, v, upTo)
			continue
		}
		got[i] = true
	}
	var keys []string
	for i := int64(1); i <= upTo; i += 3 {
		keys = append(keys, fmt.Sprintf("str:%d:%d", g, i))
	}
	if len(keys) > 0 {
		vals := c.MGet(ctx, keys...).Val()
		for k, v := range vals {
			i := int64(1 + 3*k)
			if v != nil {
				if v != strconv.FormatInt(i, 10) {
					t.Errorf("writer %d: str %d holds %v", g, i, v)
				}
				got[i] = true
			}
		}
	}
	// Nothing past what was sent.
	var cursor uint64
	for {
		ks, next, err := c.Scan(ctx, cursor, fmt.Sprintf("str:%d:*", g), 1000).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ks {
			i, _ := strconv.ParseInt(k[strings.LastIndexByte(k, ':')+1:], 10, 64)
			if i > upTo {
				t.Errorf("writer %d: %s exists but was never sent (sent up to %d)", g, k, upTo)
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	return got
}

// TestKill9Always: with appendfsync always, every write acknowledged before
// SIGKILL is there after a restart, in order, and nothing never sent.
func TestKill9Always(t *testing.T) {
	dir := t.TempDir()
	p, c := ferryRedis(t, dir, "--appendonly", "yes", "--appendfsync", "always")
	const writers = 8
	logs, wg := loadWriters(c, writers)
	time.Sleep(2 * time.Second)
	kill9(t, p)
	wg.Wait()
	c.Close()
	total := int64(0)
	for _, w := range logs {
		total += w.acked()
	}
	if total < 100 {
		t.Fatalf("only %d writes acknowledged before the kill", total)
	}
	p2, c2 := ferryRedis(t, dir, "--appendonly", "yes", "--appendfsync", "always")
	missing := 0
	for g, w := range logs {
		acked, sent := w.acked(), w.sent.Load()
		got := present(t, c2, g, sent)
		for i := int64(1); i <= acked; i++ {
			if !got[i] {
				missing++
				if missing <= 10 {
					t.Errorf("writer %d: acknowledged write %d lost (acknowledged up to %d)", g, i, acked)
				}
			}
		}
		// At most the writes in flight (sent, not acknowledged) may be
		// there beyond the acknowledged ones.
		for i := acked + 2; i <= sent; i++ {
			if got[i] {
				t.Errorf("writer %d: write %d present, but only %d were acknowledged and %d sent", g, i, acked, sent)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d acknowledged writes lost\nlog:\n%s", missing, p2.Log())
	}
	t.Logf("%d acknowledged writes by %d clients, all present after kill -9", total, writers)
}

// TestKill9Everysec: with appendfsync everysec, writes acknowledged in the
// last ~2 seconds at most may be lost. SIGKILL loses only what the process
// had not yet written to the kernel; the test measures it.
func TestKill9Everysec(t *testing.T) {
	dir := t.TempDir()
	p, c := ferryRedis(t, dir, "--appendonly", "yes", "--appendfsync", "everysec")
	const writers = 8
	logs, wg := loadWriters(c, writers)
	time.Sleep(3 * time.Second)
	killedAt := time.Now()
	kill9(t, p)
	wg.Wait()
	c.Close()
	_, c2 := ferryRedis(t, dir, "--appendonly", "yes", "--appendfsync", "everysec")
	var worst time.Duration
	var lostWrites, total int64
	for g, w := range logs {
		acked := w.acked()
		total += acked
		got := present(t, c2, g, w.sent.Load())
		// The earliest acknowledged write that is missing: everything
		// acknowledged after it counts as lost time.
		for i := int64(1); i <= acked; i++ {
			if !got[i] {
				lostWrites += acked - i + 1
				w.mu.Lock()
				if d := killedAt.Sub(w.ackAt[i-1]); d > worst {
					worst = d
				}
				w.mu.Unlock()
				break
			}
		}
	}
	t.Logf("everysec, kill -9 after %d acknowledged writes: %d lost, spanning %v before the kill", total, lostWrites, worst)
	if worst > 2*time.Second+500*time.Millisecond {
		t.Fatalf("lost %v of acknowledged writes, more than ~2 s", worst)
	}
}

// mcGetAll sends "get keys…" and returns the reply lines up to END,
// joined with "|".
func mcGetAll(m *mcConn, keys string) string {
	m.t.Helper()
	m.send("get " + keys + "\r\n")
	var lines []string
	for {
		l := m.line()
		lines = append(lines, l)
		if l == "END" || strings.Contains(l, "ERROR") {
			return strings.Join(lines, "|")
		}
	}
}

// TestMemcachedItemsSurviveRestart: items set through the memcached port
// of `ferry` (both front ends, its default persistence) keep their value,
// flags and absolute expiry across a restart and a kill -9; time runs on
// while the server is down.
func TestMemcachedItemsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	p, _ := ferryAll(t, dir)
	mc := dialMC(t, p.Addrs["memcached"])
	// "short" has 10 s: enough for two starts on a busy machine, short
	// enough that the 1.5 s down show in its TTL.
	setAt := time.Now()
	mc.do("set plain 0 0 5\r\nhello\r\nset flagged 3735928559 0 3\r\nabc\r\nset long 42 600 4\r\nlong\r\nset short 7 10 5\r\nshort\r\nset gone 1 1 4\r\ngone\r\n",
		"STORED", "STORED", "STORED", "STORED", "STORED")
	p.Stop(t) // graceful
	time.Sleep(1500 * time.Millisecond)
	p2, c2 := ferryAll(t, dir)
	mc2 := dialMC(t, p2.Addrs["memcached"])
	want := map[string]string{
		"plain":   "VALUE plain 0 5|hello",
		"flagged": "VALUE flagged 3735928559 3|abc",
		"long":    "VALUE long 42 4|long",
		"short":   "VALUE short 7 5|short",
	}
	for k, w := range want {
		if got := mcGetAll(mc2, k); got != w+"|END" {
			t.Errorf("get %s after restart: %q, want %q", k, got, w)
		}
	}
	if got := mcGetAll(mc2, "gone"); got != "END" {
		t.Errorf("an item that expired while the server was down is back: %v", got)
	}
	// Absolute expiry: "short" had 10 s, of which at least the 1.5 s
	// down (and everything else since the set) passed.
	ttl := c2.PTTL(context.Background(), "short").Val()
	if maxTTL := 10*time.Second - time.Since(setAt) + 200*time.Millisecond; ttl <= 0 || ttl > maxTTL || ttl > 8700*time.Millisecond {
		t.Errorf("TTL of short after 1.5 s down: %v, want at most %v", ttl, maxTTL)
	}
	mc2.send("mg long t f v\r\n")
	if got := mc2.line(); !regexp.MustCompile(`^VA 4 t(59\d|600) f42$`).MatchString(got) {
		t.Errorf("mg long after restart: %q", got)
	}
	mc2.expect("long")
	// kill -9 this time: the AOF (everysec) has the items.
	mc2.do("set after 5 0 1\r\nx\r\nset brief 2 2 1\r\ny\r\n", "STORED", "STORED")
	time.Sleep(1200 * time.Millisecond) // one everysec fsync
	kill9(t, p2)
	time.Sleep(2 * time.Second) // "brief" expires while down
	p3, _ := ferryAll(t, dir)
	mc3 := dialMC(t, p3.Addrs["memcached"])
	if got := mcGetAll(mc3, "after flagged"); got != "VALUE after 5 1|x|VALUE flagged 3735928559 3|abc|END" {
		t.Errorf("after kill -9: %q", got)
	}
	if got := mcGetAll(mc3, "brief"); got != "END" {
		t.Errorf("brief outlived its TTL across a kill -9: %v", got)
	}
}

// runFerry runs the binary to completion (it is expected to fail) and
// returns its exit code and output.
func runFerry(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ferryBin, args...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("running ferry: %v\n%s", err, out)
	}
	return 0, string(out)
}

// incrFile returns the path of the last incremental AOF file in dir.
func incrFile(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*.incr.aof"))
	if len(files) == 0 {
		t.Fatal("no incremental AOF file")
	}
	sort.Strings(files)
	return files[len(files)-1]
}

// TestTornAOFRecord: half a command at the end of the incremental file (a
// crash mid-write) is cut with a warning under aof-load-truncated yes; with
// no, Ferry refuses to start and says why.
func TestTornAOFRecord(t *testing.T) {
	dir := t.TempDir()
	p, c := ferryRedis(t, dir, "--appendonly", "yes")
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		c.Set(ctx, fmt.Sprint("k", i), i, 0)
	}
	p.Stop(t)
	f, err := os.OpenFile(incrFile(t, dir), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("*3\r\n$3\r\nSET\r\n$4\r\ntorn\r\n$5\r\nval")
	f.Close()

	code, out := runFerry(t, "redis-server", "--port", "0", "--dir", dir, "--appendonly", "yes", "--aof-load-truncated", "no")
	if code == 0 {
		t.Fatalf("started with a torn AOF and aof-load-truncated no:\n%s", out)
	}
	for _, want := range []string{filepath.Base(incrFile(t, dir)), "unexpected end of file", "aof-load-truncated"} {
		if !strings.Contains(out, want) {
			t.Errorf("refusal does not mention %q:\n%s", want, out)
		}
	}

	p2, c2 := ferryRedis(t, dir, "--appendonly", "yes", "--aof-load-truncated", "yes")
	if n := c2.DBSize(ctx).Val(); n != 10 {
		t.Errorf("%d keys after loading the truncated AOF, want 10", n)
	}
	if !regexp.MustCompile(`level=WARN .*truncated`).MatchString(p2.Log()) {
		t.Errorf("no warning about the torn tail:\n%s", p2.Log())
	}
	// The tail was cut: appends continue on a well-formed file.
	c2.Set(ctx, "after", "1", 0)
	p2.Stop(t)
	_, c3 := ferryRedis(t, dir, "--appendonly", "yes", "--aof-load-truncated", "no")
	if n := c3.DBSize(ctx).Val(); n != 11 {
		t.Errorf("%d keys after restart, want 11", n)
	}
}

// TestCorruptSnapshot: a damaged dump.rdb stops Ferry from starting; the
// message names the file and the offset; the file is left as it was.
func TestCorruptSnapshot(t *testing.T) {
	dir := t.TempDir()
	p, c := ferryRedis(t, dir, "--appendonly", "no", "--save", "")
	ctx := context.Background()
	for i := 0; i < 200; i++ {
		c.Set(ctx, fmt.Sprint("key:", i), strings.Repeat("v", i), 0)
	}
	c.RPush(ctx, "list", "a", "b", "c")
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	p.Stop(t)
	path := filepath.Join(dir, "dump.rdb")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		damage func([]byte) []byte
		want   string
	}{
		{"flipped byte", func(b []byte) []byte { b[len(b)/2] ^= 0x55; return b }, "offset "},
		{"truncated", func(b []byte) []byte { return b[:len(b)*2/3] }, "offset "},
		{"bad type", func(b []byte) []byte {
			i := bytes.Index(b, []byte("key:199"))
			b[i-2] = 0x42 // the type byte before the key's length
			return b
		}, "offset "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := tt.damage(append([]byte(nil), orig...))
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			st, _ := os.Stat(path)
			sum := sha256.Sum256(bad)
			code, out := runFerry(t, "redis-server", "--port", "0", "--dir", dir, "--appendonly", "no")
			if code == 0 {
				t.Fatalf("started with a corrupt dump.rdb:\n%s", out)
			}
			if !strings.Contains(out, path) || !regexp.MustCompile(tt.want+`\d+`).MatchString(out) {
				t.Errorf("the refusal should name %s and the offset:\n%s", path, out)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			st2, _ := os.Stat(path)
			if sha256.Sum256(after) != sum || !st2.ModTime().Equal(st.ModTime()) {
				t.Errorf("the corrupt file was modified")
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("the data directory changed: %v", names)
			}
		})
	}
}

// TestDiskFull: when the AOF's disk fills, write commands get Redis's
// -MISCONF reply and memcached writes a SERVER_ERROR; reads keep working;
// when space comes back writes resume, and a restart has everything that
// was acknowledged. The disk is a 512 KB tmpfs (root only).
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	os.Mkdir(dir, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	p, c := ferryAll(t, dir, "--appendfsync", "everysec", "--save", "")
	ctx := context.Background()
	mc := dialMC(t, p.Addrs["memcached"])
	mc.do("set mcbefore 9 0 3\r\nabc\r\n", "STORED")
	acked := map[string]string{"mcbefore": "abc"}
	for i := 0; i < 20; i++ {
		k, v := fmt.Sprint("before:", i), strings.Repeat("x", 1000)
		if err := c.Set(ctx, k, v, 0).Err(); err != nil {
			t.Fatal(err)
		}
		acked[k] = v
	}
	// Fill the disk.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 1<<20)) // fails when full: that is the point
	f.Close()
	// Writes until one is refused (the first ones may still fit).
	const misconf = "MISCONF Errors writing to the AOF file: No space left on device"
	var refused bool
	for i := 0; i < 200 && !refused; i++ {
		k, v := fmt.Sprint("during:", i), strings.Repeat("y", 2000)
		err := c.Set(ctx, k, v, 0).Err()
		switch {
		case err == nil:
			acked[k] = v
		case err.Error() == misconf:
			refused = true
		default:
			t.Fatalf("SET on a full disk: %q, want %q", err, misconf)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !refused {
		t.Fatal("writes were never refused on a full disk")
	}
	if err := c.Set(ctx, "refused", "v", 0).Err(); err == nil || err.Error() != misconf {
		t.Errorf("SET while full: %v", err)
	}
	if err := c.Del(ctx, "before:1").Err(); err == nil || err.Error() != misconf {
		t.Errorf("DEL while full: %v", err)
	}
	mc.do("set mcduring 0 0 1\r\nv\r\n", "SERVER_ERROR "+misconf)
	// Reads work.
	if v, err := c.Get(ctx, "before:3").Result(); err != nil || v != acked["before:3"] {
		t.Errorf("GET while full: %v", err)
	}
	if got := mcGetAll(mc, "mcbefore"); got != "VALUE mcbefore 9 3|abc|END" {
		t.Errorf("memcached get while full: %q", got)
	}
	if v := infoPersistence(t, c, "aof_last_write_status"); v != "err" {
		t.Errorf("aof_last_write_status:%s while full", v)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(p.Log(), "Error writing to the AOF file: No space left on device"); {
		if time.Now().After(deadline) {
			t.Errorf("the log does not report the write error:\n%s", p.Log())
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Space comes back: writes resume.
	os.Remove(filler)
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := c.Set(ctx, "after", "1", 0).Err()
		if err == nil {
			acked["after"] = "1"
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still refused after the disk recovered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mc.do("set mcafter 4 0 2\r\nok\r\n", "STORED")
	acked["mcafter"] = "ok"
	if v := infoPersistence(t, c, "aof_last_write_status"); v != "ok" {
		t.Errorf("aof_last_write_status:%s after recovery", v)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(p.Log(), "AOF write error looks solved"); {
		if time.Now().After(deadline) {
			t.Errorf("the log does not report the recovery:\n%s", p.Log())
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Stop(t)
	_, c2 := ferryAll(t, dir, "--appendfsync", "everysec", "--save", "")
	for k, v := range acked {
		if got, err := c2.Get(ctx, k).Result(); err != nil || got != v {
			t.Errorf("%s after restart: %v (%d bytes, want %d)", k, err, len(got), len(v))
		}
	}
	if n := c2.Exists(ctx, "refused").Val(); n != 0 {
		t.Errorf("a refused write is present after restart")
	}
}

func infoPersistence(t *testing.T, c *redis.Client, field string) string {
	t.Helper()
	s := c.Info(context.Background(), "persistence").Val()
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			return v
		}
	}
	t.Fatalf("no %s in INFO persistence:\n%s", field, s)
	return ""
}
