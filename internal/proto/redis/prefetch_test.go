package redis

import (
	"bytes"
	"testing"

	"ferry/internal/proto/resp"
)

func TestScanCommand(t *testing.T) {
	tests := []struct {
		in   string
		size int
		key  string
	}{
		{"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n", 22, "foo"},
		{"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*1\r\n", 26, "k"},
		{"*1\r\n$4\r\nPING\r\n", 14, ""},
		{"*2\r\n$3\r\nGET\r\n$3\r\nfo", 0, ""},     // incomplete
		{"*2\r\n$3\r\nGET\r\n$3\r\nfooX\n", 0, ""}, // bad terminator
		{"GET foo\r\n", 0, ""},                     // inline
		{"*0\r\n", 0, ""},
		{"*-1\r\n", 0, ""},
		{"*2\r\n$-1\r\n$3\r\nfoo\r\n", 0, ""},
		{"*99999999999\r\n", 0, ""},
		{"", 0, ""},
	}
	for _, tt := range tests {
		size, key := scanCommand([]byte(tt.in))
		if size != tt.size || string(key) != tt.key {
			t.Errorf("scanCommand(%q) = %d, %q; want %d, %q", tt.in, size, key, tt.size, tt.key)
		}
	}
}

// FuzzScanCommand: whatever scanCommand accepts, the real parser parses to
// the same length, with the same second argument.
func FuzzScanCommand(f *testing.F) {
	f.Add([]byte("*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n"))
	f.Add([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n*1\r\n$4\r\nPING\r\n"))
	f.Add([]byte("*1\r\n$0\r\n\r\n"))
	f.Add([]byte("*2\r\n$01\r\nx\r\n$1\r\ny\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		size, key := scanCommand(b)
		if size == 0 {
			return
		}
		var p resp.Parser
		p.Limits = resp.DefaultLimits
		args, n, err := p.Parse(b)
		if err != nil || n != size {
			t.Fatalf("scanCommand took %d bytes of %q; the parser: %d, %v", size, b, n, err)
		}
		var want []byte
		if len(args) > 1 {
			want = args[1]
		}
		if !bytes.Equal(key, want) || (key == nil) != (len(args) < 2) {
			t.Fatalf("key %q, parser's second argument %q (%d args)", key, want, len(args))
		}
	})
}
