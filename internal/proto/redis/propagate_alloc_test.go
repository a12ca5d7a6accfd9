package redis

import "testing"

// TestRewriteNoAlloc: rewriteForLog runs for every write; commands it
// leaves alone must not allocate.
func TestRewriteNoAlloc(t *testing.T) {
	for _, argv := range [][][]byte{{[]byte("SET"), []byte("k"), []byte("v")}, {[]byte("incr"), []byte("k")}, {[]byte("LPUSH"), []byte("k"), []byte("v")}, {[]byte("hset"), []byte("k"), []byte("f"), []byte("v")}} {
		if n := testing.AllocsPerRun(100, func() { rewriteForLog(argv, 1) }); n != 0 {
			t.Errorf("%s: %v allocs", argv[0], n)
		}
	}
}
