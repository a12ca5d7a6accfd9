package broker

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// newPagingEnv returns a broker paging above threshold bytes of message
// memory (high watermark hw), with its data in a temporary directory.
func newPagingEnv(t *testing.T, dir string, threshold, hw int64) *env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	b, err := New(Config{Dir: dir, Codec: testCodec{}, Logger: quietLogger(),
		MemoryHighWatermark: hw, MemoryPagingThreshold: threshold})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return envFor(t, b)
}

func pagedBody(i, size int) string {
	s := fmt.Sprintf("m%07d-", i)
	for len(s) < size {
		s += "abcdefghijklmnopqrstuvwxyz"
	}
	return s[:size]
}

// getAll drains queue q with basic.get (no-ack) and returns the bodies and
// redelivered flags.
func (e *env) getAll(q string) (bodies []string, redelivered []bool) {
	e.t.Helper()
	for {
		found, err := e.ch.Get(q, true)
		e.must(err)
		if !found {
			return
		}
		for _, ev := range e.sink.take() {
			if ev.kind == "get" {
				bodies = append(bodies, string(ev.d.Body))
				redelivered = append(redelivered, ev.d.Redelivered)
			}
		}
	}
}

func TestPagingBoundsMemoryAndDeliversInOrder(t *testing.T) {
	const n, size = 120_000, 1000
	// Unpaged, 120k messages of 1000 bytes hold ~147 MB: far above the
	// 96 MB watermark. Paged, only the stubs (~300 bytes each) stay.
	e := newPagingEnv(t, "", 1<<20, 96<<20)
	e.declare("q", nil)
	var peak int64
	for i := 0; i < n; i++ {
		e.publish("", "q", pagedBody(i, size))
		if m := e.b.Memory(); m > peak {
			peak = m
		}
	}
	if e.b.MemoryAlarm() {
		t.Fatalf("memory alarm raised while paging (memory %d)", e.b.Memory())
	}
	if peak > int64(n)*(stubOverhead+64)+2<<20 {
		t.Fatalf("peak message memory %d bytes with paging, want about %d (stubs)", peak, n*int(stubOverhead))
	}
	st := e.b.Stats().Pages
	if st.Records < n-2*pageWindow || e.b.Stats().PagedOut < uint64(st.Records) {
		t.Fatalf("page store holds %d records, want about %d", st.Records, n)
	}
	if got := e.queueLen("q"); got != n {
		t.Fatalf("queue length %d, want %d", got, n)
	}
	// A consumer with acks gets everything, in order and intact.
	e.must(e.ch.Qos(0, 500, false))
	_, err := e.ch.Consume(ConsumeArgs{Queue: "q", Tag: "c"})
	e.must(err)
	next := 0
	deadline := time.Now().Add(120 * time.Second)
	for next < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %d deliveries", next)
		}
		select {
		case <-e.sink.signal:
		case <-time.After(10 * time.Millisecond):
		}
		var last uint64
		for _, ev := range e.sink.take() {
			if ev.kind != "deliver" {
				continue
			}
			if want := pagedBody(next, size); string(ev.d.Body) != want {
				t.Fatalf("delivery %d: body %.20q..., want %.20q...", next, ev.d.Body, want)
			}
			if ev.d.Redelivered {
				t.Fatalf("delivery %d redelivered", next)
			}
			last = ev.d.DeliveryTag
			next++
		}
		if last != 0 {
			e.must(e.ch.Ack(last, true))
		}
	}
	if m := e.b.Memory(); m != 0 {
		t.Fatalf("memory %d after everything was acked", m)
	}
	if st := e.b.pages.Stats(); st.Records != 0 || st.Bytes != 0 {
		t.Fatalf("page store not empty after delivery: %+v", st)
	}
}

func TestPagingKeepsQueueSemantics(t *testing.T) {
	const n = 3000
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"priorities", func(t *testing.T, e *env) {
			e.declare("q", Table{"x-max-priority": uint8(5)})
			for i := 0; i < n; i++ {
				p := Properties{Priority: uint8(i % 7)} // 6 caps at 5
				e.must(e.ch.Publish(msgWith("", "q", pagedBody(i, 200), p), false, false))
			}
			bodies, _ := e.getAll("q")
			var want []string
			for p := 5; p >= 0; p-- {
				for i := 0; i < n; i++ {
					if min(i%7, 5) == p {
						want = append(want, pagedBody(i, 200))
					}
				}
			}
			checkBodies(t, bodies, want)
		}},
		{"requeue keeps position and sets redelivered", func(t *testing.T, e *env) {
			e.declare("q", nil)
			for i := 0; i < n; i++ {
				e.publish("", "q", pagedBody(i, 300))
			}
			for i := 0; i < 10; i++ {
				found, err := e.ch.Get("q", false)
				e.must(err)
				if !found {
					t.Fatal("get found nothing")
				}
			}
			e.sink.take()
			for i := 0; i < 400; i++ { // more arrive (and are paged) meanwhile
				e.publish("", "q", pagedBody(n+i, 300))
			}
			e.must(e.ch.Nack(0, true, true))
			bodies, redelivered := e.getAll("q")
			var want []string
			for i := 0; i < n+400; i++ {
				want = append(want, pagedBody(i, 300))
			}
			checkBodies(t, bodies, want)
			for i, r := range redelivered {
				if r != (i < 10) {
					t.Fatalf("message %d redelivered=%v", i, r)
				}
			}
		}},
		{"ttl dead-letters paged messages intact", func(t *testing.T, e *env) {
			e.declare("dlq", nil)
			e.declare("q", Table{"x-message-ttl": int32(100), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq"})
			for i := 0; i < n; i++ {
				e.publish("", "q", pagedBody(i, 300))
			}
			deadline := time.Now().Add(20 * time.Second)
			for e.queueLen("dlq") < n {
				if time.Now().After(deadline) {
					t.Fatalf("dead-lettered %d of %d", e.queueLen("dlq"), n)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if e.queueLen("q") != 0 {
				t.Fatalf("q still holds %d", e.queueLen("q"))
			}
			bodies, _ := e.getAll("dlq")
			var want []string
			for i := 0; i < n; i++ {
				want = append(want, pagedBody(i, 300))
			}
			// Expiry by the timer and by publishes dead-letter batches
			// from two goroutines, so batches may interleave (paging or
			// not); every message must arrive intact exactly once.
			slices.Sort(bodies)
			checkBodies(t, bodies, want)
		}},
		{"headers and CC of paged messages survive dead-lettering", func(t *testing.T, e *env) {
			e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "dlx", Type: "direct"}))
			e.declare("dead-main", nil)
			e.declare("dead-cc", nil)
			e.must(e.ch.QueueBind("dead-main", "dlx", "q", nil))
			e.must(e.ch.QueueBind("dead-cc", "dlx", "cc1", nil))
			e.declare("q", Table{"x-message-ttl": int32(100), "x-dead-letter-exchange": "dlx"})
			const m = 1000
			for i := 0; i < m; i++ {
				p := Properties{Headers: Table{"CC": []any{"cc1"}, "k": "v"}, Expiration: "60000", HasExpiration: true}
				e.must(e.ch.Publish(msgWith("", "q", pagedBody(i, 300), p), false, false))
			}
			deadline := time.Now().Add(20 * time.Second)
			for e.queueLen("dead-main") < m || e.queueLen("dead-cc") < m {
				if time.Now().After(deadline) {
					t.Fatalf("dead-lettered %d and %d of %d", e.queueLen("dead-main"), e.queueLen("dead-cc"), m)
				}
				time.Sleep(20 * time.Millisecond)
			}
			for _, dq := range []string{"dead-main", "dead-cc"} {
				for {
					found, err := e.ch.Get(dq, true)
					e.must(err)
					if !found {
						break
					}
					for _, ev := range e.sink.take() {
						p, err := testCodec{}.Decode(ev.d.Props)
						e.must(err)
						if p.Headers["k"] != "v" || p.Headers["x-death"] == nil || p.HasExpiration {
							t.Fatalf("%s: dead-lettered properties %+v", dq, p)
						}
						if p.Headers["x-death"].([]any)[0].(Table)["original-expiration"] != "60000" {
							t.Fatalf("%s: x-death %+v", dq, p.Headers["x-death"])
						}
					}
				}
			}
		}},
		{"max-length drop-head dead-letters intact", func(t *testing.T, e *env) {
			e.declare("dlq", nil)
			e.declare("q", Table{"x-max-length": int32(1000), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq"})
			for i := 0; i < n; i++ {
				e.publish("", "q", pagedBody(i, 300))
			}
			dead, _ := e.getAll("dlq")
			live, _ := e.getAll("q")
			var wantDead, wantLive []string
			for i := 0; i < n; i++ {
				if i < n-1000 {
					wantDead = append(wantDead, pagedBody(i, 300))
				} else {
					wantLive = append(wantLive, pagedBody(i, 300))
				}
			}
			checkBodies(t, dead, wantDead)
			checkBodies(t, live, wantLive)
		}},
		{"purge and delete free the page store", func(t *testing.T, e *env) {
			e.declare("q", nil)
			e.declare("q2", nil)
			for i := 0; i < n; i++ {
				e.publish("", "q", pagedBody(i, 300))
				e.publish("", "q2", pagedBody(i, 300))
			}
			if e.b.pages.Stats().Records == 0 {
				t.Fatal("nothing was paged")
			}
			got, err := e.ch.QueuePurge("q")
			e.must(err)
			if got != n {
				t.Fatalf("purged %d, want %d", got, n)
			}
			got, err = e.ch.QueueDelete("q2", false, false)
			e.must(err)
			if got != n {
				t.Fatalf("deleted with %d, want %d", got, n)
			}
			if st := e.b.pages.Stats(); st.Records != 0 || e.b.Memory() != 0 {
				t.Fatalf("after purge and delete: page store %+v, memory %d", st, e.b.Memory())
			}
		}},
		{"fanout copies are not paged but delivered", func(t *testing.T, e *env) {
			e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "fx", Type: "fanout"}))
			for _, q := range []string{"a", "b"} {
				e.declare(q, nil)
				e.must(e.ch.QueueBind(q, "fx", "", nil))
			}
			for i := 0; i < n; i++ {
				e.publish("fx", "", pagedBody(i, 300))
			}
			var want []string
			for i := 0; i < n; i++ {
				want = append(want, pagedBody(i, 300))
			}
			a, _ := e.getAll("a")
			b, _ := e.getAll("b")
			checkBodies(t, a, want)
			checkBodies(t, b, want)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Threshold 1 byte: every message beyond the window is paged.
			e := newPagingEnv(t, "", 1, 0)
			tc.run(t, e)
			if m := e.b.Memory(); m != 0 {
				t.Fatalf("memory %d at the end, want 0", m)
			}
		})
	}
}

func checkBodies(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("message %d: %.24q, want %.24q", i, got[i], want[i])
		}
	}
}

func TestPagingRestartWipesTransientAndRecoversPersistent(t *testing.T) {
	dir := t.TempDir()
	const n = 2000
	e := newPagingEnv(t, dir, 1, 0)
	_, err := e.ch.QueueDeclare(QueueDeclare{Name: "dq", Durable: true})
	e.must(err)
	e.declare("tq", nil)
	e.must(e.ch.ConfirmSelect())
	for i := 0; i < n; i++ {
		e.must(e.ch.Publish(persistent("", "dq", pagedBody(i, 500)), false, false))
		e.must(e.ch.Publish(msg("", "dq", "transient-"+pagedBody(i, 500)), false, false))
		e.publish("", "tq", pagedBody(i, 500))
	}
	e.sink.waitFor(t, "confirms", func(ev []event) bool {
		for _, x := range ev {
			if x.kind == "confirm" && x.seq == 3*n {
				return true
			}
		}
		return false
	})
	tdir := filepath.Join(dir, "transient")
	if files, _ := os.ReadDir(tdir); len(files) == 0 {
		t.Fatal("nothing paged to the transient store")
	}
	// A crash leaves the transient store behind: simulate it with a stray
	// segment the next start must wipe.
	if err := os.WriteFile(filepath.Join(tdir, "99999999.page"), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.sink.take()
	e.must(e.b.Close())
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tdir, "99999999.page"), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}

	e2 := newPagingEnv(t, dir, 1, 0)
	files, err := os.ReadDir(tdir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Name() == "99999999.page" {
			t.Fatal("transient store not wiped at startup")
		}
	}
	bodies, redelivered := e2.getAll("dq")
	var want []string
	for i := 0; i < n; i++ {
		want = append(want, pagedBody(i, 500))
	}
	checkBodies(t, bodies, want)
	for i, r := range redelivered {
		if !r {
			t.Fatalf("recovered message %d not marked redelivered", i)
		}
	}
	if e2.b.Memory() != 0 {
		t.Fatalf("memory %d after draining", e2.b.Memory())
	}
}
