package keyspace

import (
	"sync"
	"sync/atomic"
)

// shard is one lock's worth of the keyspace: for every database, the keys
// whose hash slot falls here and one expiry heap.
// Every field except the atomics is guarded by mu.
type shard struct {
	mu    sync.Mutex
	dicts []*dict // by physical database id; nil until first use
	phys  []uint8 // logical database → physical id (SWAPDB swaps these)

	heap []*Entry // min-heap of entries with an expiry, by expire

	watched keyLists[*Watcher] // WATCHed keys (nil until first WATCH)
	waiters keyLists[*Waiter]  // clients blocked on keys (nil until first block)

	used int64 // accounted bytes of this shard's entries

	// usedLag is accounted bytes not yet added to Keyspace.used (see
	// addUsed); written under mu, read by Used without it.
	usedLag atomic.Int64

	casSeq uint64 // CAS uniques handed out here so far
	idx    uint64 // shard index
	stride uint64 // number of shards

	hits, misses, expired, evicted atomic.Uint64

	// pending is a snapshot that has not copied this shard's keys yet:
	// whoever locks the shard to change it copies them first (lockShard).
	pending *Snapshot

	_ [64]byte // keep neighbouring shards' locks off this cache line
}

func (s *shard) init(idx, shards, databases int) {
	s.idx, s.stride = uint64(idx), uint64(shards)
	s.dicts = make([]*dict, databases)
	s.phys = make([]uint8, databases)
	for i := range s.phys {
		s.phys[i] = uint8(i)
	}
}

// dictFor returns the dict of logical database db, creating it if create.
func (s *shard) dictFor(db int, create bool) *dict {
	id := s.phys[db]
	d := s.dicts[id]
	if d == nil && create {
		d = newDict(id)
		s.dicts[id] = d
	}
	return d
}

// nextCAS returns a CAS unique no other key has had: shards interleave
// their sequences, so uniques are distinct across the whole keyspace.
func (s *shard) nextCAS() uint64 {
	s.casSeq++
	return s.casSeq*s.stride + s.idx
}

// --- expiry heap ---

func (s *shard) heapLess(i, j int) bool { return s.heap[i].expire < s.heap[j].expire }

func (s *shard) heapSwap(i, j int) {
	h := s.heap
	h[i], h[j] = h[j], h[i]
	h[i].hidx = int32(i)
	h[j].hidx = int32(j)
}

func (s *shard) heapUp(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !s.heapLess(i, p) {
			break
		}
		s.heapSwap(i, p)
		i = p
	}
}

func (s *shard) heapDown(i int) {
	n := len(s.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && s.heapLess(r, l) {
			m = r
		}
		if !s.heapLess(m, i) {
			return
		}
		s.heapSwap(i, m)
		i = m
	}
}

// heapSet records e's (changed) expiry in the heap.
func (s *shard) heapSet(e *Entry) {
	switch {
	case e.expire == 0 && e.hidx >= 0:
		s.heapRemove(e)
	case e.expire != 0 && e.hidx < 0:
		e.hidx = int32(len(s.heap))
		s.heap = append(s.heap, e)
		s.heapUp(int(e.hidx))
	case e.expire != 0:
		i := int(e.hidx)
		s.heapUp(i)
		s.heapDown(int(e.hidx))
	}
}

func (s *shard) heapRemove(e *Entry) {
	i := int(e.hidx)
	last := len(s.heap) - 1
	if i != last {
		s.heapSwap(i, last)
	}
	s.heap[last] = nil
	s.heap = s.heap[:last]
	e.hidx = -1
	if i != last {
		s.heapUp(i)
		s.heapDown(i)
	}
	if cap(s.heap) > 64 && len(s.heap) < cap(s.heap)/4 {
		s.heap = append([]*Entry(nil), s.heap...)
	}
}
