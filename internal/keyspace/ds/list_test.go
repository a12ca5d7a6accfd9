package ds

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func bs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func listOf(fill int, ss ...string) *List {
	l := NewList(fill)
	l.PushRight(bs(ss...)...)
	return l
}

func listStrings(l *List) []string {
	var out []string
	l.Iter(false, func(v []byte) bool { out = append(out, string(v)); return true })
	return out
}

func TestListPushPop(t *testing.T) {
	l := NewList(ListDefaultFill)
	l.PushLeft(bs("a", "b", "c")...) // c b a
	l.PushRight(bs("x", "y")...)     // c b a x y
	if got := strings.Join(listStrings(l), ","); got != "c,b,a,x,y" {
		t.Fatalf("got %s", got)
	}
	var rev []string
	l.Iter(true, func(v []byte) bool { rev = append(rev, string(v)); return true })
	if strings.Join(rev, ",") != "y,x,a,b,c" {
		t.Fatalf("reverse %v", rev)
	}
	var popped []string
	if n := l.PopLeft(2, func(v []byte) { popped = append(popped, string(v)) }); n != 2 {
		t.Fatalf("PopLeft n=%d", n)
	}
	if n := l.PopRight(10, func(v []byte) { popped = append(popped, string(v)) }); n != 3 {
		t.Fatalf("PopRight n=%d", n)
	}
	if strings.Join(popped, ",") != "c,b,y,x,a" || l.Len() != 0 {
		t.Fatalf("popped %v len %d", popped, l.Len())
	}
	if l.MemSize() != listOverhead {
		t.Fatalf("empty list holds %d bytes", l.MemSize())
	}
}

func TestListIndexSet(t *testing.T) {
	l := listOf(2, "a", "b", "c", "d", "e")
	for _, c := range []struct {
		i    int
		want string
		ok   bool
	}{{0, "a", true}, {4, "e", true}, {5, "", false}, {-1, "e", true}, {-5, "a", true}, {-6, "", false}, {2, "c", true}} {
		v, ok := l.Index(c.i)
		if ok != c.ok || string(v) != c.want {
			t.Errorf("Index(%d)=%q,%v want %q,%v", c.i, v, ok, c.want, c.ok)
		}
	}
	if !l.Set(-2, []byte("DD")) || l.Set(9, []byte("x")) {
		t.Fatal("Set result")
	}
	l.Set(0, []byte(""))
	if got := strings.Join(listStrings(l), ","); got != ",b,c,DD,e" {
		t.Fatalf("after Set: %s", got)
	}
	if err := l.check(); err != nil {
		t.Fatal(err)
	}
}

func TestListRange(t *testing.T) {
	l := listOf(3, "0", "1", "2", "3", "4", "5", "6")
	for _, c := range []struct {
		start, stop int
		want        string
	}{
		{0, -1, "0123456"}, {0, 0, "0"}, {-3, -1, "456"}, {2, 100, "23456"}, {-100, 1, "01"},
		{5, 2, ""}, {7, 10, ""}, {-1, -2, ""}, {3, 3, "3"}, {-100, -100, ""}, {6, 6, "6"},
	} {
		var sb strings.Builder
		l.Range(c.start, c.stop, func(v []byte) bool { sb.Write(v); return true })
		if sb.String() != c.want {
			t.Errorf("Range(%d,%d)=%q want %q", c.start, c.stop, sb.String(), c.want)
		}
	}
}

func TestListInsert(t *testing.T) {
	for _, c := range []struct {
		fill  int
		pivot string
		after bool
		want  int
		list  string
	}{
		{-2, "c", false, 6, "a,b,X,c,d,e"},
		{-2, "c", true, 6, "a,b,c,X,d,e"},
		{-2, "a", false, 6, "X,a,b,c,d,e"},
		{-2, "e", true, 6, "a,b,c,d,e,X"},
		{-2, "nope", true, -1, "a,b,c,d,e"},
		{2, "a", true, 6, "a,X,b,c,d,e"}, // full node: split
		{2, "b", true, 6, "a,b,X,c,d,e"}, // after node end
		{2, "c", false, 6, "a,b,X,c,d,e"},
		{1, "c", true, 6, "a,b,c,X,d,e"},
		{0, "c", true, 6, "a,b,c,X,d,e"},
	} {
		l := listOf(c.fill, "a", "b", "c", "d", "e")
		if got := l.Insert([]byte(c.pivot), c.after, []byte("X")); got != c.want {
			t.Errorf("%+v: Insert=%d", c, got)
		}
		if got := strings.Join(listStrings(l), ","); got != c.list {
			t.Errorf("%+v: list %s", c, got)
		}
		if err := l.check(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestListRemove(t *testing.T) {
	for _, c := range []struct {
		count int
		want  int
		list  string
	}{
		{0, 4, "b,c,d"},
		{2, 2, "b,c,a,d,a"},
		{-2, 2, "a,b,a,c,d"},
		{1, 1, "b,a,c,a,d,a"},
		{-1, 1, "a,b,a,c,a,d"},
		{10, 4, "b,c,d"},
		{-10, 4, "b,c,d"},
	} {
		for _, fill := range []int{-2, 1, 2, 3} {
			l := listOf(fill, "a", "b", "a", "c", "a", "d", "a")
			if got := l.Remove(c.count, []byte("a")); got != c.want {
				t.Errorf("fill %d Remove(%d)=%d want %d", fill, c.count, got, c.want)
			}
			if got := strings.Join(listStrings(l), ","); got != c.list {
				t.Errorf("fill %d Remove(%d): %s want %s", fill, c.count, got, c.list)
			}
			if err := l.check(); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestListTrim(t *testing.T) {
	for _, c := range []struct {
		start, stop int
		want        string
	}{
		{0, -1, "0123456"}, {1, -2, "12345"}, {2, 2, "2"}, {5, 2, ""}, {-3, 100, "456"}, {7, 9, ""}, {-100, 0, "0"},
	} {
		for _, fill := range []int{-2, 2} {
			l := listOf(fill, "0", "1", "2", "3", "4", "5", "6")
			l.Trim(c.start, c.stop)
			if got := strings.Join(listStrings(l), ""); got != c.want {
				t.Errorf("fill %d Trim(%d,%d)=%q want %q", fill, c.start, c.stop, got, c.want)
			}
			if err := l.check(); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestListPos(t *testing.T) {
	l := listOf(2, "a", "b", "c", "1", "2", "3", "c", "c")
	for _, c := range []struct {
		rank, count, maxlen int
		want                []int
	}{
		{1, 1, 0, []int{2}},
		{1, 0, 0, []int{2, 6, 7}},
		{2, 0, 0, []int{6, 7}},
		{-1, 1, 0, []int{7}},
		{-1, 0, 0, []int{7, 6, 2}},
		{-2, 2, 0, []int{6, 2}},
		{1, 0, 3, []int{2}},
		{1, 0, 2, nil},
		{-1, 0, 2, []int{7, 6}},
		{4, 0, 0, nil},
		{1, 2, 0, []int{2, 6}},
	} {
		got := l.Pos([]byte("c"), c.rank, c.count, c.maxlen)
		if !slices.Equal(got, c.want) {
			t.Errorf("Pos(rank %d count %d maxlen %d)=%v want %v", c.rank, c.count, c.maxlen, got, c.want)
		}
	}
}

func TestListNodeLimits(t *testing.T) {
	// fill 4: four entries a node.
	l := NewList(4)
	for i := 0; i < 10; i++ {
		l.PushRight([]byte("x"))
	}
	if len(l.nodes) != 3 {
		t.Fatalf("fill 4, 10 entries: %d nodes", len(l.nodes))
	}
	// fill -1: 4 KB nodes; a value bigger than a node gets its own node.
	l = NewList(-1)
	big := bytes.Repeat([]byte("b"), 10000)
	l.PushRight(bytes.Repeat([]byte("s"), 100), big, []byte("t"))
	if len(l.nodes) != 3 {
		t.Fatalf("big value: %d nodes", len(l.nodes))
	}
	if err := l.check(); err != nil {
		t.Fatal(err)
	}
	// Set of a value that overflows its node splits it.
	l = NewList(-1)
	for i := 0; i < 100; i++ {
		l.PushRight(bytes.Repeat([]byte{byte('a' + i%26)}, 30))
	}
	l.Set(50, bytes.Repeat([]byte("Z"), 3000))
	if v, _ := l.Index(50); len(v) != 3000 {
		t.Fatal("Set big value lost")
	}
	if err := l.check(); err != nil {
		t.Fatal(err)
	}
}

// TestListModel compares List against a [][]byte over random operations,
// for several fills.
func TestListModel(t *testing.T) {
	for _, fill := range []int{-5, -2, -1, 0, 1, 2, 5, 128} {
		t.Run(fmt.Sprint(fill), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(fill+100), 3))
			runListModel(t, rng, fill, 6000)
		})
	}
}

func randValue(rng *rand.Rand) []byte {
	switch rng.IntN(20) {
	case 0:
		return bytes.Repeat([]byte{'L'}, 200+rng.IntN(9000))
	case 1:
		return nil
	}
	return []byte(fmt.Sprint(rng.IntN(12)))
}

func runListModel(t testing.TB, rng *rand.Rand, fill, ops int) {
	l := NewList(fill)
	var m [][]byte
	for i := 0; i < ops; i++ {
		n := len(m)
		idx := rng.IntN(2*n+3) - n - 1
		switch op := rng.IntN(13); op {
		case 0:
			v := randValue(rng)
			l.PushLeft(v)
			m = append([][]byte{v}, m...)
		case 1:
			v := randValue(rng)
			w := randValue(rng)
			l.PushRight(v, w)
			m = append(m, v, w)
		case 2:
			k := rng.IntN(4)
			var got [][]byte
			l.PopLeft(k, func(v []byte) { got = append(got, slices.Clone(v)) })
			k = min(k, n)
			if !eqBytes(got, m[:k]) {
				t.Fatalf("op %d PopLeft: %q want %q", i, got, m[:k])
			}
			m = m[k:]
		case 3:
			k := rng.IntN(4)
			var got [][]byte
			l.PopRight(k, func(v []byte) { got = append(got, slices.Clone(v)) })
			k = min(k, n)
			want := slices.Clone(m[n-k:])
			slices.Reverse(want)
			if !eqBytes(got, want) {
				t.Fatalf("op %d PopRight: %q want %q", i, got, want)
			}
			m = m[:n-k]
		case 4:
			v, ok := l.Index(idx)
			j := idx
			if j < 0 {
				j += n
			}
			if ok != (j >= 0 && j < n) || ok && !bytes.Equal(v, m[j]) {
				t.Fatalf("op %d Index(%d)=%q,%v", i, idx, v, ok)
			}
		case 5:
			v := randValue(rng)
			ok := l.Set(idx, v)
			j := idx
			if j < 0 {
				j += n
			}
			if ok != (j >= 0 && j < n) {
				t.Fatalf("op %d Set(%d)=%v", i, idx, ok)
			}
			if ok {
				m[j] = v
			}
		case 6:
			a, b := rng.IntN(2*n+3)-n-1, rng.IntN(2*n+3)-n-1
			var got [][]byte
			l.Range(a, b, func(v []byte) bool { got = append(got, slices.Clone(v)); return true })
			var want [][]byte
			if s, e, ok := clampRange(a, b, n); ok {
				want = m[s : e+1]
			}
			if !eqBytes(got, want) {
				t.Fatalf("op %d Range(%d,%d)", i, a, b)
			}
		case 7:
			pivot, v, after := randValue(rng), randValue(rng), rng.IntN(2) == 0
			got := l.Insert(pivot, after, v)
			j := slices.IndexFunc(m, func(x []byte) bool { return bytes.Equal(x, pivot) })
			if j < 0 {
				if got != -1 {
					t.Fatalf("op %d Insert missing pivot: %d", i, got)
				}
				break
			}
			if after {
				j++
			}
			m = slices.Insert(m, j, v)
			if got != len(m) {
				t.Fatalf("op %d Insert=%d want %d", i, got, len(m))
			}
		case 8:
			count, v := rng.IntN(7)-3, randValue(rng)
			got := l.Remove(count, v)
			want := 0
			budget := count
			if budget < 0 {
				budget = -budget
			}
			if count == 0 {
				budget = n
			}
			if count >= 0 {
				for j := 0; j < len(m) && want < budget; {
					if bytes.Equal(m[j], v) {
						m = slices.Delete(m, j, j+1)
						want++
					} else {
						j++
					}
				}
			} else {
				for j := len(m) - 1; j >= 0 && want < budget; j-- {
					if bytes.Equal(m[j], v) {
						m = slices.Delete(m, j, j+1)
						want++
					}
				}
			}
			if got != want {
				t.Fatalf("op %d Remove(%d)=%d want %d", i, count, got, want)
			}
		case 9:
			if rng.IntN(4) != 0 {
				break // trims shrink a lot: keep them rarer
			}
			a, b := rng.IntN(n+2)-1, rng.IntN(2*n+3)-n-1
			if rng.IntN(2) == 0 {
				b = n - 1 - rng.IntN(3)
			}
			l.Trim(a, b)
			if s, e, ok := clampRange(a, b, n); ok {
				m = m[s : e+1]
			} else {
				m = nil
			}
		case 10:
			elem := randValue(rng)
			rank := rng.IntN(7) - 3
			if rank == 0 {
				rank = 1
			}
			count, maxlen := rng.IntN(3), rng.IntN(3)*rng.IntN(n+1)
			got := l.Pos(elem, rank, count, maxlen)
			if want := modelPos(m, elem, rank, count, maxlen); !slices.Equal(got, want) {
				t.Fatalf("op %d Pos(%q,%d,%d,%d)=%v want %v", i, elem, rank, count, maxlen, got, want)
			}
		case 11:
			var got [][]byte
			l.Iter(true, func(v []byte) bool { got = append(got, slices.Clone(v)); return true })
			want := slices.Clone(m)
			slices.Reverse(want)
			if !eqBytes(got, want) {
				t.Fatalf("op %d reverse Iter", i)
			}
		case 12:
			for k := rng.IntN(40); k > 0; k-- {
				v := []byte(fmt.Sprint(rng.IntN(12)))
				l.PushRight(v)
				m = append(m, v)
			}
		}
		if l.Len() != len(m) {
			t.Fatalf("op %d Len %d want %d", i, l.Len(), len(m))
		}
		if err := l.check(); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
	var got [][]byte
	l.Iter(false, func(v []byte) bool { got = append(got, slices.Clone(v)); return true })
	if !eqBytes(got, m) {
		t.Fatalf("final contents differ")
	}
}

func modelPos(m [][]byte, elem []byte, rank, count, maxlen int) []int {
	var out []int
	skip := rank - 1
	reverse := rank < 0
	if reverse {
		skip = -rank - 1
	}
	for k := 0; k < len(m); k++ {
		if maxlen != 0 && k >= maxlen {
			break
		}
		j := k
		if reverse {
			j = len(m) - 1 - k
		}
		if bytes.Equal(m[j], elem) {
			if skip > 0 {
				skip--
				continue
			}
			out = append(out, j)
			if count != 0 && len(out) == count {
				break
			}
		}
	}
	return out
}

func eqBytes(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestListMemSize(t *testing.T) {
	l := NewList(ListDefaultFill)
	empty := l.MemSize()
	for i := 0; i < 100000; i++ {
		l.PushRight([]byte(fmt.Sprintf("value:%d", i)))
	}
	full := l.MemSize()
	t.Logf("100k ~11-byte values: %d bytes, %.1f bytes/element", full, float64(full-empty)/100000)
	if err := l.check(); err != nil {
		t.Fatal(err)
	}
	l.PopLeft(90000, nil)
	if err := l.check(); err != nil {
		t.Fatal(err)
	}
	if m := l.MemSize(); m > full/5 {
		t.Fatalf("after popping 90%%: %d of %d", m, full)
	}
	l.Trim(1, 0)
	if l.MemSize() != empty || l.Len() != 0 {
		t.Fatalf("emptied list: %d bytes", l.MemSize())
	}
}
