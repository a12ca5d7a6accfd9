package redis

import (
	"fmt"
	"io"
	"math/rand"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/keyspace"
)

// TestPubSubNoLeak: many subscribe / unsubscribe / disconnect cycles over
// thousands of channels and patterns, with a publisher running, leave no
// subscriptions in the hub, no clients and no goroutines behind (each
// subscriber has a writer goroutine besides its connection's).
func TestPubSubNoLeak(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	stop := make(chan struct{})
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		nc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		go io.Copy(io.Discard, nc)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			fmt.Fprintf(nc, "PUBLISH ch:%d m\r\n", i%3000)
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for i := 0; i < 60; i++ {
				nc, err := net.Dial("tcp", ts.addr)
				if err != nil {
					t.Error(err)
					return
				}
				var b strings.Builder
				b.WriteString("SUBSCRIBE")
				for k := 0; k < 40; k++ {
					fmt.Fprintf(&b, " ch:%d", rng.Intn(3000))
				}
				b.WriteString("\r\nPSUBSCRIBE")
				for k := 0; k < 8; k++ {
					fmt.Fprintf(&b, " ch:%d*", rng.Intn(1000))
				}
				fmt.Fprintf(&b, "\r\nSSUBSCRIBE sh:%d\r\n", rng.Intn(300))
				switch rng.Intn(4) {
				case 1:
					b.WriteString("UNSUBSCRIBE\r\nPUNSUBSCRIBE\r\nSUNSUBSCRIBE\r\n")
				case 2:
					b.WriteString("RESET\r\n")
				case 3:
					b.WriteString("QUIT\r\n")
				}
				io.WriteString(nc, b.String())
				nc.SetReadDeadline(time.Now().Add(time.Duration(rng.Intn(20)) * time.Millisecond))
				io.ReadFull(nc, make([]byte, rng.Intn(4096)))
				nc.Close()
			}
		}(g)
	}
	wg.Wait()
	close(stop)
	<-pubDone
	deadline := time.Now().Add(20 * time.Second)
	for {
		ch, pat, sh := ts.srv.hub.Counts()
		n := runtime.NumGoroutine()
		if ch+pat+sh == 0 && n <= before {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("after the churn: %d channels, %d patterns, %d shard channels; %d goroutines, %d before\n%s",
				ch, pat, sh, n, before, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
