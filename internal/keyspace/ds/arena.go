package ds

import "encoding/binary"

// The Dict keeps each entry's key (and, for hashes, its value) in a blob
// inside an arena of pointer-free pages rather than in a []byte per entry:
// the garbage collector never scans the pages, and a million members cost a
// few dozen allocations instead of a million.
//
// Blob layout:
//
//	owner uint32 LE | uvarint klen | uvarint blen | key | value
//
// owner is the index of the Dict entry that refers to the blob (deadOwner
// once freed). It is what lets a page be compacted on its own: live blobs
// are copied out and their owners' references fixed, without walking the
// whole Dict. A ref is page<<32 | offset.
const (
	pageSize   = 32 << 10     // small blobs share pages of this size
	bigBlob    = pageSize / 4 // larger blobs get a page of their own
	minPageCap = 256          // a dict's first page starts this small and doubles
	deadOwner  = ^uint32(0)
	blobHeader = 4
)

type arena struct {
	pages   [][]byte // nil where released
	live    []int    // bytes of live blobs per page
	cur     int      // page receiving small blobs, -1 if none
	spare   []uint32 // released page numbers for reuse
	pending []uint32 // pages that fell below half live, to compact
	inUse   int      // pages not released
	mem     int64    // sum of page capacities
}

func newArena() arena { return arena{cur: -1} }

func blobSize(klen, blen int) int {
	return blobHeader + uvarintLen(uint64(klen)) + uvarintLen(uint64(blen)) + klen + blen
}

// blob returns the key and value stored at ref.
func (a *arena) blob(ref uint64) (key, val []byte) {
	b := a.pages[ref>>32][uint32(ref)+blobHeader:]
	kl, n1 := getUvarint(b)
	bl, n2 := getUvarint(b[n1:])
	b = b[n1+n2:]
	return b[:kl:kl], b[kl : kl+bl : kl+bl]
}

// key returns only the key at ref, the hot path of lookups.
func (a *arena) key(ref uint64) []byte {
	b := a.pages[ref>>32][uint32(ref)+blobHeader:]
	var kl uint64
	var n int
	if b[0] < 0x80 {
		kl, n = uint64(b[0]), 1
	} else {
		kl, n = getUvarint(b)
	}
	if b[n] < 0x80 {
		n++
	} else {
		_, n2 := getUvarint(b[n:])
		n += n2
	}
	return b[n : n+int(kl) : n+int(kl)]
}

// put allocates and fills a blob for owner.
func (a *arena) put(owner uint32, key, val []byte) uint64 {
	ref, dst := a.alloc(blobSize(len(key), len(val)))
	binary.LittleEndian.PutUint32(dst, owner)
	n := blobHeader
	n += putUvarint(dst[n:], uint64(len(key)))
	n += putUvarint(dst[n:], uint64(len(val)))
	n += copy(dst[n:], key)
	copy(dst[n:], val)
	return ref
}

func (a *arena) setOwner(ref uint64, owner uint32) {
	binary.LittleEndian.PutUint32(a.pages[ref>>32][uint32(ref):], owner)
}

func (a *arena) newPage(n, c int) int {
	var p int
	if k := len(a.spare); k > 0 {
		p = int(a.spare[k-1])
		a.spare = a.spare[:k-1]
	} else {
		p = len(a.pages)
		a.pages = append(a.pages, nil)
		a.live = append(a.live, 0)
	}
	a.pages[p] = make([]byte, n, c)
	a.live[p] = 0
	a.mem += int64(c)
	a.inUse++
	return p
}

func (a *arena) release(p int) {
	a.mem -= int64(cap(a.pages[p]))
	a.pages[p] = nil
	a.live[p] = 0
	a.inUse--
	if a.inUse == 0 {
		// Drop the page table too, so an emptied dict holds nothing.
		a.pages, a.live, a.spare, a.pending = nil, nil, nil, nil
		return
	}
	a.spare = append(a.spare, uint32(p))
}

func (a *arena) alloc(size int) (uint64, []byte) {
	if size > bigBlob {
		p := a.newPage(size, size)
		a.live[p] = size
		return uint64(p) << 32, a.pages[p]
	}
	if a.cur < 0 || len(a.pages[a.cur])+size > pageSize {
		if a.cur >= 0 {
			a.seal()
		}
		c := pageSize
		if a.inUse == 0 {
			c = max(minPageCap, size)
		}
		a.cur = a.newPage(0, c)
	}
	pg := a.pages[a.cur]
	off := len(pg)
	if off+size > cap(pg) {
		// The first page doubles so small dicts stay small; refs hold page
		// numbers, not addresses, so moving the bytes is safe.
		c := min(pageSize, max(2*cap(pg), off+size))
		np := make([]byte, off, c)
		copy(np, pg)
		a.mem += int64(c - cap(pg))
		pg = np
	}
	pg = pg[:off+size]
	a.pages[a.cur] = pg
	a.live[a.cur] += size
	return uint64(a.cur)<<32 | uint64(off), pg[off : off+size : off+size]
}

// seal retires the current page; it is compacted later if mostly garbage.
func (a *arena) seal() {
	p := a.cur
	a.cur = -1
	if a.live[p]*2 < len(a.pages[p]) {
		a.pending = append(a.pending, uint32(p))
	}
}

// free marks the blob at ref dead.
func (a *arena) free(ref uint64, size int) {
	p := int(ref >> 32)
	binary.LittleEndian.PutUint32(a.pages[p][uint32(ref):], deadOwner)
	a.live[p] -= size
	switch {
	case a.live[p] == 0 && p == a.cur:
		a.pages[p] = a.pages[p][:0] // reuse in place: churn allocates nothing
	case a.live[p] == 0:
		a.release(p)
	case p != a.cur && a.live[p]*2 < len(a.pages[p]):
		a.pending = append(a.pending, uint32(p))
	}
}

// compact moves the live blobs out of pending pages that are still less
// than half live, calling relocate for each, and releases those pages. Each
// page is at most pageSize bytes, so the work per call is bounded by the
// garbage that caused it (amortized O(1) per freed byte).
func (a *arena) compact(relocate func(owner uint32, ref uint64)) {
	for len(a.pending) > 0 {
		p := int(a.pending[len(a.pending)-1])
		a.pending = a.pending[:len(a.pending)-1]
		pg := a.pages[p]
		if pg == nil || p == a.cur || a.live[p]*2 >= len(pg) {
			continue
		}
		for off := 0; off < len(pg); {
			owner := binary.LittleEndian.Uint32(pg[off:])
			kl, n1 := getUvarint(pg[off+blobHeader:])
			bl, n2 := getUvarint(pg[off+blobHeader+n1:])
			size := blobHeader + n1 + n2 + int(kl) + int(bl)
			if owner != deadOwner {
				ref, dst := a.alloc(size)
				copy(dst, pg[off:off+size])
				relocate(owner, ref)
			}
			off += size
		}
		a.live[p] = 0
		a.release(p)
		if a.pages == nil {
			return
		}
	}
}

// overhead is the memory of the page table itself.
func (a *arena) overhead() int64 {
	return int64(cap(a.pages))*24 + int64(cap(a.live))*8 + int64(cap(a.spare)+cap(a.pending))*4
}
