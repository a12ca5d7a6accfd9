package topic

import (
	"slices"
	"testing"
)

// FuzzMatch checks the trie against the naive definition for arbitrary
// patterns and keys, and that removing the pattern leaves an empty trie.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"a.*", "a.b"}, {"#", ""}, {"#.a.#", "a.a"}, {"*.#.*", "a"}, {"a..b", "a..b"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, key string) {
		if len(pattern) > 255 || len(key) > 255 {
			return
		}
		var tr Trie[int]
		tr.Add(pattern, 7)
		tr.Add("other.#", 8)
		got := slices.Contains(tr.Match(nil, key), 7)
		if want := naive(pattern, key); got != want {
			t.Fatalf("pattern %q key %q: trie %v naive %v", pattern, key, got, want)
		}
		if !tr.Remove(pattern, 7) {
			t.Fatalf("Remove(%q) = false", pattern)
		}
		if slices.Contains(tr.Match(nil, key), 7) {
			t.Fatal("removed pattern still matches")
		}
	})
}
