// Command mcbench is a load generator for servers that speak the memcached
// text protocol, and a side-by-side benchmark of Ferry against memcached.
//
// One run against a server that is already up:
//
//	mcbench -addr 127.0.0.1:11211 -mode get -prefill -c 50 -pipeline 1 -d 10s
//
// opens -c connections, one goroutine each, and for -d sends requests for
// uniformly random keys "key:%010d" in [0, -keys): get only (-mode get), set
// only (-mode set, -size byte values) or 10 gets to 1 set (-mode mix). With
// -pipeline D each connection writes D requests at once and then reads the D
// replies. -prefill first stores every key, after which a get miss counts as
// an error. It prints ops/s and the latency percentiles of each request (of
// each batch when D > 1), kept in a fixed-size log-linear histogram.
//
// The side-by-side comparison:
//
//	mcbench compare -ferry /tmp/ferry-bench -rounds 3 -d 3s -warmup 1s
//
// starts memcached and ferry on free loopback ports, runs get, set and mix at
// pipeline 1 and 16 against each (alternating which goes first, so both see
// the same machine), -rounds times over, and prints throughput and p99 ratios
// (medians of per-round ratios) with each run's CPU use. It then loads
// 1,000,000 items into a fresh instance of each and reports resident memory
// per item. See "mcbench compare -h" for its flags, and docs/benchmarks.md
// for results.
//
// The generator runs on the same cores as the server, so it is written to be
// cheap: buffers are built once per connection, replies are parsed in place
// from a bufio.Reader, and nothing is allocated per request.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "compare" {
		os.Exit(compareMain(os.Args[2:]))
	}
	os.Exit(runMain(os.Args[1:]))
}

// loadFlags registers the flags a run and a comparison share.
func loadFlags(fs *flag.FlagSet, cfg *runConfig) {
	fs.IntVar(&cfg.conns, "c", 50, "connections")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "measured duration of a run")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured load before each run")
	fs.IntVar(&cfg.size, "size", 100, "value size in bytes")
	fs.IntVar(&cfg.keys, "keys", 100000, "key space: keys key:0000000000 .. key:<keys-1>")
}

// runMain runs a single load run and returns the exit code.
func runMain(args []string) int {
	fs := flag.NewFlagSet("mcbench", flag.ExitOnError)
	cfg := runConfig{}
	loadFlags(fs, &cfg)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:11211", "server address")
	m := fs.String("mode", "get", "get, set or mix (10 gets : 1 set)")
	fs.IntVar(&cfg.pipeline, "pipeline", 1, "requests per write (replies read before the next write)")
	prefill := fs.Bool("prefill", false, "store every key first; get misses then count as errors")
	fs.Parse(args)
	cfg.mode = mode(*m)
	if cfg.mode != modeGet && cfg.mode != modeSet && cfg.mode != modeMix {
		fmt.Fprintf(os.Stderr, "mcbench: unknown mode %q\n", *m)
		return 2
	}
	if *prefill {
		t := time.Now()
		if err := load(cfg.addr, cfg.keys, cfg.size, 4); err != nil {
			fmt.Fprintln(os.Stderr, "mcbench:", err)
			return 1
		}
		cfg.prefilled = true
		fmt.Printf("prefilled %d keys in %v\n", cfg.keys, time.Since(t).Round(time.Millisecond))
	}
	r, err := run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcbench:", err)
		return 1
	}
	unit := "request"
	if cfg.pipeline > 1 {
		unit = fmt.Sprintf("batch of %d", cfg.pipeline)
	}
	fmt.Printf("mode=%s conns=%d pipeline=%d size=%d keys=%d\n",
		cfg.mode, cfg.conns, cfg.pipeline, cfg.size, cfg.keys)
	fmt.Printf("ops/s %.0f (%d ops in %v)\n", r.opsPerSec(), r.ops, r.elapsed.Round(time.Millisecond))
	fmt.Printf("latency per %s: p50 %s  p99 %s  p99.9 %s  max %s\n", unit,
		fmtDur(r.hist.Quantile(0.50)), fmtDur(r.hist.Quantile(0.99)),
		fmtDur(r.hist.Quantile(0.999)), fmtDur(r.hist.Max()))
	fmt.Printf("hits %d  misses %d  errors %d\n", r.hits, r.misses, r.errors)
	if r.aborted > 0 {
		fmt.Printf("%d connections stopped early; first: %v\n", r.aborted, r.err)
		return 1
	}
	if r.errors > 0 {
		return 1
	}
	return 0
}

// fmtDur prints a latency with three significant digits in a fixed unit.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// splitArgs splits a flag value into arguments at spaces (no quoting).
func splitArgs(s string) []string { return strings.Fields(s) }
