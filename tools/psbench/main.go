// Command psbench measures Redis Pub/Sub fan-out: one publisher and N
// subscribers (default 50) on one channel (SUBSCRIBE) or on a pattern
// (PSUBSCRIBE), reporting delivered messages per second and the publish →
// receive latency (each payload carries its send time).
//
// Against one running server:
//
//	psbench -addr 127.0.0.1:6379 -modes channel,pattern
//
// Ferry against redis-server in one run (both started on free loopback
// ports, stopped at the end; ratios are ferry/redis):
//
//	psbench compare -ferry /tmp/ferry [-redis /usr/bin/redis-server] [-server-cpus 0]
//
// It uses the standard library only.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

func yield() { runtime.Gosched() }

// loadFlags are the flags both forms share.
type loadFlags struct {
	subs, size, pipeline, window, rate, latRate int
	warmup, duration                            time.Duration
	modes                                       string
}

func (l *loadFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&l.subs, "subs", 50, "subscriber connections")
	fs.IntVar(&l.size, "size", 64, "payload bytes (the first 8 are the send time)")
	fs.IntVar(&l.pipeline, "pipeline", 32, "PUBLISH commands per write at full speed")
	fs.IntVar(&l.window, "window", 2000, "messages in flight at most (published, not yet read by the slowest subscriber)")
	fs.IntVar(&l.rate, "rate", 0, "publishes per second for the throughput run (0 = as fast as the window allows)")
	fs.IntVar(&l.latRate, "latency-rate", 2000, "publishes per second of the paced latency run (0 = skip it)")
	fs.DurationVar(&l.warmup, "warmup", time.Second, "load before measuring")
	fs.DurationVar(&l.duration, "d", 5*time.Second, "measured time per run")
	fs.StringVar(&l.modes, "modes", "channel,pattern", "channel (SUBSCRIBE) and/or pattern (PSUBSCRIBE)")
}

// loads returns the runs to make against one server: per mode, full speed
// and (if asked) paced.
func (l *loadFlags) loads(addr string) []config {
	var out []config
	for _, m := range strings.Split(l.modes, ",") {
		base := config{addr: addr, mode: strings.TrimSpace(m), subs: l.subs, size: l.size,
			pipeline: l.pipeline, window: l.window, rate: l.rate, warmup: l.warmup, duration: l.duration}
		out = append(out, base)
		if l.latRate > 0 {
			paced := base
			paced.rate = l.latRate
			out = append(out, paced)
		}
	}
	return out
}

func loadName(c config) string {
	if c.rate > 0 {
		return fmt.Sprintf("%d pub/s", c.rate)
	}
	return "max"
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "compare" {
		os.Exit(compareMain(os.Args[2:]))
	}
	fs := flag.NewFlagSet("psbench", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:6379", "server address")
	var l loadFlags
	l.register(fs)
	fs.Parse(os.Args[1:])
	fmt.Printf("| mode | load | published/s | delivered/s | p50 µs | p99 µs | p99.9 µs | max µs |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, cfg := range l.loads(*addr) {
		res, err := run(cfg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "psbench: %s %s: %v\n", cfg.mode, loadName(cfg), err)
			return
		}
		fmt.Printf("| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", cfg.mode, loadName(cfg),
			res.publishRate(), res.deliverRate(), us(res.lat.Quantile(0.5)), us(res.lat.Quantile(0.99)),
			us(res.lat.Quantile(0.999)), us(res.lat.Max()))
		if res.wrongN > 0 {
			fmt.Fprintf(os.Stderr, "psbench: %d PUBLISH replies were not %d\n", res.wrongN, cfg.subs)
		}
	}
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }
