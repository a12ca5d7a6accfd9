package ds

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// Invariant checkers, shared by the unit, model and fuzz tests. Each
// returns an error describing the first broken invariant, including a
// MemSize recomputed by walking the structure, which must equal the
// incrementally maintained one.

func (d *Dict[V]) check() error {
	if d.pauses != 0 || len(d.holes) != 0 {
		return fmt.Errorf("dict left paused (%d) or with holes (%d)", d.pauses, len(d.holes))
	}
	if d.n != d.count {
		return fmt.Errorf("dict n=%d count=%d", d.n, d.count)
	}
	seen := make([]bool, d.n)
	reach := 0
	for t := 0; t < 2; t++ {
		tab := d.tables[t]
		for b, x := range tab {
			if t == 0 && d.rehashIdx >= 0 && b < d.rehashIdx && x != 0 {
				return fmt.Errorf("dict bucket %d below rehashIdx %d not empty", b, d.rehashIdx)
			}
			for ; x != 0; x = d.ent(x - 1).next {
				i := x - 1
				if int(i) >= d.n || seen[i] {
					return fmt.Errorf("dict chain reaches %d twice or out of range", i)
				}
				seen[i] = true
				reach++
				e := d.ent(i)
				if e.hash&uint32(len(tab)-1) != uint32(b) {
					return fmt.Errorf("dict entry %d in wrong bucket", i)
				}
				if e.hash != hashKey(d.Key(int(i))) {
					return fmt.Errorf("dict entry %d hash stale", i)
				}
				if o := binary.LittleEndian.Uint32(d.arena.pages[e.ref>>32][uint32(e.ref):]); o != i {
					return fmt.Errorf("dict entry %d blob owner %d", i, o)
				}
			}
		}
	}
	if reach != d.count {
		return fmt.Errorf("dict reaches %d of %d entries", reach, d.count)
	}
	// Arena: live bytes per page equal the blobs owned by entries.
	live := map[int]int{}
	for i := 0; i < d.n; i++ {
		e := d.ent(uint32(i))
		k, b := d.arena.blob(e.ref)
		live[int(e.ref>>32)] += blobSize(len(k), len(b))
	}
	var pageMem int64
	for p, pg := range d.arena.pages {
		if pg == nil {
			continue
		}
		pageMem += int64(cap(pg))
		if live[p] != d.arena.live[p] {
			return fmt.Errorf("arena page %d live %d, counted %d", p, d.arena.live[p], live[p])
		}
	}
	if pageMem != d.arena.mem {
		return fmt.Errorf("arena mem %d, recomputed %d", d.arena.mem, pageMem)
	}
	var ent int64
	for _, ch := range d.chunks {
		ent += int64(cap(ch)) * d.entSize()
	}
	ent += int64(len(d.tables[0])+len(d.tables[1])) * 4
	if ent != d.entMem {
		return fmt.Errorf("dict entMem %d, recomputed %d", d.entMem, ent)
	}
	return nil
}

func (l *List) check() error {
	n := 0
	mem := int64(len(l.back))*qnodeSize + int64(len(l.spare))
	if len(l.nodes) > 0 && &l.nodes[0] != &l.back[l.head] {
		return fmt.Errorf("list nodes not at back[head]")
	}
	for ni := range l.nodes {
		nd := &l.nodes[ni]
		mem += int64(len(nd.buf))
		if nd.count <= 0 {
			return fmt.Errorf("list node %d empty", ni)
		}
		k := 0
		for off := int(nd.lo); off < int(nd.hi); k++ {
			_, off = readEntry(nd.buf, off)
			if off > int(nd.hi) {
				return fmt.Errorf("list node %d overruns", ni)
			}
		}
		if k != int(nd.count) {
			return fmt.Errorf("list node %d count %d, has %d", ni, nd.count, k)
		}
		// Backward walk agrees.
		k = 0
		for end := int(nd.hi); end > int(nd.lo); k++ {
			end = prevEntry(nd.buf, end)
		}
		if k != int(nd.count) {
			return fmt.Errorf("list node %d backward count %d", ni, k)
		}
		if nd.count > 1 && nd.used() > l.maxNodeBytes()+64 {
			return fmt.Errorf("list node %d holds %d bytes", ni, nd.used())
		}
		if l.fill > 0 && int(nd.count) > l.fill {
			return fmt.Errorf("list node %d holds %d > fill %d entries", ni, nd.count, l.fill)
		}
		n += k
	}
	if n != l.count {
		return fmt.Errorf("list count %d, has %d", l.count, n)
	}
	if mem != l.mem {
		return fmt.Errorf("list mem %d, recomputed %d", l.mem, mem)
	}
	return nil
}

func (h *Hash) check() error {
	if h.d != nil {
		return h.d.check()
	}
	n := 0
	seen := map[string]bool{}
	for off := 0; off < len(h.lp); n++ {
		f, v, _, next := lpPair(h.lp, off)
		if seen[string(f)] {
			return fmt.Errorf("hash listpack repeats %q", f)
		}
		seen[string(f)] = true
		if len(f) > h.maxValue || len(v) > h.maxValue {
			return fmt.Errorf("hash listpack holds a long field or value")
		}
		off = next
	}
	if n != h.n || n > h.maxEntries {
		return fmt.Errorf("hash listpack n=%d has %d (max %d)", h.n, n, h.maxEntries)
	}
	return nil
}

func (s *Set) check() error {
	if s.d != nil {
		return s.d.check()
	}
	for i := 1; i < s.is.len(); i++ {
		if s.is.get(i-1) >= s.is.get(i) {
			return fmt.Errorf("intset not sorted at %d", i)
		}
	}
	if s.is.len() > s.maxIntset {
		return fmt.Errorf("intset holds %d > %d", s.is.len(), s.maxIntset)
	}
	return nil
}

func (z *ZSet) check() error {
	if z.sl == nil {
		var pm []byte
		ps := math.Inf(-1)
		n := 0
		for off := 0; off < len(z.lp); n++ {
			m, s, next := zlpEntry(z.lp, off)
			if n > 0 && (s < ps || s == ps && bytes.Compare(m, pm) <= 0) {
				return fmt.Errorf("zset listpack out of order at %d", n)
			}
			if len(m) > z.maxValue {
				return fmt.Errorf("zset listpack holds a long member")
			}
			pm, ps, off = m, s, next
		}
		if n != z.n || n > z.maxEntries {
			return fmt.Errorf("zset listpack n=%d has %d", z.n, n)
		}
		return nil
	}
	sl := z.sl
	if err := sl.d.check(); err != nil {
		return err
	}
	// Level 0 is in order, back links agree, every node is reached.
	n := 0
	prev := uint32(0)
	for x := sl.hdr[0].fwd; x != 0; x = sl.node(x).l0.fwd {
		if sl.node(x).back != prev {
			return fmt.Errorf("skiplist node %d back %d, want %d", x, sl.node(x).back, prev)
		}
		if prev != 0 && !sl.less(prev, sl.node(x).score, sl.member(x)) {
			return fmt.Errorf("skiplist out of order at %d", x)
		}
		prev = x
		n++
	}
	if n != sl.length() || sl.tail != prev {
		return fmt.Errorf("skiplist walks %d of %d, tail %d want %d", n, sl.length(), sl.tail, prev)
	}
	// Spans: at every level, span = level-0 distance.
	pos := map[uint32]int{0: 0}
	i := 1
	for x := sl.hdr[0].fwd; x != 0; x = sl.node(x).l0.fwd {
		pos[x] = i
		i++
	}
	for lvl := 0; lvl < sl.level; lvl++ {
		x := uint32(0)
		for {
			l := sl.lv(x, lvl)
			if l.fwd == 0 {
				if x != 0 && pos[x]+int(l.span) > n+1 && l.span != 0 {
					return fmt.Errorf("skiplist level %d tail span %d", lvl, l.span)
				}
				break
			}
			if pos[l.fwd]-pos[x] != int(l.span) {
				return fmt.Errorf("skiplist level %d span %d->%d is %d want %d", lvl, x, l.fwd, l.span, pos[l.fwd]-pos[x])
			}
			if math.Float64bits(l.score) != math.Float64bits(sl.node(l.fwd).score) {
				return fmt.Errorf("skiplist level %d link %d->%d caches score %v, node has %v", lvl, x, l.fwd, l.score, sl.node(l.fwd).score)
			}
			if sl.height(l.fwd) <= lvl {
				return fmt.Errorf("skiplist level %d links node of height %d", lvl, sl.height(l.fwd))
			}
			x = l.fwd
		}
	}
	for lvl := sl.level; lvl < zMaxLevel; lvl++ {
		if sl.hdr[lvl].fwd != 0 {
			return fmt.Errorf("header level %d above level %d linked", lvl, sl.level)
		}
	}
	// Towers: owners agree with nodes.
	var tm int64
	for h := 2; h <= zMaxLevel; h++ {
		tm += int64(cap(sl.towers[h]))*zlevelSize + int64(cap(sl.owners[h]))*4
		if len(sl.towers[h]) != len(sl.owners[h])*(h-1) {
			return fmt.Errorf("towers[%d] size mismatch", h)
		}
		for b, o := range sl.owners[h] {
			if t := sl.loc[o-1]; towerHeight(t) != h || int(t>>5) != b {
				return fmt.Errorf("tower %d/%d owner %d disagrees", h, b, o)
			}
		}
	}
	if len(sl.loc) != sl.d.n {
		return fmt.Errorf("loc has %d slots, dict %d", len(sl.loc), sl.d.n)
	}
	if tm != sl.towerMem {
		return fmt.Errorf("towerMem %d, recomputed %d", sl.towerMem, tm)
	}
	return nil
}

// sortedKeys returns m's keys in order, for comparing against models.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
