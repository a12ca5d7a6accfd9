package ds

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestHashBasic(t *testing.T) {
	for _, limits := range [][2]int{{128, 64}, {0, 0}} { // listpack, hashtable from the start
		h := NewHash(limits[0], limits[1])
		steps := []struct {
			op, f, v string
			want     bool
		}{
			{"set", "f1", "v1", true},
			{"set", "f2", "v2", true},
			{"set", "f1", "v1b", false},
			{"get", "f1", "v1b", true},
			{"get", "nope", "", false},
			{"exists", "f2", "", true},
			{"del", "f2", "", true},
			{"del", "f2", "", false},
			{"exists", "f2", "", false},
			{"set", "", "", true},
			{"get", "", "", true},
		}
		for i, s := range steps {
			var got bool
			var v []byte
			switch s.op {
			case "set":
				got = h.Set([]byte(s.f), []byte(s.v))
			case "get":
				v, got = h.Get([]byte(s.f))
			case "exists":
				got = h.Exists([]byte(s.f))
			case "del":
				got = h.Delete([]byte(s.f))
			}
			if got != s.want || s.op == "get" && string(v) != s.v {
				t.Fatalf("%v step %d %+v: got %v %q", limits, i, s, got, v)
			}
		}
		if h.Len() != 2 || h.StrLen([]byte("f1")) != 3 || h.StrLen([]byte("zz")) != 0 {
			t.Fatalf("%v: Len %d StrLen %d", limits, h.Len(), h.StrLen([]byte("f1")))
		}
	}
}

func TestHashInsertionOrder(t *testing.T) {
	h := NewHash(HashMaxListpackEntries, HashMaxListpackValue)
	for _, f := range []string{"z", "a", "m", "b"} {
		h.Set([]byte(f), []byte("v"+f))
	}
	h.Set([]byte("a"), []byte("changed")) // overwrite keeps position
	h.Delete([]byte("m"))
	h.Set([]byte("m"), []byte("again")) // re-added at the end
	var got []string
	h.Each(func(f, v []byte) bool { got = append(got, string(f)+"="+string(v)); return true })
	if s := strings.Join(got, ","); s != "z=vz,a=changed,b=vb,m=again" {
		t.Fatalf("order %s", s)
	}
}

func TestHashConversion(t *testing.T) {
	long := strings.Repeat("x", HashMaxListpackValue)
	cases := []struct {
		name string
		fill func(h *Hash)
		want string
	}{
		{"128 entries stay listpack", func(h *Hash) { fillHash(h, 128) }, "listpack"},
		{"129 entries convert", func(h *Hash) { fillHash(h, 129) }, "hashtable"},
		{"64-byte value stays", func(h *Hash) { h.Set([]byte("f"), []byte(long)) }, "listpack"},
		{"65-byte value converts", func(h *Hash) { h.Set([]byte("f"), []byte(long+"x")) }, "hashtable"},
		{"64-byte field stays", func(h *Hash) { h.Set([]byte(long), []byte("v")) }, "listpack"},
		{"65-byte field converts", func(h *Hash) { h.Set([]byte(long+"x"), []byte("v")) }, "hashtable"},
		{"overwrite with long value converts", func(h *Hash) {
			h.Set([]byte("f"), []byte("short"))
			h.Set([]byte("f"), []byte(long+"x"))
		}, "hashtable"},
		{"never converts back", func(h *Hash) {
			fillHash(h, 129)
			for i := 0; i < 129; i++ {
				h.Delete([]byte(fmt.Sprint("field", i)))
			}
			h.Set([]byte("a"), []byte("b"))
		}, "hashtable"},
	}
	for _, c := range cases {
		h := NewHash(HashMaxListpackEntries, HashMaxListpackValue)
		c.fill(h)
		if h.Encoding() != c.want {
			t.Errorf("%s: encoding %s", c.name, h.Encoding())
		}
		if err := h.check(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Contents survive conversion.
	h := NewHash(HashMaxListpackEntries, HashMaxListpackValue)
	fillHash(h, 200)
	for i := 0; i < 200; i++ {
		if v, ok := h.Get([]byte(fmt.Sprint("field", i))); !ok || string(v) != fmt.Sprint("value", i) {
			t.Fatalf("field%d lost in conversion", i)
		}
	}
}

func fillHash(h *Hash, n int) {
	for i := 0; i < n; i++ {
		h.Set([]byte(fmt.Sprint("field", i)), []byte(fmt.Sprint("value", i)))
	}
}

func TestHashRandom(t *testing.T) {
	for _, n := range []int{5, 300} {
		h := NewHash(HashMaxListpackEntries, HashMaxListpackValue)
		fillHash(h, n)
		for _, count := range []int{0, 1, 3, n, n + 10, -1, -7, -3 * n} {
			seen := map[string]int{}
			calls := 0
			h.Random(count, func(f, v []byte) {
				calls++
				seen[string(f)]++
				if want, _ := h.Get(f); !bytes.Equal(v, want) {
					t.Fatalf("Random gave %q=%q", f, v)
				}
			})
			want := count
			if count > 0 {
				want = min(count, n)
				if len(seen) != want {
					t.Fatalf("n=%d Random(%d): %d distinct", n, count, len(seen))
				}
			} else {
				want = -count
			}
			if calls != want {
				t.Fatalf("n=%d Random(%d): %d results want %d", n, count, calls, want)
			}
		}
	}
}

func TestHashScan(t *testing.T) {
	for _, n := range []int{10, 1000} {
		h := NewHash(HashMaxListpackEntries, HashMaxListpackValue)
		fillHash(h, n)
		seen := map[string]bool{}
		c := uint64(0)
		for {
			c = h.Scan(c, func(f, v []byte) { seen[string(f)] = true })
			if c == 0 {
				break
			}
		}
		if len(seen) != n {
			t.Fatalf("scan of %d saw %d", n, len(seen))
		}
	}
}

// TestHashModel compares Hash with a map over random operations, across
// the conversion (small limits make both encodings frequent).
func TestHashModel(t *testing.T) {
	for _, lim := range [][2]int{{8, 6}, {128, 64}, {1000, 1000}} {
		t.Run(fmt.Sprint(lim), func(t *testing.T) {
			for round := 0; round < 20; round++ {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(lim[0])))
				runHashModel(t, rng, lim[0], lim[1], 800)
			}
		})
	}
}

func runHashModel(t testing.TB, rng *rand.Rand, maxEntries, maxValue, ops int) {
	h := NewHash(maxEntries, maxValue)
	m := map[string]string{}
	var order []string // insertion order, for the listpack
	for i := 0; i < ops; i++ {
		f := fmt.Sprint("f", rng.IntN(40))
		if rng.IntN(30) == 0 {
			f = strings.Repeat("F", rng.IntN(2*maxValue+2))
		}
		switch rng.IntN(5) {
		case 0, 1:
			v := strings.Repeat("v", rng.IntN(maxValue+2))
			_, had := m[f]
			if h.Set([]byte(f), []byte(v)) == had {
				t.Fatalf("op %d Set(%q) new=%v", i, f, !had)
			}
			if !had {
				order = append(order, f)
			}
			m[f] = v
		case 2:
			_, had := m[f]
			if h.Delete([]byte(f)) != had {
				t.Fatalf("op %d Delete(%q)", i, f)
			}
			delete(m, f)
			for j, o := range order {
				if o == f {
					order = append(order[:j], order[j+1:]...)
					break
				}
			}
		case 3:
			v, ok := h.Get([]byte(f))
			w, had := m[f]
			if ok != had || string(v) != w || h.StrLen([]byte(f)) != len(w) {
				t.Fatalf("op %d Get(%q)", i, f)
			}
		case 4:
			got := map[string]string{}
			var gotOrder []string
			h.Each(func(f, v []byte) bool {
				got[string(f)] = string(v)
				gotOrder = append(gotOrder, string(f))
				return true
			})
			if len(got) != len(m) {
				t.Fatalf("op %d Each saw %d want %d", i, len(got), len(m))
			}
			for k, v := range m {
				if got[k] != v {
					t.Fatalf("op %d Each %q", i, k)
				}
			}
			if h.Encoding() == "listpack" && strings.Join(gotOrder, "|") != strings.Join(order, "|") {
				t.Fatalf("op %d listpack order %v want %v", i, gotOrder, order)
			}
		}
		if h.Len() != len(m) {
			t.Fatalf("op %d Len", i)
		}
		if err := h.check(); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
}

func TestHashMemSize(t *testing.T) {
	h := NewHash(HashMaxListpackEntries, HashMaxListpackValue)
	base := h.MemSize()
	prev := base
	for i := 0; i < 5000; i++ {
		h.Set([]byte(fmt.Sprint("field", i)), []byte(fmt.Sprint("value", i)))
		if m := h.MemSize(); m < prev*9/10 {
			t.Fatalf("MemSize fell from %d to %d at %d", prev, m, i)
		} else {
			prev = max(prev, m)
		}
	}
	full := h.MemSize()
	t.Logf("5000 fields: %d bytes (%.1f/field)", full, float64(full-base)/5000)
	for i := 0; i < 5000; i++ {
		h.Delete([]byte(fmt.Sprint("field", i)))
		if h.MemSize() <= 0 {
			t.Fatal("MemSize not positive")
		}
	}
	if h.MemSize() > base+dictOverhead {
		t.Fatalf("emptied hash holds %d (base %d)", h.MemSize(), base)
	}
}

func TestCollectionRehash(t *testing.T) {
	h := NewHash(0, 0)
	s := NewSet(0)
	z := NewZSet(0, 0)
	if h.Rehash(10) || s.Rehash(10) || z.Rehash(10) {
		t.Fatal("empty collections report rehashing")
	}
	for i := 0; i < 1000; i++ {
		k := []byte(fmt.Sprint("k", i))
		h.Set(k, k)
		s.Add(k)
		z.Add(k, float64(i), 0)
	}
	for _, r := range []func(int) bool{h.Rehash, s.Rehash, z.Rehash} {
		for r(1) {
		}
	}
	for _, c := range []interface{ check() error }{h, s, z} {
		if err := c.check(); err != nil {
			t.Fatal(err)
		}
	}
	if h.d.Rehashing() || s.d.Rehashing() || z.sl.d.Rehashing() {
		t.Fatal("still rehashing")
	}
}
