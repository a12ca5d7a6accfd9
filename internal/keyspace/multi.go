package keyspace

import "math/rand/v2"

// Operations over a whole database. They need a Txn from LockAll.

func (t *Txn) requireAll() {
	for i := range t.ks.shards {
		if t.locked[i>>6]&(1<<(i&63)) == 0 {
			panic("keyspace: operation needs a Txn from LockAll")
		}
	}
}

// DBSize returns the number of keys in db (expired ones not yet swept
// included, as Redis's DBSIZE).
func (t *Txn) DBSize(db int) int {
	t.requireAll()
	n := 0
	for i := range t.ks.shards {
		if d := t.ks.shards[i].dictFor(db, false); d != nil {
			n += d.count
		}
	}
	return n
}

// FlushDB removes every key of db.
func (t *Txn) FlushDB(db int) {
	t.requireAll()
	t.dirty++
	for i := range t.ks.shards {
		t.ks.shards[i].flushLocked(t.ks, db)
	}
}

// SwapDB exchanges two databases.
func (t *Txn) SwapDB(a, b int) {
	t.requireAll()
	t.dirty++
	for i := range t.ks.shards {
		t.ks.shards[i].swapLocked(a, b)
	}
}

// Each calls fn for every live key of the Txn's database until fn returns
// false. fn must not add or remove keys.
func (t *Txn) Each(fn func(e *Entry) bool) {
	t.requireAll()
	for i := range t.ks.shards {
		d := t.ks.shards[i].dictFor(t.db, false)
		if d == nil {
			continue
		}
		goOn := true
		d.each(func(e *Entry) bool {
			if t.Expired(e) {
				return true
			}
			goOn = fn(e)
			return goOn
		})
		if !goOn {
			return
		}
	}
}

// shardBits is how many low cursor bits name the shard a SCAN is in.
const shardBits = 8

// Scan continues a SCAN of the Txn's database at cursor, calling fn for
// live keys of about count buckets, and returns the next cursor (0 when
// the scan is complete). Every key present for the whole scan is returned
// at least once, as Redis guarantees; expired keys are removed, not shown.
func (t *Txn) Scan(cursor uint64, count int, fn func(e *Entry)) uint64 {
	t.requireAll()
	if count < 1 {
		count = 1
	}
	n := uint64(len(t.ks.shards))
	si := cursor & (1<<shardBits - 1)
	dc := cursor >> shardBits
	if si >= n {
		return 0
	}
	visits := count * 10 // as Redis: bounded work even on sparse tables
	emitted := 0
	for visits > 0 {
		s := &t.ks.shards[si]
		d := s.dictFor(t.db, false)
		if d == nil || d.count == 0 {
			dc = 0
		} else {
			dc = d.scan(dc, func(e *Entry) {
				if t.Expired(e) {
					t.ks.expireEntry(s, e)
					return
				}
				emitted++
				fn(e)
			})
		}
		visits--
		if dc == 0 {
			si++
			if si == n {
				return 0
			}
		}
		if emitted >= count {
			break
		}
	}
	return dc<<shardBits | si
}

// RandomKey returns a random live key of the Txn's database, or nil.
func (t *Txn) RandomKey() []byte {
	t.requireAll()
	for tries := 0; tries < 100; tries++ {
		total := 0
		for i := range t.ks.shards {
			if d := t.ks.shards[i].dictFor(t.db, false); d != nil {
				total += d.count
			}
		}
		if total == 0 {
			return nil
		}
		r := rand.IntN(total)
		for i := range t.ks.shards {
			s := &t.ks.shards[i]
			d := s.dictFor(t.db, false)
			if d == nil {
				continue
			}
			if r >= d.count {
				r -= d.count
				continue
			}
			e := d.randomEntry(rand.Uint64)
			if e == nil {
				break
			}
			if t.Expired(e) {
				t.ks.expireEntry(s, e)
				break
			}
			return e.Key()
		}
	}
	return nil
}

// PeekDB is Peek in another database (MOVE, COPY with DB). The key's shard
// must be locked; shards hold every database's keys.
func (t *Txn) PeekDB(db int, key []byte) *Entry {
	saved := t.db
	t.db = db
	e := t.Peek(key)
	t.db = saved
	return e
}

// DeleteDB is Delete in another database.
func (t *Txn) DeleteDB(db int, key []byte) bool {
	saved := t.db
	t.db = db
	ok := t.Delete(key)
	t.db = saved
	return ok
}

// Rename moves entry e (of the Txn's database) to newKey in database
// dstDB, keeping its value, expiry and flags. newKey must not exist there;
// both keys' shards must be locked.
func (t *Txn) Rename(e *Entry, newKey []byte, dstDB int) *Entry {
	src := t.shard(e.Key())
	dst := t.shard(newKey)
	t.ks.unlink(src, e)
	t.dirty++
	t.ks.modified(src, t.db, e.Key())
	if e.typ == TypeString {
		val := e.Value() // the old buffer stays alive while val points at it
		e.data = nil
		e.setString(newKey, val)
	} else {
		o := (*object)(e.data)
		o.key = append([]byte(nil), newKey...)
		e.klen = uint32(len(newKey))
	}
	d := dst.dictFor(dstDB, true)
	d.insert(hashKey(newKey), e)
	e.atime = t.mono
	if e.expire != 0 {
		dst.heapSet(e)
	}
	sz := e.size()
	t.ks.addUsed(dst, sz)
	e.cas = dst.nextCAS()
	t.dirty++
	t.ks.modified(dst, dstDB, newKey)
	t.ks.notify(EventNew, dst, e) // the key is new where it lands (Redis's dbAdd)
	return e
}

// ExpiresInfo returns how many keys of db have a TTL and their average
// remaining TTL in ms (INFO keyspace's expires and avg_ttl).
func (t *Txn) ExpiresInfo(db int) (count int, avgTTL int64) {
	t.requireAll()
	var sum int64
	for i := range t.ks.shards {
		s := &t.ks.shards[i]
		d := s.dictFor(db, false)
		if d == nil {
			continue
		}
		for _, e := range s.heap {
			if e.dict == d.id {
				count++
				if ttl := e.expire - t.nowMs; ttl > 0 {
					sum += ttl
				}
			}
		}
	}
	if count > 0 {
		avgTTL = sum / int64(count)
	}
	return count, avgTTL
}

// EntrySize returns the memory e is accounted for (MEMORY USAGE).
func EntrySize(e *Entry) int64 { return e.size() }
