// Package bufpool recycles large I/O buffers between connections. A
// connection that receives or sends a big value needs a big buffer for a
// moment; allocating and dropping one each time costs zeroing, copying and
// garbage collection (and doubles memory under load). Buffers are pooled in
// power-of-two classes from 64 KiB to 64 MiB; sync.Pool lets the garbage
// collector reclaim them when they stop being used. Stdlib only.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 16 // 64 KiB: smaller buffers are cheap and per-connection
	maxShift = 26 // 64 MiB: larger ones are allocated and dropped
)

var pools [maxShift - minShift + 1]sync.Pool

func class(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minShift
}

// Get returns a zero-length slice with capacity at least n. Capacities are
// powers of two from 64 KiB; larger than 64 MiB is allocated exactly.
func Get(n int) []byte {
	c := class(n)
	if c >= len(pools) {
		return make([]byte, 0, n)
	}
	if p, _ := pools[c].Get().(*[]byte); p != nil {
		return (*p)[:0]
	}
	return make([]byte, 0, 1<<(c+minShift))
}

// Put returns b for reuse. Only buffers whose capacity is exactly a pool
// class are kept; others are left to the garbage collector.
func Put(b []byte) {
	n := cap(b)
	if n < 1<<minShift || n&(n-1) != 0 {
		return
	}
	c := class(n)
	if c >= len(pools) {
		return
	}
	b = b[:0]
	pools[c].Put(&b)
}

// Grow returns b with room for at least n more bytes, moving its contents
// to a pooled buffer (and recycling the old one) when it must grow.
func Grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := Get(len(b) + n)
	nb = append(nb, b...)
	Put(b)
	return nb
}
