package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a redis-server or Ferry process psbench started.
type server struct {
	name string
	addr string
	cmd  *exec.Cmd
	dir  string
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}

// startServer runs argv (with "PORT" replaced by a free port) under
// taskset -c cpus when cpus is set, and waits until it accepts.
func startServer(name, cpus string, argv []string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := slices.Clone(argv)
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "PORT", port)
	}
	if cpus != "" {
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	dir, err := os.MkdirTemp("", "psbench-"+name)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &server{name: name, addr: "127.0.0.1:" + port, cmd: cmd, dir: dir}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", s.addr); err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s (%s) did not listen", name, strings.Join(args, " "))
		}
	}
}

// stop kills the process psbench started (by its PID only).
func (s *server) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
	os.RemoveAll(s.dir)
}

// cpu returns the server's user+system CPU time so far (/proc/PID/stat).
func (s *server) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// sample is one run of one load against one server.
type sample struct {
	res *result
	cpu time.Duration
}

func compareMain(argv []string) int {
	fs := flag.NewFlagSet("psbench compare", flag.ExitOnError)
	ferryBin := fs.String("ferry", "", "Ferry binary (required)")
	redisBin := fs.String("redis", "/usr/bin/redis-server", "redis-server binary")
	cpus := fs.String("server-cpus", "", "run both servers under taskset -c with this CPU list (e.g. 0)")
	rounds := fs.Int("rounds", 3, "rounds; each runs every load on both servers, alternating which goes first")
	var l loadFlags
	l.register(fs)
	fs.Parse(argv)
	if *ferryBin == "" {
		fmt.Fprintln(os.Stderr, "psbench compare: -ferry is required")
		return 2
	}
	common := []string{"--port", "PORT", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	redis, err := startServer("redis", *cpus, append([]string{*redisBin}, common...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "psbench:", err)
		return 1
	}
	defer redis.stop()
	ferry, err := startServer("ferry", *cpus, append([]string{*ferryBin, "redis-server"}, common...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "psbench:", err)
		return 1
	}
	defer ferry.stop()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		redis.stop()
		ferry.stop()
		os.Exit(130)
	}()

	loads := l.loads("")
	// samples[load][server] over the rounds.
	samples := make([][2][]sample, len(loads))
	servers := [2]*server{redis, ferry}
	for round := 0; round < *rounds; round++ {
		for li, cfg := range loads {
			order := []int{0, 1}
			if (round+li)%2 == 1 {
				order = []int{1, 0}
			}
			for _, si := range order {
				s := servers[si]
				cfg.addr = s.addr
				c0 := s.cpu()
				res, err := run(cfg)
				if err != nil {
					fmt.Fprintf(os.Stderr, "psbench: %s %s %s: %v\n", s.name, cfg.mode, loadName(cfg), err)
					return 1
				}
				cpu := s.cpu() - c0
				samples[li][si] = append(samples[li][si], sample{res, cpu})
				fmt.Fprintf(os.Stderr, "round %d %-7s %-5s %-13s delivered %9.0f/s  p99 %8.0f µs  cpu %5.2f cores\n",
					round+1, cfg.mode, s.name, loadName(cfg), res.deliverRate(), us(res.lat.Quantile(0.99)),
					cpu.Seconds()/res.elapsed.Seconds())
			}
		}
	}
	report(loads, samples, l.subs)
	return 0
}

// report prints the medians over the rounds and the ferry/redis ratios
// (each ratio taken within a round, then the median of those).
func report(loads []config, samples [][2][]sample, subs int) {
	fmt.Printf("%d subscribers, 1 publisher. Median of %d rounds; ratios are ferry/redis within a round, median [min–max].\n\n",
		subs, len(samples[0][0]))
	fmt.Println("| mode | load | redis delivered/s | ferry delivered/s | ferry/redis | redis p50 µs | ferry p50 µs | redis p99 µs | ferry p99 µs | p99 ferry/redis | redis CPU µs/1k msg | ferry CPU µs/1k msg |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for li, cfg := range loads {
		r, f := samples[li][0], samples[li][1]
		del := func(s sample) float64 { return s.res.deliverRate() }
		p50 := func(s sample) float64 { return us(s.res.lat.Quantile(0.5)) }
		p99 := func(s sample) float64 { return us(s.res.lat.Quantile(0.99)) }
		cpuPerK := func(s sample) float64 {
			if s.res.delivered == 0 {
				return 0
			}
			return float64(s.cpu.Microseconds()) / float64(s.res.delivered) * 1000
		}
		fmt.Printf("| %s | %s | %.0f | %.0f | %s | %.0f | %.0f | %.0f | %.0f | %s | %.1f | %.1f |\n",
			cfg.mode, loadName(cfg), median(r, del), median(f, del), ratio(f, r, del),
			median(r, p50), median(f, p50), median(r, p99), median(f, p99), ratio(f, r, p99),
			median(r, cpuPerK), median(f, cpuPerK))
	}
}

func median(ss []sample, f func(sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	return med(v)
}

func med(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// ratio formats the median and range of a/b over paired rounds.
func ratio(a, b []sample, f func(sample) float64) string {
	var v []float64
	for i := range min(len(a), len(b)) {
		if f(b[i]) > 0 {
			v = append(v, f(a[i])/f(b[i]))
		}
	}
	if len(v) == 0 {
		return "–"
	}
	m := med(slices.Clone(v))
	return fmt.Sprintf("%.2f [%.2f–%.2f]", m, slices.Min(v), slices.Max(v))
}
