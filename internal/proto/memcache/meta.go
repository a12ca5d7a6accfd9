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
	markTokenSent = 1 << 2 // a client has been told it won the recache (mg W, then Z)
)

const (
	maxOpaque     = 32 // longest opaque token, the 'O' included
	maxMetaFlags  = 17 // flags per meta command
	maxMetaTokens = 3 + maxMetaFlags
)

// metaKnown are the flags every meta command accepts (a flag meaningless
// to a command is ignored, as memcached does); metaWithArg take a token.
// E (set CAS) and x (md: drop value) are from memcached releases after
// 1.6.18.
const (
	metaKnown   = "bNTRlOPLkstcfvhuqFCMJDIEx"
	metaWithArg = "NTROPLFCMJDE"
)

// metaArgs are a meta request's parsed flags and arguments. order keeps the
// flags as sent, because return flags are echoed in request order.
type metaArgs struct {
	seen  [128]bool
	tok   [128][]byte
	order []byte

	ttl, vivify, recache int64  // T, N, R
	cas, newCAS          uint64 // C, E
	flags                uint32 // F
	mode                 byte   // M
	initial, delta       uint64 // J, D
}

func (m *metaArgs) has(c byte) bool { return m.seen[c] }

// parseMeta reads flag tokens into c.meta. It returns an error reply line,
// or "" when the flags are well formed.
func (c *conn) parseMeta(cmd string, toks [][]byte) (*metaArgs, string) {
	m := &c.meta
	*m = metaArgs{order: m.order[:0], delta: 1}
	if len(toks) > maxMetaFlags {
		if cmd == "mg" {
			return m, "CLIENT_ERROR options flags are too long"
		}
		return m, "CLIENT_ERROR options flags too long"
	}
	msg := m.preparse(toks)
	if msg != "" && (cmd == "md" || cmd == "ma") {
		msg = "CLIENT_ERROR invalid or duplicate flag"
	}
	return m, msg
}

func (m *metaArgs) preparse(toks [][]byte) string {
	for _, t := range toks {
		fl := t[0]
		if fl >= 128 || !contains(metaKnown, fl) {
			return "CLIENT_ERROR invalid flag"
		}
		if m.seen[fl] {
			return "CLIENT_ERROR duplicate flag"
		}
		m.seen[fl] = true
		m.order = append(m.order, fl)
		if !contains(metaWithArg, fl) {
			continue // memcached ignores what follows a flag without argument
		}
		arg := t[1:]
		m.tok[fl] = arg
		ok := true
		switch fl {
		case 'T':
			m.ttl, ok = parseExptime(arg)
		case 'N':
			m.vivify, ok = parseExptime(arg)
		case 'R':
			m.recache, ok = parseExptime(arg)
		case 'C':
			m.cas, ok = parseUint(arg)
		case 'E':
			m.newCAS, ok = parseUint(arg)
		case 'F':
			if m.flags, ok = parseFlags(arg); !ok {
				return msgBadFormat
			}
		case 'M':
			if len(arg) != 1 {
				return "CLIENT_ERROR incorrect length for M token"
			}
			m.mode = arg[0]
		case 'J':
			if m.initial, ok = parseUint(arg); !ok {
				return "CLIENT_ERROR invalid numeric initial value"
			}
		case 'D':
			if m.delta, ok = parseUint(arg); !ok {
				return "CLIENT_ERROR invalid numeric delta value"
			}
		case 'O':
			if len(t) > maxOpaque {
				return "CLIENT_ERROR opaque token too long"
			}
		}
		if !ok {
			return "CLIENT_ERROR bad token in command line format"
		}
	}
	return ""
}

func contains(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// metaRequest parses a meta command's flags (tokens from flagsFrom on)
// and key. On bad input it sends the error and reports false.
func (c *conn) metaRequest(cmd string, t [][]byte, flagsFrom int) (*metaArgs, []byte, bool) {
	c.counts[cmdMeta]++
	m, msg := c.parseMeta(cmd, t[flagsFrom:])
	var key []byte
	if msg == "" {
		key, msg = c.metaKey(t[1], m)
	}
	if msg != "" {
		c.reply(msg)
		return nil, nil, false
	}
	return m, key, true
}

// metaKey checks the key as sent and decodes it when the b flag asks.
func (c *conn) metaKey(raw []byte, m *metaArgs) ([]byte, string) {
	if len(raw) > MaxKeyLen {
		return nil, msgBadFormat
	}
	if !m.has('b') {
		return raw, ""
	}
	n, err := base64.StdEncoding.Decode(c.keyBuf[:], raw)
	if err != nil || n == 0 {
		return nil, "CLIENT_ERROR error decoding key"
	}
	return c.keyBuf[:n], ""
}

// echoKeyOpaque appends the O and k return flags, in request order. They
// are all that miss, not-found and exists replies carry.
func (c *conn) echoFlag(m *metaArgs, fl byte, rawKey []byte) {
	switch fl {
	case 'O':
		c.out = append(c.out, " O"...)
		c.out = append(c.out, m.tok['O']...)
	case 'k':
		c.out = append(c.out, " k"...)
		c.out = append(c.out, rawKey...)
		if m.has('b') {
			c.out = append(c.out, " b"...)
		}
	}
}

// metaStatus writes "<code>" and the O/k echoes.
func (c *conn) metaStatus(code string, m *metaArgs, rawKey []byte) {
	c.out = append(c.out, code...)
	for _, fl := range m.order {
		c.echoFlag(m, fl, rawKey)
	}
	c.out = append(c.out, "\r\n"...)
}

// remainingTTL is what the t flag shows: whole seconds left, -1 for none.
func remainingTTL(e *keyspace.Entry, nowMs int64) int64 {
	if e.Expire() == 0 {
		return -1
	}
	return (e.Expire() - nowMs + 999) / 1000
}

// metaExpire turns a meta TTL into an absolute expiry; an already expired
// TTL expires the item at this instant (the reply still describes it).
func metaExpire(ttl, nowMs int64) int64 {
	at, gone := expireAt(ttl, nowMs)
	if gone {
		return nowMs
	}
	return at
}

// metaGet: "mg <key> <flags>*" (protocol.txt "Meta Get").
func (c *conn) metaGet(r *Request) {
	t := r.Tokens
	if len(t) < 2 {
		c.reply(msgError)
		return
	}
	m, key, ok := c.metaRequest("mg", t, 2)
	if !ok {
		return
	}
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	defer c.unlockKey(&tx, key)
	e := peekItem(&tx, key)
	c.counts[cmdGet]++
	var won, lost, stale, hitBefore bool
	var idleSec int64
	if e == nil {
		c.counts[getMisses]++
		if m.has('T') {
			c.counts[cmdTouch]++
			c.counts[touchMisses]++
		}
		if !m.has('N') {
			if !m.has('q') {
				c.metaStatus("EN", m, t[1])
			}
			return
		}
		// Vivify: an empty placeholder whose creator wins the recache.
		e = tx.SetString(key, nil, 0, metaExpire(m.vivify, tx.NowMs()))
		tx.SetMarks(e, markTokenSent)
		won = true
	} else {
		c.counts[getHits]++
		c.classCounts.add(entryClass(e), slabGetHits)
		marks := e.Marks()
		hitBefore = marks&markFetched != 0
		idleSec = tx.IdleMs(e) / 1000
		if !m.has('u') {
			tx.Touch(e)
			marks |= markFetched
		}
		switch {
		case marks&markStale != 0:
			stale = true
			if marks&markTokenSent == 0 {
				won = true
				marks |= markTokenSent
			}
		case m.has('R') && e.Expire() != 0 && remainingTTL(e, tx.NowMs()) < m.recache:
			if marks&markTokenSent == 0 {
				won = true
				marks |= markTokenSent
			}
		}
		lost = !won && marks&markTokenSent != 0
		tx.SetMarks(e, marks)
	}
	v := e.Value()
	if m.has('v') && len(v) >= bigValue {
		c.reserveOut(len(v) + 256)
	}
	if m.has('v') {
		c.out = append(c.out, "VA "...)
		c.out = strconv.AppendInt(c.out, int64(len(v)), 10)
	} else {
		c.out = append(c.out, "HD"...)
	}
	for _, fl := range m.order {
		switch fl {
		case 's':
			c.out = append(c.out, " s"...)
			c.out = strconv.AppendInt(c.out, int64(len(v)), 10)
		case 't':
			c.out = append(c.out, " t"...)
			c.out = strconv.AppendInt(c.out, remainingTTL(e, tx.NowMs()), 10)
		case 'c':
			c.out = append(c.out, " c"...)
			c.out = strconv.AppendUint(c.out, e.CAS(), 10)
		case 'f':
			c.out = append(c.out, " f"...)
			c.out = strconv.AppendUint(c.out, uint64(e.Flags()), 10)
		case 'l':
			c.out = append(c.out, " l"...)
			c.out = strconv.AppendInt(c.out, idleSec, 10)
		case 'h':
			c.out = append(c.out, " h"...)
			c.out = append(c.out, "01"[boolInt(hitBefore)])
		case 'T':
			// The touch happens in flag order, so a t before T shows the old TTL.
			c.counts[cmdTouch]++
			c.counts[touchHits]++
			c.classCounts.add(entryClass(e), slabTouchHits)
			tx.SetExpire(e, metaExpire(m.ttl, tx.NowMs()))
		default:
			c.echoFlag(m, fl, t[1])
		}
	}
	if lost {
		c.out = append(c.out, " Z"...)
	}
	if stale {
		c.out = append(c.out, " X"...)
	}
	if won {
		c.out = append(c.out, " W"...)
	}
	c.out = append(c.out, "\r\n"...)
	if m.has('v') {
		c.out = append(c.out, v...)
		c.out = append(c.out, "\r\n"...)
	}
}

// metaSet: "ms <key> <datalen> <flags>*" + data (protocol.txt "Meta Set").
// The parser has read the data block, so every error here leaves the
// stream in step, as memcached's swallowing does.
func (c *conn) metaSet(r *Request) {
	if !r.Storage {
		c.reply(msgError)
		return
	}
	t := r.Tokens
	m, key, ok := c.metaRequest("ms", t, 3)
	if !ok {
		return
	}
	mode := modeSet
	if m.has('M') {
		switch m.mode {
		case 'S':
		case 'E':
			mode = modeAdd
		case 'A':
			mode = modeAppend
		case 'P':
			mode = modePrepend
		case 'R':
			mode = modeReplace
		default:
			c.reply("CLIENT_ERROR invalid mode for ms M token")
			return
		}
	}
	if r.TooLarge {
		c.counts[storeTooLarge]++
		c.failedSet(mode, key)
		c.reply(msgTooLarge)
		return
	}
	c.counts[cmdSet]++
	if err := c.srv.ks.Reserve(keyspace.ItemSize(len(key), len(r.Data))); err != nil {
		c.counts[storeNoMemory]++
		c.srv.classes.outOfMemory[slabClass(itemSize(len(key), len(r.Data), m.flags))].Add(1)
		c.failedSet(mode, key)
		c.reply(msgNoMemory)
		return
	}
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	defer c.unlockKey(&tx, key)
	e, code := c.metaStore(&tx, key, r.Data, m, mode)
	if code == "HD" && m.has('q') {
		return
	}
	c.out = append(c.out, code...)
	for _, fl := range m.order {
		if fl == 'c' {
			c.out = append(c.out, " c"...)
			if code == "HD" {
				c.out = strconv.AppendUint(c.out, e.CAS(), 10)
			} else {
				c.out = append(c.out, '0')
			}
			continue
		}
		c.echoFlag(m, fl, t[1])
	}
	c.out = append(c.out, "\r\n"...)
}

// metaStore applies ms in a locked Txn and returns the entry and reply code.
func (c *conn) metaStore(tx *keyspace.Txn, key, data []byte, m *metaArgs, mode storeMode) (*keyspace.Entry, string) {
	var e *keyspace.Entry
	if mode == modeAdd {
		e = tx.Peek(key) // any value, item or not, blocks an add
		if e != nil {
			tx.Touch(e)
			return e, "NS"
		}
	} else {
		e = peekItem(tx, key)
	}
	stale := false
	if m.has('C') && mode != modeAdd {
		switch {
		case e == nil:
			c.counts[casMisses]++
			return nil, "NF"
		case e.CAS() == m.cas:
			c.counts[casHits]++
		case m.has('I') && m.cas < e.CAS():
			// An older writer's value: stored, but readers see it stale.
			c.counts[casHits]++
			stale = true
		default:
			c.counts[casBadval]++
			return e, "EX"
		}
	}
	if e == nil && (mode == modeReplace || mode == modeAppend || mode == modePrepend) {
		return nil, "NS"
	}
	if mode == modeAppend || mode == modePrepend {
		buf := c.scratch[:0]
		if mode == modeAppend {
			buf = append(append(buf, e.Value()...), data...)
		} else {
			buf = append(append(buf, data...), e.Value()...)
		}
		if itemSize(len(key), len(buf), e.Flags()) > c.srv.cfg.Limits.MaxItemSize {
			return e, "NS"
		}
		tx.SetValue(e, buf)
		c.keepScratch(buf)
		tx.Touch(e)
	} else {
		e = tx.SetString(key, data, m.flags, metaExpire(m.ttl, tx.NowMs()))
	}
	if stale {
		tx.SetMarks(e, markStale)
	}
	if m.has('E') {
		tx.SetCAS(e, m.newCAS)
	}
	c.counts[totalItems]++
	c.classCounts.add(entryClass(e), slabCmdSet)
	return e, "HD"
}

// metaDelete: "md <key> <flags>*" (protocol.txt "Meta Delete").
func (c *conn) metaDelete(r *Request) {
	t := r.Tokens
	if len(t) < 2 {
		c.reply(msgError)
		return
	}
	m, key, ok := c.metaRequest("md", t, 2)
	if !ok {
		return
	}
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	defer c.unlockKey(&tx, key)
	e := peekItem(&tx, key)
	code := "HD"
	switch {
	case e == nil:
		c.counts[deleteMisses]++
		code = "NF"
	case m.has('C') && e.CAS() != m.cas:
		code = "EX"
	case m.has('I'):
		// Invalidate: keep the value for stale reads; the next reader wins
		// the recache.
		c.counts[deleteHits]++
		c.classCounts.add(entryClass(e), slabDeleteHits)
		tx.Bump(e)
		tx.SetMarks(e, (e.Marks()|markStale)&^markTokenSent)
		if m.has('T') {
			tx.SetExpire(e, metaExpire(m.ttl, tx.NowMs()))
		}
		if m.has('E') {
			tx.SetCAS(e, m.newCAS)
		}
	case m.has('x'):
		// Drop the value but keep the item.
		c.counts[deleteHits]++
		c.classCounts.add(entryClass(e), slabDeleteHits)
		tx.SetValue(e, nil)
		tx.SetFlags(e, 0)
	default:
		c.counts[deleteHits]++
		c.classCounts.add(entryClass(e), slabDeleteHits)
		tx.DeleteEntry(e)
	}
	if code == "HD" && m.has('q') {
		return
	}
	c.metaStatus(code, m, t[1])
}

// metaArith: "ma <key> <flags>*" (protocol.txt "Meta Arithmetic").
func (c *conn) metaArith(r *Request) {
	t := r.Tokens
	if len(t) < 2 {
		c.reply(msgError)
		return
	}
	m, key, ok := c.metaRequest("ma", t, 2)
	if !ok {
		return
	}
	incr := true
	if m.has('M') {
		switch m.mode {
		case 'I', '+':
		case 'D', '-':
			incr = false
		default:
			c.reply("CLIENT_ERROR invalid mode for ma M token")
			return
		}
	}
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	defer c.unlockKey(&tx, key)
	e := peekItem(&tx, key)
	var v uint64
	created := false
	switch {
	case e == nil && m.has('N'):
		// Created with the initial value; the delta is not applied.
		var buf [20]byte
		e = tx.SetString(key, strconv.AppendUint(buf[:0], m.initial, 10), 0, metaExpire(m.vivify, tx.NowMs()))
		v, created = m.initial, true
	case e == nil:
		if incr {
			c.counts[incrMisses]++
		} else {
			c.counts[decrMisses]++
		}
		c.metaStatus("NF", m, t[1])
		return
	case m.has('C') && e.CAS() != m.cas:
		c.metaStatus("EX", m, t[1])
		return
	default:
		var dr deltaResult
		v, dr = c.applyDelta(&tx, key, m.delta, incr)
		if dr == deltaNonNumeric {
			c.reply(msgNonNumeric)
			return
		}
		if incr {
			c.counts[incrHits]++
		} else {
			c.counts[decrHits]++
		}
	}
	if m.has('E') {
		tx.SetCAS(e, m.newCAS)
	}
	if m.has('q') && !created {
		if m.has('T') {
			tx.SetExpire(e, metaExpire(m.ttl, tx.NowMs()))
		}
		return
	}
	var buf [20]byte
	num := strconv.AppendUint(buf[:0], v, 10)
	if m.has('v') {
		c.out = append(c.out, "VA "...)
		c.out = strconv.AppendInt(c.out, int64(len(num)), 10)
	} else {
		c.out = append(c.out, "HD"...)
	}
	for _, fl := range m.order {
		switch fl {
		case 'c':
			c.out = append(c.out, " c"...)
			c.out = strconv.AppendUint(c.out, e.CAS(), 10)
		case 't':
			c.out = append(c.out, " t"...)
			c.out = strconv.AppendInt(c.out, remainingTTL(e, tx.NowMs()), 10)
		case 'T':
			tx.SetExpire(e, metaExpire(m.ttl, tx.NowMs()))
		default:
			c.echoFlag(m, fl, t[1])
		}
	}
	c.out = append(c.out, "\r\n"...)
	if m.has('v') {
		c.out = append(c.out, num...)
		c.out = append(c.out, "\r\n"...)
	}
}

// metaDebug: "me <key> [b]" (protocol.txt "Meta Debug"). It neither bumps
// the item nor marks it fetched.
func (c *conn) metaDebug(r *Request) {
	t := r.Tokens
	if len(t) < 2 {
		c.reply(msgBadFormat)
		return
	}
	c.counts[cmdMeta]++
	key := t[1]
	if len(key) > MaxKeyLen {
		c.reply(msgBadFormat)
		return
	}
	if len(t) > 2 && string(t[2]) == "b" {
		n, err := base64.StdEncoding.Decode(c.keyBuf[:], key)
		if err != nil || n == 0 {
			c.reply(msgBadFormat)
			return
		}
		key = c.keyBuf[:n]
	}
	tx := c.srv.ks.Lock(c.srv.cfg.DB, key)
	defer c.unlockKey(&tx, key)
	e := peekItem(&tx, key)
	if e == nil {
		c.out = append(c.out, "EN\r\n"...)
		return
	}
	// memcached prints exp as now - exptime: remaining seconds, negated.
	exp := int64(-1)
	if e.Expire() != 0 {
		exp = -remainingTTL(e, tx.NowMs())
	}
	c.out = append(c.out, "ME "...)
	c.out = append(c.out, t[1]...)
	c.appendItemInfo(e, exp, tx.IdleMs(e)/1000)
	c.out = append(c.out, "\r\n"...)
}

// appendItemInfo writes the " exp= la= cas= fetch= cls= size=" fields that
// me and lru_crawler metadump share.
func (c *conn) appendItemInfo(e *keyspace.Entry, exp, la int64) {
	c.out = append(c.out, " exp="...)
	c.out = strconv.AppendInt(c.out, exp, 10)
	c.out = append(c.out, " la="...)
	c.out = strconv.AppendInt(c.out, la, 10)
	c.out = append(c.out, " cas="...)
	c.out = strconv.AppendUint(c.out, e.CAS(), 10)
	c.out = append(c.out, " fetch="...)
	c.out = append(c.out, yesNo(e.Marks()&markFetched != 0)...)
	c.out = append(c.out, " cls="...)
	c.out = strconv.AppendInt(c.out, int64(entryClass(e)), 10)
	c.out = append(c.out, " size="...)
	c.out = strconv.AppendInt(c.out, int64(entrySize(e)), 10)
}
