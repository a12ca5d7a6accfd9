package redis

import (
	"slices"

	"ferry/internal/glob"
	"ferry/internal/keyspace"
	"ferry/internal/keyspace/ds"
)

// Set commands (Redis "set" group, t_set.c). Values are ds.Set: an intset
// that converts to a hashtable on a non-integer member or past
// set-max-intset-entries members.

var _ = registerCommands(
	cmd("sadd", cmdSAdd),
	cmd("srem", cmdSRem),
	cmd("smembers", cmdSMembers),
	cmd("sismember", cmdSIsMember),
	cmd("smismember", cmdSMIsMember),
	cmd("scard", cmdSCard),
	cmd("spop", cmdSPop),
	cmd("srandmember", cmdSRandMember),
	cmd("smove", cmdSMove),
	cmd("sinter", func(c *Conn, a [][]byte) { c.sinter(a[1:], nil, false, 0) }),
	&Command{Name: "sintercard", Run: cmdSInterCard, Keys: numKeysAt(1)},
	cmd("sinterstore", func(c *Conn, a [][]byte) { c.sinter(a[2:], a[1], false, 0) }),
	cmd("sunion", func(c *Conn, a [][]byte) { c.sunionDiff(a[1:], nil, false) }),
	cmd("sunionstore", func(c *Conn, a [][]byte) { c.sunionDiff(a[2:], a[1], false) }),
	cmd("sdiff", func(c *Conn, a [][]byte) { c.sunionDiff(a[1:], nil, true) }),
	cmd("sdiffstore", func(c *Conn, a [][]byte) { c.sunionDiff(a[2:], a[1], true) }),
	cmd("sscan", cmdSScan),
)

func (c *Conn) getSet(t *keyspace.Txn, key []byte, read bool) (*ds.Set, *keyspace.Entry, bool) {
	e, ok := c.getColl(t, key, keyspace.TypeSet, read)
	if !ok || e == nil {
		return nil, nil, ok
	}
	return e.Object().(*ds.Set), e, true
}

// cmdSAdd implements SADD key member [member ...].
func cmdSAdd(c *Conn, args [][]byte) {
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	s, e, ok := c.getSet(t, key, false)
	if !ok {
		return
	}
	if s == nil {
		s = c.srv.newSet()
		e = c.createColl(t, key, keyspace.TypeSet, s)
	}
	n := 0
	for _, m := range args[2:] {
		if s.Add(m) {
			n++
		}
	}
	if n > 0 {
		c.notify(notifySet, "sadd", key)
		c.changed(t, e)
	}
	c.out.Int(int64(n))
}

// cmdSRem implements SREM key member [member ...].
func cmdSRem(c *Conn, args [][]byte) {
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	s, e, ok := c.getSet(t, key, false)
	if !ok {
		return
	}
	n := 0
	if s != nil {
		for _, m := range args[2:] {
			if s.Remove(m) {
				n++
				if s.Len() == 0 {
					break
				}
			}
		}
	}
	if n > 0 {
		c.notify(notifySet, "srem", key)
		c.changed(t, e) // deletes the key, notifying "del", if emptied
	}
	c.out.Int(int64(n))
}

// cmdSMembers implements SMEMBERS key (a set reply in RESP3).
func cmdSMembers(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	s, _, ok := c.getSet(t, args[1], true)
	if !ok {
		return
	}
	if s == nil {
		c.out.Set(0)
		return
	}
	c.out.Set(s.Len())
	s.Each(func(m []byte) bool { c.out.Bulk(m); return true })
}

func cmdSIsMember(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	s, _, ok := c.getSet(t, args[1], true)
	if ok {
		if s != nil && s.IsMember(args[2]) {
			c.out.Int(1)
		} else {
			c.out.Int(0)
		}
	}
	c.unlock(t)
}

func cmdSMIsMember(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	s, _, ok := c.getSet(t, args[1], true)
	if !ok {
		return
	}
	c.out.Array(len(args) - 2)
	for _, m := range args[2:] {
		if s != nil && s.IsMember(m) {
			c.out.Int(1)
		} else {
			c.out.Int(0)
		}
	}
}

func cmdSCard(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	s, _, ok := c.getSet(t, args[1], true)
	if ok {
		if s == nil {
			c.out.Int(0)
		} else {
			c.out.Int(int64(s.Len()))
		}
	}
	c.unlock(t)
}

// cmdSPop implements SPOP key [count]; with a count the reply is a set.
func cmdSPop(c *Conn, args [][]byte) {
	if len(args) > 3 {
		c.out.Error(errSyntax)
		return
	}
	hasCount := len(args) == 3
	count := int64(1)
	if hasCount {
		n, ok := parseInt(args[2])
		if !ok || n < 0 {
			c.out.Error("ERR value is out of range, must be positive")
			return
		}
		count = n
	}
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	s, e, ok := c.getSet(t, key, false)
	if !ok {
		return
	}
	switch {
	case s == nil && hasCount:
		c.out.Set(0)
		return
	case s == nil:
		c.out.Null()
		return
	case count == 0:
		c.out.Set(0)
		return
	}
	n := int(min(count, int64(s.Len())))
	if hasCount {
		c.out.Set(n)
	}
	logged := [][]byte{[]byte("SREM"), key}
	s.Pop(n, func(m []byte) {
		c.out.Bulk(m)
		logged = append(logged, append([]byte(nil), m...))
	})
	c.logAs(logged...) // the log must say which members went
	c.notify(notifySet, "spop", key)
	c.changed(t, e) // deletes the key, notifying "del", if emptied
}

// cmdSRandMember implements SRANDMEMBER key [count]: a positive count
// gives distinct members, a negative one may repeat them.
func cmdSRandMember(c *Conn, args [][]byte) {
	if len(args) > 3 {
		c.out.Error(errSyntax)
		return
	}
	hasCount := len(args) == 3
	count := int64(1)
	if hasCount {
		n, ok := c.collRandCountArg(args[2])
		if !ok {
			return
		}
		count = n
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	s, _, ok := c.getSet(t, args[1], true)
	if !ok {
		return
	}
	if !hasCount {
		if s == nil {
			c.out.Null()
		} else {
			s.Random(1, func(m []byte) { c.out.Bulk(m) })
		}
		return
	}
	if s == nil || count == 0 {
		c.out.Array(0)
		return
	}
	n := -count
	if count > 0 {
		n = min(count, int64(s.Len()))
	}
	c.out.Array(int(n))
	s.Random(int(count), func(m []byte) { c.out.Bulk(m) })
}

// cmdSMove implements SMOVE source destination member.
func cmdSMove(c *Conn, args [][]byte) {
	src, dst, member := args[1], args[2], args[3]
	t := c.lockKeys(args[1:3])
	defer c.unlock(t)
	se := t.Peek(src)
	if se == nil { // even when destination has the wrong type, as Redis
		c.out.Int(0)
		return
	}
	if c.wrongType(se, keyspace.TypeSet) {
		return
	}
	de := t.Peek(dst)
	if c.wrongType(de, keyspace.TypeSet) {
		return
	}
	ss := se.Object().(*ds.Set)
	if string(src) == string(dst) {
		if ss.IsMember(member) {
			c.out.Int(1)
		} else {
			c.out.Int(0)
		}
		return
	}
	if !ss.IsMember(member) {
		c.out.Int(0)
		return
	}
	// Both sets change: a snapshot being saved keeps their old values.
	ss = t.Mutable(se).(*ds.Set)
	ss.Remove(member)
	c.notify(notifySet, "srem", src)
	c.changed(t, se)
	var dset *ds.Set
	if de == nil {
		dset = c.srv.newSet()
		de = c.createColl(t, dst, keyspace.TypeSet, dset)
	} else {
		dset = t.Mutable(de).(*ds.Set)
	}
	if dset.Add(member) {
		c.notify(notifySet, "sadd", dst)
		c.changed(t, de)
	}
	c.out.Int(1)
}

// loadSets looks keys up as sets; a missing key gives nil. It replies
// WRONGTYPE (ok=false) if any key holds another type.
func (c *Conn) loadSets(t *keyspace.Txn, keys [][]byte, read bool) ([]*ds.Set, bool) {
	sets := make([]*ds.Set, len(keys))
	for i, k := range keys {
		s, _, ok := c.getSet(t, k, read)
		if !ok {
			return nil, false
		}
		sets[i] = s
	}
	return sets, true
}

// storeSet replaces dst with the set res (or deletes dst when res is
// empty), notifying event, and replies the cardinality.
func (c *Conn) storeSet(t *keyspace.Txn, dst []byte, res *ds.Set, event string) {
	if res == nil || res.Len() == 0 {
		if t.Delete(dst) {
			c.notify(notifyGeneric, "del", dst)
		}
		c.out.Int(0)
		return
	}
	t.SetObject(dst, keyspace.TypeSet, res, res.MemSize())
	c.notify(notifySet, event, dst)
	c.out.Int(int64(res.Len()))
}

// sinter implements SINTER, SINTERSTORE (dst set) and SINTERCARD
// (cardOnly, stopping at limit unless it is 0). It walks the smallest set
// and probes the others, the larger ones last.
func (c *Conn) sinter(keys [][]byte, dst []byte, cardOnly bool, limit int64) {
	lockKeys := keys
	if dst != nil {
		lockKeys = append([][]byte{dst}, keys...)
	}
	t := c.lockKeys(lockKeys)
	defer c.unlock(t)
	sets, ok := c.loadSets(t, keys, true) // reads, STORE too (keymiss as in Redis 7.0)
	if !ok {
		return
	}
	if slices.Contains(sets, nil) {
		switch {
		case dst != nil:
			c.storeSet(t, dst, nil, "")
		case cardOnly:
			c.out.Int(0)
		default:
			c.out.Set(0)
		}
		return
	}
	slices.SortStableFunc(sets, func(a, b *ds.Set) int { return a.Len() - b.Len() })
	first, rest := sets[0], sets[1:]
	each := func(fn func(m []byte) bool) {
		first.Each(func(m []byte) bool {
			for _, s := range rest {
				if s != first && !s.IsMember(m) {
					return true
				}
			}
			return fn(m)
		})
	}
	switch {
	case cardOnly:
		var n int64
		each(func([]byte) bool {
			n++
			return limit == 0 || n < limit
		})
		c.out.Int(n)
	case dst != nil:
		res := c.srv.newSet()
		each(func(m []byte) bool { res.Add(m); return true })
		c.storeSet(t, dst, res, "sinterstore")
	default:
		var items byteStrings
		each(func(m []byte) bool { items.add(m); return true })
		c.out.Set(items.len())
		items.each(func(m []byte) { c.out.Bulk(m) })
	}
}

// cmdSInterCard implements SINTERCARD numkeys key [key ...] [LIMIT limit].
func cmdSInterCard(c *Conn, args [][]byte) {
	n, ok := parseInt(args[1])
	if !ok || n <= 0 {
		c.out.Error("ERR numkeys should be greater than 0")
		return
	}
	if n > int64(len(args)-2) {
		c.out.Error("ERR Number of keys can't be greater than number of args")
		return
	}
	keys := args[2 : 2+n]
	var limit int64
	for i := 2 + int(n); i < len(args); i++ {
		if equalFold(args[i], "limit") && i+1 < len(args) {
			i++
			l, ok := parseInt(args[i])
			if !ok || l < 0 {
				c.out.Error("ERR LIMIT can't be negative")
				return
			}
			limit = l
			continue
		}
		c.out.Error(errSyntax)
		return
	}
	c.sinter(keys, nil, true, limit)
}

// sunionDiff implements SUNION, SDIFF and their STORE forms (dst set),
// building the result as Redis's sunionDiffGenericCommand does. SDIFF
// picks the cheaper of walking the first set and probing the others
// (cost |first|*sets/2) or copying the first set and removing the others'
// members (cost: the sum of the sizes).
func (c *Conn) sunionDiff(keys [][]byte, dst []byte, diff bool) {
	lockKeys := keys
	if dst != nil {
		lockKeys = append([][]byte{dst}, keys...)
	}
	t := c.lockKeys(lockKeys)
	defer c.unlock(t)
	sets, ok := c.loadSets(t, keys, true) // reads, STORE too (keymiss as in Redis 7.0)
	if !ok {
		return
	}
	res := c.srv.newSet()
	switch {
	case !diff:
		for _, s := range sets {
			if s != nil {
				s.Each(func(m []byte) bool { res.Add(m); return true })
			}
		}
	case sets[0] == nil:
	case slices.Contains(sets[1:], sets[0]): // the first set minus itself
	default:
		first := sets[0]
		rest := slices.DeleteFunc(slices.Clone(sets[1:]), func(s *ds.Set) bool { return s == nil })
		walk, copyAll := 0, first.Len()
		for _, s := range rest {
			walk += first.Len()
			copyAll += s.Len()
		}
		walk += first.Len()
		if walk/2 <= copyAll {
			// Probe the largest sets first: a member found in one is out.
			slices.SortStableFunc(rest, func(a, b *ds.Set) int { return b.Len() - a.Len() })
			first.Each(func(m []byte) bool {
				for _, s := range rest {
					if s.IsMember(m) {
						return true
					}
				}
				res.Add(m)
				return true
			})
		} else {
			first.Each(func(m []byte) bool { res.Add(m); return true })
			for _, s := range rest {
				s.Each(func(m []byte) bool { res.Remove(m); return res.Len() > 0 })
				if res.Len() == 0 {
					break
				}
			}
		}
	}
	if dst != nil {
		event := "sunionstore"
		if diff {
			event = "sdiffstore"
		}
		c.storeSet(t, dst, res, event)
		return
	}
	c.out.Set(res.Len())
	res.Each(func(m []byte) bool { c.out.Bulk(m); return true })
}

// cmdSScan implements SSCAN key cursor [MATCH pattern] [COUNT count]. An
// intset is returned whole with cursor 0, as Redis does.
func cmdSScan(c *Conn, args [][]byte) {
	cursor, ok := c.parseCursor(args[2])
	if !ok {
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	s, _, ok := c.getSet(t, args[1], true)
	if !ok {
		return
	}
	var items byteStrings
	if s == nil { // options are not even parsed for a missing key
		c.replyScanPage(0, &items)
		return
	}
	o, ok := c.parseScanOptions(args[3:], false)
	if !ok {
		return
	}
	next := scanSteps(cursor, o.count, func(cur uint64) (uint64, int) {
		n := 0
		next := s.Scan(cur, func(m []byte) {
			n++
			if o.match == nil || glob.Match(o.match, m) {
				items.add(m)
			}
		})
		return next, n
	})
	c.replyScanPage(next, &items)
}
