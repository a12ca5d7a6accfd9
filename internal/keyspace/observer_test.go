package keyspace

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"ferry/internal/clock"
)

// recObserver records key events and misses as "kind db key".
type recObserver struct {
	mu  sync.Mutex
	got []string
}

func (r *recObserver) KeyEvent(kind EventKind, db int, e *Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("event%d %d %s", kind, db, e.Key()))
}

func (r *recObserver) KeyMiss(db int, key []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("miss %d %s", db, key))
}

func (r *recObserver) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// TestMissObserver: Lookup and LookupNoTouch report misses (Redis's
// keymiss), Peek does not; a rename reports the key new where it lands.
func TestMissObserver(t *testing.T) {
	ks, clk := newTestKS(t, Config{})
	r := &recObserver{}
	ks.AddObserver(r)
	set(ks, 0, "a", "1", 0)
	set(ks, 0, "gone", "1", clk.Now().UnixMilli()+10)
	r.take()
	clk.Advance(20 * time.Millisecond)

	tx := ks.Lock(0, []byte("x"))
	tx.Peek([]byte("x"))
	tx.Unlock()
	if got := r.take(); len(got) != 0 {
		t.Fatalf("Peek reported %v", got)
	}
	tx = ks.Lock(3, []byte("x"))
	tx.Lookup([]byte("x"))
	tx.Unlock()
	tx = ks.Lock(0, []byte("gone"))
	tx.LookupNoTouch([]byte("gone"))
	tx.Unlock()
	want := fmt.Sprint([]string{"miss 3 x", fmt.Sprintf("event%d 0 gone", EventExpired), "miss 0 gone"})
	if got := fmt.Sprint(r.take()); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}

	before := ks.Stats()
	tx = ks.Lock(0, []byte("a"))
	if e := tx.LookupNoTouch([]byte("a")); e == nil {
		t.Fatal("LookupNoTouch missed a live key")
	}
	tx.Unlock()
	if after := ks.Stats(); after.Hits != before.Hits+1 {
		t.Fatalf("LookupNoTouch counted %d hits", after.Hits-before.Hits)
	}

	tx = ks.LockAll(0)
	tx.Rename(tx.Peek([]byte("a")), []byte("b"), 5)
	tx.Unlock()
	if got, want := fmt.Sprint(r.take()), fmt.Sprint([]string{fmt.Sprintf("event%d 5 b", EventNew)}); got != want {
		t.Fatalf("Rename reported %s, want %s", got, want)
	}
}

// TestSetActiveExpire: with the sweep off, due keys stay until touched;
// turned back on, the sweep removes them.
func TestSetActiveExpire(t *testing.T) {
	ks, _ := newTestKS(t, Config{HZ: 100, Clock: clock.Real{}})
	r := &recObserver{}
	ks.AddObserver(r)
	ks.SetActiveExpire(false)
	now := time.Now().UnixMilli()
	set(ks, 0, "lazy", "v", now+1)
	set(ks, 0, "active", "v", now+1)
	r.take() // their "new" events
	time.Sleep(100 * time.Millisecond)
	if got := r.take(); len(got) != 0 {
		t.Fatalf("expired with the sweep off: %v", got)
	}
	if _, ok := get(ks, 0, "lazy"); ok {
		t.Fatal("expired key read")
	}
	if got := fmt.Sprint(r.take()); got != fmt.Sprint([]string{fmt.Sprintf("event%d 0 lazy", EventExpired), "miss 0 lazy"}) {
		t.Fatalf("lazy expiry reported %s", got)
	}
	ks.SetActiveExpire(true)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got := r.take(); len(got) == 1 && got[0] == fmt.Sprintf("event%d 0 active", EventExpired) {
			break
		} else if len(got) != 0 || time.Now().After(deadline) {
			t.Fatalf("sweep reported %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
