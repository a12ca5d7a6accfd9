package redis

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Helpers for tests that send the same commands to Ferry and to the real
// redis-server 7.0 and compare what comes back byte for byte.

// refRedisBin is the reference server the differential tests compare with.
const refRedisBin = "/usr/bin/redis-server"

// refRedis starts redis-server on a free loopback port without persistence
// and returns its address; the test is skipped when redis-server is not
// installed. The process (only it) is killed when the test ends.
func refRedis(t testing.TB, options ...string) string {
	t.Helper()
	if _, err := os.Stat(refRedisBin); err != nil {
		t.Skipf("reference %s not installed", refRedisBin)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--daemonize", "no"}, options...)
	cmd := exec.Command(refRedisBin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server %v did not listen: %s", args, out.String())
		}
	}
}

// refConn is a raw RESP connection that returns replies as their exact
// bytes.
type refConn struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

func refDial(t testing.TB, addr string) *refConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &refConn{t: t, nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}
}

// refCommand encodes args as a RESP multibulk.
func refCommand(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

func (c *refConn) send(args ...string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.nc, refCommand(args...)); err != nil {
		c.t.Fatalf("send %q: %v", args, err)
	}
}

// do sends a command and returns its reply's bytes.
func (c *refConn) do(args ...string) string {
	c.t.Helper()
	c.send(args...)
	return c.reply()
}

// reply reads one complete reply (nested aggregates included) and returns
// its exact bytes; "<closed>" when the server closed the connection and
// "<timeout>" when nothing came within d (default 5 s).
func (c *refConn) reply() string { return c.replyWithin(5 * time.Second) }

func (c *refConn) replyWithin(d time.Duration) string {
	c.nc.SetReadDeadline(time.Now().Add(d))
	var out strings.Builder
	if err := refRead(c.r, &out); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() && out.Len() == 0 {
			return "<timeout>"
		}
		if out.Len() == 0 {
			return "<closed>"
		}
		return out.String() + "<" + err.Error() + ">"
	}
	return out.String()
}

func refRead(r *bufio.Reader, out *strings.Builder) error {
	line, err := r.ReadString('\n')
	out.WriteString(line)
	if err != nil {
		return err
	}
	if len(line) < 3 {
		return fmt.Errorf("short line %q", line)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	switch line[0] {
	case '$', '=', '!':
		if n >= 0 {
			buf := make([]byte, n+2)
			_, err := io.ReadFull(r, buf)
			out.Write(buf)
			return err
		}
	case '*', '~', '>':
		for i := 0; i < n; i++ {
			if err := refRead(r, out); err != nil {
				return err
			}
		}
	case '%', '|':
		for i := 0; i < 2*n; i++ {
			if err := refRead(r, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// refMessage decodes a flat RESP2 or RESP3 array or push of bulk strings
// and integers (a pub/sub message or confirmation) into one line of its
// elements separated by spaces; nil is "(nil)". Anything else comes back
// as its raw bytes quoted.
func refMessage(raw string) string {
	r := bufio.NewReader(strings.NewReader(raw))
	head, _ := r.ReadString('\n')
	if len(head) < 2 || (head[0] != '*' && head[0] != '>') {
		return strconv.Quote(raw)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(head[1:]))
	parts := make([]string, 0, n)
	for i := 0; i < n; i++ {
		l, _ := r.ReadString('\n')
		if len(l) < 3 {
			return strconv.Quote(raw)
		}
		m, _ := strconv.Atoi(strings.TrimSpace(l[1:]))
		switch {
		case l[0] == ':':
			parts = append(parts, strconv.Itoa(m))
		case l[0] == '$' && m < 0, l[0] == '_':
			parts = append(parts, "(nil)")
		case l[0] == '$':
			b := make([]byte, m+2)
			io.ReadFull(r, b)
			parts = append(parts, string(b[:m]))
		default:
			return strconv.Quote(raw)
		}
	}
	return strings.Join(parts, " ")
}

// refSortedArray returns an array reply of bulk strings with its elements
// sorted (Redis lists channels in its dict's hash order), or raw unchanged
// when it is something else.
func refSortedArray(raw string) string {
	r := bufio.NewReader(strings.NewReader(raw))
	head, _ := r.ReadString('\n')
	if len(head) < 2 || (head[0] != '*' && head[0] != '~') {
		return raw
	}
	n, _ := strconv.Atoi(strings.TrimSpace(head[1:]))
	elems := make([]string, 0, n)
	for i := 0; i < n; i++ {
		var b strings.Builder
		if err := refRead(r, &b); err != nil {
			return raw
		}
		elems = append(elems, b.String())
	}
	sort.Strings(elems)
	return head + strings.Join(elems, "")
}
