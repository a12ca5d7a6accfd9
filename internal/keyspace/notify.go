package keyspace

import "sync/atomic"

// Watcher is one client's WATCH state: it turns dirty when any key it
// watches is modified, expires, is evicted or flushed (Redis's
// CLIENT_DIRTY_CAS). Safe for concurrent use.
type Watcher struct{ dirty atomic.Bool }

// Dirty reports whether a watched key changed since the watch began.
func (w *Watcher) Dirty() bool { return w.dirty.Load() }

// Reset clears the dirty flag (after EXEC, DISCARD or UNWATCH).
func (w *Watcher) Reset() { w.dirty.Store(false) }

// MarkDirty marks the watcher dirty from outside the keyspace.
func (w *Watcher) MarkDirty() { w.dirty.Store(true) }

// Waiter is a client blocked until one of some keys may have new data
// (BLPOP and friends). Ready is signalled, without blocking, when a key it
// waits on is written; the client then retries its command. Waiters queue
// per key in arrival order, and only the first of a key's queue is
// signalled: it passes the signal on (Txn.Ready) if it leaves data behind.
type Waiter struct {
	Ready chan struct{}
}

// NewWaiter returns a waiter with its signal channel.
func NewWaiter() *Waiter { return &Waiter{Ready: make(chan struct{}, 1)} }

func (w *Waiter) signal() {
	select {
	case w.Ready <- struct{}{}:
	default:
	}
}

// keyLists maps logical database → key → registrations, for the watch and
// wait registries. Both are empty almost always, so the hot path checks
// len() and moves on.
type keyLists[T comparable] map[int]map[string][]T

func (m keyLists[T]) add(db int, key []byte, v T) {
	byKey := m[db]
	if byKey == nil {
		byKey = map[string][]T{}
		m[db] = byKey
	}
	list := byKey[string(key)]
	for _, x := range list {
		if x == v {
			return
		}
	}
	byKey[string(key)] = append(list, v)
}

func (m keyLists[T]) remove(db int, key []byte, v T) {
	byKey := m[db]
	list := byKey[string(key)]
	for i, x := range list {
		if x == v {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(byKey, string(key))
		if len(byKey) == 0 {
			delete(m, db)
		}
	} else {
		byKey[string(key)] = list
	}
}

// Watch starts watching key for w (WATCH).
func (t *Txn) Watch(key []byte, w *Watcher) {
	s := t.shard(key)
	if s.watched == nil {
		s.watched = keyLists[*Watcher]{}
	}
	s.watched.add(t.db, key, w)
}

// Unwatch stops watching key for w.
func (t *Txn) Unwatch(db int, key []byte, w *Watcher) {
	s := t.shard(key)
	if s.watched != nil {
		s.watched.remove(db, key, w)
	}
}

// Unwatch removes w's watch on key in db, locking the key's shard.
func (ks *Keyspace) Unwatch(db int, key []byte, w *Watcher) {
	t := ks.Lock(db, key)
	t.Unwatch(db, key, w)
	t.Unlock()
}

// Block queues w on key (in the Txn's database).
func (t *Txn) Block(key []byte, w *Waiter) {
	s := t.shard(key)
	if s.waiters == nil {
		s.waiters = keyLists[*Waiter]{}
	}
	s.waiters.add(t.db, key, w)
}

// Unblock removes w from key's queue in db, locking the key's shard.
func (ks *Keyspace) Unblock(db int, key []byte, w *Waiter) {
	t := ks.Lock(db, key)
	s := t.shard(key)
	if s.waiters != nil {
		s.waiters.remove(db, key, w)
	}
	t.Unlock()
}

// Ready signals the first client blocked on key, if any: a blocked client
// that took data and left some behind calls it to wake the next in line.
func (t *Txn) Ready(key []byte) {
	s := t.shard(key)
	t.signalWaiter(s, t.db, key)
}

// ReadyAfter signals the client queued on key right after w (the first
// if w is not queued there): a woken client that could not be served
// passes the wake-up down the line.
func (t *Txn) ReadyAfter(key []byte, w *Waiter) {
	s := t.shard(key)
	if len(s.waiters) == 0 {
		return
	}
	list := s.waiters[t.db][string(key)]
	for i, x := range list {
		if x == w {
			if i+1 < len(list) {
				list[i+1].signal()
			}
			return
		}
	}
	if len(list) > 0 {
		list[0].signal()
	}
}

func (t *Txn) signalWaiter(s *shard, db int, key []byte) {
	if len(s.waiters) == 0 {
		return
	}
	if list := s.waiters[db][string(key)]; len(list) > 0 {
		list[0].signal()
	}
}

// modified records that key in db changed: watchers turn dirty and the
// first blocked client is woken to retry.
func (ks *Keyspace) modified(s *shard, db int, key []byte) {
	if len(s.watched) != 0 {
		for _, w := range s.watched[db][string(key)] {
			w.dirty.Store(true)
		}
	}
	if len(s.waiters) != 0 {
		if list := s.waiters[db][string(key)]; len(list) > 0 {
			list[0].signal()
		}
	}
}

// touchAllWatched marks dirty every watcher of db in s (FLUSHDB, SWAPDB).
func (s *shard) touchAllWatched(db int) {
	for _, list := range s.watched[db] {
		for _, w := range list {
			w.dirty.Store(true)
		}
	}
}

// Unblock removes w from key's wait queue (the key's shard locked).
func (t *Txn) Unblock(key []byte, w *Waiter) {
	s := t.shard(key)
	if s.waiters != nil {
		s.waiters.remove(t.db, key, w)
	}
}
