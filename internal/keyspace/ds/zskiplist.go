package ds

import (
	"bytes"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

const (
	zMaxLevel   = 32 // ZSKIPLIST_MAXLEVEL
	zslOverhead = int64(unsafe.Sizeof(zskiplist{}))
	zlevelSize  = int64(unsafe.Sizeof(zlevel{}))
)

// zlevel is one level of a skiplist node: the next node at that level, how
// many level-0 steps it skips (for O(log n) ranks), and a copy of the next
// node's score. The copy is what makes a descent cheap: the walk is bound
// by cache misses, and with the score at hand a step compares against the
// next node without loading it (only equal scores need its member), so a
// descent touches one node per step instead of two.
type zlevel struct {
	fwd   uint32 // node id, 0 = none
	span  uint32
	score float64 // fwd's score (meaningless when fwd is 0)
}

// znode is a skiplist node, stored as the value of the member's Dict
// entry: the member bytes live once, in the Dict's arena, and the node
// costs no allocation of its own. Node ids are entry handles + 1 (0 is the
// header or "none").
//
// Levels above 0 live in towers[height]: a dense array of (height-1)-level
// blocks, one per node of that height, with owners[height] naming each
// block's node so a freed block can be filled from the end in O(1). Where
// a node's block is (block index << 5 | (height - 1)) is kept apart from
// the node, in loc[id-1]: a descent moving along level i > 0 then touches
// that small dense array (which stays in cache) and the block, never the
// 48-byte Dict entry.
type znode struct {
	score float64
	back  uint32 // previous node id, 0 if first
	l0    zlevel
}

func towerHeight(loc uint32) int { return int(loc&31) + 1 }

// zskiplist is the "skiplist" encoding: Redis's skiplist with spans plus
// the member → node Dict.
type zskiplist struct {
	d        *Dict[znode]
	hdr      [zMaxLevel]zlevel
	level    int
	tail     uint32
	towers   [zMaxLevel + 1][]zlevel
	owners   [zMaxLevel + 1][]uint32
	towerMem int64
	loc      []uint32 // per Dict slot: its node's tower (0: height 1)
}

func newSkiplist(hint int) *zskiplist {
	sl := &zskiplist{d: NewDict[znode](hint), level: 1}
	sl.d.onMove = sl.relink
	return sl
}

func (sl *zskiplist) memSize() int64 {
	return zslOverhead + sl.d.MemSize() + sl.towerMem + int64(cap(sl.loc))*4
}

// height returns node id's number of levels.
func (sl *zskiplist) height(id uint32) int { return towerHeight(sl.loc[id-1]) }

// trimLoc drops the loc slots the Dict no longer has, after deletes.
func (sl *zskiplist) trimLoc() {
	sl.loc = sl.loc[:sl.d.n]
	if cap(sl.loc) > 64 && len(sl.loc) < cap(sl.loc)/4 {
		sl.loc = append(make([]uint32, 0, 2*len(sl.loc)), sl.loc...)
	}
}

func (sl *zskiplist) length() int { return sl.d.Len() }

func (sl *zskiplist) node(id uint32) *znode { return sl.d.Value(int(id - 1)) }

func (sl *zskiplist) member(id uint32) []byte { return sl.d.Key(int(id - 1)) }

func (sl *zskiplist) lv(x uint32, i int) *zlevel {
	if x == 0 {
		return &sl.hdr[i]
	}
	if i == 0 {
		return &sl.node(x).l0
	}
	t := sl.loc[x-1]
	h := towerHeight(t)
	return &sl.towers[h][int(t>>5)*(h-1)+i-1]
}

// less reports whether node x sorts before (score, member).
func (sl *zskiplist) less(x uint32, score float64, member []byte) bool {
	n := sl.node(x)
	return n.score < score || (n.score == score && bytes.Compare(sl.member(x), member) < 0)
}

// fwdLess reports whether the node that l links to (l.fwd != 0) sorts
// before (score, member), reading its member only on a score tie.
func (sl *zskiplist) fwdLess(l *zlevel, score float64, member []byte) bool {
	return l.score < score || (l.score == score && bytes.Compare(sl.member(l.fwd), member) < 0)
}

func randomLevel() int {
	// Each further level with probability 1/4 (ZSKIPLIST_P).
	return min(1+bits.TrailingZeros64(rand.Uint64())/2, zMaxLevel)
}

func (sl *zskiplist) allocTower(id uint32, h int) {
	if h == 1 {
		sl.loc[id-1] = 0
		return
	}
	t, o := sl.towers[h], sl.owners[h]
	oldMem := int64(cap(t))*zlevelSize + int64(cap(o))*4
	blk := len(o)
	for i := 1; i < h; i++ {
		t = append(t, zlevel{})
	}
	o = append(o, id)
	sl.towers[h], sl.owners[h] = t, o
	sl.towerMem += int64(cap(t))*zlevelSize + int64(cap(o))*4 - oldMem
	sl.loc[id-1] = uint32(blk)<<5 | uint32(h-1)
}

// freeTowerOf releases the tower block blk of height h.
func (sl *zskiplist) freeTowerOf(h, blk int) {
	t, o := sl.towers[h], sl.owners[h]
	last := len(o) - 1
	if blk != last {
		copy(t[blk*(h-1):(blk+1)*(h-1)], t[last*(h-1):])
		mover := o[last]
		o[blk] = mover
		sl.loc[mover-1] = uint32(blk)<<5 | uint32(h-1)
	}
	t, o = t[:last*(h-1)], o[:last]
	if cap(o) > 16 && len(o) < cap(o)/4 {
		oldMem := int64(cap(t))*zlevelSize + int64(cap(o))*4
		t = append(make([]zlevel, 0, 2*len(t)), t...)
		o = append(make([]uint32, 0, 2*len(o)), o...)
		sl.towerMem += int64(cap(t))*zlevelSize + int64(cap(o))*4 - oldMem
	}
	if len(o) == 0 {
		sl.towerMem -= int64(cap(t))*zlevelSize + int64(cap(o))*4
		t, o = nil, nil
	}
	sl.towers[h], sl.owners[h] = t, o
}

func (sl *zskiplist) dropTower(id uint32) {
	t := sl.loc[id-1]
	h, blk := towerHeight(t), int(t>>5)
	sl.loc[id-1] = 0
	if h > 1 {
		sl.freeTowerOf(h, blk)
	}
}

// link inserts node id (its Dict entry already holds score and member)
// into the list, as zslInsert. length is the node count before it.
func (sl *zskiplist) link(id uint32, length int) {
	var update [zMaxLevel]uint32
	var rank [zMaxLevel]uint32
	n := sl.node(id)
	score, member := n.score, sl.member(id)
	x := uint32(0)
	for i := sl.level - 1; i >= 0; i-- {
		if i < sl.level-1 {
			rank[i] = rank[i+1]
		}
		for {
			l := sl.lv(x, i)
			if l.fwd == 0 || !sl.fwdLess(l, score, member) {
				break
			}
			rank[i] += l.span
			x = l.fwd
		}
		update[i] = x
	}
	sl.splice(id, &update, &rank, length)
}

// splice links node id (its Dict entry already holds its score) after
// update[i] at every level of a new random height, given update's 1-based
// ranks, as the second half of zslInsert. length is the node count
// without it.
func (sl *zskiplist) splice(id uint32, update, rank *[zMaxLevel]uint32, length int) {
	score := sl.node(id).score
	level := randomLevel()
	if level > sl.level {
		for i := sl.level; i < level; i++ {
			rank[i] = 0
			update[i] = 0
			sl.hdr[i].span = uint32(length)
		}
		sl.level = level
	}
	sl.allocTower(id, level)
	for i := 0; i < level; i++ {
		ul, nl := sl.lv(update[i], i), sl.lv(id, i)
		nl.fwd, nl.score = ul.fwd, ul.score
		ul.fwd, ul.score = id, score
		nl.span = ul.span - (rank[0] - rank[i])
		ul.span = rank[0] - rank[i] + 1
	}
	for i := level; i < sl.level; i++ {
		sl.lv(update[i], i).span++
	}
	n := sl.node(id)
	n.back = update[0]
	if n.l0.fwd != 0 {
		sl.node(n.l0.fwd).back = id
	} else {
		sl.tail = id
	}
}

// path fills update with the last node before id at every level.
func (sl *zskiplist) path(id uint32, update *[zMaxLevel]uint32) {
	n := sl.node(id)
	score, member := n.score, sl.member(id)
	x := uint32(0)
	for i := sl.level - 1; i >= 0; i-- {
		for {
			l := sl.lv(x, i)
			if l.fwd == 0 || l.fwd == id || !sl.fwdLess(l, score, member) {
				break
			}
			x = l.fwd
		}
		update[i] = x
	}
}

// unlinkWith removes id given its predecessors, as zslDeleteNode, and
// frees its tower.
func (sl *zskiplist) unlinkWith(id uint32, update *[zMaxLevel]uint32) {
	for i := 0; i < sl.level; i++ {
		ul := sl.lv(update[i], i)
		if ul.fwd == id {
			nl := sl.lv(id, i)
			ul.span += nl.span - 1
			ul.fwd, ul.score = nl.fwd, nl.score
		} else {
			ul.span--
		}
	}
	n := sl.node(id)
	if n.l0.fwd != 0 {
		sl.node(n.l0.fwd).back = n.back
	} else {
		sl.tail = n.back
	}
	for sl.level > 1 && sl.hdr[sl.level-1].fwd == 0 {
		sl.level--
	}
	sl.dropTower(id)
}

func (sl *zskiplist) unlink(id uint32) {
	var update [zMaxLevel]uint32
	sl.path(id, &update)
	sl.unlinkWith(id, &update)
}

// relink is the Dict's onMove hook: the entry (node) at handle from now
// lives at handle to, so every link naming it is rewritten.
func (sl *zskiplist) relink(from, to uint32) {
	fromID, toID := from+1, to+1
	sl.loc[to] = sl.loc[from]
	n := sl.node(toID)
	score, member := n.score, sl.member(toID)
	x := uint32(0)
	for i := sl.level - 1; i >= 0; i-- {
		for {
			l := sl.lv(x, i)
			if l.fwd == 0 || l.fwd == fromID || !sl.fwdLess(l, score, member) {
				break
			}
			x = l.fwd
		}
		if l := sl.lv(x, i); l.fwd == fromID {
			l.fwd = toID
		}
	}
	if n.l0.fwd != 0 {
		sl.node(n.l0.fwd).back = toID
	}
	if sl.tail == fromID {
		sl.tail = toID
	}
	if t := sl.loc[to]; t != 0 {
		sl.owners[towerHeight(t)][t>>5] = toID
	}
}

// insert adds member with score (absent before).
func (sl *zskiplist) insert(member []byte, score float64) {
	length := sl.d.Len()
	e := sl.d.Insert(member, znode{score: score}, nil)
	sl.loc = append(sl.loc, 0) // the Dict appends: e is the last slot
	sl.link(uint32(e)+1, length)
}

// remove deletes the member at entry e.
func (sl *zskiplist) remove(e int) {
	sl.unlink(uint32(e) + 1)
	sl.d.DeleteAt(e)
	sl.trimLoc()
}

// update changes entry e's score, as zslUpdateScore: in place when the
// node keeps its position, else unlinked and linked again.
func (sl *zskiplist) update(e int, score float64) {
	id := uint32(e) + 1
	n := sl.node(id)
	// The next node's score is at hand in the link; the previous node's
	// costs a load, so it is checked last.
	if (n.l0.fwd == 0 || n.l0.score > score) &&
		(n.back == 0 || sl.node(n.back).score < score) {
		// In place; the links to the node carry its score too.
		if h := sl.height(id); h == 1 {
			sl.lv(n.back, 0).score = score
		} else {
			var update [zMaxLevel]uint32
			sl.path(id, &update)
			for i := 0; i < h; i++ {
				sl.lv(update[i], i).score = score
			}
		}
		sl.node(id).score = score
		return
	}
	sl.move(id, score)
}

// move gives node id a new score and position. The two walks it needs,
// to the node's old place (to unlink it) and to its new one, are
// independent chains of cache misses, so they run in step, level by
// level, for the CPU to overlap their loads: a node is a cache miss away
// from the next, and the walks are most of ZADD's time.
//
// The walk to the new place walks the list as it will be without the
// node: a link to the node counts as the node's own link at that level
// (their spans summed). Its ranks are counted with the node in place and
// are one too many past it, which is fixed once both walks are done.
func (sl *zskiplist) move(id uint32, score float64) {
	n := sl.node(id)
	old, member := n.score, sl.member(id)
	var upOld, upNew, rank [zMaxLevel]uint32
	xa, xb := uint32(0), uint32(0)
	var ra, rb uint32
	for i := sl.level - 1; i >= 0; i-- {
		doneA, doneB := false, false
		for !doneA || !doneB {
			if !doneA {
				l := sl.lv(xa, i)
				if l.fwd == 0 || l.fwd == id || !sl.fwdLess(l, old, member) {
					doneA = true
				} else {
					ra += l.span
					xa = l.fwd
				}
			}
			if !doneB {
				l := sl.lv(xb, i)
				fwd, span, fs := l.fwd, l.span, l.score
				if fwd == id {
					il := sl.lv(id, i)
					fwd, span, fs = il.fwd, span+il.span, il.score
				}
				if fwd == 0 || !(fs < score || (fs == score && bytes.Compare(sl.member(fwd), member) < 0)) {
					doneB = true
				} else {
					rb += span
					xb = fwd
				}
			}
		}
		upOld[i], upNew[i], rank[i] = xa, xb, rb
	}
	self := ra + 1 // the node's rank
	sl.unlinkWith(id, &upOld)
	for i := range sl.level {
		if rank[i] > self {
			rank[i]--
		}
	}
	sl.node(id).score = score
	sl.splice(id, &upNew, &rank, sl.d.Len()-1)
}

// rank returns node id's 1-based rank.
func (sl *zskiplist) rank(id uint32) int {
	n := sl.node(id)
	score, member := n.score, sl.member(id)
	x, rank := uint32(0), 0
	for i := sl.level - 1; i >= 0; i-- {
		for {
			l := sl.lv(x, i)
			if l.fwd == 0 {
				break
			}
			if l.score < score || (l.score == score && (l.fwd == id || bytes.Compare(sl.member(l.fwd), member) <= 0)) {
				rank += int(l.span)
				x = l.fwd
				continue
			}
			break
		}
		if x == id {
			return rank
		}
	}
	panic("ds: skiplist node not found by rank")
}

// byRank returns the node with 1-based rank r, 0 if out of range.
func (sl *zskiplist) byRank(r int) uint32 {
	x, traversed := uint32(0), 0
	for i := sl.level - 1; i >= 0; i-- {
		for {
			l := sl.lv(x, i)
			if l.fwd == 0 || traversed+int(l.span) > r {
				break
			}
			traversed += int(l.span)
			x = l.fwd
		}
		if traversed == r {
			return x
		}
	}
	return 0
}

// memberIf returns node id's member when want, else nil (a score test
// does not need the load).
func (sl *zskiplist) memberIf(want bool, id uint32) []byte {
	if want {
		return sl.member(id)
	}
	return nil
}

// seekFirst returns the first node for which before is false and its
// 1-based rank (0 and Len+1 if none). before is given the node and its
// score, from the link.
func (sl *zskiplist) seekFirst(before func(id uint32, score float64) bool) (uint32, int) {
	x, rank := uint32(0), 0
	for i := sl.level - 1; i >= 0; i-- {
		for {
			l := sl.lv(x, i)
			if l.fwd == 0 || !before(l.fwd, l.score) {
				break
			}
			rank += int(l.span)
			x = l.fwd
		}
	}
	return sl.lv(x, 0).fwd, rank + 1
}

// seekLast returns the last node for which upto is true and its 1-based
// rank (0, 0 if none). upto is given the node and its score, from the
// link.
func (sl *zskiplist) seekLast(upto func(id uint32, score float64) bool) (uint32, int) {
	x, rank := uint32(0), 0
	for i := sl.level - 1; i >= 0; i-- {
		for {
			l := sl.lv(x, i)
			if l.fwd == 0 || !upto(l.fwd, l.score) {
				break
			}
			rank += int(l.span)
			x = l.fwd
		}
	}
	return x, rank
}

// deleteRanks removes the nodes of 0-based ranks a..b, as
// zslDeleteRangeByRank: one descent, then a walk along level 0.
func (sl *zskiplist) deleteRanks(a, b int) {
	var update [zMaxLevel]uint32
	start, end := a+1, b+1
	x, traversed := uint32(0), 0
	for i := sl.level - 1; i >= 0; i-- {
		for {
			l := sl.lv(x, i)
			if l.fwd == 0 || traversed+int(l.span) >= start {
				break
			}
			traversed += int(l.span)
			x = l.fwd
		}
		update[i] = x
	}
	traversed++
	x = sl.lv(x, 0).fwd
	// Paused, the Dict leaves holes instead of moving entries, so node ids
	// in update stay put until the loop is done.
	sl.d.pause()
	for x != 0 && traversed <= end {
		next := sl.node(x).l0.fwd
		sl.unlinkWith(x, &update)
		sl.d.DeleteAt(int(x - 1))
		traversed++
		x = next
	}
	sl.d.unpause()
	sl.trimLoc()
}
