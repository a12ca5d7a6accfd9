package ds

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func TestString2ll(t *testing.T) {
	for _, c := range []struct {
		in string
		v  int64
		ok bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"-1", -1, true}, {"123", 123, true},
		{"9223372036854775807", math.MaxInt64, true}, {"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"18446744073709551616", 0, false}, {"99999999999999999999", 0, false},
		{"", 0, false}, {"-", 0, false}, {"-0", 0, false}, {"00", 0, false}, {"01", 0, false},
		{"+1", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"1.0", 0, false}, {"1e3", 0, false},
		{"0x10", 0, false}, {"--1", 0, false}, {"12a", 0, false},
		{"000000000000000000001", 0, false},
	} {
		v, ok := String2ll([]byte(c.in))
		if v != c.v || ok != c.ok {
			t.Errorf("String2ll(%q)=%d,%v want %d,%v", c.in, v, ok, c.v, c.ok)
		}
	}
}

func TestIntsetWidths(t *testing.T) {
	var s intset
	steps := []struct {
		v     int64
		width int
	}{
		{5, 2}, {-3, 2}, {32767, 2}, {-32768, 2}, {32768, 4}, {-40000, 4},
		{math.MaxInt32, 4}, {math.MaxInt32 + 1, 8}, {math.MinInt64, 8}, {7, 8},
	}
	var model []int64
	for _, st := range steps {
		if !s.add(st.v) {
			t.Fatalf("add %d not new", st.v)
		}
		if s.add(st.v) {
			t.Fatalf("add %d twice", st.v)
		}
		model = append(model, st.v)
		slices.Sort(model)
		if s.width != st.width {
			t.Fatalf("after %d: width %d want %d", st.v, s.width, st.width)
		}
		for i, v := range model {
			if s.get(i) != v {
				t.Fatalf("after %d: [%d]=%d want %d", st.v, i, s.get(i), v)
			}
		}
	}
	// Never narrows.
	s.remove(math.MinInt64)
	s.remove(math.MaxInt32 + 1)
	if s.width != 8 || !s.contains(7) || s.contains(math.MaxInt32+1) {
		t.Fatal("remove/narrow")
	}
}

func TestSetConversion(t *testing.T) {
	cases := []struct {
		name    string
		members func() []string
		want    string
	}{
		{"512 integers stay intset", func() []string { return ints(512) }, "intset"},
		{"513 integers convert", func() []string { return ints(513) }, "hashtable"},
		{"non-integer converts", func() []string { return []string{"1", "2", "a"} }, "hashtable"},
		{"non-canonical integer converts", func() []string { return []string{"1", "01"} }, "hashtable"},
		{"-0 converts", func() []string { return []string{"-0"} }, "hashtable"},
		{"out of int64 range converts", func() []string { return []string{"9223372036854775808"} }, "hashtable"},
		{"int64 extremes stay", func() []string { return []string{"9223372036854775807", "-9223372036854775808"} }, "intset"},
		{"empty set is intset", func() []string { return nil }, "intset"},
	}
	for _, c := range cases {
		s := NewSet(SetMaxIntsetEntries)
		ms := c.members()
		for _, m := range ms {
			s.Add([]byte(m))
		}
		if s.Encoding() != c.want {
			t.Errorf("%s: %s", c.name, s.Encoding())
		}
		for _, m := range ms {
			if !s.IsMember([]byte(m)) {
				t.Errorf("%s: %q lost", c.name, m)
			}
		}
		if s.Len() != len(ms) {
			t.Errorf("%s: Len %d", c.name, s.Len())
		}
		if err := s.check(); err != nil {
			t.Error(err)
		}
	}
	// Duplicates do not count toward the limit.
	s := NewSet(SetMaxIntsetEntries)
	for i := 0; i < 3; i++ {
		for _, m := range ints(512) {
			s.Add([]byte(m))
		}
	}
	if s.Encoding() != "intset" {
		t.Fatal("re-adding members converted the intset")
	}
	// Non-integer lookups in an intset.
	if s.IsMember([]byte("abc")) || s.Remove([]byte("abc")) || s.IsMember([]byte("01")) {
		t.Fatal("non-integer found in intset")
	}
}

func ints(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i*7 - 1000)
	}
	return out
}

func TestSetRandomPop(t *testing.T) {
	for _, enc := range []string{"intset", "hashtable"} {
		s := NewSet(SetMaxIntsetEntries)
		for i := 0; i < 50; i++ {
			m := strconv.Itoa(i)
			if enc == "hashtable" {
				m = "m" + m
			}
			s.Add([]byte(m))
		}
		for _, count := range []int{0, 1, 10, 49, 50, 51, -1, -200} {
			seen := map[string]bool{}
			calls := 0
			s.Random(count, func(m []byte) {
				calls++
				seen[string(m)] = true
				if !s.IsMember(m) {
					t.Fatalf("%s Random gave non-member %q", enc, m)
				}
			})
			want := -count
			if count >= 0 {
				want = min(count, 50)
				if len(seen) != want {
					t.Fatalf("%s Random(%d) %d distinct", enc, count, len(seen))
				}
			}
			if calls != want {
				t.Fatalf("%s Random(%d) %d calls", enc, count, calls)
			}
		}
		popped := map[string]bool{}
		n := s.Pop(20, func(m []byte) {
			if popped[string(m)] {
				t.Fatalf("%s popped %q twice", enc, m)
			}
			popped[string(m)] = true
		})
		if n != 20 || s.Len() != 30 {
			t.Fatalf("%s Pop 20: n=%d Len=%d", enc, n, s.Len())
		}
		for m := range popped {
			if s.IsMember([]byte(m)) {
				t.Fatalf("%s popped %q still member", enc, m)
			}
		}
		if n := s.Pop(100, nil); n != 30 || s.Len() != 0 {
			t.Fatalf("%s Pop rest: %d", enc, n)
		}
		if err := s.check(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSetModel compares Set with a map over random operations on mixed
// integer and string members, through conversion.
func TestSetModel(t *testing.T) {
	for _, lim := range []int{4, 64, SetMaxIntsetEntries} {
		t.Run(fmt.Sprint(lim), func(t *testing.T) {
			for round := 0; round < 10; round++ {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(lim)))
				runSetModel(t, rng, lim, 1500, round%3 == 0)
			}
		})
	}
}

func randMember(rng *rand.Rand, strs bool) string {
	switch r := rng.IntN(100); {
	case strs && r < 3:
		return "s" + strconv.Itoa(rng.IntN(20))
	case r < 6:
		return strconv.FormatInt(int64(rng.Uint64()), 10)
	case r < 12:
		return strconv.Itoa(rng.IntN(200000) - 100000)
	default:
		return strconv.Itoa(rng.IntN(300) - 50)
	}
}

func runSetModel(t testing.TB, rng *rand.Rand, maxIntset, ops int, strs bool) {
	s := NewSet(maxIntset)
	m := map[string]bool{}
	for i := 0; i < ops; i++ {
		x := randMember(rng, strs)
		switch rng.IntN(6) {
		case 0, 1, 2:
			if s.Add([]byte(x)) == m[x] {
				t.Fatalf("op %d Add(%s)", i, x)
			}
			m[x] = true
		case 3:
			if s.Remove([]byte(x)) != m[x] {
				t.Fatalf("op %d Remove(%s)", i, x)
			}
			delete(m, x)
		case 4:
			if s.IsMember([]byte(x)) != m[x] {
				t.Fatalf("op %d IsMember(%s)", i, x)
			}
		case 5:
			if rng.IntN(10) == 0 {
				s.Pop(rng.IntN(3), func(p []byte) {
					if !m[string(p)] {
						t.Fatalf("op %d popped non-member %s", i, p)
					}
					delete(m, string(p))
				})
			}
			got := s.Members()
			if len(got) != len(m) {
				t.Fatalf("op %d Members %d want %d", i, len(got), len(m))
			}
			for _, g := range got {
				if !m[string(g)] {
					t.Fatalf("op %d Members has %s", i, g)
				}
			}
		}
		if s.Len() != len(m) {
			t.Fatalf("op %d Len %d want %d", i, s.Len(), len(m))
		}
		if err := s.check(); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
}

func TestSetMemSize(t *testing.T) {
	s := NewSet(SetMaxIntsetEntries)
	base := s.MemSize()
	for i := 0; i < 512; i++ {
		s.Add([]byte(strconv.Itoa(i)))
	}
	if s.Encoding() != "intset" || s.MemSize() > base+2*1024+64 {
		t.Fatalf("512 small ints: %s %d bytes", s.Encoding(), s.MemSize())
	}
	s.Add([]byte("x"))
	big := s.MemSize()
	if big <= base+1024 {
		t.Fatalf("hashtable smaller than intset: %d", big)
	}
	for i := 0; i < 512; i++ {
		s.Remove([]byte(strconv.Itoa(i)))
	}
	s.Remove([]byte("x"))
	if s.MemSize() > base+dictOverhead {
		t.Fatalf("emptied set: %d", s.MemSize())
	}
}
