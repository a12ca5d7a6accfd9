package memcache

import (
	"strconv"
	"time"

	"ferry/internal/keyspace"
)

// dispatch runs one parsed request (memcached protocol.txt, "Commands").
func (c *conn) dispatch(r *Request) {
	c.noreply = false
	c.verbose = c.srv.verbosity.Load() >= 2
	if len(r.Tokens) == 0 {
		c.reply(msgError)
		return
	}
	if c.verbose {
		c.srv.logf(2, "<%d %s", c.id, r.Line)
	}
	if p := c.srv.cfg.Persist; p != nil && c.refused(p, r) {
		return
	}
	t := r.Tokens
	switch string(t[0]) {
	case "get", "bget":
		if len(t) < 2 {
			c.reply(msgError)
			return
		}
		c.retrieve(t[1:], false, false, 0)
	case "gets":
		if len(t) < 2 {
			c.reply(msgError)
			return
		}
		c.retrieve(t[1:], true, false, 0)
	case "gat", "gats":
		c.gat(t)
	case "set":
		c.storeCmd(r, modeSet)
	case "add":
		c.storeCmd(r, modeAdd)
	case "replace":
		c.storeCmd(r, modeReplace)
	case "append":
		c.storeCmd(r, modeAppend)
	case "prepend":
		c.storeCmd(r, modePrepend)
	case "cas":
		c.storeCmd(r, modeCAS)
	case "delete":
		c.deleteCmd(t)
	case "incr":
		c.arith(t, true)
	case "decr":
		c.arith(t, false)
	case "touch":
		c.touchCmd(t)
	case "mg":
		c.metaGet(r)
	case "ms":
		c.metaSet(r)
	case "md":
		c.metaDelete(r)
	case "ma":
		c.metaArith(r)
	case "mn":
		c.counts[cmdMeta]++
		c.out = append(c.out, "MN\r\n"...)
	case "me":
		c.metaDebug(r)
	case "stats":
		c.statsCmd(t)
	case "flush_all":
		c.flushAll(t)
	case "version":
		c.reply("VERSION " + CompatVersion)
	case "verbosity":
		c.verbosityCmd(t)
	case "quit":
		c.closing = true
	case "shutdown":
		c.shutdownCmd(t)
	case "cache_memlimit":
		c.cacheMemlimit(t)
	case "slabs":
		c.slabsCmd(t)
	case "lru":
		c.lruCmd(t)
	case "lru_crawler":
		c.lruCrawlerCmd(t)
	default:
		c.reply(msgError)
	}
}

// refused answers requests the persistence layer cannot take now: every
// data command while the dataset loads, and changes while writes fail.
func (c *conn) refused(p Persistence, r *Request) bool {
	name := string(r.Tokens[0])
	switch name {
	case "version", "verbosity", "quit", "stats", "mn", "shutdown":
		return false
	}
	if p.Loading() {
		c.noreply = false
		c.reply("SERVER_ERROR Ferry is loading the dataset in memory")
		return true
	}
	switch name {
	case "get", "gets", "bget", "mg", "me":
		return false
	}
	if msg := p.WriteError(); msg != "" {
		c.noreply = false
		c.reply("SERVER_ERROR " + msg)
		return true
	}
	return false
}

// hasNoreply reports whether the request's last token is "noreply".
func hasNoreply(t [][]byte) bool {
	return len(t) > 1 && string(t[len(t)-1]) == "noreply"
}

// maxRelativeExptime: larger exptimes are absolute Unix times (memcached's
// REALTIME_MAXDELTA, 30 days).
const maxRelativeExptime = 60 * 60 * 24 * 30

// expireAt turns a memcached exptime into an absolute time in Unix ms (0 =
// never) and reports whether the item is already expired.
func expireAt(exptime, nowMs int64) (at int64, expired bool) {
	switch {
	case exptime == 0:
		return 0, false
	case exptime < 0:
		return 0, true
	case exptime > maxRelativeExptime:
		at = exptime * 1000
		return at, at <= nowMs
	default:
		return nowMs + exptime*1000, false
	}
}

// lookupItem finds a memcached item: a string value. Values of other Redis
// types are not items and read as misses.
func lookupItem(t *keyspace.Txn, key []byte) (*keyspace.Entry, bool) {
	e, expired := t.LookupExpired(key)
	if e != nil && e.Type() != keyspace.TypeString {
		return nil, false
	}
	return e, expired
}

func peekItem(t *keyspace.Txn, key []byte) *keyspace.Entry {
	e := t.Peek(key)
	if e != nil && e.Type() != keyspace.TypeString {
		return nil
	}
	return e
}

// retrieve answers get/gets (and gat/gats, with touch and its exptime).
func (c *conn) retrieve(keys [][]byte, withCAS, touch bool, exptime int64) {
	ks, db := c.srv.ks, c.srv.cfg.DB
	mark := len(c.out)
	for _, key := range keys {
		if len(key) > MaxKeyLen {
			// memcached drops the hits gathered so far and sends only this.
			c.out = c.out[:mark]
			c.reply(msgBadFormat)
			return
		}
		t := ks.Lock(db, key)
		e, expired := lookupItem(&t, key)
		if touch {
			c.counts[cmdTouch]++
			if e != nil {
				c.counts[touchHits]++
				c.classCounts.add(entryClass(e), slabTouchHits)
				at, gone := expireAt(exptime, t.NowMs())
				if gone {
					at = t.NowMs() // this reply still returns it
				}
				t.SetExpire(e, at)
			} else {
				c.counts[touchMisses]++
			}
		}
		c.counts[cmdGet]++
		if c.srv.detail.enabled.Load() {
			c.srv.detail.record(key, prefixGet)
			if e != nil {
				c.srv.detail.record(key, prefixHit)
			}
		}
		if e == nil {
			c.unlockKey(&t, key)
			c.counts[getMisses]++
			if expired {
				c.counts[getExpired]++
			}
			continue
		}
		c.counts[getHits]++
		c.classCounts.add(entryClass(e), slabGetHits)
		t.SetMarks(e, e.Marks()|markFetched)
		if n := len(e.Value()); n >= bigValue {
			c.reserveOut(n + len(key) + 64)
		}
		c.out = append(c.out, "VALUE "...)
		c.out = append(c.out, key...)
		c.out = append(c.out, ' ')
		c.out = strconv.AppendUint(c.out, uint64(e.Flags()), 10)
		c.out = append(c.out, ' ')
		v := e.Value()
		c.out = strconv.AppendUint(c.out, uint64(len(v)), 10)
		if withCAS {
			c.out = append(c.out, ' ')
			c.out = strconv.AppendUint(c.out, e.CAS(), 10)
		}
		c.out = append(c.out, "\r\n"...)
		c.out = append(c.out, v...)
		c.unlockKey(&t, key)
		c.out = append(c.out, "\r\n"...)
		if c.verbose {
			c.srv.logf(2, ">%d sending key %s", c.id, key)
		}
	}
	c.reply("END")
}

// gat: "gat|gats <exptime> <key>*".
func (c *conn) gat(t [][]byte) {
	if len(t) < 2 {
		c.reply(msgError)
		return
	}
	exptime, ok := parseExptime(t[1])
	if !ok {
		c.reply("CLIENT_ERROR invalid exptime argument")
		return
	}
	c.retrieve(t[2:], string(t[0]) == "gats", true, exptime)
}

type storeMode uint8

const (
	modeSet storeMode = iota
	modeAdd
	modeReplace
	modeAppend
	modePrepend
	modeCAS
)

// storeCmd runs set/add/replace/append/prepend/cas (protocol.txt "Storage
// commands"). The parser has checked the line and read the data block.
func (c *conn) storeCmd(r *Request, mode storeMode) {
	if !r.Storage {
		c.reply(msgError)
		return
	}
	c.noreply = r.NoReply
	ks, db := c.srv.ks, c.srv.cfg.DB
	if r.TooLarge {
		c.counts[storeTooLarge]++
		c.failedSet(mode, r.Key)
		c.reply(msgTooLarge)
		return
	}
	c.counts[cmdSet]++
	if c.srv.detail.enabled.Load() {
		c.srv.detail.record(r.Key, prefixSet)
	}
	if err := ks.Reserve(keyspace.ItemSize(len(r.Key), len(r.Data))); err != nil {
		c.counts[storeNoMemory]++
		c.srv.classes.outOfMemory[slabClass(itemSize(len(r.Key), len(r.Data), r.Flags))].Add(1)
		c.failedSet(mode, r.Key)
		c.reply(msgNoMemory)
		return
	}
	t := ks.Lock(db, r.Key)
	reply := c.storeLocked(&t, r, mode)
	c.unlockKey(&t, r.Key)
	c.reply(reply)
}

// failedSet applies memcached's rule that a set which cannot be stored
// removes the old value, so readers never see stale data.
func (c *conn) failedSet(mode storeMode, key []byte) {
	if mode != modeSet {
		return
	}
	t := c.srv.ks.Lock(c.srv.cfg.DB, key)
	if peekItem(&t, key) != nil {
		t.Delete(key)
	}
	c.unlockKey(&t, key)
}

func (c *conn) storeLocked(t *keyspace.Txn, r *Request, mode storeMode) string {
	key := r.Key
	var e *keyspace.Entry
	if mode == modeAdd {
		e = t.Peek(key) // any value, item or not, blocks an add
	} else {
		e = peekItem(t, key)
	}
	switch mode {
	case modeAdd:
		if e != nil {
			t.Touch(e) // memcached promotes the item even when add fails
			return msgNotStored
		}
	case modeReplace, modeAppend, modePrepend:
		if e == nil {
			return msgNotStored
		}
	case modeCAS:
		if e == nil {
			c.counts[casMisses]++
			return msgNotFound
		}
		if e.CAS() != r.CAS {
			c.counts[casBadval]++
			c.classCounts.add(entryClass(e), slabCasBadval)
			return msgExists
		}
		c.counts[casHits]++
		c.classCounts.add(entryClass(e), slabCasHits)
	}
	c.counts[totalItems]++
	c.classCounts.add(slabClass(itemSize(len(key), len(r.Data), r.Flags)), slabCmdSet)
	if mode == modeAppend || mode == modePrepend {
		old := e.Value()
		buf := c.scratch[:0]
		if mode == modeAppend {
			buf = append(append(buf, old...), r.Data...)
		} else {
			buf = append(append(buf, r.Data...), old...)
		}
		if itemSize(len(key), len(buf), e.Flags()) > c.srv.cfg.Limits.MaxItemSize {
			c.counts[totalItems]--
			return msgNotStored
		}
		t.SetValue(e, buf)
		c.keepScratch(buf)
		t.Touch(e)
		return msgStored
	}
	at, expired := expireAt(r.Exptime, t.NowMs())
	if expired {
		// Stored already expired: the old value is gone, nothing readable.
		if e != nil {
			t.DeleteEntry(e)
		}
		return msgStored
	}
	t.SetString(key, r.Data, r.Flags, at)
	return msgStored
}

// keepScratch keeps a grown scratch buffer for reuse unless it is huge.
func (c *conn) keepScratch(b []byte) {
	if cap(b) <= 64<<10 {
		c.scratch = b[:0]
	}
}

// deleteCmd: "delete <key> [0] [noreply]". memcached still accepts the old
// time argument when it is exactly 0.
func (c *conn) deleteCmd(t [][]byte) {
	if len(t) < 2 || len(t) > 4 {
		c.reply(msgError)
		return
	}
	c.noreply = hasNoreply(t)
	if len(t) > 2 {
		valid := (len(t) == 3 && (string(t[2]) == "0" || c.noreply)) ||
			(len(t) == 4 && string(t[2]) == "0" && c.noreply)
		if !valid {
			c.reply("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]")
			return
		}
	}
	key := t[1]
	if len(key) > MaxKeyLen {
		c.reply(msgBadFormat)
		return
	}
	if c.srv.detail.enabled.Load() {
		c.srv.detail.record(key, prefixDel)
	}
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	e := peekItem(&tx, key)
	found := e != nil
	if found {
		c.classCounts.add(entryClass(e), slabDeleteHits)
		tx.DeleteEntry(e)
	}
	c.unlockKey(&tx, key)
	if found {
		c.counts[deleteHits]++
		c.reply("DELETED")
	} else {
		c.counts[deleteMisses]++
		c.reply(msgNotFound)
	}
}

// keyCommand checks the shape "<cmd> <key> <arg> [noreply]" shared by
// incr, decr and touch (a fourth token other than noreply is ignored, as
// memcached does), sets noreply, and returns the key. On bad input it
// replies and reports false.
func (c *conn) keyCommand(t [][]byte) ([]byte, bool) {
	if len(t) != 3 && len(t) != 4 {
		c.reply(msgError)
		return nil, false
	}
	c.noreply = hasNoreply(t)
	if len(t[1]) > MaxKeyLen {
		c.reply(msgBadFormat)
		return nil, false
	}
	return t[1], true
}

// arith: "incr|decr <key> <delta> [noreply]". Values are decimal unsigned
// 64-bit numbers; incr wraps around, decr stops at 0.
func (c *conn) arith(t [][]byte, incr bool) {
	key, ok := c.keyCommand(t)
	if !ok {
		return
	}
	delta, ok := parseUint(t[2])
	if !ok {
		c.reply("CLIENT_ERROR invalid numeric delta argument")
		return
	}
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	v, res := c.applyDelta(&tx, key, delta, incr)
	c.unlockKey(&tx, key)
	switch res {
	case deltaMiss:
		if incr {
			c.counts[incrMisses]++
		} else {
			c.counts[decrMisses]++
		}
		c.reply(msgNotFound)
	case deltaNonNumeric:
		c.reply(msgNonNumeric)
	default:
		if incr {
			c.counts[incrHits]++
		} else {
			c.counts[decrHits]++
		}
		c.replyUint(v)
	}
}

type deltaResult uint8

const (
	deltaOK deltaResult = iota
	deltaMiss
	deltaNonNumeric
)

// applyDelta does incr/decr on key's item in a locked Txn.
func (c *conn) applyDelta(t *keyspace.Txn, key []byte, delta uint64, incr bool) (uint64, deltaResult) {
	e := peekItem(t, key)
	if e == nil {
		return 0, deltaMiss
	}
	cur, ok := parseCounter(e.Value())
	if !ok {
		return 0, deltaNonNumeric
	}
	if incr {
		cur += delta // wraps at 2^64, as memcached
	} else if delta > cur {
		cur = 0
	} else {
		cur -= delta
	}
	var buf [20]byte
	t.SetValue(e, strconv.AppendUint(buf[:0], cur, 10))
	t.Touch(e)
	if incr {
		c.classCounts.add(entryClass(e), slabIncrHits)
	} else {
		c.classCounts.add(entryClass(e), slabDecrHits)
	}
	return cur, deltaOK
}

// parseCounter reads an item as memcached's strtoull does for incr/decr:
// optional leading spaces and '+', digits, then nothing but whitespace
// (older servers space-padded decremented values).
func parseCounter(v []byte) (uint64, bool) {
	i := 0
	for i < len(v) && v[i] == ' ' {
		i++
	}
	end := len(v)
	for end > i && (v[end-1] == ' ' || v[end-1] == '\r' || v[end-1] == '\n' || v[end-1] == '\t') {
		end--
	}
	return parseUint(v[i:end])
}

// touchCmd: "touch <key> <exptime> [noreply]".
func (c *conn) touchCmd(t [][]byte) {
	key, ok := c.keyCommand(t)
	if !ok {
		return
	}
	exptime, ok := parseExptime(t[2])
	if !ok {
		c.reply("CLIENT_ERROR invalid exptime argument")
		return
	}
	c.counts[cmdTouch]++
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	e := peekItem(&tx, key)
	if e != nil {
		c.classCounts.add(entryClass(e), slabTouchHits)
		at, gone := expireAt(exptime, tx.NowMs())
		if gone {
			tx.DeleteEntry(e)
		} else {
			tx.SetExpire(e, at)
			tx.Touch(e)
		}
	}
	c.unlockKey(&tx, key)
	if e == nil {
		c.counts[touchMisses]++
		c.reply(msgNotFound)
		return
	}
	c.counts[touchHits]++
	c.reply("TOUCHED")
}

// flushAll: "flush_all [delay] [noreply]". A delay of 0 or less flushes
// now; the last flush_all replaces a pending one.
func (c *conn) flushAll(t [][]byte) {
	if len(t) > 3 {
		c.reply(msgError)
		return
	}
	c.noreply = hasNoreply(t)
	c.counts[cmdFlush]++
	var delay int64
	if len(t) == 3 || (len(t) == 2 && !c.noreply) {
		d, ok := parseExptime(t[1])
		if !ok {
			c.reply("CLIENT_ERROR invalid exptime argument")
			return
		}
		delay = d
	}
	var wait time.Duration
	if delay > maxRelativeExptime {
		wait = time.Unix(delay, 0).Sub(c.srv.ks.Clock().Now())
	} else if delay > 0 {
		wait = time.Duration(delay) * time.Second
	}
	if off := c.srv.scheduleFlush(wait); off > c.logOffset {
		c.logOffset = off
	}
	c.reply("OK")
}

// verbosityCmd: "verbosity <level> [noreply]".
func (c *conn) verbosityCmd(t [][]byte) {
	if len(t) != 2 && len(t) != 3 {
		c.reply(msgError)
		return
	}
	c.noreply = hasNoreply(t)
	level, ok := parseUint(t[1])
	if !ok {
		c.reply(msgBadFormat)
		return
	}
	c.srv.verbosity.Store(int32(min(level, 2)))
	c.reply("OK")
}

// cacheMemlimit: "cache_memlimit <megabytes> [noreply]".
func (c *conn) cacheMemlimit(t [][]byte) {
	if len(t) != 2 && len(t) != 3 {
		c.reply(msgError)
		return
	}
	c.noreply = hasNoreply(t)
	mb, ok := parseUint(t[1])
	switch {
	case !ok:
		c.reply(msgError)
	case mb < 8:
		c.reply("MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m")
	case mb > 1000000000:
		c.reply("MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes")
	default:
		c.srv.ks.SetMaxMemory(int64(mb) << 20)
		c.reply("OK")
	}
}

// shutdownCmd: "shutdown [graceful]", only when started with -A.
func (c *conn) shutdownCmd(t [][]byte) {
	if !c.srv.cfg.ShutdownEnabled || c.srv.cfg.Shutdown == nil {
		c.reply("ERROR: shutdown not enabled")
		return
	}
	if len(t) > 2 || (len(t) == 2 && string(t[1]) != "graceful") {
		c.reply("CLIENT_ERROR invalid shutdown mode")
		return
	}
	c.closing = true
	go c.srv.cfg.Shutdown()
}
