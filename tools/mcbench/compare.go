package main

import (
	"bytes"
	"ferry/tools/internal/proc"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// serverSpec says how to start one server under test. The port and listen
// address are appended by startServer.
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
// accepts connections.
func startServer(spec serverSpec) (*server, error) {
	port, err := proc.FreePort()
	if err != nil {
		return nil, err
	}
	args := append(slices.Clone(spec.args), "-p", strconv.Itoa(port), "-l", "127.0.0.1")
	s := &server{spec: spec, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		out: &proc.TailBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(spec.path, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
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
			s.forget()
			return nil, fmt.Errorf("%s exited at start (%v): %s", spec.name, s.werr, s.out)
		default:
		}
		nc, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			nc.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s not accepting on %s: %v", spec.name, s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// commandLine returns the server's command line, for the report.
func (s *server) commandLine() string { return strings.Join(s.cmd.Args, " ") }

// pid returns the server's process id.
func (s *server) pid() int { return s.cmd.Process.Pid }

// stop ends the process (SIGTERM, SIGKILL after 5 s) and waits for it.
func (s *server) stop() {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	s.forget()
}

// forget removes s from the running list.
func (s *server) forget() {
	running.Lock()
	defer running.Unlock()
	running.list = slices.DeleteFunc(running.list, func(x *server) bool { return x == s })
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

// cell is one row of the matrix: one workload measured on every server,
// once per round.
type cell struct {
	mode     mode
	pipeline int
	runs     [][]measured // [round][server]
}

// measured is one run of one cell on one server.
type measured struct {
	res *result
	cpu cpuUse
}

// compareMain runs "mcbench compare" and returns the exit code.
func compareMain(args []string) int {
	fs := flag.NewFlagSet("mcbench compare", flag.ExitOnError)
	cfg := runConfig{}
	loadFlags(fs, &cfg)
	mcPath := fs.String("memcached", "/usr/bin/memcached", "memcached binary")
	mcArgs := fs.String("memcached-args", "-t 4 -m 1024 -U 0", "memcached arguments (-p, -l, and -u root when root, are added)")
	ferryPath := fs.String("ferry", "ferry", "ferry binary")
	ferryArgs := fs.String("ferry-args", "memcached -m 1024", "ferry arguments (-p and -l are added)")
	modes := fs.String("modes", "get,set,mix", "workloads, comma-separated")
	pipes := fs.String("pipelines", "1,16", "pipeline depths, comma-separated")
	memItems := fs.Int("mem-items", 1000000, "items for the memory test (0 skips it)")
	rounds := fs.Int("rounds", 1, "times to run the whole matrix; the summary takes medians")
	fs.Parse(args)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "mcbench: interrupted, stopping servers")
		stopAll()
		os.Exit(130)
	}()
	defer stopAll()

	mc := serverSpec{name: "memcached", path: *mcPath, args: splitArgs(*mcArgs)}
	if os.Geteuid() == 0 && !slices.Contains(mc.args, "-u") {
		mc.args = append(mc.args, "-u", "root") // memcached refuses to run as root otherwise
	}
	ferry := serverSpec{name: "ferry", path: *ferryPath, args: splitArgs(*ferryArgs)}
	specs := []serverSpec{mc, ferry}

	var cells []*cell
	for _, m := range strings.Split(*modes, ",") {
		if m := mode(m); m != modeGet && m != modeSet && m != modeMix {
			fmt.Fprintf(os.Stderr, "mcbench: unknown mode %q\n", m)
			return 2
		}
		for _, p := range strings.Split(*pipes, ",") {
			d, err := strconv.Atoi(p)
			if err != nil || d < 1 {
				fmt.Fprintf(os.Stderr, "mcbench: bad pipeline depth %q\n", p)
				return 2
			}
			cells = append(cells, &cell{mode: mode(m), pipeline: d})
		}
	}

	printMachine()
	if err := runMatrix(specs, cfg, cells, max(*rounds, 1)); err != nil {
		fmt.Fprintln(os.Stderr, "mcbench:", err)
		return 1
	}
	if *memItems > 0 {
		if err := memoryTest(specs, *memItems, cfg.size); err != nil {
			fmt.Fprintln(os.Stderr, "mcbench:", err)
			return 1
		}
	}
	return 0
}

// printMachine prints what the numbers depend on.
func printMachine() {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	fmt.Printf("machine: %d CPUs (%s), %s %s/%s\n\n", runtime.NumCPU(), model,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// runMatrix starts every server once, prefills each, and runs every cell on
// each server in turn, rounds times over. Which server goes first alternates
// from cell to cell and round to round, so that neither always runs on a
// machine just warmed (or heated) by the other.
func runMatrix(specs []serverSpec, base runConfig, cells []*cell, rounds int) error {
	servers := make([]*server, len(specs))
	for i, spec := range specs {
		s, err := startServer(spec)
		if err != nil {
			return err
		}
		defer s.stop()
		servers[i] = s
		fmt.Printf("%s: %s (pid %d)\n", spec.name, s.commandLine(), s.pid())
	}
	for _, s := range servers {
		t := time.Now()
		if err := load(s.addr, base.keys, base.size, 4); err != nil {
			return fmt.Errorf("%s: prefill: %w", s.spec.name, err)
		}
		fmt.Fprintf(os.Stderr, "prefilled %s with %d keys in %v\n", s.spec.name, base.keys, time.Since(t).Round(time.Millisecond))
	}
	fmt.Println()
	pids := make([]int, len(servers))
	for i, s := range servers {
		pids[i] = s.pid()
	}
	for round := range rounds {
		for ci, c := range cells {
			runs := make([]measured, len(servers))
			for k := range servers {
				si := (k + ci + round) % len(servers)
				m, err := runCell(servers[si], base, c, pids, si)
				if err != nil {
					return err
				}
				runs[si] = m
				r, u := m.res, m.cpu
				fmt.Fprintf(os.Stderr, "round %d %-4s p%-2d %-9s %9.0f ops/s  p99 %-8s errors %d  cpu: server %.2f bench %.2f other %.2f\n",
					round+1, c.mode, c.pipeline, servers[si].spec.name, r.opsPerSec(), fmtDur(r.hist.Quantile(0.99)),
					r.errors, u.server, u.bench, u.other)
			}
			c.runs = append(c.runs, runs)
		}
	}
	printMatrix(specs, base, cells)
	return nil
}

// runCell measures one cell on server s (index si of pids).
func runCell(s *server, base runConfig, c *cell, pids []int, si int) (measured, error) {
	cfg := base
	cfg.addr, cfg.mode, cfg.pipeline, cfg.prefilled = s.addr, c.mode, c.pipeline, true
	runtime.GC() // the generator's own garbage, so it does not land inside a run
	snap := make(chan cpuSnap, 1)
	cfg.onMeasure = func() { snap <- takeCPUSnap(pids) }
	r, err := run(cfg)
	after := takeCPUSnap(pids)
	if err != nil {
		return measured{}, fmt.Errorf("%s: %w", s.spec.name, err)
	}
	m := measured{res: r}
	select {
	case before := <-snap:
		m.cpu = cpuBetween(before, after, si)
	default:
	}
	if r.aborted > 0 {
		return m, fmt.Errorf("%s %s pipeline %d: %d connections failed: %v\n%s",
			s.spec.name, c.mode, c.pipeline, r.aborted, r.err, s.out)
	}
	select {
	case <-s.done:
		return m, fmt.Errorf("%s exited (%v): %s", s.spec.name, s.werr, s.out)
	default:
	}
	return m, nil
}

// median returns the middle of xs (the mean of the middle two if even).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// printMatrix prints the summary (the second server against the first) and
// every run in detail, in Markdown. Ratios are taken within a round, where
// both servers ran seconds apart, and then their median is shown.
func printMatrix(specs []serverSpec, base runConfig, cells []*cell) {
	a, b := specs[0].name, specs[1].name
	rounds := len(cells[0].runs)
	fmt.Printf("%d connections, %d-byte values, %d keys (prefilled), %v measured after %v warmup per run, %d round(s).\n",
		base.conns, base.size, base.keys, base.duration, base.warmup, rounds)
	fmt.Printf("Latency is per request at pipeline 1 and per batch at deeper pipelines.\n")
	if rounds > 1 {
		fmt.Printf("Figures are medians over the rounds; brackets give the lowest and highest per-round ratio.\n")
	}
	fmt.Printf("\n| workload | pipeline | %s ops/s | %s ops/s | %s/%s | %s p99 | %s p99 | p99 %s/%s |\n", a, b, b, a, a, b, b, a)
	fmt.Printf("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range cells {
		var opsA, opsB, p99A, p99B, ratio, p99Ratio []float64
		for _, rs := range c.runs {
			ra, rb := rs[0].res, rs[1].res
			pa, pb := float64(ra.hist.Quantile(0.99)), float64(rb.hist.Quantile(0.99))
			opsA, opsB = append(opsA, ra.opsPerSec()), append(opsB, rb.opsPerSec())
			p99A, p99B = append(p99A, pa), append(p99B, pb)
			ratio = append(ratio, rb.opsPerSec()/ra.opsPerSec())
			p99Ratio = append(p99Ratio, pb/max(pa, 1))
		}
		fmt.Printf("| %s | %d | %.0f | %.0f | %s | %s | %s | %s |\n", c.mode, c.pipeline,
			median(opsA), median(opsB), spread(ratio),
			fmtDur(time.Duration(median(p99A))), fmtDur(time.Duration(median(p99B))), spread(p99Ratio))
	}
	var busiest float64
	for _, c := range cells {
		for _, rs := range c.runs {
			for _, m := range rs {
				busiest = max(busiest, m.cpu.other)
			}
		}
	}
	if busiest >= 0.1 {
		fmt.Printf("\nWarning: other processes used up to %.2f cores during some runs (see \"other CPU\" below).\n", busiest)
	}
	fmt.Printf("\nCPU columns are in cores (of %d): the server under test, this benchmark, and other processes\n", runtime.NumCPU())
	fmt.Printf("on the machine; server µs/op is the server's CPU time per request.\n\n")
	fmt.Printf("| workload | pipeline | round | server | ops/s | p50 | p99 | p99.9 | max | errors | server CPU | server µs/op | bench CPU | other CPU |\n")
	fmt.Printf("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range cells {
		for round, rs := range c.runs {
			for i, m := range rs {
				r, h, u := m.res, &m.res.hist, m.cpu
				cpu := "| - | - | - | -"
				if u.ok {
					cpu = fmt.Sprintf("| %.2f | %.1f | %.2f | %.2f", u.server, u.server*1e6/r.opsPerSec(), u.bench, u.other)
				}
				fmt.Printf("| %s | %d | %d | %s | %.0f | %s | %s | %s | %s | %d %s |\n", c.mode, c.pipeline, round+1,
					specs[i].name, r.opsPerSec(), fmtDur(h.Quantile(0.5)), fmtDur(h.Quantile(0.99)),
					fmtDur(h.Quantile(0.999)), fmtDur(h.Max()), r.errors, cpu)
			}
		}
	}
	fmt.Println()
}

// spread formats the median of ratios, with their range when there are several.
func spread(xs []float64) string {
	if len(xs) == 1 {
		return fmt.Sprintf("%.2f", xs[0])
	}
	return fmt.Sprintf("%.2f [%.2f–%.2f]", median(xs), slices.Min(xs), slices.Max(xs))
}

// memUsage is one server's memory test outcome.
type memUsage struct {
	before, after int64
	items         string // curr_items from stats
	checked, bad  int
	loadTime      time.Duration
}

// memoryTest loads items into a fresh instance of each server, one at a
// time, and compares resident memory per item.
func memoryTest(specs []serverSpec, items, size int) error {
	res := make([]memUsage, len(specs))
	for i, spec := range specs {
		s, err := startServer(spec)
		if err != nil {
			return err
		}
		u, err := measureMemory(s, items, size)
		s.stop()
		if err != nil {
			return fmt.Errorf("%s: memory test: %w", spec.name, err)
		}
		res[i] = u
		fmt.Fprintf(os.Stderr, "memory %-9s %d items loaded in %v, RSS %d -> %d\n",
			spec.name, items, u.loadTime.Round(time.Millisecond), u.before, u.after)
	}
	fmt.Printf("Memory: %d items, keys key:%%010d, %d-byte values, fresh servers; RSS from /proc/PID/status VmRSS.\n\n", items, size)
	fmt.Printf("| server | RSS before | RSS after | bytes/item | curr_items | sampled gets ok |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---:|\n")
	for i, u := range res {
		fmt.Printf("| %s | %.1f MiB | %.1f MiB | %.1f | %s | %d/%d |\n", specs[i].name,
			float64(u.before)/(1<<20), float64(u.after)/(1<<20),
			float64(u.after-u.before)/float64(items), u.items, u.checked-u.bad, u.checked)
	}
	per := func(u memUsage) float64 { return float64(u.after - u.before) }
	fmt.Printf("\n%s/%s bytes per item: %.2f\n", specs[1].name, specs[0].name, per(res[1])/per(res[0]))
	return nil
}

// measureMemory loads items into the fresh server s and reads its RSS
// before and after, then checks the items are there.
func measureMemory(s *server, items, size int) (memUsage, error) {
	var u memUsage
	time.Sleep(500 * time.Millisecond) // let start-up allocation settle
	var err error
	if u.before, err = rssBytes(s.pid()); err != nil {
		return u, err
	}
	t := time.Now()
	if err := load(s.addr, items, size, 4); err != nil {
		return u, err
	}
	u.loadTime = time.Since(t)
	time.Sleep(time.Second)
	if u.after, err = rssBytes(s.pid()); err != nil {
		return u, err
	}
	st, err := stats(s.addr)
	if err != nil {
		return u, err
	}
	u.items = st["curr_items"]
	step := max(items/1000, 1)
	u.checked, u.bad, err = verify(s.addr, items, size, step)
	return u, err
}

// cpuSnap is CPU time in clock ticks (USER_HZ) at one moment: the machine's
// busy and total time from /proc/stat, this process's, and each server's.
type cpuSnap struct {
	busy, total int64 // machine: user+nice+system, and everything
	self        int64
	servers     []int64
}

// takeCPUSnap reads a cpuSnap; missing files count as zero, since this only
// annotates the results.
func takeCPUSnap(pids []int) cpuSnap {
	var s cpuSnap
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i := 1; i < len(f) && i <= 8; i++ { // user..steal; guest is inside user
			n, _ := strconv.ParseInt(f[i], 10, 64)
			s.total += n
			if i <= 3 {
				s.busy += n
			}
		}
	}
	s.self = procTicks("self")
	for _, pid := range pids {
		s.servers = append(s.servers, procTicks(strconv.Itoa(pid)))
	}
	return s
}

// procTicks returns a process's utime+stime from /proc/PID/stat.
func procTicks(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The command name may contain spaces; fields restart after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64) // field 14 overall
	k, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return u + k
}

// cpuUse is how a measured run's CPU time was spent, in cores (1.0 = one CPU
// busy for the whole run).
type cpuUse struct {
	server, bench, other float64
	ok                   bool
}

// cpuBetween attributes the CPU time between two snapshots. "other" is busy
// time of processes that are neither the benchmark nor a server under test
// (softirq work for loopback traffic is not in it).
func cpuBetween(a, b cpuSnap, si int) cpuUse {
	if a.total == 0 || b.total <= a.total || len(a.servers) != len(b.servers) {
		return cpuUse{}
	}
	wall := float64(b.total-a.total) / float64(runtime.NumCPU()) // ticks of one CPU
	u := cpuUse{ok: true}
	var servers int64
	for i := range a.servers {
		servers += b.servers[i] - a.servers[i]
	}
	u.server = float64(b.servers[si]-a.servers[si]) / wall
	u.bench = float64(b.self-a.self) / wall
	u.other = max(float64(b.busy-a.busy-servers-(b.self-a.self))/wall, 0)
	return u
}
