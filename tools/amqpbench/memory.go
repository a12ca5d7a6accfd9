package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// memoryMain is `amqpbench memory`: Ferry alone, RSS before and after
// queueing n 1 KB transient messages, fill and drain rates. -ferry-args
// passes configuration (e.g. a memory high watermark, so paging starts).
func memoryMain(args []string) int {
	fs := flag.NewFlagSet("amqpbench memory", flag.ExitOnError)
	ferryBin := fs.String("ferry", "", "ferry binary (required)")
	n := fs.Int("n", 1000000, "1 KB messages to queue")
	size := fs.Int("size", 1024, "message body bytes")
	extra := fs.String("ferry-args", "", "extra ferry arguments, space separated")
	fs.Parse(args)
	if *ferryBin == "" {
		fmt.Fprintln(os.Stderr, "amqpbench memory: -ferry is required")
		return 2
	}
	tmp, err := os.MkdirTemp("", "amqpbench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	fy, err := startFerry(*ferryBin, filepath.Join(tmp, "ferry"), strings.Fields(*extra)...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferry:", err)
		return 1
	}
	defer fy.stop()
	time.Sleep(500 * time.Millisecond)
	before := rss(fy.pid())
	start := time.Now()
	if err := fillForMemory(fy.url, *n, *size); err != nil {
		fmt.Fprintln(os.Stderr, "fill:", err)
		return 1
	}
	fill := time.Since(start)
	time.Sleep(2 * time.Second)
	after := rss(fy.pid())
	fmt.Printf("ferry RSS %d MiB before, %d MiB with %d × %d B queued (%d B/message); fill %.0f msgs/s\n",
		before>>20, after>>20, *n, *size, (after-before)/int64(*n), float64(*n)/fill.Seconds())
	start = time.Now()
	if err := drain(fy.url, *n, *size); err != nil {
		fmt.Fprintln(os.Stderr, "drain:", err)
		return 1
	}
	d := time.Since(start)
	fmt.Printf("ferry drained %d in order, %.0f msgs/s; RSS %d MiB after\n", *n, float64(*n)/d.Seconds(), rss(fy.pid())>>20)
	return 0
}

// drain consumes the n messages fillForMemory queued (acked in batches)
// and checks they come in order with their size.
func drain(url string, n, size int) error {
	c, err := amqp091.Dial(url)
	if err != nil {
		return err
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		return err
	}
	if err := ch.Qos(1000, 0, false); err != nil {
		return err
	}
	ds, err := ch.Consume(queueName(0), "", false, false, false, false, nil)
	if err != nil {
		return err
	}
	timeout := time.After(30 * time.Minute)
	for i := 0; i < n; i++ {
		var d amqp091.Delivery
		select {
		case d = <-ds:
		case <-timeout:
			return fmt.Errorf("timed out after %d", i)
		}
		if len(d.Body) != size || int(uint64(d.Body[0])|uint64(d.Body[1])<<8|uint64(d.Body[2])<<16|uint64(d.Body[3])<<24) != i&0xffffffff {
			return fmt.Errorf("message %d out of order or damaged", i)
		}
		if i%500 == 499 || i == n-1 {
			if err := d.Ack(true); err != nil {
				return err
			}
		}
	}
	return nil
}
