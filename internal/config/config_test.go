package config

import (
	"strings"
	"testing"
)

func TestParseMemory(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"100", 100, true}, {"1k", 1000, true}, {"1kb", 1024, true},
		{"100mb", 100 << 20, true}, {"1gb", 1 << 30, true}, {"2G", 2e9, true},
		{"", 0, false}, {"-1", 0, false}, {"12x", 0, false},
	} {
		got, err := ParseMemory(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseMemory(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{`save "3600 1 300 100"`, []string{"save", "3600 1 300 100"}, true},
		{`save ""`, []string{"save", ""}, true},
		{`a 'b c' "d\n\x41"`, []string{"a", "b c", "d\nA"}, true},
		{`a "b`, nil, false},
		{`a "b"c`, nil, false},
	} {
		got, err := SplitArgs(tt.in)
		if (err == nil) != tt.ok || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("SplitArgs(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestLayering(t *testing.T) {
	c := Default()
	file := `# comment
maxmemory 100mb
memcached-addr 127.0.0.1:1234
maxmemory-policy allkeys-lru
`
	if err := c.Load(strings.NewReader(file), "test.conf"); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadEnv([]string{"FERRY_MAXMEMORY=200mb", "FERRY_UNKNOWN=1", "PATH=/bin"}); err != nil {
		t.Fatal(err)
	}
	if c.MaxMemory != 200<<20 || c.Memcached.Addr != "127.0.0.1:1234" || c.Policy != "allkeys-lru" {
		t.Fatalf("got %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := c.Load(strings.NewReader("nonsense 1\n"), "bad.conf"); err == nil || !strings.Contains(err.Error(), "bad.conf:1") {
		t.Fatalf("unknown directive error = %v", err)
	}
}

func TestValidate(t *testing.T) {
	c := Default()
	c.Databases = 0
	c.Memcached.Addr = "nonsense"
	c.LogLevel = "loud"
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"databases", "memcached-addr", "loglevel"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{`save "3600 1"`, `a 'b' "\x41\n"`, `"`, `a"b`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args, err := SplitArgs(line)
		if err != nil {
			return
		}
		for _, a := range args {
			if len(a) > len(line) {
				t.Fatalf("argument %q longer than line %q", a, line)
			}
		}
	})
}

func FuzzLoad(f *testing.F) {
	f.Add("maxmemory 100mb\nmemcached-addr 127.0.0.1:1\n# c\n")
	f.Add("databases x\n")
	f.Fuzz(func(t *testing.T, file string) {
		c := Default()
		_ = c.Load(strings.NewReader(file), "fuzz.conf") // errors are fine; panics are not
		_ = c.Validate()
	})
}
