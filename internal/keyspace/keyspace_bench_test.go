package keyspace

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("key:%010d", i))
	}
	return keys
}

func BenchmarkLookup(b *testing.B) {
	ks := New(Config{})
	defer ks.Close()
	keys := benchKeys(100000)
	val := make([]byte, 100)
	for _, k := range keys {
		t := ks.Lock(0, k)
		t.SetString(k, val, 0, 0)
		t.Unlock()
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k := keys[i%len(keys)]
			i += 7919
			t := ks.Lock(0, k)
			if t.Lookup(k) == nil {
				b.Error("miss")
			}
			t.Unlock()
		}
	})
}

func BenchmarkOverwrite(b *testing.B) {
	ks := New(Config{})
	defer ks.Close()
	keys := benchKeys(100000)
	val := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k := keys[i%len(keys)]
			i += 7919
			t := ks.Lock(0, k)
			t.SetString(k, val, 0, 0)
			t.Unlock()
		}
	})
}

// BenchmarkMillionItems loads a million 100-byte items and reports the heap
// they take per item and the stop-the-world time of a full collection with
// them live (run with -benchtime=1x).
func BenchmarkMillionItems(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ks := New(Config{})
		val := make([]byte, 100)
		var key []byte
		for j := 0; j < 1_000_000; j++ {
			key = fmt.Appendf(key[:0], "key:%010d", j)
			t := ks.Lock(0, key)
			t.SetString(key, val, 0, 0)
			t.Unlock()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		start := time.Now()
		runtime.GC()
		full := time.Since(start)
		var st runtime.MemStats
		runtime.ReadMemStats(&st)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "heapB/item")
		b.ReportMetric(float64(ks.Used())/1e6, "accountedB/item")
		b.ReportMetric(float64(st.PauseNs[(st.NumGC+255)%256])/1e3, "lastSTW-µs")
		b.ReportMetric(float64(full.Milliseconds()), "fullGC-ms")
		ks.Close()
	}
}

// BenchmarkMSet is redis-benchmark's mset test with -r 100000 as the
// keyspace sees it: ten random keys of 100k locked together, then each
// overwritten with a 3-byte value. ns/op is per MSET of ten keys.
func BenchmarkMSet(b *testing.B) {
	const n = 100000
	ks := New(Config{})
	defer ks.Close()
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key:%012d", i)
	}
	val := []byte("xxx")
	r := rand.New(rand.NewPCG(1, 2))
	groups := make([][][]byte, 4096)
	for i := range groups {
		for j := 0; j < 10; j++ {
			groups[i] = append(groups[i], keys[r.IntN(n)])
		}
	}
	for _, k := range keys {
		t := ks.Lock(0, k)
		t.SetString(k, val, 0, 0)
		t.Unlock()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g := groups[i&4095]
		t := ks.LockKeys(0, g)
		for _, k := range g {
			t.SetString(k, val, 0, 0)
		}
		t.Unlock()
	}
}
