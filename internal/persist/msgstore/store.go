// Package msgstore keeps the broker's durable messages on disk: persistent
// messages in durable queues are appended to segment files, removals (acks,
// purges, deletes, dead-lettering) are appended as removal records, fsyncs are
// grouped so many publishes share one (group commit), and a recovery scan at
// Open rebuilds what every durable queue held.
//
// The store knows nothing about AMQP. A message is an opaque head (the
// broker's encoding of exchange, routing key and properties) plus a body,
// held by a set of queues named by uint64 ids the broker chooses. A message
// is stored once however many queues hold it and lives until every one of
// them has removed it.
//
// Files (see format.go for the byte layout, keep docs/dev/amqp-broker.md in
// sync):
//
//	<dir>/00000001.seg, 00000002.seg, …   segments, appended in order
//
// Segments are reclaimed whole: a sealed segment is deleted once none of its
// messages is live and none of its records still cancels a record in an
// older segment that exists. A sealed segment whose live bytes fall below
// Options.CompactRatio of its size has its live messages rewritten into the
// active segment (carrying their current queue sets) and is deleted once
// the copies are on disk.
//
// Concurrency: every method is safe for concurrent use. Waiter callbacks
// run on the store's syncer goroutine with no store lock held; they must not
// block for long and may call back into the store.
//
// It imports only the standard library.
package msgstore

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune a Store. Zero values mean the defaults.
type Options struct {
	// SegmentSize is the size at which the active segment is sealed and a
	// new one started (default 64 MiB, at most 1 GiB). A single record larger
	// than this gets a segment of its own.
	SegmentSize int64
	// SyncInterval bounds how long appended data waits for an fsync when
	// nobody asked for one (default 200ms).
	SyncInterval time.Duration
	// MaxPending is how many appended bytes may wait for the syncer before
	// Add blocks (default 64 MiB): the back-pressure when producers outrun
	// the disk.
	MaxPending int
	// CompactRatio: a sealed segment whose live bytes are below this share
	// of its size is rewritten (default 0.5; negative disables rewriting,
	// whole dead segments are still deleted).
	CompactRatio float64
	// CompactInterval is how often the maintenance goroutine looks for work
	// besides being woken by removals (default 5s).
	CompactInterval time.Duration
	// Logger receives warnings (a cut torn tail). Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) fill() {
	if o.SegmentSize <= 0 {
		o.SegmentSize = 64 << 20
	}
	if o.SegmentSize > 1<<30 {
		o.SegmentSize = 1 << 30
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = 200 * time.Millisecond
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 64 << 20
	}
	if o.CompactRatio == 0 {
		o.CompactRatio = 0.5
	}
	if o.CompactInterval <= 0 {
		o.CompactInterval = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Waiter is told when the data appended before its Notify call is on disk.
// Synced runs on the store's syncer goroutine, in Notify order, with no
// store lock held; it must not block.
type Waiter interface {
	Synced(token uint64, err error)
}

// CumulativeWaiter is a Waiter whose notifications may be merged: when one
// fsync covers several Notify calls for the same CumulativeWaiter, Synced
// is called once, with the last token. Implementations must be comparable
// (pointers are) and must read Synced(t) as covering every token they
// registered up to t. The broker's channels are cumulative, so a burst of
// persistent publishes is confirmed with one multiple ack.
type CumulativeWaiter interface {
	Waiter
	// Cumulative marks the type; it is never called.
	Cumulative()
}

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("msgstore: closed")

// CorruptError reports a segment that cannot be read back: recovery refuses
// to guess, and names the file and byte offset.
type CorruptError struct {
	File   string
	Offset int64
	Reason string
}

// Error names the file, the offset and what is wrong there.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("msgstore: %s: corrupt at offset %d: %s", e.File, e.Offset, e.Reason)
}

// Stats is a snapshot of the store's counters.
type Stats struct {
	Segments     int    // segment files (including the active one once created)
	Bytes        int64  // total size of the segments
	LiveMessages int    // messages held by at least one queue
	LiveBytes    int64  // encoded size of the live message records
	Appends      uint64 // message records appended
	Removes      uint64 // removal records appended
	Fsyncs       uint64 // fsync calls on segment files
	Rewritten    uint64 // messages copied forward by compaction
	Deleted      uint64 // segment files deleted
}

// entry locates a live message. refs counts the queues still holding it;
// q is the queue when the message has exactly one queue recorded in q,
// otherwise the queue set lives in Store.multi.
type entry struct {
	seg  uint32
	off  uint32
	size uint32
	refs uint32
	q    uint64
}

type segment struct {
	num       uint32
	size      int64 // bytes reserved (header included)
	live      int
	liveBytes int64
	// deps counts this segment's records that cancel or supersede records
	// in older segments, per older segment. The segment may only be deleted
	// once every such older segment is gone, or a recovery would resurrect
	// what those records cancelled.
	deps map[uint32]int
	// onDisk is set once the segment's file exists.
	onDisk bool
}

type chunk struct {
	seg uint32
	buf []byte
}

type waiter struct {
	w     Waiter
	token uint64
}

// Store is an open message store. See the package comment.
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu           sync.Mutex
	drained      sync.Cond // Add waits here while too much is pending
	err          error     // sticky write error
	closed       bool
	nextID       uint64
	index        map[uint64]entry
	multi        map[uint64][]uint64
	segs         map[uint32]*segment
	active       uint32 // segment receiving appends
	sealedBelow  uint32 // segments below this are completely written and fsynced
	chunks       []chunk
	pendingBytes int
	waiters      []waiter
	spareBufs    [][]byte
	spareWaiters []waiter
	rmScratch    []uint64
	locScratch   []uint32

	kick        chan struct{}
	compactKick chan struct{}
	closeCh     chan struct{}
	syncerDone  chan struct{}
	maintDone   chan struct{}

	compactMu sync.Mutex // one maintenance pass at a time

	// syncer-owned
	file     *os.File
	fileSeg  uint32
	cumIndex map[CumulativeWaiter]int

	appends, removes, fsyncs, rewritten, deleted atomic.Uint64
}

func segName(n uint32) string { return fmt.Sprintf("%08d.seg", n) }

func (s *Store) segPath(n uint32) string { return filepath.Join(s.dir, segName(n)) }

// Open opens (creating if needed) the store in dir, recovers what it holds
// and starts the syncer and maintenance goroutines. The Recovery lists
// every live message; the caller must Remove messages of queues it no longer
// knows.
func Open(dir string, opts Options) (*Store, *Recovery, error) {
	opts.fill()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("msgstore: %w", err)
	}
	s := &Store{
		dir:         dir,
		opts:        opts,
		log:         opts.Logger,
		nextID:      1,
		index:       make(map[uint64]entry),
		multi:       make(map[uint64][]uint64),
		segs:        make(map[uint32]*segment),
		kick:        make(chan struct{}, 1),
		compactKick: make(chan struct{}, 1),
		closeCh:     make(chan struct{}),
		syncerDone:  make(chan struct{}),
		maintDone:   make(chan struct{}),
	}
	s.drained.L = &s.mu
	rec, err := s.recover()
	if err != nil {
		return nil, nil, err
	}
	go s.syncLoop()
	go s.maintainLoop()
	s.wakeCompactor()
	return s, rec, nil
}

// Add stores a message held by queues (at least one, without duplicates)
// and returns its id. The record is buffered; it is on disk once a later
// Notify's waiter is told so. head and body are copied.
func (s *Store) Add(queues []uint64, head, body []byte) (uint64, error) {
	if len(queues) == 0 {
		return 0, errors.New("msgstore: message without queues")
	}
	size := messageRecordSize(queues, head, body)
	if size-8 > maxRecord {
		return 0, fmt.Errorf("msgstore: message of %d bytes too large", size)
	}
	s.mu.Lock()
	for s.pendingBytes >= s.opts.MaxPending && s.err == nil && !s.closed {
		s.drained.Wait()
	}
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	id := s.nextID
	s.nextID++
	seg := s.reserveFor(size)
	off := s.segs[seg].size
	s.segs[seg].size += int64(size)
	s.pendingBytes += size
	c := s.chunkFor(seg, size)
	c.buf = appendMessageRecord(c.buf, id, queues, head, body)
	e := entry{seg: seg, off: uint32(off), size: uint32(size), refs: uint32(len(queues))}
	if len(queues) == 1 {
		e.q = queues[0]
	} else {
		s.multi[id] = append([]uint64(nil), queues...)
	}
	s.index[id] = e
	sg := s.segs[seg]
	sg.live++
	sg.liveBytes += int64(size)
	big := s.pendingBytes >= s.opts.MaxPending/4
	s.mu.Unlock()
	s.appends.Add(1)
	if big {
		s.wakeSyncer()
	}
	return id, nil
}

// Remove records that queue no longer holds the messages ids. Ids the
// queue does not hold (already removed, unknown) are ignored, so a
// removal repeated after a crash is harmless. Removals need no fsync of
// their own: one lost in a crash only brings the message back.
func (s *Store) Remove(queue uint64, ids []uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	eff := s.rmScratch[:0]
	locs := s.locScratch[:0]
	for _, id := range ids {
		e, ok := s.index[id]
		if ok && s.dropRef(id, queue) {
			eff = append(eff, id)
			locs = append(locs, e.seg)
		}
	}
	s.rmScratch, s.locScratch = eff[:0], locs[:0]
	if len(eff) == 0 {
		return nil
	}
	est := recHeaderSize + 2*10 + 10*len(eff)
	seg := s.reserveFor(est)
	c := s.chunkFor(seg, est)
	before := len(c.buf)
	c.buf = appendRemoveRecord(c.buf, queue, eff)
	n := len(c.buf) - before
	s.segs[seg].size += int64(n)
	s.pendingBytes += n
	// The removal cancels records in the segments the messages live in.
	for _, l := range locs {
		s.addDep(seg, l)
	}
	s.removes.Add(1)
	return nil
}

// dropRef removes queue from message id's holders, reporting whether it
// was a holder. When the last holder goes, the message leaves the index
// and its segment's live count drops.
func (s *Store) dropRef(id, queue uint64) bool {
	e, ok := s.index[id]
	if !ok {
		return false
	}
	if qs, multi := s.multi[id]; multi {
		i := -1
		for k, q := range qs {
			if q == queue {
				i = k
				break
			}
		}
		if i < 0 {
			return false
		}
		qs[i] = qs[len(qs)-1]
		qs = qs[:len(qs)-1]
		if len(qs) == 0 {
			delete(s.multi, id)
		} else {
			s.multi[id] = qs
		}
	} else if e.q != queue {
		return false
	}
	e.refs--
	if e.refs > 0 {
		s.index[id] = e
		return true
	}
	delete(s.index, id)
	if sg := s.segs[e.seg]; sg != nil {
		sg.live--
		sg.liveBytes -= int64(e.size)
		if sg.live == 0 && e.seg < s.sealedBelow {
			s.wakeCompactor()
		}
	}
	return true
}

func (s *Store) addDep(from, to uint32) {
	if from == to {
		return
	}
	sg := s.segs[from]
	if sg.deps == nil {
		sg.deps = make(map[uint32]int)
	}
	sg.deps[to]++
}

// reserveFor returns the segment a record of about size bytes goes to,
// rolling to a new segment when the active one would overflow (a record
// larger than a whole segment gets a fresh segment to itself).
func (s *Store) reserveFor(size int) uint32 {
	sg := s.segs[s.active]
	if sg == nil {
		sg = &segment{num: s.active, size: segHeaderSize}
		s.segs[s.active] = sg
	}
	if sg.size+int64(size) > s.opts.SegmentSize && sg.size > segHeaderSize {
		s.roll()
	}
	return s.active
}

func (s *Store) roll() {
	s.active++
	s.segs[s.active] = &segment{num: s.active, size: segHeaderSize}
}

// chunkSize is the capacity of a pending-write buffer. Appends fill one
// buffer after another instead of growing one, so no append ever copies
// what is already pending.
const chunkSize = 1 << 20

// chunkFor returns the pending buffer that a record of need bytes for
// segment seg is appended to.
func (s *Store) chunkFor(seg uint32, need int) *chunk {
	if n := len(s.chunks); n > 0 {
		c := &s.chunks[n-1]
		if c.seg == seg && len(c.buf)+need <= cap(c.buf) {
			return c
		}
	}
	var buf []byte
	if n := len(s.spareBufs); n > 0 && need <= chunkSize {
		buf = s.spareBufs[n-1][:0]
		s.spareBufs = s.spareBufs[:n-1]
	} else {
		buf = make([]byte, 0, max(chunkSize, need))
	}
	s.chunks = append(s.chunks, chunk{seg: seg, buf: buf})
	return &s.chunks[len(s.chunks)-1]
}

func (s *Store) usable() error {
	if s.closed {
		return ErrClosed
	}
	return s.err
}

// Notify arranges for w.Synced(token, err) to be called once everything
// appended before this call is on disk (err nil) or cannot be (err set).
// On a closed or failed store it is called at once.
func (s *Store) Notify(w Waiter, token uint64) {
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		w.Synced(token, err)
		return
	}
	s.waiters = append(s.waiters, waiter{w, token})
	s.mu.Unlock()
	s.wakeSyncer()
}

type chanWaiter chan error

func (c chanWaiter) Synced(_ uint64, err error) { c <- err }

// Sync blocks until everything appended so far is on disk.
func (s *Store) Sync() error {
	c := make(chanWaiter, 1)
	s.Notify(c, 0)
	return <-c
}

// Stats returns a snapshot of the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	st := Stats{LiveMessages: len(s.index)}
	for _, sg := range s.segs {
		if !sg.onDisk {
			continue
		}
		st.Segments++
		st.Bytes += sg.size
		st.LiveBytes += sg.liveBytes
	}
	s.mu.Unlock()
	st.Appends = s.appends.Load()
	st.Removes = s.removes.Load()
	st.Fsyncs = s.fsyncs.Load()
	st.Rewritten = s.rewritten.Load()
	st.Deleted = s.deleted.Load()
	return st
}

// Close writes and fsyncs what is pending, stops the goroutines and closes
// the files. Waiters still registered are told the outcome.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.drained.Broadcast()
	s.mu.Unlock()
	close(s.closeCh)
	<-s.syncerDone
	<-s.maintDone
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Store) wakeSyncer() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Store) wakeCompactor() {
	select {
	case s.compactKick <- struct{}{}:
	default:
	}
}

// syncLoop is the syncer goroutine: it takes everything pending, writes it
// to the segment files, fsyncs, and tells the waiters. Appends made while
// it writes wait for the next round, so one fsync covers every publish that
// arrived during the previous one (group commit).
func (s *Store) syncLoop() {
	defer close(s.syncerDone)
	tick := time.NewTicker(s.opts.SyncInterval)
	defer tick.Stop()
	for {
		closing := false
		select {
		case <-s.kick:
		case <-tick.C:
		case <-s.closeCh:
			closing = true
		}
		s.syncRound()
		if closing {
			s.syncRound() // anything that raced with the close
			if s.file != nil {
				if err := s.file.Close(); err != nil {
					s.fail(fmt.Errorf("msgstore: close: %w", err))
				}
				s.file = nil
			}
			return
		}
	}
}

func (s *Store) syncRound() {
	s.mu.Lock()
	chunks, waiters := s.chunks, s.waiters
	s.chunks = nil
	s.waiters = s.spareWaiters[:0]
	s.spareWaiters = nil
	s.pendingBytes = 0
	s.drained.Broadcast()
	err := s.err
	s.mu.Unlock()
	if len(chunks) == 0 && len(waiters) == 0 {
		s.mu.Lock()
		s.spareWaiters = waiters
		s.mu.Unlock()
		return
	}
	if err == nil {
		err = s.write(chunks)
		if err != nil {
			s.fail(err)
		}
	}
	for _, w := range s.coalesce(waiters) {
		w.w.Synced(w.token, err)
	}
	clear(waiters)
	s.mu.Lock()
	for _, c := range chunks {
		if cap(c.buf) == chunkSize && len(s.spareBufs) < 16 {
			s.spareBufs = append(s.spareBufs, c.buf[:0])
		}
	}
	s.spareWaiters = waiters[:0]
	s.mu.Unlock()
}

// coalesce merges the notifications of each CumulativeWaiter into its
// last one, keeping the order of first appearance. It reuses waiters'
// backing array and the syncer-owned index map.
func (s *Store) coalesce(waiters []waiter) []waiter {
	if len(waiters) < 2 {
		return waiters
	}
	if s.cumIndex == nil {
		s.cumIndex = make(map[CumulativeWaiter]int)
	}
	out := waiters[:0]
	for _, w := range waiters {
		if cw, ok := w.w.(CumulativeWaiter); ok {
			if i, seen := s.cumIndex[cw]; seen {
				out[i].token = w.token
				continue
			}
			s.cumIndex[cw] = len(out)
		}
		out = append(out, w)
	}
	clear(s.cumIndex)
	clear(waiters[len(out):])
	return out
}

func (s *Store) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
		s.log.Error("message store write failed; persistent publishes will be refused", "err", err)
	}
	s.drained.Broadcast()
	s.mu.Unlock()
}

// write appends chunks to their segment files in order and fsyncs the last
// file written. A file is fsynced and closed before the next is started,
// so every segment but the newest is complete on disk.
func (s *Store) write(chunks []chunk) error {
	for _, c := range chunks {
		if s.file == nil || s.fileSeg != c.seg {
			if err := s.openSegment(c.seg); err != nil {
				return err
			}
		}
		if len(c.buf) == 0 {
			continue
		}
		if _, err := s.file.Write(c.buf); err != nil {
			return fmt.Errorf("msgstore: write %s: %w", segName(c.seg), err)
		}
	}
	if s.file == nil {
		return nil
	}
	if err := s.file.Sync(); err != nil {
		return fmt.Errorf("msgstore: fsync %s: %w", segName(s.fileSeg), err)
	}
	s.fsyncs.Add(1)
	return nil
}

func (s *Store) openSegment(seg uint32) error {
	if s.file != nil {
		if err := s.file.Sync(); err != nil {
			return fmt.Errorf("msgstore: fsync %s: %w", segName(s.fileSeg), err)
		}
		s.fsyncs.Add(1)
		if err := s.file.Close(); err != nil {
			return fmt.Errorf("msgstore: close %s: %w", segName(s.fileSeg), err)
		}
		s.file = nil
	}
	f, err := os.OpenFile(s.segPath(seg), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("msgstore: %w", err)
	}
	if _, err := f.Write(appendSegHeader(nil, seg)); err != nil {
		f.Close()
		return fmt.Errorf("msgstore: write %s: %w", segName(seg), err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.file, s.fileSeg = f, seg
	s.mu.Lock()
	if seg > s.sealedBelow {
		s.sealedBelow = seg
	}
	if sg := s.segs[seg]; sg != nil {
		sg.onDisk = true
	}
	s.mu.Unlock()
	s.wakeCompactor()
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("msgstore: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("msgstore: fsync %s: %w", dir, err)
	}
	return nil
}
