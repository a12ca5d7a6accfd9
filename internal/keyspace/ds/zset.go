package ds

import (
	"bytes"
	"encoding/binary"
	"math"
	"unsafe"
)

// Redis 7.0's defaults for the sorted set conversion thresholds.
const (
	ZSetMaxListpackEntries = 128 // zset-max-listpack-entries
	ZSetMaxListpackValue   = 64  // zset-max-listpack-value
	zsetOverhead           = int64(unsafe.Sizeof(ZSet{}))
)

// ZAddFlags are ZADD's options.
type ZAddFlags uint8

// ZADD options. The command layer rejects the combinations Redis rejects
// (NX with XX, GT or LT; GT with LT).
const (
	ZAddNX   ZAddFlags = 1 << iota // only add new members
	ZAddXX                         // only update existing members
	ZAddGT                         // only update when the new score is greater
	ZAddLT                         // only update when the new score is less
	ZAddIncr                       // add score to the current one (ZINCRBY)
)

// ZAddResult says what Add did.
type ZAddResult uint8

// Add outcomes.
const (
	ZNop       ZAddResult = iota // not done: NX/XX/GT/LT said no (INCR replies nil)
	ZAdded                       // new member
	ZUpdated                     // existing member, score changed
	ZUnchanged                   // existing member, same score
)

// ZSet is a Redis sorted set: distinct binary-safe members ordered by
// score, ties broken by member bytes (memcmp order).
//
// It starts as a "listpack", one packed []byte of
//
//	uvarint mlen | member | float64 score (8 bytes LE)
//
// entries kept in order, and converts once, for good, to a "skiplist" (a
// skiplist with spans for O(log n) ranks plus a member → node Dict) when it
// would hold more than maxEntries members or a member longer than maxValue
// bytes, as Redis 7.0 does.
//
// Read methods (Card, Score, Rank, Count, LexCount, RangeBy*, Iter, Random,
// Scan, MemSize, Clone) never modify the ZSet, so goroutines may share one
// that nobody writes; writes need exclusive access.
type ZSet struct {
	maxEntries, maxValue int
	n                    int
	lp                   []byte
	sl                   *zskiplist
}

// NewZSet returns an empty sorted set with the given
// zset-max-listpack-entries and zset-max-listpack-value.
func NewZSet(maxListpackEntries, maxListpackValue int) *ZSet {
	return &ZSet{maxEntries: maxListpackEntries, maxValue: maxListpackValue}
}

// Encoding returns "listpack" or "skiplist", as OBJECT ENCODING.
func (z *ZSet) Encoding() string {
	if z.sl != nil {
		return "skiplist"
	}
	return "listpack"
}

// Card returns the number of members.
func (z *ZSet) Card() int {
	if z.sl != nil {
		return z.sl.length()
	}
	return z.n
}

// MemSize returns the approximate bytes held by z.
func (z *ZSet) MemSize() int64 {
	if z.sl != nil {
		return zsetOverhead + z.sl.memSize()
	}
	return zsetOverhead + int64(cap(z.lp))
}

// zlpEntry decodes the listpack entry at off.
func zlpEntry(b []byte, off int) (m []byte, score float64, next int) {
	l, n := getUvarint(b[off:])
	s := off + n
	e := s + int(l)
	return b[s:e:e], math.Float64frombits(binary.LittleEndian.Uint64(b[e:])), e + 8
}

func (z *ZSet) lpFind(member []byte) (off int, score float64, ok bool) {
	for off := 0; off < len(z.lp); {
		m, s, next := zlpEntry(z.lp, off)
		if bytes.Equal(m, member) {
			return off, s, true
		}
		off = next
	}
	return 0, 0, false
}

func (z *ZSet) lpInsert(member []byte, score float64) {
	off := 0
	for off < len(z.lp) {
		m, s, next := zlpEntry(z.lp, off)
		if s > score || (s == score && bytes.Compare(m, member) > 0) {
			break
		}
		off = next
	}
	sz := uvarintLen(uint64(len(member))) + len(member) + 8
	z.lp = splice(z.lp, off, off, sz)
	off += putUvarint(z.lp[off:], uint64(len(member)))
	off += copy(z.lp[off:], member)
	binary.LittleEndian.PutUint64(z.lp[off:], math.Float64bits(score))
	z.n++
}

func (z *ZSet) lpDelete(off int) {
	_, _, next := zlpEntry(z.lp, off)
	z.lp = splice(z.lp, off, next, 0)
	z.n--
	if z.n == 0 {
		z.lp = nil
	}
}

// ToSkiplist converts a listpack-encoded set to the skiplist encoding for
// good, as Redis's SORT does to the sorted sets it reads.
func (z *ZSet) ToSkiplist() {
	if z.sl == nil {
		z.convert()
	}
}

func (z *ZSet) convert() {
	sl := newSkiplist(z.n)
	for off := 0; off < len(z.lp); {
		m, s, next := zlpEntry(z.lp, off)
		sl.insert(m, s)
		off = next
	}
	z.sl, z.lp, z.n = sl, nil, 0
}

// Add implements ZADD/ZINCRBY for one member, as zsetAdd. It returns what
// was done and the member's score afterwards (its current score, or 0 if
// absent, when the result is ZNop). An INCR that yields NaN (+inf plus
// -inf) returns ErrScoreNaN and changes nothing; so does a NaN score.
func (z *ZSet) Add(member []byte, score float64, flags ZAddFlags) (ZAddResult, float64, error) {
	if math.IsNaN(score) {
		return ZNop, 0, ErrScoreNaN
	}
	var cur float64
	var exists bool
	var off, e int
	if z.sl != nil {
		if e = z.sl.d.Find(member); e >= 0 {
			cur, exists = z.sl.d.Value(e).score, true
		}
	} else {
		off, cur, exists = z.lpFind(member)
	}
	if exists {
		if flags&ZAddNX != 0 {
			return ZNop, cur, nil
		}
		if flags&ZAddIncr != 0 {
			score += cur
			if math.IsNaN(score) {
				return ZNop, cur, ErrScoreNaN
			}
		}
		if (flags&ZAddLT != 0 && score >= cur) || (flags&ZAddGT != 0 && score <= cur) {
			return ZNop, cur, nil
		}
		if score == cur {
			return ZUnchanged, score, nil
		}
		if z.sl != nil {
			z.sl.update(e, score)
		} else {
			z.lpDelete(off)
			z.lpInsert(member, score)
		}
		return ZUpdated, score, nil
	}
	if flags&ZAddXX != 0 {
		return ZNop, 0, nil
	}
	if z.sl == nil && (z.n+1 > z.maxEntries || len(member) > z.maxValue) {
		z.convert()
	}
	if z.sl != nil {
		z.sl.insert(member, score)
	} else {
		z.lpInsert(member, score)
	}
	return ZAdded, score, nil
}

// Remove deletes member and reports whether it was present.
func (z *ZSet) Remove(member []byte) bool {
	if z.sl != nil {
		e := z.sl.d.Find(member)
		if e < 0 {
			return false
		}
		z.sl.remove(e)
		return true
	}
	off, _, ok := z.lpFind(member)
	if ok {
		z.lpDelete(off)
	}
	return ok
}

// Score returns member's score.
func (z *ZSet) Score(member []byte) (float64, bool) {
	if z.sl != nil {
		if e := z.sl.d.Find(member); e >= 0 {
			return z.sl.d.Value(e).score, true
		}
		return 0, false
	}
	_, s, ok := z.lpFind(member)
	return s, ok
}

// Rank returns member's 0-based rank, counted from the highest score when
// reverse (ZRANK, ZREVRANK).
func (z *ZSet) Rank(member []byte, reverse bool) (int, bool) {
	r := -1
	if z.sl != nil {
		if e := z.sl.d.Find(member); e >= 0 {
			r = z.sl.rank(uint32(e)+1) - 1
		}
	} else {
		i := 0
		for off := 0; off < len(z.lp); i++ {
			m, _, next := zlpEntry(z.lp, off)
			if bytes.Equal(m, member) {
				r = i
				break
			}
			off = next
		}
	}
	if r < 0 {
		return 0, false
	}
	if reverse {
		r = z.Card() - 1 - r
	}
	return r, true
}

// firstIn returns the 0-based rank of the first member that is not
// before the range and is within it, or -1. below reports "before the
// range's start", inMax "not after its end".
func (z *ZSet) firstIn(below, inMax func(m []byte, s float64) bool, lex bool) int {
	if z.sl != nil {
		sl := z.sl
		id, rank := sl.seekFirst(func(x uint32, s float64) bool { return below(sl.memberIf(lex, x), s) })
		if id == 0 || !inMax(sl.member(id), sl.node(id).score) {
			return -1
		}
		return rank - 1
	}
	if !z.lpMayHold(below, inMax) {
		return -1
	}
	i := 0
	for off := 0; off < len(z.lp); i++ {
		m, s, next := zlpEntry(z.lp, off)
		if !below(m, s) {
			if inMax(m, s) {
				return i
			}
			return -1
		}
		off = next
	}
	return -1
}

// lpMayHold is Redis's zzlIsInRange/zzlIsInLexRange precheck: the last
// member must not be before the range nor the first after it. With equal
// scores (the only case where lex ranges are meaningful) the walks below
// imply it; with mixed scores it decides the answer, and Ferry gives the
// same one as Redis does for a listpack.
func (z *ZSet) lpMayHold(below, inMax func(m []byte, s float64) bool) bool {
	if len(z.lp) == 0 {
		return false
	}
	m, s, _ := zlpEntry(z.lp, 0)
	if !inMax(m, s) {
		return false
	}
	var lm []byte
	var ls float64
	for off := 0; off < len(z.lp); {
		lm, ls, off = zlpEntry(z.lp, off)
	}
	return !below(lm, ls)
}

// lastIn returns the 0-based rank of the last member not after the range
// that is also not before it, or -1.
func (z *ZSet) lastIn(below, inMax func(m []byte, s float64) bool, lex bool) int {
	if z.sl != nil {
		sl := z.sl
		id, rank := sl.seekLast(func(x uint32, s float64) bool { return inMax(sl.memberIf(lex, x), s) })
		if id == 0 || below(sl.member(id), sl.node(id).score) {
			return -1
		}
		return rank - 1
	}
	// Redis walks back from the tail to the first member not after the
	// range; walking forward, that is the last such member.
	if !z.lpMayHold(below, inMax) {
		return -1
	}
	last, i := -1, 0
	var lm []byte
	var ls float64
	for off := 0; off < len(z.lp); i++ {
		m, s, next := zlpEntry(z.lp, off)
		if inMax(m, s) {
			last, lm, ls = i, m, s
		}
		off = next
	}
	if last < 0 || below(lm, ls) {
		return -1
	}
	return last
}

func scoreFns(r ScoreRange) (below, inMax func([]byte, float64) bool) {
	return func(_ []byte, s float64) bool { return !r.gteMin(s) },
		func(_ []byte, s float64) bool { return r.lteMax(s) }
}

// scoreRange and lexRange are scoreFns and lexFns for rankSpan, which
// also needs to know whether the tests read members (a skiplist walk loads
// a member only for lex ranges; scores are in its links).
func scoreRange(r ScoreRange) (below, inMax func([]byte, float64) bool, lex bool) {
	below, inMax = scoreFns(r)
	return below, inMax, false
}

func lexRange(r LexRange) (below, inMax func([]byte, float64) bool, lex bool) {
	below, inMax = lexFns(r)
	return below, inMax, true
}

func lexFns(r LexRange) (below, inMax func([]byte, float64) bool) {
	return func(m []byte, _ float64) bool { return !r.gteMin(m) },
		func(m []byte, _ float64) bool { return r.lteMax(m) }
}

// rankSpan returns the 0-based rank interval of the members in a range.
func (z *ZSet) rankSpan(below, inMax func([]byte, float64) bool, lex bool) (int, int, bool) {
	f := z.firstIn(below, inMax, lex)
	if f < 0 {
		return 0, 0, false
	}
	if z.sl != nil {
		return f, z.lastIn(below, inMax, lex), true
	}
	// Counting and removal run forward from the first member while members
	// are not after the range, as Redis's listpack code does.
	l := f
	z.iter(f+1, false, func(m []byte, s float64) bool {
		if !inMax(m, s) {
			return false
		}
		l++
		return true
	})
	return f, l, true
}

// iter calls fn for members from 0-based rank r on, ascending or
// descending, until fn returns false or the set ends.
func (z *ZSet) iter(r int, reverse bool, fn func(m []byte, s float64) bool) {
	if r < 0 || r >= z.Card() {
		return
	}
	if z.sl != nil {
		sl := z.sl
		for x := sl.byRank(r + 1); x != 0; {
			n := sl.node(x)
			next := n.l0.fwd
			if reverse {
				next = n.back
			}
			if !fn(sl.member(x), n.score) {
				return
			}
			x = next
		}
		return
	}
	if !reverse {
		off := 0
		for i := 0; off < len(z.lp); i++ {
			m, s, next := zlpEntry(z.lp, off)
			if i >= r && !fn(m, s) {
				return
			}
			off = next
		}
		return
	}
	var stack [ZSetMaxListpackEntries]int32
	offs := stack[:0]
	for off := 0; off < len(z.lp) && len(offs) <= r; {
		offs = append(offs, int32(off))
		_, _, off = zlpEntry(z.lp, off)
	}
	for i := r; i >= 0; i-- {
		m, s, _ := zlpEntry(z.lp, int(offs[i]))
		if !fn(m, s) {
			return
		}
	}
}

// deleteRanks removes the members of 0-based ranks a..b (valid).
func (z *ZSet) deleteRanks(a, b int) {
	if z.sl != nil {
		z.sl.deleteRanks(a, b)
		return
	}
	start, end := -1, len(z.lp)
	off := 0
	for i := 0; off < len(z.lp); i++ {
		if i == a {
			start = off
		}
		_, _, off = zlpEntry(z.lp, off)
		if i == b {
			end = off
			break
		}
	}
	z.lp = splice(z.lp, start, end, 0)
	z.n -= b - a + 1
	if z.n == 0 {
		z.lp = nil
	}
}

// Count returns the number of members with scores in r (ZCOUNT).
func (z *ZSet) Count(r ScoreRange) int {
	if r.Empty() {
		return 0
	}
	a, b, ok := z.rankSpan(scoreRange(r))
	if !ok {
		return 0
	}
	return b - a + 1
}

// LexCount returns the number of members in r (ZLEXCOUNT); meaningful
// when all scores are equal, as in Redis.
func (z *ZSet) LexCount(r LexRange) int {
	if r.Empty() {
		return 0
	}
	a, b, ok := z.rankSpan(lexRange(r))
	if !ok {
		return 0
	}
	return b - a + 1
}

// RangeByRank calls fn for the members of ranks start..stop (ZRANGE's
// clamping; ranks count from the highest score when reverse) in order,
// until fn returns false.
func (z *ZSet) RangeByRank(start, stop int, reverse bool, fn func(member []byte, score float64) bool) {
	start, stop, ok := clampRange(start, stop, z.Card())
	if !ok {
		return
	}
	left := stop - start + 1
	r := start
	if reverse {
		r = z.Card() - 1 - start
	}
	z.iter(r, reverse, func(m []byte, s float64) bool {
		left--
		return fn(m, s) && left > 0
	})
}

// RangeByScore calls fn for the members with scores in r, ascending (or
// descending when reverse, as ZREVRANGEBYSCORE), skipping offset of them
// and stopping after count (count < 0: no limit; offset < 0: nothing), as
// ZRANGEBYSCORE's LIMIT.
func (z *ZSet) RangeByScore(r ScoreRange, reverse bool, offset, count int, fn func(member []byte, score float64) bool) {
	if r.Empty() {
		return
	}
	below, inMax := scoreFns(r)
	z.rangeBy(below, inMax, false, reverse, offset, count, fn)
}

// RangeByLex is RangeByScore for a lex range (ZRANGEBYLEX); meaningful
// when all scores are equal.
func (z *ZSet) RangeByLex(r LexRange, reverse bool, offset, count int, fn func(member []byte, score float64) bool) {
	if r.Empty() {
		return
	}
	below, inMax := lexFns(r)
	z.rangeBy(below, inMax, true, reverse, offset, count, fn)
}

// LexRangeLen returns how many members RangeByLex with the same arguments
// visits. Lex ranges over mixed scores are not monotonic, so it walks the
// range (bounded by offset+count) rather than subtracting ranks: the count
// always equals what the walk returns.
func (z *ZSet) LexRangeLen(r LexRange, reverse bool, offset, count int) int {
	n := 0
	z.RangeByLex(r, reverse, offset, count, func([]byte, float64) bool { n++; return true })
	return n
}

func (z *ZSet) rangeBy(below, inMax func([]byte, float64) bool, lex, reverse bool, offset, count int, fn func([]byte, float64) bool) {
	if offset < 0 || count == 0 {
		return
	}
	var r int
	if reverse {
		if r = z.lastIn(below, inMax, lex); r < 0 {
			return
		}
		r -= offset
	} else {
		if r = z.firstIn(below, inMax, lex); r < 0 {
			return
		}
		r += offset
	}
	z.iter(r, reverse, func(m []byte, s float64) bool {
		if reverse && below(m, s) || !reverse && !inMax(m, s) {
			return false
		}
		if !fn(m, s) {
			return false
		}
		count--
		return count != 0
	})
}

// RemoveRangeByRank removes the members of ranks start..stop (ZRANGE's
// clamping) and returns how many (ZREMRANGEBYRANK).
func (z *ZSet) RemoveRangeByRank(start, stop int) int {
	start, stop, ok := clampRange(start, stop, z.Card())
	if !ok {
		return 0
	}
	z.deleteRanks(start, stop)
	return stop - start + 1
}

// RemoveRangeByScore removes the members with scores in r and returns how
// many (ZREMRANGEBYSCORE).
func (z *ZSet) RemoveRangeByScore(r ScoreRange) int {
	if r.Empty() {
		return 0
	}
	a, b, ok := z.rankSpan(scoreRange(r))
	if !ok {
		return 0
	}
	z.deleteRanks(a, b)
	return b - a + 1
}

// RemoveRangeByLex removes the members in r and returns how many
// (ZREMRANGEBYLEX).
func (z *ZSet) RemoveRangeByLex(r LexRange) int {
	if r.Empty() {
		return 0
	}
	a, b, ok := z.rankSpan(lexRange(r))
	if !ok {
		return 0
	}
	z.deleteRanks(a, b)
	return b - a + 1
}

// PopMin removes up to count members with the lowest scores, calling fn
// with each (lowest first, valid only during the call) before removal,
// and returns how many (ZPOPMIN).
func (z *ZSet) PopMin(count int, fn func(member []byte, score float64)) int {
	k := min(count, z.Card())
	if k <= 0 {
		return 0
	}
	if fn != nil {
		z.RangeByRank(0, k-1, false, func(m []byte, s float64) bool { fn(m, s); return true })
	}
	z.deleteRanks(0, k-1)
	return k
}

// PopMax removes up to count members with the highest scores, calling fn
// with each (highest first) before removal, and returns how many
// (ZPOPMAX).
func (z *ZSet) PopMax(count int, fn func(member []byte, score float64)) int {
	n := z.Card()
	k := min(count, n)
	if k <= 0 {
		return 0
	}
	if fn != nil {
		z.RangeByRank(0, k-1, true, func(m []byte, s float64) bool { fn(m, s); return true })
	}
	z.deleteRanks(n-k, n-1)
	return k
}

// Iter calls fn for every member in order (descending when reverse) until
// fn returns false. fn must not modify z.
func (z *ZSet) Iter(reverse bool, fn func(member []byte, score float64) bool) {
	z.RangeByRank(0, -1, reverse, fn)
}

// Random calls fn for random members with ZRANDMEMBER's count semantics:
// a positive count gives min(count, Card) distinct members, a negative
// count |count| members that may repeat.
func (z *ZSet) Random(count int, fn func(member []byte, score float64)) {
	if z.sl != nil {
		d := z.sl.d
		randomDict(d, count, func(e int) { fn(d.Key(e), d.Value(e).score) })
		return
	}
	var stack [ZSetMaxListpackEntries]int32
	offs := stack[:0]
	for off := 0; off < len(z.lp); {
		offs = append(offs, int32(off))
		_, _, off = zlpEntry(z.lp, off)
	}
	randomCount(len(offs), count, func(i int) {
		m, s, _ := zlpEntry(z.lp, int(offs[i]))
		fn(m, s)
	})
}

// Scan calls fn for the members of one ZSCAN step and returns the next
// cursor (0 when done). A listpack is returned whole in one step, as Redis
// does. fn must not modify z.
func (z *ZSet) Scan(cursor uint64, fn func(member []byte, score float64)) uint64 {
	if z.sl != nil {
		d := z.sl.d
		return d.Scan(cursor, func(e int) { fn(d.Key(e), d.Value(e).score) })
	}
	z.Iter(false, func(m []byte, s float64) bool { fn(m, s); return true })
	return 0
}
