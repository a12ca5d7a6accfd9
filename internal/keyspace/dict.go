package keyspace

import (
	"bytes"
	"math/bits"
	"sync/atomic"
)

// dict is one database's keys within one shard: a chained hash table with
// power-of-two sizes that grows and shrinks by incremental rehashing, the way
// Redis's dict does, so no single operation pays for moving the whole table
// and SCAN keeps its guarantee (every key present for the whole scan is
// returned at least once) across resizes. Callers hold the shard lock.
type dict struct {
	tables    [2][]*Entry // tables[1] is non-nil only while rehashing
	rehashIdx int         // next bucket of tables[0] to move; -1 when not rehashing
	count     int
	id        uint8 // physical database id, stored in each entry
	// hint is a copy of the main table's slice header for Prefetch, which
	// reads without the lock: the header itself is three words and could
	// be read torn, the pointer to an immutable copy cannot.
	hint atomic.Pointer[[]*Entry]
}

const (
	dictMinSize      = 4
	rehashEmptyVisit = 10 // buckets a rehash step may skip over, as Redis
)

func newDict(id uint8) *dict { return &dict{rehashIdx: -1, id: id} }

func (d *dict) rehashing() bool { return d.rehashIdx >= 0 }

// find returns the entry for key, or nil.
func (d *dict) find(h uint64, key []byte) *Entry {
	if d.count == 0 {
		return nil
	}
	if d.rehashing() {
		d.rehashStep()
	}
	for t := 0; t < 2; t++ {
		tab := d.tables[t]
		if tab == nil {
			break
		}
		for e := tab[h&uint64(len(tab)-1)]; e != nil; e = e.hnext {
			if int(e.klen) == len(key) && bytes.Equal(e.Key(), key) {
				return e
			}
		}
		if !d.rehashing() {
			break
		}
	}
	return nil
}

// insert adds e, whose key must not be present.
func (d *dict) insert(h uint64, e *Entry) {
	if d.rehashing() {
		d.rehashStep()
	}
	d.expandIfNeeded()
	tab := d.tables[0]
	if d.rehashing() {
		tab = d.tables[1]
	}
	i := h & uint64(len(tab)-1)
	e.hnext = tab[i]
	tab[i] = e
	e.dict = d.id
	d.count++
}

// remove unlinks e (found by its key hash h). It reports whether e was present.
func (d *dict) remove(h uint64, e *Entry) bool {
	if d.rehashing() {
		d.rehashStep()
	}
	for t := 0; t < 2; t++ {
		tab := d.tables[t]
		if tab == nil {
			break
		}
		p := &tab[h&uint64(len(tab)-1)]
		for *p != nil {
			if *p == e {
				*p = e.hnext
				e.hnext = nil
				d.count--
				d.shrinkIfNeeded()
				return true
			}
			p = &(*p).hnext
		}
		if !d.rehashing() {
			break
		}
	}
	return false
}

func (d *dict) expandIfNeeded() {
	if d.rehashing() {
		return
	}
	if d.tables[0] == nil {
		d.tables[0] = make([]*Entry, dictMinSize)
		d.publishHint()
		return
	}
	if d.count >= len(d.tables[0]) {
		d.startRehash(nextPow2(d.count + 1))
	}
}

func (d *dict) shrinkIfNeeded() {
	if d.rehashing() || d.tables[0] == nil {
		return
	}
	size := len(d.tables[0])
	if size > dictMinSize && d.count*8 < size {
		d.startRehash(max(dictMinSize, nextPow2(d.count)))
	}
}

// maintain does background work: starts a pending shrink and advances
// rehashing by up to n buckets. It reports whether rehashing goes on.
func (d *dict) maintain(n int) bool {
	if !d.rehash(n) {
		d.shrinkIfNeeded()
	}
	return d.rehashing()
}

// publishHint shows Prefetch the main table (after it is replaced).
func (d *dict) publishHint() {
	tab := d.tables[0]
	d.hint.Store(&tab)
}

func (d *dict) startRehash(size int) {
	if size == len(d.tables[0]) {
		return
	}
	d.tables[1] = make([]*Entry, size)
	d.rehashIdx = 0
}

// rehashStep moves one bucket (visiting at most rehashEmptyVisit empty ones).
func (d *dict) rehashStep() { d.rehash(1) }

// rehash performs up to n bucket moves and reports whether rehashing goes on.
func (d *dict) rehash(n int) bool {
	if !d.rehashing() {
		return false
	}
	empty := n * rehashEmptyVisit
	src, dst := d.tables[0], d.tables[1]
	mask := uint64(len(dst) - 1)
	for ; n > 0 && d.rehashIdx < len(src); n-- {
		for src[d.rehashIdx] == nil {
			d.rehashIdx++
			if d.rehashIdx == len(src) {
				break
			}
			if empty--; empty == 0 {
				return true
			}
		}
		if d.rehashIdx == len(src) {
			break
		}
		for e := src[d.rehashIdx]; e != nil; {
			next := e.hnext
			i := hashKey(e.Key()) & mask
			e.hnext = dst[i]
			dst[i] = e
			e = next
		}
		src[d.rehashIdx] = nil
		d.rehashIdx++
	}
	if d.rehashIdx >= len(src) {
		d.tables[0], d.tables[1] = dst, nil
		d.rehashIdx = -1
		d.publishHint()
		return false
	}
	return true
}

// scan visits the buckets for cursor v and returns the next cursor (0 when
// done), using Redis's reverse-binary cursor so that resizes between calls
// neither skip nor (within one table size) repeat buckets.
func (d *dict) scan(v uint64, fn func(*Entry)) uint64 {
	if d.count == 0 {
		return 0
	}
	emit := func(tab []*Entry, i uint64) {
		for e := tab[i]; e != nil; {
			next := e.hnext // fn may delete e (lazy expiry)
			fn(e)
			e = next
		}
	}
	if !d.rehashing() {
		t0 := d.tables[0]
		m0 := uint64(len(t0) - 1)
		emit(t0, v&m0)
		v |= ^m0
		v = bits.Reverse64(v)
		v++
		return bits.Reverse64(v)
	}
	t0, t1 := d.tables[0], d.tables[1]
	if len(t0) > len(t1) {
		t0, t1 = t1, t0
	}
	m0, m1 := uint64(len(t0)-1), uint64(len(t1)-1)
	emit(t0, v&m0)
	for {
		emit(t1, v&m1)
		v |= ^m1
		v = bits.Reverse64(v)
		v++
		v = bits.Reverse64(v)
		if v&(m0^m1) == 0 {
			break
		}
	}
	return v
}

// randomEntry returns a uniformly chosen bucket's random entry, or nil when
// empty. rnd supplies random numbers.
func (d *dict) randomEntry(rnd func() uint64) *Entry {
	if d.count == 0 {
		return nil
	}
	for tries := 0; tries < 1000; tries++ {
		var tab []*Entry
		var i uint64
		if d.rehashing() {
			// Buckets below rehashIdx in tables[0] are empty.
			n0, n1 := len(d.tables[0])-d.rehashIdx, len(d.tables[1])
			r := rnd() % uint64(n0+n1)
			if r < uint64(n0) {
				tab, i = d.tables[0], uint64(d.rehashIdx)+r
			} else {
				tab, i = d.tables[1], r-uint64(n0)
			}
		} else {
			tab = d.tables[0]
			i = rnd() & uint64(len(tab)-1)
		}
		if e := tab[i]; e != nil {
			n := 0
			for x := e; x != nil; x = x.hnext {
				n++
			}
			k := int(rnd() % uint64(n))
			for ; k > 0; k-- {
				e = e.hnext
			}
			return e
		}
	}
	// Sparse table: fall back to the first entry found.
	for t := 0; t < 2; t++ {
		for _, e := range d.tables[t] {
			if e != nil {
				return e
			}
		}
	}
	return nil
}

// each calls fn for every entry until fn returns false. fn must not modify d.
func (d *dict) each(fn func(*Entry) bool) {
	for t := 0; t < 2; t++ {
		for _, e := range d.tables[t] {
			for ; e != nil; e = e.hnext {
				if !fn(e) {
					return
				}
			}
		}
	}
}

// bucketBytes is the memory of d's bucket arrays.
func (d *dict) bucketBytes() int64 {
	return int64(len(d.tables[0])+len(d.tables[1])) * 8
}

func nextPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}
