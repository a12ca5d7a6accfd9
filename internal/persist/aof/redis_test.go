package aof

// Compatibility with the real redis-server 7.0: directories it writes load
// in Ferry, directories Ferry writes load in it, and torn tails are cut at
// the same offsets. These tests need redis-server and fail without it.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func redisServerPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	const p = "/usr/bin/redis-server"
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("redis-server 7.0 is required for the compatibility tests (apt-get install redis-server): %v", err)
	}
	return p
}

type redisProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	conn net.Conn
	r    *bufio.Reader
	log  string
	exit chan error
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis starts redis-server with appendonly yes on dir. It returns an
// error (with the server's log) if the server exits instead of serving.
func startRedis(t *testing.T, dir string, args ...string) (*redisProc, error) {
	t.Helper()
	bin := redisServerPath(t)
	port := freePort(t)
	logf := filepath.Join(t.TempDir(), "redis.log")
	all := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--save", "", "--logfile", logf, "--daemonize", "no"}, args...)
	cmd := exec.Command(bin, all...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &redisProc{t: t, cmd: cmd, log: logf, exit: make(chan error, 1)}
	go func() { p.exit <- cmd.Wait() }()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-p.exit:
			p.exit <- err
			logText, _ := os.ReadFile(logf)
			return nil, fmt.Errorf("redis-server exited (%v): %s", err, logText)
		default:
		}
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			p.conn, p.r = c, bufio.NewReader(c)
			// Make sure we talk to the process we started, not another
			// server that took the port meanwhile.
			info, err := p.try("INFO", "server")
			if err == nil {
				if s, _ := info.(string); !strings.Contains(s, fmt.Sprintf("process_id:%d\r", cmd.Process.Pid)) {
					c.Close()
					p.kill()
					t.Fatalf("port %d answered by another process", port)
				}
				if s, _ := p.try("PING"); s == "PONG" {
					return p, nil
				}
			}
			c.Close() // still loading, or exiting: look again
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustStartRedis(t *testing.T, dir string, args ...string) *redisProc {
	t.Helper()
	p, err := startRedis(t, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// do sends a command and returns the reply: string, int64, error, nil or
// []any. A reply that is still loading (-LOADING) is retried.
func (p *redisProc) do(args ...string) any {
	p.t.Helper()
	v, err := p.try(args...)
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

func (p *redisProc) try(args ...string) (any, error) {
	var b []byte
	b = AppendCommand(b, toArgs(args...)...)
	for {
		p.conn.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := p.conn.Write(b); err != nil {
			return nil, err
		}
		v, err := readReply(p.r)
		if err != nil {
			return nil, err
		}
		if e, ok := v.(error); ok && strings.HasPrefix(e.Error(), "LOADING") {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		return v, nil
	}
}

func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return errors.New(line[1:]), nil
	case ':':
		n, _ := strconv.ParseInt(line[1:], 10, 64)
		return n, nil
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("bad reply %q", line)
}

// stop shuts the server down with SIGTERM (it flushes and fsyncs its AOF)
// and waits for it.
func (p *redisProc) stop() {
	p.t.Helper()
	p.conn.Close()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exit:
		p.exit <- err
	case <-time.After(20 * time.Second):
		p.t.Fatal("redis-server did not stop")
	}
}

// kill ends the process we started (by its PID only), if still running.
func (p *redisProc) kill() {
	select {
	case err := <-p.exit:
		p.exit <- err
	default:
		p.cmd.Process.Kill()
		p.exit <- <-p.exit
	}
}

func (p *redisProc) waitRewrite() {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s, _ := p.do("INFO", "persistence").(string)
		if strings.Contains(s, "aof_rewrite_in_progress:0") && strings.Contains(s, "aof_rewrite_scheduled:0") {
			if !strings.Contains(s, "aof_last_bgrewrite_status:ok") {
				p.t.Fatalf("rewrite failed: %s", s)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatal("rewrite did not finish")
}

// rmodel is the little keyspace both sides are compared on.
type rmodel map[int]map[string]any

func (m rmodel) apply(db int, args [][]byte) error {
	d := m[db]
	if d == nil {
		d = map[string]any{}
		m[db] = d
	}
	key := string(args[1])
	switch strings.ToLower(string(args[0])) {
	case "set": // SET k v [PXAT ms] …: expiry is not modelled
		d[key] = string(args[2])
	case "append":
		s, _ := d[key].(string)
		d[key] = s + string(args[2])
	case "incr":
		s, _ := d[key].(string)
		n, _ := strconv.Atoi(s)
		d[key] = strconv.Itoa(n + 1)
	case "rpush":
		l, _ := d[key].([]string)
		for _, a := range args[2:] {
			l = append(l, string(a))
		}
		d[key] = l
	case "del":
		for _, k := range args[1:] {
			delete(d, string(k))
		}
	case "pexpireat":
	default:
		return fmt.Errorf("model: unexpected command %q", args[0])
	}
	return nil
}

func (m rmodel) String() string {
	var lines []string
	for db, d := range m {
		for k, v := range d {
			lines = append(lines, fmt.Sprintf("db%d %q = %q", db, k, v))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// fromRedis reads the model's keys back from a running server.
func (m rmodel) fromRedis(p *redisProc) rmodel {
	out := rmodel{}
	for db, d := range m {
		p.do("SELECT", strconv.Itoa(db))
		for k, v := range d {
			if out[db] == nil {
				out[db] = map[string]any{}
			}
			switch v.(type) {
			case string:
				got, _ := p.do("GET", k).(string)
				out[db][k] = got
			case []string:
				var l []string
				items, _ := p.do("LRANGE", k, "0", "-1").([]any)
				for _, it := range items {
					l = append(l, it.(string))
				}
				out[db][k] = l
			}
		}
	}
	p.do("SELECT", "0")
	return out
}

// rdbSkip accepts a real RDB base: checks the magic and reads to its end
// (nothing follows a .base.rdb file).
func rdbSkip(name string, r *bufio.Reader) error {
	head := make([]byte, 9)
	if _, err := io.ReadFull(r, head); err != nil {
		return err
	}
	if !bytes.HasPrefix(head, []byte("REDIS00")) {
		return fmt.Errorf("not an RDB: %q", head)
	}
	_, err := io.Copy(io.Discard, r)
	return err
}

func loadModel2(t *testing.T, dir string, opts LoadOptions) (rmodel, *LoadResult) {
	t.Helper()
	m := rmodel{}
	opts.Apply = m.apply
	if opts.RDB == nil {
		opts.RDB = rdbSkip
	}
	res, err := Load(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, res
}

func readManifestRaw(t *testing.T, aofDir, fileName string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(aofDir, fileName+".manifest"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestRedisWritesFerryLoads: redis-server writes a multi-part AOF (RDB base,
// then after BGREWRITEAOF with aof-use-rdb-preamble no an AOF base); Load
// reproduces what the server holds, and the manifests it wrote parse and
// re-marshal byte for byte.
func TestRedisWritesFerryLoads(t *testing.T) {
	dir := t.TempDir()
	aofDir := filepath.Join(dir, DefaultDirName)
	p := mustStartRedis(t, dir)
	want := rmodel{}
	run := func(db int, args ...string) {
		if db >= 0 {
			p.do("SELECT", strconv.Itoa(db))
		}
		if e, ok := p.do(args...).(error); ok {
			t.Fatalf("%v: %v", args, e)
		}
	}
	run(0, "SET", "a", "1")
	run(3, "RPUSH", "l", "x", "y\r\nz", "")
	run(3, "SET", "e", "v", "EX", "100000")
	run(3, "INCR", "n")
	run(3, "INCR", "n")
	run(5, "MULTI")
	run(-1, "APPEND", "s", "tx1")
	run(-1, "SELECT", "6")
	run(-1, "SET", "b", "hello\r\n*1\r\n$4\r\nPING")
	run(-1, "EXEC")
	run(0, "APPEND", "a", "2")
	want[0] = map[string]any{"a": ""}
	want[3] = map[string]any{"l": []string{}, "e": "", "n": ""}
	want[5] = map[string]any{"s": ""}
	want[6] = map[string]any{"b": ""}
	want = want.fromRedis(p)
	p.stop()

	manifest := readManifestRaw(t, aofDir, DefaultFileName)
	if manifest != "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n" {
		t.Fatalf("redis wrote manifest %q", manifest)
	}
	if m, err := ParseManifest("m", []byte(manifest)); err != nil || string(m.Marshal()) != manifest {
		t.Fatalf("manifest round trip: %v", err)
	}
	got, res := loadModel2(t, dir, LoadOptions{})
	if got.String() != want.String() {
		t.Fatalf("Ferry loaded\n%s\nredis had\n%s", got, want)
	}
	if !res.Files[0].RDB || res.Files[0].Type != TypeBase || res.Commands == 0 {
		t.Fatalf("%+v", res.Files)
	}

	// Rewrite to an AOF base, write more, and load again.
	p = mustStartRedis(t, dir, "--aof-use-rdb-preamble", "no")
	if s, _ := p.do("BGREWRITEAOF").(string); !strings.Contains(s, "rewriting") {
		t.Fatalf("BGREWRITEAOF: %v", s)
	}
	p.waitRewrite()
	run(3, "RPUSH", "l", "after", "rewrite")
	run(0, "DEL", "a")
	run(0, "SET", "c", "new")
	delete(want[0], "a")
	want[0]["c"] = ""
	want = want.fromRedis(p)
	p.stop()
	manifest = readManifestRaw(t, aofDir, DefaultFileName)
	if manifest != "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n" {
		t.Fatalf("redis wrote manifest %q", manifest)
	}
	got, res = loadModel2(t, dir, LoadOptions{})
	if got.String() != want.String() {
		t.Fatalf("Ferry loaded\n%s\nredis had\n%s", got, want)
	}
	if res.Files[0].RDB || res.Files[0].Commands == 0 || res.Files[1].Commands != 3 {
		t.Fatalf("%+v", res.Files)
	}
}

// TestFerryWritesRedisLoads: a directory Ferry writes (base from a rewrite,
// incremental files, a transaction, names that need quoting) is loaded by
// redis-server; Redis then rewrites it and appends, and Ferry loads and
// appends again; Redis loads that too.
func TestFerryWritesRedisLoads(t *testing.T) {
	const fileName, dirName = `a b"x.aof`, "my dir"
	dir := t.TempDir()
	aofDir := filepath.Join(dir, dirName)
	opts := Options{DirName: dirName, FileName: fileName, Fsync: FsyncAlways}
	lopts := LoadOptions{DirName: dirName, FileName: fileName}
	w := mustOpen(t, dir, opts)
	want := rmodel{}
	add := func(db int, args ...string) {
		want.apply(db, toArgs(args...))
		w.Append(db, toArgs(args...))
	}
	add(0, "SET", "a", "1")
	add(2, "RPUSH", "l", "x", "y\r\nz")
	add(2, "INCR", "n")
	snap := rmodel{}
	for db, d := range want {
		snap[db] = map[string]any{}
		for k, v := range d {
			snap[db][k] = v
		}
	}
	rw, err := w.StartRewrite(BaseAOF)
	if err != nil {
		t.Fatal(err)
	}
	add(2, "APPEND", "n", "0") // after the cut: in the new incremental file
	rr := NewRewriter(rw)
	for db, d := range snap {
		for k, v := range d {
			switch v := v.(type) {
			case string:
				rr.Command(db, toArgs("SET", k, v)...)
			case []string:
				rr.Variadic(db, []byte("RPUSH"), []byte(k), toArgs(v...), 1)
			}
		}
	}
	if err := rr.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.FinishRewrite(rw); err != nil {
		t.Fatal(err)
	}
	batch := []Command{{7, toArgs("SET", "t1", "v1")}, {8, toArgs("RPUSH", "t2", "a", "b")}}
	for _, c := range batch {
		want.apply(c.DB, c.Args)
	}
	if err := w.WaitSynced(w.AppendBatch(batch, true)); err != nil {
		t.Fatal(err)
	}
	add(0, "APPEND", "a", "2")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	manifest := readManifestRaw(t, aofDir, fileName)
	if manifest != "file \"a b\\\"x.aof.1.base.aof\" seq 1 type b\nfile \"a b\\\"x.aof.2.incr.aof\" seq 2 type i\n" {
		t.Fatalf("Ferry wrote manifest %q", manifest)
	}

	rargs := []string{"--appendfilename", fileName, "--appenddirname", dirName, "--aof-use-rdb-preamble", "no"}
	p := mustStartRedis(t, dir, rargs...)
	if got := want.fromRedis(p); got.String() != want.String() {
		t.Fatalf("redis loaded\n%s\nFerry had\n%s", got, want)
	}
	// Redis rewrites Ferry's files and appends.
	p.do("BGREWRITEAOF")
	p.waitRewrite()
	p.do("SELECT", "2")
	p.do("RPUSH", "l", "from redis")
	want.apply(2, toArgs("RPUSH", "l", "from redis"))
	p.stop()
	if manifest := readManifestRaw(t, aofDir, fileName); manifest != "file \"a b\\\"x.aof.2.base.aof\" seq 2 type b\nfile \"a b\\\"x.aof.3.incr.aof\" seq 3 type i\n" {
		t.Fatalf("redis wrote manifest %q", manifest)
	}
	got, _ := loadModel2(t, dir, lopts)
	if got.String() != want.String() {
		t.Fatalf("Ferry loaded\n%s\nwant\n%s", got, want)
	}
	// Ferry appends to Redis's incremental file; Redis loads the result.
	w = mustOpen(t, dir, opts)
	add(0, "SET", "last", "word")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p = mustStartRedis(t, dir, rargs...)
	if got := want.fromRedis(p); got.String() != want.String() {
		t.Fatalf("redis loaded\n%s\nwant\n%s", got, want)
	}
	p.stop()
}

// TestRedisLegacyAndNoBase: Ferry's upgrade of an old-style appendonly.aof
// produces the manifest Redis's own upgrade writes, and Redis loads a
// Ferry directory whose manifest has no base file.
func TestRedisLegacyAndNoBase(t *testing.T) {
	old := cmds(rec{0, []string{"SET", "q", "w"}}, rec{4, []string{"SET", "r", "t"}})
	ferryDir, redisDir := t.TempDir(), t.TempDir()
	for _, d := range []string{ferryDir, redisDir} {
		if err := os.WriteFile(filepath.Join(d, DefaultFileName), old, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := mustStartRedis(t, redisDir)
	p.stop()
	loadModel2(t, ferryDir, LoadOptions{}) // upgrades, as Redis's start does
	w := mustOpen(t, ferryDir, Options{})
	w.Close()
	for _, name := range []string{"appendonly.aof.manifest", "appendonly.aof", "appendonly.aof.1.incr.aof"} {
		a, err1 := os.ReadFile(filepath.Join(ferryDir, DefaultDirName, name))
		b, err2 := os.ReadFile(filepath.Join(redisDir, DefaultDirName, name))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s differs: Ferry %q (%v), Redis %q (%v)", name, a, err1, b, err2)
		}
	}

	dir := t.TempDir()
	w = mustOpen(t, dir, Options{})
	w.Append(9, toArgs("SET", "only", "incr"))
	w.Close()
	if m := readManifestRaw(t, filepath.Join(dir, DefaultDirName), DefaultFileName); m != "file appendonly.aof.1.incr.aof seq 1 type i\n" {
		t.Fatalf("manifest %q", m)
	}
	p = mustStartRedis(t, dir)
	p.do("SELECT", "9")
	if v, _ := p.do("GET", "only").(string); v != "incr" {
		t.Fatalf("redis GET only = %q", v)
	}
	p.stop()
}

// TestRedisTruncationAgrees: torn and unterminated files are cut at the
// same offset by redis-server (aof-load-truncated yes) and by Load; with
// aof-load-truncated no, or with corruption, both refuse.
func TestRedisTruncationAgrees(t *testing.T) {
	good := cmds(rec{0, []string{"SET", "a", "1"}}, rec{2, []string{"RPUSH", "l", "x"}})
	tests := []struct {
		name string
		tail string
		ok   bool // loads (after a cut) with aof-load-truncated yes
	}{
		{"torn bulk", "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$5\r\nhel", true},
		{"torn header", "*3\r", true},
		{"torn before CRLF", "*2\r\n$3\r\nDEL\r\n$1\r\nb", true},
		{"unterminated MULTI", "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n", true},
		{"garbage", "+OK\r\n*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content := append(append([]byte(nil), good...), tt.tail...)
			dirs := [2]string{}
			for i := range dirs {
				dirs[i] = writeDir(t, incrOnly, map[string][]byte{"appendonly.aof.1.incr.aof": content})
			}
			incr := func(d string) string { return filepath.Join(d, DefaultDirName, "appendonly.aof.1.incr.aof") }

			p, rerr := startRedis(t, dirs[0], "--aof-load-truncated", "yes")
			_, ferr := Load(dirs[1], LoadOptions{LoadTruncated: true, Apply: rmodel{}.apply})
			if (rerr == nil) != tt.ok || (ferr == nil) != tt.ok {
				t.Fatalf("redis: %v\nFerry: %v", rerr, ferr)
			}
			if p != nil {
				p.stop()
			}
			a, _ := os.ReadFile(incr(dirs[0]))
			b, _ := os.ReadFile(incr(dirs[1]))
			if !bytes.Equal(a, b) {
				t.Fatalf("redis left %d bytes %q, Ferry %d bytes %q", len(a), a, len(b), b)
			}
			if tt.ok && len(a) != len(good) {
				t.Fatalf("cut at %d, want %d", len(a), len(good))
			}
			if !tt.ok {
				return
			}
			// aof-load-truncated no: both refuse the original file.
			for i := range dirs {
				os.WriteFile(incr(dirs[i]), content, 0o644)
			}
			if _, rerr := startRedis(t, dirs[0], "--aof-load-truncated", "no"); rerr == nil {
				t.Fatal("redis loaded a torn file with aof-load-truncated no")
			}
			if _, ferr := Load(dirs[1], LoadOptions{Apply: rmodel{}.apply}); !errors.Is(ferr, ErrTruncated) {
				t.Fatalf("Ferry: %v", ferr)
			}
		})
	}
}
