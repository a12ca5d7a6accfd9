// Package keyspace is Ferry's data engine: Redis's numbered databases of
// typed values, shared by every front end (memcached items are string values
// in database 0 that carry client flags and a CAS unique). It owns expiry
// (lazy on access plus an active sweep), memory accounting and eviction, and
// reports key events to an Observer. It knows no wire format and imports
// only clock and the standard library.
//
// Concurrency: keys are spread over shards by Redis Cluster hash slot; each
// shard has one mutex. A command locks the shards of its keys through a Txn
// (always in ascending shard order, so commands cannot deadlock), works on
// entries, and unlocks.
package keyspace

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/clock"
)

// Policy is what happens when a write would exceed the memory limit, named
// as Redis's maxmemory-policy values.
type Policy int32

// The eviction policies.
const (
	NoEviction Policy = iota
	AllKeysLRU
	VolatileLRU
	AllKeysRandom
	VolatileRandom
	VolatileTTL
	AllKeysLFU
	VolatileLFU
)

var policyNames = [...]string{"noeviction", "allkeys-lru", "volatile-lru",
	"allkeys-random", "volatile-random", "volatile-ttl", "allkeys-lfu", "volatile-lfu"}

// IsLFU reports whether the policy ranks keys by access frequency.
func (p Policy) IsLFU() bool { return p == AllKeysLFU || p == VolatileLFU }

// String returns the policy's maxmemory-policy name.
func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy parses a maxmemory-policy name.
func ParsePolicy(s string) (Policy, error) {
	for i, n := range policyNames {
		if n == s {
			return Policy(i), nil
		}
	}
	return 0, fmt.Errorf("unknown maxmemory-policy %q", s)
}

// EventKind names a key event the keyspace itself causes.
type EventKind uint8

// The key events reported to an Observer.
const (
	EventExpired EventKind = iota + 1 // removed because its TTL passed
	EventEvicted                      // removed to stay under the memory limit
	EventNew                          // created (keyspace notification "new")
)

// Observer receives key events. It is called with the entry's shard
// locked, just before the entry is dropped: it must be quick, must not keep
// e, and must not call back into the keyspace.
type Observer interface {
	KeyEvent(kind EventKind, db int, e *Entry)
}

// MissObserver is an Observer that also hears of reads that found nothing
// (Lookup of a missing or expired key: Redis's "keymiss" notification).
// The same rules apply: the key's shard is locked; key must not be kept.
type MissObserver interface {
	KeyMiss(db int, key []byte)
}

// Config sets up a Keyspace.
type Config struct {
	Databases int         // number of databases (Redis's "databases"); default 16
	Shards    int         // lock stripes, a power of two up to 256; default 64
	MaxMemory int64       // accounted byte limit; 0 = none
	Policy    Policy      // what to do at the limit
	Clock     clock.Clock // default clock.Real
	Observer  Observer    // may be nil
	HZ        int         // active expiry sweeps per second; default 10
}

// Keyspace is the data engine. All methods are safe for concurrent use.
type Keyspace struct {
	clock     clock.Clock
	start     time.Time
	databases int
	shards    []shard
	mask      uint32
	observers atomic.Pointer[[]Observer]
	hz        int

	noActiveExpire atomic.Bool // DEBUG SET-ACTIVE-EXPIRE 0: keys expire only when touched

	used   atomic.Int64
	limit  atomic.Int64
	policy atomic.Int32

	lfuLogFactor atomic.Int32 // lfu-log-factor
	lfuDecayTime atomic.Int32 // lfu-decay-time, minutes

	evictMu sync.Mutex // serialises victim choice; eviction itself takes shard locks
	lruPool evictPool  // allkeys-lru candidates (under evictMu)

	// snapMu orders taking snapshots against releasing them; snapshots
	// counts the live ones (under snapMu). Lock order: snapMu, then shards.
	snapMu    sync.Mutex
	snapshots int

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// New creates a keyspace and starts its active expiry sweep; Close stops it.
func New(cfg Config) *Keyspace {
	if cfg.Databases <= 0 {
		cfg.Databases = 16
	}
	if cfg.Databases > 256 {
		cfg.Databases = 256
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 64
	}
	if cfg.Shards > 256 || cfg.Shards&(cfg.Shards-1) != 0 {
		panic("keyspace: Shards must be a power of two up to 256")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.HZ <= 0 {
		cfg.HZ = 10
	}
	ks := &Keyspace{
		clock:     cfg.Clock,
		start:     cfg.Clock.Now(),
		databases: cfg.Databases,
		shards:    make([]shard, cfg.Shards),
		mask:      uint32(cfg.Shards - 1),
		hz:        cfg.HZ,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	for i := range ks.shards {
		ks.shards[i].init(i, cfg.Shards, cfg.Databases)
	}
	ks.limit.Store(cfg.MaxMemory)
	ks.policy.Store(int32(cfg.Policy))
	ks.lfuLogFactor.Store(10)
	ks.lfuDecayTime.Store(1)
	go ks.cron()
	return ks
}

// AddObserver registers o for key events from now on.
func (ks *Keyspace) AddObserver(o Observer) {
	for {
		old := ks.observers.Load()
		var next []Observer
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, o)
		if ks.observers.CompareAndSwap(old, &next) {
			return
		}
	}
}

func (ks *Keyspace) notify(kind EventKind, s *shard, e *Entry) {
	obs := ks.observers.Load()
	if obs == nil {
		return
	}
	db := s.logicalDB(e.dict)
	for _, o := range *obs {
		o.KeyEvent(kind, db, e)
	}
}

// notifyMiss tells MissObservers that a read of key found nothing.
func (ks *Keyspace) notifyMiss(db int, key []byte) {
	obs := ks.observers.Load()
	if obs == nil {
		return
	}
	for _, o := range *obs {
		if m, ok := o.(MissObserver); ok {
			m.KeyMiss(db, key)
		}
	}
}

// SetActiveExpire turns the background expiry sweep on or off (Redis's
// DEBUG SET-ACTIVE-EXPIRE, which tests use to see lazy expiry alone).
func (ks *Keyspace) SetActiveExpire(on bool) { ks.noActiveExpire.Store(!on) }

// Close stops background work. The keyspace stays readable.
func (ks *Keyspace) Close() {
	ks.stopOnce.Do(func() { close(ks.stop) })
	<-ks.done
}

// Databases returns the number of databases.
func (ks *Keyspace) Databases() int { return ks.databases }

// Clock returns the keyspace's clock.
func (ks *Keyspace) Clock() clock.Clock { return ks.clock }

// SetMaxMemory changes the memory limit (0 = none).
func (ks *Keyspace) SetMaxMemory(n int64) {
	ks.limit.Store(n)
	if n > 0 {
		// From now on every change goes to ks.used at once; fold in
		// what the shards held back.
		for i := range ks.shards {
			if lag := ks.shards[i].usedLag.Swap(0); lag != 0 {
				ks.used.Add(lag)
			}
		}
	}
}

// MaxMemory returns the memory limit (0 = none).
func (ks *Keyspace) MaxMemory() int64 { return ks.limit.Load() }

// SetPolicy changes the eviction policy.
func (ks *Keyspace) SetPolicy(p Policy) { ks.policy.Store(int32(p)) }

// Policy returns the eviction policy.
func (ks *Keyspace) Policy() Policy { return Policy(ks.policy.Load()) }

// Used returns the accounted memory of all entries.
func (ks *Keyspace) Used() int64 {
	n := ks.used.Load()
	for i := range ks.shards {
		n += ks.shards[i].usedLag.Load()
	}
	return n
}

// usedLagMax bounds the bytes a shard holds back from ks.used while no
// memory limit is set.
const usedLagMax = 64 << 10

// addUsed records a change of s's accounted bytes (s locked). With no
// memory limit nothing reads the total on the hot path, so each shard
// gathers changes up to usedLagMax before touching the shared counter,
// which every core would otherwise write on every write command. With a
// limit, Reserve needs the total exact: changes go straight to it.
func (ks *Keyspace) addUsed(s *shard, delta int64) {
	s.used += delta
	if ks.limit.Load() > 0 {
		if lag := s.usedLag.Load(); lag != 0 {
			delta += s.usedLag.Swap(0) // left from before the limit was set
		}
		ks.used.Add(delta)
		return
	}
	if lag := s.usedLag.Add(delta); lag > usedLagMax || lag < -usedLagMax {
		if s.usedLag.CompareAndSwap(lag, 0) {
			ks.used.Add(lag)
		}
	}
}

// Stats are the keyspace's counters since start.
type Stats struct {
	Hits, Misses, Expired, Evicted uint64
}

// Stats sums the shards' counters.
func (ks *Keyspace) Stats() Stats {
	var st Stats
	for i := range ks.shards {
		s := &ks.shards[i]
		st.Hits += s.hits.Load()
		st.Misses += s.misses.Load()
		st.Expired += s.expired.Load()
		st.Evicted += s.evicted.Load()
	}
	return st
}

// ResetStats zeroes the hit, miss, expiry and eviction counters.
func (ks *Keyspace) ResetStats() {
	for i := range ks.shards {
		s := &ks.shards[i]
		s.hits.Store(0)
		s.misses.Store(0)
		s.expired.Store(0)
		s.evicted.Store(0)
	}
}

// DBSize returns the number of keys in db, expired ones not yet swept
// included (as Redis's DBSIZE).
func (ks *Keyspace) DBSize(db int) int {
	n := 0
	for i := range ks.shards {
		s := &ks.shards[i]
		s.mu.Lock()
		if d := s.dictFor(db, false); d != nil {
			n += d.count
		}
		s.mu.Unlock()
	}
	return n
}

// ExpiresCount returns the number of keys with a TTL in db.
func (ks *Keyspace) ExpiresCount(db int) int {
	n := 0
	for i := range ks.shards {
		s := &ks.shards[i]
		s.mu.Lock()
		if d := s.dictFor(db, false); d != nil {
			id := d.id
			for _, e := range s.heap {
				if e.dict == id {
					n++
				}
			}
		}
		s.mu.Unlock()
	}
	return n
}

// shardIndex maps a key to its shard.
func (ks *Keyspace) shardIndex(key []byte) int {
	return Slot(key) & int(ks.mask)
}

func (ks *Keyspace) now() (unixMs, mono int64) {
	t := ks.clock.Now()
	return t.UnixMilli(), int64(t.Sub(ks.start))
}

// logicalDB maps a shard's physical dict id back to its logical database.
func (s *shard) logicalDB(id uint8) int {
	for db, p := range s.phys {
		if p == id {
			return db
		}
	}
	return int(id)
}

// unlink removes e from all of s's structures and its memory from the
// accounts. The caller reports the event, if any.
func (ks *Keyspace) unlink(s *shard, e *Entry) {
	d := s.dicts[e.dict]
	d.remove(hashKey(e.Key()), e)
	if e.hidx >= 0 {
		s.heapRemove(e)
	}
	sz := e.size()
	ks.addUsed(s, -sz)
}

// expireEntry removes e because its TTL passed, reporting the event.
func (ks *Keyspace) expireEntry(s *shard, e *Entry) {
	ks.unlink(s, e)
	s.expired.Add(1)
	ks.modified(s, s.logicalDB(e.dict), e.Key())
	ks.notify(EventExpired, s, e)
}

// FlushDB removes every key of db.
func (ks *Keyspace) FlushDB(db int) {
	for i := range ks.shards {
		s := &ks.shards[i]
		ks.lockShard(s)
		s.flushLocked(ks, db)
		s.mu.Unlock()
	}
}

// flushLocked empties db in s (s locked).
func (s *shard) flushLocked(ks *Keyspace, db int) {
	{
		if d := s.dictFor(db, false); d != nil && d.count > 0 {
			s.touchAllWatched(db)
			var freed int64
			d.each(func(e *Entry) bool {
				if e.hidx >= 0 {
					s.heapRemove(e)
				}
				freed += e.size()
				return true
			})
			s.dicts[d.id] = newDict(d.id)
			ks.addUsed(s, -freed)
		}
	}
}

// FlushAll removes every key of every database.
func (ks *Keyspace) FlushAll() {
	for db := 0; db < ks.databases; db++ {
		ks.FlushDB(db)
	}
}

// SwapDB exchanges two databases atomically (Redis's SWAPDB).
func (ks *Keyspace) SwapDB(a, b int) {
	for i := range ks.shards {
		ks.lockShard(&ks.shards[i])
	}
	for i := range ks.shards {
		ks.shards[i].swapLocked(a, b)
	}
	for i := range ks.shards {
		ks.shards[i].mu.Unlock()
	}
}

// swapLocked exchanges databases a and b in s (s locked); watchers of
// both see their keys changed.
func (s *shard) swapLocked(a, b int) {
	s.touchAllWatched(a)
	s.touchAllWatched(b)
	s.phys[a], s.phys[b] = s.phys[b], s.phys[a]
}

// cron runs the active expiry sweep and incremental rehashing HZ times a
// second, each turn bounded so that no lock is held for long.
func (ks *Keyspace) cron() {
	defer close(ks.done)
	tick := time.NewTicker(time.Second / time.Duration(ks.hz))
	defer tick.Stop()
	for {
		select {
		case <-ks.stop:
			return
		case <-tick.C:
		}
		for more := true; more; {
			more = false
			for i := range ks.shards {
				if ks.sweepShard(&ks.shards[i]) {
					more = true
				}
			}
			select {
			case <-ks.stop:
				return
			default:
			}
		}
	}
}

// sweepBudget bounds the keys one shard expires per lock hold.
const sweepBudget = 200

// sweepShard expires due keys and advances rehashing in one shard. It
// reports whether due keys remain.
func (ks *Keyspace) sweepShard(s *shard) bool {
	nowMs, _ := ks.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	// Rehashing changes no content: only an expiry makes a pending
	// snapshot copy the shard now.
	if s.pending != nil && len(s.heap) > 0 && s.heap[0].expire <= nowMs && !ks.noActiveExpire.Load() {
		s.capture()
	}
	n := 0
	for len(s.heap) > 0 && s.heap[0].expire <= nowMs && !ks.noActiveExpire.Load() {
		if n == sweepBudget {
			return true
		}
		ks.expireEntry(s, s.heap[0])
		n++
	}
	for _, d := range s.dicts {
		if d != nil {
			d.maintain(100)
		}
	}
	return false
}

// Reserve makes room for need more bytes under the memory limit, evicting
// by the policy. It returns ErrOOM when the policy forbids eviction or
// nothing is left to evict, and ErrTooLarge when need alone exceeds the
// limit. The caller must hold no shard lock.
func (ks *Keyspace) Reserve(need int64) error {
	limit := ks.limit.Load()
	if limit <= 0 {
		return nil
	}
	if need > limit {
		return ErrTooLarge
	}
	for ks.used.Load()+need > limit {
		if ks.Policy() == NoEviction {
			return ErrOOM
		}
		if !ks.evictOne() {
			return ErrOOM
		}
	}
	return nil
}

// OverLimit reports whether accounted memory exceeds the limit.
func (ks *Keyspace) OverLimit() bool {
	limit := ks.limit.Load()
	return limit > 0 && ks.used.Load() > limit
}

// evictOne removes one entry chosen by the policy and reports whether it
// found one.
func (ks *Keyspace) evictOne() bool {
	ks.evictMu.Lock()
	defer ks.evictMu.Unlock()
	switch ks.Policy() {
	case AllKeysLRU:
		return ks.evictLRU()
	case AllKeysRandom:
		return ks.evictSampled(false, func(*Entry, int64) int64 { return 0 })
	case VolatileRandom:
		return ks.evictSampled(true, func(*Entry, int64) int64 { return 0 })
	case VolatileLRU:
		return ks.evictSampled(true, func(e *Entry, mono int64) int64 { return mono - e.atime })
	case VolatileTTL:
		return ks.evictSampled(true, func(e *Entry, _ int64) int64 { return math.MaxInt64 - e.expire })
	case AllKeysLFU:
		return ks.evictSampled(false, func(e *Entry, mono int64) int64 { return 255 - int64(ks.lfuDecayed(e, mono)) })
	case VolatileLFU:
		return ks.evictSampled(true, func(e *Entry, mono int64) int64 { return 255 - int64(ks.lfuDecayed(e, mono)) })
	}
	return false
}

// evictLRU evicts an approximately least recently used entry, as Redis's
// allkeys-lru: each call samples a few entries by access time into a pool
// of the oldest candidates seen so far (kept across calls, so the choice
// approaches true LRU order), then evicts the oldest candidate that still
// exists. Entries keep no LRU list, so reads write only the entry itself.
// Called with evictMu held.
func (ks *Keyspace) evictLRU() bool {
	_, mono := ks.now()
	n := len(ks.shards)
	start := rand.IntN(n)
	taken := 0
	for i := 0; i < n && taken < lruSamples; i++ {
		si := (start + i) % n
		s := &ks.shards[si]
		ks.lockShard(s)
		for k := 0; k < lruSamples && taken < lruSamples; k++ {
			e := s.randomEntry()
			if e == nil {
				break
			}
			taken++
			ks.lruPool.add(si, s.logicalDB(e.dict), e.Key(), mono-e.atime)
		}
		s.mu.Unlock()
	}
	for len(ks.lruPool.c) > 0 {
		c := ks.lruPool.pop()
		s := &ks.shards[c.shard]
		ks.lockShard(s)
		if d := s.dictFor(c.db, false); d != nil {
			if e := d.find(hashKey(c.key), c.key); e != nil {
				ks.evict(s, e)
				s.mu.Unlock()
				ks.lruPool.recycle(c)
				return true
			}
		}
		s.mu.Unlock()
		ks.lruPool.recycle(c)
	}
	return false
}

// lruSamples is how many entries evictLRU samples per eviction (Redis's
// maxmemory-samples default).
const lruSamples = 5

// lruPoolSize is how many candidates the pool keeps (Redis's EVPOOL_SIZE).
const lruPoolSize = 16

// evictCand is a candidate for eviction, named by key: the entry itself may
// be gone or moved by the time it is chosen.
type evictCand struct {
	shard, db int
	key       []byte
	idle      int64
}

// evictPool is the candidates seen so far, ordered by idle time ascending
// (the best candidate last). Guarded by evictMu.
type evictPool struct {
	c    []evictCand
	free [][]byte // key buffers for reuse
}

func (p *evictPool) add(shard, db int, key []byte, idle int64) {
	i := 0
	for i < len(p.c) && p.c[i].idle < idle {
		i++
	}
	for j := i; j < len(p.c) && p.c[j].idle == idle; j++ {
		if p.c[j].shard == shard && p.c[j].db == db && string(p.c[j].key) == string(key) {
			return // sampled again
		}
	}
	if len(p.c) == lruPoolSize {
		if i == 0 {
			return // younger than every candidate
		}
		// Drop the youngest candidate; the new one goes just below i.
		old := p.c[0]
		copy(p.c, p.c[1:i])
		p.c[i-1] = evictCand{shard: shard, db: db, key: append(old.key[:0], key...), idle: idle}
		return
	}
	var buf []byte
	if n := len(p.free); n > 0 {
		buf, p.free = p.free[n-1][:0], p.free[:n-1]
	}
	p.c = append(p.c, evictCand{})
	copy(p.c[i+1:], p.c[i:])
	p.c[i] = evictCand{shard: shard, db: db, key: append(buf, key...), idle: idle}
}

func (p *evictPool) pop() evictCand {
	c := p.c[len(p.c)-1]
	p.c = p.c[:len(p.c)-1]
	return c
}

func (p *evictPool) recycle(c evictCand) {
	if cap(c.key) <= 256 && len(p.free) < lruPoolSize {
		p.free = append(p.free, c.key)
	}
}

// evictionSamples is how many candidates sampling policies compare, as
// Redis's maxmemory-samples.
const evictionSamples = 5

// evictSampled evicts the best of a few random candidates by score (higher
// is evicted first), drawing from keys with a TTL only when volatile.
func (ks *Keyspace) evictSampled(volatile bool, score func(*Entry, int64) int64) bool {
	_, mono := ks.now()
	n := len(ks.shards)
	start := rand.IntN(n)
	for i := 0; i < n; i++ {
		s := &ks.shards[(start+i)%n]
		ks.lockShard(s)
		var best *Entry
		var bestScore int64
		for k := 0; k < evictionSamples; k++ {
			var e *Entry
			if volatile {
				if len(s.heap) > 0 {
					e = s.heap[rand.IntN(len(s.heap))]
				}
			} else {
				e = s.randomEntry()
			}
			if e == nil {
				break
			}
			if sc := score(e, mono); best == nil || sc > bestScore {
				best, bestScore = e, sc
			}
		}
		if best != nil {
			ks.evict(s, best)
			s.mu.Unlock()
			return true
		}
		s.mu.Unlock()
	}
	return false
}

// randomEntry picks a random entry of any database in s.
func (s *shard) randomEntry() *Entry {
	total := 0
	for _, d := range s.dicts {
		if d != nil {
			total += d.count
		}
	}
	if total == 0 {
		return nil
	}
	r := rand.IntN(total)
	for _, d := range s.dicts {
		if d == nil {
			continue
		}
		if r < d.count {
			return d.randomEntry(rand.Uint64)
		}
		r -= d.count
	}
	return nil
}

func (ks *Keyspace) evict(s *shard, e *Entry) {
	ks.unlink(s, e)
	s.evicted.Add(1)
	ks.modified(s, s.logicalDB(e.dict), e.Key())
	ks.notify(EventEvicted, s, e)
}

// ForEach calls fn for every live entry of db, one shard at a time with
// that shard locked, until fn returns false. idleMs is the time since the
// entry's last access. For admin commands: it costs O(keys).
func (ks *Keyspace) ForEach(db int, fn func(e *Entry, idleMs int64) bool) {
	for i := range ks.shards {
		s := &ks.shards[i]
		nowMs, mono := ks.now()
		s.mu.Lock()
		d := s.dictFor(db, false)
		goOn := true
		if d != nil {
			d.each(func(e *Entry) bool {
				if e.expire != 0 && e.expire <= nowMs {
					return true
				}
				goOn = fn(e, (mono-e.atime)/1e6)
				return goOn
			})
		}
		s.mu.Unlock()
		if !goOn {
			return
		}
	}
}

// TableStats describes the hash tables: total buckets and whether any is
// being resized.
func (ks *Keyspace) TableStats() (buckets int64, rehashing bool) {
	for i := range ks.shards {
		s := &ks.shards[i]
		s.mu.Lock()
		for _, d := range s.dicts {
			if d != nil {
				buckets += d.bucketBytes() / 8
				rehashing = rehashing || d.rehashing()
			}
		}
		s.mu.Unlock()
	}
	return buckets, rehashing
}
