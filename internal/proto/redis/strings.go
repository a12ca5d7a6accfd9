package redis

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"ferry/internal/keyspace"
)

// String commands (Redis "string" group). Values are keyspace string
// entries, shared with memcached items of database 0.

var _ = registerCommands(
	cmd("get", cmdGet),
	cmd("set", cmdSet),
	cmd("setnx", cmdSetNX),
	cmd("setex", cmdSetEX),
	cmd("psetex", cmdPSetEX),
	cmd("mget", cmdMGet),
	cmd("mset", cmdMSet),
	cmd("msetnx", cmdMSetNX),
	cmd("getset", cmdGetSet),
	cmd("getdel", cmdGetDel),
	cmd("getex", cmdGetEx),
	cmd("append", cmdAppend),
	cmd("strlen", cmdStrlen),
	cmd("getrange", cmdGetRange),
	cmd("substr", cmdGetRange),
	cmd("setrange", cmdSetRange),
	cmd("incr", func(c *Conn, a [][]byte) { c.incrBy(a[1], 1) }),
	cmd("decr", func(c *Conn, a [][]byte) { c.incrBy(a[1], -1) }),
	cmd("incrby", cmdIncrBy),
	cmd("decrby", cmdDecrBy),
	cmd("incrbyfloat", cmdIncrByFloat),
)

// maxStringSize returns proto-max-bulk-len, the largest string value.
func (s *Server) maxStringSize() int64 { return s.config().Limits.MaxBulkLen }

// lookupString finds key for reading. It replies WRONGTYPE (and returns
// ok=false) when the key holds another type.
func (c *Conn) lookupString(t *keyspace.Txn, key []byte) (*keyspace.Entry, bool) {
	e := t.Lookup(key)
	if c.wrongType(e, keyspace.TypeString) {
		return nil, false
	}
	return e, true
}

func cmdGet(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	e, ok := c.lookupString(t, args[1])
	if ok {
		if e == nil {
			c.out.Null()
		} else {
			v := e.Value()
			if len(v) > 4096 {
				c.reserveOut(len(v) + 32)
			}
			c.out.Bulk(v)
		}
	}
	c.unlock(t)
}

// expireArg reads an EX/PX/EXAT/PXAT argument into an absolute time in ms.
func (c *Conn) expireArg(opt, val []byte, nowMs int64, cmdName string) (int64, bool) {
	n, ok := parseInt(val)
	if !ok {
		c.out.Error(errNotInteger)
		return 0, false
	}
	bad := func() (int64, bool) {
		c.out.Error("ERR invalid expire time in '" + cmdName + "' command")
		return 0, false
	}
	if n <= 0 {
		return bad()
	}
	switch {
	case equalFold(opt, "ex"):
		if n > math.MaxInt64/1000-nowMs/1000 {
			return bad()
		}
		return nowMs + n*1000, true
	case equalFold(opt, "px"):
		if n > math.MaxInt64-nowMs {
			return bad()
		}
		return nowMs + n, true
	case equalFold(opt, "exat"):
		if n > math.MaxInt64/1000 {
			return bad()
		}
		return n * 1000, true
	default: // pxat
		return n, true
	}
}

// setOptions are SET's parsed flags.
type setOptions struct {
	nx, xx, get, keepTTL bool
	expire               int64 // absolute ms; 0 = none
	hasExpire            bool
}

func (c *Conn) parseSetOptions(args [][]byte, nowMs int64) (setOptions, bool) {
	var o setOptions
	var expOpt, expVal []byte
	for i := 3; i < len(args); i++ {
		a := args[i]
		switch {
		case equalFold(a, "nx") && !o.xx:
			o.nx = true
		case equalFold(a, "xx") && !o.nx:
			o.xx = true
		case equalFold(a, "get"):
			o.get = true
		case equalFold(a, "keepttl") && !o.hasExpire:
			o.keepTTL = true
		case (equalFold(a, "ex") || equalFold(a, "px") || equalFold(a, "exat") || equalFold(a, "pxat")) &&
			!o.keepTTL && !o.hasExpire && i+1 < len(args):
			expOpt, expVal, o.hasExpire = a, args[i+1], true
			i++
		default:
			c.out.Error(errSyntax)
			return o, false
		}
	}
	// The time is checked once the syntax is known good, as Redis does.
	if o.hasExpire {
		at, ok := c.expireArg(expOpt, expVal, nowMs, "set")
		if !ok {
			return o, false
		}
		o.expire = at
	}
	return o, true
}

func cmdSet(c *Conn, args [][]byte) {
	key, val := args[1], args[2]
	t := c.lock(key)
	defer c.unlock(t)
	o, ok := c.parseSetOptions(args, t.NowMs())
	if !ok {
		return
	}
	var old *keyspace.Entry
	if o.get {
		old = t.Lookup(key) // GET reads as GET does: stats, keymiss
	} else {
		old = t.Peek(key)
	}
	if o.get && old != nil && old.Type() != keyspace.TypeString {
		c.out.Error(errWrongType)
		return
	}
	if (o.nx && old != nil) || (o.xx && old == nil) {
		if o.get {
			c.replyValue(old)
		} else {
			c.out.Null()
		}
		return
	}
	if o.get {
		c.replyValue(old) // written before the value changes under it
	}
	expire := o.expire
	if o.keepTTL && old != nil {
		expire = old.Expire()
	}
	if o.hasExpire && expire <= t.NowMs() {
		if old != nil {
			t.DeleteEntry(old)
			c.notify(notifyGeneric, "del", key)
		}
	} else {
		t.SetString(key, val, 0, expire)
		c.notify(notifyString, "set", key)
		if o.hasExpire {
			c.notify(notifyGeneric, "expire", key)
		}
	}
	if !o.get {
		c.out.OK()
	}
}

// replyValue writes a string entry's value, or null.
func (c *Conn) replyValue(e *keyspace.Entry) {
	if e == nil {
		c.out.Null()
		return
	}
	c.out.Bulk(e.Value())
}

func cmdSetNX(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	if t.Peek(args[1]) != nil {
		c.out.Int(0)
	} else {
		t.SetString(args[1], args[2], 0, 0)
		c.notify(notifyString, "set", args[1])
		c.out.Int(1)
	}
	c.unlock(t)
}

func (c *Conn) setWithTTL(args [][]byte, unit string) {
	n, ok := parseInt(args[2])
	if !ok {
		c.out.Error(errNotInteger)
		return
	}
	name := "setex"
	if unit == "px" {
		name = "psetex"
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	at, ok := c.expireArg([]byte(unit), args[2], t.NowMs(), name)
	_ = n
	if !ok {
		return
	}
	t.SetString(args[1], args[3], 0, at)
	c.notify(notifyString, "set", args[1])
	c.notify(notifyGeneric, "expire", args[1])
	c.out.OK()
}

func cmdSetEX(c *Conn, args [][]byte)  { c.setWithTTL(args, "ex") }
func cmdPSetEX(c *Conn, args [][]byte) { c.setWithTTL(args, "px") }

func cmdMGet(c *Conn, args [][]byte) {
	keys := args[1:]
	c.out.Array(len(keys))
	for _, k := range keys {
		t := c.lock(k)
		e := t.Lookup(k)
		if e == nil || e.Type() != keyspace.TypeString {
			c.out.Null()
		} else {
			c.out.Bulk(e.Value())
		}
		c.unlock(t)
	}
}

func cmdMSet(c *Conn, args [][]byte) {
	if len(args)%2 != 1 {
		c.out.Error(errArgs(c.srv.table["mset"]))
		return
	}
	t := c.lockStep(args, 1, 2)
	for i := 1; i < len(args); i += 2 {
		t.SetString(args[i], args[i+1], 0, 0)
		c.notify(notifyString, "set", args[i])
	}
	c.unlock(t)
	c.out.OK()
}

func cmdMSetNX(c *Conn, args [][]byte) {
	if len(args)%2 != 1 {
		c.out.Error(errArgs(c.srv.table["msetnx"]))
		return
	}
	t := c.lockStep(args, 1, 2)
	defer c.unlock(t)
	for i := 1; i < len(args); i += 2 {
		if t.Peek(args[i]) != nil {
			c.out.Int(0)
			return
		}
	}
	for i := 1; i < len(args); i += 2 {
		t.SetString(args[i], args[i+1], 0, 0)
		c.notify(notifyString, "set", args[i])
	}
	c.out.Int(1)
}

func cmdGetSet(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	old := t.Lookup(args[1]) // read as GET does: stats, keymiss
	if c.wrongType(old, keyspace.TypeString) {
		return
	}
	c.replyValue(old)
	t.SetString(args[1], args[2], 0, 0)
	c.notify(notifyString, "set", args[1])
}

func cmdGetDel(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	e, ok := c.lookupString(t, args[1])
	if !ok {
		return
	}
	c.replyValue(e)
	if e != nil {
		t.DeleteEntry(e)
		c.notify(notifyGeneric, "del", args[1])
	}
}

func cmdGetEx(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	var expire int64
	var expOpt, expVal []byte
	persist, set := false, false
	for i := 2; i < len(args); i++ {
		a := args[i]
		switch {
		case equalFold(a, "persist") && !set && !persist:
			persist = true
		case (equalFold(a, "ex") || equalFold(a, "px") || equalFold(a, "exat") || equalFold(a, "pxat")) &&
			!set && !persist && i+1 < len(args):
			expOpt, expVal, set = a, args[i+1], true
			i++
		default:
			c.out.Error(errSyntax)
			return
		}
	}
	// Redis answers a missing key or a wrong type before looking at the time.
	e, ok := c.lookupString(t, args[1])
	if !ok {
		return
	}
	if e == nil {
		c.out.Null()
		return
	}
	if set {
		if expire, ok = c.expireArg(expOpt, expVal, t.NowMs(), "getex"); !ok {
			return
		}
	}
	c.replyValue(e)
	switch {
	case e == nil:
	case set && expire <= t.NowMs():
		t.DeleteEntry(e)
		c.notify(notifyGeneric, "del", args[1])
	case set:
		t.SetExpire(e, expire)
		c.notify(notifyGeneric, "expire", args[1])
	case persist && e.Expire() != 0:
		t.SetExpire(e, 0)
		c.notify(notifyGeneric, "persist", args[1])
	}
}

func cmdAppend(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	e := t.Peek(args[1])
	if c.wrongType(e, keyspace.TypeString) {
		return
	}
	if e == nil {
		t.SetString(args[1], args[2], 0, 0)
		c.notify(notifyString, "append", args[1])
		c.out.Int(int64(len(args[2])))
		return
	}
	old := e.Value()
	if int64(len(old)+len(args[2])) > c.srv.maxStringSize() {
		c.out.Error(errStringTooBig)
		return
	}
	v := t.GrowValue(e, len(old)+len(args[2]))
	copy(v[len(v)-len(args[2]):], args[2])
	markString(t, e, markRaw)
	c.notify(notifyString, "append", args[1])
	c.out.Int(int64(len(e.Value())))
}

// concat joins a and b in a reusable scratch buffer.
func (c *Conn) concat(a, b []byte) []byte {
	buf := make([]byte, 0, len(a)+len(b))
	return append(append(buf, a...), b...)
}

func cmdStrlen(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	e, ok := c.lookupString(t, args[1])
	if ok {
		if e == nil {
			c.out.Int(0)
		} else {
			c.out.Int(int64(len(e.Value())))
		}
	}
	c.unlock(t)
}

func cmdGetRange(c *Conn, args [][]byte) {
	start, ok1 := parseInt(args[2])
	end, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.out.Error(errNotInteger)
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	e, ok := c.lookupString(t, args[1])
	if !ok {
		return
	}
	var v []byte
	if e != nil {
		v = e.Value()
	}
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		c.out.BulkString("")
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start = max(start, 0)
	end = max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		c.out.BulkString("")
		return
	}
	c.out.Bulk(v[start : end+1])
}

func cmdSetRange(c *Conn, args [][]byte) {
	off, ok := parseInt(args[2])
	if !ok {
		c.out.Error(errNotInteger)
		return
	}
	if off < 0 {
		c.out.Error("ERR offset is out of range")
		return
	}
	val := args[3]
	t := c.lock(args[1])
	defer c.unlock(t)
	e := t.Peek(args[1])
	if c.wrongType(e, keyspace.TypeString) {
		return
	}
	var old []byte
	if e != nil {
		old = e.Value()
	}
	if len(val) == 0 {
		c.out.Int(int64(len(old)))
		return
	}
	if off+int64(len(val)) > c.srv.maxStringSize() {
		c.out.Error(errStringTooBig)
		return
	}
	size := max(int64(len(old)), off+int64(len(val)))
	switch {
	case e == nil:
		buf := make([]byte, size)
		copy(buf[off:], val)
		e = t.SetString(args[1], buf, 0, 0)
	case size > int64(len(old)):
		copy(t.GrowValue(e, int(size))[off:], val)
	default:
		t.SetValue(e, old) // in place (a fresh copy if a snapshot reads it)
		copy(e.Value()[off:], val)
	}
	markString(t, e, markRaw)
	c.notify(notifyString, "setrange", args[1])
	c.out.Int(size)
}

func cmdIncrBy(c *Conn, args [][]byte) {
	n, ok := c.intArg(args[2])
	if ok {
		c.incrBy(args[1], n)
	}
}

func cmdDecrBy(c *Conn, args [][]byte) {
	n, ok := c.intArg(args[2])
	if !ok {
		return
	}
	if n == math.MinInt64 {
		c.out.Error("ERR decrement would overflow")
		return
	}
	c.incrBy(args[1], -n)
}

// incrBy adds delta to key's integer value (INCR, DECR, INCRBY, DECRBY),
// keeping its TTL.
func (c *Conn) incrBy(key []byte, delta int64) {
	t := c.lock(key)
	defer c.unlock(t)
	e := t.Peek(key)
	if c.wrongType(e, keyspace.TypeString) {
		return
	}
	var cur int64
	if e != nil {
		v, ok := parseInt(e.Value())
		if !ok {
			c.out.Error(errNotInteger)
			return
		}
		cur = v
	}
	if (delta > 0 && cur > math.MaxInt64-delta) || (delta < 0 && cur < math.MinInt64-delta) {
		c.out.Error(errOverflow)
		return
	}
	cur += delta
	var buf [20]byte
	v := strconv.AppendInt(buf[:0], cur, 10)
	if e == nil {
		t.SetString(key, v, 0, 0)
	} else {
		t.SetValue(e, v)
	}
	c.notify(notifyString, "incrby", key)
	c.out.Int(cur)
}

// longDouble is the precision of Redis's long double arithmetic (x87
// extended: a 64-bit mantissa), so INCRBYFLOAT rounds and prints as Redis.
const longDouble = 64

func cmdIncrByFloat(c *Conn, args [][]byte) {
	incr, ok := parseLongDouble(args[2])
	if !ok {
		c.out.Error(errNotFloat)
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	e := t.Peek(args[1])
	if c.wrongType(e, keyspace.TypeString) {
		return
	}
	cur := new(big.Float).SetPrec(longDouble)
	if e != nil {
		v, ok := parseLongDouble(e.Value())
		if !ok {
			c.out.Error(errNotFloat)
			return
		}
		cur = v
	}
	sum := new(big.Float).SetPrec(longDouble).Add(cur, incr)
	if sum.IsInf() {
		c.out.Error(errNaN)
		return
	}
	v := []byte(formatLongDouble(sum))
	if e == nil {
		e = t.SetString(args[1], v, 0, 0)
	} else {
		t.SetValue(e, v)
	}
	markString(t, e, markNoInt)
	c.logAs(bSET, args[1], v, []byte("KEEPTTL"))
	c.notify(notifyString, "incrbyfloat", args[1])
	c.out.Bulk(v)
}

// parseLongDouble parses a float argument at long double precision and
// range, as Redis's string2ld (shared with HINCRBYFLOAT).
func parseLongDouble(b []byte) (*big.Float, bool) { return parseLongDoubleArg(b) }

// formatLongDouble prints as Redis's "%.17Lf" with trailing zeros (and a
// trailing point) removed.
func formatLongDouble(x *big.Float) string {
	s := x.Text('f', 17)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

var (
	posInf = math.Inf(1)
	negInf = math.Inf(-1)
)
