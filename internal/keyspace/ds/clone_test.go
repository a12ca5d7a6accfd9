package ds

import (
	"fmt"
	"slices"
	"testing"
)

// TestClone changes originals after cloning them: each clone must keep
// the old contents and pass its invariant checks (including MemSize), and
// cloning must not disturb the original.
func TestClone(t *testing.T) {
	for _, n := range []int{0, 10, 3000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			l := NewList(4)
			h := NewHash(HashMaxListpackEntries, HashMaxListpackValue)
			s := NewSet(SetMaxIntsetEntries)
			z := NewZSet(ZSetMaxListpackEntries, ZSetMaxListpackValue)
			for i := 0; i < n; i++ {
				k := []byte(fmt.Sprint(i))
				l.PushRight(k)
				h.Set(k, k)
				s.Add(k)
				z.Add(k, float64(i%7), 0)
			}
			lc, hc, sc, zc := l.Clone().(*List), h.Clone().(*Hash), s.Clone().(*Set), z.Clone().(*ZSet)
			for _, x := range []interface{ MemSize() int64 }{l, h, s, z} {
				_ = x.MemSize()
			}
			if lc.MemSize() != l.MemSize() || hc.MemSize() != h.MemSize() || sc.MemSize() != s.MemSize() || zc.MemSize() != z.MemSize() {
				t.Fatal("clone MemSize differs")
			}
			wantZ := zsetPairs(z)
			for i := 0; i < n; i++ {
				k := []byte(fmt.Sprint(i))
				l.PopLeft(1, nil)
				h.Delete(k)
				s.Remove(k)
				z.Remove(k)
				l.PushRight([]byte("new"))
				h.Set([]byte(fmt.Sprint("x", i)), k)
				s.Add([]byte(fmt.Sprint("x", i)))
				z.Add([]byte(fmt.Sprint("x", i)), -1, 0)
			}
			for _, c := range []interface{ check() error }{lc, hc, sc, zc, l, h, s, z} {
				if err := c.check(); err != nil {
					t.Fatal(err)
				}
			}
			if lc.Len() != n || hc.Len() != n || sc.Len() != n || zc.Card() != n {
				t.Fatalf("clone lengths %d %d %d %d", lc.Len(), hc.Len(), sc.Len(), zc.Card())
			}
			for i := 0; i < n; i++ {
				k := []byte(fmt.Sprint(i))
				if v, _ := lc.Index(i); string(v) != string(k) {
					t.Fatal("list clone changed")
				}
				if v, _ := hc.Get(k); string(v) != string(k) {
					t.Fatal("hash clone changed")
				}
				if !sc.IsMember(k) {
					t.Fatal("set clone changed")
				}
			}
			if !slices.Equal(zsetPairs(zc), wantZ) {
				t.Fatal("zset clone changed")
			}
			// The clone is independently writable.
			zc.RemoveRangeByRank(0, n/2)
			if err := zc.check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func zsetPairs(z *ZSet) []zpair {
	var out []zpair
	z.Iter(false, func(m []byte, s float64) bool { out = append(out, zpair{string(m), s}); return true })
	return out
}
