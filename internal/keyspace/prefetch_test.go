package keyspace

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPrefetchUnderConcurrentChanges runs Prefetch without locks while
// other goroutines grow, shrink, rehash, flush and swap the databases it
// reads: it must never fault, and must not change anything. (Under the
// race detector Prefetch does nothing; scripts/test also runs this test
// without it.)
func TestPrefetchUnderConcurrentChanges(t *testing.T) {
	ks, _ := newTestKS(t, Config{})
	keys := make([][]byte, 4096)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("key:%06d", i))
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for round := 0; !stop.Load(); round++ {
				for i, k := range keys {
					tx := ks.Lock(w, k)
					if (i+round)%3 == 0 {
						tx.Delete(k)
					} else {
						tx.SetString(k, k[:1+i%8], 0, 0)
					}
					tx.Unlock()
				}
				switch round % 4 {
				case 1:
					ks.FlushDB(w)
				case 3:
					ks.SwapDB(0, 1)
				}
			}
		}(w)
	}
	deadline := time.Now().Add(2 * time.Second)
	calls := 0
	for time.Now().Before(deadline) {
		for i := 0; i+16 <= len(keys); i += 16 {
			ks.Prefetch(i%2, keys[i:i+16])
			calls++
		}
		ks.Prefetch(-1, keys[:4])
		ks.Prefetch(ks.Databases(), keys[:4])
	}
	stop.Store(true)
	wg.Wait()
	if calls == 0 {
		t.Fatal("Prefetch never ran")
	}
	// Prefetch changes nothing: what the writers left is all there is.
	for db := 0; db < 2; db++ {
		n := 0
		for _, k := range keys {
			if _, ok := get(ks, db, string(k)); ok {
				n++
			}
		}
		if n != ks.DBSize(db) {
			t.Fatalf("db %d: %d keys found, DBSIZE %d", db, n, ks.DBSize(db))
		}
	}
}
