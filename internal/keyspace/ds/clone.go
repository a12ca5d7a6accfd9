package ds

import "slices"

// Clone methods give the keyspace copy-on-write values: a snapshot keeps
// reading the original while the writer changes a deep copy. Each Clone
// only reads its receiver, so it may run while other goroutines read it.
// They return any to satisfy the keyspace's Cloner interface.

// Clone returns a deep copy of l.
func (l *List) Clone() any {
	c := &List{count: l.count, fill: l.fill, mem: l.mem - int64(len(l.spare)), head: l.head}
	if l.back != nil {
		c.back = make([]qnode, len(l.back))
		for i, n := range l.nodes {
			c.back[l.head+i] = qnode{buf: slices.Clone(n.buf), lo: n.lo, hi: n.hi, count: n.count}
		}
		c.nodes = c.back[l.head : l.head+len(l.nodes)]
	}
	return c
}

// Clone returns a deep copy of h.
func (h *Hash) Clone() any {
	c := &Hash{maxEntries: h.maxEntries, maxValue: h.maxValue, n: h.n}
	if h.d != nil {
		c.d = h.d.Clone()
	} else if h.lp != nil {
		c.lp = append(make([]byte, 0, cap(h.lp)), h.lp...)
	}
	return c
}

// Clone returns a deep copy of s.
func (s *Set) Clone() any {
	c := &Set{maxIntset: s.maxIntset, is: intset{width: s.is.width}}
	if s.d != nil {
		c.d = s.d.Clone()
	} else if s.is.buf != nil {
		c.is.buf = append(make([]byte, 0, cap(s.is.buf)), s.is.buf...)
	}
	return c
}

// Clone returns a deep copy of z.
func (z *ZSet) Clone() any {
	c := &ZSet{maxEntries: z.maxEntries, maxValue: z.maxValue, n: z.n}
	if z.sl != nil {
		sl := z.sl
		// Node ids are Dict handles, which a Dict clone preserves, so every
		// link copies over as is.
		csl := &zskiplist{hdr: sl.hdr, level: sl.level, tail: sl.tail, towerMem: sl.towerMem,
			loc: append(make([]uint32, 0, cap(sl.loc)), sl.loc...)}
		for h := range sl.towers {
			if sl.towers[h] != nil {
				csl.towers[h] = append(make([]zlevel, 0, cap(sl.towers[h])), sl.towers[h]...)
				csl.owners[h] = append(make([]uint32, 0, cap(sl.owners[h])), sl.owners[h]...)
			}
		}
		csl.d = sl.d.Clone()
		csl.d.onMove = csl.relink
		c.sl = csl
	} else if z.lp != nil {
		c.lp = append(make([]byte, 0, cap(z.lp)), z.lp...)
	}
	return c
}

// Lookups never advance an incremental rehash (so that readers stay pure
// readers); writes do, one bucket each. Rehash lets the keyspace's
// background sweep finish a resize of an idle collection in bounded
// slices: it moves up to n buckets and reports whether more remain. It is
// a write.

// Rehash advances h's hashtable rehash by up to n buckets.
func (h *Hash) Rehash(n int) bool { return h.d != nil && h.d.Rehash(n) }

// Rehash advances s's hashtable rehash by up to n buckets.
func (s *Set) Rehash(n int) bool { return s.d != nil && s.d.Rehash(n) }

// Rehash advances z's member dict rehash by up to n buckets.
func (z *ZSet) Rehash(n int) bool { return z.sl != nil && z.sl.d.Rehash(n) }
