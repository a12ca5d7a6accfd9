package keyspace

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"ferry/internal/clock"
)

func newTestKS(t *testing.T, cfg Config) (*Keyspace, *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(time.Unix(1_700_000_000, 0))
	if cfg.Clock == nil {
		cfg.Clock = clk
	}
	ks := New(cfg)
	t.Cleanup(ks.Close)
	return ks, clk
}

func set(ks *Keyspace, db int, k, v string, expire int64) {
	t := ks.Lock(db, []byte(k))
	t.SetString([]byte(k), []byte(v), 0, expire)
	t.Unlock()
}

func get(ks *Keyspace, db int, k string) (string, bool) {
	t := ks.Lock(db, []byte(k))
	defer t.Unlock()
	e := t.Lookup([]byte(k))
	if e == nil {
		return "", false
	}
	return string(e.Value()), true
}

func TestEntryFitsSizeClass(t *testing.T) {
	if s := unsafe.Sizeof(Entry{}); s > 64 {
		t.Fatalf("Entry is %d bytes; keep it within the 64-byte size class", s)
	}
}

func TestAllocSizeMatchesRuntime(t *testing.T) {
	for n := 1; n < 70000; n += 1 + n/50 {
		want := cap(slices.Grow([]byte(nil), n))
		if got := allocSize(n); got != want {
			t.Fatalf("allocSize(%d) = %d, runtime gives %d", n, got, want)
		}
	}
}

func TestSlot(t *testing.T) {
	// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
	tests := []struct {
		key  string
		slot int
	}{
		{"123456789", 12739}, // CRC16/XMODEM check value 0x31C3
		{"foo", 12182},
		{"{user1000}.following", Slot([]byte("user1000"))},
		{"foo{}{bar}", Slot([]byte("foo{}{bar}"))},
		{"foo{{bar}}zap", Slot([]byte("{bar"))},
		{"foo{bar}{zap}", Slot([]byte("bar"))},
	}
	for _, tt := range tests {
		if got := Slot([]byte(tt.key)); got != tt.slot {
			t.Errorf("Slot(%q) = %d, want %d", tt.key, got, tt.slot)
		}
	}
}

func TestSetGetDeleteAcrossDatabases(t *testing.T) {
	ks, _ := newTestKS(t, Config{})
	set(ks, 0, "a", "zero", 0)
	set(ks, 1, "a", "one", 0)
	for db, want := range []string{"zero", "one"} {
		if v, ok := get(ks, db, "a"); !ok || v != want {
			t.Fatalf("db %d: got %q %v, want %q", db, v, ok, want)
		}
	}
	tx := ks.Lock(0, []byte("a"))
	if !tx.Delete([]byte("a")) || tx.Delete([]byte("a")) {
		t.Fatal("delete should succeed once")
	}
	tx.Unlock()
	if _, ok := get(ks, 0, "a"); ok {
		t.Fatal("deleted key still readable")
	}
	if ks.DBSize(1) != 1 || ks.DBSize(0) != 0 {
		t.Fatalf("dbsize = %d,%d", ks.DBSize(0), ks.DBSize(1))
	}
	ks.SwapDB(0, 1)
	if v, _ := get(ks, 0, "a"); v != "one" {
		t.Fatalf("after swapdb got %q", v)
	}
}

func TestManyKeysGrowShrinkAndAccounting(t *testing.T) {
	ks, _ := newTestKS(t, Config{Shards: 4})
	const n = 20000
	for i := 0; i < n; i++ {
		set(ks, 0, fmt.Sprint("key:", i), fmt.Sprint("value:", i), 0)
	}
	if ks.DBSize(0) != n {
		t.Fatalf("dbsize %d", ks.DBSize(0))
	}
	for i := 0; i < n; i++ {
		if v, ok := get(ks, 0, fmt.Sprint("key:", i)); !ok || v != fmt.Sprint("value:", i) {
			t.Fatalf("key %d: %q %v", i, v, ok)
		}
	}
	for i := 0; i < n; i++ {
		k := fmt.Sprint("key:", i)
		tx := ks.Lock(0, []byte(k))
		tx.Delete([]byte(k))
		tx.Unlock()
	}
	if ks.Used() != 0 || ks.DBSize(0) != 0 {
		t.Fatalf("after deleting everything: used=%d size=%d", ks.Used(), ks.DBSize(0))
	}
}

func TestOverwriteReusesBufferAndChangesCAS(t *testing.T) {
	ks, _ := newTestKS(t, Config{})
	k := []byte("k")
	tx := ks.Lock(0, k)
	e := tx.SetString(k, []byte("hello world"), 7, 0)
	cas1, used1 := e.CAS(), ks.Used()
	e2 := tx.SetString(k, []byte("HELLO WORLD"), 9, 0)
	if e2 != e || e.CAS() == cas1 || ks.Used() != used1 || e.Flags() != 9 {
		t.Fatalf("overwrite: same=%v cas %d→%d used %d→%d", e2 == e, cas1, e.CAS(), used1, ks.Used())
	}
	if string(e.Value()) != "HELLO WORLD" || string(e.Key()) != "k" {
		t.Fatalf("value %q key %q", e.Value(), e.Key())
	}
	tx.Unlock()
}

func TestLazyAndActiveExpiry(t *testing.T) {
	ks, clk := newTestKS(t, Config{})
	now := clk.Now().UnixMilli()
	set(ks, 0, "lazy", "v", now+1000)
	set(ks, 0, "active", "v", now+1000)
	set(ks, 0, "forever", "v", 0)
	if _, ok := get(ks, 0, "lazy"); !ok {
		t.Fatal("key expired early")
	}
	clk.Advance(1001 * time.Millisecond)
	if _, ok := get(ks, 0, "lazy"); ok {
		t.Fatal("expired key returned")
	}
	// The active sweep must remove "active" without anyone reading it.
	deadline := time.Now().Add(5 * time.Second)
	for ks.DBSize(0) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("active expiry did not run: dbsize=%d", ks.DBSize(0))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := ks.Stats(); st.Expired != 2 {
		t.Fatalf("expired counter = %d", st.Expired)
	}
}

// TestLRUEvictsLeastRecentlyUsedFirst: allkeys-lru approximates LRU by
// sampling, as Redis does (no list per key). Its choice is checked against
// true LRU order: most evicted keys must be among the least recently used,
// and recently used keys must survive.
func TestLRUEvictsLeastRecentlyUsedFirst(t *testing.T) {
	ks, clk := newTestKS(t, Config{Policy: AllKeysLRU})
	const n = 1000
	val := make([]byte, 100)
	for i := 0; i < n; i++ {
		k := fmt.Sprint("k", i)
		set(ks, 0, k, string(val), 0)
		clk.Advance(time.Microsecond)
	}
	// Touch every tenth key: they become the most recently used.
	for i := 0; i < n; i += 10 {
		get(ks, 0, fmt.Sprint("k", i))
		clk.Advance(time.Microsecond)
	}
	ks.SetMaxMemory(ks.Used())
	// Make room for 450 more items. True LRU would evict the 450 least
	// recently used keys: k1..k499 minus the touched ones.
	const evictions = 450
	for i := 0; i < evictions; i++ {
		k := fmt.Sprint("new", i)
		if err := ks.Reserve(ItemSize(len(k), len(val))); err != nil {
			t.Fatal(err)
		}
		set(ks, 0, k, string(val), 0)
		clk.Advance(time.Microsecond)
	}
	oldGone, touchedGone := 0, 0
	for i := 0; i < n; i++ {
		_, ok := get(ks, 0, fmt.Sprint("k", i))
		switch {
		case ok:
		case i%10 == 0:
			touchedGone++
		case i < 500:
			oldGone++
		}
	}
	t.Logf("evicted %d of the %d least recently used keys; %d of the 100 touched ones", oldGone, evictions, touchedGone)
	if oldGone < evictions*2/3 { // Redis-style sampling gets about 3/4
		t.Errorf("only %d of %d evicted keys were among the least recently used", oldGone, evictions)
	}
	if touchedGone > 10 {
		t.Errorf("%d of the 100 recently touched keys were evicted", touchedGone)
	}
	if ks.Used() > ks.MaxMemory() {
		t.Fatalf("used %d over limit %d", ks.Used(), ks.MaxMemory())
	}
	if st := ks.Stats(); st.Evicted != evictions {
		t.Fatalf("evicted = %d", st.Evicted)
	}
}

func TestNoEvictionRefuses(t *testing.T) {
	ks, _ := newTestKS(t, Config{Policy: NoEviction})
	set(ks, 0, "a", "1234567890", 0)
	ks.SetMaxMemory(ks.Used())
	if err := ks.Reserve(ItemSize(1, 10)); err != ErrOOM {
		t.Fatalf("Reserve = %v, want ErrOOM", err)
	}
	if err := ks.Reserve(1 << 40); err != ErrTooLarge {
		t.Fatalf("Reserve(huge) = %v", err)
	}
}

func TestSampledPolicies(t *testing.T) {
	for _, p := range []Policy{AllKeysRandom, VolatileRandom, VolatileLRU, VolatileTTL} {
		t.Run(p.String(), func(t *testing.T) {
			ks, clk := newTestKS(t, Config{Policy: p})
			now := clk.Now().UnixMilli()
			for i := 0; i < 200; i++ {
				set(ks, 0, fmt.Sprint("p", i), "v", 0)
				set(ks, 0, fmt.Sprint("v", i), "v", now+int64(i+1)*1000)
			}
			ks.SetMaxMemory(ks.Used() - 50*ItemSize(4, 1))
			if err := ks.Reserve(0); err != nil {
				t.Fatal(err)
			}
			persistentLeft := 0
			for i := 0; i < 200; i++ {
				if _, ok := get(ks, 0, fmt.Sprint("p", i)); ok {
					persistentLeft++
				}
			}
			if p != AllKeysRandom && persistentLeft != 200 {
				t.Fatalf("volatile policy evicted %d persistent keys", 200-persistentLeft)
			}
			if p == VolatileTTL {
				// The soonest-expiring keys go first (sampled, so mostly).
				if _, ok := get(ks, 0, "v199"); !ok {
					t.Fatal("latest-expiring key evicted under volatile-ttl")
				}
			}
		})
	}
}

func TestFlushDB(t *testing.T) {
	ks, clk := newTestKS(t, Config{})
	for i := 0; i < 100; i++ {
		set(ks, 0, fmt.Sprint(i), "x", clk.Now().UnixMilli()+100000)
		set(ks, 1, fmt.Sprint(i), "x", 0)
	}
	ks.FlushDB(0)
	if ks.DBSize(0) != 0 || ks.DBSize(1) != 100 || ks.ExpiresCount(0) != 0 {
		t.Fatalf("sizes %d %d", ks.DBSize(0), ks.DBSize(1))
	}
	ks.FlushAll()
	if ks.Used() != 0 {
		t.Fatalf("used after flushall %d", ks.Used())
	}
}

func TestConcurrentAccessIsSafe(t *testing.T) {
	ks, _ := newTestKS(t, Config{Policy: AllKeysLRU, MaxMemory: 1 << 20, Clock: clock.Real{}})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				k := fmt.Sprint("k", (i*7+g)%3000)
				if i%3 == 0 {
					if ks.Reserve(ItemSize(len(k), 200)) == nil {
						set(ks, 0, k, string(make([]byte, 200)), 0)
					}
				} else {
					get(ks, 0, k)
				}
			}
		}(g)
	}
	wg.Wait()
	// Concurrent writers may overshoot by at most one item each.
	if over := ks.Used() - ks.MaxMemory(); over > 8*ItemSize(10, 200) {
		t.Fatalf("used %d exceeds limit by %d", ks.Used(), over)
	}
}

// fakeList is a collection with Clone, standing in for ds values.
type fakeList struct{ items []string }

func (f *fakeList) Clone() any { return &fakeList{items: append([]string(nil), f.items...)} }

func TestSnapshotIsPointInTime(t *testing.T) {
	ks, clk := newTestKS(t, Config{})
	set(ks, 0, "s", "before", 0)
	set(ks, 1, "gone", "x", clk.Now().UnixMilli()+60000)
	tx := ks.Lock(0, []byte("l"))
	tx.SetObject([]byte("l"), TypeList, &fakeList{items: []string{"a"}}, 10)
	tx.Unlock()

	snap := ks.Snapshot()
	// Writes after the snapshot must not show through it.
	set(ks, 0, "s", "after!", 0) // same size: would be written in place
	set(ks, 0, "new", "x", 0)
	tx = ks.Lock(1, []byte("gone"))
	tx.Delete([]byte("gone"))
	tx.Unlock()
	tx = ks.Lock(0, []byte("l"))
	e := tx.Peek([]byte("l"))
	l := tx.Mutable(e).(*fakeList)
	l.items = append(l.items, "b")
	tx.Account(e, 20)
	tx.Unlock()

	got := map[string]string{}
	for _, it := range snap.Items {
		switch it.Type {
		case TypeString:
			got[fmt.Sprint(it.DB, ":", string(it.Key))] = string(it.Str)
		case TypeList:
			got[fmt.Sprint(it.DB, ":", string(it.Key))] = fmt.Sprint(it.Obj.(*fakeList).items)
		}
	}
	want := map[string]string{"0:s": "before", "1:gone": "x", "0:l": "[a]"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("snapshot saw %v, want %v", got, want)
	}
	snap.Release()
	if v, _ := get(ks, 0, "s"); v != "after!" {
		t.Fatalf("live value %q", v)
	}
	tx = ks.Lock(0, []byte("l"))
	if items := tx.Peek([]byte("l")).Object().(*fakeList).items; len(items) != 2 {
		t.Fatalf("live list %v", items)
	}
	tx.Unlock()
}

// Two snapshots may be live at once (SAVE while an AOF rewrite runs): the
// first one's Release must not expose values the second still reads.
func TestOverlappingSnapshots(t *testing.T) {
	ks, _ := newTestKS(t, Config{})
	set(ks, 0, "s", "one", 0)
	tx := ks.Lock(0, []byte("l"))
	tx.SetObject([]byte("l"), TypeList, &fakeList{items: []string{"a"}}, 10)
	tx.Unlock()

	first := ks.Snapshot()
	second := ks.Snapshot()
	first.Release()
	first.Release() // a second Release is harmless

	set(ks, 0, "s", "two", 0) // same size: in place unless still shared
	tx = ks.Lock(0, []byte("l"))
	e := tx.Peek([]byte("l"))
	l := tx.Mutable(e).(*fakeList)
	l.items[0] = "changed"
	tx.Account(e, 10)
	tx.Unlock()

	for _, it := range second.Items {
		switch string(it.Key) {
		case "s":
			if string(it.Str) != "one" {
				t.Errorf("second snapshot sees s=%q after the first was released", it.Str)
			}
		case "l":
			if got := it.Obj.(*fakeList).items[0]; got != "a" {
				t.Errorf("second snapshot sees l[0]=%q after the first was released", got)
			}
		}
	}
	second.Release()
	// With no snapshot left, writes go in place again.
	tx = ks.Lock(0, []byte("l"))
	e = tx.Peek([]byte("l"))
	before := tx.Mutable(e)
	if after := tx.Mutable(e); after != before {
		t.Errorf("Mutable copied a value no snapshot reads")
	}
	tx.Unlock()
}

// TestGrowValue: values grow in place with spare room (linear cost for
// repeated appends), new bytes are zero even where a longer value was, and
// a snapshot keeps the bytes it saw.
func TestGrowValue(t *testing.T) {
	ks, _ := newTestKS(t, Config{})
	key := []byte("g")
	set(ks, 0, "g", "abcdef", 0)
	tx := ks.Lock(0, key)
	e := tx.Peek(key)
	tx.SetValue(e, []byte("ab")) // shrink in place: "cdef" stays in the buffer
	v := tx.GrowValue(e, 5)
	tx.Unlock()
	if string(v) != "ab\x00\x00\x00" {
		t.Fatalf("grown value %q, want zero-filled", v)
	}

	snap := ks.Snapshot()
	defer snap.Release()
	tx = ks.Lock(0, key)
	e = tx.Peek(key)
	copy(tx.GrowValue(e, 6)[5:], "!")
	tx.Unlock()
	for _, it := range snap.Items {
		if string(it.Key) == "g" && string(it.Str) != "ab\x00\x00\x00" {
			t.Fatalf("snapshot sees %q after a grow", it.Str)
		}
	}

	// 100k one-byte appends reallocate only O(log n) times.
	reallocs := 0
	tx = ks.Lock(0, key)
	e = tx.Peek(key)
	for i := 0; i < 100000; i++ {
		before := &e.Value()[0]
		n := len(e.Value())
		tx.GrowValue(e, n+1)[n] = 'x'
		if &e.Value()[0] != before {
			reallocs++
		}
	}
	tx.Unlock()
	if reallocs > 40 {
		t.Fatalf("%d reallocations for 100k appends", reallocs)
	}
}

// TestUsedIsExactWithLaggingShards: without a limit the shards hold back
// accounting changes from the shared total (addUsed); Used still counts
// every byte, and setting a limit folds them in so Reserve sees them.
func TestUsedIsExactWithLaggingShards(t *testing.T) {
	ks, _ := newTestKS(t, Config{Policy: AllKeysRandom})
	val := string(make([]byte, 100))
	var want int64
	for i := 0; i < 3000; i++ {
		k := fmt.Sprint("k", i)
		set(ks, 0, k, val, 0)
		want += ItemSize(len(k), len(val))
	}
	for i := 0; i < 3000; i += 3 { // some deletions: negative changes
		k := fmt.Sprint("k", i)
		tx := ks.Lock(0, []byte(k))
		tx.Delete([]byte(k))
		tx.Unlock()
		want -= ItemSize(len(k), len(val))
	}
	if got := ks.Used(); got != want {
		t.Fatalf("Used = %d, want %d", got, want)
	}
	if ks.used.Load() == want {
		t.Logf("no shard held anything back")
	}
	ks.SetMaxMemory(want)
	if got := ks.used.Load(); got != want {
		t.Fatalf("after SetMaxMemory the shared total is %d, want %d", got, want)
	}
	set(ks, 0, "one-more", val, 0)
	want += ItemSize(len("one-more"), len(val))
	if got := ks.used.Load(); got != want || ks.Used() != want {
		t.Fatalf("with a limit: total %d, Used %d, want %d", got, ks.Used(), want)
	}
}
