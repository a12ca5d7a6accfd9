package ds

import (
	"bytes"
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// seed keys every Dict's hash: one random seed per process, so clients
// cannot aim members at one bucket.
var seed = maphash.MakeSeed()

func hashKey(key []byte) uint32 { return uint32(maphash.Bytes(seed, key)) }

const (
	dictMinSize  = 4  // smallest bucket array, as Redis's DICT_HT_INITIAL_SIZE
	dictMinFill  = 10 // shrink below 10% fill, as Redis's HASHTABLE_MIN_FILL
	rehashEmpty  = 10 // empty buckets a rehash step may skip per bucket moved
	chunkShift   = 10
	chunkSize    = 1 << chunkShift
	chunkMask    = chunkSize - 1
	firstChunk   = 4 // a dict's first entry chunk starts this small and doubles
	deadRef      = ^uint64(0)
	dictOverhead = int64(unsafe.Sizeof(Dict[struct{}]{}))
)

// dictEntry is one key. Entries are dense (slots 0..n-1 hold every live
// entry, except for holes while a Scan or Each callback runs) and linked
// into bucket chains by index, so they hold no Go pointers at all.
type dictEntry[V any] struct {
	hash uint32 // low 32 bits of the key's hash: rehashing never rereads keys
	next uint32 // index+1 of the next entry in the bucket chain, 0 at the end
	ref  uint64 // the key's blob in the arena; deadRef for a hole
	val  V
}

// Dict is a chained hash table keyed by binary-safe byte strings, with a
// fixed-size value V and an optional byte-string value per entry (hashes
// use V = struct{} and the byte value; sets use neither; sorted sets keep
// their skiplist node in V).
//
// It follows Redis's dict: power-of-two bucket arrays that grow at load
// factor 1 and shrink below 10% fill by incremental rehashing (one bucket
// per operation, more through Rehash), and a reverse-binary SCAN cursor
// that returns every key present for the whole scan at least once, across
// any number of resizes between calls.
//
// Entries are addressed by handles (small ints) that stay valid until the
// next modification.
//
// Concurrency: read methods (Len, Find, Get, Key, Value, Bytes, Scan,
// Each, Random, Sample, Clone, MemSize) never modify the Dict, so any
// number of goroutines may call them at once while none writes. Writes
// need exclusive access.
//
// Entries are kept dense (a delete moves the last entry into the hole),
// which makes Random a uniform pick in O(1) and Each a linear walk.
type Dict[V any] struct {
	tables    [2][]uint32 // index+1 of each chain's first entry; [1] only while rehashing
	rehashIdx int         // next bucket of tables[0] to move, -1 when not rehashing
	chunks    [][]dictEntry[V]
	n         int // entry slots in use, including holes
	count     int // live entries
	pauses    int // multi-deletes in progress: no moves, no rehash steps
	holes     []uint32
	arena     arena
	entMem    int64 // entry chunks and bucket arrays
	// onMove, when set, is told that the entry at from now lives at to
	// (the skiplist's links name entries by index).
	onMove func(from, to uint32)
}

// NewDict returns an empty Dict sized for about hint entries.
func NewDict[V any](hint int) *Dict[V] {
	d := &Dict[V]{rehashIdx: -1, arena: newArena()}
	if hint > 0 {
		d.tables[0] = make([]uint32, max(dictMinSize, nextPow2(hint)))
		d.entMem += int64(len(d.tables[0])) * 4
	}
	return d
}

func (d *Dict[V]) entSize() int64 { return int64(unsafe.Sizeof(dictEntry[V]{})) }

func (d *Dict[V]) ent(i uint32) *dictEntry[V] { return &d.chunks[i>>chunkShift][i&chunkMask] }

// Len returns the number of entries.
func (d *Dict[V]) Len() int { return d.count }

// MemSize returns the approximate bytes held by d.
func (d *Dict[V]) MemSize() int64 {
	return dictOverhead + d.entMem + d.arena.mem + d.arena.overhead() +
		int64(cap(d.chunks))*24 + int64(cap(d.holes))*4
}

// Rehashing reports whether an incremental rehash is in progress.
func (d *Dict[V]) Rehashing() bool { return d.rehashIdx >= 0 }

// Find returns the handle of key's entry, or -1.
func (d *Dict[V]) Find(key []byte) int {
	if d.count == 0 {
		return -1
	}
	return d.find(key, hashKey(key))
}

// find does not advance rehashing (Redis's dictFind does): lookups stay
// pure reads, so readers may share a Dict that no one writes, such as a
// value a keyspace snapshot is saving. Writes and Rehash move buckets.
func (d *Dict[V]) find(key []byte, h uint32) int {
	for t := 0; t < 2; t++ {
		tab := d.tables[t]
		if tab == nil {
			break
		}
		for x := tab[h&uint32(len(tab)-1)]; x != 0; {
			e := d.ent(x - 1)
			if e.hash == h && bytes.Equal(d.arena.key(e.ref), key) {
				return int(x - 1)
			}
			x = e.next
		}
		if d.rehashIdx < 0 {
			break
		}
	}
	return -1
}

// Key returns the key of entry e.
func (d *Dict[V]) Key(e int) []byte { return d.arena.key(d.ent(uint32(e)).ref) }

// Value returns a pointer to entry e's fixed-size value.
func (d *Dict[V]) Value(e int) *V { return &d.ent(uint32(e)).val }

// Bytes returns entry e's byte-string value.
func (d *Dict[V]) Bytes(e int) []byte {
	_, b := d.arena.blob(d.ent(uint32(e)).ref)
	return b
}

// Get returns the value stored for key.
func (d *Dict[V]) Get(key []byte) (V, bool) {
	if e := d.Find(key); e >= 0 {
		return d.ent(uint32(e)).val, true
	}
	var zero V
	return zero, false
}

// Set stores v for key and reports whether key was added.
func (d *Dict[V]) Set(key []byte, v V) bool {
	h := hashKey(key)
	d.step()
	if d.count > 0 {
		if e := d.find(key, h); e >= 0 {
			d.ent(uint32(e)).val = v
			return false
		}
	}
	d.insert(key, h, v, nil)
	return true
}

// Put stores v and the byte value b for key and reports whether key was
// added.
func (d *Dict[V]) Put(key []byte, v V, b []byte) bool {
	h := hashKey(key)
	d.step()
	if d.count > 0 {
		if e := d.find(key, h); e >= 0 {
			d.ent(uint32(e)).val = v
			d.SetBytes(e, b)
			return false
		}
	}
	d.insert(key, h, v, b)
	return true
}

// Insert adds key, which must not be present, and returns its handle.
func (d *Dict[V]) Insert(key []byte, v V, b []byte) int {
	return d.insert(key, hashKey(key), v, b)
}

func (d *Dict[V]) insert(key []byte, h uint32, v V, b []byte) int {
	d.step()
	d.expandIfNeeded()
	i := uint32(d.n)
	d.appendSlot()
	e := d.ent(i)
	e.hash, e.val = h, v
	e.ref = d.arena.put(i, key, b)
	tab := d.tables[0]
	if d.rehashIdx >= 0 {
		tab = d.tables[1]
	}
	bkt := h & uint32(len(tab)-1)
	e.next = tab[bkt]
	tab[bkt] = i + 1
	d.count++
	return int(i)
}

// SetBytes replaces entry e's byte value.
func (d *Dict[V]) SetBytes(e int, b []byte) {
	x := d.ent(uint32(e))
	key, old := d.arena.blob(x.ref)
	if len(old) == len(b) {
		copy(old, b) // same size: no new blob, no garbage
		return
	}
	oldRef, oldSize := x.ref, blobSize(len(key), len(old))
	x.ref = d.arena.put(uint32(e), key, b) // key still points at the old blob
	d.arena.free(oldRef, oldSize)
	d.maybeCompact()
}

// Delete removes key and reports whether it was present.
func (d *Dict[V]) Delete(key []byte) bool {
	e := d.Find(key)
	if e < 0 {
		return false
	}
	d.DeleteAt(e)
	return true
}

// DeleteAt removes entry e. Outside callbacks, the last entry takes its
// handle.
func (d *Dict[V]) DeleteAt(e int) {
	d.step()
	i := uint32(e)
	x := d.ent(i)
	d.unlink(i, x)
	key, b := d.arena.blob(x.ref)
	d.arena.free(x.ref, blobSize(len(key), len(b)))
	d.count--
	if d.pauses > 0 {
		x.ref = deadRef
		var zero V
		x.val = zero
		d.holes = append(d.holes, i)
		return
	}
	if d.count == 0 {
		d.Clear() // an emptied dict gives everything back at once
		return
	}
	if last := uint32(d.n - 1); i != last {
		d.move(last, i)
	}
	d.dropLast()
	d.maybeCompact()
	d.shrinkIfNeeded()
}

// unlink removes entry i from its bucket chain.
func (d *Dict[V]) unlink(i uint32, x *dictEntry[V]) {
	for t := 0; t < 2; t++ {
		tab := d.tables[t]
		if tab == nil {
			break
		}
		p := &tab[x.hash&uint32(len(tab)-1)]
		for *p != 0 {
			if *p == i+1 {
				*p = x.next
				x.next = 0
				return
			}
			p = &d.ent(*p - 1).next
		}
	}
	panic("ds: dict entry not in its chain")
}

// move relocates the live entry at from into the free slot to.
func (d *Dict[V]) move(from, to uint32) {
	src, dst := d.ent(from), d.ent(to)
	*dst = *src
	relinked := false
	for t := 0; t < 2 && !relinked; t++ {
		tab := d.tables[t]
		if tab == nil {
			break
		}
		p := &tab[dst.hash&uint32(len(tab)-1)]
		for *p != 0 {
			if *p == from+1 {
				*p = to + 1
				relinked = true
				break
			}
			p = &d.ent(*p - 1).next
		}
	}
	d.arena.setOwner(dst.ref, to)
	if d.onMove != nil {
		d.onMove(from, to)
	}
}

func (d *Dict[V]) appendSlot() {
	c := d.n >> chunkShift
	if c == len(d.chunks) {
		n := chunkSize
		if c == 0 {
			n = firstChunk
		}
		d.chunks = append(d.chunks, make([]dictEntry[V], 0, n))
		d.entMem += int64(n) * d.entSize()
	}
	ch := d.chunks[c]
	if len(ch) == cap(ch) {
		// Only the first chunk grows; later ones are born full-size, so a
		// big dict never copies its entries to grow.
		nc := min(chunkSize, 2*cap(ch))
		nch := make([]dictEntry[V], len(ch), nc)
		copy(nch, ch)
		d.entMem += int64(nc-cap(ch)) * d.entSize()
		ch = nch
	}
	d.chunks[c] = ch[:len(ch)+1]
	d.n++
}

// dropLast removes the last slot (already unlinked or moved).
func (d *Dict[V]) dropLast() {
	d.n--
	c := d.n >> chunkShift
	ch := d.chunks[c]
	ch[len(ch)-1] = dictEntry[V]{}
	ch = ch[:len(ch)-1]
	d.chunks[c] = ch
	switch {
	case len(ch) == 0 && c+1 < len(d.chunks):
		// Keep one empty chunk as a spare so add/remove at a chunk
		// boundary does not allocate every time; free the one beyond.
		d.entMem -= int64(cap(d.chunks[c+1])) * d.entSize()
		d.chunks[c+1] = nil
		d.chunks = d.chunks[:c+1]
	case c == 0 && d.n == 0:
		d.entMem -= int64(cap(ch)) * d.entSize()
		d.chunks = nil
	case c == 0 && cap(ch) > 4*firstChunk && len(ch) < cap(ch)/4:
		nch := make([]dictEntry[V], len(ch), cap(ch)/2)
		copy(nch, ch)
		d.entMem -= int64(cap(ch)-cap(nch)) * d.entSize()
		d.chunks[0] = nch
	}
}

func (d *Dict[V]) relocate(owner uint32, ref uint64) { d.ent(owner).ref = ref }

func (d *Dict[V]) maybeCompact() {
	if d.pauses == 0 && len(d.arena.pending) > 0 {
		d.arena.compact(d.relocate)
	}
}

// pause starts a multi-delete (the skiplist's range deletes) during which
// handles stay put: deletes leave holes and nothing is moved or rehashed.
func (d *Dict[V]) pause() { d.pauses++ }

// unpause ends a multi-delete: the holes are filled from the end and
// deferred compaction and shrinking run.
func (d *Dict[V]) unpause() {
	d.pauses--
	if d.pauses > 0 {
		return
	}
	if d.count == 0 {
		d.Clear()
		return
	}
	if len(d.holes) > 0 {
		for _, h := range d.holes {
			d.dropDeadTail()
			if int(h) >= d.n {
				continue
			}
			d.move(uint32(d.n-1), h)
			d.dropLast()
		}
		d.dropDeadTail()
		if cap(d.holes) > 64 {
			d.holes = nil
		} else {
			d.holes = d.holes[:0]
		}
	}
	d.maybeCompact()
	d.shrinkIfNeeded()
}

func (d *Dict[V]) dropDeadTail() {
	for d.n > 0 && d.ent(uint32(d.n-1)).ref == deadRef {
		d.dropLast()
	}
}

func (d *Dict[V]) step() {
	if d.rehashIdx >= 0 && d.pauses == 0 {
		d.Rehash(1)
	}
}

func (d *Dict[V]) expandIfNeeded() {
	if d.rehashIdx >= 0 {
		return
	}
	if d.tables[0] == nil {
		d.tables[0] = make([]uint32, dictMinSize)
		d.entMem += dictMinSize * 4
		return
	}
	if d.count >= len(d.tables[0]) {
		d.startRehash(nextPow2(d.count + 1))
	}
}

func (d *Dict[V]) shrinkIfNeeded() {
	if d.rehashIdx >= 0 || d.pauses > 0 || d.tables[0] == nil {
		return
	}
	size := len(d.tables[0])
	if size > dictMinSize && d.count*100/size < dictMinFill {
		d.startRehash(max(dictMinSize, nextPow2(d.count)))
	}
}

func (d *Dict[V]) startRehash(size int) {
	if size == len(d.tables[0]) {
		return
	}
	d.tables[1] = make([]uint32, size)
	d.entMem += int64(size) * 4
	d.rehashIdx = 0
}

// Rehash moves up to n buckets of an incremental rehash (visiting at most
// 10n empty ones) and reports whether rehashing goes on. The keyspace calls
// it from its background sweep so idle collections finish resizing.
func (d *Dict[V]) Rehash(n int) bool {
	if d.rehashIdx < 0 || d.pauses > 0 {
		return d.rehashIdx >= 0
	}
	empty := n * rehashEmpty
	src, dst := d.tables[0], d.tables[1]
	mask := uint32(len(dst) - 1)
	for ; n > 0 && d.rehashIdx < len(src); n-- {
		for src[d.rehashIdx] == 0 {
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
		for x := src[d.rehashIdx]; x != 0; {
			e := d.ent(x - 1)
			next := e.next
			b := e.hash & mask
			e.next = dst[b]
			dst[b] = x
			x = next
		}
		src[d.rehashIdx] = 0
		d.rehashIdx++
	}
	if d.rehashIdx >= len(src) {
		d.entMem -= int64(len(src)) * 4
		d.tables[0], d.tables[1] = dst, nil
		d.rehashIdx = -1
		return false
	}
	return true
}

// Scan visits the entries of the buckets for cursor and returns the next
// cursor, 0 when the scan is complete. It implements Redis's reverse-binary
// cursor: the high bits of the cursor are incremented, so buckets already
// visited in a smaller table map to buckets already visited in a larger one
// and vice versa. Every key present from the first call to the last is
// visited at least once; keys may be visited more than once.
//
// Scan only reads. fn must not modify d: to delete while scanning, collect
// the keys and delete them after Scan returns (the guarantee holds across
// any changes between calls).
func (d *Dict[V]) Scan(cursor uint64, fn func(e int)) uint64 {
	if d.count == 0 {
		return 0
	}
	var stack [32]uint32
	buf := stack[:0]
	v := cursor
	if d.rehashIdx < 0 {
		t0 := d.tables[0]
		m0 := uint64(len(t0) - 1)
		for x := t0[v&m0]; x != 0; x = d.ent(x - 1).next {
			buf = append(buf, x-1)
		}
		v |= ^m0
		v = bits.Reverse64(v)
		v++
		v = bits.Reverse64(v)
	} else {
		t0, t1 := d.tables[0], d.tables[1]
		if len(t0) > len(t1) {
			t0, t1 = t1, t0
		}
		m0, m1 := uint64(len(t0)-1), uint64(len(t1)-1)
		for x := t0[v&m0]; x != 0; x = d.ent(x - 1).next {
			buf = append(buf, x-1)
		}
		// Then every bucket of the larger table that expands the smaller
		// table's bucket.
		for {
			for x := t1[v&m1]; x != 0; x = d.ent(x - 1).next {
				buf = append(buf, x-1)
			}
			v |= ^m1
			v = bits.Reverse64(v)
			v++
			v = bits.Reverse64(v)
			if v&(m0^m1) == 0 {
				break
			}
		}
	}
	for _, i := range buf {
		fn(int(i))
	}
	return v
}

// Each calls fn for every entry until fn returns false. It only reads,
// but fn may delete the entry it is given (DeleteAt(e)) and nothing else:
// entries are walked from the last handle down, so the entry that a delete
// moves into e's slot has already been visited.
func (d *Dict[V]) Each(fn func(e int) bool) {
	for i := d.n - 1; i >= 0; i-- {
		if i >= d.n {
			continue // fn deleted more than its own entry
		}
		if !fn(i) {
			return
		}
	}
}

// Random returns a uniformly chosen entry's handle, or -1 when empty.
func (d *Dict[V]) Random() int {
	if d.count == 0 {
		return -1
	}
	return rand.IntN(d.n) // entries are dense
}

// Sample calls fn for min(k, Len()) distinct entries chosen uniformly at
// random. fn must not modify d.
func (d *Dict[V]) Sample(k int, fn func(e int)) { sampleDistinct(d.n, k, fn) }

// Clone returns a deep copy of d (without its onMove hook). It only reads
// d.
func (d *Dict[V]) Clone() *Dict[V] {
	c := &Dict[V]{rehashIdx: d.rehashIdx, n: d.n, count: d.count, entMem: d.entMem}
	for t := range d.tables {
		if d.tables[t] != nil {
			c.tables[t] = append(make([]uint32, 0, len(d.tables[t])), d.tables[t]...)
		}
	}
	if d.chunks != nil {
		c.chunks = make([][]dictEntry[V], len(d.chunks), cap(d.chunks))
		for i, ch := range d.chunks {
			c.chunks[i] = append(make([]dictEntry[V], 0, cap(ch)), ch...)
		}
	}
	a := &d.arena
	c.arena = arena{cur: a.cur, inUse: a.inUse, mem: a.mem}
	if a.pages != nil {
		c.arena.pages = make([][]byte, len(a.pages), cap(a.pages))
		for i, pg := range a.pages {
			if pg != nil {
				c.arena.pages[i] = append(make([]byte, 0, cap(pg)), pg...)
			}
		}
		c.arena.live = append(make([]int, 0, cap(a.live)), a.live...)
		c.arena.spare = append([]uint32(nil), a.spare...)
		c.arena.pending = append([]uint32(nil), a.pending...)
	}
	return c
}

// Clear removes every entry and releases all memory.
func (d *Dict[V]) Clear() {
	onMove := d.onMove
	*d = Dict[V]{rehashIdx: -1, arena: newArena(), onMove: onMove}
}

func nextPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}
