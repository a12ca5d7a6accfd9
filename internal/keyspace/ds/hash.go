package ds

import (
	"bytes"
	"unsafe"
)

// Redis 7.0's defaults for the hash conversion thresholds.
const (
	HashMaxListpackEntries = 128 // hash-max-listpack-entries
	HashMaxListpackValue   = 64  // hash-max-listpack-value
	hashOverhead           = int64(unsafe.Sizeof(Hash{}))
)

// Hash is a Redis hash: field → value, both binary-safe.
//
// It starts as a "listpack", one packed []byte of
//
//	uvarint flen | field | uvarint vlen | value
//
// pairs in insertion order, searched linearly; and converts once, for good,
// to a "hashtable" (a Dict) when it would hold more than maxEntries fields
// or a field or value longer than maxValue bytes, as Redis 7.0 does.
//
// Read methods (Len, Get, Exists, StrLen, Each, Scan, Random, MemSize,
// Clone) never modify the Hash, so goroutines may share one that nobody
// writes; writes need exclusive access.
type Hash struct {
	maxEntries, maxValue int
	n                    int    // fields in lp
	lp                   []byte // listpack encoding; unused once d is set
	d                    *Dict[struct{}]
}

// NewHash returns an empty hash with the given hash-max-listpack-entries
// and hash-max-listpack-value.
func NewHash(maxListpackEntries, maxListpackValue int) *Hash {
	return &Hash{maxEntries: maxListpackEntries, maxValue: maxListpackValue}
}

// Encoding returns "listpack" or "hashtable", as OBJECT ENCODING.
func (h *Hash) Encoding() string {
	if h.d != nil {
		return "hashtable"
	}
	return "listpack"
}

// Len returns the number of fields.
func (h *Hash) Len() int {
	if h.d != nil {
		return h.d.Len()
	}
	return h.n
}

// MemSize returns the approximate bytes held by h.
func (h *Hash) MemSize() int64 {
	if h.d != nil {
		return hashOverhead + h.d.MemSize()
	}
	return hashOverhead + int64(cap(h.lp))
}

// lpPair decodes the pair at off: field, value and the next pair's offset;
// vs is where the value's length prefix starts.
func lpPair(b []byte, off int) (f, v []byte, vs, next int) {
	fl, n := getUvarint(b[off:])
	fs := off + n
	f = b[fs : fs+int(fl)]
	vs = fs + int(fl)
	vl, n := getUvarint(b[vs:])
	s := vs + n
	v = b[s : s+int(vl)]
	return f, v, vs, s + int(vl)
}

// lpFind returns the offset of field's pair, or -1.
func (h *Hash) lpFind(field []byte) int {
	for off := 0; off < len(h.lp); {
		// Compare the length first: most fields differ there.
		fl, n := getUvarint(h.lp[off:])
		fs := off + n
		if int(fl) == len(field) && bytes.Equal(h.lp[fs:fs+int(fl)], field) {
			return off
		}
		vl, n := getUvarint(h.lp[fs+int(fl):])
		off = fs + int(fl) + n + int(vl)
	}
	return -1
}

// Get returns field's value.
func (h *Hash) Get(field []byte) ([]byte, bool) {
	if h.d != nil {
		if e := h.d.Find(field); e >= 0 {
			return h.d.Bytes(e), true
		}
		return nil, false
	}
	if off := h.lpFind(field); off >= 0 {
		_, v, _, _ := lpPair(h.lp, off)
		return v, true
	}
	return nil, false
}

// Exists reports whether field is present.
func (h *Hash) Exists(field []byte) bool {
	if h.d != nil {
		return h.d.Find(field) >= 0
	}
	return h.lpFind(field) >= 0
}

// StrLen returns the length of field's value, 0 if absent (HSTRLEN).
func (h *Hash) StrLen(field []byte) int {
	v, _ := h.Get(field)
	return len(v)
}

// Set stores value for field and reports whether field is new.
func (h *Hash) Set(field, value []byte) bool {
	if h.d == nil && (len(field) > h.maxValue || len(value) > h.maxValue) {
		h.convert()
	}
	if h.d != nil {
		return h.d.Put(field, struct{}{}, value)
	}
	if off := h.lpFind(field); off >= 0 {
		// Overwrite in place: a small hash keeps its insertion order.
		_, _, vs, next := lpPair(h.lp, off)
		sz := uvarintLen(uint64(len(value))) + len(value)
		h.lp = splice(h.lp, vs, next, sz)
		n := putUvarint(h.lp[vs:], uint64(len(value)))
		copy(h.lp[vs+n:], value)
		return false
	}
	off := len(h.lp)
	sz := uvarintLen(uint64(len(field))) + len(field) + uvarintLen(uint64(len(value))) + len(value)
	h.lp = splice(h.lp, off, off, sz)
	off += putUvarint(h.lp[off:], uint64(len(field)))
	off += copy(h.lp[off:], field)
	off += putUvarint(h.lp[off:], uint64(len(value)))
	copy(h.lp[off:], value)
	h.n++
	if h.n > h.maxEntries {
		h.convert()
	}
	return true
}

// splice replaces b[a:e] with n bytes of room (to be filled by the caller)
// and returns the resized slice.
func splice(b []byte, a, e, n int) []byte {
	delta := n - (e - a)
	switch {
	case delta > 0:
		old := len(b)
		if old+delta > cap(b) {
			nb := make([]byte, old+delta, max(2*cap(b), old+delta, 32))
			copy(nb, b[:a])
			copy(nb[a+n:], b[e:])
			return nb
		}
		b = b[:old+delta]
		copy(b[a+n:], b[e:old])
	case delta < 0:
		copy(b[a+n:], b[e:])
		b = b[:len(b)+delta]
		if cap(b) > 64 && len(b) < cap(b)/4 {
			b = append(make([]byte, 0, 2*len(b)), b...)
		}
	}
	return b
}

// Delete removes field and reports whether it was present.
func (h *Hash) Delete(field []byte) bool {
	if h.d != nil {
		return h.d.Delete(field)
	}
	off := h.lpFind(field)
	if off < 0 {
		return false
	}
	_, _, _, next := lpPair(h.lp, off)
	h.lp = splice(h.lp, off, next, 0)
	h.n--
	if h.n == 0 {
		h.lp = nil
	}
	return true
}

func (h *Hash) convert() {
	d := NewDict[struct{}](h.n)
	for off := 0; off < len(h.lp); {
		f, v, _, next := lpPair(h.lp, off)
		d.Insert(f, struct{}{}, v)
		off = next
	}
	h.d, h.lp, h.n = d, nil, 0
}

// Each calls fn for every field and value until fn returns false: in
// insertion order for a listpack, in table order for a hashtable. fn must
// not modify h, except that it may delete the field it is given from a
// hashtable-encoded hash.
func (h *Hash) Each(fn func(field, value []byte) bool) {
	if h.d != nil {
		h.d.Each(func(e int) bool { return fn(h.d.Key(e), h.d.Bytes(e)) })
		return
	}
	for off := 0; off < len(h.lp); {
		f, v, _, next := lpPair(h.lp, off)
		if !fn(f, v) {
			return
		}
		off = next
	}
}

// Scan calls fn for the fields of one HSCAN step and returns the next
// cursor (0 when done). A listpack is returned whole in one step, as Redis
// does. fn must not modify h; fields present for a whole scan are returned
// at least once whatever changes between calls.
func (h *Hash) Scan(cursor uint64, fn func(field, value []byte)) uint64 {
	if h.d != nil {
		return h.d.Scan(cursor, func(e int) { fn(h.d.Key(e), h.d.Bytes(e)) })
	}
	h.Each(func(f, v []byte) bool { fn(f, v); return true })
	return 0
}

// Random calls fn for random fields with HRANDFIELD's count semantics: a
// positive count returns min(count, Len) distinct fields, a negative count
// |count| fields that may repeat.
func (h *Hash) Random(count int, fn func(field, value []byte)) {
	if h.d != nil {
		randomDict(h.d, count, func(e int) { fn(h.d.Key(e), h.d.Bytes(e)) })
		return
	}
	var stack [HashMaxListpackEntries]int32
	offs := stack[:0]
	for off := 0; off < len(h.lp); {
		offs = append(offs, int32(off))
		_, _, _, off = lpPair(h.lp, off)
	}
	randomCount(len(offs), count, func(i int) {
		f, v, _, _ := lpPair(h.lp, int(offs[i]))
		fn(f, v)
	})
}

// randomDict applies the RANDMEMBER count semantics to a Dict.
func randomDict[V any](d *Dict[V], count int, fn func(e int)) {
	if count > 0 {
		d.Sample(count, fn)
		return
	}
	for ; count < 0 && d.Len() > 0; count++ {
		fn(d.Random())
	}
}
