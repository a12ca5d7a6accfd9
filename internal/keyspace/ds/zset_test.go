package ds

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestParseScoreRange(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		min, max string
		want     ScoreRange
		err      bool
	}{
		{"1", "2", ScoreRange{Min: 1, Max: 2}, false},
		{"(1.5", "(2.5", ScoreRange{Min: 1.5, Max: 2.5, MinEx: true, MaxEx: true}, false},
		{"-inf", "+inf", ScoreRange{Min: -inf, Max: inf}, false},
		{"-inf", "inf", ScoreRange{Min: -inf, Max: inf}, false},
		{"(-inf", "(+inf", ScoreRange{Min: -inf, Max: inf, MinEx: true, MaxEx: true}, false},
		{"-Infinity", "INF", ScoreRange{Min: -inf, Max: inf}, false},
		{"1e3", "-2.5e-1", ScoreRange{Min: 1000, Max: -0.25}, false},
		{" 5", "1e400", ScoreRange{Min: 5, Max: inf}, false},    // strtod: leading space, overflow → inf
		{"", "(", ScoreRange{MaxEx: true}, false},               // strtod converts nothing: 0
		{"0x10", "0x1.8p1", ScoreRange{Min: 16, Max: 3}, false}, // strtod hex floats
		{"-0X1", "+0x2", ScoreRange{Min: -1, Max: 2}, false},
		{"0x", "1", ScoreRange{}, true},
		{"nan", "1", ScoreRange{}, true},
		{"1", "(nan", ScoreRange{}, true},
		{"abc", "1", ScoreRange{}, true},
		{"1", "2 ", ScoreRange{}, true},
		{"[1", "2", ScoreRange{}, true},
		{"1_0", "2", ScoreRange{}, true},
		{"((1", "2", ScoreRange{}, true},
	} {
		got, err := ParseScoreRange([]byte(c.min), []byte(c.max))
		if (err != nil) != c.err || err == nil && got != c.want {
			t.Errorf("ParseScoreRange(%q,%q)=%+v,%v want %+v err=%v", c.min, c.max, got, err, c.want, c.err)
		}
		if err != nil && !errors.Is(err, ErrMinMaxNotFloat) {
			t.Errorf("wrong error %v", err)
		}
	}
}

func TestParseLexRange(t *testing.T) {
	for _, c := range []struct {
		min, max string
		err      bool
		empty    bool
	}{
		{"-", "+", false, false},
		{"[a", "[a", false, false},
		{"(a", "[a", false, true},
		{"[a", "(a", false, true},
		{"[b", "[a", false, true},
		{"-", "-", false, true},
		{"+", "+", false, true},
		{"+", "-", false, true},
		{"-", "[a", false, false},
		{"[", "+", false, false}, // "[" is the empty string, inclusive
		{"a", "+", true, false},
		{"", "+", true, false},
		{"-x", "+", true, false},
		{"[a", "+b", true, false},
	} {
		r, err := ParseLexRange([]byte(c.min), []byte(c.max))
		if (err != nil) != c.err {
			t.Errorf("ParseLexRange(%q,%q) err=%v", c.min, c.max, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrMinMaxNotString) {
				t.Errorf("wrong error %v", err)
			}
			continue
		}
		if r.Empty() != c.empty {
			t.Errorf("(%q,%q).Empty()=%v", c.min, c.max, r.Empty())
		}
	}
}

func zsetBoth(t *testing.T, fn func(t *testing.T, z *ZSet)) {
	t.Run("listpack", func(t *testing.T) { fn(t, NewZSet(ZSetMaxListpackEntries, ZSetMaxListpackValue)) })
	t.Run("skiplist", func(t *testing.T) {
		z := NewZSet(0, 0) // converts on the first add
		fn(t, z)
		if z.Card() > 0 && z.Encoding() != "skiplist" {
			t.Fatal("not skiplist")
		}
	})
}

func TestZAddFlags(t *testing.T) {
	inf := math.Inf(1)
	zsetBoth(t, func(t *testing.T, z *ZSet) {
		steps := []struct {
			m      string
			score  float64
			flags  ZAddFlags
			res    ZAddResult
			newS   float64
			errNaN bool
		}{
			{"a", 1, 0, ZAdded, 1, false},
			{"a", 1, 0, ZUnchanged, 1, false},
			{"a", 2, 0, ZUpdated, 2, false},
			{"a", 5, ZAddNX, ZNop, 2, false},
			{"b", 5, ZAddXX, ZNop, 0, false},
			{"b", 5, ZAddNX, ZAdded, 5, false},
			{"a", 3, ZAddXX, ZUpdated, 3, false},
			{"a", 1, ZAddGT, ZNop, 3, false},
			{"a", 3, ZAddGT, ZNop, 3, false},
			{"a", 4, ZAddGT, ZUpdated, 4, false},
			{"a", 9, ZAddLT, ZNop, 4, false},
			{"a", 0, ZAddLT, ZUpdated, 0, false},
			{"c", 7, ZAddGT, ZAdded, 7, false}, // GT/LT do not stop adds
			{"a", 10, ZAddIncr, ZUpdated, 10, false},
			{"a", 0, ZAddIncr, ZUnchanged, 10, false},
			{"a", -1, ZAddIncr | ZAddGT, ZNop, 10, false},
			{"a", 1, ZAddIncr | ZAddGT, ZUpdated, 11, false},
			{"d", 3, ZAddIncr, ZAdded, 3, false},
			{"d", 3, ZAddIncr | ZAddNX, ZNop, 3, false},
			{"e", 1, ZAddIncr | ZAddXX, ZNop, 0, false},
			{"i", inf, 0, ZAdded, inf, false},
			{"i", -inf, ZAddIncr, ZNop, inf, true},
			{"n", math.NaN(), 0, ZNop, 0, true},
		}
		for i, s := range steps {
			res, ns, err := z.Add([]byte(s.m), s.score, s.flags)
			if (err != nil) != s.errNaN || res != s.res || ns != s.newS {
				t.Fatalf("step %d %+v: got %v %v %v", i, s, res, ns, err)
			}
			if err != nil && !errors.Is(err, ErrScoreNaN) {
				t.Fatalf("step %d: error %v", i, err)
			}
			if err := z.check(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		if s, _ := z.Score([]byte("i")); s != inf || z.Card() != 5 {
			t.Fatalf("after NaN: score %v card %d", s, z.Card())
		}
	})
}

func TestZSetConversion(t *testing.T) {
	long := strings.Repeat("m", ZSetMaxListpackValue)
	for _, c := range []struct {
		name string
		fill func(z *ZSet)
		want string
	}{
		{"128 stay listpack", func(z *ZSet) { fillZ(z, 128) }, "listpack"},
		{"129 convert", func(z *ZSet) { fillZ(z, 129) }, "skiplist"},
		{"64-byte member stays", func(z *ZSet) { z.Add([]byte(long), 1, 0) }, "listpack"},
		{"65-byte member converts", func(z *ZSet) { z.Add([]byte(long+"x"), 1, 0) }, "skiplist"},
		{"XX with long member does not convert", func(z *ZSet) { z.Add([]byte(long+"x"), 1, ZAddXX) }, "listpack"},
		{"update at 128 stays", func(z *ZSet) {
			fillZ(z, 128)
			z.Add([]byte("m0"), 1000, 0)
		}, "listpack"},
		{"never converts back", func(z *ZSet) {
			fillZ(z, 129)
			z.RemoveRangeByRank(0, -1)
			z.Add([]byte("a"), 1, 0)
		}, "skiplist"},
	} {
		z := NewZSet(ZSetMaxListpackEntries, ZSetMaxListpackValue)
		c.fill(z)
		if z.Encoding() != c.want {
			t.Errorf("%s: %s", c.name, z.Encoding())
		}
		if err := z.check(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	z := NewZSet(ZSetMaxListpackEntries, ZSetMaxListpackValue)
	fillZ(z, 300)
	for i := 0; i < 300; i++ {
		if s, ok := z.Score([]byte(fmt.Sprint("m", i))); !ok || s != float64(i%17) {
			t.Fatalf("m%d lost: %v %v", i, s, ok)
		}
	}
}

func fillZ(z *ZSet, n int) {
	for i := 0; i < n; i++ {
		z.Add([]byte(fmt.Sprint("m", i)), float64(i%17), 0)
	}
}

func TestZSetRanges(t *testing.T) {
	zsetBoth(t, func(t *testing.T, z *ZSet) {
		for i, m := range []string{"a", "b", "c", "d", "e", "f"} {
			z.Add([]byte(m), float64(i/2), 0) // a,b:0 c,d:1 e,f:2
		}
		collect := func(f func(fn func([]byte, float64) bool)) string {
			var sb strings.Builder
			f(func(m []byte, s float64) bool { fmt.Fprintf(&sb, "%s%g", m, s); return true })
			return sb.String()
		}
		sr := func(a, b string) ScoreRange {
			r, err := ParseScoreRange([]byte(a), []byte(b))
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		for _, c := range []struct {
			start, stop int
			rev         bool
			want        string
		}{
			{0, -1, false, "a0b0c1d1e2f2"}, {0, -1, true, "f2e2d1c1b0a0"}, {1, 2, false, "b0c1"},
			{1, 2, true, "e2d1"}, {-2, -1, false, "e2f2"}, {4, 100, false, "e2f2"}, {3, 2, false, ""},
		} {
			if got := collect(func(fn func([]byte, float64) bool) { z.RangeByRank(c.start, c.stop, c.rev, fn) }); got != c.want {
				t.Errorf("RangeByRank(%d,%d,%v)=%s want %s", c.start, c.stop, c.rev, got, c.want)
			}
		}
		for _, c := range []struct {
			min, max      string
			rev           bool
			offset, count int
			want          string
			n             int
		}{
			{"-inf", "+inf", false, 0, -1, "a0b0c1d1e2f2", 6},
			{"1", "1", false, 0, -1, "c1d1", 2},
			{"(0", "2", false, 0, -1, "c1d1e2f2", 4},
			{"(0", "(2", false, 0, -1, "c1d1", 2},
			{"0", "2", false, 1, 2, "b0c1", 6},
			{"0", "2", true, 1, 2, "e2d1", 6},
			{"0", "2", false, 10, 2, "", 6},
			{"0", "2", false, -1, 2, "", 6},
			{"0", "2", false, 0, 0, "", 6},
			{"5", "9", false, 0, -1, "", 0},
			{"2", "1", false, 0, -1, "", 0},
			{"(1", "1", false, 0, -1, "", 0},
			{"-inf", "(0", false, 0, -1, "", 0},
			{"(1", "+inf", true, 0, -1, "f2e2", 2},
		} {
			r := sr(c.min, c.max)
			if got := collect(func(fn func([]byte, float64) bool) { z.RangeByScore(r, c.rev, c.offset, c.count, fn) }); got != c.want {
				t.Errorf("RangeByScore(%s,%s,%v,%d,%d)=%s want %s", c.min, c.max, c.rev, c.offset, c.count, got, c.want)
			}
			if n := z.Count(r); n != c.n {
				t.Errorf("Count(%s,%s)=%d want %d", c.min, c.max, n, c.n)
			}
		}
		for _, c := range []struct {
			m    string
			rank int
			rev  int
		}{{"a", 0, 5}, {"d", 3, 2}, {"f", 5, 0}} {
			r, ok := z.Rank([]byte(c.m), false)
			rr, ok2 := z.Rank([]byte(c.m), true)
			if !ok || !ok2 || r != c.rank || rr != c.rev {
				t.Errorf("Rank(%s)=%d,%d", c.m, r, rr)
			}
		}
		if _, ok := z.Rank([]byte("zz"), false); ok {
			t.Error("Rank of absent member")
		}
	})
}

func TestZSetLex(t *testing.T) {
	zsetBoth(t, func(t *testing.T, z *ZSet) {
		for _, m := range []string{"a", "b", "c", "d", "e", "f", "g"} {
			z.Add([]byte(m), 0, 0)
		}
		for _, c := range []struct {
			min, max      string
			rev           bool
			offset, count int
			want          string
			n             int
		}{
			{"-", "+", false, 0, -1, "abcdefg", 7},
			{"-", "+", true, 0, -1, "gfedcba", 7},
			{"[b", "[d", false, 0, -1, "bcd", 3},
			{"(b", "(d", false, 0, -1, "c", 1},
			{"(b", "+", true, 1, 2, "fe", 5},
			{"-", "(c", false, 0, -1, "ab", 2},
			{"[c", "[a", false, 0, -1, "", 0},
			{"[aa", "[bb", false, 0, -1, "b", 1},
			{"+", "+", false, 0, -1, "", 0},
			{"[h", "+", false, 0, -1, "", 0},
		} {
			r, err := ParseLexRange([]byte(c.min), []byte(c.max))
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			z.RangeByLex(r, c.rev, c.offset, c.count, func(m []byte, _ float64) bool { sb.Write(m); return true })
			if sb.String() != c.want {
				t.Errorf("RangeByLex(%s,%s,%v)=%s want %s", c.min, c.max, c.rev, sb.String(), c.want)
			}
			if n := z.LexCount(r); n != c.n {
				t.Errorf("LexCount(%s,%s)=%d want %d", c.min, c.max, n, c.n)
			}
		}
		r, _ := ParseLexRange([]byte("[b"), []byte("(e"))
		if n := z.RemoveRangeByLex(r); n != 3 || z.Card() != 4 {
			t.Fatalf("RemoveRangeByLex=%d card %d", n, z.Card())
		}
		if err := z.check(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestZSetRemoveAndPop(t *testing.T) {
	zsetBoth(t, func(t *testing.T, z *ZSet) {
		fill := func() {
			for i := 0; i < 10; i++ {
				z.Add([]byte(fmt.Sprint("m", i)), float64(i), 0)
			}
		}
		fill()
		if n := z.RemoveRangeByRank(-3, -1); n != 3 || z.Card() != 7 {
			t.Fatalf("RemoveRangeByRank=%d", n)
		}
		if n := z.RemoveRangeByRank(5, 2); n != 0 {
			t.Fatalf("empty RemoveRangeByRank=%d", n)
		}
		r, _ := ParseScoreRange([]byte("(1"), []byte("3"))
		if n := z.RemoveRangeByScore(r); n != 2 || z.Card() != 5 {
			t.Fatalf("RemoveRangeByScore=%d", n)
		}
		var got []string
		z.PopMin(2, func(m []byte, s float64) { got = append(got, fmt.Sprintf("%s:%g", m, s)) })
		z.PopMax(2, func(m []byte, s float64) { got = append(got, fmt.Sprintf("%s:%g", m, s)) })
		if strings.Join(got, ",") != "m0:0,m1:1,m6:6,m5:5" || z.Card() != 1 {
			t.Fatalf("pops %v card %d", got, z.Card())
		}
		if n := z.PopMax(5, nil); n != 1 || z.Card() != 0 {
			t.Fatalf("PopMax rest %d", n)
		}
		if n := z.PopMin(5, nil); n != 0 {
			t.Fatal("PopMin on empty")
		}
		if !z.Remove([]byte("x")) == false {
			t.Fatal("Remove absent")
		}
		if err := z.check(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestZSetRandomScan(t *testing.T) {
	zsetBoth(t, func(t *testing.T, z *ZSet) {
		for i := 0; i < 40; i++ {
			z.Add([]byte(fmt.Sprint("m", i)), float64(i), 0)
		}
		for _, count := range []int{1, 5, 40, 100, -3, -100} {
			seen := map[string]bool{}
			calls := 0
			z.Random(count, func(m []byte, s float64) {
				calls++
				seen[string(m)] = true
				if got, _ := z.Score(m); got != s {
					t.Fatalf("Random score %v for %s", s, m)
				}
			})
			if count > 0 && (len(seen) != min(count, 40) || calls != len(seen)) || count < 0 && calls != -count {
				t.Fatalf("Random(%d): %d calls %d distinct", count, calls, len(seen))
			}
		}
		seen := map[string]bool{}
		c := uint64(0)
		for {
			c = z.Scan(c, func(m []byte, s float64) { seen[string(m)] = true })
			if c == 0 {
				break
			}
		}
		if len(seen) != 40 {
			t.Fatalf("Scan saw %d", len(seen))
		}
	})
}

type zpair struct {
	m string
	s float64
}

func modelSorted(m map[string]float64) []zpair {
	out := make([]zpair, 0, len(m))
	for k, v := range m {
		out = append(out, zpair{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].s < out[j].s || out[i].s == out[j].s && out[i].m < out[j].m
	})
	return out
}

// TestZSetModel compares ZSet with a map + sort over random operations in
// both encodings and across conversion. With lexMode all scores are equal
// and the lex operations are checked too.
func TestZSetModel(t *testing.T) {
	for _, lim := range []int{0, 8, 128, 100000} {
		for _, lexMode := range []bool{false, true} {
			t.Run(fmt.Sprint(lim, lexMode), func(t *testing.T) {
				for round := 0; round < 6; round++ {
					rng := rand.New(rand.NewPCG(uint64(round), uint64(lim)))
					runZSetModel(t, rng, lim, 64, lexMode, 1500)
				}
			})
		}
	}
}

func runZSetModel(t testing.TB, rng *rand.Rand, maxEntries, maxValue int, lexMode bool, ops int) {
	z := NewZSet(maxEntries, maxValue)
	m := map[string]float64{}
	randScore := func() float64 {
		if lexMode {
			return 0
		}
		switch rng.IntN(20) {
		case 0:
			return math.Inf(1)
		case 1:
			return math.Inf(-1)
		}
		return float64(rng.IntN(30)) / 2
	}
	randMem := func() string {
		if rng.IntN(40) == 0 {
			return strings.Repeat("L", rng.IntN(2*maxValue+2))
		}
		return fmt.Sprint("m", rng.IntN(60))
	}
	randBound := func() string {
		switch rng.IntN(8) {
		case 0:
			return "-inf"
		case 1:
			return "+inf"
		case 2:
			return fmt.Sprint("(", float64(rng.IntN(32))/2-0.5)
		}
		return fmt.Sprint(float64(rng.IntN(32))/2 - 0.5)
	}
	randLex := func() string {
		switch rng.IntN(8) {
		case 0:
			return "-"
		case 1:
			return "+"
		case 2:
			return fmt.Sprint("(m", rng.IntN(70))
		}
		return fmt.Sprint("[m", rng.IntN(70))
	}
	collect := func(f func(fn func([]byte, float64) bool)) []zpair {
		var out []zpair
		f(func(mm []byte, s float64) bool { out = append(out, zpair{string(mm), s}); return true })
		return out
	}
	for i := 0; i < ops; i++ {
		sorted := modelSorted(m)
		n := len(sorted)
		switch op := rng.IntN(14); op {
		case 0, 1, 2:
			mem, score := randMem(), randScore()
			flags := ZAddFlags(0)
			switch rng.IntN(8) {
			case 0:
				flags = ZAddNX
			case 1:
				flags = ZAddXX
			case 2:
				flags = ZAddGT
			case 3:
				flags = ZAddLT
			case 4:
				flags = ZAddIncr
			case 5:
				flags = ZAddIncr | ZAddXX
			}
			res, ns, err := z.Add([]byte(mem), score, flags)
			cur, had := m[mem]
			// Model of zsetAdd.
			wantRes, wantS, wantErr := ZAdded, score, false
			if had {
				s := score
				if flags&ZAddIncr != 0 {
					s += cur
				}
				switch {
				case flags&ZAddNX != 0:
					wantRes, wantS = ZNop, cur
				case math.IsNaN(s):
					wantRes, wantS, wantErr = ZNop, cur, true
				case flags&ZAddLT != 0 && s >= cur || flags&ZAddGT != 0 && s <= cur:
					wantRes, wantS = ZNop, cur
				case s == cur:
					wantRes, wantS = ZUnchanged, s
				default:
					wantRes, wantS = ZUpdated, s
					m[mem] = s
				}
			} else if flags&ZAddXX != 0 {
				wantRes, wantS = ZNop, 0
			} else {
				m[mem] = score
			}
			if res != wantRes || ns != wantS || (err != nil) != wantErr {
				t.Fatalf("op %d Add(%s,%v,%b)=%v,%v,%v want %v,%v,%v", i, mem, score, flags, res, ns, err, wantRes, wantS, wantErr)
			}
		case 3:
			mem := randMem()
			_, had := m[mem]
			if z.Remove([]byte(mem)) != had {
				t.Fatalf("op %d Remove(%s)", i, mem)
			}
			delete(m, mem)
		case 4:
			mem := randMem()
			s, ok := z.Score([]byte(mem))
			w, had := m[mem]
			if ok != had || s != w {
				t.Fatalf("op %d Score(%s)", i, mem)
			}
			r, ok := z.Rank([]byte(mem), rng.IntN(2) == 0)
			if ok != had {
				t.Fatalf("op %d Rank(%s) ok", i, mem)
			}
			if ok {
				fr, _ := z.Rank([]byte(mem), false)
				rr, _ := z.Rank([]byte(mem), true)
				if sorted[fr].m != mem || fr+rr != n-1 || (r != fr && r != rr) {
					t.Fatalf("op %d Rank(%s)=%d/%d", i, mem, fr, rr)
				}
			}
		case 5:
			a, b, rev := rng.IntN(2*n+3)-n-1, rng.IntN(2*n+3)-n-1, rng.IntN(2) == 0
			got := collect(func(fn func([]byte, float64) bool) { z.RangeByRank(a, b, rev, fn) })
			var want []zpair
			if s, e, ok := clampRange(a, b, n); ok {
				src := slices.Clone(sorted)
				if rev {
					slices.Reverse(src)
				}
				want = src[s : e+1]
			}
			if !slices.Equal(got, want) {
				t.Fatalf("op %d RangeByRank(%d,%d,%v)=%v want %v", i, a, b, rev, got, want)
			}
		case 6, 7:
			r, err := ParseScoreRange([]byte(randBound()), []byte(randBound()))
			if err != nil {
				t.Fatal(err)
			}
			rev := rng.IntN(2) == 0
			off, cnt := 0, -1
			if rng.IntN(2) == 0 {
				off, cnt = rng.IntN(5)-1, rng.IntN(6)-1
			}
			var in []zpair
			for _, p := range sorted {
				if r.gteMin(p.s) && r.lteMax(p.s) {
					in = append(in, p)
				}
			}
			if c := z.Count(r); c != len(in) {
				t.Fatalf("op %d Count(%+v)=%d want %d", i, r, c, len(in))
			}
			got := collect(func(fn func([]byte, float64) bool) { z.RangeByScore(r, rev, off, cnt, fn) })
			want := limitModel(in, rev, off, cnt)
			if !slices.Equal(got, want) {
				t.Fatalf("op %d RangeByScore(%+v,%v,%d,%d)=%v want %v", i, r, rev, off, cnt, got, want)
			}
			if op == 7 && rng.IntN(4) == 0 {
				if k := z.RemoveRangeByScore(r); k != len(in) {
					t.Fatalf("op %d RemoveRangeByScore=%d want %d", i, k, len(in))
				}
				for _, p := range in {
					delete(m, p.m)
				}
			}
		case 8:
			if !lexMode {
				break
			}
			r, err := ParseLexRange([]byte(randLex()), []byte(randLex()))
			if err != nil {
				t.Fatal(err)
			}
			rev := rng.IntN(2) == 0
			off, cnt := 0, -1
			if rng.IntN(2) == 0 {
				off, cnt = rng.IntN(5)-1, rng.IntN(6)-1
			}
			var in []zpair
			if !r.Empty() {
				for _, p := range sorted {
					if r.gteMin([]byte(p.m)) && r.lteMax([]byte(p.m)) {
						in = append(in, p)
					}
				}
			}
			if c := z.LexCount(r); c != len(in) {
				t.Fatalf("op %d LexCount=%d want %d", i, c, len(in))
			}
			got := collect(func(fn func([]byte, float64) bool) { z.RangeByLex(r, rev, off, cnt, fn) })
			if want := limitModel(in, rev, off, cnt); !slices.Equal(got, want) {
				t.Fatalf("op %d RangeByLex=%v want %v", i, got, want)
			}
			if rng.IntN(4) == 0 {
				if k := z.RemoveRangeByLex(r); k != len(in) {
					t.Fatalf("op %d RemoveRangeByLex=%d want %d", i, k, len(in))
				}
				for _, p := range in {
					delete(m, p.m)
				}
			}
		case 9:
			if rng.IntN(3) != 0 {
				break
			}
			a, b := rng.IntN(2*n+3)-n-1, rng.IntN(2*n+3)-n-1
			k := z.RemoveRangeByRank(a, b)
			want := 0
			if s, e, ok := clampRange(a, b, n); ok {
				want = e - s + 1
				for _, p := range sorted[s : e+1] {
					delete(m, p.m)
				}
			}
			if k != want {
				t.Fatalf("op %d RemoveRangeByRank=%d want %d", i, k, want)
			}
		case 10:
			k := rng.IntN(4)
			var got []zpair
			if rng.IntN(2) == 0 {
				z.PopMin(k, func(mm []byte, s float64) { got = append(got, zpair{string(mm), s}) })
				want := sorted[:min(k, n)]
				if !slices.Equal(got, want) {
					t.Fatalf("op %d PopMin=%v want %v", i, got, want)
				}
			} else {
				z.PopMax(k, func(mm []byte, s float64) { got = append(got, zpair{string(mm), s}) })
				want := slices.Clone(sorted[n-min(k, n):])
				slices.Reverse(want)
				if !slices.Equal(got, want) {
					t.Fatalf("op %d PopMax=%v want %v", i, got, want)
				}
			}
			for _, p := range got {
				delete(m, p.m)
			}
		case 11:
			count := rng.IntN(20) - 10
			seen := map[string]bool{}
			calls := 0
			z.Random(count, func(mm []byte, s float64) {
				calls++
				if w, ok := m[string(mm)]; !ok || w != s {
					t.Fatalf("op %d Random gave %s", i, mm)
				}
				if count > 0 && seen[string(mm)] {
					t.Fatalf("op %d Random(%d) repeated", i, count)
				}
				seen[string(mm)] = true
			})
			want := -count
			if count >= 0 || n == 0 {
				want = min(max(count, 0), n)
			}
			if calls != want {
				t.Fatalf("op %d Random(%d) gave %d", i, count, calls)
			}
		case 12:
			// Scan, removing some visited members between calls.
			seen := map[string]bool{}
			c := uint64(0)
			for {
				var drop []string
				c = z.Scan(c, func(mm []byte, s float64) {
					seen[string(mm)] = true
					if rng.IntN(8) == 0 {
						drop = append(drop, string(mm))
					}
				})
				for _, k := range drop {
					z.Remove([]byte(k))
					delete(m, k)
				}
				if c == 0 {
					break
				}
			}
			for _, p := range sorted {
				if !seen[p.m] {
					t.Fatalf("op %d Scan missed %s", i, p.m)
				}
			}
		case 13:
			got := collect(func(fn func([]byte, float64) bool) { z.Iter(false, fn) })
			if !slices.Equal(got, sorted) {
				t.Fatalf("op %d Iter=%v want %v", i, got, sorted)
			}
		}
		if z.Card() != len(m) {
			t.Fatalf("op %d Card %d want %d", i, z.Card(), len(m))
		}
		if err := z.check(); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
}

func limitModel(in []zpair, rev bool, off, cnt int) []zpair {
	src := slices.Clone(in)
	if rev {
		slices.Reverse(src)
	}
	if off < 0 || cnt == 0 || off >= len(src) {
		return nil
	}
	src = src[off:]
	if cnt > 0 && cnt < len(src) {
		src = src[:cnt]
	}
	return src
}

func TestZSetMemSize(t *testing.T) {
	z := NewZSet(ZSetMaxListpackEntries, ZSetMaxListpackValue)
	base := z.MemSize()
	for i := 0; i < 50000; i++ {
		z.Add([]byte(fmt.Sprintf("member:%06d", i)), float64(i), 0)
	}
	full := z.MemSize()
	t.Logf("50k 13-byte members: %d bytes, %.1f bytes/member", full, float64(full-base)/50000)
	if err := z.check(); err != nil {
		t.Fatal(err)
	}
	r, _ := ParseScoreRange([]byte("0"), []byte("(45000"))
	if n := z.RemoveRangeByScore(r); n != 45000 {
		t.Fatalf("removed %d", n)
	}
	for z.sl.d.Rehash(100) {
	}
	if err := z.check(); err != nil {
		t.Fatal(err)
	}
	if m := z.MemSize(); m > full/4 {
		t.Fatalf("after removing 90%%: %d of %d", m, full)
	}
	z.PopMin(10000, nil)
	if z.MemSize() > base+zslOverhead+dictOverhead {
		t.Fatalf("emptied zset holds %d", z.MemSize())
	}
}

// TestZSetScoreUpdates moves members of a skiplist among few distinct
// scores (ties, in-place updates of tall nodes, moves across ties, ±0,
// ±inf) and checks the links' cached scores and the order against a model
// after every step.
func TestZSetScoreUpdates(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	z := NewZSet(4, ZSetMaxListpackValue)
	m := map[string]float64{}
	scores := []float64{math.Inf(-1), -2.5, -1, math.Copysign(0, -1), 0, 0.5, 1, 1.5, 2, 3, math.Inf(1)}
	for i := 0; i < 20000; i++ {
		k := fmt.Sprint("m", r.IntN(300))
		var s float64
		switch r.IntN(3) {
		case 0: // a neighbour of the current score: mostly in place
			s = m[k] + (r.Float64()-0.5)*1e-3
		case 1:
			s = scores[r.IntN(len(scores))]
		default:
			s = float64(r.IntN(40))
		}
		if r.IntN(50) == 0 {
			z.Remove([]byte(k))
			delete(m, k)
		} else if _, _, err := z.Add([]byte(k), s, 0); err == nil {
			m[k] = s
		}
		if i%7 == 0 || i > 19000 {
			if err := z.check(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
	}
	prev, n := "", 0
	var ps float64
	z.Iter(false, func(mb []byte, s float64) bool {
		if m[string(mb)] != s {
			t.Fatalf("%s score %v want %v", mb, s, m[string(mb)])
		}
		if n > 0 && (s < ps || s == ps && string(mb) <= prev) {
			t.Fatalf("out of order at %s", mb)
		}
		prev, ps, n = string(mb), s, n+1
		return true
	})
	if n != len(m) {
		t.Fatalf("iterated %d of %d", n, len(m))
	}
}
