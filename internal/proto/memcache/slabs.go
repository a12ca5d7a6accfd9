package memcache

import (
	"sync/atomic"

	"ferry/internal/keyspace"
)

// Ferry has no slab allocator (items live on the Go heap, accounted by the
// keyspace), but memcached users read `stats slabs` and `stats items` to see
// how their items are distributed by size. Ferry reports the same view: the
// slab classes memcached would use (-f 1.25 growth from a 96-byte chunk),
// with each item counted in the class its memcached size falls in.

const (
	itemHeaderSize = 48      // memcached's item header, which ITEM_ntotal counts
	slabPageSize   = 1 << 20 // memcached's slab page
	slabChunkMax   = slabPageSize / 2
	maxSlabClasses = 64
)

// slabClasses are the chunk sizes, computed as memcached's slabs_init does.
var slabClasses = func() []int {
	var sizes []int
	size := itemHeaderSize + 48
	for len(sizes) < maxSlabClasses-1 && float64(size) <= float64(slabChunkMax)/1.25 {
		if size%8 != 0 {
			size += 8 - size%8
		}
		sizes = append(sizes, size)
		size = int(float64(size) * 1.25)
	}
	return append(sizes, slabChunkMax)
}()

// itemSize is an item's size as memcached counts it against -I and in its
// stats: header, CAS, key and its NUL, data with CR LF, and 4 bytes of
// client flags when they are not zero.
func itemSize(klen, vlen int, flags uint32) int {
	n := itemHeaderSize + 8 + klen + 1 + vlen + 2
	if flags != 0 {
		n += 4
	}
	return n
}

// entrySize is itemSize of a stored item.
func entrySize(e *keyspace.Entry) int { return itemSize(len(e.Key()), len(e.Value()), e.Flags()) }

// slabClass returns the 1-based class of an item of size n; items larger
// than the biggest chunk are chained from the largest class, as memcached's
// large item support does.
func slabClass(n int) int {
	lo, hi := 0, len(slabClasses)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if slabClasses[mid] >= n {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo + 1
}

func entryClass(e *keyspace.Entry) int {
	return slabClass(entrySize(e))
}

// Per-class request counters (the per-slab lines of `stats slabs`).
type slabCounter int

const (
	slabGetHits slabCounter = iota
	slabCmdSet
	slabDeleteHits
	slabIncrHits
	slabDecrHits
	slabCasHits
	slabCasBadval
	slabTouchHits
	numSlabCounters
)

var slabCounterNames = [numSlabCounters]string{"get_hits", "cmd_set", "delete_hits",
	"incr_hits", "decr_hits", "cas_hits", "cas_badval", "touch_hits"}

// classCounts are one connection's per-class counts since the last fold;
// dirty marks the classes touched, so folding costs little.
type classCounts struct {
	dirty uint64
	c     [maxSlabClasses][numSlabCounters]uint64
}

func (l *classCounts) add(class int, c slabCounter) {
	l.dirty |= 1 << uint(class)
	l.c[class][c]++
}

// classStats are the server-wide per-class counters.
type classStats struct {
	c              [maxSlabClasses][numSlabCounters]atomic.Uint64
	evicted        [maxSlabClasses]atomic.Uint64
	evictedNonzero [maxSlabClasses]atomic.Uint64
	outOfMemory    [maxSlabClasses]atomic.Uint64
	reclaimed      [maxSlabClasses]atomic.Uint64
}

func (s *classStats) fold(l *classCounts) {
	for l.dirty != 0 {
		class := 0
		for l.dirty&(1<<uint(class)) == 0 {
			class++
		}
		l.dirty &^= 1 << uint(class)
		for i, v := range l.c[class] {
			if v != 0 {
				s.c[class][i].Add(v)
				l.c[class][i] = 0
			}
		}
	}
}

func (s *classStats) reset() {
	for class := range s.c {
		for i := range s.c[class] {
			s.c[class][i].Store(0)
		}
		s.evicted[class].Store(0)
		s.evictedNonzero[class].Store(0)
		s.outOfMemory[class].Store(0)
		s.reclaimed[class].Store(0)
	}
}

// KeyEvent records evictions and expirations of database-0 string items per
// class (keyspace.Observer).
func (s *Server) KeyEvent(kind keyspace.EventKind, db int, e *keyspace.Entry) {
	if db != s.cfg.DB || e.Type() != keyspace.TypeString {
		return
	}
	class := entryClass(e)
	switch kind {
	case keyspace.EventEvicted:
		s.classes.evicted[class].Add(1)
		if e.Expire() != 0 {
			s.classes.evictedNonzero[class].Add(1)
		}
	case keyspace.EventExpired:
		s.classes.reclaimed[class].Add(1)
	}
}
