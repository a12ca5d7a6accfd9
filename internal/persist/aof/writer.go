package aof

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FsyncPolicy is appendfsync.
type FsyncPolicy int

// The appendfsync policies. The zero value is Redis's default.
const (
	FsyncEverysec FsyncPolicy = iota // fsync in the background at most once per second
	FsyncAlways                      // fsync every batch before its callers are released (group commit)
	FsyncNo                          // leave it to the operating system
)

func (p FsyncPolicy) String() string {
	switch p {
	case FsyncAlways:
		return "always"
	case FsyncNo:
		return "no"
	}
	return "everysec"
}

// ParseFsyncPolicy parses appendfsync's values (case-insensitive).
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	switch strings.ToLower(s) {
	case "always":
		return FsyncAlways, nil
	case "everysec":
		return FsyncEverysec, nil
	case "no":
		return FsyncNo, nil
	}
	return 0, fmt.Errorf("aof: invalid appendfsync %q", s)
}

// ErrClosed is returned for work asked of a closed Writer.
var ErrClosed = errors.New("aof: writer closed")

// ErrRewriteInProgress is returned by StartRewrite while another rewrite
// has not been finished or aborted.
var ErrRewriteInProgress = errors.New("aof: a rewrite is already in progress")

// DiskError is a failed write or fsync of an AOF file. The Writer keeps the
// data and retries; Err reports the error until a later attempt succeeds.
// Unwrap gives the syscall error (for example syscall.ENOSPC), whose text a
// server puts in its "-MISCONF Errors writing to the AOF file: …" reply.
type DiskError struct {
	Op   string // "write" or "fsync"
	File string
	Err  error
}

func (e *DiskError) Error() string { return "aof: " + e.Op + " " + e.File + ": " + e.Err.Error() }

func (e *DiskError) Unwrap() error { return e.Err }

// appendFile is what the Writer needs of an incremental file; tests
// substitute a failing disk.
type appendFile interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

func openAppend(path string) (appendFile, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
}

// Options configure a Writer.
type Options struct {
	DirName  string      // appenddirname; "" means DefaultDirName
	FileName string      // appendfilename; "" means DefaultFileName
	Fsync    FsyncPolicy // appendfsync

	// RetryInterval is how long the Writer waits before retrying a
	// failed write or fsync; 0 means 100ms.
	RetryInterval time.Duration

	// Offset is the log offset the Writer starts at. A Writer that
	// replaces another one on the same files (to change the fsync policy)
	// continues its predecessor's offsets (Offset of the old one), so that
	// offsets handed out by the old Writer stay meaningful to WaitSynced.
	Offset int64

	everysec time.Duration                    // tests: the everysec period (default 1s)
	open     func(string) (appendFile, error) // tests: open an incremental file for appending
}

// Writer appends commands to the current incremental file of an AOF
// directory.
//
// Concurrency: every method is safe for concurrent use. Append only
// encodes into memory under a short mutex and never waits for I/O, so it
// may be called with engine locks held; one background goroutine writes
// the buffer out in batches, another (everysec, no) fsyncs. WaitSynced
// blocks; call it without engine locks held.
type Writer struct {
	policy   FsyncPolicy
	dir      string
	aofDir   string
	fileName string
	retry    time.Duration
	every    time.Duration
	open     func(string) (appendFile, error)

	// The append side. Nothing under mu blocks on I/O.
	mu      sync.Mutex
	buf     []byte
	bufOff  int64 // log offset of buf[0]
	lastDB  int   // database of the last record; -1 forces a SELECT
	cut     *Rewrite
	rw      *Rewrite
	idle    bool // the flusher waits for a wake-up
	closing bool
	exited  bool // the flusher is gone: appends are dropped
	wake    chan struct{}

	// The current incremental file. Only the flusher writes to it, without
	// a lock; it is replaced or closed, and fsynced, under fmu.
	fmu     sync.Mutex
	cur     appendFile
	curName string

	wr int64 // flusher-owned: log offset written to the OS

	// Durability status; scond announces changes to synced, errors, closed.
	failed   atomic.Bool // writeErr or syncErr is set (noteErrLocked)
	smu      sync.Mutex
	scond    *sync.Cond
	written  int64
	synced   int64
	want     int64 // the highest offset a WaitSynced asked to be synced
	writeErr error
	syncErr  error
	lastSync time.Time
	closed   bool
	closeErr error

	bufWaiters  int          // goroutines in WaitBuffered, under smu
	appendedOff atomic.Int64 // log offset past the last append

	// The manifest, replaced under mmu.
	mmu sync.Mutex
	man *Manifest

	baseSize    atomic.Int64 // the base file
	incrSize    atomic.Int64 // incremental files before the current one
	curSize     atomic.Int64 // the current incremental file
	rewriteBase atomic.Int64 // the size at load or at the last rewrite (aof_base_size)
	pendingLen  atomic.Int64 // bytes the flusher holds unwritten
	fsyncs      atomic.Int64
	writes      atomic.Int64
	rewriteOK   atomic.Bool
	rewriteSeq  atomic.Int64

	syncReq  chan struct{}
	stopSync chan struct{}
	syncDone chan struct{}
	done     chan struct{}
}

// Open prepares the AOF directory under dir (Redis's "dir") for appending,
// as Redis 7.0 does on start: it upgrades an old-style single file, deletes
// history files left by a rewrite, and opens the last incremental file for
// appending (creating incremental file 1 if the manifest has none), then
// persists the manifest. Call it after Load: Load cuts a torn tail, which
// must not be appended to.
//
// Unlike Redis, Open does not create a base file for an empty dataset: a
// manifest with no base is valid for Redis 7 as well; call StartRewrite to
// make one.
func Open(dir string, opts Options) (*Writer, error) {
	dirName, fileName := opts.DirName, opts.FileName
	if dirName == "" {
		dirName = DefaultDirName
	}
	if fileName == "" {
		fileName = DefaultFileName
	}
	if !isBaseName(fileName) || !isBaseName(dirName) {
		return nil, errors.New("aof: appendfilename and appenddirname must be file names, not paths")
	}
	w := &Writer{
		policy:   opts.Fsync,
		dir:      dir,
		aofDir:   filepath.Join(dir, dirName),
		fileName: fileName,
		retry:    opts.RetryInterval,
		every:    opts.everysec,
		open:     opts.open,
		lastDB:   -1,
		wake:     make(chan struct{}, 1),
		syncReq:  make(chan struct{}, 1),
		stopSync: make(chan struct{}),
		syncDone: make(chan struct{}),
		done:     make(chan struct{}),
	}
	w.scond = sync.NewCond(&w.smu)
	w.bufOff, w.wr, w.written, w.synced, w.want = opts.Offset, opts.Offset, opts.Offset, opts.Offset, opts.Offset
	w.appendedOff.Store(opts.Offset)
	w.rewriteOK.Store(true)
	if w.retry <= 0 {
		w.retry = 100 * time.Millisecond
	}
	if w.every <= 0 {
		w.every = time.Second
	}
	if w.open == nil {
		w.open = openAppend
	}
	m, _, err := prepareDir(dir, dirName, fileName, true)
	if err != nil {
		return nil, err
	}
	for _, h := range m.History {
		if err := os.Remove(filepath.Join(w.aofDir, h.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("aof: delete history file: %w", err)
		}
	}
	m.History = nil
	removeStaleTemps(w.aofDir)
	if len(m.Incr) == 0 {
		m.Incr = append(m.Incr, FileInfo{Name: IncrName(fileName, 1), Seq: 1, Type: TypeIncr})
	}
	last := m.Incr[len(m.Incr)-1]
	f, err := w.open(filepath.Join(w.aofDir, last.Name))
	if err != nil {
		return nil, fmt.Errorf("aof: open %s: %w", last.Name, err)
	}
	if err := WriteManifest(w.aofDir, fileName, m); err != nil {
		f.Close()
		return nil, err
	}
	w.man, w.cur, w.curName = m, f, last.Name
	if m.Base != nil {
		w.baseSize.Store(fileSize(filepath.Join(w.aofDir, m.Base.Name)))
	}
	var incr int64
	for _, fi := range m.Incr[:len(m.Incr)-1] {
		incr += fileSize(filepath.Join(w.aofDir, fi.Name))
	}
	w.incrSize.Store(incr)
	w.curSize.Store(fileSize(filepath.Join(w.aofDir, last.Name)))
	w.rewriteBase.Store(w.currentSize())
	w.lastSync = time.Now()
	go w.flusher()
	if w.policy != FsyncAlways {
		go w.syncer()
	} else {
		close(w.syncDone)
	}
	return w, nil
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// removeStaleTemps deletes what a crash left behind: our rewrite temp files
// and a temp manifest.
func removeStaleTemps(aofDir string) {
	ents, err := os.ReadDir(aofDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tempRewrite) {
			os.Remove(filepath.Join(aofDir, e.Name()))
		}
	}
}

// Append adds one command for database db (db < 0: the command belongs to
// no database and gets no SELECT) and returns the log offset just past it,
// for WaitSynced. A SELECT precedes it when db differs from the previous
// record's, as in Redis. args are copied. Append never blocks on I/O.
func (w *Writer) Append(db int, args [][]byte) int64 {
	w.mu.Lock()
	if db >= 0 && db != w.lastDB {
		w.buf = appendSelect(w.buf, db)
		w.lastDB = db
	}
	w.buf = AppendCommand(w.buf, args...)
	off := w.appended()
	w.mu.Unlock()
	return off
}

// WaitBuffered blocks while more than max bytes are appended but not yet
// written to the operating system. Append never blocks, so a disk slower
// than the clients would grow the buffer without bound; a server calls
// this, without engine locks held, before running a write command, so
// that the clients slow down instead (Redis gets the same effect from its
// event loop blocking in write). It returns at once on a disk error
// (callers refuse writes then) or after Close.
func (w *Writer) WaitBuffered(max int64) error {
	w.smu.Lock()
	defer w.smu.Unlock()
	for w.appendedOff.Load()-w.written > max {
		if w.closed {
			return ErrClosed
		}
		if err := w.errLocked(); err != nil {
			return err
		}
		w.bufWaiters++
		w.scond.Wait()
		w.bufWaiters--
	}
	return nil
}

// Command is one command of a batch.
type Command struct {
	DB   int
	Args [][]byte
}

// AppendBatch adds cmds contiguously, so no other caller's command lands
// between them; with tx they are wrapped in MULTI … EXEC, as Redis
// propagates a transaction (MULTI in the first command's database). It
// returns the log offset past the last record.
func (w *Writer) AppendBatch(cmds []Command, tx bool) int64 {
	w.mu.Lock()
	if tx && len(cmds) > 0 {
		if db := cmds[0].DB; db >= 0 && db != w.lastDB {
			w.buf = appendSelect(w.buf, db)
			w.lastDB = db
		}
		w.buf = append(w.buf, "*1\r\n$5\r\nMULTI\r\n"...)
	}
	for _, c := range cmds {
		if c.DB >= 0 && c.DB != w.lastDB {
			w.buf = appendSelect(w.buf, c.DB)
			w.lastDB = c.DB
		}
		w.buf = AppendCommand(w.buf, c.Args...)
	}
	if tx && len(cmds) > 0 {
		w.buf = append(w.buf, "*1\r\n$4\r\nEXEC\r\n"...)
	}
	off := w.appended()
	w.mu.Unlock()
	return off
}

// appended finishes an append under mu: wakes the flusher if it sleeps,
// and returns the end offset.
func (w *Writer) appended() int64 {
	off := w.bufOff + int64(len(w.buf))
	w.appendedOff.Store(off)
	if w.exited { // closed: nothing will write it
		w.bufOff, w.buf = off, w.buf[:0]
		return off
	}
	w.kick()
	return off
}

func (w *Writer) kick() {
	if w.idle {
		w.idle = false
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// Offset is the log offset past the last appended record.
func (w *Writer) Offset() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bufOff + int64(len(w.buf))
}

// WaitSynced blocks until the log up to offset (a value Append returned)
// is written and fsynced. Under always the flusher's group commit does it;
// under everysec and no it asks for an fsync now. It returns the disk error
// that currently stops that from happening (the data stays queued and is
// retried), or ErrClosed.
func (w *Writer) WaitSynced(offset int64) error {
	w.smu.Lock()
	defer w.smu.Unlock()
	if offset <= w.synced {
		return nil
	}
	if w.policy != FsyncAlways && offset > w.want {
		w.want = offset
		w.nudgeSyncer()
	}
	for offset > w.synced {
		if w.closed {
			if w.closeErr != nil {
				return w.closeErr
			}
			return ErrClosed
		}
		if err := w.errLocked(); err != nil {
			return err
		}
		w.scond.Wait()
	}
	return nil
}

func (w *Writer) nudgeSyncer() {
	select {
	case w.syncReq <- struct{}{}:
	default:
	}
}

// Err reports the disk error that currently prevents the log from being
// written or fsynced, or nil. A server refuses writes while it is set, as
// Redis replies -MISCONF; the next successful attempt clears it.
func (w *Writer) Err() error {
	if !w.failed.Load() { // every write command asks: no lock when healthy
		return nil
	}
	w.smu.Lock()
	defer w.smu.Unlock()
	return w.errLocked()
}

// noteErrLocked publishes whether an error is set to Err's lock-free check
// (smu held).
func (w *Writer) noteErrLocked() { w.failed.Store(w.writeErr != nil || w.syncErr != nil) }

func (w *Writer) errLocked() error {
	if w.writeErr != nil {
		return w.writeErr
	}
	return w.syncErr
}

// Stats is the Writer's state for INFO persistence and the dashboard.
type Stats struct {
	Policy       FsyncPolicy
	CurrentSize  int64 // aof_current_size: base plus incremental files
	BaseSize     int64 // aof_base_size: the size at load or the last rewrite
	BufferLength int64 // aof_buffer_length: appended, not yet written
	Appended     int64 // log offsets: appended, written to the OS, fsynced
	Written      int64
	Synced       int64
	LastWriteErr error     // nil: aof_last_write_status:ok
	LastSyncErr  error     // the last fsync's error, nil if it succeeded
	LastSync     time.Time // the last successful fsync (or Open)
	Fsyncs       int64
	Writes       int64
	Rewriting    bool // aof_rewrite_in_progress
	LastRewrite  bool // aof_last_bgrewrite_status:ok
	IncrFile     string
	BaseFile     string
}

// Stats returns a snapshot of the Writer's state.
func (w *Writer) Stats() Stats {
	var s Stats
	w.mu.Lock()
	s.Appended = w.bufOff + int64(len(w.buf))
	s.BufferLength = int64(len(w.buf))
	s.Rewriting = w.rw != nil
	w.mu.Unlock()
	s.BufferLength += w.pendingLen.Load()
	w.smu.Lock()
	s.Written, s.Synced = w.written, w.synced
	s.LastWriteErr, s.LastSyncErr, s.LastSync = w.writeErr, w.syncErr, w.lastSync
	w.smu.Unlock()
	w.mmu.Lock()
	if w.man.Base != nil {
		s.BaseFile = w.man.Base.Name
	}
	if n := len(w.man.Incr); n > 0 {
		s.IncrFile = w.man.Incr[n-1].Name
	}
	w.mmu.Unlock()
	s.Policy = w.policy
	s.CurrentSize = w.currentSize()
	s.BaseSize = w.rewriteBase.Load()
	s.Fsyncs, s.Writes = w.fsyncs.Load(), w.writes.Load()
	s.LastRewrite = w.rewriteOK.Load()
	return s
}

func (w *Writer) currentSize() int64 {
	return w.baseSize.Load() + w.incrSize.Load() + w.curSize.Load()
}

// RewriteNeeded applies auto-aof-rewrite-percentage and
// auto-aof-rewrite-min-size as Redis's serverCron does: the files total more
// than minSize and have grown by at least percentage since the last rewrite
// (or load). percentage 0 disables it, as does a rewrite in progress.
func (w *Writer) RewriteNeeded(percentage int, minSize int64) bool {
	if percentage <= 0 {
		return false
	}
	w.mu.Lock()
	busy := w.rw != nil
	w.mu.Unlock()
	cur := w.currentSize()
	if busy || cur <= minSize {
		return false
	}
	base := w.rewriteBase.Load()
	if base == 0 {
		base = 1
	}
	return cur*100/base-100 >= int64(percentage)
}

// Manifest returns a copy of the current manifest.
func (w *Writer) Manifest() *Manifest {
	w.mmu.Lock()
	defer w.mmu.Unlock()
	return w.man.clone()
}

// Dir is the AOF directory's path.
func (w *Writer) Dir() string { return w.aofDir }

// Close writes out everything appended, fsyncs, and closes the file. A
// disk error that persists is returned (the unwritten tail is lost). A
// rewrite in progress can only be aborted afterwards.
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closing {
		w.closing = true
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	w.mu.Unlock()
	<-w.done
	<-w.syncDone
	w.smu.Lock()
	defer w.smu.Unlock()
	return w.closeErr
}

// flusher writes the buffer out in batches: it swaps the append buffer
// with its own (appends go on meanwhile), writes, and under always fsyncs
// before taking the next batch, so every fsync covers all the callers that
// appended while the previous one ran (group commit).
func (w *Writer) flusher() {
	var (
		pend    []byte // taken from the append buffer
		pendOff = w.wr // log offset of pend[0]
		cut     *Rewrite
		dirty   bool // written but not fsynced (always)
	)
	for {
		w.mu.Lock()
		if w.wr == pendOff+int64(len(pend)) && len(w.buf) > 0 {
			// Keep the two buffers for reuse, unless a burst made this one
			// much larger than the batch that follows it.
			if cap(pend) > 16<<20 && len(w.buf) < cap(pend)/8 {
				pend = nil
			}
			pend, w.buf = w.buf, pend[:0]
			pendOff = w.bufOff
			w.bufOff += int64(len(pend))
			w.pendingLen.Store(int64(len(pend)))
		}
		if cut == nil && w.cut != nil {
			cut, w.cut = w.cut, nil
		}
		closing := w.closing
		work := w.wr < pendOff+int64(len(pend)) || cut != nil || dirty
		if !work && !closing {
			w.idle = true
			w.mu.Unlock()
			<-w.wake
			continue
		}
		if !work && closing {
			w.exited = true
			w.mu.Unlock()
			w.exit(nil)
			return
		}
		w.mu.Unlock()

		var err error
		if w.wr < pendOff+int64(len(pend)) || cut != nil {
			var wrote bool
			wrote, err = w.writeOut(pend, pendOff, &cut)
			dirty = w.policy == FsyncAlways && (dirty || wrote)
		}
		if err == nil && dirty {
			if err = w.syncCurrent(); err == nil {
				dirty = false
				// The callers just released append their next commands
				// now: let them, so the next fsync covers them all.
				runtime.Gosched()
			}
		}
		if err == nil && w.policy != FsyncAlways {
			w.smu.Lock()
			need := w.want > w.synced
			w.smu.Unlock()
			if need {
				w.nudgeSyncer()
			}
		}
		if err != nil {
			if closing {
				w.mu.Lock()
				w.exited = true
				w.mu.Unlock()
				if cut != nil {
					cut.switchErr = ErrClosed
					close(cut.switched)
				}
				w.exit(err)
				return
			}
			select { // retry later; Close cuts the wait short
			case <-w.wake:
			case <-time.After(w.retry):
			}
		}
	}
}

// writeOut writes pend from the written offset on, switching files at a
// rewrite's cut. It reports whether it wrote anything.
func (w *Writer) writeOut(pend []byte, pendOff int64, cutp **Rewrite) (bool, error) {
	wrote := false
	end := pendOff + int64(len(pend))
	for {
		if cut := *cutp; cut != nil && w.wr == cut.off {
			w.switchFile(cut)
			*cutp = nil
			continue
		}
		if w.wr == end {
			w.smu.Lock()
			w.writeErr = nil
			w.noteErrLocked()
			w.smu.Unlock()
			w.pendingLen.Store(0)
			return wrote, nil
		}
		lim := end
		if cut := *cutp; cut != nil && cut.off < lim {
			lim = cut.off
		}
		chunk := pend[w.wr-pendOff : lim-pendOff]
		n, err := w.cur.Write(chunk)
		w.writes.Add(1)
		if n > 0 {
			// Bytes a failed write got out stay written: the rest
			// follows them on retry, so the file stays well formed.
			wrote = true
			w.wr += int64(n)
			w.curSize.Add(int64(n))
			w.pendingLen.Store(end - w.wr)
			w.smu.Lock()
			w.written = w.wr
			if w.bufWaiters > 0 {
				w.scond.Broadcast()
			}
			w.smu.Unlock()
		}
		if err == nil && n < len(chunk) {
			err = io.ErrShortWrite
		}
		if err != nil {
			w.smu.Lock()
			w.writeErr = &DiskError{Op: "write", File: w.curName, Err: err}
			w.noteErrLocked()
			w.scond.Broadcast()
			w.smu.Unlock()
			return wrote, w.writeErr
		}
	}
}

// syncCurrent fsyncs the current file up to what has been written.
func (w *Writer) syncCurrent() error {
	w.fmu.Lock()
	defer w.fmu.Unlock()
	return w.syncCurrentLocked()
}

// syncCurrentLocked is syncCurrent with fmu held.
func (w *Writer) syncCurrentLocked() error {
	if w.cur == nil {
		return nil
	}
	w.smu.Lock()
	target := w.written
	skip := target <= w.synced && w.syncErr == nil
	w.smu.Unlock()
	if skip {
		return nil
	}
	return w.syncFile(w.cur, w.curName, target)
}

// syncFile fsyncs f, which holds the log up to target, and publishes the
// result. The caller holds fmu.
func (w *Writer) syncFile(f appendFile, name string, target int64) error {
	err := f.Sync()
	w.fsyncs.Add(1)
	w.smu.Lock()
	if err != nil {
		w.syncErr = &DiskError{Op: "fsync", File: name, Err: err}
		err = w.syncErr
		w.noteErrLocked()
	} else {
		w.syncErr = nil
		w.noteErrLocked()
		if target > w.synced {
			w.synced = target
		}
		w.lastSync = time.Now()
	}
	w.scond.Broadcast()
	w.smu.Unlock()
	return err
}

// syncer fsyncs in the background: every second under everysec, and when
// WaitSynced asks; a failed fsync is retried.
func (w *Writer) syncer() {
	defer close(w.syncDone)
	var tick <-chan time.Time
	if w.policy == FsyncEverysec {
		t := time.NewTicker(w.every)
		defer t.Stop()
		tick = t.C
	}
	var retry <-chan time.Time
	for {
		select {
		case <-tick:
		case <-w.syncReq:
		case <-retry:
		case <-w.stopSync:
			return
		}
		retry = nil
		if w.syncCurrent() != nil {
			retry = time.After(w.retry)
		}
	}
}

// exit ends the flusher: a final fsync, then the file is closed.
func (w *Writer) exit(err error) {
	close(w.stopSync)
	<-w.syncDone
	w.fmu.Lock()
	if err == nil {
		err = w.syncCurrentLocked()
	}
	if cerr := w.cur.Close(); err == nil && cerr != nil {
		err = &DiskError{Op: "close", File: w.curName, Err: cerr}
	}
	w.cur = nil
	w.fmu.Unlock()
	w.smu.Lock()
	w.closed, w.closeErr = true, err
	w.scond.Broadcast()
	w.smu.Unlock()
	close(w.done)
}
