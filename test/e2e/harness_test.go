// Package e2e runs the built ferry binary against real clients: Python
// libraries users actually use (Debian python3-* packages), command-line
// tools, and process-level checks such as kill -9. Servers listen on
// ephemeral loopback ports; every process started here is stopped here.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// ferryBin is the binary built once for the whole package.
var ferryBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ferryBin = filepath.Join(dir, "ferry")
	// The race detector is on unless FERRY_E2E_RACE=0: scripts/test also
	// runs some tests against a normal build, whose event loops and key
	// prefetching take paths the detector's build does not.
	args := []string{"build", "-race", "-o", ferryBin, "ferry/cmd/ferry"}
	if os.Getenv("FERRY_E2E_RACE") == "0" {
		args = append(args[:1], args[2:]...)
	}
	build := exec.Command("go", args...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building ferry:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Proc is a running ferry process.
type Proc struct {
	Cmd   *exec.Cmd
	Addrs map[string]string // protocol → host:port, from the "listening" log lines

	mu  sync.Mutex
	log strings.Builder
}

// Log returns everything the process wrote to stderr so far.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

var listeningRE = regexp.MustCompile(`msg=listening protocol=(\S+) addr=(\S+)`)

// startFerry runs the binary with args (which must ask for port 0 on each
// front end it enables: memcached, redis, amqp) and waits until every
// expected protocol listens.
func startFerry(t testing.TB, protocols []string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(ferryBin, args...)
	cmd.Dir = t.TempDir()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{Cmd: cmd, Addrs: map[string]string{}}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		signalled, loaded := false, false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				p.Addrs[m[1]] = m[2]
			}
			// Listeners open before the dataset is loaded (clients get
			// LOADING meanwhile): tests start once it is.
			loaded = loaded || strings.Contains(line, "Ready to accept connections")
			done := !signalled && loaded
			for _, proto := range protocols {
				done = done && p.Addrs[proto] != ""
			}
			p.mu.Unlock()
			if done {
				signalled = true
				close(ready)
			}
		}
	}()
	t.Cleanup(func() { p.Stop(t) })
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("ferry did not start listening; log:\n%s", p.Log())
	}
	for _, proto := range protocols {
		if p.Addrs[proto] == "" {
			t.Fatalf("no %s listener; log:\n%s", proto, p.Log())
		}
	}
	return p
}

// Stop ends the process with SIGTERM (SIGKILL after 10 s) and waits.
func (p *Proc) Stop(t testing.TB) {
	if p.Cmd.ProcessState != nil {
		return
	}
	p.Cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.Cmd.Process.Kill()
		<-done
	}
}

// python runs a Python script with Debian's interpreter (where the
// python3-* client packages live), passing args, and returns its output.
func python(t testing.TB, script string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", append([]string{"-c", script}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python failed: %v\n%s", err, out)
	}
	return string(out)
}

// requireCommand skips nothing: the test command installs every tool the
// suite needs, so a missing one is a failure, not a skip.
func requireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not installed (the test command installs it: see scripts/test)", name)
	}
	return p
}
