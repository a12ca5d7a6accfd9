package persist

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"ferry/internal/keyspace"
	"ferry/internal/persist/aof"
	"ferry/internal/persist/rdb"
)

// mcFlagsAux is the RDB AUX field that carries memcached client flags,
// which Redis's format has no place for. Redis skips unknown AUX fields,
// so the file stays loadable by redis-server (which drops the flags).
const mcFlagsAux = "ferry-mcflags"

// writeRDB writes a snapshot as an RDB file to w.
func (m *Manager) writeRDB(w io.Writer, snap *keyspace.Snapshot, aofBase bool) error {
	cfg := m.Config()
	lim := m.limits()
	rw := rdb.NewWriter(w, &rdb.WriterOptions{
		NoCompression:          !cfg.RDBCompression,
		NoChecksum:             !cfg.RDBChecksum,
		UsedMem:                m.ks.Used(),
		AOFBase:                aofBase,
		HashMaxListpackEntries: lim.HashEntries,
		HashMaxListpackValue:   lim.HashValue,
		ZSetMaxListpackEntries: lim.ZSetEntries,
		ZSetMaxListpackValue:   lim.ZSetValue,
		SetMaxIntsetEntries:    lim.SetIntset,
		ListMaxListpackSize:    lim.ListSize,
	})
	var flags []byte // db, key, flags of memcached items with non-zero flags
	for db, items := range snap.DBs {
		live := 0
		for i := range items {
			if items[i].Expire == 0 || items[i].Expire > snap.AtMs {
				live++
			}
		}
		if live == 0 {
			continue
		}
		if err := rw.SelectDB(db, uint64(live), uint64(snap.Expires[db])); err != nil {
			return err
		}
		for i := range items {
			it := &items[i]
			if it.Expire != 0 && it.Expire <= snap.AtMs {
				continue
			}
			v, err := ToRDB(it.Type, it.Str, it.Obj)
			if err != nil {
				return err
			}
			if err := rw.WriteEntry(&rdb.Entry{DB: db, Key: it.Key, Value: v, ExpireAt: it.Expire}); err != nil {
				return err
			}
			if !aofBase {
				m.savedKeys.Add(1)
			}
			if it.Flags != 0 {
				flags = binary.AppendUvarint(flags, uint64(db))
				flags = binary.AppendUvarint(flags, uint64(len(it.Key)))
				flags = append(flags, it.Key...)
				flags = binary.BigEndian.AppendUint32(flags, it.Flags)
			}
		}
	}
	if len(flags) > 0 {
		if err := rw.WriteAux(mcFlagsAux, string(flags)); err != nil {
			return err
		}
	}
	return rw.Close()
}

// saveFile writes the snapshot to path atomically: a temp file, fsynced,
// renamed over path, then the directory fsynced.
func (m *Manager) saveFile(path string, snap *keyspace.Snapshot) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "temp-*.rdb")
	if err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file private; Redis's dump.rdb is created with
	// the default mode (0644 under the usual umask), and backup jobs
	// running as another user read it.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("persist: %w", err)
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := m.writeRDB(bw, snap, false); err != nil {
		tmp.Close()
		return fmt.Errorf("persist: writing %s: %w", tmp.Name(), err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("persist: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("persist: fsync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("persist: fsync %s: %w", dir, err)
	}
	return nil
}

// ErrSaveInProgress means a background save is running.
var ErrSaveInProgress = errors.New("ERR Background save already in progress")

// Save writes dump.rdb now (SAVE). It waits for nothing but the write.
func (m *Manager) Save() error {
	if !m.saving.CompareAndSwap(false, true) {
		return ErrSaveInProgress
	}
	defer m.saving.Store(false)
	snap, dirty := m.beginSave()
	return m.saveNow(snap, dirty, time.Now())
}

// beginSave fixes the instant of a save. It returns the snapshot (still
// to be captured) and the changes counted until that instant, which are
// the ones it saves: the counter is read while every shard is locked.
func (m *Manager) beginSave() (*keyspace.Snapshot, int64) {
	var dirty int64
	snap := m.ks.BeginSnapshotWith(func() { dirty = m.dirty.Load() })
	return snap, dirty
}

// saveNow captures snap and writes it to dump.rdb.
func (m *Manager) saveNow(snap *keyspace.Snapshot, dirty int64, start time.Time) error {
	m.saveStart.Store(start.UnixMilli())
	defer m.saveStart.Store(0)
	cfg := m.Config()
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		snap.Release()
		m.bgsaveOK.Store(false)
		return fmt.Errorf("persist: %w", err)
	}
	snap.Capture()
	keys := len(snap.Items)
	m.saveKeys.Store(int64(keys))
	m.savedKeys.Store(0)
	err := m.saveFile(cfg.rdbPath(), snap)
	snap.Release()
	m.lastTry.Store(time.Now().Unix())
	if err != nil {
		m.bgsaveOK.Store(false)
		m.log.Error("Background saving error", "err", err)
		return err
	}
	m.dirty.Add(-dirty)
	m.lastSave.Store(time.Now().Unix())
	m.lastSaveSecs.Store(int64(time.Since(start).Seconds()))
	m.bgsaveOK.Store(true)
	m.saves.Add(1)
	m.log.Info("DB saved on disk", "keys", keys, "seconds", fmt.Sprintf("%.3f", time.Since(start).Seconds()))
	return nil
}

// BGSave starts a background save (BGSAVE). With schedule, a save that
// cannot start because an AOF rewrite runs is queued instead.
func (m *Manager) BGSave(schedule bool) (string, error) {
	if m.saving.Load() {
		return "", ErrSaveInProgress
	}
	if m.rewriting.Load() {
		if schedule {
			m.saveQueue.Store(true)
			return "Background saving scheduled", nil
		}
		return "", errors.New("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
	}
	if !m.saving.CompareAndSwap(false, true) {
		return "", ErrSaveInProgress
	}
	// The snapshot's instant is now, before the reply: a BGSAVE holds
	// exactly the writes acknowledged before it. Copying the keys happens
	// in the background.
	start := time.Now()
	snap, dirty := m.beginSave()
	go func() {
		defer m.saving.Store(false)
		m.saveNow(snap, dirty, start)
	}()
	return "Background saving started", nil
}

// BGRewriteAOF rewrites the AOF in the background: a snapshot becomes the
// new base (RDB preamble) while writes continue into a new incremental
// file, switched to at the snapshot's instant.
func (m *Manager) BGRewriteAOF() (string, error) {
	w := m.writer()
	if m.rewriting.Load() {
		return "", errors.New("ERR Background append only file rewriting already in progress")
	}
	if m.saving.Load() {
		m.rewriteQueue.Store(true)
		return "Background append only file rewriting scheduled", nil
	}
	if !m.rewriting.CompareAndSwap(false, true) {
		return "", errors.New("ERR Background append only file rewriting already in progress")
	}
	cfg := m.Config()
	// With appendonly off Redis still rewrites: the AOF directory gets a
	// new base and manifest, which nothing is appended to afterwards. A
	// writer opened for the rewrite alone does that.
	temp := false
	if w == nil {
		var err error
		if w, err = m.tempWriter(cfg); err != nil {
			m.rewriting.Store(false)
			m.rewriteOK.Store(false)
			m.rwFailures.Add(1)
			m.log.Error("Can't rewrite append only file in background", "err", err)
			return "", errors.New("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.")
		}
		temp = true
	}
	closeTemp := func() {
		if temp {
			if err := w.Close(); err != nil {
				m.log.Warn("closing the AOF after a rewrite with appendonly off", "err", err)
			}
		}
	}
	format := aof.BaseRDB
	if !cfg.AOFUseRDBPreamble {
		format = aof.BaseAOF
	}
	var rw *aof.Rewrite
	var startErr error
	start := time.Now()
	snap := m.ks.BeginSnapshotWith(func() { rw, startErr = w.StartRewrite(format) })
	if startErr != nil {
		snap.Release()
		closeTemp()
		m.rewriting.Store(false)
		m.rewriteOK.Store(false)
		m.rwFailures.Add(1)
		return "", fmt.Errorf("ERR %v", startErr)
	}
	m.rwStart.Store(start.UnixMilli())
	go func() {
		defer m.rewriting.Store(false)
		defer m.rwStart.Store(0)
		defer closeTemp()
		snap.Capture()
		bw := bufio.NewWriterSize(rw, 1<<20)
		var err error
		if format == aof.BaseRDB {
			err = m.writeRDB(bw, snap, true)
		} else {
			err = m.writeAOFBase(bw, snap)
		}
		if err == nil {
			err = bw.Flush()
		}
		snap.Release()
		if err == nil {
			err = w.FinishRewrite(rw)
		} else {
			w.AbortRewrite(rw)
		}
		if err != nil {
			m.rewriteOK.Store(false)
			m.rwFailures.Add(1)
			m.log.Error("Background AOF rewrite failed", "err", err)
			return
		}
		m.rwFailures.Store(0)
		m.rewriteOK.Store(true)
		m.rewrites.Add(1)
		m.lastRWSecs.Store(int64(time.Since(start).Seconds()))
		m.log.Info("Background AOF rewrite finished successfully", "seconds", time.Since(start).Seconds())
	}()
	return "Background append only file rewriting started", nil
}

// tempWriter opens the AOF for one rewrite while appendonly is off.
func (m *Manager) tempWriter(cfg Config) (*aof.Writer, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	return aof.Open(cfg.Dir, aof.Options{DirName: cfg.AppendDirname, FileName: cfg.AppendFilename, Fsync: aof.FsyncNo})
}

// writeAOFBase writes a snapshot as commands (aof-use-rdb-preamble no).
func (m *Manager) writeAOFBase(w io.Writer, snap *keyspace.Snapshot) error {
	rw := aof.NewRewriter(w)
	for db, items := range snap.DBs {
		for i := range items {
			it := &items[i]
			if it.Expire != 0 && it.Expire <= snap.AtMs {
				continue
			}
			v, err := ToRDB(it.Type, it.Str, it.Obj)
			if err != nil {
				return err
			}
			if err := writeValueCommands(rw, db, it.Key, v, it.Flags); err != nil {
				return err
			}
			if it.Expire != 0 {
				if err := rw.Command(db, []byte("PEXPIREAT"), it.Key, []byte(fmtInt(it.Expire))); err != nil {
					return err
				}
			}
		}
	}
	return rw.Flush()
}

func fmtInt(n int64) string { return fmt.Sprint(n) }

// writeValueCommands writes the commands that recreate one value.
func writeValueCommands(rw *aof.Rewriter, db int, key []byte, v rdb.Value, flags uint32) error {
	switch x := v.(type) {
	case rdb.String:
		if flags != 0 {
			return rw.Command(db, []byte("FERRY.MCSET"), key, []byte(fmtInt(int64(flags))), []byte("0"), x)
		}
		return rw.Command(db, []byte("SET"), key, x)
	case rdb.List:
		return rw.Variadic(db, []byte("RPUSH"), key, x, 1)
	case rdb.Set:
		return rw.Variadic(db, []byte("SADD"), key, x, 1)
	case rdb.Hash:
		items := make([][]byte, 0, 2*len(x))
		for _, fv := range x {
			items = append(items, fv.Field, fv.Value)
		}
		return rw.Variadic(db, []byte("HSET"), key, items, 2)
	case rdb.ZSet:
		items := make([][]byte, 0, 2*len(x))
		for _, zm := range x {
			items = append(items, strconv.AppendFloat(nil, zm.Score, 'g', 17, 64), zm.Member)
		}
		return rw.Variadic(db, []byte("ZADD"), key, items, 2)
	}
	return ErrUnsupportedType
}
