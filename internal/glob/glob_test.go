package glob

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "abc", true}, {"a*", "abc", true}, {"a*c", "abc", true},
		{"a*d", "abc", false}, {"h?llo", "hello", true}, {"h?llo", "hllo", false},
		{"h[ae]llo", "hallo", true}, {"h[ae]llo", "hillo", false}, {"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false}, {"h[a-b]llo", "hbllo", true}, {"h[b-a]llo", "hallo", true},
		{"h[a-b]llo", "hcllo", false}, {`h\*llo`, "h*llo", true}, {`h\*llo`, "hello", false},
		{"news.*", "news.art", true}, {"news.*", "news", false}, {"[abc", "a", true},
		{"user:*:name", "user:1:name", true}, {"**a", "bba", true}, {"", "", true}, {"", "a", false},
		{`[\]]`, "]", true},
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

func FuzzMatch(f *testing.F) {
	f.Add("a*b?[c-d]\\e", "axbycde")
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 64 || len(s) > 256 {
			return
		}
		Match([]byte(p), []byte(s))
	})
}
