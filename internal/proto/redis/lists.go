package redis

import (
	"strconv"

	"ferry/internal/keyspace"
	"ferry/internal/keyspace/ds"
)

// List commands (Redis "list" group), blocking forms included.

var _ = registerCommands(
	cmd("lpush", func(c *Conn, a [][]byte) { c.push(a, true, false) }),
	cmd("rpush", func(c *Conn, a [][]byte) { c.push(a, false, false) }),
	cmd("lpushx", func(c *Conn, a [][]byte) { c.push(a, true, true) }),
	cmd("rpushx", func(c *Conn, a [][]byte) { c.push(a, false, true) }),
	cmd("lpop", func(c *Conn, a [][]byte) { c.pop(a, true) }),
	cmd("rpop", func(c *Conn, a [][]byte) { c.pop(a, false) }),
	cmd("llen", cmdLLen),
	cmd("lrange", cmdLRange),
	cmd("lindex", cmdLIndex),
	cmd("lset", cmdLSet),
	cmd("linsert", cmdLInsert),
	cmd("lrem", cmdLRem),
	cmd("ltrim", cmdLTrim),
	cmd("lpos", cmdLPos),
	cmd("lmove", cmdLMove),
	cmd("rpoplpush", cmdRPopLPush),
	&Command{Name: "lmpop", Run: cmdLMPop, Keys: numKeysAt(1)},
	cmd("blpop", func(c *Conn, a [][]byte) { c.bpop(a, true) }),
	cmd("brpop", func(c *Conn, a [][]byte) { c.bpop(a, false) }),
	cmd("blmove", cmdBLMove),
	cmd("brpoplpush", cmdBRPopLPush),
	&Command{Name: "blmpop", Run: cmdBLMPop, Keys: numKeysAt(2)},
)

// numKeysAt returns a key finder for commands with "numkeys key ..." at
// argument i (LMPOP, ZUNIONSTORE, ...).
func numKeysAt(i int) func([][]byte) [][]byte {
	return func(args [][]byte) [][]byte {
		if i >= len(args) {
			return nil
		}
		n, ok := parseInt(args[i])
		if !ok || n <= 0 || int(n) > len(args)-i-1 {
			return nil
		}
		return args[i+1 : i+1+int(n)]
	}
}

func (c *Conn) getList(t *keyspace.Txn, key []byte, read bool) (*ds.List, *keyspace.Entry, bool) {
	e, ok := c.getColl(t, key, keyspace.TypeList, read)
	if !ok || e == nil {
		return nil, nil, ok
	}
	return e.Object().(*ds.List), e, true
}

// push implements LPUSH, RPUSH and (onlyExisting) their X forms.
func (c *Conn) push(args [][]byte, left, onlyExisting bool) {
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	l, e, ok := c.getList(t, key, false)
	if !ok {
		return
	}
	if l == nil {
		if onlyExisting {
			c.out.Int(0)
			return
		}
		l = c.srv.newList()
		e = c.createColl(t, key, keyspace.TypeList, l)
	}
	if left {
		l.PushLeft(args[2:]...)
		c.notify(notifyList, "lpush", key)
	} else {
		l.PushRight(args[2:]...)
		c.notify(notifyList, "rpush", key)
	}
	n := l.Len()
	c.changed(t, e)
	c.out.Int(int64(n))
}

// pop implements LPOP and RPOP with their optional count.
func (c *Conn) pop(args [][]byte, left bool) {
	if len(args) > 3 {
		c.out.Error(errArgs(c.srv.table[lowerName(string(args[0]))]))
		return
	}
	count, hasCount := 1, len(args) == 3
	if hasCount {
		n, ok := parseInt(args[2])
		if !ok || n < 0 {
			c.out.Error("ERR value is out of range, must be positive")
			return
		}
		count = int(n)
	}
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	l, e, ok := c.getList(t, key, false)
	if !ok {
		return
	}
	if l == nil {
		if hasCount {
			c.out.NullArray()
		} else {
			c.out.Null()
		}
		return
	}
	if hasCount {
		n := min(count, l.Len())
		c.out.Array(n)
	}
	if count > 0 {
		c.popFrom(t, e, l, left, count)
	}
}

// popFrom pops up to count elements of list l (entry e) and replies with
// each, then notifies and cleans up.
func (c *Conn) popFrom(t *keyspace.Txn, e *keyspace.Entry, l *ds.List, left bool, count int) {
	// A list's key is its own copy (never written in place), so it stays
	// valid for the notification and the log even if the pop empties and
	// removes the entry.
	key := e.Key()
	if c.emitBulk == nil {
		c.emitBulk = c.out.Bulk
	}
	n := 0
	if left {
		n = l.PopLeft(count, c.emitBulk)
		c.notify(notifyList, "lpop", key)
	} else {
		n = l.PopRight(count, c.emitBulk)
		c.notify(notifyList, "rpop", key)
	}
	if c.logging() {
		// The pop that happened, with its count (BLPOP and LMPOP become
		// LPOP key n), in the connection's scratch: the propagator copies
		// it before the command ends.
		c.popLog = [3][]byte{bLPOP, key, strconv.AppendInt(c.popNum[:0], int64(n), 10)}
		if !left {
			c.popLog[0] = bRPOP
		}
		c.logAs(c.popLog[:]...)
	}
	c.changed(t, e)
}

func cmdLLen(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	l, _, ok := c.getList(t, args[1], true)
	if ok {
		if l == nil {
			c.out.Int(0)
		} else {
			c.out.Int(int64(l.Len()))
		}
	}
	c.unlock(t)
}

func cmdLRange(c *Conn, args [][]byte) {
	start, ok1 := parseInt(args[2])
	stop, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.out.Error(errNotInteger)
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	l, _, ok := c.getList(t, args[1], true)
	if !ok {
		return
	}
	if l == nil {
		c.out.Array(0)
		return
	}
	s, e, n := listRange(start, stop, int64(l.Len()))
	c.out.Array(n)
	if n > 0 {
		l.Range(int(s), int(e), func(v []byte) bool { c.out.Bulk(v); return true })
	}
}

// listRange applies Redis's start/stop rules (negative from the end,
// clamped) to a length, returning the range and its size.
func listRange(start, stop, n int64) (int64, int64, int) {
	if start < 0 {
		start += n
	}
	if stop < 0 {
		stop += n
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= n {
		return 0, -1, 0
	}
	if stop >= n {
		stop = n - 1
	}
	return start, stop, int(stop - start + 1)
}

// cmdLIndex looks the key up before parsing the index, as Redis does: a
// missing key answers nil and a wrong type WRONGTYPE whatever the index.
func cmdLIndex(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	l, _, ok := c.getList(t, args[1], true)
	if !ok {
		return
	}
	if l == nil {
		c.out.Null()
		return
	}
	idx, ok := c.intArg(args[2])
	if !ok {
		return
	}
	v, found := l.Index(int(idx))
	if !found {
		c.out.Null()
		return
	}
	c.out.Bulk(v)
}

// cmdLSet, like LINDEX, checks the key before the index.
func cmdLSet(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	l, e, ok := c.getList(t, args[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.out.Error(errNoSuchKey)
		return
	}
	idx, ok := c.intArg(args[2])
	if !ok {
		return
	}
	if !l.Set(int(idx), args[3]) {
		c.out.Error(errIndexRange)
		return
	}
	c.changed(t, e)
	c.notify(notifyList, "lset", args[1])
	c.out.OK()
}

func cmdLInsert(c *Conn, args [][]byte) {
	var after bool
	switch {
	case equalFold(args[2], "after"):
		after = true
	case equalFold(args[2], "before"):
	default:
		c.out.Error(errSyntax)
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	l, e, ok := c.getList(t, args[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.out.Int(0)
		return
	}
	n := l.Insert(args[3], after, args[4])
	if n > 0 {
		c.changed(t, e)
		c.notify(notifyList, "linsert", args[1])
	}
	c.out.Int(int64(n))
}

func cmdLRem(c *Conn, args [][]byte) {
	count, ok := c.intArg(args[2])
	if !ok {
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	l, e, ok := c.getList(t, args[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.out.Int(0)
		return
	}
	n := l.Remove(int(count), args[3])
	if n > 0 {
		c.notify(notifyList, "lrem", args[1])
		c.changed(t, e)
	}
	c.out.Int(int64(n))
}

func cmdLTrim(c *Conn, args [][]byte) {
	start, ok1 := parseInt(args[2])
	stop, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.out.Error(errNotInteger)
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	l, e, ok := c.getList(t, args[1], false)
	if !ok {
		return
	}
	if l != nil {
		l.Trim(int(start), int(stop))
		c.notify(notifyList, "ltrim", args[1])
		c.changed(t, e)
	}
	c.out.OK()
}

func cmdLPos(c *Conn, args [][]byte) {
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for i := 3; i < len(args); i += 2 {
		if i+1 >= len(args) {
			c.out.Error(errSyntax)
			return
		}
		// COUNT and MAXLEN report any unparsable value as negative, as
		// Redis's getPositiveLongFromObjectOrReply does.
		n, ok := parseInt(args[i+1])
		if !ok {
			switch {
			case equalFold(args[i], "count"):
				n = -1
			case equalFold(args[i], "maxlen"):
				n = -1
			default:
				c.out.Error(errNotInteger)
				return
			}
		}
		switch {
		case equalFold(args[i], "rank"):
			if n == 0 {
				c.out.Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
				return
			}
			rank = n
		case equalFold(args[i], "count"):
			if n < 0 {
				c.out.Error("ERR COUNT can't be negative")
				return
			}
			count = n
		case equalFold(args[i], "maxlen"):
			if n < 0 {
				c.out.Error("ERR MAXLEN can't be negative")
				return
			}
			maxlen = n
		default:
			c.out.Error(errSyntax)
			return
		}
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	l, _, ok := c.getList(t, args[1], true)
	if !ok {
		return
	}
	var pos []int
	if l != nil {
		want := int(count)
		if count < 0 {
			want = 1
		}
		pos = l.Pos(args[2], int(rank), want, int(maxlen))
	}
	if count < 0 {
		if len(pos) == 0 {
			c.out.Null()
		} else {
			c.out.Int(int64(pos[0]))
		}
		return
	}
	c.out.Array(len(pos))
	for _, p := range pos {
		c.out.Int(int64(p))
	}
}

// parseSide reads LEFT or RIGHT.
func parseSide(b []byte) (left bool, ok bool) {
	switch {
	case equalFold(b, "left"):
		return true, true
	case equalFold(b, "right"):
		return false, true
	}
	return false, false
}

// sourceList looks up a key a command pops from. When a blocked client
// retries after a wake-up, a key that now holds another type counts as
// empty, so the client stays blocked: Redis serves list waiters only from
// lists. Otherwise it is getList (WRONGTYPE replied).
func (c *Conn) sourceList(t *keyspace.Txn, key []byte) (*ds.List, *keyspace.Entry, bool) {
	if c.blockRetry {
		if e := t.Peek(key); e != nil && e.Type() != keyspace.TypeList {
			return nil, nil, true
		}
	}
	return c.getList(t, key, false)
}

// move pops one element from src (left or right end) and pushes it onto
// dst, atomically; keys are locked by t. It replies and reports whether
// anything moved.
func (c *Conn) move(t *keyspace.Txn, src, dst []byte, fromLeft, toLeft bool) (moved, ok bool) {
	sl, se, ok := c.sourceList(t, src)
	if !ok {
		return false, false
	}
	if sl == nil {
		return false, true
	}
	dl, de, ok := c.getList(t, dst, false)
	if !ok {
		return false, false
	}
	var v []byte
	take := func(b []byte) { v = append([]byte(nil), b...) }
	if fromLeft {
		sl.PopLeft(1, take)
	} else {
		sl.PopRight(1, take)
	}
	if string(src) == string(dst) {
		dl, de = sl, se
	}
	if dl == nil {
		dl = c.srv.newList()
		de = c.createColl(t, dst, keyspace.TypeList, dl)
	}
	if toLeft {
		dl.PushLeft(v)
		c.notify(notifyList, "lpush", dst)
	} else {
		dl.PushRight(v)
		c.notify(notifyList, "rpush", dst)
	}
	// Redis (lmoveGenericCommand) announces the push, then the pop, then
	// the deletion of an emptied source.
	if fromLeft {
		c.notify(notifyList, "lpop", src)
	} else {
		c.notify(notifyList, "rpop", src)
	}
	if string(src) != string(dst) {
		c.changed(t, se)
	}
	c.changed(t, de)
	c.logAs([]byte("LMOVE"), src, dst, sideName(fromLeft), sideName(toLeft))
	c.out.Bulk(v)
	return true, true
}

func sideName(left bool) []byte {
	if left {
		return []byte("LEFT")
	}
	return []byte("RIGHT")
}

func cmdLMove(c *Conn, args [][]byte) {
	from, ok1 := parseSide(args[3])
	to, ok2 := parseSide(args[4])
	if !ok1 || !ok2 {
		c.out.Error(errSyntax)
		return
	}
	c.lmove(args[1], args[2], from, to)
}

func cmdRPopLPush(c *Conn, args [][]byte) { c.lmove(args[1], args[2], false, true) }

func (c *Conn) lmove(src, dst []byte, from, to bool) {
	t := c.lockKeys([][]byte{src, dst})
	defer c.unlock(t)
	moved, ok := c.move(t, src, dst, from, to)
	if ok && !moved {
		c.out.Null()
	}
}

// parseMPop reads "numkeys key ... LEFT|RIGHT [COUNT n]" from args[i:].
func (c *Conn) parseMPop(args [][]byte, i int, sides func([]byte) (bool, bool)) (keys [][]byte, where bool, count int, ok bool) {
	n, okN := parseInt(args[i])
	if !okN || n <= 0 {
		c.out.Error("ERR numkeys should be greater than 0")
		return nil, false, 0, false
	}
	if int(n) > len(args)-i-2 {
		c.out.Error(errSyntax)
		return nil, false, 0, false
	}
	keys = args[i+1 : i+1+int(n)]
	rest := args[i+1+int(n):]
	where, okW := sides(rest[0])
	if !okW {
		c.out.Error(errSyntax)
		return nil, false, 0, false
	}
	count = 1
	switch {
	case len(rest) == 1:
	case len(rest) == 3 && equalFold(rest[1], "count"):
		v, okC := parseInt(rest[2])
		if !okC || v <= 0 {
			c.out.Error("ERR count should be greater than 0")
			return nil, false, 0, false
		}
		count = int(v)
	default:
		c.out.Error(errSyntax)
		return nil, false, 0, false
	}
	return keys, where, count, true
}

// mpopList pops from the first non-empty list of keys, replying [key,
// [elements]]; it reports whether one was found (false: nothing replied).
func (c *Conn) mpopList(t *keyspace.Txn, keys [][]byte, left bool, count int) (found, ok bool) {
	for _, k := range keys {
		l, e, ok := c.sourceList(t, k)
		if !ok {
			return false, false
		}
		if l == nil {
			continue
		}
		c.out.Array(2)
		c.out.Bulk(k)
		c.out.Array(min(count, l.Len()))
		c.popFrom(t, e, l, left, count)
		return true, true
	}
	return false, true
}

func cmdLMPop(c *Conn, args [][]byte) {
	keys, left, count, ok := c.parseMPop(args, 1, parseSide)
	if !ok {
		return
	}
	t := c.lockKeys(keys)
	found, ok := c.mpopList(t, keys, left, count)
	c.unlock(t)
	if ok && !found {
		c.out.NullArray()
	}
}

// bpop implements BLPOP and BRPOP: the first non-empty list among the keys
// gives one element; otherwise the client blocks.
func (c *Conn) bpop(args [][]byte, left bool) {
	timeout, ok := c.parseTimeout(args[len(args)-1])
	if !ok {
		return
	}
	keys := args[1 : len(args)-1]
	failed := false
	served := c.block(keys, timeout, func(t *keyspace.Txn) bool {
		for _, k := range keys {
			l, e, ok := c.sourceList(t, k)
			if !ok {
				failed = true
				return true
			}
			if l == nil {
				continue
			}
			c.out.Array(2)
			c.out.Bulk(k)
			c.popFrom(t, e, l, left, 1)
			return true
		}
		return false
	})
	if !served && !failed {
		c.out.NullArray()
	}
}

func cmdBLMove(c *Conn, args [][]byte) {
	from, ok1 := parseSide(args[3])
	to, ok2 := parseSide(args[4])
	if !ok1 || !ok2 {
		c.out.Error(errSyntax)
		return
	}
	c.blmove(args[1], args[2], from, to, args[5])
}

func cmdBRPopLPush(c *Conn, args [][]byte) { c.blmove(args[1], args[2], false, true, args[3]) }

func (c *Conn) blmove(src, dst []byte, from, to bool, timeoutArg []byte) {
	timeout, ok := c.parseTimeout(timeoutArg)
	if !ok {
		return
	}
	keys := [][]byte{src, dst}
	served := c.block(keys, timeout, func(t *keyspace.Txn) bool {
		moved, ok := c.move(t, src, dst, from, to)
		return moved || !ok
	})
	if !served {
		c.out.Null()
	}
}

func cmdBLMPop(c *Conn, args [][]byte) {
	timeout, ok := c.parseTimeout(args[1])
	if !ok {
		return
	}
	keys, left, count, ok := c.parseMPop(args, 2, parseSide)
	if !ok {
		return
	}
	served := c.block(keys, timeout, func(t *keyspace.Txn) bool {
		found, ok := c.mpopList(t, keys, left, count)
		return found || !ok
	})
	if !served {
		c.out.NullArray()
	}
}
