package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Redis tests hold Ferry to what redis-server 7.0 does, as seen through
// the clients users run: redis-py 4.3.4 (Debian's python3-redis) and
// redis-cli 7.0. Every expected reply here was checked against
// /usr/bin/redis-server; to check again, run
//
//	FERRY_E2E_REFERENCE=redis go test ./test/e2e/ -run Redis -count=1 -v
//
// which starts the real redis-server in place of ferry (see startRedis).
// go-redis is exercised elsewhere.

// The Python scripts run from their files (not with -c) so that a failed
// assert shows its source line in the traceback.
const (
	redisPyBasicScript = "testdata/redis_py_basic.py"
	redisPubSubScript  = "testdata/redis_pubsub.py"
)

// runScript is the -c program that runs the script file named by its first
// argument as __main__, passing it the remaining arguments.
const runScript = "import runpy, sys; sys.argv.pop(0); runpy.run_path(sys.argv[0], run_name='__main__')"

// pythonFile runs a script file from testdata with python's helper.
func pythonFile(t testing.TB, path string, args ...string) string {
	t.Helper()
	return python(t, runScript, append([]string{path}, args...)...)
}

// redisServer is a running Redis-speaking server under test.
type redisServer struct {
	Addr string
	Port string
	Pid  int
}

// isRedisReference reports whether the tests run against the real redis-server.
func isRedisReference() bool { return os.Getenv("FERRY_E2E_REFERENCE") == "redis" }

// startRedis starts `ferry redis-server --port 0 [options]` (redis-server's
// own options) and returns where it listens. With FERRY_E2E_REFERENCE=redis
// it starts /usr/bin/redis-server instead, to prove the tests' expectations.
func startRedis(t *testing.T, options ...string) *redisServer {
	t.Helper()
	if isRedisReference() {
		return startRealRedis(t, options...)
	}
	p := startFerry(t, []string{"redis"}, append([]string{"redis-server", "--port", "0"}, options...)...)
	addr := p.Addrs["redis"]
	_, port, _ := net.SplitHostPort(addr)
	return &redisServer{Addr: addr, Port: port, Pid: p.Cmd.Process.Pid}
}

// startRealRedis runs /usr/bin/redis-server on a free loopback port without
// persistence and stops it (that process only) when the test ends.
func startRealRedis(t *testing.T, options ...string) *redisServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir()}, options...)
	cmd := exec.Command(requireCommand(t, "redis-server"), args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return &redisServer{Addr: addr, Port: port, Pid: cmd.Process.Pid}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server %v did not listen: %s", args, out.String())
		}
	}
}

// respConn is a raw RESP2 connection.
type respConn struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

// respError is an error reply ("-ERR ...") without its leading '-'.
type respError string

// respStatus is a simple-string reply ("+OK") without its leading '+'.
type respStatus string

func dialRESP(t testing.TB, addr string) *respConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &respConn{t: t, c: c, r: bufio.NewReaderSize(c, 1<<16)}
}

// send writes s as is.
func (rc *respConn) send(s string) {
	rc.t.Helper()
	rc.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatalf("write %q: %v", abbrev(s), err)
	}
}

// command encodes args as a RESP array of bulk strings.
func command(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// do sends one command and returns its reply.
func (rc *respConn) do(args ...string) any {
	rc.t.Helper()
	rc.send(command(args...))
	return rc.reply()
}

// reply reads one reply: respStatus, respError, int64, string (bulk), nil
// (null bulk or array) or []any.
func (rc *respConn) reply() any {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(ioTimeout))
	v, err := readRESP(rc.r)
	if err != nil {
		rc.t.Fatalf("read reply: %v", err)
	}
	return v
}

func readRESP(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("%w (got %q)", err, line)
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("malformed reply line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return respStatus(body), nil
	case '-':
		return respError(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return nil, fmt.Errorf("bad bulk length in %q", line)
		}
		if n == -1 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if string(buf[n:]) != "\r\n" {
			return nil, fmt.Errorf("bulk of %d bytes not followed by CRLF", n)
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return nil, fmt.Errorf("bad array length in %q", line)
		}
		if n == -1 {
			return nil, nil
		}
		a := make([]any, n)
		for i := range a {
			if a[i], err = readRESP(r); err != nil {
				return nil, err
			}
		}
		return a, nil
	}
	return nil, fmt.Errorf("unknown reply type in %q", line)
}

// expect requires reply to equal want (compared in their %#v forms).
func expectReply(t testing.TB, what string, got, want any) {
	t.Helper()
	if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
		t.Fatalf("%s: got %#v, want %#v", what, got, want)
	}
}

// readUntilClosed reads until the server closes the connection and returns
// what it sent; it fails the test if the connection is still open after d.
func (rc *respConn) readUntilClosed(d time.Duration) string {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(rc.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		rc.t.Fatalf("connection still open after %v (read %q)", d, abbrev(string(b)))
	}
	return string(b)
}

// sectionResult is one "PASS name" / "FAIL name: ..." report of a script.
type sectionResult struct {
	pass   bool
	detail string
}

// runSections runs a sectioned Python script (see the docstrings of
// testdata/redis_*.py) and reports every section in want as a subtest.
func runSections(t *testing.T, script string, want []string, args ...string) {
	t.Helper()
	out := pythonFile(t, script, args...)
	results := map[string]*sectionResult{}
	var cur *sectionResult
	done := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "PASS "):
			cur = &sectionResult{pass: true}
			results[strings.TrimPrefix(l, "PASS ")] = cur
		case strings.HasPrefix(l, "FAIL "):
			name, msg, _ := strings.Cut(strings.TrimPrefix(l, "FAIL "), ": ")
			cur = &sectionResult{detail: msg + "\n"}
			results[name] = cur
		case strings.HasPrefix(l, "  | ") && cur != nil:
			cur.detail += l + "\n"
		case l == "DONE":
			done = true
		}
	}
	if !done {
		t.Fatalf("script did not finish with DONE; output:\n%s", out)
	}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			r := results[name]
			switch {
			case r == nil:
				t.Fatalf("script reported nothing for section %s; output:\n%s", name, out)
			case !r.pass:
				t.Fatalf("%s", r.detail)
			}
		})
	}
	if len(results) != len(want) {
		var ran []string
		for name := range results {
			ran = append(ran, name)
		}
		t.Errorf("script ran sections %q, the test expects %q", ran, want)
	}
}

// TestRedisPy drives the server with redis-py as its README and tutorials
// do; see testdata/redis_py_basic.py for what each section covers.
func TestRedisPy(t *testing.T) {
	srv := startRedis(t)
	runSections(t, redisPyBasicScript, []string{
		"strings", "pipeline", "transaction", "scan", "expire", "counters", "mset",
		"hashes", "lists", "sets", "zsets", "info", "config", "client", "command",
	}, srv.Port)
}

// lockedBuffer is a bytes.Buffer that a process may write while the test reads it.
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

// lineProc is a background process whose stdout is read line by line.
type lineProc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	lines  chan string
	stderr lockedBuffer
	exited chan struct{}
	err    error
	mu     sync.Mutex
	seen   []string
}

// startLines starts name with args; the process is killed when the test
// ends if it is still running.
func startLines(t testing.TB, name string, args ...string) *lineProc {
	t.Helper()
	p := &lineProc{t: t, name: name, lines: make(chan string, 1024), exited: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.seen = append(p.seen, sc.Text())
			p.mu.Unlock()
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// output returns every stdout line so far and stderr, for failure messages.
func (p *lineProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("stdout:\n%s\nstderr:\n%s", strings.Join(p.seen, "\n"), p.stderr.String())
}

// next returns the next stdout line, failing the test after d.
func (p *lineProc) next(d time.Duration) string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("%s ended early (%v); %s", p.name, p.err, p.output())
		}
		return l
	case <-time.After(d):
		p.t.Fatalf("%s: no line within %v; %s", p.name, d, p.output())
	}
	return ""
}

// expectLines requires the next stdout lines to be want.
func (p *lineProc) expectLines(d time.Duration, want ...string) {
	p.t.Helper()
	for i, w := range want {
		if got := p.next(d); got != w {
			p.t.Fatalf("%s: line %d: got %q, want %q; %s", p.name, i+1, got, w, p.output())
		}
	}
}

// wait waits for the process to end by itself and requires exit status 0
// and no further output.
func (p *lineProc) wait(d time.Duration) {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(d):
		p.t.Fatalf("%s still running after %v; %s", p.name, d, p.output())
	}
	if l, ok := <-p.lines; ok {
		p.t.Fatalf("%s: unexpected line %q; %s", p.name, l, p.output())
	}
	if p.err != nil {
		p.t.Fatalf("%s: %v; %s", p.name, p.err, p.output())
	}
}

// pyMsg is how redis_pubsub.py prints one message from listen().
func pyMsg(typ, pattern, channel string, data any) string {
	pat := "null"
	if pattern != "" {
		pat = strconv.Quote(pattern)
	}
	d := fmt.Sprint(data)
	if s, ok := data.(string); ok {
		d = strconv.Quote(s)
	}
	return fmt.Sprintf(`{"channel": %q, "data": %s, "pattern": %s, "type": %q}`, channel, d, pat, typ)
}

// TestRedisPubSub: redis-py subscribers and publishers as the tutorials
// write them, in separate processes where timing matters, and the
// subscribed-mode rules on a raw connection.
func TestRedisPubSub(t *testing.T) {
	srv := startRedis(t)

	t.Run("listen", func(t *testing.T) {
		c := dialRESP(t, srv.Addr)
		// Published before anyone subscribed: nobody gets it, ever.
		expectReply(t, "PUBLISH before subscribers", c.do("PUBLISH", "news.tech", "early"), int64(0))
		a := startLines(t, "/usr/bin/python3", redisPubSubScript, srv.Port, "subscribe", "news.tech", "weather")
		b := startLines(t, "/usr/bin/python3", redisPubSubScript, srv.Port, "psubscribe", "news.*")
		// The first thing listen() yields is the confirmation.
		a.expectLines(20*time.Second,
			pyMsg("subscribe", "", "news.tech", 1),
			pyMsg("subscribe", "", "weather", 2),
			"READY")
		b.expectLines(20*time.Second, pyMsg("psubscribe", "", "news.*", 1), "READY")

		// The publisher loop, in its own process.
		const nTech, nWeather, nSport = 50, 30, 20
		out := pythonFile(t, redisPubSubScript, srv.Port, "publish",
			fmt.Sprintf("news.tech:%d", nTech), fmt.Sprintf("weather:%d", nWeather), fmt.Sprintf("news.sport:%d", nSport))
		counts := func(n int, receivers string) string { return strings.TrimSpace(strings.Repeat(" "+receivers, n)) }
		wantOut := fmt.Sprintf("news.tech %s\nweather %s\nnews.sport %s\nBYE\n",
			counts(nTech, "2"), counts(nWeather, "1"), counts(nSport, "1"))
		if out != wantOut {
			t.Fatalf("publisher (receiver counts per PUBLISH):\ngot  %q\nwant %q", out, wantOut)
		}
		expectReply(t, "PUBLISH STOP", c.do("PUBLISH", "news.tech", "STOP"), int64(2))

		// Each subscriber sees exactly what was published after it
		// subscribed, on its channels, in publishing order.
		var wantA, wantB []string
		for i := 0; i < nTech; i++ {
			tech := fmt.Sprintf("news.tech-%d", i)
			wantA = append(wantA, pyMsg("message", "", "news.tech", tech))
			wantB = append(wantB, pyMsg("pmessage", "news.*", "news.tech", tech))
			if i < nWeather {
				wantA = append(wantA, pyMsg("message", "", "weather", fmt.Sprintf("weather-%d", i)))
			}
			if i < nSport {
				wantB = append(wantB, pyMsg("pmessage", "news.*", "news.sport", fmt.Sprintf("news.sport-%d", i)))
			}
		}
		wantA = append(wantA, pyMsg("message", "", "news.tech", "STOP"), "BYE")
		wantB = append(wantB, pyMsg("pmessage", "news.*", "news.tech", "STOP"), "BYE")
		a.expectLines(10*time.Second, wantA...)
		b.expectLines(10*time.Second, wantB...)
		a.wait(10 * time.Second)
		b.wait(10 * time.Second)
		// Both subscribers are gone: their subscriptions with them.
		waitFor(t, 5*time.Second, "subscriptions dropped after the subscribers closed", func() bool {
			return fmt.Sprint(c.do("PUBLISH", "news.tech", "late")) == "0"
		})
	})

	t.Run("redis-py", func(t *testing.T) {
		runSections(t, redisPubSubScript, []string{
			"several_channels", "psubscribe", "get_message_timeout", "run_in_thread",
			"introspection", "decode_responses",
		}, srv.Port, "sections")
	})

	t.Run("confirmation-means-subscribed", func(t *testing.T) {
		// Subscribers wait for the confirmation and then tell publishers to
		// go (as the listen test above does): once the confirmation is on
		// the wire, a PUBLISH from any other client must reach the
		// subscriber. A server that sends the confirmation before it
		// registers the subscription loses such messages now and then, so
		// this repeats the round many times.
		sub, pub := dialRESP(t, srv.Addr), dialRESP(t, srv.Addr)
		lost := map[string]int{}
		const rounds = 1000
		for i := 0; i < rounds; i++ {
			kind, name, channel := "subscribe", fmt.Sprintf("ch:%d", i), fmt.Sprintf("ch:%d", i)
			if i%2 == 1 {
				kind, name = "psubscribe", fmt.Sprintf("ch:%d:*", i)
				channel = name[:len(name)-1] + "x"
			}
			expectReply(t, kind, sub.do(kind, name), []any{kind, name, int64(1)})
			if n := pub.do("PUBLISH", channel, "m"); n != int64(1) {
				lost[kind]++
				if n != int64(0) {
					t.Fatalf("PUBLISH %s: %#v", channel, n)
				}
			} else if kind == "subscribe" {
				expectReply(t, "message", sub.reply(), []any{"message", channel, "m"})
			} else {
				expectReply(t, "pmessage", sub.reply(), []any{"pmessage", name, channel, "m"})
			}
			un := "unsubscribe"
			if kind == "psubscribe" {
				un = "punsubscribe"
			}
			expectReply(t, un, sub.do(un, name), []any{un, name, int64(0)})
		}
		if len(lost) > 0 {
			t.Fatalf("PUBLISH right after the subscribe confirmation reached nobody: %v (of %d rounds each)", lost, rounds/2)
		}
	})

	t.Run("subscribed-mode", func(t *testing.T) {
		c := dialRESP(t, srv.Addr)
		expectReply(t, "SUBSCRIBE", c.do("SUBSCRIBE", "ch1", "ch2"),
			[]any{"subscribe", "ch1", int64(1)})
		expectReply(t, "second confirmation", c.reply(), []any{"subscribe", "ch2", int64(2)})
		expectReply(t, "GET while subscribed", c.do("GET", "k"), respError(
			"ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
		expectReply(t, "PING while subscribed", c.do("PING"), []any{"pong", ""})
		expectReply(t, "PING msg while subscribed", c.do("PING", "hi"), []any{"pong", "hi"})
		pub := dialRESP(t, srv.Addr)
		expectReply(t, "PUBLISH", pub.do("PUBLISH", "ch2", "hello"), int64(1))
		expectReply(t, "message", c.reply(), []any{"message", "ch2", "hello"})
		expectReply(t, "PSUBSCRIBE", c.do("PSUBSCRIBE", "c*"), []any{"psubscribe", "c*", int64(3)})
		expectReply(t, "PUBLISH to channel and pattern", pub.do("PUBLISH", "ch1", "both"), int64(2))
		expectReply(t, "message", c.reply(), []any{"message", "ch1", "both"})
		expectReply(t, "pmessage", c.reply(), []any{"pmessage", "c*", "ch1", "both"})
		expectReply(t, "UNSUBSCRIBE ch1", c.do("UNSUBSCRIBE", "ch1"), []any{"unsubscribe", "ch1", int64(2)})
		expectReply(t, "UNSUBSCRIBE unknown", c.do("UNSUBSCRIBE", "never"), []any{"unsubscribe", "never", int64(2)})
		expectReply(t, "PUNSUBSCRIBE", c.do("PUNSUBSCRIBE"), []any{"punsubscribe", "c*", int64(1)})
		expectReply(t, "UNSUBSCRIBE all", c.do("UNSUBSCRIBE"), []any{"unsubscribe", "ch2", int64(0)})
		// Out of subscribed mode, ordinary commands work again.
		expectReply(t, "GET after unsubscribing", c.do("GET", "k"), nil)
		expectReply(t, "UNSUBSCRIBE with no subscriptions", c.do("UNSUBSCRIBE"), []any{"unsubscribe", nil, int64(0)})
	})
}

// redisCLI runs redis-cli against srv with args (and stdin when not nil)
// and returns its stdout; it fails the test on a non-zero exit.
func redisCLI(t testing.TB, srv *redisServer, stdin io.Reader, args ...string) string {
	t.Helper()
	stdout, stderr, code := runRedisCLI(t, srv, stdin, args...)
	if code != 0 {
		t.Fatalf("redis-cli %v: exit status %d\nstdout:\n%s\nstderr:\n%s", args, code, abbrev(stdout), stderr)
	}
	return stdout
}

// runRedisCLI runs redis-cli against srv and returns its stdout, stderr and
// exit status; it fails the test only if redis-cli cannot run or hangs.
func runRedisCLI(t testing.TB, srv *redisServer, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	bin := requireCommand(t, "redis-cli")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-p", srv.Port}, args...)...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("redis-cli %v: still running after 30 s\nstdout:\n%s", args, abbrev(stdout.String()))
	case errors.As(err, &ee):
		return stdout.String(), stderr.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("redis-cli %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), 0
}

// TestRedisCLI uses redis-cli as its documentation does. redis-cli prints
// raw replies when its stdout is not a terminal, as here.
func TestRedisCLI(t *testing.T) {
	srv := startRedis(t)
	cli := func(t *testing.T, want string, args ...string) {
		t.Helper()
		if got := redisCLI(t, srv, nil, args...); got != want {
			t.Fatalf("redis-cli %q:\ngot  %q\nwant %q", args, got, want)
		}
	}

	t.Run("ping-set-get", func(t *testing.T) {
		cli(t, "PONG\n", "ping")
		cli(t, "OK\n", "set", "greeting", "hello world")
		cli(t, "hello world\n", "get", "greeting")
		cli(t, "\n", "get", "no-such-key")
		cli(t, "(nil)\n", "--no-raw", "get", "no-such-key")
		cli(t, "\"hello world\"\n", "--no-raw", "get", "greeting")
		cli(t, "1) \"hello world\"\n2) (nil)\n", "--no-raw", "mget", "greeting", "no-such-key")
		cli(t, "1\n2\n3\n", "-r", "3", "incr", "counter")
		cli(t, "OK\n", "-n", "3", "set", "in-db-3", "yes")
		cli(t, "yes\n", "-n", "3", "get", "in-db-3")
		cli(t, "\n", "get", "in-db-3")
		// An error reply: printed on stdout (and a blank line), exit status 0.
		out, _, code := runRedisCLI(t, srv, nil, "incr", "greeting")
		if out != "ERR value is not an integer or out of range\n\n" || code != 0 {
			t.Fatalf("redis-cli incr on a string: %q, exit status %d", out, code)
		}
	})

	t.Run("interactive-stdin", func(t *testing.T) {
		// What `echo -e "SET a 1\nGET a" | redis-cli` does: one command per
		// line, with redis-cli's quoting rules.
		in := "SET a 1\nGET a\nGET nokey\nINCR a\nINCR greeting\n" +
			"SET \"with space\" \"quoted value\"\nGET \"with space\"\nECHO 'single quoted'\n"
		want := "OK\n1\n\n2\nERR value is not an integer or out of range\n\nOK\nquoted value\nsingle quoted\n"
		redisCLI(t, srv, nil, "set", "greeting", "hello")
		if got := redisCLI(t, srv, strings.NewReader(in)); got != want {
			t.Fatalf("redis-cli with commands on stdin:\ngot  %q\nwant %q", got, want)
		}
	})

	t.Run("pipe", func(t *testing.T) {
		// Mass insertion as the Redis docs describe it: a file of RESP
		// commands fed to redis-cli --pipe.
		cli(t, "OK\n", "-n", "5", "flushdb")
		const n = 10000
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(command("SET", fmt.Sprintf("key:%d", i), fmt.Sprintf("value %d", i)))
		}
		got := redisCLI(t, srv, strings.NewReader(b.String()), "-n", "5", "--pipe")
		if !strings.Contains(got, "All data transferred. Waiting for the last reply...\n") ||
			!strings.HasSuffix(got, "Last reply received from server.\nerrors: 0, replies: 10000\n") {
			t.Fatalf("redis-cli --pipe printed %q", got)
		}
		cli(t, "10000\n", "-n", "5", "dbsize")
		cli(t, "value 9999\n", "-n", "5", "get", "key:9999")
		cli(t, "value 0\n", "-n", "5", "get", "key:0")
		// --scan walks the keyspace with SCAN.
		keys := strings.Fields(redisCLI(t, srv, nil, "-n", "5", "--scan", "--pattern", "key:1*"))
		uniq := map[string]bool{}
		for _, k := range keys {
			uniq[k] = true
		}
		if len(uniq) != 1111 || !uniq["key:1"] || !uniq["key:1999"] {
			t.Fatalf("redis-cli --scan --pattern key:1*: %d distinct keys, want 1111", len(uniq))
		}
		big := redisCLI(t, srv, nil, "-n", "5", "--bigkeys")
		if !strings.Contains(big, "10000 strings with ") || !strings.Contains(big, "Biggest string found") {
			t.Fatalf("redis-cli --bigkeys:\n%s", big)
		}
		// Errors are counted, not hidden.
		got, stderr, code := runRedisCLI(t, srv, strings.NewReader(command("SET", "only-key")+command("GET", "key:1")), "-n", "5", "--pipe")
		if !strings.HasSuffix(got, "errors: 1, replies: 2\n") || code != 1 ||
			stderr != "ERR wrong number of arguments for 'set' command\n" {
			t.Fatalf("redis-cli --pipe with a bad command: exit status %d, stdout %q, stderr %q", code, got, stderr)
		}
	})

	t.Run("pubsub", func(t *testing.T) {
		sub := startLines(t, requireCommand(t, "redis-cli"), "-p", srv.Port, "SUBSCRIBE", "master")
		sub.expectLines(10*time.Second, "subscribe", "master", "1")
		cli(t, "1\n", "PUBLISH", "master", "python is good")
		cli(t, "1\n", "PUBLISH", "master", "java is good,too")
		cli(t, "0\n", "PUBLISH", "other", "nobody listens")
		sub.expectLines(10*time.Second,
			"message", "master", "python is good",
			"message", "master", "java is good,too")
		sub.cmd.Process.Kill()
		waitFor(t, 5*time.Second, "subscription dropped after redis-cli was killed", func() bool {
			return redisCLI(t, srv, nil, "PUBLISH", "master", "anyone?") == "0\n"
		})
	})

	t.Run("info", func(t *testing.T) {
		out := redisCLI(t, srv, nil, "--no-raw", "INFO", "server")
		lines := strings.Split(strings.TrimRight(out, "\r\n"), "\n")
		if lines[0] != "# Server\r" {
			t.Fatalf("INFO server starts %q, want \"# Server\\r\"; output:\n%s", lines[0], out)
		}
		fields := map[string]string{}
		for _, l := range lines[1:] {
			l = strings.TrimSuffix(l, "\r")
			k, v, ok := strings.Cut(l, ":")
			if !ok || k == "" || strings.HasPrefix(l, "#") {
				t.Fatalf("INFO server line %q is not key:value; output:\n%s", l, out)
			}
			fields[k] = v
		}
		if !regexp.MustCompile(`^7\.\d+\.\d+$`).MatchString(fields["redis_version"]) {
			t.Errorf("redis_version %q, want 7.x.y", fields["redis_version"])
		}
		if fields["redis_mode"] != "standalone" {
			t.Errorf("redis_mode %q, want standalone", fields["redis_mode"])
		}
		if fields["process_id"] != strconv.Itoa(srv.Pid) {
			t.Errorf("process_id %q, want the server's pid %d", fields["process_id"], srv.Pid)
		}
		if fields["tcp_port"] != srv.Port {
			t.Errorf("tcp_port %q, want the port clients connect to, %s", fields["tcp_port"], srv.Port)
		}
		for _, k := range []string{"uptime_in_seconds", "uptime_in_days", "hz", "arch_bits"} {
			if _, err := strconv.Atoi(fields[k]); err != nil {
				t.Errorf("%s = %q, want a number", k, fields[k])
			}
		}
		if _, ok := fields["used_memory"]; ok {
			t.Errorf("INFO server includes used_memory (a Memory field)")
		}
	})

	t.Run("command-docs", func(t *testing.T) {
		// redis-cli 7 asks COMMAND DOCS for its hints; the reply for GET.
		out := strings.Split(strings.TrimSuffix(redisCLI(t, srv, nil, "COMMAND", "DOCS", "GET"), "\n"), "\n")
		// The summary's wording is the server's own; everything else is fixed.
		if len(out) != 16 || out[0] != "get" || out[1] != "summary" || out[2] == "" {
			t.Fatalf("COMMAND DOCS GET:\n%s", strings.Join(out, "\n"))
		}
		want := []string{"since", "1.0.0", "group", "string", "complexity", "O(1)", "arguments",
			"name", "key", "type", "key", "key_spec_index", "0"}
		if got := out[3:]; strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("COMMAND DOCS GET after the summary:\ngot  %q\nwant %q", got, want)
		}
		docs := redisCLI(t, srv, nil, "--no-raw", "COMMAND", "DOCS", "SET", "NO-SUCH-COMMAND")
		for _, w := range []string{`1) "set"`, `"summary"`, `"history"`, `"arguments"`, `"expiration"`, `"oneof"`, `"KEEPTTL"`} {
			if !strings.Contains(docs, w) {
				t.Fatalf("COMMAND DOCS SET lacks %s:\n%s", w, docs)
			}
		}
		if strings.Contains(docs, "NO-SUCH-COMMAND") || strings.Contains(docs, "no-such-command") {
			t.Fatalf("COMMAND DOCS lists an unknown command:\n%s", docs)
		}
	})
}

// TestRedisSharedKeyspace: plain `ferry` serves memcached and Redis over one
// keyspace, so a key written with one protocol is read with the other.
func TestRedisSharedKeyspace(t *testing.T) {
	if isRedisReference() {
		t.Skip("redis-server has no memcached front end")
	}
	p := startFerry(t, []string{"memcached", "redis"},
		"--memcached-addr", "127.0.0.1:0", "--redis-addr", "127.0.0.1:0", "--amqp-addr", "127.0.0.1:0")
	mc := dialMC(t, p.Addrs["memcached"])
	rc := dialRESP(t, p.Addrs["redis"])

	mc.do("set k 0 0 5\r\nhello\r\n", "STORED")
	expectReply(t, "redis GET of a memcached key", rc.do("GET", "k"), "hello")
	expectReply(t, "TYPE", rc.do("TYPE", "k"), respStatus("string"))
	expectReply(t, "STRLEN", rc.do("STRLEN", "k"), int64(5))

	expectReply(t, "SET", rc.do("SET", "r", "from redis"), respStatus("OK"))
	mc.do("get r\r\n", "VALUE r 0 10", "from redis", "END")

	// Flags are memcached's own; Redis sees only the bytes.
	mc.do("set flagged 42 0 3\r\nabc\r\n", "STORED")
	expectReply(t, "GET flagged", rc.do("GET", "flagged"), "abc")
	expectReply(t, "APPEND", rc.do("APPEND", "flagged", "def"), int64(6))
	mc.do("get flagged\r\n", "VALUE flagged 42 6", "abcdef", "END")

	// Expiry set on one side is seen on the other.
	mc.do("set ttl 0 100 1\r\nx\r\n", "STORED")
	if ttl, ok := rc.do("TTL", "ttl").(int64); !ok || ttl < 99 || ttl > 100 {
		t.Fatalf("redis TTL of a memcached item with exptime 100: %v", ttl)
	}
	expectReply(t, "SET EX", rc.do("SET", "short", "y", "PX", "200"), respStatus("OK"))
	mc.do("get short\r\n", "VALUE short 0 1", "y", "END")
	time.Sleep(400 * time.Millisecond)
	mc.do("get short\r\n", "END")

	// Counters and deletes cross over too.
	expectReply(t, "SET counter", rc.do("SET", "counter", "10"), respStatus("OK"))
	mc.do("incr counter 5\r\n", "15")
	expectReply(t, "INCR after memcached incr", rc.do("INCR", "counter"), int64(16))
	mc.do("get counter\r\n", "VALUE counter 0 2", "16", "END")
	expectReply(t, "DEL", rc.do("DEL", "k"), int64(1))
	mc.do("get k\r\n", "END")
	mc.do("delete r\r\n", "DELETED")
	expectReply(t, "GET after memcached delete", rc.do("GET", "r"), nil)
	expectReply(t, "DBSIZE", rc.do("DBSIZE"), int64(3)) // flagged, ttl, counter

	// Memcached lives in database 0 only.
	expectReply(t, "SELECT 1", rc.do("SELECT", "1"), respStatus("OK"))
	expectReply(t, "GET in db 1", rc.do("GET", "flagged"), nil)
	expectReply(t, "SET in db 1", rc.do("SET", "db1-only", "v"), respStatus("OK"))
	mc.do("get db1-only\r\n", "END")
}

// vmRSS returns a process's resident set size in bytes from /proc.
func vmRSS(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

// TestRedisBadInput sends malformed and hostile RESP over raw sockets.
// Redis answers a protocol error with one error line and closes the
// connection; replies below are redis-server 7.0's, byte for byte.
func TestRedisBadInput(t *testing.T) {
	srv := startRedis(t)
	closing := []struct{ name, req, want string }{
		{"bulk length not a number", "*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk length 1 GB", "*1\r\n$1073741824\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk length over 512 MB", "*1\r\n$536870913\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"negative bulk length", "*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"multibulk length not a number", "*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"multibulk length over INT_MAX", "*2147483648\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"not a bulk in an array", "*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"},
		{"unbalanced quotes inline", "SET a \"b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"inline line over 64 KB", strings.Repeat("x", 70000), "-ERR Protocol error: too big inline request\r\n"},
		{"multibulk count line over 64 KB", "*" + strings.Repeat("1", 70000), "-ERR Protocol error: too big mbulk count string\r\n"},
		{"bulk count line over 64 KB", "*2\r\n$3\r\nGET\r\n$" + strings.Repeat("1", 70000), "-ERR Protocol error: too big bulk count string\r\n"},
	}
	for _, tt := range closing {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRESP(t, srv.Addr)
			// A good command first: the error must not eat its reply.
			c.send(command("PING") + tt.req)
			if got := c.readUntilClosed(5 * time.Second); got != "+PONG\r\n"+tt.want {
				t.Fatalf("%q: got %q, want %q then close", abbrev(tt.req), abbrev(got), "+PONG\r\n"+tt.want)
			}
		})
	}

	staying := []struct{ name, req, want string }{
		{"inline PING", "PING\r\n", "+PONG\r\n"},
		{"inline with spaces", "  \r\nPING\r\n", "+PONG\r\n"},
		{"empty lines between commands", "\r\n\r\n*1\r\n$4\r\nPING\r\n", "+PONG\r\n"},
		{"zero and null multibulk", "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", "+PONG\r\n"},
		{"inline arity error", "GET a b c\r\n", "-ERR wrong number of arguments for 'get' command\r\n"},
		{"inline unknown command", "nosuch\r\n", "-ERR unknown command 'nosuch', with args beginning with: \r\n"},
		{"empty command name", "*1\r\n$0\r\n\r\n", "-ERR unknown command '', with args beginning with: \r\n"},
		{"unknown command with args", command("NOSUCH", "a", "b"), "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n"},
	}
	for _, tt := range staying {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRESP(t, srv.Addr)
			c.send(tt.req + command("ECHO", "still here"))
			c.c.SetReadDeadline(time.Now().Add(ioTimeout))
			want := tt.want + "$10\r\nstill here\r\n"
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c.r, got); err != nil || string(got) != want {
				t.Fatalf("%q: got %q (%v), want %q", abbrev(tt.req), got, err, want)
			}
		})
	}

	t.Run("more than a million arguments", func(t *testing.T) {
		// Redis 7.0 takes up to INT_MAX arguments: a client that deletes
		// 1.2 million keys in one DEL (or SADDs a big batch) gets its reply.
		const n = 1200000
		c := dialRESP(t, srv.Addr)
		var b bytes.Buffer
		fmt.Fprintf(&b, "*%d\r\n$3\r\nDEL\r\n", n+1)
		for i := 0; i < n; i++ {
			b.WriteString("$1\r\nk\r\n")
		}
		c.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		go c.c.Write(b.Bytes()) // a server that closes early must not block the test
		c.c.SetReadDeadline(time.Now().Add(30 * time.Second))
		v, err := readRESP(c.r)
		if err != nil || fmt.Sprint(v) != "0" {
			t.Fatalf("DEL with %d keys: got %#v (%v), want :0", n, v, err)
		}
	})

	t.Run("stalled huge bulk", func(t *testing.T) {
		// A client announces a 500 MB argument, sends a few KB and stalls.
		// The server must not reserve the announced size.
		pid := srv.Pid
		c0 := dialRESP(t, srv.Addr)
		expectReply(t, "PING", c0.do("PING"), respStatus("PONG"))
		before := vmRSS(t, pid)
		var stalled []*respConn
		for i := 0; i < 3; i++ {
			c := dialRESP(t, srv.Addr)
			c.send("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$500000000\r\n" + strings.Repeat("z", 8192))
			stalled = append(stalled, c)
		}
		time.Sleep(500 * time.Millisecond)
		// The server still serves others meanwhile.
		expectReply(t, "PING while clients stall", dialRESP(t, srv.Addr).do("PING"), respStatus("PONG"))
		after := vmRSS(t, pid)
		t.Logf("VmRSS before %d MB, after three stalled 500 MB bulks %d MB", before>>20, after>>20)
		if grew := after - before; grew > 100<<20 {
			t.Fatalf("VmRSS grew by %d MB for three clients that sent 8 KB each of a 500 MB bulk", grew>>20)
		}
		for _, c := range stalled {
			c.c.Close()
		}
		expectReply(t, "GET big", c0.do("EXISTS", "big"), int64(0))
	})
}
