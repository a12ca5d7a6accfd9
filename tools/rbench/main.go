// Command rbench is a side-by-side benchmark of Ferry's Redis front end
// against redis-server, driven by redis-benchmark.
//
//	rbench -ferry /tmp/ferry-rb -rounds 3
//
// starts redis-server and "ferry redis-server" on free loopback ports (in
// temporary working directories), probes each selected redis-benchmark test
// on both servers with the command that test sends, and then runs
//
//	redis-benchmark -h 127.0.0.1 -p PORT -c 50 -n N -P DEPTH -t TEST -r 100000 --csv
//
// once per test, pipeline depth and server, alternating which server goes
// first from cell to cell and round to round, -rounds times over. A test
// that a server answers with an error (for example "ERR unknown command"
// from a command family Ferry does not have yet) is skipped on that server
// with a note, and the rest of the matrix still runs. Each run is bounded by
// -timeout, so a server that hangs shows up as a failed cell.
//
// For every run it records redis-benchmark's CSV line (rps and latency
// percentiles) and the CPU time the server process used, from utime+stime
// in /proc/PID/stat, divided by the requests sent: a figure that moves less
// than throughput when other processes share the machine. It then prints,
// in Markdown, a summary per cell (medians over rounds; ratios are taken
// within a round and shown as median [min–max]) and every run in detail.
//
// Last, the memory test starts a fresh process of each server, one at a
// time, writes -mem-keys distinct keys "key:%010d" with -mem-size byte
// values over pipelined connections (RESP SET commands, every reply
// checked), and reports DBSIZE, INFO's used_memory, and the growth of VmRSS
// per key, with a GET of every 1000th key to check the values. -rounds 0
// runs the memory test alone; -mem-keys 0 skips it.
//
// Tests that print a preparation line first (LRANGE_* fills a list with
// LPUSH) are reported by their own, last, line; the preparation's requests
// are counted in the CPU time per request.
//
// Every process rbench starts is stopped by its PID when it finishes, and on
// SIGINT or SIGTERM. See "rbench -h" for the flags and docs/benchmarks.md for
// results.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are rbench's flags.
type options struct {
	redisPath, redisArgs string
	ferryPath, ferryArgs string
	benchPath            string
	tests                []string
	pipelines            []int
	rounds               int
	clients              int
	requests             int // per run at pipeline 1
	requestsPipelined    int // per run at deeper pipelines
	keyspace             int // redis-benchmark -r; 0 leaves it out
	dataSize             int // redis-benchmark -d; 0 leaves it out
	timeout              time.Duration
	baseline             bool // run redis-server alone on cells Ferry cannot run
	memKeys, memSize     int
}

func main() {
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	fs := flag.NewFlagSet("rbench", flag.ExitOnError)
	var o options
	fs.StringVar(&o.redisPath, "redis", "/usr/bin/redis-server", "redis-server binary")
	fs.StringVar(&o.redisArgs, "redis-args", "--save '' --appendonly no", "redis-server arguments (--port and --bind are added)")
	fs.StringVar(&o.ferryPath, "ferry", "ferry", "ferry binary")
	fs.StringVar(&o.ferryArgs, "ferry-args", "redis-server --save '' --appendonly no", "ferry arguments (--port and --bind are added)")
	fs.StringVar(&o.benchPath, "benchmark", "/usr/bin/redis-benchmark", "redis-benchmark binary")
	tests := fs.String("t", "set,get,incr,lpush,lpop,sadd,hset,zadd,mset", "redis-benchmark tests, comma-separated")
	pipes := fs.String("P", "1,16", "pipeline depths, comma-separated")
	fs.IntVar(&o.rounds, "rounds", 3, "times to run the whole matrix; the summary takes medians (0: memory test only)")
	fs.IntVar(&o.clients, "c", 50, "redis-benchmark clients (-c)")
	fs.IntVar(&o.requests, "n", 60000, "requests per run at pipeline 1 (-n)")
	fs.IntVar(&o.requestsPipelined, "n-pipelined", 250000, "requests per run at pipeline depths above 1 (-n)")
	fs.IntVar(&o.keyspace, "r", 100000, "redis-benchmark -r (random keys); 0 omits it, so every SET/GET/INCR hits one key")
	fs.IntVar(&o.dataSize, "d", 0, "redis-benchmark -d (value size); 0 keeps its default of 3 bytes")
	fs.DurationVar(&o.timeout, "timeout", 90*time.Second, "longest a single redis-benchmark run may take before it counts as a hang")
	fs.BoolVar(&o.baseline, "baseline", true, "still run redis-server on cells Ferry cannot run, for reference")
	fs.IntVar(&o.memKeys, "mem-keys", 1000000, "keys for the memory test (0 skips it)")
	fs.IntVar(&o.memSize, "mem-size", 100, "value size for the memory test")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: rbench [flags]\n\nBenchmarks Ferry's Redis front end against redis-server with redis-benchmark.\n\n")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	for _, t := range strings.Split(*tests, ",") {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			o.tests = append(o.tests, t)
		}
	}
	for _, p := range strings.Split(*pipes, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || d < 1 {
			fmt.Fprintf(os.Stderr, "rbench: bad pipeline depth %q\n", p)
			return 2
		}
		o.pipelines = append(o.pipelines, d)
	}
	if len(o.tests) == 0 || o.rounds < 0 || o.clients < 1 || o.requests < 1 || o.requestsPipelined < 1 {
		fmt.Fprintln(os.Stderr, "rbench: need at least one test, client and request")
		return 2
	}
	redisArgs, err := splitArgs(o.redisArgs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rbench: -redis-args:", err)
		return 2
	}
	ferryArgs, err := splitArgs(o.ferryArgs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rbench: -ferry-args:", err)
		return 2
	}
	specs := []serverSpec{
		{name: "redis", path: o.redisPath, args: redisArgs},
		{name: "ferry", path: o.ferryPath, args: ferryArgs},
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "rbench: interrupted, stopping servers")
		stopAll()
		os.Exit(130)
	}()
	defer stopAll()

	start := time.Now()
	printMachine(o)
	if o.rounds > 0 {
		if err := runMatrix(specs, o); err != nil {
			fmt.Fprintln(os.Stderr, "rbench:", err)
			return 1
		}
	}
	if o.memKeys > 0 {
		if err := memoryTest(specs, o.memKeys, o.memSize); err != nil {
			fmt.Fprintln(os.Stderr, "rbench:", err)
			return 1
		}
	}
	fmt.Printf("\nTotal time: %v\n", time.Since(start).Round(time.Second))
	return 0
}

// printMachine prints what the numbers depend on.
func printMachine(o options) {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	fmt.Printf("machine: %d CPUs (%s), rbench built with %s %s/%s\n", runtime.NumCPU(), model,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("redis-server: %s\n", versionOf(o.redisPath, "--version"))
	fmt.Printf("redis-benchmark: %s\n\n", versionOf(o.benchPath, "--version"))
}
