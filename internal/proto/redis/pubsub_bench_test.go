package redis

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"ferry/internal/keyspace"
)

// BenchmarkPubSubFanout: one publisher pipelining PUBLISH (32 per write)
// to 50 subscribers over loopback, SUBSCRIBE or PSUBSCRIBE, with at most
// 2000 messages in flight. b.N counts PUBLISH commands; the subscribers
// read and count every message. Profile the server with
//
//	go test ./internal/proto/redis -run XXX -bench PubSubFanout -cpuprofile /tmp/ps.prof
func BenchmarkPubSubFanout(b *testing.B) {
	for _, mode := range []string{"channel", "pattern"} {
		b.Run(mode, func(b *testing.B) { benchFanout(b, mode, 50) })
	}
}

func benchFanout(b *testing.B, mode string, nsubs int) {
	ts := startServer(b, Config{}, keyspace.Config{})
	sub := "SUBSCRIBE bench.ch\r\n"
	if mode == "pattern" {
		sub = "PSUBSCRIBE bench.*\r\n"
	}
	counts := make([]atomic.Int64, nsubs)
	var wg sync.WaitGroup
	conns := make([]net.Conn, nsubs)
	for i := range conns {
		nc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = nc
		io.WriteString(nc, sub)
		r := bufio.NewReaderSize(nc, 64<<10)
		if _, err := r.ReadSlice('\n'); err != nil { // "*3": the confirmation
			b.Fatal(err)
		}
		for j := 0; j < 5; j++ { // $9 subscribe $8 bench.ch :1 (or $10 psubscribe $7 bench.*)
			r.ReadSlice('\n')
		}
		wg.Add(1)
		go func(i int, r *bufio.Reader) {
			defer wg.Done()
			lines := 7 // *3 $7 message $7 bench.ch $n payload
			if mode == "pattern" {
				lines = 9
			}
			for {
				for j := 0; j < lines; j++ {
					if _, err := r.ReadSlice('\n'); err != nil {
						return
					}
				}
				counts[i].Add(1)
			}
		}(i, r)
	}
	pub, err := net.Dial("tcp", ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	pr := bufio.NewReader(pub)
	const pipeline, window = 32, 2000
	payload := bytes.Repeat([]byte("x"), 64)
	var batch []byte
	for i := 0; i < pipeline; i++ {
		batch = fmt.Appendf(batch, "*3\r\n$7\r\nPUBLISH\r\n$8\r\nbench.ch\r\n$%d\r\n%s\r\n", len(payload), payload)
	}
	want := fmt.Sprintf(":%d\r\n", nsubs)
	minCount := func() int64 {
		m := counts[0].Load()
		for i := range counts[1:] {
			m = min(m, counts[i+1].Load())
		}
		return m
	}
	b.ReportAllocs()
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		for int64(sent)-minCount() > window {
			runtime.Gosched()
		}
		pub.Write(batch)
		for i := 0; i < pipeline; i++ {
			line, err := pr.ReadSlice('\n')
			if err != nil || string(line) != want {
				b.Fatalf("PUBLISH reply %q %v", line, err)
			}
		}
		sent += pipeline
	}
	for minCount() < int64(sent) {
		runtime.Gosched()
	}
	b.StopTimer()
	b.ReportMetric(float64(sent*nsubs)/b.Elapsed().Seconds(), "deliveries/s")
	for _, nc := range conns {
		nc.Close()
	}
	wg.Wait()
}
