package aof

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

// BaseFormat is the format of the base file a rewrite produces.
type BaseFormat int

// Base formats: aof-use-rdb-preamble yes writes an RDB base (.base.rdb),
// no writes AOF commands (.base.aof).
const (
	BaseRDB BaseFormat = iota
	BaseAOF
)

// Rewrite is an AOF rewrite in progress: appends after its cut go to a new
// incremental file while the caller writes a new base through it (it is an
// io.Writer to a temp file in the AOF directory), then FinishRewrite makes
// {new base, new incremental file} the manifest.
//
// Concurrency: Write is for one goroutine (the one producing the base);
// FinishRewrite or AbortRewrite must be called exactly once, after the
// last Write.
type Rewrite struct {
	w      *Writer
	format BaseFormat
	off    int64

	// Set by the flusher before switched is closed.
	switched  chan struct{}
	switchErr error
	incrSeq   int64

	tmp     *os.File
	tmpPath string
	bw      *bufio.Writer
	n       int64
	err     error
	ended   atomic.Bool
}

var tempSeq atomic.Int64

// StartRewrite marks the rewrite's cut: every record appended after it
// goes to a new incremental file (starting with a SELECT), every record
// before it to the current one. It only takes the append mutex, so call it
// at the instant the dataset snapshot the new base is built from is taken
// (for example while the keyspace is locked for the snapshot): the base
// then holds exactly the effects of the records before the cut. The
// background writer creates the new file and adds it to the manifest
// before writing anything past the cut, as Redis's
// openNewIncrAofForAppend does.
func (w *Writer) StartRewrite(format BaseFormat) (*Rewrite, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		return nil, ErrClosed
	}
	if w.rw != nil {
		return nil, ErrRewriteInProgress
	}
	rw := &Rewrite{w: w, format: format, off: w.bufOff + int64(len(w.buf)), switched: make(chan struct{})}
	w.rw, w.cut = rw, rw
	w.lastDB = -1 // the new file must not depend on the old one's SELECT
	w.kick()
	return rw, nil
}

// Offset is the log offset of the rewrite's cut.
func (rw *Rewrite) Offset() int64 { return rw.off }

// Write appends base-file bytes (RDB, or RESP commands, see Rewriter) to
// the temp file, creating it on first use.
func (rw *Rewrite) Write(p []byte) (int, error) {
	if rw.err != nil {
		return 0, rw.err
	}
	if rw.tmp == nil {
		if rw.err = rw.create(); rw.err != nil {
			return 0, rw.err
		}
	}
	n, err := rw.bw.Write(p)
	rw.n += int64(n)
	if err != nil {
		rw.err = fmt.Errorf("aof: rewrite: write %s: %w", filepath.Base(rw.tmpPath), err)
	}
	return n, rw.err
}

func (rw *Rewrite) create() error {
	name := tempRewrite + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(tempSeq.Add(1), 10) + aofExt
	rw.tmpPath = filepath.Join(rw.w.aofDir, name)
	f, err := os.OpenFile(rw.tmpPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("aof: rewrite: create %s: %w", name, err)
	}
	rw.tmp, rw.bw = f, bufio.NewWriterSize(f, 256<<10)
	return nil
}

// discard removes the temp file.
func (rw *Rewrite) discard() {
	if rw.tmp != nil {
		rw.tmp.Close()
		os.Remove(rw.tmpPath)
		rw.tmp = nil
	}
}

// waitSwitch waits until the flusher has switched files at the cut.
func (rw *Rewrite) waitSwitch() error {
	select {
	case <-rw.switched:
		return rw.switchErr
	case <-rw.w.done:
		select {
		case <-rw.switched:
			return rw.switchErr
		default:
			return ErrClosed
		}
	}
}

// switchFile is run by the flusher when everything before the cut is
// written: it fsyncs the current file (it stays needed if the rewrite
// fails), creates the next incremental file and persists a manifest that
// lists it after the current ones. On failure appends simply continue in
// the current file and the rewrite will fail.
func (w *Writer) switchFile(rw *Rewrite) {
	defer close(rw.switched)
	w.fmu.Lock()
	err := w.syncCurrentLocked()
	w.fmu.Unlock()
	if err != nil {
		rw.switchErr = err
		return
	}
	w.mmu.Lock()
	m := w.man.clone()
	seq := int64(1)
	if n := len(m.Incr); n > 0 {
		seq = m.Incr[n-1].Seq + 1
	}
	name := IncrName(w.fileName, seq)
	path := filepath.Join(w.aofDir, name)
	f, err := w.open(path)
	if err != nil {
		w.mmu.Unlock()
		rw.switchErr = fmt.Errorf("aof: rewrite: create %s: %w", name, err)
		return
	}
	m.Incr = append(m.Incr, FileInfo{Name: name, Seq: seq, Type: TypeIncr})
	renamed, err := writeManifest(w.aofDir, w.fileName, m)
	if !renamed {
		w.mmu.Unlock()
		f.Close()
		os.Remove(path)
		rw.switchErr = err
		return
	}
	// Renamed: the manifest on disk lists the new file, so switch even if
	// the directory fsync failed; the rewrite fails and Err reports it
	// until an fsync succeeds.
	w.man = m
	w.mmu.Unlock()
	if err != nil {
		rw.switchErr = err
		w.smu.Lock()
		w.syncErr = &DiskError{Op: "fsync", File: filepath.Base(w.aofDir), Err: errors.Unwrap(err)}
		w.smu.Unlock()
	}

	w.fmu.Lock()
	old := w.cur
	w.cur, w.curName = f, name
	w.fmu.Unlock()
	old.Close() // fsynced above; a close error cannot lose data
	w.incrSize.Add(w.curSize.Swap(0))
	if rw.switchErr == nil {
		rw.incrSeq = seq
	}
}

// FinishRewrite completes rw once the caller has written the whole base:
// it fsyncs the base, renames it to its final name, replaces the manifest
// with {new base, incremental files since the cut} (atomically, then the
// directory is fsynced), and deletes the files it replaced — listed as
// history in the manifest until they are gone, as Redis does. On error the
// old files stay in use, with the new incremental file, so nothing is lost.
func (w *Writer) FinishRewrite(rw *Rewrite) (err error) {
	if rw.ended.Swap(true) {
		return errors.New("aof: rewrite already finished or aborted")
	}
	defer w.endRewrite(rw, &err)
	if rw.err != nil {
		return rw.err
	}
	if err := rw.waitSwitch(); err != nil {
		return fmt.Errorf("aof: rewrite: switching to a new incremental file: %w", err)
	}
	w.mu.Lock()
	closing := w.closing
	w.mu.Unlock()
	if closing {
		return ErrClosed
	}
	if rw.tmp == nil { // an empty dataset: an empty base
		if err := rw.create(); err != nil {
			return err
		}
	}
	if err := rw.bw.Flush(); err != nil {
		return fmt.Errorf("aof: rewrite: write base: %w", err)
	}
	if err := rw.tmp.Sync(); err != nil {
		return fmt.Errorf("aof: rewrite: fsync base: %w", err)
	}
	if err := rw.tmp.Close(); err != nil {
		return fmt.Errorf("aof: rewrite: close base: %w", err)
	}
	rw.tmp = nil

	w.mmu.Lock()
	var baseSeq int64 = 1
	if w.man.Base != nil {
		baseSeq = w.man.Base.Seq + 1
	}
	baseName := BaseName(w.fileName, baseSeq, rw.format == BaseRDB)
	basePath := filepath.Join(w.aofDir, baseName)
	if err := os.Rename(rw.tmpPath, basePath); err != nil {
		w.mmu.Unlock()
		os.Remove(rw.tmpPath)
		return fmt.Errorf("aof: rewrite: rename base: %w", err)
	}
	m := &Manifest{Base: &FileInfo{Name: baseName, Seq: baseSeq, Type: TypeBase}}
	if w.man.Base != nil {
		m.History = append(m.History, FileInfo{Name: w.man.Base.Name, Seq: w.man.Base.Seq, Type: TypeHistory})
	}
	var keptIncr int64 // incremental files kept, but for the current one
	curSeq := w.man.Incr[len(w.man.Incr)-1].Seq
	for _, fi := range w.man.Incr {
		if fi.Seq < rw.incrSeq {
			m.History = append(m.History, FileInfo{Name: fi.Name, Seq: fi.Seq, Type: TypeHistory})
		} else {
			m.Incr = append(m.Incr, fi)
			if fi.Seq != curSeq {
				keptIncr += fileSize(filepath.Join(w.aofDir, fi.Name))
			}
		}
	}
	renamed, err := writeManifest(w.aofDir, w.fileName, m)
	if !renamed {
		w.mmu.Unlock()
		os.Remove(basePath)
		return err
	}
	w.man = m
	w.baseSize.Store(fileSize(basePath))
	w.incrSize.Store(keptIncr)
	if err != nil {
		// Which manifest survives a crash is unknown: keep every file.
		w.mmu.Unlock()
		return err
	}
	// The manifest is durable: the history files can go.
	for _, h := range m.History {
		os.Remove(filepath.Join(w.aofDir, h.Name))
	}
	m2 := m.clone()
	m2.History = nil
	if WriteManifest(w.aofDir, w.fileName, m2) == nil {
		w.man = m2
	} // else Open deletes them and drops the entries
	w.mmu.Unlock()
	w.rewriteBase.Store(w.currentSize())
	return nil
}

// AbortRewrite gives up rw: the temp base is deleted and the manifest keeps
// the old base and incremental files followed by the new incremental file,
// so the log stays complete (as after a failed rewrite in Redis).
func (w *Writer) AbortRewrite(rw *Rewrite) error {
	if rw.ended.Swap(true) {
		return errors.New("aof: rewrite already finished or aborted")
	}
	err := errors.New("aborted")
	w.endRewrite(rw, &err)
	return nil
}

// endRewrite clears the rewrite in progress and records its outcome.
func (w *Writer) endRewrite(rw *Rewrite, errp *error) {
	rw.waitSwitch() // the cut must be behind us before another can start
	rw.discard()
	w.rewriteOK.Store(*errp == nil)
	w.mu.Lock()
	if w.rw == rw {
		w.rw = nil
	}
	w.mu.Unlock()
}
