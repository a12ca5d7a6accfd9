package persist

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"ferry/internal/keyspace"
	"ferry/internal/persist/aof"
)

// SavePoint is one "save <seconds> <changes>" rule.
type SavePoint struct {
	Seconds int64
	Changes int64
}

// Config is the persistence configuration, named as redis.conf's options.
type Config struct {
	Dir                      string
	AppendOnly               bool
	AppendFsync              string // always, everysec, no
	AppendFilename           string
	AppendDirname            string
	DBFilename               string
	Save                     []SavePoint
	RDBCompression           bool
	RDBChecksum              bool
	AOFLoadTruncated         bool
	AOFUseRDBPreamble        bool
	AutoAOFRewritePercentage int
	AutoAOFRewriteMinSize    int64
	StopWritesOnBgsaveError  bool
}

// DefaultConfig is redis.conf's defaults, with the AOF on (Ferry's
// default: a restart loses nothing acknowledged).
func DefaultConfig() Config {
	return Config{
		Dir:                      "./data",
		AppendOnly:               true,
		AppendFsync:              "everysec",
		AppendFilename:           "appendonly.aof",
		AppendDirname:            "appendonlydir",
		DBFilename:               "dump.rdb",
		Save:                     []SavePoint{{3600, 1}, {300, 100}, {60, 10000}},
		RDBCompression:           true,
		RDBChecksum:              true,
		AOFLoadTruncated:         true,
		AOFUseRDBPreamble:        true,
		AutoAOFRewritePercentage: 100,
		AutoAOFRewriteMinSize:    64 << 20,
		StopWritesOnBgsaveError:  true,
	}
}

// ParseSave reads a save directive: "3600 1 300 100", or "" for none.
func ParseSave(v string) ([]SavePoint, error) {
	f := strings.Fields(v)
	if len(f)%2 != 0 {
		return nil, errors.New("Invalid save parameters")
	}
	var out []SavePoint
	for i := 0; i < len(f); i += 2 {
		s, err1 := strconv.ParseInt(f[i], 10, 64)
		c, err2 := strconv.ParseInt(f[i+1], 10, 64)
		if err1 != nil || err2 != nil || s < 1 || c < 0 {
			return nil, errors.New("Invalid save parameters")
		}
		out = append(out, SavePoint{s, c})
	}
	return out, nil
}

// FormatSave writes save points as the save directive does.
func FormatSave(sp []SavePoint) string {
	var parts []string
	for _, p := range sp {
		parts = append(parts, strconv.FormatInt(p.Seconds, 10), strconv.FormatInt(p.Changes, 10))
	}
	return strings.Join(parts, " ")
}

// Manager runs persistence for one keyspace. Methods are safe for
// concurrent use.
type Manager struct {
	ks     *keyspace.Keyspace
	log    *slog.Logger
	limits func() Limits
	replay func(db int, args [][]byte) error

	mu     sync.Mutex // guards cfg and the writer's life
	cfg    Config
	always atomic.Bool // cfg.AppendFsync is "always"
	aof    *aof.Writer
	logEnd int64 // the log offset a closed writer reached

	// aofLive is m.aof for the hot path (aofFast): every write command
	// reads it, and a mutex shared by all connections cost more than the
	// write. Stored wherever m.aof is.
	aofLive atomic.Pointer[aof.Writer]

	dirty        atomic.Int64 // changes since the last successful save
	lastSave     atomic.Int64 // unix seconds
	lastTry      atomic.Int64 // unix seconds of the last background save attempt
	bgsaveOK     atomic.Bool
	rewriteOK    atomic.Bool
	saving       atomic.Bool // an RDB save is running
	rewriting    atomic.Bool // an AOF rewrite is running
	rewriteQueue atomic.Bool // BGREWRITEAOF waits for a save to end
	saveQueue    atomic.Bool // BGSAVE SCHEDULE waits for a rewrite to end
	saves        atomic.Int64
	rewrites     atomic.Int64
	rwFailures   atomic.Int64 // consecutive failed rewrites
	lastSaveSecs atomic.Int64
	lastRWSecs   atomic.Int64
	saveStart    atomic.Int64 // unix ms the running save started
	rwStart      atomic.Int64 // unix ms the running rewrite started
	saveKeys     atomic.Int64 // keys in the running save's snapshot
	savedKeys    atomic.Int64 // of which written so far

	// cron-owned state
	aofFailing   bool  // the AOF could not be written at the last look
	rwDelayMin   int64 // the current back-off after repeated rewrite failures
	rwRetryAfter int64 // unix seconds before which automatic rewrites wait

	loading  atomic.Bool
	starting atomic.Bool // before Start: the load replays the AOF, whose commands are not logged again
	progress loadProgress

	stop chan struct{}
	done chan struct{}
}

// New returns a manager. limits gives the encoding thresholds for loaded
// collections; replay runs one command while loading an AOF (the Redis
// front end executes it).
func New(ks *keyspace.Keyspace, cfg Config, log *slog.Logger, limits func() Limits, replay func(db int, args [][]byte) error) *Manager {
	if log == nil {
		log = slog.Default()
	}
	m := &Manager{ks: ks, cfg: cfg, log: log, limits: limits, replay: replay,
		stop: make(chan struct{}), done: make(chan struct{})}
	m.always.Store(cfg.AppendFsync == "always")
	// Until Load and Start are done the dataset is not served: clients get
	// -LOADING from the start, so that no write slips in before the load
	// (it would be overwritten) or before the AOF is open (it would not be
	// logged).
	m.loading.Store(true)
	m.starting.Store(true)
	m.bgsaveOK.Store(true)
	m.rewriteOK.Store(true)
	m.lastSave.Store(time.Now().Unix())
	m.lastSaveSecs.Store(-1)
	m.lastRWSecs.Store(-1)
	return m
}

// Config returns the current configuration.
func (m *Manager) Config() Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg
}

func (m *Manager) writer() *aof.Writer {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.aof
}

// Start opens the AOF for appending (after Load), starts the save-point
// and auto-rewrite cron, and ends the loading state: writes are accepted
// from now on.
func (m *Manager) Start() error {
	cfg := m.Config()
	if cfg.AppendOnly {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return fmt.Errorf("persist: data directory: %w", err)
		}
		if err := m.openAOF(cfg, false); err != nil {
			return err
		}
	}
	go m.cron()
	m.starting.Store(false)
	m.loading.Store(false)
	return nil
}

// openAOF opens the AOF writer. Its log offsets continue those of the
// writer it replaces (see aof.Options.Offset): a client may still hold an
// offset from that one.
func (m *Manager) openAOF(cfg Config, rewriteNow bool) error {
	pol, err := aof.ParseFsyncPolicy(cfg.AppendFsync)
	if err != nil {
		return err
	}
	m.mu.Lock()
	offset := m.logEnd
	m.mu.Unlock()
	w, err := aof.Open(cfg.Dir, aof.Options{DirName: cfg.AppendDirname, FileName: cfg.AppendFilename, Fsync: pol, Offset: offset})
	if err != nil {
		return fmt.Errorf("persist: opening the AOF: %w", err)
	}
	m.mu.Lock()
	m.aof = w
	m.aofLive.Store(w)
	m.mu.Unlock()
	if rewriteNow {
		_, err := m.BGRewriteAOF()
		return err
	}
	return nil
}

// Close ends persistence at shutdown: a final save when asked (or when
// save points are set and the AOF is off, as Redis), then the AOF is
// flushed and fsynced.
func (m *Manager) Close(save, nosave bool) error {
	select {
	case <-m.stop:
	default:
		close(m.stop)
		<-m.done
	}
	for m.saving.Load() || m.rewriting.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	cfg := m.Config()
	var errs []error
	// As Redis's prepareForShutdown: a final snapshot when save points are
	// set (whether or not the AOF is on) or SHUTDOWN SAVE asks for one.
	if !nosave && (save || len(cfg.Save) > 0) {
		if err := m.Save(); err != nil {
			errs = append(errs, err)
		}
	}
	if w := m.writer(); w != nil {
		if err := w.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Append records a write command (the front ends' Propagator). It counts
// the change for save points and logs it when the AOF is on.
func (m *Manager) Append(db int, args [][]byte) int64 {
	if m.starting.Load() {
		return 0
	}
	m.dirty.Add(1)
	if w := m.aofFast(); w != nil {
		return w.Append(db, args)
	}
	return 0
}

// aofFast reads the writer without the config lock on the hot path.
func (m *Manager) aofFast() *aof.Writer { return m.aofLive.Load() }

// RepliesWait reports whether replies wait for fsync (appendfsync always).
func (m *Manager) RepliesWait() bool { return m.always.Load() }

// WaitSynced holds a reply until its writes are durable, when appendfsync
// is always.
func (m *Manager) WaitSynced(off int64) error {
	if off <= 0 {
		return nil
	}
	if !m.always.Load() { // every reply after a write asks: no lock
		return nil
	}
	w := m.aofFast()
	if w == nil {
		return nil
	}
	return w.WaitSynced(off)
}

// WriteError is the MISCONF reply when writes must be refused: the AOF
// cannot be written, or the last background save failed and
// stop-writes-on-bgsave-error is on.
func (m *Manager) WriteError() string {
	if w := m.aofFast(); w != nil {
		if err := w.Err(); err != nil {
			return "MISCONF Errors writing to the AOF file: " + strerror(err)
		}
	}
	if !m.bgsaveOK.Load() && m.Config().StopWritesOnBgsaveError && len(m.Config().Save) > 0 {
		return "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."
	}
	return ""
}

// Loading reports whether the dataset is being loaded.
func (m *Manager) Loading() bool { return m.loading.Load() }

// LastSave returns the time of the last successful save (LASTSAVE).
func (m *Manager) LastSave() int64 { return m.lastSave.Load() }

// Dirty returns the changes since the last save.
func (m *Manager) Dirty() int64 { return m.dirty.Load() }

// cron triggers saves at their save points, retries failed background
// saves after 5 s (as Redis), runs queued jobs and automatic AOF rewrites.
func (m *Manager) cron() {
	defer close(m.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		m.watchAOF()
		if m.saving.Load() || m.rewriting.Load() {
			continue
		}
		now := time.Now().Unix()
		if m.rewriteQueue.Load() && !m.rewriteLimited(now) && m.rewriteQueue.CompareAndSwap(true, false) {
			m.BGRewriteAOF()
			continue
		}
		if m.saveQueue.CompareAndSwap(true, false) {
			m.BGSave(false)
			continue
		}
		cfg := m.Config()
		dirty := m.dirty.Load()
		for _, sp := range cfg.Save {
			if dirty >= sp.Changes && now-m.lastSave.Load() >= sp.Seconds &&
				(m.bgsaveOK.Load() || now-m.lastTry.Load() > 5) {
				m.log.Info(fmt.Sprintf("%d changes in %d seconds. Saving...", sp.Changes, sp.Seconds))
				m.BGSave(false)
				break
			}
		}
		if m.saving.Load() {
			continue
		}
		if w := m.writer(); w != nil && cfg.AutoAOFRewritePercentage > 0 &&
			w.RewriteNeeded(cfg.AutoAOFRewritePercentage, cfg.AutoAOFRewriteMinSize) &&
			!m.rewriteLimited(now) {
			m.log.Info("Starting automatic rewriting of AOF")
			m.BGRewriteAOF()
		}
	}
}

// watchAOF logs when writing the AOF starts and stops failing, as Redis
// logs its AOF write errors and their recovery.
func (m *Manager) watchAOF() {
	w := m.writer()
	var err error
	if w != nil {
		err = w.Err()
	}
	switch {
	case err != nil && !m.aofFailing:
		m.aofFailing = true
		m.log.Warn("Error writing to the AOF file: "+strerror(err)+"; write commands are refused until it can be written again", "err", err)
	case err == nil && m.aofFailing:
		m.aofFailing = false
		m.log.Warn("AOF write error looks solved, Ferry can write again.")
	}
}

// rewriteLimited is Redis's aofRewriteLimited: after three consecutive
// failed rewrites, automatic ones wait 1 minute, then 2, 4 … up to an hour,
// so that a full disk is not hammered with rewrites (each of which takes a
// snapshot of the whole keyspace).
func (m *Manager) rewriteLimited(now int64) bool {
	if m.rwFailures.Load() < 3 {
		m.rwDelayMin, m.rwRetryAfter = 0, 0
		return false
	}
	if m.rwRetryAfter != 0 {
		if now < m.rwRetryAfter {
			return true
		}
		m.rwRetryAfter = 0
		return false
	}
	m.rwDelayMin = min(max(2*m.rwDelayMin, 1), 60)
	m.rwRetryAfter = now + 60*m.rwDelayMin
	m.log.Warn(fmt.Sprintf("Background AOF rewrite has repeatedly failed and triggered the limit, will retry in %d minutes", m.rwDelayMin))
	return true
}

// rdbPath is where dump.rdb lives.
func (cfg Config) rdbPath() string { return filepath.Join(cfg.Dir, cfg.DBFilename) }

// KeyEvent logs the deletion of keys that expire or are evicted, so a
// replayed log has them gone too (keyspace.Observer).
func (m *Manager) KeyEvent(kind keyspace.EventKind, db int, e *keyspace.Entry) {
	if kind != keyspace.EventExpired && kind != keyspace.EventEvicted {
		return
	}
	m.Append(db, [][]byte{[]byte("DEL"), e.Key()})
}

// strerror is the C library's text for the system error under err, as
// Redis puts strerror(errno) in its replies ("No space left on device").
// Go's errno texts are the same with a lower-case first letter. A short
// write counts as ENOSPC, as Redis does.
func strerror(err error) string {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
	case errors.Is(err, io.ErrShortWrite):
		errno = syscall.ENOSPC
	default:
		return err.Error()
	}
	msg := errno.Error()
	if msg != "" && msg[0] >= 'a' && msg[0] <= 'z' {
		msg = string(msg[0]-'a'+'A') + msg[1:]
	}
	return msg
}
