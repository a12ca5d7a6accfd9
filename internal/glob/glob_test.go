package glob

import (
	"strings"
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		// As in Redis's stringmatchlen, the empty string matches only the
		// empty pattern (PUBLISH "" reaches no "*" subscriber).
		{"*", "", false}, {"**", "", false}, {"*", "abc", true}, {"a*", "abc", true}, {"a*c", "abc", true},
		{"a*d", "abc", false}, {"h?llo", "hello", true}, {"h?llo", "hllo", false},
		{"h[ae]llo", "hallo", true}, {"h[ae]llo", "hillo", false}, {"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false}, {"h[a-b]llo", "hbllo", true}, {"h[b-a]llo", "hallo", true},
		{"h[a-b]llo", "hcllo", false}, {`h\*llo`, "h*llo", true}, {`h\*llo`, "hello", false},
		{"news.*", "news.art", true}, {"news.*", "news", false}, {"[abc", "a", true},
		{"user:*:name", "user:1:name", true}, {"**a", "bba", true}, {"", "", true}, {"", "a", false},
		{`[\]]`, "]", true},
		// Edge cases checked against redis-server 7.0.15 (see
		// internal/proto/redis TestGlobDiff, which compares many more).
		{"h[a-]llo", "h]llo", false}, {"h[a-]llo", "h]", true}, {"h[a-]llo", "h-llo", false},
		{"h[]llo", "hllo", false}, {"h[]]llo", "h]llo", false}, {"[]", "]", false}, {"[]", "[]", false},
		{`\`, `\`, true}, {`a\`, `a\`, true}, {`a\`, "a", false}, {"a[", "a", false},
		{"[abc", "ab", false}, {"[a-", "a", true}, {"[a-", "-", true}, {"*[", "x", false},
		{`[a\-z]`, "-", true}, {`[a\-z]`, "m", false}, {"x[^-a]y", "xby", true}, {"x[^-a]y", "x^y", true}, {"x[^-a]y", "x-y", false},
		{"a*", "a", true}, {"a*?", "a", false}, {"?*?", "ab", true}, {"*?*", "a", true},
	}
	for _, tt := range tests {
		if got := MatchString(tt.p, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
	if !MatchFold([]byte("HEL*"), []byte("hello")) {
		t.Error("MatchFold failed")
	}
}

// TestMatchNoBlowup: a pattern of many stars that cannot match must fail
// fast (Redis's fix for CVE-2022-36021), not take exponential time.
func TestMatchNoBlowup(t *testing.T) {
	p := []byte(strings.Repeat("*a", 40) + "b")
	s := []byte(strings.Repeat("a", 2000))
	start := time.Now()
	if Match(p, s) {
		t.Fatal("matched")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("a*b?[c-d]\\e", "axbycde")
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 64 || len(s) > 256 {
			return
		}
		Match([]byte(p), []byte(s))
	})
}
