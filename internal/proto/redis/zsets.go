package redis

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strconv"

	"ferry/internal/glob"
	"ferry/internal/keyspace"
	"ferry/internal/keyspace/ds"
	"ferry/internal/proto/resp"
)

// Sorted set commands (Redis "sorted-set" group), blocking pops included,
// as Redis 7.0's t_zset.c behaves: arguments are checked in its order (so
// the same bad command gets the same error), ranges are served from the
// ds.ZSet skiplist in O(log n) plus the range, and sets are accepted as
// ZUNION/ZINTER/ZDIFF inputs with score 1.

var _ = registerCommands(
	cmd("zadd", func(c *Conn, a [][]byte) { c.zadd(a) }),
	cmd("zincrby", func(c *Conn, a [][]byte) { c.zadd(a) }),
	cmd("zrem", cmdZRem),
	cmd("zcard", cmdZCard),
	cmd("zcount", cmdZCount),
	cmd("zlexcount", cmdZLexCount),
	cmd("zscore", cmdZScore),
	cmd("zmscore", cmdZMScore),
	cmd("zrank", func(c *Conn, a [][]byte) { c.zrank(a, false) }),
	cmd("zrevrank", func(c *Conn, a [][]byte) { c.zrank(a, true) }),
	cmd("zrange", func(c *Conn, a [][]byte) { c.zrange(a, 1, false, zrAuto, zdirAuto) }),
	cmd("zrangestore", func(c *Conn, a [][]byte) { c.zrange(a, 2, true, zrAuto, zdirAuto) }),
	cmd("zrevrange", func(c *Conn, a [][]byte) { c.zrange(a, 1, false, zrRank, zdirRev) }),
	cmd("zrangebyscore", func(c *Conn, a [][]byte) { c.zrange(a, 1, false, zrScore, zdirFwd) }),
	cmd("zrevrangebyscore", func(c *Conn, a [][]byte) { c.zrange(a, 1, false, zrScore, zdirRev) }),
	cmd("zrangebylex", func(c *Conn, a [][]byte) { c.zrange(a, 1, false, zrLex, zdirFwd) }),
	cmd("zrevrangebylex", func(c *Conn, a [][]byte) { c.zrange(a, 1, false, zrLex, zdirRev) }),
	cmd("zremrangebyrank", func(c *Conn, a [][]byte) { c.zremrange(a, zrRank) }),
	cmd("zremrangebyscore", func(c *Conn, a [][]byte) { c.zremrange(a, zrScore) }),
	cmd("zremrangebylex", func(c *Conn, a [][]byte) { c.zremrange(a, zrLex) }),
	cmd("zpopmin", func(c *Conn, a [][]byte) { c.zpop(a, false) }),
	cmd("zpopmax", func(c *Conn, a [][]byte) { c.zpop(a, true) }),
	cmd("bzpopmin", func(c *Conn, a [][]byte) { c.bzpop(a, false) }),
	cmd("bzpopmax", func(c *Conn, a [][]byte) { c.bzpop(a, true) }),
	&Command{Name: "zmpop", Run: cmdZMPop, Keys: numKeysAt(1)},
	&Command{Name: "bzmpop", Run: cmdBZMPop, Keys: numKeysAt(2)},
	&Command{Name: "zunion", Run: func(c *Conn, a [][]byte) { c.zsetOp(a, nil, 1, zopUnion, false) }, Keys: numKeysAt(1)},
	&Command{Name: "zinter", Run: func(c *Conn, a [][]byte) { c.zsetOp(a, nil, 1, zopInter, false) }, Keys: numKeysAt(1)},
	&Command{Name: "zdiff", Run: func(c *Conn, a [][]byte) { c.zsetOp(a, nil, 1, zopDiff, false) }, Keys: numKeysAt(1)},
	&Command{Name: "zintercard", Run: func(c *Conn, a [][]byte) { c.zsetOp(a, nil, 1, zopInter, true) }, Keys: numKeysAt(1)},
	&Command{Name: "zunionstore", Run: func(c *Conn, a [][]byte) { c.zsetOp(a, a[1], 2, zopUnion, false) }, Keys: storeKeys},
	&Command{Name: "zinterstore", Run: func(c *Conn, a [][]byte) { c.zsetOp(a, a[1], 2, zopInter, false) }, Keys: storeKeys},
	&Command{Name: "zdiffstore", Run: func(c *Conn, a [][]byte) { c.zsetOp(a, a[1], 2, zopDiff, false) }, Keys: storeKeys},
	cmd("zrandmember", cmdZRandMember),
	cmd("zscan", cmdZScan),
)

// Error replies of the sorted set commands (t_zset.c's wording).
const (
	errZNaN          = "ERR resulting score is not a number (NaN)"
	errZMinMaxFloat  = "ERR min or max is not a float"
	errZMinMaxString = "ERR min or max not valid string range item"
	errZPositive     = "ERR value is out of range, must be positive"
)

// storeKeys finds the keys of "ZUNIONSTORE destination numkeys key ...":
// the destination, then the inputs.
func storeKeys(args [][]byte) [][]byte {
	if len(args) < 2 {
		return nil
	}
	return append([][]byte{args[1]}, numKeysAt(2)(args)...)
}

func (c *Conn) getZSet(t *keyspace.Txn, key []byte, read bool) (*ds.ZSet, *keyspace.Entry, bool) {
	e, ok := c.getColl(t, key, keyspace.TypeZSet, read)
	if !ok || e == nil {
		return nil, nil, ok
	}
	return e.Object().(*ds.ZSet), e, true
}

// --- number parsing, as the C library does it for Redis ---

func isCSpace(b byte) bool { return b == ' ' || (b >= '\t' && b <= '\r') }

// strtod parses b as glibc's strtod must consume all of it: leading white
// space skipped, decimal or hexadecimal (without the 'p' Go wants),
// "inf"/"infinity"/"nan" in any case. erange reports an overflow (±Inf) or
// an underflow to zero, as strtod's ERANGE. An empty b is 0 (strtod stops
// at the terminator at once), but white space alone is not a number.
func strtod(b []byte) (f float64, erange, ok bool) {
	i := 0
	for i < len(b) && isCSpace(b[i]) {
		i++
	}
	s := b[i:]
	if len(s) == 0 {
		return 0, false, len(b) == 0
	}
	if bytes.IndexByte(s, '_') >= 0 {
		return 0, false, false // Go accepts digit separators; strtod does not
	}
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	str := string(s)
	hex := len(body) > 2 && body[0] == '0' && body[1]|0x20 == 'x'
	if hex && bytes.IndexAny(body, "pP") < 0 {
		str += "p0"
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return f, true, true
		}
		return 0, false, false
	}
	if f == 0 && nonZeroMantissa(body, hex) {
		return f, true, true // underflow: Go returns 0 without an error
	}
	return f, false, true
}

// nonZeroMantissa reports whether a number's digits before its exponent
// are not all zero.
func nonZeroMantissa(b []byte, hex bool) bool {
	if hex {
		b = b[2:]
	}
	for _, ch := range b {
		switch {
		case ch >= '1' && ch <= '9':
			return true
		case hex && (ch|0x20 >= 'a' && ch|0x20 <= 'f'):
			return true
		case !hex && (ch == 'e' || ch == 'E'), hex && (ch == 'p' || ch == 'P'):
			return false
		}
	}
	return false
}

// parseDouble parses a float argument as getDoubleFromObject: strtod over
// the whole non-empty argument, no leading space, no NaN, and no overflow
// or underflow to zero.
func parseDouble(b []byte) (float64, bool) {
	if len(b) == 0 || isCSpace(b[0]) {
		return 0, false
	}
	f, erange, ok := strtod(b)
	if !ok || math.IsNaN(f) || (erange && (math.IsInf(f, 0) || f == 0)) {
		return 0, false
	}
	return f, true
}

// parseScoreRange parses ZRANGEBYSCORE's min and max as zslParseRange: an
// optional '(' for an exclusive bound, then strtod (out-of-range values
// saturate; NaN is refused).
func parseScoreRange(lo, hi []byte) (ds.ScoreRange, bool) {
	var r ds.ScoreRange
	var ok bool
	if r.Min, r.MinEx, ok = parseScoreBound(lo); !ok {
		return r, false
	}
	r.Max, r.MaxEx, ok = parseScoreBound(hi)
	return r, ok
}

func parseScoreBound(b []byte) (float64, bool, bool) {
	ex := len(b) > 0 && b[0] == '('
	if ex {
		b = b[1:]
	}
	f, _, ok := strtod(b)
	return f, ex, ok && !math.IsNaN(f)
}

// --- adding ---

// zaddOne adds member as ds.ZSet.Add does, but stores a negative zero as
// zero where Redis's listpack would (it keeps "-0" as the integer 0),
// while still reporting -0 for a new member, as Redis's reply does.
func zaddOne(z *ds.ZSet, member []byte, score float64, flags ds.ZAddFlags, th thresholds) (ds.ZAddResult, float64, error) {
	if score != 0 || !math.Signbit(score) || z.Encoding() != "listpack" {
		return z.Add(member, score, flags)
	}
	if _, exists := z.Score(member); exists {
		if flags&ds.ZAddIncr != 0 {
			return z.Add(member, score, flags) // cur + -0 is cur
		}
		return z.Add(member, 0, flags)
	}
	if z.Card()+1 > th.zsetEntries || len(member) > th.zsetValue {
		return z.Add(member, score, flags) // converts: the skiplist keeps -0
	}
	res, ns, err := z.Add(member, 0, flags)
	if res == ds.ZAdded {
		ns = score
	}
	return res, ns, err
}

// zadd implements ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...
// and ZINCRBY key increment member (zaddGenericCommand with INCR, which
// parses ZADD's options too).
func (c *Conn) zadd(args [][]byte) {
	var flags ds.ZAddFlags
	ch := false
	if equalFold(args[0], "zincrby") {
		flags |= ds.ZAddIncr
	}
	i := 2
options:
	for ; i < len(args); i++ {
		switch a := args[i]; {
		case equalFold(a, "nx"):
			flags |= ds.ZAddNX
		case equalFold(a, "xx"):
			flags |= ds.ZAddXX
		case equalFold(a, "ch"):
			ch = true
		case equalFold(a, "incr"):
			flags |= ds.ZAddIncr
		case equalFold(a, "gt"):
			flags |= ds.ZAddGT
		case equalFold(a, "lt"):
			flags |= ds.ZAddLT
		default:
			break options
		}
	}
	nx, xx, gt, lt := flags&ds.ZAddNX != 0, flags&ds.ZAddXX != 0, flags&ds.ZAddGT != 0, flags&ds.ZAddLT != 0
	incr := flags&ds.ZAddIncr != 0
	pairs := len(args) - i
	if pairs == 0 || pairs%2 != 0 {
		c.out.Error(errSyntax)
		return
	}
	pairs /= 2
	switch {
	case nx && xx:
		c.out.Error("ERR XX and NX options at the same time are not compatible")
		return
	case (gt && nx) || (lt && nx) || (gt && lt):
		c.out.Error("ERR GT, LT, and/or NX options at the same time are not compatible")
		return
	case incr && pairs > 1:
		c.out.Error("ERR INCR option supports a single increment-element pair")
		return
	}
	var one [1]float64
	scores := one[:0]
	if pairs > 1 {
		scores = make([]float64, 0, pairs)
	}
	for j := 0; j < pairs; j++ {
		f, ok := parseDouble(args[i+2*j])
		if !ok {
			c.out.Error(errNotFloat)
			return
		}
		scores = append(scores, f)
	}
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	z, e, ok := c.getZSet(t, key, false)
	if !ok {
		return
	}
	created := false
	var added, updated, processed int
	var score float64
	if z == nil && !xx {
		z = c.srv.newZSet()
		e = c.createColl(t, key, keyspace.TypeZSet, z)
		created = true
	}
	var failed bool
	if z != nil {
		th := c.srv.thresholds()
		for j, s := range scores {
			res, ns, err := zaddOne(z, args[i+2*j+1], s, flags, th)
			if err != nil {
				failed = true
				break
			}
			switch res {
			case ds.ZAdded:
				added++
			case ds.ZUpdated:
				updated++
			}
			if res != ds.ZNop {
				processed++
			}
			score = ns
		}
	}
	switch {
	case failed:
		c.out.Error(errZNaN)
	case incr && processed > 0:
		c.out.Double(score)
	case incr:
		c.out.Null()
	case ch:
		c.out.Int(int64(added + updated))
	default:
		c.out.Int(int64(added))
	}
	if added+updated > 0 {
		if incr {
			c.notify(notifyZSet, "zincr", key)
		} else {
			c.notify(notifyZSet, "zadd", key)
		}
	}
	if added+updated > 0 || created {
		c.changed(t, e)
	}
}

func cmdZRem(c *Conn, args [][]byte) {
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	z, e, ok := c.getZSet(t, key, false)
	if !ok {
		return
	}
	n := 0
	if z != nil {
		for _, m := range args[2:] {
			if z.Remove(m) {
				n++
				if z.Card() == 0 {
					break
				}
			}
		}
		if n > 0 {
			c.notify(notifyZSet, "zrem", key)
			c.changed(t, e)
		}
	}
	c.out.Int(int64(n))
}

// --- reading ---

func cmdZCard(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	z, _, ok := c.getZSet(t, args[1], true)
	if !ok {
		return
	}
	if z == nil {
		c.out.Int(0)
		return
	}
	c.out.Int(int64(z.Card()))
}

func cmdZCount(c *Conn, args [][]byte) {
	r, ok := parseScoreRange(args[2], args[3])
	if !ok {
		c.out.Error(errZMinMaxFloat)
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	z, _, ok := c.getZSet(t, args[1], true)
	if !ok {
		return
	}
	if z == nil {
		c.out.Int(0)
		return
	}
	c.out.Int(int64(z.Count(r)))
}

func cmdZLexCount(c *Conn, args [][]byte) {
	r, err := ds.ParseLexRange(args[2], args[3])
	if err != nil {
		c.out.Error(errZMinMaxString)
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	z, _, ok := c.getZSet(t, args[1], true)
	if !ok {
		return
	}
	if z == nil {
		c.out.Int(0)
		return
	}
	c.out.Int(int64(z.LexCount(r)))
}

func cmdZScore(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	z, _, ok := c.getZSet(t, args[1], true)
	if !ok {
		return
	}
	if z != nil {
		if s, found := z.Score(args[2]); found {
			c.out.Double(s)
			return
		}
	}
	c.out.Null()
}

func cmdZMScore(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	z, _, ok := c.getZSet(t, args[1], true)
	if !ok {
		return
	}
	c.out.Array(len(args) - 2)
	for _, m := range args[2:] {
		if z != nil {
			if s, found := z.Score(m); found {
				c.out.Double(s)
				continue
			}
		}
		c.out.Null()
	}
}

// zrank implements ZRANK and ZREVRANK (Redis 7.0: no WITHSCORE).
func (c *Conn) zrank(args [][]byte, reverse bool) {
	t := c.lock(args[1])
	defer c.unlock(t)
	z, _, ok := c.getZSet(t, args[1], true)
	if !ok {
		return
	}
	if z != nil {
		if r, found := z.Rank(args[2], reverse); found {
			c.out.Int(int64(r))
			return
		}
	}
	c.out.Null()
}

// zrangeKind is how a range is given (zrange_type).
type zrangeKind uint8

const (
	zrAuto zrangeKind = iota
	zrRank
	zrScore
	zrLex
)

// zrangeDir is a range's direction (zrange_direction).
type zrangeDir uint8

const (
	zdirAuto zrangeDir = iota
	zdirFwd
	zdirRev
)

// zrange implements ZRANGE and ZRANGESTORE (kind and dir auto: set by
// BYSCORE, BYLEX, REV) and the older Z[REV]RANGE[BYSCORE|BYLEX] forms, as
// zrangeGenericCommand: args[src] is the source key, then min and max,
// then the options.
func (c *Conn) zrange(args [][]byte, src int, store bool, kind zrangeKind, dir zrangeDir) {
	minIdx, maxIdx := src+1, src+2
	withScores := false
	offset, limit := int64(0), int64(-1)
	for j := src + 3; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case !store && equalFold(a, "withscores"):
			withScores = true
		case equalFold(a, "limit") && left >= 2:
			var ok bool
			if offset, ok = c.intArg(args[j+1]); !ok {
				return
			}
			if limit, ok = c.intArg(args[j+2]); !ok {
				return
			}
			j += 2
		case dir == zdirAuto && equalFold(a, "rev"):
			dir = zdirRev
		case kind == zrAuto && equalFold(a, "bylex"):
			kind = zrLex
		case kind == zrAuto && equalFold(a, "byscore"):
			kind = zrScore
		default:
			c.out.Error(errSyntax)
			return
		}
	}
	if kind == zrAuto {
		kind = zrRank
	}
	reverse := dir == zdirRev
	// Redis tests the LIMIT count, not its presence: LIMIT x -1 passes.
	if limit != -1 && kind == zrRank {
		c.out.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return
	}
	if withScores && kind == zrLex {
		c.out.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return
	}
	if reverse && kind != zrRank {
		minIdx, maxIdx = maxIdx, minIdx // given as max, min
	}
	var start, stop int64
	var sr ds.ScoreRange
	var lr ds.LexRange
	switch kind {
	case zrRank:
		var ok bool
		if start, ok = c.intArg(args[minIdx]); !ok {
			return
		}
		if stop, ok = c.intArg(args[maxIdx]); !ok {
			return
		}
	case zrScore:
		var ok bool
		if sr, ok = parseScoreRange(args[minIdx], args[maxIdx]); !ok {
			c.out.Error(errZMinMaxFloat)
			return
		}
	case zrLex:
		var err error
		if lr, err = ds.ParseLexRange(args[minIdx], args[maxIdx]); err != nil {
			c.out.Error(errZMinMaxString)
			return
		}
	}

	key := args[src]
	var t *keyspace.Txn
	if store {
		t = c.lockKeys(args[1:3])
	} else {
		t = c.lock(key)
	}
	defer c.unlock(t)
	z, _, ok := c.getZSet(t, key, true)
	if !ok {
		return
	}

	// The members in range: count them first (O(log n) on the skiplist),
	// so that the reply's length is known before its elements.
	var n int
	if z != nil {
		switch kind {
		case zrRank:
			_, _, n = listRange(start, stop, int64(z.Card()))
		case zrScore:
			n = limitCount(z.Count(sr), offset, limit)
		case zrLex:
			n = z.LexRangeLen(lr, reverse, int(min(offset, math.MaxInt)), int(limit))
		}
	}
	rangeOf := func(fn func(m []byte, s float64) bool) {
		switch kind {
		case zrRank:
			z.RangeByRank(int(start), int(stop), reverse, fn)
		case zrScore:
			z.RangeByScore(sr, reverse, int(min(offset, math.MaxInt)), int(limit), fn)
		case zrLex:
			z.RangeByLex(lr, reverse, int(min(offset, math.MaxInt)), int(limit), fn)
		}
	}

	if store {
		dst := args[1]
		if n == 0 {
			c.storeEmpty(t, dst)
			return
		}
		out := c.srv.newZSet()
		th := c.srv.thresholds()
		rangeOf(func(m []byte, s float64) bool {
			zaddOne(out, m, s, 0, th)
			return true
		})
		c.createColl(t, dst, keyspace.TypeZSet, out)
		c.notify(notifyZSet, "zrangestore", dst)
		c.out.Int(int64(out.Card()))
		return
	}
	c.zreplyHeader(n, withScores)
	if n > 0 {
		left := n
		rangeOf(func(m []byte, s float64) bool {
			c.zreplyItem(m, s, withScores)
			left--
			return left > 0
		})
	}
}

// limitCount applies LIMIT offset count to the size of a range: a
// negative offset selects nothing, a negative count everything left.
func limitCount(total int, offset, limit int64) int {
	if offset < 0 || int64(total) <= offset {
		return 0
	}
	n := int64(total) - offset
	if limit >= 0 && n > limit {
		n = limit
	}
	return int(n)
}

// zreplyHeader starts a reply of n members, with their scores if
// withScores: RESP2 a flat array, RESP3 an array of [member, score] pairs.
func (c *Conn) zreplyHeader(n int, withScores bool) {
	if withScores && !c.out.Resp3() {
		c.out.Array(2 * n)
	} else {
		c.out.Array(n)
	}
}

func (c *Conn) zreplyItem(m []byte, s float64, withScores bool) {
	if withScores && c.out.Resp3() {
		c.out.Array(2)
	}
	c.out.Bulk(m)
	if withScores {
		c.out.Double(s)
	}
}

// storeEmpty finishes a *STORE command whose result is empty: the
// destination is deleted, as Redis does, and the reply is 0.
func (c *Conn) storeEmpty(t *keyspace.Txn, dst []byte) {
	if t.Delete(dst) {
		c.notify(notifyGeneric, "del", dst)
	}
	c.out.Int(0)
}

// zremrange implements ZREMRANGEBYRANK, ZREMRANGEBYSCORE and
// ZREMRANGEBYLEX.
func (c *Conn) zremrange(args [][]byte, kind zrangeKind) {
	var start, stop int64
	var sr ds.ScoreRange
	var lr ds.LexRange
	switch kind {
	case zrRank:
		var ok bool
		if start, ok = c.intArg(args[2]); !ok {
			return
		}
		if stop, ok = c.intArg(args[3]); !ok {
			return
		}
	case zrScore:
		var ok bool
		if sr, ok = parseScoreRange(args[2], args[3]); !ok {
			c.out.Error(errZMinMaxFloat)
			return
		}
	case zrLex:
		var err error
		if lr, err = ds.ParseLexRange(args[2], args[3]); err != nil {
			c.out.Error(errZMinMaxString)
			return
		}
	}
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	z, e, ok := c.getZSet(t, key, false)
	if !ok {
		return
	}
	if z == nil {
		c.out.Int(0)
		return
	}
	var n int
	var event string
	switch kind {
	case zrRank:
		s, e, cnt := listRange(start, stop, int64(z.Card()))
		if cnt > 0 {
			n = z.RemoveRangeByRank(int(s), int(e))
		}
		event = "zremrangebyrank"
	case zrScore:
		n, event = z.RemoveRangeByScore(sr), "zremrangebyscore"
	case zrLex:
		n, event = z.RemoveRangeByLex(lr), "zremrangebylex"
	}
	if n > 0 {
		c.notify(notifyZSet, event, key)
		c.changed(t, e)
	}
	c.out.Int(int64(n))
}

// --- popping ---

// zpop implements ZPOPMIN and ZPOPMAX key [count].
func (c *Conn) zpop(args [][]byte, high bool) {
	if len(args) > 3 {
		c.out.Error(errSyntax)
		return
	}
	count := int64(-1)
	if len(args) == 3 {
		n, ok := parseInt(args[2])
		if !ok || n < 0 {
			c.out.Error(errZPositive)
			return
		}
		count = n
	}
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	z, e, ok := c.getZSet(t, key, false)
	if !ok {
		return
	}
	if z == nil || count == 0 {
		c.out.Array(0)
		return
	}
	nested := c.out.Resp3() && count != -1
	k := int(min(max(count, 1), int64(z.Card())))
	if nested {
		c.out.Array(k)
	} else {
		c.out.Array(2 * k)
	}
	c.zpopFrom(t, e, z, high, k, nested)
}

// zpopFrom pops k members of z (entry e) from its low or high end,
// replying with each member and score (as a [member, score] array if
// nested), then notifies and cleans up.
func (c *Conn) zpopFrom(t *keyspace.Txn, e *keyspace.Entry, z *ds.ZSet, high bool, k int, nested bool) {
	key := append([]byte(nil), e.Key()...)
	emit := func(m []byte, s float64) {
		if nested {
			c.out.Array(2)
		}
		c.out.Bulk(m)
		c.out.Double(s)
	}
	if high {
		z.PopMax(k, emit)
		c.notify(notifyZSet, "zpopmax", key)
	} else {
		z.PopMin(k, emit)
		c.notify(notifyZSet, "zpopmin", key)
	}
	c.changed(t, e)
}

// parseMinMax reads ZMPOP's MIN or MAX (reporting MAX as true).
func parseMinMax(b []byte) (high bool, ok bool) {
	switch {
	case equalFold(b, "min"):
		return false, true
	case equalFold(b, "max"):
		return true, true
	}
	return false, false
}

// zmpopTry serves [B]ZMPOP and BZPOP{MIN,MAX} (mpop false: [key, member,
// score]) from the first non-empty sorted set of keys. On the first try a
// key of another type is an error; when retrying after a wake-up it is
// skipped, leaving the client blocked, as Redis 7.0 only serves a blocked
// client from a key of the type it waits for.
func (c *Conn) zmpopTry(keys [][]byte, high bool, count int, mpop bool) func(t *keyspace.Txn) bool {
	first := true
	return func(t *keyspace.Txn) bool {
		initial := first
		first = false
		for _, k := range keys {
			e := t.Peek(k)
			if e == nil {
				continue
			}
			if e.Type() != keyspace.TypeZSet {
				if initial {
					c.out.Error(errWrongType)
					return true
				}
				continue
			}
			z := e.Object().(*ds.ZSet)
			if z.Card() == 0 {
				continue
			}
			z = t.Mutable(e).(*ds.ZSet) // a snapshot being saved keeps the old value
			n := min(count, z.Card())
			if mpop {
				c.out.Array(2)
				c.out.Bulk(k)
				c.out.Array(n)
			} else {
				c.out.Array(2*n + 1)
				c.out.Bulk(k)
			}
			c.zpopFrom(t, e, z, high, n, mpop)
			return true
		}
		return false
	}
}

// bzpop implements BZPOPMIN and BZPOPMAX key [key ...] timeout.
func (c *Conn) bzpop(args [][]byte, high bool) {
	timeout, ok := c.parseTimeout(args[len(args)-1])
	if !ok {
		return
	}
	keys := args[1 : len(args)-1]
	if !c.block(keys, timeout, c.zmpopTry(keys, high, 1, false)) {
		c.out.NullArray()
	}
}

// cmdZMPop implements ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]:
// the first existing key is popped (or is a WRONGTYPE error).
func cmdZMPop(c *Conn, args [][]byte) {
	keys, high, count, ok := c.parseMPop(args, 1, parseMinMax)
	if !ok {
		return
	}
	t := c.lockKeys(keys)
	defer c.unlock(t)
	for _, k := range keys {
		z, e, ok := c.getZSet(t, k, false)
		if !ok {
			return
		}
		if z == nil {
			continue
		}
		n := min(count, z.Card())
		c.out.Array(2)
		c.out.Bulk(k)
		c.out.Array(n)
		c.zpopFrom(t, e, z, high, n, true)
		return
	}
	c.out.NullArray()
}

// cmdBZMPop implements BZMPOP timeout numkeys key [key ...] MIN|MAX
// [COUNT count]; the timeout is checked last, as Redis does.
func cmdBZMPop(c *Conn, args [][]byte) {
	keys, high, count, ok := c.parseMPop(args, 2, parseMinMax)
	if !ok {
		return
	}
	timeout, ok := c.parseTimeout(args[1])
	if !ok {
		return
	}
	if !c.block(keys, timeout, c.zmpopTry(keys, high, count, true)) {
		c.out.NullArray()
	}
}

// --- ZUNION, ZINTER, ZDIFF and their STORE and CARD forms ---

type zsetOpKind uint8

const (
	zopUnion zsetOpKind = iota
	zopInter
	zopDiff
)

type zaggregate uint8

const (
	aggSum zaggregate = iota
	aggMin
	aggMax
)

// zopSrc is one input of a set operation: a sorted set, or a set whose
// members score 1, or nothing (a missing key).
type zopSrc struct {
	z      *ds.ZSet
	s      *ds.Set
	weight float64
}

func (s *zopSrc) card() int {
	switch {
	case s.z != nil:
		return s.z.Card()
	case s.s != nil:
		return s.s.Len()
	}
	return 0
}

func (s *zopSrc) each(fn func(m []byte, score float64) bool) {
	switch {
	case s.z != nil:
		s.z.Iter(false, fn)
	case s.s != nil:
		s.s.Each(func(m []byte) bool { return fn(m, 1) })
	}
}

func (s *zopSrc) find(m []byte) (float64, bool) {
	switch {
	case s.z != nil:
		return s.z.Score(m)
	case s.s != nil && s.s.IsMember(m):
		return 1, true
	}
	return 0, false
}

func (s *zopSrc) same(o *zopSrc) bool {
	return (s.z != nil && s.z == o.z) || (s.s != nil && s.s == o.s)
}

// aggregate folds val into *target as zunionInterAggregate (a sum that
// is NaN, +inf plus -inf, counts as 0).
func aggregate(target *float64, val float64, agg zaggregate) {
	switch agg {
	case aggSum:
		*target += val
		if math.IsNaN(*target) {
			*target = 0
		}
	case aggMin:
		if val < *target {
			*target = val
		}
	case aggMax:
		if val > *target {
			*target = val
		}
	}
}

// zitems is a set operation's result: members (copied into one buffer)
// with their scores.
type zitems struct {
	buf   []byte
	items []zitem
}

type zitem struct {
	off, len int
	score    float64
}

func (r *zitems) add(m []byte, score float64) int {
	r.items = append(r.items, zitem{off: len(r.buf), len: len(m), score: score})
	r.buf = append(r.buf, m...)
	return len(r.items) - 1
}

func (r *zitems) member(i int) []byte {
	it := r.items[i]
	return r.buf[it.off : it.off+it.len : it.off+it.len]
}

// sort orders the result as a sorted set: by score, then member bytes.
func (r *zitems) sort() {
	slices.SortFunc(r.items, func(a, b zitem) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return bytes.Compare(r.buf[a.off:a.off+a.len], r.buf[b.off:b.off+b.len])
	})
}

// zsetOp implements zunionInterDiffGenericCommand: ZUNION, ZINTER, ZDIFF
// (dst nil), their STORE forms (dst set) and ZINTERCARD (cardOnly).
// args[numIdx] is numkeys.
func (c *Conn) zsetOp(args [][]byte, dst []byte, numIdx int, op zsetOpKind, cardOnly bool) {
	setnum, ok := c.intArg(args[numIdx])
	if !ok {
		return
	}
	if setnum < 1 {
		c.out.Error("ERR at least 1 input key is needed for '" + lowerName(string(args[0])) + "' command")
		return
	}
	if setnum > int64(len(args)-numIdx-1) {
		c.out.Error(errSyntax)
		return
	}
	keys := args[numIdx+1 : numIdx+1+int(setnum)]
	var t *keyspace.Txn
	if dst != nil {
		t = c.lockKeys(append([][]byte{dst}, keys...))
	} else {
		t = c.lockKeys(keys)
	}
	defer c.unlock(t)

	// The inputs are looked up (and type-checked) before the options are
	// parsed, as in Redis.
	srcs := make([]zopSrc, len(keys))
	for i, k := range keys {
		srcs[i].weight = 1
		e := t.Lookup(k)
		if e == nil {
			continue
		}
		switch e.Type() {
		case keyspace.TypeZSet:
			srcs[i].z = e.Object().(*ds.ZSet)
		case keyspace.TypeSet:
			srcs[i].s = e.Object().(*ds.Set)
		default:
			c.out.Error(errWrongType)
			return
		}
	}
	agg, withScores := aggSum, false
	var limit int64
	for j := numIdx + 1 + len(keys); j < len(args); {
		remaining := len(args) - j
		a := args[j]
		switch {
		case op != zopDiff && !cardOnly && remaining >= len(srcs)+1 && equalFold(a, "weights"):
			j++
			for i := range srcs {
				w, ok := parseDouble(args[j])
				if !ok {
					c.out.Error("ERR weight value is not a float")
					return
				}
				srcs[i].weight = w
				j++
			}
		case op != zopDiff && !cardOnly && remaining >= 2 && equalFold(a, "aggregate"):
			switch v := args[j+1]; {
			case equalFold(v, "sum"):
				agg = aggSum
			case equalFold(v, "min"):
				agg = aggMin
			case equalFold(v, "max"):
				agg = aggMax
			default:
				c.out.Error(errSyntax)
				return
			}
			j += 2
		case dst == nil && !cardOnly && equalFold(a, "withscores"):
			withScores = true
			j++
		case cardOnly && remaining >= 2 && equalFold(a, "limit"):
			n, ok := parseInt(args[j+1])
			if !ok || n < 0 {
				c.out.Error("ERR LIMIT can't be negative")
				return
			}
			limit = n
			j += 2
		default:
			c.out.Error(errSyntax)
			return
		}
	}
	if op != zopDiff {
		// Smallest input first, as Redis: fewer lookups for ZINTER.
		slices.SortStableFunc(srcs, func(a, b zopSrc) int { return a.card() - b.card() })
	}

	var res zitems
	cardinality := int64(0)
	switch op {
	case zopInter:
		if srcs[0].card() == 0 {
			break
		}
		srcs[0].each(func(m []byte, s float64) bool {
			score := srcs[0].weight * s
			if math.IsNaN(score) {
				score = 0
			}
			for j := 1; j < len(srcs); j++ {
				var v float64
				if srcs[j].same(&srcs[0]) {
					v = s
				} else if fv, found := srcs[j].find(m); found {
					v = fv
				} else {
					return true
				}
				aggregate(&score, v*srcs[j].weight, agg)
			}
			if cardOnly {
				cardinality++
				return limit == 0 || cardinality < limit
			}
			res.add(m, score)
			return true
		})
	case zopUnion:
		index := map[string]int{}
		for i := range srcs {
			src := &srcs[i]
			src.each(func(m []byte, s float64) bool {
				score := src.weight * s
				if math.IsNaN(score) {
					score = 0
				}
				if at, found := index[string(m)]; found {
					aggregate(&res.items[at].score, score, agg)
				} else {
					index[string(m)] = res.add(m, score)
				}
				return true
			})
		}
	case zopDiff:
		srcs[0].each(func(m []byte, s float64) bool {
			for j := 1; j < len(srcs); j++ {
				if srcs[j].same(&srcs[0]) {
					return false // everything is removed
				}
				if _, found := srcs[j].find(m); found {
					return true
				}
			}
			res.add(m, s)
			return true
		})
		if len(srcs) > 1 && slices.ContainsFunc(srcs[1:], func(s zopSrc) bool { return s.same(&srcs[0]) }) {
			res = zitems{}
		}
	}

	switch {
	case cardOnly:
		c.out.Int(cardinality)
	case dst != nil:
		if len(res.items) == 0 {
			c.storeEmpty(t, dst)
			return
		}
		res.sort()
		// Redis builds the result as a skiplist and converts it to a
		// listpack when small enough: only then does -0 become 0.
		th := c.srv.thresholds()
		small := len(res.items) <= th.zsetEntries
		for _, it := range res.items {
			small = small && it.len <= th.zsetValue
		}
		out := c.srv.newZSet()
		for i, it := range res.items {
			s := it.score
			if small && s == 0 {
				s = 0
			}
			out.Add(res.member(i), s, 0)
		}
		c.createColl(t, dst, keyspace.TypeZSet, out)
		c.out.Int(int64(out.Card()))
		event := "zunionstore"
		switch op {
		case zopInter:
			event = "zinterstore"
		case zopDiff:
			event = "zdiffstore"
		}
		c.notify(notifyZSet, event, dst)
	default:
		res.sort()
		c.zreplyHeader(len(res.items), withScores)
		for i := range res.items {
			c.zreplyItem(res.member(i), res.items[i].score, withScores)
		}
	}
}

// --- random members and scanning ---

// cmdZRandMember implements ZRANDMEMBER key [count [WITHSCORES]].
func cmdZRandMember(c *Conn, args [][]byte) {
	if len(args) == 2 {
		t := c.lock(args[1])
		defer c.unlock(t)
		z, _, ok := c.getZSet(t, args[1], true)
		if !ok {
			return
		}
		if z == nil {
			c.out.Null()
			return
		}
		z.Random(1, func(m []byte, _ float64) { c.out.Bulk(m) })
		return
	}
	l, ok := c.intArg(args[2])
	if !ok {
		return
	}
	if l == math.MinInt64 {
		c.out.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return
	}
	if len(args) > 4 || (len(args) == 4 && !equalFold(args[3], "withscores")) {
		c.out.Error(errSyntax)
		return
	}
	withScores := len(args) == 4
	if withScores && (l < -math.MaxInt64/2 || l > math.MaxInt64/2) {
		c.out.Error("ERR value is out of range")
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	z, _, ok := c.getZSet(t, args[1], true)
	if !ok {
		return
	}
	if z == nil || l == 0 {
		c.out.Array(0)
		return
	}
	n := -l
	if l > 0 {
		n = min(l, int64(z.Card()))
	}
	c.zreplyHeader(int(n), withScores)
	z.Random(int(l), func(m []byte, s float64) { c.zreplyItem(m, s, withScores) })
}

// cmdZScan implements ZSCAN key cursor [MATCH pattern] [COUNT count]. A
// listpack is returned whole with cursor 0, as Redis does; scores are
// formatted as ZSCORE's (RESP2) text.
func cmdZScan(c *Conn, args [][]byte) {
	cursor, ok := c.parseCursor(args[2])
	if !ok {
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	z, _, ok := c.getZSet(t, args[1], true)
	if !ok {
		return
	}
	var items byteStrings
	if z == nil { // options are not even parsed for a missing key
		c.replyScanPage(0, &items)
		return
	}
	o, ok := c.parseScanOptions(args[3:], false)
	if !ok {
		return
	}
	var num [32]byte
	next := scanSteps(cursor, o.count, func(cur uint64) (uint64, int) {
		n := 0
		next := z.Scan(cur, func(m []byte, s float64) {
			n += 2 // Redis counts the reply's entries: member and score
			if o.match == nil || glob.Match(o.match, m) {
				items.add(m)
				items.add(resp.AppendDouble(num[:0], s))
			}
		})
		return next, n
	})
	c.replyScanPage(next, &items)
}
