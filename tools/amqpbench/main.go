// Command amqpbench is Ferry's AMQP load tool: publishers and consumers
// over amqp091-go, reporting delivered messages per second and the
// publish → deliver latency (each body starts with its send time). The same
// scenarios run against Ferry and RabbitMQ so the ratio compares brokers,
// not clients.
//
// Against one running broker:
//
//	amqpbench -url amqp://guest:guest@127.0.0.1:5672/ [-scenarios ...]
//
// Ferry against RabbitMQ 3.10 in one run (both started on free loopback
// ports as child processes and stopped at the end; ratios are
// ferry/rabbitmq for rates, rabbitmq/ferry for latencies):
//
//	amqpbench compare -ferry /tmp/ferry [-rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server]
//
// Scenarios (-scenarios, comma-separated): transient-16, transient-1k
// (1 publisher, 1 consumer, no-ack), persistent-1k (4 publishers with
// confirms, 4 consumers with manual acks, durable queue, delivery mode 2),
// fanout-16 (1 publisher, a fanout exchange to 8 queues with one no-ack
// consumer each).
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
	if len(os.Args) > 1 && os.Args[1] == "memory" {
		os.Exit(memoryMain(os.Args[2:]))
	}
	fs := flag.NewFlagSet("amqpbench", flag.ExitOnError)
	url := fs.String("url", "amqp://guest:guest@127.0.0.1:5672/", "broker URL")
	var lf loadFlags
	lf.register(fs)
	fs.Parse(os.Args[1:])
	for _, sc := range lf.scenarios() {
		r, err := run(*url, sc)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", sc.name, err)
			os.Exit(1)
		}
		fmt.Println(r)
	}
}

// loadFlags are the flags both forms share.
type loadFlags struct {
	n, nPersistent, window, prefetch int
	names                            string
	timeout                          time.Duration
}

func (l *loadFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&l.n, "n", 200000, "messages per transient scenario (per queue for fanout)")
	fs.IntVar(&l.nPersistent, "n-persistent", 100000, "messages in the persistent scenario")
	fs.IntVar(&l.window, "window", 1000, "messages in flight at most per publisher (published, not yet delivered)")
	fs.IntVar(&l.prefetch, "prefetch", 200, "basic.qos prefetch of manual-ack consumers")
	fs.StringVar(&l.names, "scenarios", "transient-16,transient-1k,persistent-1k,fanout-16", "scenarios to run")
	fs.DurationVar(&l.timeout, "timeout", 5*time.Minute, "limit per scenario")
}

// scenarios returns the configured runs.
func (l *loadFlags) scenarios() []scenario {
	all := map[string]scenario{
		"transient-16":  {name: "transient-16", size: 16, pubs: 1, cons: 1, queues: 1, n: l.n},
		"transient-1k":  {name: "transient-1k", size: 1024, pubs: 1, cons: 1, queues: 1, n: l.n},
		"persistent-1k": {name: "persistent-1k", size: 1024, pubs: 4, cons: 4, queues: 1, n: l.nPersistent, persistent: true},
		"fanout-16":     {name: "fanout-16", size: 16, pubs: 1, cons: 8, queues: 8, n: l.n / 4, fanout: true},
	}
	var out []scenario
	for _, name := range strings.Split(l.names, ",") {
		sc, ok := all[strings.TrimSpace(name)]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown scenario %q\n", name)
			os.Exit(2)
		}
		sc.window, sc.prefetch, sc.timeout = l.window, l.prefetch, l.timeout
		out = append(out, sc)
	}
	return out
}
