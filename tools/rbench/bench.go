package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// probe is a command a redis-benchmark test sends, and the reply a fresh
// server should give to it (nil: any non-error reply).
type probe struct {
	args []string
	want any
}

// testProbe is the probe of one redis-benchmark test.
type testProbe struct {
	test  string
	probe probe
}

// probes maps redis-benchmark test names to commands that exercise the same
// command on keys of their own. Tests run in this order (so LPOP finds the
// element LPUSH left); a test missing here is not probed.
var probes = []testProbe{
	{"ping_inline", probe{[]string{"PING"}, "PONG"}},
	{"ping_mbulk", probe{[]string{"PING"}, "PONG"}},
	{"set", probe{[]string{"SET", "rbench:probe:str", "v"}, "OK"}},
	{"get", probe{[]string{"GET", "rbench:probe:str"}, "v"}},
	{"incr", probe{[]string{"INCR", "rbench:probe:counter"}, int64(1)}},
	{"lpush", probe{[]string{"LPUSH", "rbench:probe:list", "a"}, int64(1)}},
	{"rpush", probe{[]string{"RPUSH", "rbench:probe:list", "b"}, nil}},
	{"lpop", probe{[]string{"LPOP", "rbench:probe:list"}, nil}},
	{"rpop", probe{[]string{"RPOP", "rbench:probe:list"}, nil}},
	{"sadd", probe{[]string{"SADD", "rbench:probe:set", "a"}, int64(1)}},
	{"hset", probe{[]string{"HSET", "rbench:probe:hash", "f", "v"}, int64(1)}},
	{"spop", probe{[]string{"SPOP", "rbench:probe:set"}, nil}},
	{"zadd", probe{[]string{"ZADD", "rbench:probe:zset", "1", "a"}, int64(1)}},
	{"zpopmin", probe{[]string{"ZPOPMIN", "rbench:probe:zset"}, nil}},
	{"lrange", probe{[]string{"LRANGE", "rbench:probe:list", "0", "99"}, nil}},
	{"mset", probe{[]string{"MSET", "rbench:probe:m1", "a", "rbench:probe:m2", "b"}, "OK"}},
}

var probeKeys = []string{"rbench:probe:str", "rbench:probe:counter", "rbench:probe:list",
	"rbench:probe:set", "rbench:probe:hash", "rbench:probe:zset", "rbench:probe:m1", "rbench:probe:m2"}

// probeName returns the probe a test uses ("lrange_100" uses "lrange").
func probeName(test string) string {
	if strings.HasPrefix(test, "lrange") {
		return "lrange"
	}
	return test
}

// hasProbe reports whether probes cover test.
func hasProbe(test string) bool {
	return slices.ContainsFunc(probes, func(p testProbe) bool { return p.test == probeName(test) })
}

// probeResult is what probing one test on one server found.
type probeResult struct {
	skip bool   // the command fails or hangs: do not benchmark it
	note string // why, or an unexpected but non-error reply
}

// probeServer sends each test's probe to s, in probes order, on fresh keys,
// and removes the keys afterwards. An error reply or no reply within 2 s
// marks the test as one to skip.
func probeServer(s *server, tests []string) (map[string]probeResult, error) {
	const timeout = 2 * time.Second
	res := map[string]probeResult{}
	if _, err := oneCommand(s.addr, timeout, append([]string{"DEL"}, probeKeys...)...); err != nil {
		return nil, fmt.Errorf("%s: DEL probe keys: %w", s.spec.name, err)
	}
	for _, p := range probes {
		for _, t := range tests {
			if probeName(t) != p.test {
				continue
			}
			r, err := oneCommand(s.addr, timeout, p.probe.args...)
			cmd := strings.Join(p.probe.args, " ")
			switch {
			case err != nil && errors.As(err, new(respError)):
				res[t] = probeResult{skip: true, note: fmt.Sprintf("`%s` → %s", cmd, shortError(err.Error()))}
			case err != nil:
				res[t] = probeResult{skip: true, note: fmt.Sprintf("`%s` → no reply (%v)", cmd, err)}
			case p.probe.want != nil && !reflect.DeepEqual(r, p.probe.want):
				res[t] = probeResult{note: fmt.Sprintf("`%s` → %#v, expected %#v", cmd, r, p.probe.want)}
			}
		}
	}
	if _, err := oneCommand(s.addr, timeout, append([]string{"DEL"}, probeKeys...)...); err != nil {
		return nil, fmt.Errorf("%s: DEL probe keys: %w", s.spec.name, err)
	}
	return res, nil
}

// shortError cuts "ERR unknown command 'X', with args beginning with: ..."
// down to its first clause.
func shortError(e string) string {
	if i := strings.Index(e, ", with args beginning with"); i >= 0 {
		return e[:i]
	}
	return e
}

// run is one redis-benchmark run of one test on one server.
type run struct {
	server   int // index into the servers
	round    int
	requests int
	wall     time.Duration
	row      csvRow
	cpu      float64 // server CPU seconds (utime+stime)
	bench    float64 // redis-benchmark CPU seconds
	other    float64 // other processes' CPU, in cores
	err      string
}

// usPerReq is the server's CPU time per request, in microseconds.
func (r *run) usPerReq() float64 { return r.cpu * 1e6 / float64(r.requests) }

// csvRow is one line of redis-benchmark --csv output. Latencies are in ms.
type csvRow struct {
	test                              string
	rps, avg, min, p50, p95, p99, max float64
}

// parseCSV reads redis-benchmark 7.0's --csv output: a header line
// "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
// "p95_latency_ms","p99_latency_ms","max_latency_ms" and one line per test.
func parseCSV(out []byte) ([]csvRow, error) {
	r := csv.NewReader(bytes.NewReader(out))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("parse redis-benchmark CSV: %w", err)
	}
	var rows []csvRow
	for _, rec := range recs {
		if len(rec) == 0 || rec[0] == "test" {
			continue
		}
		if len(rec) != 8 {
			return nil, fmt.Errorf("redis-benchmark CSV line has %d fields, want 8: %q", len(rec), rec)
		}
		var v [7]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(rec[i+1], 64); err != nil {
				return nil, fmt.Errorf("redis-benchmark CSV field %d: %w", i+2, err)
			}
		}
		rows = append(rows, csvRow{test: rec[0], rps: v[0], avg: v[1], min: v[2], p50: v[3], p95: v[4], p99: v[5], max: v[6]})
	}
	return rows, nil
}

// benchArgs returns redis-benchmark's arguments for one run.
func benchArgs(o options, port int, test string, pipeline, n int) []string {
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-c", strconv.Itoa(o.clients),
		"-n", strconv.Itoa(n), "-P", strconv.Itoa(pipeline), "-t", test, "--csv"}
	if o.keyspace > 0 {
		args = append(args, "-r", strconv.Itoa(o.keyspace))
	}
	if o.dataSize > 0 {
		args = append(args, "-d", strconv.Itoa(o.dataSize))
	}
	return args
}

// requestsFor returns -n for a pipeline depth.
func requestsFor(o options, pipeline int) int {
	if pipeline > 1 {
		return o.requestsPipelined
	}
	return o.requests
}

// runBench runs redis-benchmark once against servers[si] and measures the
// CPU time every server and the benchmark used meanwhile.
func runBench(o options, servers []*server, si int, test string, pipeline, round int) run {
	s := servers[si]
	n := requestsFor(o, pipeline)
	res := run{server: si, round: round, requests: n}
	ticks := func() []int64 {
		t := make([]int64, len(servers))
		for i, s := range servers {
			t[i], _ = procTicks(s.pid())
		}
		return t
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.benchPath, benchArgs(o, s.port, test, pipeline, n)...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runtime.GC() // rbench's own garbage, so it does not land inside a run
	t0 := ticks()
	busy0, total0 := machineTicks()
	start := time.Now()
	err := cmd.Run()
	res.wall = time.Since(start)
	t1 := ticks()
	busy1, total1 := machineTicks()

	res.cpu = float64(t1[si]-t0[si]) / userHZ
	if cmd.ProcessState != nil {
		res.bench = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	if total1 > total0 {
		wall := float64(total1-total0) / float64(runtime.NumCPU()) / userHZ // seconds of one CPU
		var servers float64
		for i := range t0 {
			servers += float64(t1[i]-t0[i]) / userHZ
		}
		res.other = max(float64(busy1-busy0)/userHZ-servers-res.bench, 0) / wall
	}

	errText := strings.TrimSpace(stderr.String())
	if i := strings.Index(errText, "Error from server:"); i >= 0 {
		line, _, _ := strings.Cut(errText[i:], "\n")
		errText = shortError(strings.TrimSpace(line))
	}
	switch {
	case ctx.Err() != nil:
		res.err = fmt.Sprintf("no result after %v (hang?); redis-benchmark killed", o.timeout)
	case err != nil:
		res.err = fmt.Sprintf("redis-benchmark: %v: %s", err, errText)
	default:
		rows, perr := parseCSV(stdout.Bytes())
		switch {
		case perr != nil:
			res.err = perr.Error()
		case len(rows) == 0:
			res.err = fmt.Sprintf("redis-benchmark printed no result: %q %s", stdout.String(), errText)
		default:
			// Some tests print a preparation step first ("LPUSH (needed
			// to benchmark LRANGE)"); the test's own line comes last. The
			// preparation's requests count towards the server's CPU time.
			res.row = rows[len(rows)-1]
			res.requests = n * len(rows)
		}
	}
	return res
}

// cell is one test at one pipeline depth: its runs on every server, per round.
type cell struct {
	test     string
	pipeline int
	name     string  // the test's name in redis-benchmark's output
	runs     [][]run // [server][]run, in round order
	skip     []string
}

// runMatrix starts both servers, probes the tests, and runs every cell on
// each server, alternating which server goes first from cell to cell and
// round to round.
func runMatrix(specs []serverSpec, o options) error {
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
	tmpl := strings.Join(benchArgs(o, 0, "TEST", 0, 0), " ")
	tmpl = strings.NewReplacer("-p 0 ", "-p PORT ", "-n 0 ", "-n N ", "-P 0 ", "-P DEPTH ").Replace(tmpl)
	fmt.Printf("redis-benchmark: %s %s\n", o.benchPath, tmpl)
	fmt.Printf("N is %d at pipeline 1 and %d at deeper pipelines.\n\n", o.requests, o.requestsPipelined)

	var notes []string
	skip := make([]map[string]string, len(servers)) // test -> why, per server
	for i, s := range servers {
		pr, err := probeServer(s, o.tests)
		if err != nil {
			return err
		}
		skip[i] = map[string]string{}
		for _, t := range o.tests {
			r, ok := pr[t]
			if !hasProbe(t) {
				notes = append(notes, fmt.Sprintf("%s: %s: no probe for this test; benchmarked as is", t, s.spec.name))
			}
			if !ok {
				continue
			}
			if r.skip {
				skip[i][t] = "probe " + r.note
				fmt.Fprintf(os.Stderr, "probe: %s: %s: skipped: %s\n", t, s.spec.name, r.note)
			} else {
				notes = append(notes, fmt.Sprintf("%s: %s: unexpected probe reply: %s", t, s.spec.name, r.note))
			}
		}
	}
	for _, n := range notes {
		fmt.Fprintln(os.Stderr, "probe:", n)
	}

	var cells []*cell
	for _, p := range o.pipelines {
		for _, t := range o.tests {
			cells = append(cells, &cell{test: t, pipeline: p, runs: make([][]run, len(servers)),
				skip: make([]string, len(servers))})
		}
	}
	var fatal error
rounds:
	for round := range o.rounds {
		for ci, c := range cells {
			for k := range servers {
				si := (k + ci + round) % len(servers)
				if why := skip[si][c.test]; why != "" {
					c.skip[si] = why
					continue
				}
				if c.skip[si] != "" {
					continue // failed in an earlier round
				}
				if si == 0 && !o.baseline && skip[1][c.test] != "" {
					continue
				}
				r := runBench(o, servers, si, c.test, c.pipeline, round)
				if err := servers[si].exited(); err != nil {
					r.err = "server exited"
					c.runs[si] = append(c.runs[si], r)
					fatal = err
					break rounds
				}
				name := servers[si].spec.name
				if r.err != "" {
					fmt.Fprintf(os.Stderr, "round %d %-6s P%-2d %-5s FAILED: %s\n", round+1, c.test, c.pipeline, name, r.err)
					c.skip[si] = fmt.Sprintf("pipeline %d, round %d: %s", c.pipeline, round+1, r.err)
					c.runs[si] = append(c.runs[si], r)
					continue
				}
				c.name = r.row.test
				c.runs[si] = append(c.runs[si], r)
				fmt.Fprintf(os.Stderr, "round %d %-6s P%-2d %-5s %9.0f rps  p99 %6.2fms  %5.1fs  cpu %5.1f µs/req  bench %.2f other %.2f cores\n",
					round+1, c.test, c.pipeline, name, r.row.rps, r.row.p99, r.wall.Seconds(), r.usPerReq(),
					r.bench/r.wall.Seconds(), r.other)
			}
		}
	}
	printMatrix(specs, o, cells, notes)
	return fatal
}
