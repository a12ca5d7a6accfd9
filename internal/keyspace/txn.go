package keyspace

import (
	"math/bits"
	"slices"
	"unsafe"
)

// Txn is one command's locked view of a database: the shards of the keys it
// named are locked from Lock until Unlock. Entries obtained through a Txn
// are valid only until Unlock. A Txn is not safe for concurrent use; it is
// meant to live on the caller's stack.
type Txn struct {
	ks     *Keyspace
	db     int
	nowMs  int64
	mono   int64
	dirty  uint64    // changes made through this Txn (Redis's server.dirty)
	locked [4]uint64 // bitmap of locked shards, taken in ascending order
	warmed uint32    // sink of warm's loads
}

// Dirty returns how many changes were made through the Txn: a command that
// left it at zero changed nothing and is not propagated to the AOF.
func (t *Txn) Dirty() uint64 { return t.dirty }

// Lock returns a Txn on database db with key's shard locked.
func (ks *Keyspace) Lock(db int, key []byte) Txn {
	t := Txn{ks: ks, db: db}
	i := ks.shardIndex(key)
	t.locked[i>>6] |= 1 << (i & 63)
	ks.lockShard(&ks.shards[i])
	t.nowMs, t.mono = ks.now()
	return t
}

// LockKeys returns a Txn on database db with the shards of all keys locked.
func (ks *Keyspace) LockKeys(db int, keys [][]byte) Txn {
	t := Txn{ks: ks, db: db}
	for _, k := range keys {
		i := ks.shardIndex(k)
		t.locked[i>>6] |= 1 << (i & 63)
	}
	t.lockMarked()
	t.warm(keys)
	return t
}

// warm touches what the command's lookups of keys are about to read (the
// dict bucket, the first entry in it and that entry's key bytes) for all
// keys at once. A lookup is a chain of dependent cache misses; one after
// another, ten keys cost ten chains. Here each step is done for a batch of
// keys in a loop so small that the CPU has all of the batch's loads in
// flight together, and the lookups that follow find the lines in cache.
// It only reads.
func (t *Txn) warm(keys [][]byte) {
	if len(keys) < 2 {
		return
	}
	sink := t.ks.warmBatches(keys, func(s *shard) []*Entry {
		if d := s.dictFor(t.db, false); d != nil && d.count > 0 {
			return d.tables[0]
		}
		return nil
	})
	t.warmed = sink // keeps the loads: nothing else reads it
}

// warmBatches runs touchSlots over keys, 16 at a time. table returns the
// bucket table a key's lookup in shard s will use (nil or empty: none).
func (ks *Keyspace) warmBatches(keys [][]byte, table func(s *shard) []*Entry) uint32 {
	const batch = 16
	var sink uint32
	for len(keys) > 0 {
		n := min(len(keys), batch)
		var slots [batch]**Entry
		m := 0
		for _, k := range keys[:n] {
			tab := table(&ks.shards[ks.shardIndex(k)])
			if len(tab) == 0 {
				continue
			}
			slots[m] = &tab[hashKey(k)&uint64(len(tab)-1)]
			m++
		}
		sink += touchSlots(slots[:m])
		keys = keys[n:]
	}
	return sink
}

// touchSlots loads what lookups through the bucket slots read next: each
// slot's first entry, then that entry's key bytes. Each step runs over
// all slots in a loop small enough for the CPU to have their loads in
// flight together. The sum only keeps the compiler from dropping them.
func touchSlots(slots []**Entry) uint32 {
	const batch = 16
	var ents [batch]*Entry
	m := min(len(slots), batch)
	for i := 0; i < m; i++ {
		ents[i] = *slots[i]
	}
	var data [batch]unsafe.Pointer
	for i := 0; i < m; i++ {
		if e := ents[i]; e != nil && e.typ == TypeString && e.klen > 0 {
			data[i] = e.data
		}
	}
	var sink uint32
	for i := 0; i < m; i++ {
		if p := data[i]; p != nil {
			sink += uint32(*(*byte)(p))
		}
	}
	return sink
}

// LockAll returns a Txn on database db with every shard locked, for
// commands that touch keys they cannot name in advance.
func (ks *Keyspace) LockAll(db int) Txn {
	t := Txn{ks: ks, db: db}
	for i := range ks.shards {
		t.locked[i>>6] |= 1 << (i & 63)
	}
	t.lockMarked()
	return t
}

func (t *Txn) lockMarked() {
	for w, m := range t.locked {
		for ; m != 0; m &= m - 1 {
			t.ks.lockShard(&t.ks.shards[w<<6|bits.TrailingZeros64(m)])
		}
	}
	t.nowMs, t.mono = t.ks.now()
}

// Unlock releases the Txn's shards.
func (t *Txn) Unlock() {
	for w, m := range t.locked {
		for ; m != 0; m &= m - 1 {
			t.ks.shards[w<<6|bits.TrailingZeros64(m)].mu.Unlock()
		}
	}
	t.locked = [4]uint64{}
}

// DB returns the Txn's logical database.
func (t *Txn) DB() int { return t.db }

// SetDB points the Txn at another database (SELECT inside MULTI). Shard
// locks cover every database, so nothing is re-locked.
func (t *Txn) SetDB(db int) { t.db = db }

// NowMs returns the Txn's notion of now, in Unix ms, fixed at Lock so that
// one command sees one instant (as Redis does within a command).
func (t *Txn) NowMs() int64 { return t.nowMs }

func (t *Txn) shard(key []byte) *shard {
	i := t.ks.shardIndex(key)
	if t.locked[i>>6]&(1<<(i&63)) == 0 {
		panic("keyspace: key's shard is not locked by this Txn")
	}
	return &t.ks.shards[i]
}

// find looks key up, expiring it lazily. It reports whether a value was
// found but had expired.
func (t *Txn) find(s *shard, key []byte) (e *Entry, expired bool) {
	d := s.dictFor(t.db, false)
	if d == nil {
		return nil, false
	}
	e = d.find(hashKey(key), key)
	if e != nil && e.expire != 0 && e.expire <= t.nowMs {
		t.ks.expireEntry(s, e)
		return nil, true
	}
	return e, false
}

// Lookup finds key for a read: it counts a hit or miss and marks the entry
// as recently used. It returns nil for a missing or expired key.
func (t *Txn) Lookup(key []byte) *Entry {
	e, _ := t.LookupExpired(key)
	return e
}

// LookupExpired is Lookup that also reports whether the key existed but had
// expired (memcached's get_expired).
func (t *Txn) LookupExpired(key []byte) (*Entry, bool) {
	s := t.shard(key)
	e, expired := t.find(s, key)
	if e == nil {
		s.misses.Add(1)
		t.ks.notifyMiss(t.db, key)
		return nil, expired
	}
	s.hits.Add(1)
	t.touch(s, e)
	return e, false
}

// LookupNoTouch is Lookup that leaves the entry's LRU/LFU clock alone
// (Redis's LOOKUP_NOTOUCH: EXISTS, TYPE, TTL); hits, misses and keymiss
// are reported as by Lookup.
func (t *Txn) LookupNoTouch(key []byte) *Entry {
	s := t.shard(key)
	e, _ := t.find(s, key)
	if e == nil {
		s.misses.Add(1)
		t.ks.notifyMiss(t.db, key)
		return nil
	}
	s.hits.Add(1)
	return e
}

// Peek finds key without counting or marking it used (lazy expiry still
// applies). It returns nil for a missing or expired key.
func (t *Txn) Peek(key []byte) *Entry {
	e, _ := t.find(t.shard(key), key)
	return e
}

// Touch marks e as recently used.
func (t *Txn) Touch(e *Entry) { t.touch(t.shard(e.Key()), e) }

func (t *Txn) touch(s *shard, e *Entry) {
	if t.ks.Policy().IsLFU() {
		e.lfu = t.ks.lfuIncr(t.ks.lfuDecayed(e, t.mono))
	}
	e.atime = t.mono
}

// SetString stores a string value under key, replacing any value of any
// type, with memcached client flags and an absolute expiry in Unix ms
// (0 = persistent). It returns the entry, with a new CAS unique.
func (t *Txn) SetString(key, val []byte, flags uint32, expireMs int64) *Entry {
	s := t.shard(key)
	d := s.dictFor(t.db, true)
	h := hashKey(key)
	e := d.find(h, key)
	if e == nil {
		e = &Entry{hidx: -1, lfu: lfuInitVal}
		e.setString(key, val)
		d.insert(h, e)
		t.account(s, e, 0)
		t.ks.notify(EventNew, s, e)
	} else {
		before := e.size()
		if e.typ != TypeString {
			e.data = nil
			e.enc = 0
		}
		e.setString(key, val)
		t.account(s, e, before)
	}
	e.atime = t.mono
	e.flags = flags
	e.enc = 0
	e.cas = s.nextCAS()
	if e.expire != expireMs {
		e.expire = expireMs
		s.heapSet(e)
	}
	t.dirty++
	t.ks.modified(s, t.db, key)
	return e
}

// SetValue replaces a string entry's value, keeping its flags and expiry,
// and gives it a new CAS unique.
func (t *Txn) SetValue(e *Entry, val []byte) {
	s := t.shard(e.Key())
	before := e.size()
	e.setString(e.Key(), val)
	t.account(s, e, before)
	e.enc = 0
	e.cas = s.nextCAS()
	t.dirty++
	t.ks.modified(s, t.db, e.Key())
}

// GrowValue lengthens a string entry's value to n bytes, keeping its bytes
// and zero-filling the new ones, and returns the value to write in place.
// Like Redis's sds it keeps spare room (as much again, at most 1 MiB), so
// APPEND, SETRANGE and SETBIT past the end cost linear time, not quadratic.
// Like SetValue it gives the entry a new CAS and marks the key modified.
// n must not be less than the current length.
func (t *Txn) GrowValue(e *Entry, n int) []byte {
	s := t.shard(e.Key())
	before := e.size()
	old := int(e.vlen)
	need := int(e.klen) + n
	if e.enc&encShared == 0 && need <= int(e.dcap) {
		buf := unsafe.Slice((*byte)(e.data), e.dcap)
		clear(buf[int(e.klen)+old : need]) // earlier, longer values left bytes here
		e.vlen = uint32(n)
	} else {
		room := min(need, 1<<20)
		buf := slices.Grow([]byte(nil), need+room)[:need]
		copy(buf, unsafe.Slice((*byte)(e.data), int(e.klen)+old))
		e.data = unsafe.Pointer(unsafe.SliceData(buf))
		e.vlen, e.dcap = uint32(n), uint32(cap(buf))
	}
	t.account(s, e, before)
	e.enc = 0
	e.cas = s.nextCAS()
	t.dirty++
	t.ks.modified(s, t.db, e.Key())
	return e.Value()
}

// SetFlags changes a string entry's memcached client flags.
func (t *Txn) SetFlags(e *Entry, flags uint32) { e.flags = flags }

// SetObject stores a non-string value under key, replacing any value, with
// size its accounted bytes. The entry persists until given an expiry.
func (t *Txn) SetObject(key []byte, typ Type, val any, size int64) *Entry {
	s := t.shard(key)
	d := s.dictFor(t.db, true)
	h := hashKey(key)
	e := d.find(h, key)
	if e == nil {
		e = &Entry{hidx: -1, lfu: lfuInitVal}
		e.setObject(key, typ, val, size)
		d.insert(h, e)
		t.account(s, e, 0)
		t.ks.notify(EventNew, s, e)
	} else {
		before := e.size()
		e.setObject(key, typ, val, size)
		e.enc = 0
		e.flags = 0
		t.account(s, e, before)
		if e.expire != 0 {
			e.expire = 0
			s.heapSet(e)
		}
	}
	e.atime = t.mono
	e.cas = s.nextCAS()
	t.dirty++
	t.ks.modified(s, t.db, key)
	return e
}

// Account records that a non-string entry's value now takes size bytes,
// and marks it modified: new CAS unique, recently used, watchers dirty,
// blocked clients woken. Call it after every change to a collection.
func (t *Txn) Account(e *Entry, size int64) {
	s := t.shard(e.Key())
	before := e.size()
	(*object)(e.data).size = size
	t.account(s, e, before)
	e.cas = s.nextCAS()
	t.touch(s, e)
	t.dirty++
	t.ks.modified(s, t.db, e.Key())
}

// Resized records a new accounted size for e's value after a change of
// representation only (an encoding conversion): unlike Account it is not a
// modification, so WATCH, CAS and the dirty count stay as they are.
func (t *Txn) Resized(e *Entry, size int64) {
	s := t.shard(e.Key())
	before := e.size()
	(*object)(e.data).size = size
	t.account(s, e, before)
}

// Marks returns a string entry's front-end marks (memcached: fetched,
// stale, win token sent). Any new value clears them.
func (e *Entry) Marks() uint8 {
	if e.typ != TypeString {
		return 0
	}
	return e.enc &^ encShared
}

// SetMarks sets a string entry's front-end marks.
func (t *Txn) SetMarks(e *Entry, m uint8) {
	if e.typ == TypeString {
		e.enc = e.enc&encShared | m&^encShared
	}
}

// SetCAS gives e a CAS unique chosen by the client (memcached meta E flag).
func (t *Txn) SetCAS(e *Entry, cas uint64) { e.cas = cas }

func (t *Txn) account(s *shard, e *Entry, before int64) {
	delta := e.size() - before
	if delta != 0 {
		t.ks.addUsed(s, delta)
	}
}

// SetExpire sets e's absolute expiry in Unix ms; 0 makes it persistent.
func (t *Txn) SetExpire(e *Entry, expireMs int64) {
	if e.expire == expireMs {
		return
	}
	s := t.shard(e.Key())
	e.expire = expireMs
	s.heapSet(e)
	t.dirty++
	t.ks.modified(s, t.db, e.Key())
}

// Bump gives e a new CAS unique, marking it modified.
func (t *Txn) Bump(e *Entry) {
	s := t.shard(e.Key())
	e.cas = s.nextCAS()
	t.dirty++
	t.ks.modified(s, t.db, e.Key())
}

// Delete removes key and reports whether it existed (and had not expired).
func (t *Txn) Delete(key []byte) bool {
	s := t.shard(key)
	e, _ := t.find(s, key)
	if e == nil {
		return false
	}
	t.ks.unlink(s, e)
	t.dirty++
	t.ks.modified(s, t.db, key)
	return true
}

// DeleteEntry removes e.
func (t *Txn) DeleteEntry(e *Entry) {
	s := t.shard(e.Key())
	t.ks.unlink(s, e)
	t.dirty++
	t.ks.modified(s, t.db, e.Key())
}

// Expired reports whether e's TTL has passed at the Txn's instant.
func (t *Txn) Expired(e *Entry) bool { return e.expire != 0 && e.expire <= t.nowMs }

// IdleMs returns how long ago e was last accessed, in ms.
func (t *Txn) IdleMs(e *Entry) int64 { return (t.mono - e.atime) / 1e6 }

// Prefetch brings into the cache what lookups of keys in database db are
// about to read (each key's bucket, the first entry in it and its key
// bytes), without locking: a front end that holds several commands calls
// it before running them, so that their cache misses overlap instead of
// coming one after another. It reads shared structures without their
// locks, which is safe in Go for the word-sized values it reads (a
// pointer is never seen torn, and what it points to stays allocated while
// referenced) and harmless when they change meanwhile: what it reads is
// only a hint and is thrown away. Under the race detector it does
// nothing, as the detector would rightly report those reads.
func (ks *Keyspace) Prefetch(db int, keys [][]byte) {
	if raceEnabled || len(keys) < 2 || db < 0 || db >= ks.Databases() {
		return
	}
	sink := ks.warmBatches(keys, func(s *shard) []*Entry {
		if d := s.dicts[s.phys[db]]; d != nil {
			if tab := d.hint.Load(); tab != nil {
				return *tab
			}
		}
		return nil
	})
	prefetchSink = sink // keeps the loads (a plain store: nothing waits)
}

// prefetchSink receives Prefetch's reads so that the compiler keeps them.
// Concurrent Prefetch calls write it without synchronisation; nothing
// reads it, and under the race detector Prefetch returns before.
var prefetchSink uint32
