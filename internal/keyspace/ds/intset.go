package ds

import (
	"encoding/binary"
	"math"
	"strconv"
)

// intset is Redis's intset: sorted, distinct int64 values packed little
// endian at the narrowest width (2, 4 or 8 bytes) that holds all of them.
// Like Redis it widens when a value needs it and never narrows.
type intset struct {
	width int // bytes per value; 0 until the first add
	buf   []byte
}

func (s *intset) len() int {
	if s.width == 0 {
		return 0
	}
	return len(s.buf) / s.width
}

func (s *intset) get(i int) int64 {
	switch s.width {
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(s.buf[2*i:])))
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(s.buf[4*i:])))
	}
	return int64(binary.LittleEndian.Uint64(s.buf[8*i:]))
}

func putInt(b []byte, width int, v int64) {
	switch width {
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(v))
	default:
		binary.LittleEndian.PutUint64(b, uint64(v))
	}
}

// widthFor returns the intset width needed for v (_intsetValueEncoding).
func widthFor(v int64) int {
	switch {
	case v < math.MinInt32 || v > math.MaxInt32:
		return 8
	case v < math.MinInt16 || v > math.MaxInt16:
		return 4
	}
	return 2
}

// search returns v's position and whether it is present.
func (s *intset) search(v int64) (int, bool) {
	lo, hi := 0, s.len()
	if hi == 0 {
		return 0, false
	}
	// The ends first: appends of ascending ids are the common case.
	if v > s.get(hi-1) {
		return hi, false
	}
	if v < s.get(0) {
		return 0, false
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		x := s.get(m)
		switch {
		case x == v:
			return m, true
		case x < v:
			lo = m + 1
		default:
			hi = m
		}
	}
	return lo, false
}

func (s *intset) contains(v int64) bool {
	if s.width == 0 || widthFor(v) > s.width {
		return false
	}
	_, ok := s.search(v)
	return ok
}

// add inserts v and reports whether it was absent.
func (s *intset) add(v int64) bool {
	if w := widthFor(v); w > s.width {
		s.upgrade(w, v)
		return true
	}
	i, ok := s.search(v)
	if ok {
		return false
	}
	w := s.width
	s.buf = splice(s.buf, i*w, i*w, w)
	putInt(s.buf[i*w:], w, v)
	return true
}

// upgrade widens every value and adds v, which (being out of the old
// range) goes at one end, as intsetUpgradeAndAdd.
func (s *intset) upgrade(w int, v int64) {
	n := s.len()
	nb := make([]byte, (n+1)*w)
	pre := 0
	if v < 0 {
		pre = 1
		putInt(nb, w, v)
	} else {
		putInt(nb[n*w:], w, v)
	}
	for i := 0; i < n; i++ {
		putInt(nb[(i+pre)*w:], w, s.get(i))
	}
	s.buf, s.width = nb, w
}

func (s *intset) removeAt(i int) {
	w := s.width
	s.buf = splice(s.buf, i*w, (i+1)*w, 0)
}

func (s *intset) remove(v int64) bool {
	if s.width == 0 || widthFor(v) > s.width {
		return false
	}
	i, ok := s.search(v)
	if ok {
		s.removeAt(i)
	}
	return ok
}

// String2ll parses s as Redis's string2ll does: an int64 in canonical
// decimal form only (no sign but a leading '-', no leading zeros, no
// spaces, no "-0"). Only such members are stored in an intset, so that
// converting back to strings reproduces the member exactly.
func String2ll(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) >= 21 {
		return 0, false
	}
	if len(s) == 1 && s[0] == '0' {
		return 0, true
	}
	neg := s[0] == '-'
	p := s
	if neg {
		p = s[1:]
		if len(p) == 0 {
			return 0, false
		}
	}
	if p[0] < '1' || p[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > math.MaxUint64/10 {
			return 0, false
		}
		v *= 10
		if v > math.MaxUint64-uint64(c-'0') {
			return 0, false
		}
		v += uint64(c - '0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// appendInt formats v into dst's storage; used to hand intset members out
// as byte strings without allocating.
func appendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }
