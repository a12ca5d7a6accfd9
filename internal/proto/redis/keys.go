package redis

import (
	"math"
	"strconv"

	"ferry/internal/glob"
	"ferry/internal/keyspace"
)

// Generic key commands (Redis "generic" group).

var _ = registerCommands(
	cmd("del", cmdDel),
	cmd("unlink", cmdDel),
	cmd("exists", cmdExists),
	cmd("type", cmdType),
	cmd("expire", func(c *Conn, a [][]byte) { c.expire(a, 1000, false) }),
	cmd("pexpire", func(c *Conn, a [][]byte) { c.expire(a, 1, false) }),
	cmd("expireat", func(c *Conn, a [][]byte) { c.expire(a, 1000, true) }),
	cmd("pexpireat", func(c *Conn, a [][]byte) { c.expire(a, 1, true) }),
	cmd("expiretime", func(c *Conn, a [][]byte) { c.ttl(a[1], true, 1000) }),
	cmd("pexpiretime", func(c *Conn, a [][]byte) { c.ttl(a[1], true, 1) }),
	cmd("ttl", func(c *Conn, a [][]byte) { c.ttl(a[1], false, 1000) }),
	cmd("pttl", func(c *Conn, a [][]byte) { c.ttl(a[1], false, 1) }),
	cmd("persist", cmdPersist),
	cmd("rename", func(c *Conn, a [][]byte) { c.rename(a, false) }),
	cmd("renamenx", func(c *Conn, a [][]byte) { c.rename(a, true) }),
	cmd("copy", cmdCopy),
	cmd("move", cmdMove),
	cmd("keys", cmdKeys),
	cmd("scan", cmdScan),
	cmd("randomkey", cmdRandomKey),
	cmd("touch", cmdTouch),
	container("object",
		cmd("encoding", cmdObjectEncoding),
		cmd("freq", cmdObjectFreq),
		cmd("idletime", cmdObjectIdletime),
		cmd("refcount", cmdObjectRefcount),
		cmd("help", helpFor("OBJECT", "ENCODING <key>", "    Return the kind of internal representation used in order to store the value associated with a <key>.", "FREQ <key>", "    Return the access frequency index of the <key>.", "IDLETIME <key>", "    Return the idle time of the <key>.", "REFCOUNT <key>", "    Return the reference count of the object stored at <key>.")),
	),
)

func cmdDel(c *Conn, args [][]byte) {
	keys := args[1:]
	t := c.lockKeys(keys)
	n := 0
	for _, k := range keys {
		if t.Delete(k) {
			c.notify(notifyGeneric, "del", k)
			n++
		}
	}
	c.unlock(t)
	c.out.Int(int64(n))
}

func cmdExists(c *Conn, args [][]byte) {
	keys := args[1:]
	t := c.lockKeys(keys)
	n := 0
	for _, k := range keys {
		if t.LookupNoTouch(k) != nil {
			n++
		}
	}
	c.unlock(t)
	c.out.Int(int64(n))
}

func cmdType(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	e := t.LookupNoTouch(args[1])
	typ := keyspace.TypeNone
	if e != nil {
		typ = e.Type()
	}
	c.unlock(t)
	c.out.Simple(typ.String())
}

// expire implements EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT with NX, XX,
// GT and LT. unit is 1000 for seconds, 1 for ms; abs for the *AT forms.
func (c *Conn) expire(args [][]byte, unit int64, abs bool) {
	name := string(args[0])
	var nx, xx, gt, lt bool
	for _, a := range args[3:] {
		switch {
		case equalFold(a, "nx"):
			nx = true
		case equalFold(a, "xx"):
			xx = true
		case equalFold(a, "gt"):
			gt = true
		case equalFold(a, "lt"):
			lt = true
		default:
			c.out.Error("ERR Unsupported option " + clip(a))
			return
		}
	}
	if nx && (xx || gt || lt) {
		c.out.Error("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if gt && lt {
		c.out.Error("ERR GT and LT options at the same time are not compatible")
		return
	}
	// The options are checked before the time, as Redis does.
	n, ok := parseInt(args[2])
	if !ok {
		c.out.Error(errNotInteger)
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	if n > math.MaxInt64/unit || n < math.MinInt64/unit {
		c.out.Error("ERR invalid expire time in '" + lowerName(name) + "' command")
		return
	}
	at := n * unit
	if !abs {
		if (at > 0 && t.NowMs() > math.MaxInt64-at) || (at < 0 && t.NowMs() < math.MinInt64-at) {
			c.out.Error("ERR invalid expire time in '" + lowerName(name) + "' command")
			return
		}
		at += t.NowMs()
	}
	e := t.Peek(args[1])
	if e == nil {
		c.out.Int(0)
		return
	}
	cur := e.Expire()
	switch {
	case nx && cur != 0, xx && cur == 0:
		c.out.Int(0)
		return
	case gt && (cur == 0 || at <= cur):
		c.out.Int(0)
		return
	case lt && cur != 0 && at >= cur:
		c.out.Int(0)
		return
	}
	if at <= t.NowMs() {
		t.DeleteEntry(e)
		c.notify(notifyGeneric, "del", args[1])
	} else {
		t.SetExpire(e, at)
		c.notify(notifyGeneric, "expire", args[1])
	}
	c.out.Int(1)
}

func lowerName(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}

// ttl implements TTL, PTTL, EXPIRETIME and PEXPIRETIME.
func (c *Conn) ttl(key []byte, absolute bool, unit int64) {
	t := c.lock(key)
	e := t.LookupNoTouch(key)
	var exp, now int64
	if e != nil {
		exp, now = e.Expire(), t.NowMs()
	}
	c.unlock(t)
	switch {
	case e == nil:
		c.out.Int(-2)
	case exp == 0:
		c.out.Int(-1)
	case absolute:
		c.out.Int(exp / unit)
	case unit == 1000:
		c.out.Int((exp - now + 500) / 1000)
	default:
		c.out.Int(exp - now)
	}
}

func cmdPersist(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	e := t.Peek(args[1])
	if e != nil && e.Expire() != 0 {
		t.SetExpire(e, 0)
		c.notify(notifyGeneric, "persist", args[1])
		c.out.Int(1)
	} else {
		c.out.Int(0)
	}
	c.unlock(t)
}

func (c *Conn) rename(args [][]byte, nx bool) {
	src, dst := args[1], args[2]
	t := c.lockKeys(args[1:3])
	defer c.unlock(t)
	e := t.Peek(src)
	if e == nil {
		c.out.Error(errNoSuchKey)
		return
	}
	if string(src) == string(dst) {
		if nx {
			c.out.Int(0)
		} else {
			c.out.OK()
		}
		return
	}
	if t.Peek(dst) != nil {
		if nx {
			c.out.Int(0)
			return
		}
		t.Delete(dst)
	}
	t.Rename(e, dst, c.db)
	c.notify(notifyGeneric, "rename_from", src)
	c.notify(notifyGeneric, "rename_to", dst)
	if nx {
		c.out.Int(1)
	} else {
		c.out.OK()
	}
}

func cmdCopy(c *Conn, args [][]byte) {
	src, dst := args[1], args[2]
	dstDB := c.db
	replace := false
	for i := 3; i < len(args); i++ {
		switch {
		case equalFold(args[i], "replace"):
			replace = true
		case equalFold(args[i], "db") && i+1 < len(args):
			n, ok := c.dbIndexArg(args[i+1])
			if !ok {
				return
			}
			dstDB = n
			i++
		default:
			c.out.Error(errSyntax)
			return
		}
	}
	if dstDB == c.db && string(src) == string(dst) {
		c.out.Error("ERR source and destination objects are the same")
		return
	}
	t := c.lockKeys(args[1:3])
	defer c.unlock(t)
	e := t.Lookup(src)
	if e == nil {
		c.out.Int(0)
		return
	}
	if t.PeekDB(dstDB, dst) != nil {
		if !replace {
			c.out.Int(0)
			return
		}
		t.DeleteDB(dstDB, dst)
	}
	saved := t.DB()
	t.SetDB(dstDB)
	var ne *keyspace.Entry
	if e.Type() == keyspace.TypeString {
		ne = t.SetString(dst, e.Value(), e.Flags(), 0)
	} else {
		val, size := cloneValue(e.Object())
		ne = t.SetObject(dst, e.Type(), val, size)
	}
	if e.Expire() != 0 {
		t.SetExpire(ne, e.Expire())
	}
	t.SetDB(saved)
	c.srv.notifyDB(notifyGeneric, "copy_to", dst, dstDB)
	c.out.Int(1)
}

func cmdMove(c *Conn, args [][]byte) {
	db, ok := c.dbIndexArg(args[2])
	if !ok {
		return
	}
	if db == c.db {
		c.out.Error("ERR source and destination objects are the same")
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	e := t.Peek(args[1])
	if e == nil || t.PeekDB(int(db), args[1]) != nil {
		c.out.Int(0)
		return
	}
	t.Rename(e, args[1], int(db))
	c.notify(notifyGeneric, "move_from", args[1])
	c.srv.notifyDB(notifyGeneric, "move_to", args[1], int(db))
	c.out.Int(1)
}

func cmdKeys(c *Conn, args [][]byte) {
	pattern := args[1]
	all := len(pattern) == 1 && pattern[0] == '*'
	t := c.lockAll()
	var keys [][]byte
	t.Each(func(e *keyspace.Entry) bool {
		if all || glob.Match(pattern, e.Key()) {
			keys = append(keys, append([]byte(nil), e.Key()...))
		}
		return true
	})
	c.unlock(t)
	c.out.Array(len(keys))
	for _, k := range keys {
		c.out.Bulk(k)
	}
}

// parseCursor reads a SCAN cursor (an unsigned 64-bit number).
// parseCursor reads a SCAN cursor as Redis does, with strtoul: an optional
// sign (a negative value wraps around), then digits, nothing else.
func (c *Conn) parseCursor(b []byte) (uint64, bool) {
	neg := false
	d := b
	if len(d) > 0 && (d[0] == '-' || d[0] == '+') {
		neg = d[0] == '-'
		d = d[1:]
	}
	n, err := strconv.ParseUint(string(d), 10, 64)
	if err != nil || len(d) == 0 || d[0] == '+' || d[0] == '-' {
		c.out.Error("ERR invalid cursor")
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// scanOptions are SCAN's MATCH, COUNT and TYPE (and the *SCAN family's).
type scanOptions struct {
	match    []byte
	count    int
	typ      string
	noValues bool
}

func (c *Conn) parseScanOptions(args [][]byte, allowType bool) (scanOptions, bool) {
	o := scanOptions{count: 10}
	for i := 0; i < len(args); i++ {
		switch {
		case equalFold(args[i], "match") && i+1 < len(args):
			o.match = args[i+1]
			if len(o.match) == 1 && o.match[0] == '*' {
				o.match = nil
			}
			i++
		case equalFold(args[i], "count") && i+1 < len(args):
			n, ok := parseInt(args[i+1])
			if !ok {
				c.out.Error(errNotInteger)
				return o, false
			}
			if n < 1 {
				c.out.Error(errSyntax)
				return o, false
			}
			o.count = int(min(n, 1<<20))
			i++
		case allowType && equalFold(args[i], "type") && i+1 < len(args):
			o.typ = lowerName(string(args[i+1]))
			i++
		default:
			c.out.Error(errSyntax)
			return o, false
		}
	}
	return o, true
}

func cmdScan(c *Conn, args [][]byte) {
	cursor, ok := c.parseCursor(args[1])
	if !ok {
		return
	}
	o, ok := c.parseScanOptions(args[2:], true)
	if !ok {
		return
	}
	t := c.lockAll()
	var keys [][]byte
	next := t.Scan(cursor, o.count, func(e *keyspace.Entry) {
		if o.typ != "" && e.Type().String() != o.typ {
			return
		}
		if o.match != nil && !glob.Match(o.match, e.Key()) {
			return
		}
		keys = append(keys, append([]byte(nil), e.Key()...))
	})
	c.unlock(t)
	c.out.Array(2)
	c.out.BulkString(strconv.FormatUint(next, 10))
	c.out.Array(len(keys))
	for _, k := range keys {
		c.out.Bulk(k)
	}
}

func cmdRandomKey(c *Conn, args [][]byte) {
	t := c.lockAll()
	k := t.RandomKey()
	if k != nil {
		k = append([]byte(nil), k...)
	}
	c.unlock(t)
	if k == nil {
		c.out.Null()
		return
	}
	c.out.Bulk(k)
}

func cmdTouch(c *Conn, args [][]byte) {
	keys := args[1:]
	t := c.lockKeys(keys)
	n := 0
	for _, k := range keys {
		if t.Lookup(k) != nil {
			n++
		}
	}
	c.unlock(t)
	c.out.Int(int64(n))
}

// String encoding marks, kept in the entry's front-end marks (which any
// new value clears). Redis's string encoding depends on how the value was
// made, not only on its bytes: values changed in place (APPEND, SETRANGE,
// SETBIT, BITFIELD, BITOP) are "raw", INCRBYFLOAT's results never "int".
const (
	markRaw   = 1 << 6
	markNoInt = 1 << 5
)

// markString sets an encoding mark on a string entry just written.
func markString(t *keyspace.Txn, e *keyspace.Entry, m uint8) {
	if e != nil {
		t.SetMarks(e, e.Marks()|m)
	}
}

// encodingOf names an entry's encoding as OBJECT ENCODING does.
func encodingOf(e *keyspace.Entry) string {
	if e.Type() == keyspace.TypeString {
		v := e.Value()
		if e.Marks()&markRaw != 0 {
			return "raw"
		}
		if len(v) <= 20 && e.Marks()&markNoInt == 0 {
			if _, ok := parseInt(v); ok {
				return "int"
			}
		}
		if len(v) <= 44 {
			return "embstr"
		}
		return "raw"
	}
	if enc, ok := e.Object().(interface{ Encoding() string }); ok {
		return enc.Encoding()
	}
	return "unknown"
}

// objectLookup runs fn on OBJECT's key, replying null when it is missing.
func (c *Conn) objectLookup(key []byte, fn func(t *keyspace.Txn, e *keyspace.Entry)) {
	t := c.lock(key)
	e := t.Peek(key)
	if e == nil {
		c.out.Null()
	} else {
		fn(t, e)
	}
	c.unlock(t)
}

func cmdObjectEncoding(c *Conn, args [][]byte) {
	c.objectLookup(args[2], func(_ *keyspace.Txn, e *keyspace.Entry) { c.out.BulkString(encodingOf(e)) })
}

func cmdObjectFreq(c *Conn, args [][]byte) {
	if !c.srv.ks.Policy().IsLFU() {
		c.out.Error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
		return
	}
	c.objectLookup(args[2], func(t *keyspace.Txn, e *keyspace.Entry) { c.out.Int(int64(t.Freq(e))) })
}

func cmdObjectIdletime(c *Conn, args [][]byte) {
	if c.srv.ks.Policy().IsLFU() {
		c.out.Error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
		return
	}
	c.objectLookup(args[2], func(t *keyspace.Txn, e *keyspace.Entry) { c.out.Int(t.IdleMs(e) / 1000) })
}

func cmdObjectRefcount(c *Conn, args [][]byte) {
	c.objectLookup(args[2], func(_ *keyspace.Txn, e *keyspace.Entry) { c.out.Int(1) })
}
