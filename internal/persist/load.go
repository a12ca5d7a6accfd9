package persist

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"ferry/internal/persist/aof"
	"ferry/internal/persist/rdb"
)

// loadProgress is what INFO persistence shows while loading.
type loadProgress struct {
	start  atomic.Int64 // unix seconds
	total  atomic.Int64 // bytes
	loaded atomic.Int64 // bytes
	keys   atomic.Int64
	// expired counts keys a snapshot held that had expired by the time
	// it was loaded (rdb_last_load_keys_expired).
	expired atomic.Int64
	usedMem atomic.Int64 // the snapshot's used-mem AUX field
}

// Load reads the dataset at startup, as Redis 7 does: from the AOF when
// appendonly is on (an AOF that does not exist yet means an empty
// dataset), else from dump.rdb. Loading reports true from New until Start
// (the front ends answer -LOADING). It logs progress (percent, keys/s).
func (m *Manager) Load() error {
	cfg := m.Config()
	m.progress.reset()
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go m.reportProgress(stop)
	var err error
	if cfg.AppendOnly {
		err = m.loadAOF(cfg)
	} else {
		err = m.loadRDBFile(cfg)
	}
	if err != nil {
		return err
	}
	m.dirty.Store(0)
	if n := m.progress.keys.Load(); n > 0 {
		d := time.Since(start).Seconds()
		m.log.Info("DB loaded from disk", "keys", n, "seconds", fmt.Sprintf("%.3f", d),
			"keys_per_sec", int64(float64(n)/max(d, 1e-9)))
	}
	return nil
}

func (m *Manager) reportProgress(stop chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last, lastT := int64(0), time.Now()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			keys := m.progress.keys.Load()
			pct := 0.0
			if tot := m.progress.total.Load(); tot > 0 {
				pct = 100 * float64(m.progress.loaded.Load()) / float64(tot)
			}
			m.log.Info("Loading", "percent", fmt.Sprintf("%.1f", pct), "keys", keys,
				"keys_per_sec", int64(float64(keys-last)/now.Sub(lastT).Seconds()))
			last, lastT = keys, now
		}
	}
}

// reset starts the counters of a new load.
func (p *loadProgress) reset() {
	p.start.Store(time.Now().Unix())
	p.total.Store(0)
	p.loaded.Store(0)
	p.keys.Store(0)
	p.expired.Store(0)
	p.usedMem.Store(0)
}

// countingReader counts bytes for the progress report.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (m *Manager) loadRDBFile(cfg Config) error {
	path := cfg.rdbPath()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		m.progress.total.Store(st.Size())
	}
	if err := m.loadRDB(bufio.NewReaderSize(countingReader{f, &m.progress.loaded}, 1<<20)); err != nil {
		return fmt.Errorf("persist: loading %s: %w", path, err)
	}
	return nil
}

// loadRDB reads an RDB stream into the keyspace. Expired keys are skipped;
// streams and module values, which Ferry has no type for yet, are skipped
// with a warning.
func (m *Manager) loadRDB(r io.Reader) error {
	rd := rdb.NewReader(r)
	lim := m.limits()
	// The keyspace's clock decides what has expired, as it does for
	// every other read.
	nowMs := m.ks.Clock().Now().UnixMilli()
	skipped := 0
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		var unsup *rdb.UnsupportedError
		if errors.As(err, &unsup) {
			skipped++
			continue
		}
		if err != nil {
			return err
		}
		switch rec.Type {
		case rdb.RecordAux:
			switch string(rec.AuxKey) {
			case mcFlagsAux:
				m.applyMCFlags(append([]byte(nil), rec.AuxValue...))
			case "used-mem":
				if n, err := strconv.ParseInt(string(rec.AuxValue), 10, 64); err == nil {
					m.progress.usedMem.Store(n)
				}
			}
			continue
		case rdb.RecordKey:
		default:
			continue
		}
		e := &rec.Entry
		if e.ExpireAt != 0 && e.ExpireAt <= nowMs {
			m.progress.expired.Add(1)
			continue
		}
		if e.DB < 0 || e.DB >= m.ks.Databases() {
			return fmt.Errorf("database %d out of range at offset %d", e.DB, rec.Offset)
		}
		typ, str, obj, size, err := FromRDB(e.Value, lim)
		if errors.Is(err, ErrUnsupportedType) {
			skipped++
			continue
		}
		if err != nil {
			return fmt.Errorf("key %q at offset %d: %w", e.Key, rec.Offset, err)
		}
		key := append([]byte(nil), e.Key...)
		t := m.ks.Lock(e.DB, key)
		Store(&t, key, typ, str, obj, size, e.ExpireAt, 0)
		t.Unlock()
		m.progress.keys.Add(1)
	}
	if skipped > 0 {
		m.log.Warn("skipped values of types Ferry does not support (streams, modules)", "count", skipped)
	}
	return nil
}

// applyMCFlags restores memcached client flags from the AUX field.
func (m *Manager) applyMCFlags(b []byte) {
	for len(b) > 0 {
		db, n := binary.Uvarint(b)
		if n <= 0 {
			return
		}
		b = b[n:]
		kl, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < kl+4 {
			return
		}
		key := b[n : n+int(kl)]
		flags := binary.BigEndian.Uint32(b[n+int(kl):])
		b = b[n+int(kl)+4:]
		if int(db) >= m.ks.Databases() {
			continue
		}
		t := m.ks.Lock(int(db), key)
		if e := t.Peek(key); e != nil {
			t.SetFlags(e, flags)
		}
		t.Unlock()
	}
}

func (m *Manager) loadAOF(cfg Config) error {
	res, err := aof.Load(cfg.Dir, aof.LoadOptions{
		DirName:       cfg.AppendDirname,
		FileName:      cfg.AppendFilename,
		LoadTruncated: cfg.AOFLoadTruncated,
		Total:         &m.progress.total,
		Read:          &m.progress.loaded,
		RDB: func(file string, r *bufio.Reader) error {
			return m.loadRDB(r)
		},
		Apply: func(db int, args [][]byte) error {
			m.progress.keys.Add(1)
			return m.replay(db, args)
		},
	})
	if err != nil {
		return fmt.Errorf("persist: loading the AOF: %w", err)
	}
	for _, w := range res.Warnings {
		m.log.Warn(w)
	}
	return nil
}
