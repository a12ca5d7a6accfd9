package topic

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// naive is the definition of topic matching, written as plainly as possible
// (word lists, recursion, no trie) so the trie can be checked against it.
func naive(pattern, key string) bool {
	return naiveWords(splitKey(nil, pattern), splitKey(nil, key))
}

func naiveWords(p, k []string) bool {
	if len(p) == 0 {
		return len(k) == 0
	}
	switch p[0] {
	case "#":
		for i := 0; i <= len(k); i++ {
			if naiveWords(p[1:], k[i:]) {
				return true
			}
		}
		return false
	case "*":
		return len(k) > 0 && naiveWords(p[1:], k[1:])
	default:
		return len(k) > 0 && k[0] == p[0] && naiveWords(p[1:], k[1:])
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		pattern, key string
		want         bool
	}{
		{"", "", true},
		{"", "a", false},
		{"#", "", true},
		{"#", "a", true},
		{"#", "a.b.c", true},
		{"*", "", false},
		{"*", "a", true},
		{"*", "a.b", false},
		{"a.*", "a.b", true},
		{"a.*", "a", false},
		{"a.*", "a.", true}, // "a." is ["a", ""]
		{"a.#", "a", true},
		{"a.#", "a.b.c", true},
		{"a.#", "b.a", false},
		{"#.a", "a", true},
		{"#.a", "x.y.a", true},
		{"#.a", "x.y.a.b", false},
		{"a.#.b", "a.b", true},
		{"a.#.b", "a.x.y.b", true},
		{"a.#.b", "a.x.y.c", false},
		{"*.orange.*", "quick.orange.rabbit", true},
		{"*.*.rabbit", "quick.orange.rabbit", true},
		{"lazy.#", "lazy.orange.male.rabbit", true},
		{"*.orange.*", "quick.orange.male.rabbit", false},
		{"*.*.rabbit", "orange", false},
		{"#.#", "", true},
		{"#.#", "a.b", true},
		{"#.*", "", false},
		{"#.*", "a", true},
		{"*.#", "a", true},
		{"*.#.*", "a", false},
		{"*.#.*", "a.b", true},
		{"a..b", "a..b", true},
		{"a.*.b", "a..b", true},
		{".", ".", true},
		{"*.*", ".", true},
		{"a", "A", false},
		{"#.a.#", "a.a", true},
		{"#.*.#.*.#", "a.b", true},
		{"#.*.#.*.#", "a", false},
	}
	for _, tt := range tests {
		if got := Matches(tt.pattern, tt.key); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
		if got := naive(tt.pattern, tt.key); got != tt.want {
			t.Errorf("naive(%q, %q) = %v, want %v (test table is wrong)", tt.pattern, tt.key, got, tt.want)
		}
	}
}

func TestSplitKey(t *testing.T) {
	tests := []struct {
		key  string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a.", []string{"a", ""}},
		{".", []string{"", ""}},
		{"a.b.c", []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		if got := splitKey(nil, tt.key); !slices.Equal(got, tt.want) {
			t.Errorf("splitKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestAddRemove(t *testing.T) {
	var tr Trie[int]
	if !tr.Add("a.*", 1) || tr.Add("a.*", 1) {
		t.Fatal("Add should report first insert only")
	}
	tr.Add("a.*", 2)
	tr.Add("#", 3)
	tr.Add("#.#", 4) // folds to "#"
	if tr.Len() != 4 {
		t.Fatalf("Len = %d, want 4", tr.Len())
	}
	got := tr.Match(nil, "a.b")
	slices.Sort(got)
	if !slices.Equal(got, []int{1, 2, 3, 4}) {
		t.Fatalf("Match = %v", got)
	}
	if tr.Remove("a.*", 9) || tr.Remove("a.b", 1) || tr.Remove("x.y.z", 1) {
		t.Fatal("Remove of absent pair reported true")
	}
	if !tr.Remove("a.*", 1) || !tr.Remove("a.*", 2) || !tr.Remove("#", 4) {
		t.Fatal("Remove of present pair reported false")
	}
	if got := tr.Match(nil, "a.b"); !slices.Equal(got, []int{3}) {
		t.Fatalf("Match after removes = %v", got)
	}
	if !tr.Remove("#.#.#", 3) {
		t.Fatal("Remove with folded pattern failed")
	}
	if tr.Len() != 0 || !tr.root.empty() {
		t.Fatalf("trie not empty after removing everything: len %d root %+v", tr.Len(), tr.root)
	}
}

var words = []string{"a", "b", "c", "", "*", "#"}

func randomPattern(r *rand.Rand) string {
	n := r.Intn(6)
	w := make([]string, n)
	for i := range w {
		w[i] = words[r.Intn(len(words))]
	}
	return strings.Join(w, ".")
}

func randomKey(r *rand.Rand) string {
	n := r.Intn(7)
	w := make([]string, n)
	for i := range w {
		w[i] = words[r.Intn(4)]
	}
	return strings.Join(w, ".")
}

// TestAgainstNaive checks a trie full of random patterns against the naive
// matcher for random keys, including after random removals.
func TestAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for round := 0; round < 50; round++ {
		var tr Trie[int]
		pats := map[int]string{}
		for i := 0; i < 200; i++ {
			p := randomPattern(r)
			pats[i] = p
			tr.Add(p, i)
		}
		for i := 0; i < 200; i += 3 {
			if !tr.Remove(pats[i], i) {
				t.Fatalf("Remove(%q, %d) = false", pats[i], i)
			}
			delete(pats, i)
		}
		for k := 0; k < 100; k++ {
			key := randomKey(r)
			var want []int
			for i, p := range pats {
				if naive(p, key) {
					want = append(want, i)
				}
			}
			slices.Sort(want)
			got := tr.Match(nil, key)
			slices.Sort(got)
			got = slices.Compact(got)
			if !slices.Equal(got, want) {
				t.Fatalf("key %q: trie %v, naive %v", key, got, want)
			}
		}
	}
}

func TestPathologicalPatternIsBounded(t *testing.T) {
	var tr Trie[int]
	tr.Add("#.*.#.*.#.*.#.*.#.*.#.z", 1)
	key := strings.Repeat("a.", 120) + "b"
	if got := tr.Match(nil, key); len(got) != 0 {
		t.Fatalf("unexpected match %v", got)
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	var tr Trie[int]
	tr.Add("a.*.c", 1)
	tr.Add("a.#", 2)
	buf := make([]int, 0, 8)
	allocs := testing.AllocsPerRun(100, func() { buf = tr.Match(buf[:0], "a.b.c") })
	if allocs != 0 {
		t.Fatalf("Match allocates %v times", allocs)
	}
}
