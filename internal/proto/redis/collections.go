package redis

import (
	"ferry/internal/keyspace"
	"ferry/internal/keyspace/ds"
)

// Helpers shared by the collection families (lists, hashes, sets, sorted
// sets): typed lookup with WRONGTYPE, creation with the configured
// encoding thresholds, and the bookkeeping after a change (memory
// accounting, deleting a collection that became empty, as Redis does).

// collection is what every ds value offers the engine.
type collection interface {
	MemSize() int64
	Encoding() string
}

// getColl looks key up for a command on typ: it returns the entry (nil if
// missing) or replies WRONGTYPE and returns ok=false. read counts a hit or
// miss (read commands), otherwise the lookup is silent.
func (c *Conn) getColl(t *keyspace.Txn, key []byte, typ keyspace.Type, read bool) (*keyspace.Entry, bool) {
	var e *keyspace.Entry
	if read {
		e = t.Lookup(key)
	} else {
		e = t.Peek(key)
	}
	if c.wrongType(e, typ) {
		return nil, false
	}
	if e != nil && !read {
		t.Mutable(e) // a snapshot being saved keeps the old value
	}
	return e, true
}

// changed records a mutation of a collection entry: the new size is
// accounted, watchers and blocked clients are told, and an empty
// collection is deleted. It reports whether the key still exists.
func (c *Conn) changed(t *keyspace.Txn, e *keyspace.Entry) bool {
	obj := e.Object().(collection)
	if n, ok := obj.(interface{ Len() int }); ok && n.Len() == 0 {
		key := append([]byte(nil), e.Key()...)
		t.DeleteEntry(e)
		c.notify(notifyGeneric, "del", key)
		return false
	}
	if z, ok := obj.(*ds.ZSet); ok && z.Card() == 0 {
		key := append([]byte(nil), e.Key()...)
		t.DeleteEntry(e)
		c.notify(notifyGeneric, "del", key)
		return false
	}
	t.Account(e, obj.MemSize())
	return true
}

// thresholds returns the current encoding limits.
func (s *Server) thresholds() thresholds { return s.snap.Load().limits }

func (s *Server) newList() *ds.List { return ds.NewList(s.thresholds().listSize) }

func (s *Server) newHash() *ds.Hash {
	l := s.thresholds()
	return ds.NewHash(l.hashEntries, l.hashValue)
}

func (s *Server) newSet() *ds.Set { return ds.NewSet(s.thresholds().setIntset) }

func (s *Server) newZSet() *ds.ZSet {
	l := s.thresholds()
	return ds.NewZSet(l.zsetEntries, l.zsetValue)
}

// createColl stores a new, empty collection under key.
func (c *Conn) createColl(t *keyspace.Txn, key []byte, typ keyspace.Type, obj collection) *keyspace.Entry {
	return t.SetObject(key, typ, obj, obj.MemSize())
}
