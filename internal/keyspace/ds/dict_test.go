package ds

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestVarintBacklen(t *testing.T) {
	for _, x := range []int{0, 1, 127, 128, 300, 16383, 16384, 1 << 21, 1<<28 + 5, 1 << 40} {
		b := make([]byte, 16)
		n := putUvarint(b, uint64(x))
		if n != uvarintLen(uint64(x)) {
			t.Fatalf("uvarintLen(%d)=%d, wrote %d", x, uvarintLen(uint64(x)), n)
		}
		if v, m := getUvarint(b); v != uint64(x) || m != n {
			t.Fatalf("uvarint %d: got %d/%d", x, v, m)
		}
		bl := backlenLen(x)
		putBacklen(b[3:], x)
		if v, m := getBacklen(b, 3+bl); v != x || m != bl {
			t.Fatalf("backlen %d: got %d/%d want len %d", x, v, m, bl)
		}
	}
}

func TestDictBasic(t *testing.T) {
	d := NewDict[int](0)
	steps := []struct {
		op    string
		key   string
		val   int
		want  bool
		wantV int
	}{
		{"set", "a", 1, true, 0},
		{"set", "b", 2, true, 0},
		{"set", "a", 3, false, 0},
		{"get", "a", 0, true, 3},
		{"get", "zz", 0, false, 0},
		{"set", "", 9, true, 0}, // the empty key is a key
		{"get", "", 0, true, 9},
		{"del", "b", 0, true, 0},
		{"del", "b", 0, false, 0},
		{"get", "b", 0, false, 0},
	}
	for i, s := range steps {
		var got bool
		var v int
		switch s.op {
		case "set":
			got = d.Set([]byte(s.key), s.val)
		case "get":
			v, got = d.Get([]byte(s.key))
		case "del":
			got = d.Delete([]byte(s.key))
		}
		if got != s.want || v != s.wantV {
			t.Fatalf("step %d %s %q: got %v/%d want %v/%d", i, s.op, s.key, got, v, s.want, s.wantV)
		}
		if err := d.check(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if d.Len() != 2 {
		t.Fatalf("Len %d", d.Len())
	}
}

func TestDictBytesValues(t *testing.T) {
	d := NewDict[struct{}](0)
	d.Put([]byte("f"), struct{}{}, []byte("v1"))
	e := d.Find([]byte("f"))
	if string(d.Bytes(e)) != "v1" || string(d.Key(e)) != "f" {
		t.Fatalf("got %q=%q", d.Key(e), d.Bytes(e))
	}
	for _, v := range []string{"v2", "", "a much longer value than before", "xx", string(make([]byte, 20000))} {
		d.Put([]byte("f"), struct{}{}, []byte(v))
		e := d.Find([]byte("f"))
		if string(d.Bytes(e)) != v {
			t.Fatalf("value %d bytes: got %d bytes", len(v), len(d.Bytes(e)))
		}
		if err := d.check(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDictModel runs random operations against a Go map, checking
// invariants (chains, blob owners, arena accounting, MemSize) as it goes,
// across many grows, shrinks and page compactions.
func TestDictModel(t *testing.T) {
	for _, keySpace := range []int{50, 2000, 30000} {
		t.Run(fmt.Sprint(keySpace), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(keySpace), 7))
			d := NewDict[int](0)
			model := map[string]string{}
			vals := map[string]int{}
			key := func() []byte { return []byte(fmt.Sprintf("key:%d", rng.IntN(keySpace))) }
			ops := 60000
			for i := 0; i < ops; i++ {
				k := key()
				switch r := rng.IntN(10); {
				case r < 4:
					var b []byte
					if rng.IntN(3) == 0 {
						b = bytes.Repeat([]byte{byte(i)}, rng.IntN(300))
						if rng.IntN(50) == 0 {
							b = make([]byte, 10000+rng.IntN(5000)) // a big blob
						}
					}
					added := d.Put(k, i, b)
					_, had := model[string(k)]
					if added == had {
						t.Fatalf("op %d Put(%s) added=%v had=%v", i, k, added, had)
					}
					model[string(k)] = string(b)
					vals[string(k)] = i
				case r < 7:
					_, had := model[string(k)]
					if d.Delete(k) != had {
						t.Fatalf("op %d Delete(%s) disagrees", i, k)
					}
					delete(model, string(k))
					delete(vals, string(k))
				default:
					e := d.Find(k)
					b, had := model[string(k)]
					if (e >= 0) != had {
						t.Fatalf("op %d Find(%s)=%d had=%v", i, k, e, had)
					}
					if had && (string(d.Bytes(e)) != b || *d.Value(e) != vals[string(k)]) {
						t.Fatalf("op %d Find(%s) value mismatch", i, k)
					}
				}
				if d.Len() != len(model) {
					t.Fatalf("op %d Len %d want %d", i, d.Len(), len(model))
				}
				if i%997 == 0 || (keySpace <= 2000 && i%50 == 0) {
					if err := d.check(); err != nil {
						t.Fatalf("op %d: %v", i, err)
					}
				}
				if i == ops/2 {
					// Drain most keys so the table shrinks.
					for k := range model {
						if rng.IntN(10) != 0 {
							d.Delete([]byte(k))
							delete(model, k)
						}
					}
				}
			}
			if err := d.check(); err != nil {
				t.Fatal(err)
			}
			// Each sees exactly the model.
			got := map[string]string{}
			d.Each(func(e int) bool { got[string(d.Key(e))] = string(d.Bytes(e)); return true })
			if len(got) != len(model) {
				t.Fatalf("Each saw %d, want %d", len(got), len(model))
			}
			for k, v := range model {
				if got[k] != v {
					t.Fatalf("Each %q=%q want %q", k, got[k], v)
				}
			}
			for k := range model {
				d.Delete([]byte(k))
			}
			if err := d.check(); err != nil {
				t.Fatal(err)
			}
			if d.MemSize() > dictOverhead+4096 {
				t.Fatalf("empty dict holds %d bytes", d.MemSize())
			}
		})
	}
}

// TestDictScanGuarantee scans while adding and removing keys between
// calls, causing grows and shrinks mid-scan: every key present for the
// whole scan must be returned.
func TestDictScanGuarantee(t *testing.T) {
	for seed := uint64(0); seed < 12; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		d := NewDict[struct{}](0)
		present := map[string]bool{}
		next := 0
		add := func(n int) {
			for i := 0; i < n; i++ {
				k := fmt.Sprintf("k%d", next)
				next++
				d.Set([]byte(k), struct{}{})
				present[k] = true
			}
		}
		add(100 + rng.IntN(2000))
		stable := map[string]bool{} // present from start to end
		for k := range present {
			stable[k] = true
		}
		seen := map[string]bool{}
		cursor := uint64(0)
		calls := 0
		for {
			cursor = d.Scan(cursor, func(e int) { seen[string(d.Key(e))] = true })
			calls++
			// Interleave: bursts of adds (grow) or deletes (shrink), never
			// touching stable keys except deleting some (which then leave
			// the stable set).
			switch rng.IntN(4) {
			case 0:
				add(rng.IntN(500))
			case 1:
				for k := range present {
					if rng.IntN(3) == 0 {
						d.Delete([]byte(k))
						delete(present, k)
						delete(stable, k)
					}
				}
			case 2:
				d.Rehash(rng.IntN(8))
			}
			if cursor == 0 {
				break
			}
			if calls > 1e6 {
				t.Fatal("scan does not terminate")
			}
		}
		for k := range stable {
			if !seen[k] {
				t.Fatalf("seed %d: stable key %s not returned by scan", seed, k)
			}
		}
		if err := d.check(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDictEachDelete deletes the visited entry from inside Each.
func TestDictEachDelete(t *testing.T) {
	d := NewDict[int](0)
	for i := 0; i < 5000; i++ {
		d.Set([]byte(fmt.Sprint(i)), i)
	}
	seen := map[int]bool{}
	d.Each(func(e int) bool {
		v := *d.Value(e)
		if seen[v] {
			t.Fatalf("value %d visited twice", v)
		}
		seen[v] = true
		if v%2 == 0 {
			d.DeleteAt(e)
		}
		return true
	})
	if len(seen) != 5000 || d.Len() != 2500 {
		t.Fatalf("Each saw %d, Len %d", len(seen), d.Len())
	}
	if err := d.check(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5000; i++ {
		_, ok := d.Get([]byte(fmt.Sprint(i)))
		if ok != (i%2 == 1) {
			t.Fatalf("key %d present=%v", i, ok)
		}
	}
}

// TestDictConcurrentReaders runs the read methods from several goroutines
// at once (under -race this proves they do not write), mid-rehash.
func TestDictConcurrentReaders(t *testing.T) {
	d := NewDict[int](0)
	for i := 0; i < 3000; i++ {
		d.Put([]byte(fmt.Sprint(i)), i, []byte("v"))
	}
	if !d.Rehashing() {
		for i := 3000; !d.Rehashing(); i++ {
			d.Set([]byte(fmt.Sprint(i)), i)
		}
	}
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			n := 0
			for i := 0; i < 3000; i++ {
				if d.Find([]byte(fmt.Sprint(i))) >= 0 {
					n++
				}
			}
			c := uint64(0)
			for {
				c = d.Scan(c, func(e int) { _ = d.Key(e) })
				if c == 0 {
					break
				}
			}
			d.Each(func(e int) bool { _ = d.Bytes(e); return true })
			_ = d.Clone()
			d.Sample(10, func(int) {})
			done <- n == 3000
		}()
	}
	for g := 0; g < 4; g++ {
		if !<-done {
			t.Fatal("reader missed keys")
		}
	}
}

func TestDictRandom(t *testing.T) {
	d := NewDict[int](0)
	if d.Random() != -1 {
		t.Fatal("Random on empty dict")
	}
	const n = 20
	for i := 0; i < n; i++ {
		d.Set([]byte(fmt.Sprint(i)), i)
	}
	counts := make([]int, n)
	for i := 0; i < 20000; i++ {
		counts[*d.Value(d.Random())]++
	}
	for i, c := range counts {
		if c < 700 || c > 1300 { // expected 1000
			t.Fatalf("entry %d drawn %d times of 20000", i, c)
		}
	}
	for _, k := range []int{0, 1, 5, 7, 19, 20, 50} {
		got := map[int]bool{}
		d.Sample(k, func(e int) {
			if got[e] {
				t.Fatalf("Sample(%d) repeated %d", k, e)
			}
			got[e] = true
		})
		if len(got) != min(k, n) {
			t.Fatalf("Sample(%d) gave %d", k, len(got))
		}
	}
}

func TestDictMemSize(t *testing.T) {
	d := NewDict[struct{}](0)
	empty := d.MemSize()
	prev := empty
	for i := 0; i < 100000; i++ {
		d.Set([]byte(fmt.Sprintf("member:%08d", i)), struct{}{})
		// It may dip when a finished rehash frees the old bucket array.
		if m := d.MemSize(); m < prev*9/10 {
			t.Fatalf("MemSize fell from %d to %d while adding", prev, m)
		} else {
			prev = max(prev, m)
		}
	}
	full := d.MemSize()
	perEntry := float64(full-empty) / 100000
	t.Logf("100k 15-byte members: %d bytes, %.1f bytes/member", full, perEntry)
	if perEntry < 15 || perEntry > 64 {
		t.Fatalf("%.1f bytes per member is implausible", perEntry)
	}
	for i := 0; i < 100000; i++ {
		if i%10 != 0 {
			d.Delete([]byte(fmt.Sprintf("member:%08d", i)))
		}
	}
	for d.Rehash(100) {
	}
	if err := d.check(); err != nil {
		t.Fatal(err)
	}
	if m := d.MemSize(); m > full/4 {
		t.Fatalf("after deleting 90%%: %d bytes of %d", m, full)
	}
	d.Clear()
	if d.MemSize() != empty || d.Len() != 0 {
		t.Fatalf("after Clear: %d bytes (empty %d)", d.MemSize(), empty)
	}
}
