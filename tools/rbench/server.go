package main

import (
	"bytes"
	"errors"
	"ferry/tools/internal/proc"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serverSpec says how to start one server under test. startServer appends
// --port and --bind.
type serverSpec struct {
	name string
	path string
	args []string
}

// server is a started server process.
type server struct {
	spec serverSpec
	cmd  *exec.Cmd
	addr string
	port int
	dir  string // temporary working directory, removed on stop
	out  *proc.TailBuffer
	done chan struct{} // closed when the process has exited
	werr error         // its exit status, once done is closed
}

// running lists started servers so an interrupt can stop them.
var running struct {
	sync.Mutex
	list []*server
}

// startServer starts spec on a free loopback port and waits until it
// answers PING.
func startServer(spec serverSpec) (*server, error) {
	port, err := proc.FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rbench-"+spec.name+"-")
	if err != nil {
		return nil, err
	}
	args := append(slices.Clone(spec.args), "--port", strconv.Itoa(port), "--bind", "127.0.0.1")
	s := &server{spec: spec, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), port: port,
		dir: dir, out: &proc.TailBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(spec.path, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", spec.name, err)
	}
	running.Lock()
	running.list = append(running.list, s)
	running.Unlock()
	go func() { s.werr = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-s.done:
			s.stop()
			return nil, fmt.Errorf("%s exited at start (%v): %s", spec.name, s.werr, s.out)
		default:
		}
		r, err := oneCommand(s.addr, time.Second, "PING")
		if err == nil && r == "PONG" {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s not answering PING on %s: %v %v", spec.name, s.addr, r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// commandLine returns the server's command line, for the report.
func (s *server) commandLine() string {
	var b strings.Builder
	for i, a := range s.cmd.Args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a == "" || strings.ContainsAny(a, " \t'\"\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		b.WriteString(a)
	}
	return b.String()
}

// pid returns the server's process id.
func (s *server) pid() int { return s.cmd.Process.Pid }

// exited reports whether the process has ended, with its status and output.
func (s *server) exited() error {
	select {
	case <-s.done:
		return fmt.Errorf("%s (pid %d) exited (%v); last output:\n%s", s.spec.name, s.pid(), s.werr, s.out)
	default:
		return nil
	}
}

// stop ends the process by its PID (SIGTERM, SIGKILL after 10 s), waits for
// it, and removes its working directory.
func (s *server) stop() {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	running.Lock()
	running.list = slices.DeleteFunc(running.list, func(x *server) bool { return x == s })
	running.Unlock()
	os.RemoveAll(s.dir)
}

// stopAll stops every server still running.
func stopAll() {
	running.Lock()
	list := slices.Clone(running.list)
	running.Unlock()
	for _, s := range list {
		s.stop()
	}
}

// versionOf runs "path arg" and returns the first line it prints.
func versionOf(path, arg string) string {
	out, err := exec.Command(path, arg).CombinedOutput()
	if err != nil && len(out) == 0 {
		return fmt.Sprintf("%s (%v)", path, err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// splitArgs splits a command line on blanks, honouring single and double
// quotes (a pair of quotes with nothing between them is an empty argument,
// as redis-server's --save needs) and backslash escapes outside single
// quotes.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur []byte
	inArg := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur = append(cur, c)
			}
		case c == '\\' && i+1 < len(s):
			i++
			cur, inArg = append(cur, s[i]), true
		case quote == '"':
			if c == '"' {
				quote = 0
			} else {
				cur = append(cur, c)
			}
		case c == '\'' || c == '"':
			quote, inArg = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if inArg {
				args, cur, inArg = append(args, string(cur)), nil, false
			}
		default:
			cur, inArg = append(cur, c), true
		}
	}
	if quote != 0 {
		return nil, errors.New("unbalanced quotes")
	}
	if inArg {
		args = append(args, string(cur))
	}
	return args, nil
}

// procTicks returns a process's utime+stime from /proc/PID/stat, in clock
// ticks (USER_HZ, 100 per second on Linux).
func procTicks(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStatTicks(b)
}

// parseStatTicks reads utime+stime from the text of /proc/PID/stat.
func parseStatTicks(b []byte) (int64, error) {
	// The command name may contain spaces; fields restart after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64) // field 14 overall
	k, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed /proc/PID/stat times")
	}
	return u + k, nil
}

// userHZ is the unit of /proc times: USER_HZ, fixed at 100 on Linux.
const userHZ = 100

// machineTicks returns the machine's busy (user+nice+system) and total
// ticks from the first line of /proc/stat.
func machineTicks() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i := 1; i < len(f) && i <= 8; i++ { // user nice system idle iowait irq softirq steal
		n, _ := strconv.ParseInt(f[i], 10, 64)
		total += n
		if i <= 3 {
			busy += n
		}
	}
	return busy, total
}

// rssBytes returns a process's VmRSS.
func rssBytes(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				n, err := strconv.ParseInt(f[0], 10, 64)
				return n << 10, err
			}
		}
	}
	return 0, errors.New("no VmRSS in /proc/PID/status")
}
