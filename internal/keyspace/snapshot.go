package keyspace

import (
	"unsafe"
)

// Snapshots: a point-in-time, read-only view of every database for RDB
// saves and AOF rewrites, without fork. Taking one locks all shards once
// to record each entry's value reference and mark it shared; afterwards
// writers leave shared values untouched — a string gets a new buffer, a
// collection is cloned before its first change (Txn.Mutable) — so the
// snapshot reads stable values without any lock while the server runs on.

// encShared marks an entry whose current value a snapshot still reads.
const encShared = 0x80

// Cloner is what collection values implement so that a shared value can
// be copied before it is changed.
type Cloner interface {
	Clone() any
}

// SnapItem is one key as a snapshot saw it.
type SnapItem struct {
	DB     int
	Key    []byte
	Type   Type
	Str    []byte // TypeString: the value
	Obj    any    // other types: the value (read-only)
	Expire int64  // absolute Unix ms, 0 = none
	Flags  uint32 // memcached client flags
}

// Snapshot is a consistent view of the keyspace at one instant.
type Snapshot struct {
	ks *Keyspace
	// DBs holds each database's keys (DBs[db]); Items lists them all.
	// Both are valid once the snapshot is captured (Capture returned).
	DBs   [][]SnapItem
	Items []SnapItem
	AtMs  int64 // when it was taken
	// Expires is the number of keys with a TTL per database.
	Expires []int

	// Capture state. offs[db*shards+i] is where shard i's keys of db go in
	// Items (counted at the snapshot's instant); expires[i*dbs+db] counts
	// shard i's keys with a TTL in db. Each shard writes only its own
	// ranges, under its own lock.
	offs     []int
	expires  []int
	captured bool
}

// Snapshot takes a snapshot and captures it (see BeginSnapshotWith and
// Capture); call Release when done reading it.
func (ks *Keyspace) Snapshot() *Snapshot { return ks.SnapshotWith(nil) }

// SnapshotWith is BeginSnapshotWith followed by Capture.
func (ks *Keyspace) SnapshotWith(atomic func()) *Snapshot {
	snap := ks.BeginSnapshotWith(atomic)
	snap.Capture()
	return snap
}

// BeginSnapshotWith fixes a snapshot's instant and runs atomic while every
// shard is locked at that instant: an AOF rewrite switches to its new file
// there, so that the new file holds exactly the writes the snapshot does
// not. The pause is short (a count per shard and database), whatever the
// number of keys: the keys themselves are copied shard by shard afterwards,
// each shard by whichever comes first — Capture walking the shards, or the
// first lock of the shard by anyone else (a writer then pays for copying
// that one shard, about 1/64 of the keys, before it changes anything).
// Call Capture before reading the snapshot.
func (ks *Keyspace) BeginSnapshotWith(atomic func()) *Snapshot {
	ks.snapMu.Lock()
	defer ks.snapMu.Unlock()
	dbs, nsh := ks.databases, len(ks.shards)
	// Allocate outside the pause, from a count taken just before; retry in
	// the rare case the keyspace grew past the slack meanwhile.
	est := 0
	for db := 0; db < dbs; db++ {
		est += ks.DBSize(db)
	}
	items := make([]SnapItem, est+est/16+1024)
	for {
		t := ks.LockAll(0) // captures what an earlier snapshot left pending
		n := 0
		offs := make([]int, dbs*nsh+1)
		for db := 0; db < dbs; db++ {
			for i := range ks.shards {
				offs[db*nsh+i] = n
				if d := ks.shards[i].dictFor(db, false); d != nil {
					n += d.count
				}
			}
		}
		offs[dbs*nsh] = n
		if n > len(items) {
			t.Unlock()
			items = make([]SnapItem, n+n/16+1024)
			continue
		}
		snap := &Snapshot{ks: ks, AtMs: t.nowMs, Items: items[:n], offs: offs,
			expires: make([]int, nsh*dbs), Expires: make([]int, dbs), DBs: make([][]SnapItem, dbs)}
		for i := range ks.shards {
			ks.shards[i].pending = snap
		}
		ks.snapshots++
		if atomic != nil {
			atomic()
		}
		t.Unlock()
		return snap
	}
}

// Capture copies every shard not yet copied (locking one shard at a time)
// and makes DBs, Items and Expires readable. Keys that had expired at the
// snapshot's instant are left out. It is for the snapshot's one reader;
// calling it again does nothing.
func (snap *Snapshot) Capture() {
	if snap.captured {
		return
	}
	ks := snap.ks
	for i := range ks.shards {
		ks.lockShard(&ks.shards[i]) // copies it if still pending
		ks.shards[i].mu.Unlock()
	}
	// Every range is filled (under each shard's lock, which this goroutine
	// took after): drop the keys expired at the instant, database by
	// database, keeping the order.
	dbs, nsh := ks.databases, len(ks.shards)
	w := 0
	for db := 0; db < dbs; db++ {
		start := w
		for r := snap.offs[db*nsh]; r < snap.offs[(db+1)*nsh]; r++ {
			it := &snap.Items[r]
			if it.Expire != 0 && it.Expire <= snap.AtMs {
				continue
			}
			if w != r {
				snap.Items[w] = *it
			}
			w++
		}
		clear(snap.Items[w:snap.offs[(db+1)*nsh]])
		snap.DBs[db] = snap.Items[start:w:w]
		for i := 0; i < nsh; i++ {
			snap.Expires[db] += snap.expires[i*dbs+db]
		}
	}
	snap.Items = snap.Items[:w]
	snap.offs, snap.expires = nil, nil
	snap.captured = true
}

// lockShard locks s for a change; if a snapshot still needs s's keys as
// they are, it copies them first.
func (ks *Keyspace) lockShard(s *shard) {
	s.mu.Lock()
	if s.pending != nil {
		s.capture()
	}
}

// capture copies s's keys into its pending snapshot (s locked) and marks
// their values shared, so that writers leave them untouched.
func (s *shard) capture() {
	snap := s.pending
	s.pending = nil
	ks := snap.ks
	dbs, nsh, i := ks.databases, len(ks.shards), int(s.idx)
	for db := 0; db < dbs; db++ {
		d := s.dictFor(db, false)
		if d == nil {
			continue
		}
		out := snap.Items[snap.offs[db*nsh+i]:snap.offs[db*nsh+i+1]]
		n, exp := 0, 0
		d.each(func(e *Entry) bool {
			it := &out[n]
			n++
			*it = SnapItem{DB: db, Key: e.Key(), Type: e.typ, Expire: e.expire, Flags: e.flags}
			if e.typ == TypeString {
				it.Str = unsafe.Slice((*byte)(e.data), e.klen+e.vlen)[e.klen:]
			} else {
				it.Obj = (*object)(e.data).val
			}
			e.enc |= encShared
			if e.expire != 0 && e.expire > snap.AtMs {
				exp++
			}
			return true
		})
		if n != len(out) {
			panic("keyspace: a shard changed between a snapshot's instant and its capture")
		}
		snap.expires[i*dbs+db] = exp
	}
}

// Release ends the snapshot: entries no longer need copying before writes.
// Snapshots may overlap (a SAVE while an AOF rewrite runs): the shared
// marks, which do not say which snapshot set them, are cleared only when
// the last one ends.
func (snap *Snapshot) Release() {
	ks := snap.ks
	if snap.Items == nil && snap.DBs == nil {
		return // released already
	}
	snap.Capture() // no shard may stay pending
	snap.Items, snap.DBs = nil, nil
	ks.snapMu.Lock()
	defer ks.snapMu.Unlock()
	ks.snapshots--
	if ks.snapshots > 0 {
		return
	}
	for i := range ks.shards {
		s := &ks.shards[i]
		s.mu.Lock()
		for _, d := range s.dicts {
			if d != nil {
				d.each(func(e *Entry) bool {
					e.enc &^= encShared
					return true
				})
			}
		}
		s.mu.Unlock()
	}
}

// Mutable returns e's collection value for changing it, first replacing
// it with a copy if a snapshot is reading it.
func (t *Txn) Mutable(e *Entry) any {
	o := (*object)(e.data)
	if e.enc&encShared != 0 {
		if c, ok := o.val.(Cloner); ok {
			o.val = c.Clone()
		}
		e.enc &^= encShared
	}
	return o.val
}
