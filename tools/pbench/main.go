// Command pbench measures persistence in Ferry against redis-server 7.0
// with the same settings, in one run: request latency (p50, p99, p99.9,
// max) and throughput while a BGREWRITEAOF and a BGSAVE of a large dataset
// run, how long those take and the memory they cost, and how long each
// server takes to load a snapshot of that dataset at start — its own, and
// for Ferry also Redis's.
//
// It starts each server on a free loopback port in a temporary directory
// and stops it (by PID) when done. The report (markdown) goes to stdout,
// progress to stderr.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	redis, ferry string
	keys, value  int
	clients      int
	fsync        string
	idle         time.Duration
	rounds       int
}

func main() {
	var o options
	flag.StringVar(&o.redis, "redis", "/usr/bin/redis-server", "redis-server binary")
	flag.StringVar(&o.ferry, "ferry", "ferry", "ferry binary")
	flag.IntVar(&o.keys, "keys", 1_000_000, "keys in the dataset")
	flag.IntVar(&o.value, "value", 100, "value size in bytes")
	flag.IntVar(&o.clients, "clients", 20, "clients writing during the latency test")
	flag.StringVar(&o.fsync, "appendfsync", "everysec", "appendfsync for both servers")
	flag.DurationVar(&o.idle, "idle", 3*time.Second, "latency measured with no background job, before the rewrite")
	flag.IntVar(&o.rounds, "rounds", 1, "times to run everything")
	flag.Parse()
	defer stopAll()
	var results [][2]*result
	var cross []loadResult
	for r := 0; r < o.rounds; r++ {
		var pair [2]*result
		for i, name := range []string{"redis", "ferry"} {
			res, err := runServer(o, name)
			if err != nil {
				fmt.Fprintln(os.Stderr, "pbench:", err)
				stopAll()
				os.Exit(1)
			}
			pair[i] = res
		}
		lr, err := loadInto(o, "ferry", pair[0].dumpPath, "redis's dump.rdb")
		if err != nil {
			fmt.Fprintln(os.Stderr, "pbench:", err)
			stopAll()
			os.Exit(1)
		}
		cross = append(cross, lr)
		results = append(results, pair)
		os.RemoveAll(pair[0].dir)
		os.RemoveAll(pair[1].dir)
	}
	report(os.Stdout, o, results, cross)
}

// phase numbers for latency samples.
const (
	phaseNone = iota
	phaseIdle
	phaseRewrite
	phaseSave
	phases
)

var phaseNames = [phases]string{"", "no background job", "during BGREWRITEAOF", "during BGSAVE"}

// result is one server's figures.
type result struct {
	name, cmdline string
	dir, dumpPath string
	fillSecs      float64
	lat           [phases][]time.Duration
	phaseSecs     [phases]float64
	rssBefore     [phases]int64 // kB
	rssPeak       [phases]int64 // kB
	cow           [phases]string
	saveSecs      float64 // foreground SAVE
	dumpSize      int64
	loads         []loadResult
}

type loadResult struct {
	server, what string
	readySecs    float64 // exec to the first PING answered
	logged       string  // the load time the server logged
	rssKB        int64
}

func serverArgs(o options, name, dir string, port int, appendonly string) (string, []string) {
	common := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", appendonly, "--appendfsync", o.fsync, "--save", "",
		"--auto-aof-rewrite-percentage", "0"}
	if name == "redis" {
		return o.redis, common
	}
	return o.ferry, append([]string{"redis-server"}, common...)
}

// runServer fills one server, measures latency during a rewrite and a
// save, saves, and times loading its own snapshot and AOF.
func runServer(o options, name string) (*result, error) {
	dir, err := os.MkdirTemp("", "pbench-"+name+"-")
	if err != nil {
		return nil, err
	}
	res := &result{name: name, dir: dir}
	s, err := start(o, name, dir, "yes")
	if err != nil {
		return nil, err
	}
	res.cmdline = s.commandLine()
	progress("%s: filling %d keys", name, o.keys)
	t0 := time.Now()
	if err := fill(s.addr, o); err != nil {
		return nil, err
	}
	res.fillSecs = time.Since(t0).Seconds()
	if err := latencyTest(o, s, res); err != nil {
		return nil, err
	}
	c, err := dial(s.addr)
	if err != nil {
		return nil, err
	}
	progress("%s: SAVE", name)
	t0 = time.Now()
	if _, err := c.do(10*time.Minute, "SAVE"); err != nil {
		return nil, fmt.Errorf("%s SAVE: %w", name, err)
	}
	res.saveSecs = time.Since(t0).Seconds()
	c.Close()
	s.stop()
	res.dumpPath = filepath.Join(dir, "dump.rdb")
	if st, err := os.Stat(res.dumpPath); err == nil {
		res.dumpSize = st.Size()
	}
	for _, what := range []string{"own dump.rdb", "own AOF"} {
		appendonly := "no"
		if what == "own AOF" {
			appendonly = "yes"
		}
		lr, err := timeLoad(o, name, dir, appendonly, what)
		if err != nil {
			return nil, err
		}
		res.loads = append(res.loads, lr)
	}
	return res, nil
}

// loadInto times server name loading a copy of dump (another server's).
func loadInto(o options, name, dump, what string) (loadResult, error) {
	dir, err := os.MkdirTemp("", "pbench-"+name+"-load-")
	if err != nil {
		return loadResult{}, err
	}
	defer os.RemoveAll(dir)
	if err := copyFile(dump, filepath.Join(dir, "dump.rdb")); err != nil {
		return loadResult{}, err
	}
	return timeLoad(o, name, dir, "no", what)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

var loadLogRE = regexp.MustCompile(`(DB loaded from (?:disk|append only file)[^\n]*)`)

// timeLoad starts server name over dir and measures the time until it
// answers PING (not -LOADING), then stops it.
func timeLoad(o options, name, dir, appendonly, what string) (loadResult, error) {
	progress("%s: loading %s", name, what)
	// Let the page cache settle on equal terms: both servers read files
	// just written.
	t0 := time.Now()
	s, err := start(o, name, dir, appendonly)
	if err != nil {
		return loadResult{}, err
	}
	defer s.stop()
	lr := loadResult{server: name, what: what, readySecs: time.Since(t0).Seconds(), rssKB: rss(s.pid())}
	if m := loadLogRE.FindAllString(s.out.String(), -1); len(m) > 0 {
		lr.logged = m[len(m)-1]
	}
	c, err := dial(s.addr)
	if err != nil {
		return lr, err
	}
	defer c.Close()
	n, err := c.do(10*time.Second, "DBSIZE")
	if err != nil || n != strconv.Itoa(o.keys) {
		return lr, fmt.Errorf("%s after loading %s: DBSIZE %s (%v), want %d", name, what, n, err, o.keys)
	}
	return lr, nil
}

func keyName(i int) string { return fmt.Sprintf("key:%010d", i) }

// valueOf is key i's value: o.value printable bytes from a generator
// seeded by i, the same for both servers.
func valueOf(i, size int, gen uint64) string {
	b := make([]byte, size)
	x := uint64(i)*0x9E3779B97F4A7C15 + gen + 1
	for j := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[j] = 'a' + byte(x%26)
	}
	return string(b)
}

// fill writes keys 0..o.keys-1 over 4 connections, 1000 per batch.
func fill(addr string, o options) error {
	const conns, batch = 4, 1000
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, err := dial(addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for start := w * batch; start < o.keys; start += conns * batch {
				end := min(start+batch, o.keys)
				var b []byte
				for i := start; i < end; i++ {
					b = appendCommand(b, "SET", keyName(i), valueOf(i, o.value, 0))
				}
				c.nc.SetDeadline(time.Now().Add(time.Minute))
				if _, err := c.bw.Write(b); err != nil {
					errs <- err
					return
				}
				if err := c.bw.Flush(); err != nil {
					errs <- err
					return
				}
				for i := start; i < end; i++ {
					if r, err := readReply(c.br); err != nil || r != "OK" {
						errs <- fmt.Errorf("fill: %q %v", r, err)
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// latencyTest runs o.clients writers (SET of random existing keys, one
// request at a time) and records each request's latency by phase: idle,
// then a BGREWRITEAOF until it ends, a pause, then a BGSAVE until it ends.
func latencyTest(o options, s *server, res *result) error {
	var phase atomic.Int32
	var stop atomic.Bool
	type sample struct {
		phase int32
		d     time.Duration
	}
	samples := make([][]sample, o.clients)
	var wg sync.WaitGroup
	errc := make(chan error, o.clients)
	for g := 0; g < o.clients; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			c, err := dial(s.addr)
			if err != nil {
				errc <- err
				return
			}
			defer c.Close()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			val := valueOf(g, o.value, 1)
			buf := make([]byte, 0, 256)
			for !stop.Load() {
				i := rng.IntN(o.keys)
				buf = appendCommand(buf[:0], "SET", keyName(i), val)
				p := phase.Load()
				t0 := time.Now()
				c.nc.SetDeadline(t0.Add(time.Minute))
				c.bw.Write(buf)
				if err := c.bw.Flush(); err != nil {
					errc <- err
					return
				}
				if r, err := readReply(c.br); err != nil || r != "OK" {
					errc <- fmt.Errorf("SET during the latency test: %q %v", r, err)
					return
				}
				samples[g] = append(samples[g], sample{p, time.Since(t0)})
			}
		}(g)
	}
	ctl, err := dial(s.addr)
	if err != nil {
		return err
	}
	defer ctl.Close()
	runPhase := func(p int32, start []string, busyField string) error {
		res.rssBefore[p] = rss(s.pid())
		var peak atomic.Int64
		peak.Store(res.rssBefore[p])
		done := make(chan struct{})
		go func() { // sample RSS
			for {
				select {
				case <-done:
					return
				case <-time.After(10 * time.Millisecond):
					if v := rss(s.pid()); v > peak.Load() {
						peak.Store(v)
					}
				}
			}
		}()
		t0 := time.Now()
		phase.Store(p)
		if start == nil {
			time.Sleep(o.idle)
		} else {
			if _, err := ctl.do(time.Minute, start...); err != nil {
				close(done)
				return fmt.Errorf("%s %v: %w", s.name, start, err)
			}
			for {
				time.Sleep(5 * time.Millisecond)
				v, err := ctl.info("persistence", busyField)
				if err != nil {
					close(done)
					return err
				}
				if v == "0" {
					if busyField != "aof_rewrite_in_progress" {
						break
					}
					// A rewrite may be scheduled behind a save.
					if v, _ := ctl.info("persistence", "aof_rewrite_scheduled"); v == "0" {
						break
					}
				}
			}
		}
		phase.Store(phaseNone)
		res.phaseSecs[p] = time.Since(t0).Seconds()
		close(done)
		res.rssPeak[p] = peak.Load()
		return nil
	}
	progress("%s: latency with no background job", s.name)
	if err := runPhase(phaseIdle, nil, ""); err != nil {
		return err
	}
	progress("%s: latency during BGREWRITEAOF", s.name)
	if err := runPhase(phaseRewrite, []string{"BGREWRITEAOF"}, "aof_rewrite_in_progress"); err != nil {
		return err
	}
	res.cow[phaseRewrite], _ = ctl.info("persistence", "aof_last_cow_size")
	time.Sleep(time.Second)
	progress("%s: latency during BGSAVE", s.name)
	if err := runPhase(phaseSave, []string{"BGSAVE"}, "rdb_bgsave_in_progress"); err != nil {
		return err
	}
	res.cow[phaseSave], _ = ctl.info("persistence", "rdb_last_cow_size")
	stop.Store(true)
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	for _, ss := range samples {
		for _, x := range ss {
			res.lat[x.phase] = append(res.lat[x.phase], x.d)
		}
	}
	for p := range res.lat {
		slices.Sort(res.lat[p])
	}
	return nil
}

// rss returns a process's resident set in kB (0 if unknown).
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// --- processes ---

type server struct {
	name string
	addr string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var running struct {
	sync.Mutex
	list []*server
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs server name over dir and waits until it answers PING (after
// loading whatever dir holds).
func start(o options, name, dir, appendonly string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	path, args := serverArgs(o, name, dir, port, appendonly)
	s := &server{name: name, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), out: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(path, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	running.Lock()
	running.list = append(running.list, s)
	running.Unlock()
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("%s exited at start: %s", name, s.out)
		default:
		}
		if c, err := dial(s.addr); err == nil {
			r, err := c.do(5*time.Second, "PING")
			c.Close()
			if err == nil && r == "PONG" {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s not ready", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) commandLine() string {
	var b strings.Builder
	for i, a := range s.cmd.Args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a == "" || strings.ContainsAny(a, " '\"") {
			a = "'" + a + "'"
		}
		b.WriteString(a)
	}
	return b.String()
}

// stop ends the server by its PID (SIGTERM, then SIGKILL after 60 s).
func (s *server) stop() {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(60 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	running.Lock()
	running.list = slices.DeleteFunc(running.list, func(x *server) bool { return x == s })
	running.Unlock()
}

func stopAll() {
	running.Lock()
	list := slices.Clone(running.list)
	running.Unlock()
	for _, s := range list {
		s.stop()
	}
}
