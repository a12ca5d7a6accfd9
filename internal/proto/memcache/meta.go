package memcache

import (
	"encoding/base64"
	"strconv"

	"ferry/internal/keyspace"
)

// Item marks kept in the entry's mark byte (keyspace.Entry.Marks).
const (
	markFetched   = 1 << 0 // read at least once (mg h, me fetch)
	markStale     = 1 << 1 // invalidated by md I / ms I (mg X)
	markTokenSent = 1 << 2 // a client has been told it won the recache (mg W/Z)
)

// maxOpaque is the longest opaque token memcached echoes.
const maxOpaque = 32

// metaFlags are a meta request's parsed flags. Return flags are echoed in
// request order, so the raw tokens are kept.
type metaFlags struct {
	seen   [128]bool
	tok    [128][]byte // argument of flags that take one
	order  []byte      // flag letters in request order
	errMsg string
}

func (f *metaFlags) has(c byte) bool { return f.seen[c] }

// num parses flag c's numeric token.
func (f *metaFlags) num(c byte) (int64, bool) { return parseInt(f.tok[c]) }

func (f *metaFlags) unum(c byte) (uint64, bool) { return parseUint(f.tok[c]) }

// parseMetaFlags reads flag tokens. noArg and withArg list the flags the
// command knows; P and L (proxy hints) are accepted and ignored by all.
func (c *conn) parseMetaFlags(toks [][]byte, noArg, withArg string) *metaFlags {
	f := &c.meta
	*f = metaFlags{order: f.order[:0]}
	for _, t := range toks {
		fl := t[0]
		if fl >= 128 {
			f.errMsg = "CLIENT_ERROR invalid flag"
			return f
		}
		switch {
		case fl == 'P' || fl == 'L':
			continue
		case indexByte(withArg, fl):
			if len(t) < 2 {
				f.errMsg = "CLIENT_ERROR bad token in command line format"
				return f
			}
			f.tok[fl] = t[1:]
		case indexByte(noArg, fl):
			if len(t) != 1 {
				f.errMsg = "CLIENT_ERROR invalid flag"
				return f
			}
		default:
			f.errMsg = "CLIENT_ERROR invalid flag"
			return f
		}
		if f.seen[fl] {
			f.errMsg = "CLIENT_ERROR duplicate flag"
			return f
		}
		f.seen[fl] = true
		f.order = append(f.order, fl)
	}
	if f.seen['O'] && len(f.tok['O']) > maxOpaque {
		f.errMsg = "CLIENT_ERROR opaque token too long"
	}
	return f
}

func indexByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// metaKey decodes the key (base64 with the b flag) and checks its length.
func (c *conn) metaKey(raw []byte, f *metaFlags) ([]byte, string) {
	key := raw
	if f.has('b') {
		n, err := base64.StdEncoding.Decode(c.keyBuf[:], raw)
		if err != nil || len(raw) > base64.StdEncoding.EncodedLen(MaxKeyLen) {
			return nil, "CLIENT_ERROR error decoding key"
		}
		key = c.keyBuf[:n]
	}
	if len(key) == 0 || len(key) > MaxKeyLen {
		return nil, msgBadFormat
	}
	return key, ""
}

// metaResult collects what return flags may report.
type metaResult struct {
	e       *keyspace.Entry // nil after a miss or a delete
	rawKey  []byte          // key as the client sent it
	ttl     int64           // remaining seconds, -1 = none
	hitPrev bool            // h: fetched before this request
	idleSec int64           // l: seconds since last access before this request
	win     bool
	stale   bool
	lost    bool // Z: another client won
	size    int
}

// appendMetaFlags echoes the requested return flags in request order, then
// W, X and Z.
func (c *conn) appendMetaFlags(f *metaFlags, res *metaResult) {
	for _, fl := range f.order {
		switch fl {
		case 'O':
			c.out = append(c.out, " O"...)
			c.out = append(c.out, f.tok['O']...)
		case 'k':
			c.out = append(c.out, " k"...)
			c.out = append(c.out, res.rawKey...)
		case 'b':
			if f.has('k') {
				c.out = append(c.out, " b"...)
			}
		case 'c':
			if res.e != nil {
				c.out = append(c.out, " c"...)
				c.out = strconv.AppendUint(c.out, res.e.CAS(), 10)
			}
		case 'f':
			if res.e != nil {
				c.out = append(c.out, " f"...)
				c.out = strconv.AppendUint(c.out, uint64(res.e.Flags()), 10)
			}
		case 's':
			if res.e != nil {
				c.out = append(c.out, " s"...)
				c.out = strconv.AppendInt(c.out, int64(res.size), 10)
			}
		case 't':
			if res.e != nil {
				c.out = append(c.out, " t"...)
				c.out = strconv.AppendInt(c.out, res.ttl, 10)
			}
		case 'h':
			if res.e != nil {
				c.out = append(c.out, " h"...)
				c.out = append(c.out, "01"[boolInt(res.hitPrev)])
			}
		case 'l':
			if res.e != nil {
				c.out = append(c.out, " l"...)
				c.out = strconv.AppendInt(c.out, res.idleSec, 10)
			}
		}
	}
	if res.win {
		c.out = append(c.out, " W"...)
	}
	if res.stale {
		c.out = append(c.out, " X"...)
	}
	if res.lost {
		c.out = append(c.out, " Z"...)
	}
}

// metaLine writes "<code><flags>\r\n".
func (c *conn) metaLine(code string, f *metaFlags, res *metaResult) {
	c.out = append(c.out, code...)
	c.appendMetaFlags(f, res)
	c.out = append(c.out, "\r\n"...)
}

func remainingTTL(e *keyspace.Entry, nowMs int64) int64 {
	if e.Expire() == 0 {
		return -1
	}
	return (e.Expire() - nowMs + 999) / 1000
}

// metaGet: "mg <key> <flags>*" (protocol.txt "Meta Get").
func (c *conn) metaGet(r *Request) {
	c.counts[cmdMeta]++
	t := r.Tokens
	if len(t) < 2 {
		c.reply(msgError)
		return
	}
	f := c.parseMetaFlags(t[2:], "bcfhklqstuv", "ONRTE")
	if f.errMsg != "" {
		c.reply(f.errMsg)
		return
	}
	key, msg := c.metaKey(t[1], f)
	if msg != "" {
		c.reply(msg)
		return
	}
	var ttlTok, vivify, recache int64
	var ok bool
	if f.has('T') {
		if ttlTok, ok = f.num('T'); !ok {
			c.reply("CLIENT_ERROR bad token in command line format")
			return
		}
	}
	if f.has('N') {
		if vivify, ok = f.num('N'); !ok {
			c.reply("CLIENT_ERROR bad token in command line format")
			return
		}
	}
	if f.has('R') {
		if recache, ok = f.num('R'); !ok {
			c.reply("CLIENT_ERROR bad token in command line format")
			return
		}
	}
	res := metaResult{rawKey: t[1]}
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	defer tx.Unlock()
	e := peekItem(&tx, key)
	c.counts[cmdGet]++
	if f.has('T') {
		c.counts[cmdTouch]++
	}
	if e == nil {
		c.counts[getMisses]++
		if f.has('T') {
			c.counts[touchMisses]++
		}
		if !f.has('N') {
			if !f.has('q') {
				c.out = append(c.out, "EN\r\n"...)
			}
			return
		}
		// Vivify: an empty placeholder whose creator wins the recache.
		at, gone := expireAt(vivify, tx.NowMs())
		if gone {
			at = tx.NowMs() + 1
		}
		e = tx.SetString(key, nil, 0, at)
		tx.SetMarks(e, markTokenSent)
		res.win = true
	} else {
		c.counts[getHits]++
		c.classCounts.add(entryClass(e), slabGetHits)
		marks := e.Marks()
		res.hitPrev = marks&markFetched != 0
		res.idleSec = tx.IdleMs(e) / 1000
		if f.has('T') {
			c.counts[touchHits]++
			c.classCounts.add(entryClass(e), slabTouchHits)
			at, gone := expireAt(ttlTok, tx.NowMs())
			if gone {
				at = tx.NowMs() // expires now; this reply still shows it
			}
			tx.SetExpire(e, at)
		}
		if !f.has('u') {
			tx.Touch(e)
			marks |= markFetched
		}
		switch {
		case marks&markStale != 0:
			res.stale = true
			if marks&markTokenSent == 0 {
				res.win = true
				marks |= markTokenSent
			}
		case f.has('R') && e.Expire() != 0 && remainingTTL(e, tx.NowMs()) < recache:
			if marks&markTokenSent == 0 {
				res.win = true
				marks |= markTokenSent
			}
		}
		res.lost = !res.win && marks&markTokenSent != 0
		tx.SetMarks(e, marks)
	}
	res.e = e
	res.ttl = remainingTTL(e, tx.NowMs())
	v := e.Value()
	res.size = len(v)
	if f.has('v') {
		c.out = append(c.out, "VA "...)
		c.out = strconv.AppendInt(c.out, int64(len(v)), 10)
		c.appendMetaFlags(f, &res)
		c.out = append(c.out, "\r\n"...)
		c.out = append(c.out, v...)
		c.out = append(c.out, "\r\n"...)
		return
	}
	c.metaLine("HD", f, &res)
}

// metaSet: "ms <key> <datalen> <flags>*" + data (protocol.txt "Meta Set").
func (c *conn) metaSet(r *Request) {
	if !r.Storage {
		c.reply(msgError)
		return
	}
	c.counts[cmdMeta]++
	c.counts[cmdSet]++
	t := r.Tokens
	f := c.parseMetaFlags(t[3:], "bcIkqs", "CEFMNOT")
	if f.errMsg != "" {
		c.reply(f.errMsg)
		return
	}
	key, msg := c.metaKey(t[1], f)
	if msg != "" {
		c.reply(msg)
		return
	}
	mode := modeSet
	if f.has('M') {
		m := f.tok['M']
		if len(m) != 1 {
			c.reply("CLIENT_ERROR invalid mode for ms M token")
			return
		}
		switch m[0] {
		case 'E', 'e':
			mode = modeAdd
		case 'A', 'a':
			mode = modeAppend
		case 'P', 'p':
			mode = modePrepend
		case 'R', 'r':
			mode = modeReplace
		case 'S', 's':
			mode = modeSet
		default:
			c.reply("CLIENT_ERROR invalid mode for ms M token")
			return
		}
	}
	var flags, cas, newCAS uint64
	var exptime int64
	ok := true
	if f.has('F') {
		flags, ok = f.unum('F')
		ok = ok && flags <= 1<<32-1
	}
	if ok && f.has('T') {
		exptime, ok = f.num('T')
	}
	if ok && f.has('C') {
		cas, ok = f.unum('C')
	}
	if ok && f.has('E') {
		newCAS, ok = f.unum('E')
	}
	if !ok {
		c.reply("CLIENT_ERROR bad token in command line format")
		return
	}
	res := metaResult{rawKey: t[1]}
	if r.TooLarge {
		c.counts[storeTooLarge]++
		c.failedSet(mode, key)
		c.reply(msgTooLarge)
		return
	}
	if err := c.srv.ks.Reserve(keyspace.ItemSize(len(key), len(r.Data))); err != nil {
		c.counts[storeNoMemory]++
		c.failedSet(mode, key)
		c.reply(msgNoMemory)
		return
	}
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	defer tx.Unlock()
	var e *keyspace.Entry
	if mode == modeAdd {
		e = tx.Peek(key)
	} else {
		e = peekItem(&tx, key)
	}
	code := "HD"
	stale := false
	switch {
	case f.has('C') && e == nil:
		c.counts[casMisses]++
		code = "NF"
	case f.has('C') && e.CAS() != cas:
		if f.has('I') && cas < e.CAS() {
			stale = true // stored, but marked stale for readers
			c.counts[casHits]++
		} else {
			c.counts[casBadval]++
			code = "EX"
		}
	case mode == modeAdd && e != nil:
		tx.Touch(e)
		code = "NS"
	case (mode == modeReplace || mode == modeAppend || mode == modePrepend) && e == nil:
		code = "NS"
	case f.has('C'):
		c.counts[casHits]++
	}
	if code == "HD" {
		c.counts[totalItems]++
		if mode == modeAppend || mode == modePrepend {
			buf := c.scratch[:0]
			if mode == modeAppend {
				buf = append(append(buf, e.Value()...), r.Data...)
			} else {
				buf = append(append(buf, r.Data...), e.Value()...)
			}
			tx.SetValue(e, buf)
			c.keepScratch(buf)
			tx.Touch(e)
		} else {
			at, gone := expireAt(exptime, tx.NowMs())
			if gone {
				at = tx.NowMs() // stored already expired: no reader sees it
			}
			e = tx.SetString(key, r.Data, uint32(flags), at)
		}
		if stale {
			tx.SetMarks(e, markStale)
		}
		if f.has('E') {
			tx.SetCAS(e, newCAS)
		}
		c.classCounts.add(entryClass(e), slabCmdSet)
		res.e = e
		res.size = len(e.Value())
		res.ttl = remainingTTL(e, tx.NowMs())
		if f.has('q') {
			return
		}
	}
	c.metaLine(code, f, &res)
}

// metaDelete: "md <key> <flags>*" (protocol.txt "Meta Delete").
func (c *conn) metaDelete(r *Request) {
	c.counts[cmdMeta]++
	t := r.Tokens
	if len(t) < 2 {
		c.reply(msgError)
		return
	}
	f := c.parseMetaFlags(t[2:], "bIkqx", "CEOT")
	if f.errMsg != "" {
		c.reply(f.errMsg)
		return
	}
	key, msg := c.metaKey(t[1], f)
	if msg != "" {
		c.reply(msg)
		return
	}
	var cas, newCAS uint64
	var exptime int64
	ok := true
	if f.has('C') {
		cas, ok = f.unum('C')
	}
	if ok && f.has('E') {
		newCAS, ok = f.unum('E')
	}
	if ok && f.has('T') {
		exptime, ok = f.num('T')
	}
	if !ok {
		c.reply("CLIENT_ERROR bad token in command line format")
		return
	}
	res := metaResult{rawKey: t[1]}
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	defer tx.Unlock()
	e := peekItem(&tx, key)
	code := "HD"
	switch {
	case e == nil:
		c.counts[deleteMisses]++
		code = "NF"
	case f.has('C') && e.CAS() != cas:
		code = "EX"
	case f.has('I'):
		// Invalidate: keep the value for stale reads, bump the CAS.
		c.counts[deleteHits]++
		c.classCounts.add(entryClass(e), slabDeleteHits)
		tx.Bump(e)
		tx.SetMarks(e, (e.Marks()|markStale)&^markTokenSent)
		if f.has('T') {
			at, gone := expireAt(exptime, tx.NowMs())
			if gone {
				at = tx.NowMs()
			}
			tx.SetExpire(e, at)
		}
		if f.has('E') {
			tx.SetCAS(e, newCAS)
		}
	case f.has('x'):
		// Remove the value but keep the item.
		c.counts[deleteHits]++
		c.classCounts.add(entryClass(e), slabDeleteHits)
		tx.SetValue(e, nil)
		tx.SetFlags(e, 0)
	default:
		c.counts[deleteHits]++
		c.classCounts.add(entryClass(e), slabDeleteHits)
		tx.DeleteEntry(e)
	}
	if code == "HD" && f.has('q') {
		return
	}
	c.metaLine(code, f, &res)
}

// metaArith: "ma <key> <flags>*" (protocol.txt "Meta Arithmetic").
func (c *conn) metaArith(r *Request) {
	c.counts[cmdMeta]++
	t := r.Tokens
	if len(t) < 2 {
		c.reply(msgError)
		return
	}
	f := c.parseMetaFlags(t[2:], "bcktqv", "CEDJMNOT")
	if f.errMsg != "" {
		c.reply(f.errMsg)
		return
	}
	key, msg := c.metaKey(t[1], f)
	if msg != "" {
		c.reply(msg)
		return
	}
	incr := true
	if f.has('M') {
		m := f.tok['M']
		switch {
		case len(m) == 1 && (m[0] == 'I' || m[0] == 'i' || m[0] == '+'):
		case len(m) == 1 && (m[0] == 'D' || m[0] == 'd' || m[0] == '-'):
			incr = false
		default:
			c.reply("CLIENT_ERROR invalid mode for ma M token")
			return
		}
	}
	delta, initial, cas, newCAS := uint64(1), uint64(0), uint64(0), uint64(0)
	var vivify, exptime int64
	ok := true
	if f.has('D') {
		delta, ok = f.unum('D')
		if !ok {
			c.reply("CLIENT_ERROR invalid numeric delta argument")
			return
		}
	}
	if f.has('J') {
		initial, ok = f.unum('J')
	}
	if ok && f.has('N') {
		vivify, ok = f.num('N')
	}
	if ok && f.has('T') {
		exptime, ok = f.num('T')
	}
	if ok && f.has('C') {
		cas, ok = f.unum('C')
	}
	if ok && f.has('E') {
		newCAS, ok = f.unum('E')
	}
	if !ok {
		c.reply("CLIENT_ERROR bad token in command line format")
		return
	}
	res := metaResult{rawKey: t[1]}
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	defer tx.Unlock()
	e := peekItem(&tx, key)
	var v uint64
	switch {
	case e == nil && f.has('N'):
		at, gone := expireAt(vivify, tx.NowMs())
		if gone {
			at = tx.NowMs()
		}
		var buf [20]byte
		e = tx.SetString(key, strconv.AppendUint(buf[:0], initial, 10), 0, at)
		v = initial
	case e == nil:
		if incr {
			c.counts[incrMisses]++
		} else {
			c.counts[decrMisses]++
		}
		c.metaLine("NF", f, &res)
		return
	case f.has('C') && e.CAS() != cas:
		c.metaLine("EX", f, &res)
		return
	default:
		var dr deltaResult
		v, dr = c.applyDelta(&tx, key, delta, incr)
		if dr == deltaNonNumeric {
			c.reply(msgNonNumeric)
			return
		}
		if incr {
			c.counts[incrHits]++
		} else {
			c.counts[decrHits]++
		}
		if f.has('T') {
			at, gone := expireAt(exptime, tx.NowMs())
			if gone {
				at = tx.NowMs()
			}
			tx.SetExpire(e, at)
		}
	}
	if f.has('E') {
		tx.SetCAS(e, newCAS)
	}
	res.e = e
	res.ttl = remainingTTL(e, tx.NowMs())
	if f.has('v') {
		var buf [20]byte
		num := strconv.AppendUint(buf[:0], v, 10)
		c.out = append(c.out, "VA "...)
		c.out = strconv.AppendInt(c.out, int64(len(num)), 10)
		c.appendMetaFlags(f, &res)
		c.out = append(c.out, "\r\n"...)
		c.out = append(c.out, num...)
		c.out = append(c.out, "\r\n"...)
		return
	}
	if f.has('q') {
		return
	}
	c.metaLine("HD", f, &res)
}

// metaDebug: "me <key> [b]" (protocol.txt "Meta Debug").
func (c *conn) metaDebug(r *Request) {
	c.counts[cmdMeta]++
	t := r.Tokens
	if len(t) < 2 {
		c.reply(msgError)
		return
	}
	f := c.parseMetaFlags(t[2:], "b", "")
	if f.errMsg != "" {
		c.reply(f.errMsg)
		return
	}
	key, msg := c.metaKey(t[1], f)
	if msg != "" {
		c.reply(msg)
		return
	}
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	defer tx.Unlock()
	e := peekItem(&tx, key)
	if e == nil {
		c.out = append(c.out, "EN\r\n"...)
		return
	}
	c.out = append(c.out, "ME "...)
	c.out = append(c.out, t[1]...)
	c.out = append(c.out, " exp="...)
	c.out = strconv.AppendInt(c.out, remainingTTL(e, tx.NowMs()), 10)
	c.out = append(c.out, " la="...)
	c.out = strconv.AppendInt(c.out, tx.IdleMs(e)/1000, 10)
	c.out = append(c.out, " cas="...)
	c.out = strconv.AppendUint(c.out, e.CAS(), 10)
	c.out = append(c.out, " fetch="...)
	c.out = append(c.out, yesNo(e.Marks()&markFetched != 0)...)
	c.out = append(c.out, " cls="...)
	c.out = strconv.AppendInt(c.out, int64(entryClass(e)), 10)
	c.out = append(c.out, " size="...)
	c.out = strconv.AppendInt(c.out, int64(itemSize(len(key), len(e.Value()))), 10)
	c.out = append(c.out, "\r\n"...)
}
