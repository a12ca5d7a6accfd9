package redis

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"ferry/internal/keyspace"
	"ferry/internal/netsrv"
	"ferry/internal/testutil"
)

// startOneLoop starts a server whose clients all share one event loop, so
// that a client that waits on the loop would stall every other one.
func startOneLoop(t *testing.T) *testServer {
	t.Helper()
	ks := keyspace.New(keyspace.Config{})
	t.Cleanup(ks.Close)
	s := New(ks, Config{})
	t.Cleanup(s.Close)
	ln := testutil.Serve(t, netsrv.Config{Name: "redis", Reject: s.Reject, EventLoops: 1}, s)
	s.SetListeners(single{ln})
	return &testServer{ks: ks, srv: s, addr: ln.Addr().String()}
}

// TestWaitingClientsLeaveTheLoop: clients that wait (a blocking pop, a
// subscription, CLIENT PAUSE, a reply the socket cannot take) leave their
// event loop; the clients that share it go on being served.
func TestWaitingClientsLeaveTheLoop(t *testing.T) {
	ts := startOneLoop(t)
	ctx := context.Background()
	other := clientFor(t, ts, 2)
	busy := func(what string) {
		t.Helper()
		for i := 0; i < 50; i++ {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := other.Set(ctx, "k", i, 0).Err()
			cancel()
			if err != nil {
				t.Fatalf("%s: another client on the loop was not served: %v", what, err)
			}
		}
	}

	// A blocked BLPOP.
	blocker := clientFor(t, ts, 2)
	popped := make(chan []string, 1)
	go func() {
		v, _ := blocker.BLPop(ctx, 0, "q").Result()
		popped <- v
	}()
	waitBlocked(t, other, 1)
	busy("BLPOP")
	other.RPush(ctx, "q", "job")
	select {
	case v := <-popped:
		if len(v) != 2 || v[1] != "job" {
			t.Fatalf("BLPOP got %v", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("BLPOP not woken")
	}
	// The detached client keeps working.
	if v, err := blocker.Get(ctx, "k").Result(); err != nil || v != "49" {
		t.Fatalf("blocker after its pop: %q %v", v, err)
	}

	// A subscriber, served by publishers from other goroutines.
	sub := clientFor(t, ts, 3).Subscribe(ctx, "ch")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	busy("SUBSCRIBE")
	if n, err := other.Publish(ctx, "ch", "hello").Result(); err != nil || n != 1 {
		t.Fatalf("PUBLISH: %d %v", n, err)
	}
	if m, err := sub.ReceiveMessage(ctx); err != nil || m.Payload != "hello" {
		t.Fatalf("message: %v %v", m, err)
	}

	// CLIENT PAUSE WRITE: a paused writer waits; readers on its loop do not.
	admin := clientFor(t, ts, 2)
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "1000", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	writer := clientFor(t, ts, 2)
	wrote := make(chan time.Time, 1)
	start := time.Now()
	go func() {
		writer.Set(ctx, "paused", "1", 0)
		wrote <- time.Now()
	}()
	time.Sleep(50 * time.Millisecond)
	for i := 0; i < 20; i++ {
		if err := other.Get(ctx, "k").Err(); err != nil {
			t.Fatalf("read during CLIENT PAUSE WRITE: %v", err)
		}
	}
	if d := time.Since(start); d > 700*time.Millisecond {
		t.Fatalf("reads waited for the paused writer: %v", d)
	}
	if d := (<-wrote).Sub(start); d < 900*time.Millisecond {
		t.Fatalf("paused write went through after %v", d)
	}

	// A 32 MB reply to a client that does not read yet.
	if err := other.Set(ctx, "big", strings.Repeat("x", 32<<20), 0).Err(); err != nil {
		t.Fatal(err)
	}
	slow := testutil.Dial(t, ts.addr)
	slow.Send("GET big\r\n")
	time.Sleep(100 * time.Millisecond)
	busy("large reply")
	raw := slow.Raw()
	raw.SetReadDeadline(time.Now().Add(20 * time.Second))
	want := int64(len("$33554432\r\n") + 32<<20 + 2)
	if n, err := io.CopyN(io.Discard, raw, want); err != nil || n != want {
		t.Fatalf("slow reader got %d of %d bytes: %v", n, want, err)
	}
	slow.Send("PING\r\n")
	slow.Expect("+PONG\r\n")
}
