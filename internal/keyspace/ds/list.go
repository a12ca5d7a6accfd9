package ds

import (
	"bytes"
	"unsafe"
)

// List node limits, from Redis 7.0's quicklist.c.
const (
	// ListDefaultFill is list-max-listpack-size's default: nodes of at most
	// 8 KB.
	ListDefaultFill = -2
	listFillMax     = 1<<15 - 1 // FILL_MAX
	sizeSafetyLimit = 8192      // SIZE_SAFETY_LIMIT: cap on count-limited nodes
	listNodeMinCap  = 32
	listOverhead    = int64(unsafe.Sizeof(List{}))
	qnodeSize       = int64(unsafe.Sizeof(qnode{}))
)

// optimizationLevel is the byte limit of a node for fill -1 .. -5.
var optimizationLevel = [...]int{4096, 8192, 16384, 32768, 65536}

// qnode is one quicklist node: a packed run of entries
//
//	uvarint len | bytes | backlen
//
// in buf[lo:hi]. Free space is kept at both ends so pushes and pops at
// either end of the list are O(1) without moving the other entries.
type qnode struct {
	buf    []byte
	lo, hi int32
	count  int32
}

func (n *qnode) used() int { return int(n.hi - n.lo) }

// List is a Redis list with quicklist semantics: a sequence of nodes, each
// a packed byte chunk of up to list-max-listpack-size (fill) entries or
// bytes. Element values are stored as raw bytes (Redis also packs small
// integers; we keep values zero-copy instead).
//
// Read methods (Len, Index, Range, Iter, Pos, MemSize, Clone) never modify
// the List, so goroutines may share one that nobody writes; writes need
// exclusive access.
type List struct {
	nodes []qnode // the live nodes: back[head : head+len(nodes)]
	back  []qnode // node array with room at both ends (a deque)
	head  int
	spare []byte // a drained end node's buffer, kept for the next new node
	count int
	fill  int
	mem   int64 // node buffers, the spare and the node array
}

// NewList returns an empty list whose nodes obey fill, as
// list-max-listpack-size: a negative fill -1..-5 limits a node to
// 4/8/16/32/64 KB, a positive one to that many entries (and 8 KB).
func NewList(fill int) *List {
	return &List{fill: min(max(fill, -5), listFillMax)}
}

// Encoding returns "quicklist", which Redis 7.0 reports for every list.
func (l *List) Encoding() string { return "quicklist" }

// Len returns the number of elements.
func (l *List) Len() int { return l.count }

// MemSize returns the approximate bytes held by l.
func (l *List) MemSize() int64 { return listOverhead + l.mem }

func entrySize(n int) int {
	h := uvarintLen(uint64(n))
	return h + n + backlenLen(h+n)
}

func writeEntry(b []byte, v []byte) {
	h := putUvarint(b, uint64(len(v)))
	copy(b[h:], v)
	putBacklen(b[h+len(v):], h+len(v))
}

// readEntry returns the value of the entry at off and the offset after it.
func readEntry(b []byte, off int) ([]byte, int) {
	n, h := getUvarint(b[off:])
	s := off + h
	e := s + int(n)
	return b[s:e:e], e + backlenLen(h+int(n))
}

// prevEntry returns the offset of the entry that ends at end.
func prevEntry(b []byte, end int) int {
	l, n := getBacklen(b, end)
	return end - n - l
}

// maxNodeBytes is the byte size a node may grow to.
func (l *List) maxNodeBytes() int {
	if l.fill < 0 {
		return optimizationLevel[-l.fill-1]
	}
	return sizeSafetyLimit
}

// allowInsert mirrors _quicklistNodeAllowInsert: may n take sz more bytes?
func (l *List) allowInsert(n *qnode, sz int) bool {
	newSz := n.used() + sz
	if l.fill < 0 {
		return newSz <= optimizationLevel[-l.fill-1]
	}
	return newSz <= sizeSafetyLimit && int(n.count) < l.fill
}

// regrow reallocates n's buffer with room for need more bytes, on the left
// or right of the data.
func (l *List) regrow(n *qnode, need int, left bool) {
	used := n.used()
	c := max(used+need, min(max(2*(used+need), listNodeMinCap), l.maxNodeBytes()))
	buf := make([]byte, c)
	lo := 0
	if left {
		lo = c - used
	}
	copy(buf[lo:], n.buf[n.lo:n.hi])
	l.mem += int64(c - len(n.buf))
	n.buf, n.lo, n.hi = buf, int32(lo), int32(lo+used)
}

// sizeNode gives a node opened because its neighbour filled up the
// neighbour's capacity at once: it will most likely fill up too, and
// growing it by doubling would copy (and fault in) twice the bytes.
func (l *List) sizeNode(n *qnode, c, need int, left bool) {
	c = min(max(c, need), l.maxNodeBytes()+need)
	if len(l.spare) >= c && len(l.spare) <= 2*c {
		// A queue (push at one end, pop at the other) cycles one buffer.
		n.buf, l.spare = l.spare, nil
	} else {
		n.buf = make([]byte, c)
		l.mem += int64(c)
	}
	if left {
		n.lo, n.hi = int32(len(n.buf)), int32(len(n.buf))
	}
}

// maybeShrink returns memory from a node that lost most of its entries.
func (l *List) maybeShrink(n *qnode) {
	used := n.used()
	if len(n.buf) < 1024 || used >= len(n.buf)/4 {
		return
	}
	buf := make([]byte, max(2*used, listNodeMinCap))
	copy(buf, n.buf[n.lo:n.hi])
	l.mem += int64(len(buf) - len(n.buf))
	n.buf, n.lo, n.hi = buf, 0, int32(used)
}

// insertNode inserts an empty node at index at. Adding a node at either
// end is O(1) amortized: back keeps spare slots on both sides.
func (l *List) insertNode(at int) *qnode {
	n := len(l.nodes)
	switch {
	case at == 0 && l.head > 0:
		l.head--
	case at == n && l.head+n < len(l.back):
	default:
		if l.head == 0 || l.head+n == len(l.back) {
			l.resizeNodes(max(8, 2*(n+1)))
		}
		// Shift the shorter side to open slot at.
		if at < n-at && l.head > 0 {
			l.head--
			copy(l.back[l.head:], l.back[l.head+1:l.head+1+at])
		} else {
			copy(l.back[l.head+at+1:], l.back[l.head+at:l.head+n])
		}
	}
	l.nodes = l.back[l.head : l.head+n+1]
	l.nodes[at] = qnode{}
	return &l.nodes[at]
}

// resizeNodes moves the live nodes to a new array of size c, centred.
func (l *List) resizeNodes(c int) {
	n := len(l.nodes)
	back := make([]qnode, c)
	head := (c - n) / 2
	copy(back[head:], l.nodes)
	l.mem += int64(c-len(l.back)) * qnodeSize
	l.back, l.head = back, head
	l.nodes = back[head : head+n]
}

func (l *List) removeNode(at int) {
	n := len(l.nodes)
	if buf := l.nodes[at].buf; l.spare == nil && n > 1 && len(buf) >= l.maxNodeBytes()/2 {
		l.spare = buf // still counted in mem
	} else {
		l.mem -= int64(len(buf))
	}
	if at == 0 {
		l.nodes[0] = qnode{}
		l.head++
	} else {
		copy(l.nodes[at:], l.nodes[at+1:])
		l.nodes[n-1] = qnode{}
	}
	n--
	l.nodes = l.back[l.head : l.head+n]
	switch {
	case n == 0:
		l.mem -= int64(len(l.back))*qnodeSize + int64(len(l.spare))
		l.nodes, l.back, l.head, l.spare = nil, nil, 0, nil
	case len(l.back) > 16 && n < len(l.back)/4:
		l.resizeNodes(2 * n)
	}
}

func (l *List) nodeAppend(n *qnode, v []byte, sz int) {
	if int(n.hi)+sz > len(n.buf) {
		l.regrow(n, sz, false)
	}
	writeEntry(n.buf[n.hi:], v)
	n.hi += int32(sz)
	n.count++
}

func (l *List) nodePrepend(n *qnode, v []byte, sz int) {
	if int(n.lo) < sz {
		l.regrow(n, sz, true)
	}
	n.lo -= int32(sz)
	writeEntry(n.buf[n.lo:], v)
	n.count++
}

// nodeInsertAt inserts v before the entry at off (or at the end if off ==
// hi), shifting whichever side has room.
func (l *List) nodeInsertAt(n *qnode, off int, v []byte) {
	sz := entrySize(len(v))
	switch {
	case off == int(n.hi):
		l.nodeAppend(n, v, sz)
		return
	case off == int(n.lo):
		l.nodePrepend(n, v, sz)
		return
	case int(n.hi)+sz <= len(n.buf):
		copy(n.buf[off+sz:], n.buf[off:n.hi])
		n.hi += int32(sz)
	case int(n.lo) >= sz:
		copy(n.buf[int(n.lo)-sz:], n.buf[n.lo:off])
		n.lo -= int32(sz)
		off -= sz
	default:
		rel := off - int(n.lo)
		l.regrow(n, sz, false)
		off = rel
		copy(n.buf[off+sz:], n.buf[off:n.hi])
		n.hi += int32(sz)
	}
	writeEntry(n.buf[off:], v)
	n.count++
}

// nodeCut removes the bytes [a, b) holding k entries from node ni and
// removes the node if it becomes empty. It reports whether it did.
func (l *List) nodeCut(ni int, a, b, k int) bool {
	n := &l.nodes[ni]
	mid := a != int(n.lo) && b != int(n.hi)
	switch {
	case a == int(n.lo):
		n.lo = int32(b)
	case b == int(n.hi):
		n.hi = int32(a)
	case a-int(n.lo) < int(n.hi)-b:
		copy(n.buf[int(n.lo)+b-a:], n.buf[n.lo:a])
		n.lo += int32(b - a)
	default:
		copy(n.buf[a:], n.buf[b:n.hi])
		n.hi -= int32(b - a)
	}
	n.count -= int32(k)
	l.count -= k
	if n.count == 0 {
		l.removeNode(ni)
		return true
	}
	if n.lo == n.hi {
		panic("ds: list node bytes and count disagree")
	}
	if mid {
		// Pops and trims leave nodes that drain away or refill from the
		// same end; only a hole in the middle calls for giving memory back.
		l.maybeShrink(n)
	}
	return false
}

// PushLeft inserts each value at the head in turn (LPUSH a b c leaves c
// first).
func (l *List) PushLeft(vals ...[]byte) {
	for _, v := range vals {
		sz := entrySize(len(v))
		if len(l.nodes) == 0 {
			l.insertNode(0)
		} else if !l.allowInsert(&l.nodes[0], sz) {
			l.sizeNode(l.insertNode(0), len(l.nodes[1].buf), sz, true)
		}
		l.nodePrepend(&l.nodes[0], v, sz)
		l.count++
	}
}

// PushRight appends each value at the tail in turn.
func (l *List) PushRight(vals ...[]byte) {
	for _, v := range vals {
		sz := entrySize(len(v))
		if len(l.nodes) == 0 {
			l.insertNode(0)
		} else if last := len(l.nodes) - 1; !l.allowInsert(&l.nodes[last], sz) {
			l.sizeNode(l.insertNode(last+1), len(l.nodes[last].buf), sz, false)
		}
		l.nodeAppend(&l.nodes[len(l.nodes)-1], v, sz)
		l.count++
	}
}

// PopLeft removes up to count elements from the head, calling fn with each
// (valid only during the call), and returns how many were removed.
func (l *List) PopLeft(count int, fn func(v []byte)) int {
	done := 0
	for done < count && l.count > 0 {
		n := &l.nodes[0]
		v, next := readEntry(n.buf, int(n.lo))
		if fn != nil {
			fn(v)
		}
		l.nodeCut(0, int(n.lo), next, 1)
		done++
	}
	return done
}

// PopRight removes up to count elements from the tail, calling fn with
// each (valid only during the call), and returns how many were removed.
func (l *List) PopRight(count int, fn func(v []byte)) int {
	done := 0
	for done < count && l.count > 0 {
		ni := len(l.nodes) - 1
		n := &l.nodes[ni]
		s := prevEntry(n.buf, int(n.hi))
		v, _ := readEntry(n.buf, s)
		if fn != nil {
			fn(v)
		}
		l.nodeCut(ni, s, int(n.hi), 1)
		done++
	}
	return done
}

// locate returns the node and entry offset of index i (0 <= i < Len),
// walking from whichever end is nearer.
func (l *List) locate(i int) (int, int) {
	if i < l.count/2 {
		for ni := range l.nodes {
			n := &l.nodes[ni]
			if i < int(n.count) {
				return ni, n.offsetOf(i)
			}
			i -= int(n.count)
		}
	} else {
		i = l.count - 1 - i // index from the tail
		for ni := len(l.nodes) - 1; ni >= 0; ni-- {
			n := &l.nodes[ni]
			if i < int(n.count) {
				return ni, n.offsetOf(int(n.count) - 1 - i)
			}
			i -= int(n.count)
		}
	}
	panic("ds: list index out of range")
}

// offsetOf returns the offset of the node's i-th entry.
func (n *qnode) offsetOf(i int) int {
	if i < int(n.count)/2 {
		off := int(n.lo)
		for ; i > 0; i-- {
			_, off = readEntry(n.buf, off)
		}
		return off
	}
	off := int(n.hi)
	for i = int(n.count) - i; i > 0; i-- {
		off = prevEntry(n.buf, off)
	}
	return off
}

// normIndex resolves a possibly negative index; ok is false when out of
// range.
func (l *List) normIndex(i int) (int, bool) {
	if i < 0 {
		i += l.count
	}
	return i, i >= 0 && i < l.count
}

// Index returns the element at index i (negative counts from the tail:
// -1 is the last), as LINDEX.
func (l *List) Index(i int) ([]byte, bool) {
	i, ok := l.normIndex(i)
	if !ok {
		return nil, false
	}
	ni, off := l.locate(i)
	v, _ := readEntry(l.nodes[ni].buf, off)
	return v, true
}

// Set replaces the element at index i, as LSET; false means out of range.
func (l *List) Set(i int, v []byte) bool {
	i, ok := l.normIndex(i)
	if !ok {
		return false
	}
	ni, off := l.locate(i)
	n := &l.nodes[ni]
	_, next := readEntry(n.buf, off)
	oldSz, sz := next-off, entrySize(len(v))
	if sz == oldSz {
		writeEntry(n.buf[off:], v)
		return true
	}
	if n.used()-oldSz+sz <= l.maxNodeBytes() || n.count == 1 {
		// Replace in place: cut the old entry, insert the new one there.
		if sz < oldSz {
			// Shrinking: shift the tail left.
			writeEntry(n.buf[off:], v)
			copy(n.buf[off+sz:], n.buf[next:n.hi])
			n.hi -= int32(oldSz - sz)
			l.maybeShrink(n)
			return true
		}
		l.nodeCutKeep(n, off, next)
		l.nodeInsertAt(n, off, v)
		return true
	}
	// Too big for this node: insert after, then delete the original, as
	// quicklistReplaceEntry does. The original stays in node ni at the same
	// distance from lo whichever way insertAt makes room.
	rel := off - int(n.lo)
	l.insertAt(ni, next, v)
	n = &l.nodes[ni]
	off = int(n.lo) + rel
	_, next = readEntry(n.buf, off)
	l.nodeCut(ni, off, next, 1)
	return true
}

// nodeCutKeep removes the entry bytes [a, b) without changing counts (used
// when the entry is immediately replaced).
func (l *List) nodeCutKeep(n *qnode, a, b int) {
	copy(n.buf[a:], n.buf[b:n.hi])
	n.hi -= int32(b - a)
	n.count--
}

// insertAt inserts v before offset off of node ni (off may be the node's
// hi), splitting the node or using a neighbour when it is full.
func (l *List) insertAt(ni, off int, v []byte) {
	sz := entrySize(len(v))
	n := &l.nodes[ni]
	l.count++
	if l.allowInsert(n, sz) {
		l.nodeInsertAt(n, off, v)
		return
	}
	if off == int(n.hi) && ni+1 < len(l.nodes) && l.allowInsert(&l.nodes[ni+1], sz) {
		l.nodePrepend(&l.nodes[ni+1], v, sz)
		return
	}
	if off == int(n.lo) && ni > 0 && l.allowInsert(&l.nodes[ni-1], sz) {
		l.nodeAppend(&l.nodes[ni-1], v, sz)
		return
	}
	if off == int(n.hi) {
		l.nodeAppend(l.insertNode(ni+1), v, sz)
		return
	}
	if off == int(n.lo) {
		l.nodeAppend(l.insertNode(ni), v, sz)
		return
	}
	// Split: entries from off on move to a new node after ni.
	k := 0
	for o := off; o < int(n.hi); k++ {
		_, o = readEntry(n.buf, o)
	}
	tail := l.insertNode(ni + 1)
	n = &l.nodes[ni]
	moved := int(n.hi) - off
	l.regrow(tail, moved, false)
	copy(tail.buf, n.buf[off:n.hi])
	tail.hi = int32(moved)
	tail.count = int32(k)
	n.hi = int32(off)
	n.count -= int32(k)
	l.maybeShrink(n)
	switch {
	case l.allowInsert(n, sz):
		l.nodeAppend(n, v, sz)
	case l.allowInsert(tail, sz):
		l.nodePrepend(tail, v, sz)
	default:
		l.nodeAppend(l.insertNode(ni+1), v, sz)
	}
}

// Range calls fn for the elements from start to stop inclusive, with
// LRANGE's rules: negative indexes count from the tail, start is clamped
// to 0, stop to the last element, and an empty range visits nothing. fn
// returns false to stop.
func (l *List) Range(start, stop int, fn func(v []byte) bool) {
	start, stop, ok := clampRange(start, stop, l.count)
	if !ok {
		return
	}
	ni, off := l.locate(start)
	for left := stop - start + 1; left > 0; {
		n := &l.nodes[ni]
		for ; off < int(n.hi) && left > 0; left-- {
			var v []byte
			v, off = readEntry(n.buf, off)
			if !fn(v) {
				return
			}
		}
		ni++
		if ni < len(l.nodes) {
			off = int(l.nodes[ni].lo)
		}
	}
}

// clampRange applies Redis's index rules for LRANGE/ZRANGE/LTRIM-style
// ranges over n elements.
func clampRange(start, stop, n int) (int, int, bool) {
	if start < 0 {
		start += n
	}
	if stop < 0 {
		stop += n
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= n {
		return 0, 0, false
	}
	if stop >= n {
		stop = n - 1
	}
	return start, stop, true
}

// Iter calls fn for every element, from the head (or the tail when
// reverse), until fn returns false. fn must not modify l.
func (l *List) Iter(reverse bool, fn func(v []byte) bool) {
	if !reverse {
		for ni := range l.nodes {
			n := &l.nodes[ni]
			for off := int(n.lo); off < int(n.hi); {
				var v []byte
				v, off = readEntry(n.buf, off)
				if !fn(v) {
					return
				}
			}
		}
		return
	}
	for ni := len(l.nodes) - 1; ni >= 0; ni-- {
		n := &l.nodes[ni]
		for end := int(n.hi); end > int(n.lo); {
			end = prevEntry(n.buf, end)
			v, _ := readEntry(n.buf, end)
			if !fn(v) {
				return
			}
		}
	}
}

// Insert inserts v before (or after) the first element equal to pivot and
// returns the new length, or -1 when pivot is absent, as LINSERT.
func (l *List) Insert(pivot []byte, after bool, v []byte) int {
	for ni := range l.nodes {
		n := &l.nodes[ni]
		for off := int(n.lo); off < int(n.hi); {
			e, next := readEntry(n.buf, off)
			if bytes.Equal(e, pivot) {
				if after {
					off = next
				}
				l.insertAt(ni, off, v)
				return l.count
			}
			off = next
		}
	}
	return -1
}

// Remove deletes elements equal to v, as LREM: count > 0 removes the first
// count from the head, count < 0 the last |count| from the tail, 0 all. It
// returns the number removed.
func (l *List) Remove(count int, v []byte) int {
	fromTail := count < 0
	budget := count
	if fromTail {
		budget = -count
	}
	if count == 0 {
		budget = l.count
	}
	removed := 0
	var stack [64]int32
	ni := 0
	if fromTail {
		ni = len(l.nodes) - 1
	}
	for ni >= 0 && ni < len(l.nodes) && removed < budget {
		n := &l.nodes[ni]
		matches := stack[:0]
		for off := int(n.lo); off < int(n.hi); {
			e, next := readEntry(n.buf, off)
			if bytes.Equal(e, v) {
				matches = append(matches, int32(off))
			}
			off = next
		}
		if len(matches) == 0 {
			if fromTail {
				ni--
			} else {
				ni++
			}
			continue
		}
		if k := budget - removed; len(matches) > k {
			if fromTail {
				matches = matches[len(matches)-k:]
			} else {
				matches = matches[:k]
			}
		}
		removed += len(matches)
		// Compact the node in one pass, skipping the chosen entries.
		w, r := int(n.lo), int(n.lo)
		for _, m := range matches {
			w += copy(n.buf[w:], n.buf[r:m])
			_, r = readEntry(n.buf, int(m))
		}
		w += copy(n.buf[w:], n.buf[r:n.hi])
		n.hi = int32(w)
		n.count -= int32(len(matches))
		l.count -= len(matches)
		if n.count == 0 {
			l.removeNode(ni) // the next node forward now has index ni
		} else {
			l.maybeShrink(n)
			if !fromTail {
				ni++
			}
		}
		if fromTail {
			ni--
		}
	}
	return removed
}

// Trim keeps only the elements from start to stop inclusive, with LTRIM's
// rules (an empty range empties the list).
func (l *List) Trim(start, stop int) {
	start, stop, ok := clampRange(start, stop, l.count)
	if !ok {
		l.deleteHead(l.count)
		return
	}
	l.deleteTail(l.count - stop - 1)
	l.deleteHead(start)
}

func (l *List) deleteHead(k int) {
	for k > 0 {
		n := &l.nodes[0]
		if int(n.count) <= k {
			k -= int(n.count)
			l.count -= int(n.count)
			l.removeNode(0)
			continue
		}
		off := n.offsetOf(k)
		l.nodeCut(0, int(n.lo), off, k)
		return
	}
}

func (l *List) deleteTail(k int) {
	for k > 0 {
		ni := len(l.nodes) - 1
		n := &l.nodes[ni]
		if int(n.count) <= k {
			k -= int(n.count)
			l.count -= int(n.count)
			l.removeNode(ni)
			continue
		}
		off := n.offsetOf(int(n.count) - k)
		l.nodeCut(ni, off, int(n.hi), k)
		return
	}
}

// Pos returns the indexes (from the head) of elements equal to elem, as
// LPOS: rank (non-zero) picks the rank-th match, negative ranks searching
// from the tail; count limits the matches returned (0 = all); maxlen
// limits the elements compared (0 = all).
func (l *List) Pos(elem []byte, rank, count, maxlen int) []int {
	var out []int
	reverse := rank < 0
	skip := rank - 1
	if reverse {
		skip = -rank - 1
	}
	if rank == 0 {
		return nil
	}
	i := 0
	l.Iter(reverse, func(v []byte) bool {
		if maxlen != 0 && i >= maxlen {
			return false
		}
		if bytes.Equal(v, elem) {
			if skip > 0 {
				skip--
			} else {
				idx := i
				if reverse {
					idx = l.count - 1 - i
				}
				out = append(out, idx)
				if count != 0 && len(out) == count {
					return false
				}
			}
		}
		i++
		return true
	})
	return out
}
