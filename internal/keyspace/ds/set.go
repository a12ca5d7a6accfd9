package ds

import (
	"math/rand/v2"
	"unsafe"
)

// SetMaxIntsetEntries is Redis 7.0's default set-max-intset-entries.
const (
	SetMaxIntsetEntries = 512
	setOverhead         = int64(unsafe.Sizeof(Set{}))
)

// Set is a Redis set of binary-safe members.
//
// It is an "intset" (sorted packed integers, binary search) while every
// member is an integer in canonical form (see String2ll) and there are at
// most maxIntset members, and converts once, for good, to a "hashtable"
// (a Dict) otherwise, as Redis 7.0 does. (Redis 7.0 has no listpack
// encoding for sets.)
//
// Read methods (Len, IsMember, Each, Members, Scan, Random, MemSize, Clone)
// never modify the Set, so goroutines may share one that nobody writes;
// writes need exclusive access.
type Set struct {
	maxIntset int
	is        intset
	d         *Dict[struct{}]
}

// NewSet returns an empty set with the given set-max-intset-entries.
func NewSet(maxIntsetEntries int) *Set {
	return &Set{maxIntset: min(maxIntsetEntries, 1<<30)}
}

// Encoding returns "intset" or "hashtable", as OBJECT ENCODING.
func (s *Set) Encoding() string {
	if s.d != nil {
		return "hashtable"
	}
	return "intset"
}

// Len returns the number of members.
func (s *Set) Len() int {
	if s.d != nil {
		return s.d.Len()
	}
	return s.is.len()
}

// MemSize returns the approximate bytes held by s.
func (s *Set) MemSize() int64 {
	if s.d != nil {
		return setOverhead + s.d.MemSize()
	}
	return setOverhead + int64(cap(s.is.buf))
}

// Add inserts member and reports whether it was new.
func (s *Set) Add(member []byte) bool {
	if s.d == nil {
		if v, ok := String2ll(member); ok {
			if !s.is.add(v) {
				return false
			}
			if s.is.len() > s.maxIntset {
				s.convert()
			}
			return true
		}
		s.convert()
	}
	return s.d.Set(member, struct{}{})
}

func (s *Set) convert() {
	d := NewDict[struct{}](s.is.len())
	var buf [20]byte
	for i, n := 0, s.is.len(); i < n; i++ {
		d.Insert(appendInt(buf[:0], s.is.get(i)), struct{}{}, nil)
	}
	s.d, s.is = d, intset{}
}

// Remove deletes member and reports whether it was present.
func (s *Set) Remove(member []byte) bool {
	if s.d != nil {
		return s.d.Delete(member)
	}
	v, ok := String2ll(member)
	if !ok || !s.is.remove(v) {
		return false
	}
	if s.is.len() == 0 {
		s.is = intset{}
	}
	return true
}

// IsMember reports whether member is present.
func (s *Set) IsMember(member []byte) bool {
	if s.d != nil {
		return s.d.Find(member) >= 0
	}
	v, ok := String2ll(member)
	return ok && s.is.contains(v)
}

// Each calls fn for every member until fn returns false (ascending for an
// intset). The member is valid only during the call. fn must not modify
// s, except that it may remove the member it is given from a
// hashtable-encoded set.
func (s *Set) Each(fn func(member []byte) bool) {
	if s.d != nil {
		s.d.Each(func(e int) bool { return fn(s.d.Key(e)) })
		return
	}
	var buf [20]byte
	for i, n := 0, s.is.len(); i < n; i++ {
		if !fn(appendInt(buf[:0], s.is.get(i))) {
			return
		}
	}
}

// Members returns copies of all members.
func (s *Set) Members() [][]byte {
	out := make([][]byte, 0, s.Len())
	s.Each(func(m []byte) bool {
		out = append(out, append([]byte(nil), m...))
		return true
	})
	return out
}

// Scan calls fn for the members of one SSCAN step and returns the next
// cursor (0 when done). An intset is returned whole in one step, as Redis
// does. fn must not modify s.
func (s *Set) Scan(cursor uint64, fn func(member []byte)) uint64 {
	if s.d != nil {
		return s.d.Scan(cursor, func(e int) { fn(s.d.Key(e)) })
	}
	s.Each(func(m []byte) bool { fn(m); return true })
	return 0
}

// Random calls fn for random members with SRANDMEMBER's count semantics:
// a positive count gives min(count, Len) distinct members, a negative
// count |count| members that may repeat.
func (s *Set) Random(count int, fn func(member []byte)) {
	if s.d != nil {
		randomDict(s.d, count, func(e int) { fn(s.d.Key(e)) })
		return
	}
	var buf [20]byte
	randomCount(s.is.len(), count, func(i int) { fn(appendInt(buf[:0], s.is.get(i))) })
}

// Pop removes up to count distinct random members (SPOP), calling fn with
// each before it is removed, and returns how many were removed.
func (s *Set) Pop(count int, fn func(member []byte)) int {
	n := 0
	var buf [20]byte
	for ; n < count && s.Len() > 0; n++ {
		if s.d != nil {
			e := s.d.Random()
			if fn != nil {
				fn(s.d.Key(e))
			}
			s.d.DeleteAt(e)
			continue
		}
		i := rand.IntN(s.is.len())
		if fn != nil {
			fn(appendInt(buf[:0], s.is.get(i)))
		}
		s.is.removeAt(i)
	}
	if s.d == nil && s.is.len() == 0 {
		s.is = intset{}
	}
	return n
}
