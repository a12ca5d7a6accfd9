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
	DBs   [][]SnapItem
	Items []SnapItem
	AtMs  int64 // when it was taken
	// Expires is the number of keys with a TTL per database.
	Expires []int
}

// Snapshot takes a snapshot. The pause is one pass over the keys with every
// shard locked; call Release when done reading it.
func (ks *Keyspace) Snapshot() *Snapshot { return ks.SnapshotWith(nil) }

// SnapshotWith takes a snapshot and runs atomic while every shard is still
// locked: an AOF rewrite switches to its new file there, so the new file
// holds exactly the writes the snapshot does not.
func (ks *Keyspace) SnapshotWith(atomic func()) *Snapshot {
	ks.snapMu.Lock()
	defer ks.snapMu.Unlock()
	ks.snapshots++
	t := ks.LockAll(0)
	defer t.Unlock()
	if atomic != nil {
		defer atomic()
	}
	snap := &Snapshot{ks: ks, AtMs: t.nowMs, DBs: make([][]SnapItem, ks.databases), Expires: make([]int, ks.databases)}
	n := 0
	for db := 0; db < ks.databases; db++ {
		n += t.DBSize(db)
	}
	snap.Items = make([]SnapItem, 0, n)
	for db := 0; db < ks.databases; db++ {
		start := len(snap.Items)
		for i := range ks.shards {
			s := &ks.shards[i]
			d := s.dictFor(db, false)
			if d == nil {
				continue
			}
			d.each(func(e *Entry) bool {
				if e.expire != 0 && e.expire <= t.nowMs {
					return true // already expired: not part of the dataset
				}
				it := SnapItem{DB: db, Key: e.Key(), Type: e.typ, Expire: e.expire, Flags: e.flags}
				if e.typ == TypeString {
					it.Str = unsafe.Slice((*byte)(e.data), e.klen+e.vlen)[e.klen:]
				} else {
					it.Obj = (*object)(e.data).val
				}
				e.enc |= encShared
				snap.Items = append(snap.Items, it)
				if e.expire != 0 {
					snap.Expires[db]++
				}
				return true
			})
		}
		snap.DBs[db] = snap.Items[start:len(snap.Items):len(snap.Items)]
	}
	return snap
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
