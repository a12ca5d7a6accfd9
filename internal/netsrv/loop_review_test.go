//go:build linux

package netsrv

import (
	"bufio"
	"fmt"
	"math/rand"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoopKillChurnNoCrossTalk: clients come and go on event loops while
// another goroutine kills connections at random and some detach. A
// descriptor used after its close (the number taken by a new connection)
// would show up as one client receiving another's bytes; every client
// must read back only its own lines. Afterwards no descriptor or
// goroutine is left.
func TestLoopKillChurnNoCrossTalk(t *testing.T) {
	for _, loops := range []int{1, 2} {
		t.Run(fmt.Sprintf("loops=%d", loops), func(t *testing.T) {
			fds0 := countFDs(t)
			gs0 := runtime.NumGoroutine()
			cfg := Config{Name: "test", Addr: "127.0.0.1:0", EventLoops: loops}
			s, err := Listen(cfg, lineEcho{})
			if err != nil {
				t.Fatal(err)
			}
			go s.Serve()
			stop := make(chan struct{})
			var killer sync.WaitGroup
			killer.Add(1)
			go func() {
				defer killer.Done()
				r := rand.New(rand.NewSource(1))
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					s.Each(func(c *Conn) {
						if r.Intn(4) == 0 {
							c.Kill()
						}
					})
				}
			}()
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; i < 60; i++ {
						if err := churnOnce(s.Addr().String(), fmt.Sprintf("w%d-%d", w, i), i%5 == 0); err != nil {
							errs <- err
							return
						}
					}
				}(w)
			}
			wg.Wait()
			close(stop)
			killer.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if err := s.Close(2 * time.Second); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				fds, gs := countFDs(t), runtime.NumGoroutine()
				if fds <= fds0 && gs <= gs0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after Close: descriptors %d -> %d, goroutines %d -> %d", fds0, fds, gs0, gs)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// churnOnce connects, optionally detaches, echoes a few lines tagged with
// id and checks that whatever comes back (until a kill) is its own.
func churnOnce(addr, id string, detach bool) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if detach {
		fmt.Fprintf(c, "detach\n")
		l, err := r.ReadString('\n')
		if err != nil {
			return nil // killed first
		}
		if l != "detached\n" {
			return fmt.Errorf("%s: got %q for detach", id, l)
		}
	}
	for j := 0; j < 5; j++ {
		want := fmt.Sprintf("%s-%d\n", id, j)
		if _, err := c.Write([]byte(want)); err != nil {
			return nil
		}
		l, err := r.ReadString('\n')
		if err != nil {
			if l != "" && !strings.HasPrefix(want, l) {
				return fmt.Errorf("%s: partial line %q, want a prefix of %q", id, l, want)
			}
			return nil // killed
		}
		if l != want {
			return fmt.Errorf("%s: got %q, want %q (another connection's bytes?)", id, l, want)
		}
	}
	return nil
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}
