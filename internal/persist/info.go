package persist

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"ferry/internal/persist/aof"
)

// Info writes INFO persistence's fields, named as Redis 7.0's.
func (m *Manager) Info(kv func(string, any)) {
	cfg := m.Config()
	loading := m.loading.Load()
	kv("loading", boolInt(loading))
	kv("async_loading", 0)
	kv("current_cow_peak", 0)
	kv("current_cow_size", 0)
	kv("current_cow_size_age", 0)
	kv("current_fork_perc", "0.00")
	saveStart, rwStart := m.saveStart.Load(), m.rwStart.Load()
	if saveStart != 0 {
		kv("current_save_keys_processed", m.savedKeys.Load())
		kv("current_save_keys_total", m.saveKeys.Load())
	} else {
		kv("current_save_keys_processed", 0)
		kv("current_save_keys_total", 0)
	}
	kv("rdb_changes_since_last_save", m.dirty.Load())
	kv("rdb_bgsave_in_progress", boolInt(m.saving.Load()))
	kv("rdb_last_save_time", m.lastSave.Load())
	kv("rdb_last_bgsave_status", okErr(m.bgsaveOK.Load()))
	kv("rdb_last_bgsave_time_sec", m.lastSaveSecs.Load())
	kv("rdb_current_bgsave_time_sec", elapsedSecs(saveStart))
	kv("rdb_saves", m.saves.Load())
	kv("rdb_last_cow_size", 0)
	kv("rdb_last_load_keys_expired", m.progress.expired.Load())
	kv("rdb_last_load_keys_loaded", m.progress.keys.Load())
	w := m.writer()
	kv("aof_enabled", boolInt(w != nil))
	kv("aof_rewrite_in_progress", boolInt(m.rewriting.Load()))
	kv("aof_rewrite_scheduled", boolInt(m.rewriteQueue.Load()))
	kv("aof_last_rewrite_time_sec", m.lastRWSecs.Load())
	kv("aof_current_rewrite_time_sec", elapsedSecs(rwStart))
	kv("aof_last_bgrewrite_status", okErr(m.rewriteOK.Load()))
	kv("aof_rewrites", m.rewrites.Load())
	kv("aof_rewrites_consecutive_failures", m.rwFailures.Load())
	writeOK := true
	if w != nil {
		writeOK = w.Err() == nil
	}
	kv("aof_last_write_status", okErr(writeOK))
	kv("aof_last_cow_size", 0)
	kv("module_fork_in_progress", 0)
	kv("module_fork_last_cow_size", 0)
	if w != nil {
		st := w.Stats()
		kv("aof_current_size", st.CurrentSize)
		kv("aof_base_size", st.BaseSize)
		kv("aof_pending_rewrite", 0)
		kv("aof_buffer_length", st.BufferLength)
		kv("aof_pending_bio_fsync", 0)
		kv("aof_delayed_fsync", 0)
		_ = cfg
	}
	// Redis adds the loading fields last, while it loads.
	if loading {
		tot, done := m.progress.total.Load(), m.progress.loaded.Load()
		pct := 0.0
		if tot > 0 {
			pct = 100 * float64(done) / float64(tot)
		}
		start := m.progress.start.Load()
		kv("loading_start_time", start)
		kv("loading_total_bytes", tot)
		kv("loading_rdb_used_mem", m.progress.usedMem.Load())
		kv("loading_loaded_bytes", done)
		kv("loading_loaded_perc", fmt.Sprintf("%.2f", pct))
		eta := int64(0)
		if done > 0 {
			eta = int64(float64(time.Now().Unix()-start) * float64(tot-done) / float64(done))
		}
		kv("loading_eta_seconds", eta)
	}
}

// elapsedSecs is the whole seconds since startMs, or -1 when nothing runs
// (startMs 0), as Redis's *_current_*_time_sec fields.
func elapsedSecs(startMs int64) int64 {
	if startMs == 0 {
		return -1
	}
	return (time.Now().UnixMilli() - startMs) / 1000
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func okErr(ok bool) string {
	if ok {
		return "ok"
	}
	return "err"
}

// ParamNames are the CONFIG parameters the manager owns.
var ParamNames = []string{"dir", "appendonly", "appendfsync", "appendfilename", "appenddirname",
	"dbfilename", "save", "rdbcompression", "rdbchecksum", "aof-load-truncated",
	"aof-use-rdb-preamble", "auto-aof-rewrite-percentage", "auto-aof-rewrite-min-size",
	"stop-writes-on-bgsave-error"}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Get reads a persistence parameter.
func (m *Manager) Get(name string) string {
	cfg := m.Config()
	switch name {
	case "dir":
		if abs, err := absDir(cfg.Dir); err == nil {
			return abs
		}
		return cfg.Dir
	case "appendonly":
		return yesNo(cfg.AppendOnly)
	case "appendfsync":
		return cfg.AppendFsync
	case "appendfilename":
		return cfg.AppendFilename
	case "appenddirname":
		return cfg.AppendDirname
	case "dbfilename":
		return cfg.DBFilename
	case "save":
		return FormatSave(cfg.Save)
	case "rdbcompression":
		return yesNo(cfg.RDBCompression)
	case "rdbchecksum":
		return yesNo(cfg.RDBChecksum)
	case "aof-load-truncated":
		return yesNo(cfg.AOFLoadTruncated)
	case "aof-use-rdb-preamble":
		return yesNo(cfg.AOFUseRDBPreamble)
	case "auto-aof-rewrite-percentage":
		return strconv.Itoa(cfg.AutoAOFRewritePercentage)
	case "auto-aof-rewrite-min-size":
		return strconv.FormatInt(cfg.AutoAOFRewriteMinSize, 10)
	case "stop-writes-on-bgsave-error":
		return yesNo(cfg.StopWritesOnBgsaveError)
	}
	return ""
}

func absDir(d string) (string, error) {
	if strings.HasPrefix(d, "/") {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(wd+"/"+strings.TrimPrefix(d, "./"), "/."), nil
}

func parseYesNo(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, errors.New("argument must be 'yes' or 'no'")
}

// Set changes a persistence parameter at runtime (CONFIG SET). Turning
// appendonly on writes the AOF from the current dataset, as Redis does.
func (m *Manager) Set(name, v string) error {
	m.mu.Lock()
	cfg := m.cfg
	var err error
	switch name {
	case "dir":
		err = os.MkdirAll(v, 0o755)
		cfg.Dir = v
	case "appendonly":
		cfg.AppendOnly, err = parseYesNo(v)
	case "appendfsync":
		if _, perr := aof.ParseFsyncPolicy(v); perr != nil {
			err = errors.New("argument(s) must be one of the following: always, everysec, no")
		}
		cfg.AppendFsync = strings.ToLower(v)
	case "appendfilename", "appenddirname":
		err = errors.New("can't set immutable config")
	case "dbfilename":
		if strings.Contains(v, "/") {
			err = errors.New("dbfilename can't be a path, just a filename")
		}
		cfg.DBFilename = v
	case "save":
		cfg.Save, err = ParseSave(v)
	case "rdbcompression":
		cfg.RDBCompression, err = parseYesNo(v)
	case "rdbchecksum":
		cfg.RDBChecksum, err = parseYesNo(v)
	case "aof-load-truncated":
		cfg.AOFLoadTruncated, err = parseYesNo(v)
	case "aof-use-rdb-preamble":
		cfg.AOFUseRDBPreamble, err = parseYesNo(v)
	case "auto-aof-rewrite-percentage":
		cfg.AutoAOFRewritePercentage, err = strconv.Atoi(v)
	case "auto-aof-rewrite-min-size":
		cfg.AutoAOFRewriteMinSize, err = parseBytes(v)
	case "stop-writes-on-bgsave-error":
		cfg.StopWritesOnBgsaveError, err = parseYesNo(v)
	default:
		err = fmt.Errorf("unknown parameter %q", name)
	}
	if err != nil {
		m.mu.Unlock()
		return err
	}
	old := m.cfg
	m.cfg = cfg
	m.always.Store(cfg.AppendFsync == "always")
	w := m.aof
	m.mu.Unlock()
	switch {
	case name == "appendonly" && cfg.AppendOnly && w == nil:
		return m.openAOF(cfg, true)
	case name == "appendonly" && !cfg.AppendOnly && w != nil:
		m.mu.Lock()
		m.aof = nil
		m.aofLive.Store(nil)
		m.mu.Unlock()
		err := w.Close()
		m.mu.Lock()
		m.logEnd = w.Offset()
		m.mu.Unlock()
		return err
	case name == "appendfsync" && w != nil && old.AppendFsync != cfg.AppendFsync:
		// The writer's policy is fixed: reopen it (appends continue in
		// the same incremental file). Every shard stays locked meanwhile,
		// so no write happens while there is no writer to log it.
		t := m.ks.LockAll(0)
		defer t.Unlock()
		m.mu.Lock()
		m.aof = nil
		m.aofLive.Store(nil)
		m.mu.Unlock()
		err := w.Close()
		m.mu.Lock()
		m.logEnd = w.Offset()
		m.mu.Unlock()
		if err != nil {
			return err
		}
		return m.openAOF(cfg, false)
	}
	return nil
}

func parseBytes(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	mul := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}, {"b", 1}} {
		if strings.HasSuffix(s, u.suf) {
			s, mul = strings.TrimSuffix(s, u.suf), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("argument must be a memory value")
	}
	return n * mul, nil
}

// DebugReload saves, empties the keyspace and loads the saved file back
// (DEBUG RELOAD). Clients get -LOADING from before the save until the
// load ends, so that no write lands between the save and the flush (Redis
// does it all in its one thread); a write already past that check is
// still logged to the AOF.
func (m *Manager) DebugReload() error {
	m.loading.Store(true)
	defer m.loading.Store(false)
	// Commands that checked before the flag was set and hold shards now
	// finish before the save's instant.
	t := m.ks.LockAll(0)
	t.Unlock()
	if err := m.Save(); err != nil {
		return err
	}
	cfg := m.Config()
	m.progress.reset()
	m.ks.FlushAll()
	return m.loadRDBFile(cfg)
}
