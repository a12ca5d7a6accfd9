package keyspace

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func newStringEntry(k string) *Entry {
	e := &Entry{hidx: -1}
	e.setString([]byte(k), nil)
	return e
}

// TestScanGuarantee checks Redis's SCAN promise across grow and shrink: every
// key present from start to end of a scan is returned.
func TestScanGuarantee(t *testing.T) {
	for _, tc := range []struct{ start, add, remove int }{
		{100, 0, 0}, {100, 2000, 0}, {3000, 0, 2900}, {500, 500, 500},
	} {
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			d := newDict(0)
			entries := map[string]*Entry{}
			add := func(k string) {
				e := newStringEntry(k)
				entries[k] = e
				d.insert(hashKey(e.Key()), e)
			}
			for i := 0; i < tc.start; i++ {
				add(fmt.Sprint("stable", i))
			}
			for i := 0; i < tc.remove; i++ {
				add(fmt.Sprint("gone", i))
			}
			seen := map[string]bool{}
			cursor, step := uint64(0), 0
			for {
				cursor = d.scan(cursor, func(e *Entry) { seen[string(e.Key())] = true })
				// Mutate between calls, as concurrent clients would.
				if step < tc.add {
					add(fmt.Sprint("new", step))
				}
				if step < tc.remove {
					k := fmt.Sprint("gone", step)
					d.remove(hashKey([]byte(k)), entries[k])
				}
				step++
				if cursor == 0 {
					break
				}
				if step > 1_000_000 {
					t.Fatal("scan does not terminate")
				}
			}
			for i := 0; i < tc.start; i++ {
				if !seen[fmt.Sprint("stable", i)] {
					t.Fatalf("stable%d missed by scan", i)
				}
			}
		})
	}
}

func TestDictRandomAndRemove(t *testing.T) {
	d := newDict(0)
	var es []*Entry
	for i := 0; i < 1000; i++ {
		e := newStringEntry(fmt.Sprint(i))
		es = append(es, e)
		d.insert(hashKey(e.Key()), e)
	}
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[*Entry]bool{}
	for i := 0; i < 5000; i++ {
		seen[d.randomEntry(r.Uint64)] = true
	}
	if len(seen) < 900 {
		t.Fatalf("random sampling reached only %d of 1000 entries", len(seen))
	}
	for _, e := range es {
		if !d.remove(hashKey(e.Key()), e) {
			t.Fatal("remove failed")
		}
	}
	for d.maintain(100) {
	}
	if d.count != 0 || len(d.tables[0]) > 8 {
		t.Fatalf("count %d size %d after removing all", d.count, len(d.tables[0]))
	}
	if d.randomEntry(r.Uint64) != nil {
		t.Fatal("random entry from empty dict")
	}
}
