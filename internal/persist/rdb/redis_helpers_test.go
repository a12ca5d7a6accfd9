package rdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests below run the real redis-server and redis-check-rdb. They fail
// (not skip) when the binaries are missing: the test script installs them.

const (
	redisServerBin = "/usr/bin/redis-server"
	redisCheckBin  = "/usr/bin/redis-check-rdb"
)

func needBinary(t testing.TB, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return path
	}
	base := filepath.Base(path)
	if p, err := exec.LookPath(base); err == nil {
		return p
	}
	t.Fatalf("%s is required for this test (install redis-server 7.0)", base)
	return ""
}

// redisServer is a redis-server child process on a free local port.
type redisServer struct {
	t    testing.TB
	cmd  *exec.Cmd
	port int
	dir  string
	out  *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis starts redis-server with dir as its working directory (and the
// place of dump.rdb, which it loads if present). It is stopped, by its own
// PID, when the test ends.
func startRedis(t testing.TB, dir string, extra ...string) *redisServer {
	t.Helper()
	bin := needBinary(t, redisServerBin)
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := freePort(t)
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--enable-debug-command", "yes", "--logfile", "", "--daemonize", "no"}
		args = append(args, extra...)
		s := &redisServer{t: t, port: port, dir: dir, out: &lockedBuffer{}, done: make(chan struct{})}
		s.cmd = exec.Command(bin, args...)
		s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		go func() { s.cmd.Wait(); close(s.done) }()
		if err := s.waitReady(); err != nil {
			s.stop()
			lastErr = fmt.Errorf("%v\n%s", err, s.out.String())
			if strings.Contains(s.out.String(), "Address already in use") {
				continue
			}
			t.Fatalf("redis-server did not start: %v", lastErr)
		}
		t.Cleanup(s.stop)
		return s
	}
	t.Fatalf("redis-server did not start: %v", lastErr)
	return nil
}

func (s *redisServer) waitReady() error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("redis-server exited")
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second)
		if err == nil {
			rc := &respConn{c: c, r: bufio.NewReader(c)}
			reply, err := rc.do("PING")
			c.Close()
			if err == nil && reply == "PONG" {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("timeout waiting for redis-server")
}

func (s *redisServer) stop() {
	if s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill() // this child only, by its PID
	<-s.done
}

func (s *redisServer) conn() *respConn {
	s.t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 5*time.Second)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close() })
	return &respConn{t: s.t, c: c, r: bufio.NewReaderSize(c, 1<<16)}
}

// respConn is a minimal RESP2 client: commands as arrays of bulk strings,
// replies as string (status), []byte (bulk), int64, nil, []any or respError.
type respConn struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

type respError string

func (e respError) Error() string { return string(e) }

func (rc *respConn) send(args ...any) error {
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, "\r\n"...)
	for _, a := range args {
		var s []byte
		switch a := a.(type) {
		case string:
			s = []byte(a)
		case []byte:
			s = a
		case int:
			s = strconv.AppendInt(nil, int64(a), 10)
		case int64:
			s = strconv.AppendInt(nil, a, 10)
		case uint64:
			s = strconv.AppendUint(nil, a, 10)
		case float64:
			s = strconv.AppendFloat(nil, a, 'g', -1, 64)
		default:
			panic(fmt.Sprintf("respConn: argument of type %T", a))
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, "\r\n"...)
		b = append(b, s...)
		b = append(b, "\r\n"...)
	}
	rc.c.SetDeadline(time.Now().Add(60 * time.Second))
	_, err := rc.c.Write(b)
	return err
}

func (rc *respConn) read() (any, error) {
	line, err := rc.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("bad reply line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return respError(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(rc.r, buf); err != nil {
			return nil, err
		}
		return buf[:n], nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = rc.read(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("bad reply type %q", line)
}

func (rc *respConn) do(args ...any) (any, error) {
	if err := rc.send(args...); err != nil {
		return nil, err
	}
	return rc.read()
}

// must runs a command and fails the test on an I/O or server error.
func (rc *respConn) must(args ...any) any {
	rc.t.Helper()
	v, err := rc.do(args...)
	if err != nil {
		rc.t.Fatalf("%v: %v", args, err)
	}
	if e, ok := v.(respError); ok {
		rc.t.Fatalf("%v: %s", args, e)
	}
	return v
}

func (rc *respConn) str(args ...any) string {
	rc.t.Helper()
	switch v := rc.must(args...).(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case nil:
		return ""
	default:
		rc.t.Fatalf("%v: unexpected reply %#v", args, v)
	}
	return ""
}

func (rc *respConn) int(args ...any) int64 {
	rc.t.Helper()
	v, ok := rc.must(args...).(int64)
	if !ok {
		rc.t.Fatalf("%v: not an integer reply", args)
	}
	return v
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func replyArray(t testing.TB, v any) []any {
	t.Helper()
	if v == nil {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("expected an array reply, got %#v", v)
	}
	return a
}

func replyBytes(v any) []byte {
	switch v := v.(type) {
	case []byte:
		return v
	case string:
		return []byte(v)
	case int64:
		return strconv.AppendInt(nil, v, 10)
	}
	return nil
}

// replyMap turns a flat RESP2 key/value array into a map.
func replyMap(t testing.TB, v any) map[string]any {
	t.Helper()
	a := replyArray(t, v)
	m := make(map[string]any, len(a)/2)
	for i := 0; i+1 < len(a); i += 2 {
		m[string(replyBytes(a[i]))] = a[i+1]
	}
	return m
}

func parseStreamID(t testing.TB, v any) StreamID {
	t.Helper()
	s := string(replyBytes(v))
	ms, seq, ok := strings.Cut(s, "-")
	a, err1 := strconv.ParseUint(ms, 10, 64)
	b, err2 := strconv.ParseUint(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("bad stream id %q", s)
	}
	return StreamID{a, b}
}

func replyInt(t testing.TB, v any) int64 {
	t.Helper()
	switch v := v.(type) {
	case int64:
		return v
	case nil:
		return -1
	}
	n, err := strconv.ParseInt(string(replyBytes(v)), 10, 64)
	if err != nil {
		t.Fatalf("not an integer: %#v", v)
	}
	return n
}

// fetchValue reads key (in the connection's current database) back from the
// server as a Value, through the ordinary read commands.
func fetchValue(t testing.TB, rc *respConn, key []byte) Value {
	t.Helper()
	typ := rc.str("TYPE", key)
	switch typ {
	case "string":
		return String(replyBytes(rc.must("GET", key)))
	case "list":
		var l List
		for _, e := range replyArray(t, rc.must("LRANGE", key, 0, -1)) {
			l = append(l, replyBytes(e))
		}
		return l
	case "set":
		var s Set
		for _, e := range replyArray(t, rc.must("SMEMBERS", key)) {
			s = append(s, replyBytes(e))
		}
		return s
	case "zset":
		var z ZSet
		a := replyArray(t, rc.must("ZRANGE", key, 0, -1, "WITHSCORES"))
		for i := 0; i+1 < len(a); i += 2 {
			f, err := strconv.ParseFloat(string(replyBytes(a[i+1])), 64)
			if err != nil {
				t.Fatalf("score %q: %v", a[i+1], err)
			}
			z = append(z, ZMember{Member: replyBytes(a[i]), Score: f})
		}
		return z
	case "hash":
		var h Hash
		a := replyArray(t, rc.must("HGETALL", key))
		for i := 0; i+1 < len(a); i += 2 {
			h = append(h, FieldValue{Field: replyBytes(a[i]), Value: replyBytes(a[i+1])})
		}
		return h
	case "stream":
		return fetchStream(t, rc, key)
	}
	t.Fatalf("key %q: type %q", key, typ)
	return nil
}

// fetchStream rebuilds a stream from XINFO STREAM FULL (Redis 7.0 layout).
func fetchStream(t testing.TB, rc *respConn, key []byte) *Stream {
	info := replyMap(t, rc.must("XINFO", "STREAM", key, "FULL", "COUNT", 0))
	s := &Stream{
		LastID:       parseStreamID(t, info["last-generated-id"]),
		MaxDeletedID: parseStreamID(t, info["max-deleted-entry-id"]),
		EntriesAdded: uint64(replyInt(t, info["entries-added"])),
		FirstID:      parseStreamID(t, info["recorded-first-entry-id"]),
	}
	for _, e := range replyArray(t, info["entries"]) {
		ea := replyArray(t, e)
		en := StreamEntry{ID: parseStreamID(t, ea[0])}
		fv := replyArray(t, ea[1])
		for i := 0; i+1 < len(fv); i += 2 {
			en.Fields = append(en.Fields, FieldValue{Field: replyBytes(fv[i]), Value: replyBytes(fv[i+1])})
		}
		s.Entries = append(s.Entries, en)
	}
	for _, gv := range replyArray(t, info["groups"]) {
		gm := replyMap(t, gv)
		g := StreamGroup{
			Name:        replyBytes(gm["name"]),
			LastID:      parseStreamID(t, gm["last-delivered-id"]),
			EntriesRead: replyInt(t, gm["entries-read"]),
		}
		for _, pv := range replyArray(t, gm["pending"]) {
			p := replyArray(t, pv)
			g.Pending = append(g.Pending, StreamPending{
				ID: parseStreamID(t, p[0]), DeliveryTime: replyInt(t, p[2]), DeliveryCount: uint64(replyInt(t, p[3])),
			})
		}
		for _, cv := range replyArray(t, gm["consumers"]) {
			cm := replyMap(t, cv)
			c := StreamConsumer{Name: replyBytes(cm["name"]), SeenTime: replyInt(t, cm["seen-time"])}
			c.ActiveTime = c.SeenTime
			if at, ok := cm["active-time"]; ok {
				c.ActiveTime = replyInt(t, at)
			}
			for _, pv := range replyArray(t, cm["pending"]) {
				c.Pending = append(c.Pending, parseStreamID(t, replyArray(t, pv)[0]))
			}
			g.Consumers = append(g.Consumers, c)
		}
		s.Groups = append(s.Groups, g)
	}
	return s
}

// redisEncodingToRDB maps OBJECT ENCODING (Redis 7.0) to the RDB type SAVE
// writes for it.
func redisEncodingToRDB(typ, enc string) Encoding {
	switch typ + "/" + enc {
	case "string/int", "string/embstr", "string/raw":
		return EncString
	case "list/quicklist", "list/listpack":
		return EncListQuicklist2
	case "set/intset":
		return EncSetIntset
	case "set/hashtable":
		return EncSet
	case "set/listpack":
		return EncSetListpack
	case "zset/listpack":
		return EncZSetListpack
	case "zset/skiplist":
		return EncZSet2
	case "hash/listpack":
		return EncHashListpack
	case "hash/hashtable":
		return EncHash
	case "stream/stream":
		return EncStreamListpacks2
	}
	return 255
}

// runCheckRDB runs redis-check-rdb on path and fails unless it reports the
// file as OK.
func runCheckRDB(t testing.TB, path string) string {
	t.Helper()
	bin := needBinary(t, redisCheckBin)
	out, err := exec.Command(bin, path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "RDB looks OK") {
		t.Fatalf("redis-check-rdb %s: %v\n%s", path, err, out)
	}
	return string(out)
}
