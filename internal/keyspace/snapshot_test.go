package keyspace

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestLazySnapshotCapture checks that a snapshot begun at one instant and
// captured later holds exactly the keys of that instant, whatever writers
// did to every shard in between: each shard is copied before its first
// change, by the writer that makes it.
func TestLazySnapshotCapture(t *testing.T) {
	ks, clk := newTestKS(t, Config{})
	const n = 2000
	want := map[string]string{}
	for i := 0; i < n; i++ {
		db := i % 3
		k, v := fmt.Sprint("k", i), fmt.Sprint("v", i)
		var exp int64
		switch i % 5 {
		case 0: // expires before the instant: not part of the snapshot
			exp = clk.Now().UnixMilli() + 10
		case 1: // expires after it: kept, with its TTL counted
			exp = clk.Now().UnixMilli() + 60000
		}
		set(ks, db, k, v, exp)
		if i%5 != 0 {
			want[fmt.Sprint(db, ":", k)] = v
		}
	}
	clk.Advance(20 * time.Millisecond)

	snap := ks.BeginSnapshotWith(nil)
	// A second snapshot begun before the first is captured: its LockAll
	// copies every shard the first still needs.
	second := ks.BeginSnapshotWith(nil)

	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				db, k := i%3, fmt.Sprint("k", i)
				switch i % 3 {
				case 0:
					set(ks, db, k, "changed!", 0)
				case 1:
					tx := ks.Lock(db, []byte(k))
					tx.Delete([]byte(k))
					tx.Unlock()
				default:
					set(ks, db, fmt.Sprint("new", i), "x", 0)
				}
			}
		}(w)
	}
	wg.Wait()
	ks.FlushDB(2)
	snap.Capture()
	second.Capture()

	for name, s := range map[string]*Snapshot{"first": snap, "second": second} {
		got := map[string]string{}
		expires := 0
		for db, items := range s.DBs {
			for _, it := range items {
				if it.DB != db {
					t.Fatalf("%s: key %s of db %d listed under db %d", name, it.Key, it.DB, db)
				}
				got[fmt.Sprint(it.DB, ":", string(it.Key))] = string(it.Str)
				if it.Expire != 0 {
					expires++
				}
			}
		}
		if len(got) != len(want) || len(s.Items) != len(want) {
			t.Fatalf("%s: %d keys (%d items), want %d", name, len(got), len(s.Items), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s: %s = %q, want %q", name, k, got[k], v)
			}
		}
		total := 0
		for _, e := range s.Expires {
			total += e
		}
		if total != expires {
			t.Fatalf("%s: Expires counts %d, items with a TTL %d", name, total, expires)
		}
	}
	snap.Release()
	second.Release()
	if v, _ := get(ks, 0, "k0"); v != "changed!" {
		t.Fatalf("live k0 = %q", v)
	}
}
