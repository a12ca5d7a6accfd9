package redis

import (
	"math"
	"math/big"
	"strconv"

	"ferry/internal/glob"
	"ferry/internal/keyspace"
	"ferry/internal/keyspace/ds"
)

// Hash commands (Redis "hash" group, t_hash.c). Values are ds.Hash: a
// listpack that converts to a hashtable past hash-max-listpack-entries
// fields or a field or value longer than hash-max-listpack-value bytes.

var _ = registerCommands(
	cmd("hset", func(c *Conn, a [][]byte) { c.hset(a, "hset") }),
	cmd("hmset", func(c *Conn, a [][]byte) { c.hset(a, "hmset") }),
	cmd("hsetnx", cmdHSetNX),
	cmd("hget", cmdHGet),
	cmd("hmget", cmdHMGet),
	cmd("hdel", cmdHDel),
	cmd("hexists", cmdHExists),
	cmd("hlen", cmdHLen),
	cmd("hstrlen", cmdHStrLen),
	cmd("hkeys", func(c *Conn, a [][]byte) { c.hgetall(a[1], true, false) }),
	cmd("hvals", func(c *Conn, a [][]byte) { c.hgetall(a[1], false, true) }),
	cmd("hgetall", func(c *Conn, a [][]byte) { c.hgetall(a[1], true, true) }),
	cmd("hincrby", cmdHIncrBy),
	cmd("hincrbyfloat", cmdHIncrByFloat),
	cmd("hrandfield", cmdHRandField),
	cmd("hscan", cmdHScan),
)

func (c *Conn) getHash(t *keyspace.Txn, key []byte, read bool) (*ds.Hash, *keyspace.Entry, bool) {
	e, ok := c.getColl(t, key, keyspace.TypeHash, read)
	if !ok || e == nil {
		return nil, nil, ok
	}
	return e.Object().(*ds.Hash), e, true
}

// hashForWrite returns key's hash, creating an empty one when missing
// (hashTypeLookupWriteOrCreate); ok=false after WRONGTYPE.
func (c *Conn) hashForWrite(t *keyspace.Txn, key []byte) (*ds.Hash, *keyspace.Entry, bool) {
	h, e, ok := c.getHash(t, key, false)
	if ok && h == nil {
		h = c.srv.newHash()
		e = c.createColl(t, key, keyspace.TypeHash, h)
	}
	return h, e, ok
}

// hset implements HSET key field value [field value ...] (replies the
// number of new fields) and HMSET (replies OK).
func (c *Conn) hset(args [][]byte, name string) {
	if len(args)%2 != 0 {
		c.out.Error(errArgs(c.srv.table[name]))
		return
	}
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	h, e, ok := c.hashForWrite(t, key)
	if !ok {
		return
	}
	created := 0
	for i := 2; i < len(args); i += 2 {
		if h.Set(args[i], args[i+1]) {
			created++
		}
	}
	c.notify(notifyHash, "hset", key)
	c.changed(t, e)
	if name == "hmset" {
		c.out.OK()
	} else {
		c.out.Int(int64(created))
	}
}

// cmdHSetNX implements HSETNX key field value.
func cmdHSetNX(c *Conn, args [][]byte) {
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	h, e, ok := c.hashForWrite(t, key)
	if !ok {
		return
	}
	if h.Exists(args[2]) {
		c.out.Int(0)
		return
	}
	h.Set(args[2], args[3])
	c.notify(notifyHash, "hset", key)
	c.changed(t, e)
	c.out.Int(1)
}

func cmdHGet(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	h, _, ok := c.getHash(t, args[1], true)
	if !ok {
		return
	}
	if h == nil {
		c.out.Null()
		return
	}
	v, found := h.Get(args[2])
	if !found {
		c.out.Null()
		return
	}
	if len(v) > 4096 {
		c.reserveOut(len(v) + 32)
	}
	c.out.Bulk(v)
}

func cmdHMGet(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	h, _, ok := c.getHash(t, args[1], true)
	if !ok {
		return
	}
	fields := args[2:]
	c.out.Array(len(fields))
	for _, f := range fields {
		var v []byte
		found := false
		if h != nil {
			v, found = h.Get(f)
		}
		if found {
			c.out.Bulk(v)
		} else {
			c.out.Null()
		}
	}
}

func cmdHDel(c *Conn, args [][]byte) {
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	h, e, ok := c.getHash(t, key, false)
	if !ok {
		return
	}
	n := 0
	if h != nil {
		for _, f := range args[2:] {
			if h.Delete(f) {
				n++
			}
		}
	}
	if n > 0 {
		c.notify(notifyHash, "hdel", key)
		c.changed(t, e) // deletes the key, notifying "del", if emptied
	}
	c.out.Int(int64(n))
}

// hashRead runs fn on key's hash (nil when missing) under its lock, for
// read commands; fn is not called after WRONGTYPE.
func (c *Conn) hashRead(key []byte, fn func(h *ds.Hash)) {
	t := c.lock(key)
	h, _, ok := c.getHash(t, key, true)
	if ok {
		fn(h)
	}
	c.unlock(t)
}

func cmdHExists(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	h, _, ok := c.getHash(t, args[1], true)
	if ok {
		if h != nil && h.Exists(args[2]) {
			c.out.Int(1)
		} else {
			c.out.Int(0)
		}
	}
	c.unlock(t)
}

func cmdHLen(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	h, _, ok := c.getHash(t, args[1], true)
	if ok {
		if h == nil {
			c.out.Int(0)
		} else {
			c.out.Int(int64(h.Len()))
		}
	}
	c.unlock(t)
}

func cmdHStrLen(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	h, _, ok := c.getHash(t, args[1], true)
	if ok {
		if h == nil {
			c.out.Int(0)
		} else {
			c.out.Int(int64(h.StrLen(args[2])))
		}
	}
	c.unlock(t)
}

// hgetall implements HKEYS, HVALS and HGETALL (a map in RESP3).
func (c *Conn) hgetall(key []byte, fields, values bool) {
	c.hashRead(key, func(h *ds.Hash) {
		n := 0
		if h != nil {
			n = h.Len()
		}
		if fields && values {
			c.out.Map(n)
		} else {
			c.out.Array(n)
		}
		if h == nil {
			return
		}
		h.Each(func(f, v []byte) bool {
			if fields {
				c.out.Bulk(f)
			}
			if values {
				c.out.Bulk(v)
			}
			return true
		})
	})
}

// cmdHIncrBy implements HINCRBY key field increment.
func cmdHIncrBy(c *Conn, args [][]byte) {
	incr, ok := c.intArg(args[3])
	if !ok {
		return
	}
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	h, e, ok := c.hashForWrite(t, key)
	if !ok {
		return
	}
	var cur int64
	if v, found := h.Get(args[2]); found {
		n, ok := parseInt(v)
		if !ok {
			c.out.Error("ERR hash value is not an integer")
			return
		}
		cur = n
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) || (incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		c.out.Error(errOverflow)
		return
	}
	cur += incr
	var buf [20]byte
	h.Set(args[2], strconv.AppendInt(buf[:0], cur, 10))
	c.notify(notifyHash, "hincrby", key)
	c.changed(t, e)
	c.out.Int(cur)
}

// cmdHIncrByFloat implements HINCRBYFLOAT key field increment in long
// double arithmetic, formatted like INCRBYFLOAT.
func cmdHIncrByFloat(c *Conn, args [][]byte) {
	incr, ok := parseLongDoubleArg(args[3])
	if !ok {
		c.out.Error(errNotFloat)
		return
	}
	if incr.IsInf() {
		c.out.Error("ERR value is NaN or Infinity")
		return
	}
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	h, e, ok := c.hashForWrite(t, key)
	if !ok {
		return
	}
	cur := new(big.Float).SetPrec(longDouble)
	if v, found := h.Get(args[2]); found {
		x, ok := parseLongDoubleArg(v)
		if !ok {
			c.out.Error("ERR hash value is not a float")
			return
		}
		cur = x
	}
	sum := new(big.Float).SetPrec(longDouble).Add(cur, incr)
	if sum.IsInf() || sum.MantExp(nil) > ldMaxExp {
		c.out.Error(errNaN)
		return
	}
	v := []byte(formatLongDouble(sum))
	h.Set(args[2], v)
	c.logAs([]byte("HSET"), key, args[2], v) // replay sets the result, not the float sum
	c.notify(notifyHash, "hincrbyfloat", key)
	c.changed(t, e)
	c.out.Bulk(v)
}

// Exponent bounds of x87 extended precision (long double) in
// big.Float.MantExp terms: finite values are below 2^16384, and values
// under half the smallest subnormal (2^-16445) round to zero.
const (
	ldMaxExp = 16384
	ldMinExp = -16445
)

// parseLongDoubleArg parses b as Redis's string2ld does (strtold): decimal
// or hexadecimal, an optional sign, "inf"/"infinity" in any case; no
// spaces, no trailing bytes, no NaN, and nothing that overflows or
// underflows to zero in long double range. Infinity is returned as ±Inf.
func parseLongDoubleArg(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= 5*1024 {
		return nil, false
	}
	switch b[0] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return nil, false
	}
	s := string(b)
	body := s
	neg := false
	if body[0] == '+' || body[0] == '-' {
		neg = body[0] == '-'
		body = body[1:]
	}
	if equalFold([]byte(body), "inf") || equalFold([]byte(body), "infinity") {
		return new(big.Float).SetInf(neg), true
	}
	base := 10
	if len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') {
		for i := 2; i < len(body); i++ {
			if body[i] == '_' {
				return nil, false
			}
		}
		base = 0 // Go accepts hex mantissas with the prefix only in base 0
	}
	x, _, err := big.ParseFloat(s, base, longDouble, big.ToNearestEven)
	if err != nil || x.IsInf() {
		return nil, false
	}
	if x.Sign() != 0 {
		if e := x.MantExp(nil); e > ldMaxExp || e < ldMinExp {
			return nil, false // strtold's ERANGE to HUGE_VAL or zero
		}
	}
	return x, true
}

// collRandCountArg reads the count of HRANDFIELD and SRANDMEMBER
// (getRangeLongFromObjectOrReply over -LONG_MAX..LONG_MAX).
func (c *Conn) collRandCountArg(b []byte) (int64, bool) {
	n, ok := parseInt(b)
	if !ok {
		c.out.Error(errNotInteger)
		return 0, false
	}
	if n == math.MinInt64 {
		c.out.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return 0, false
	}
	return n, true
}

// cmdHRandField implements HRANDFIELD key [count [WITHVALUES]]: a
// positive count gives distinct fields, a negative one may repeat them.
// WITHVALUES pairs are nested arrays in RESP3.
func cmdHRandField(c *Conn, args [][]byte) {
	if len(args) == 2 {
		c.hashRead(args[1], func(h *ds.Hash) {
			if h == nil {
				c.out.Null()
				return
			}
			h.Random(1, func(f, _ []byte) { c.out.Bulk(f) })
		})
		return
	}
	count, ok := c.collRandCountArg(args[2])
	if !ok {
		return
	}
	withValues := false
	if len(args) > 4 || (len(args) == 4 && !equalFold(args[3], "withvalues")) {
		c.out.Error(errSyntax)
		return
	}
	if len(args) == 4 {
		withValues = true
		if count < -math.MaxInt64/2 || count > math.MaxInt64/2 {
			c.out.Error("ERR value is out of range")
			return
		}
	}
	c.hashRead(args[1], func(h *ds.Hash) {
		if h == nil || count == 0 {
			c.out.Array(0)
			return
		}
		n := -count
		if count > 0 {
			n = min(count, int64(h.Len()))
		}
		pairs := withValues && c.out.Resp3()
		switch {
		case pairs:
			c.out.Array(int(n))
		case withValues:
			c.out.Array(int(2 * n))
		default:
			c.out.Array(int(n))
		}
		h.Random(int(count), func(f, v []byte) {
			if pairs {
				c.out.Array(2)
			}
			c.out.Bulk(f)
			if withValues {
				c.out.Bulk(v)
			}
		})
	})
}

// byteStrings collects copies of byte strings in one buffer, for replies
// whose length must be known before they are written (SCAN pages, SINTER).
type byteStrings struct {
	buf  []byte
	ends []int
}

func (l *byteStrings) add(b []byte) {
	l.buf = append(l.buf, b...)
	l.ends = append(l.ends, len(l.buf))
}

func (l *byteStrings) len() int { return len(l.ends) }

func (l *byteStrings) each(fn func(b []byte)) {
	start := 0
	for _, end := range l.ends {
		fn(l.buf[start:end:end])
		start = end
	}
}

// replyScanPage writes a *SCAN reply: the next cursor and the items.
func (c *Conn) replyScanPage(cursor uint64, items *byteStrings) {
	var buf [20]byte
	c.out.Array(2)
	c.out.Bulk(strconv.AppendUint(buf[:0], cursor, 10))
	c.out.Array(items.len())
	items.each(func(b []byte) { c.out.Bulk(b) })
}

// scanSteps runs one *SCAN call over a collection as Redis's
// scanGenericCommand does: steps of step(cursor) until the scan ends, COUNT
// elements were visited (before MATCH filtering), or 10*COUNT steps were
// taken. step reports the elements it visited.
func scanSteps(cursor uint64, count int, step func(cursor uint64) (next uint64, visited int)) uint64 {
	maxIter := count * 10
	seen := 0
	for {
		var n int
		cursor, n = step(cursor)
		seen += n
		if cursor == 0 || maxIter == 0 || seen >= count {
			return cursor
		}
		maxIter--
	}
}

// cmdHScan implements HSCAN key cursor [MATCH pattern] [COUNT count]. A
// listpack hash is returned whole with cursor 0, as Redis does.
func cmdHScan(c *Conn, args [][]byte) {
	cursor, ok := c.parseCursor(args[2])
	if !ok {
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	h, _, ok := c.getHash(t, args[1], true)
	if !ok {
		return
	}
	var items byteStrings
	if h == nil { // options are not even parsed for a missing key
		c.replyScanPage(0, &items)
		return
	}
	o, ok := c.parseScanOptions(args[3:], false)
	if !ok {
		return
	}
	next := scanSteps(cursor, o.count, func(cur uint64) (uint64, int) {
		n := 0
		next := h.Scan(cur, func(f, v []byte) {
			n += 2 // Redis counts the reply's entries: field and value
			if o.match == nil || glob.Match(o.match, f) {
				items.add(f)
				items.add(v)
			}
		})
		return next, n
	})
	c.replyScanPage(next, &items)
}
