package msgstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"
)

// maintainLoop is the maintenance goroutine: woken when a sealed segment may
// have died, or periodically, it deletes dead segments and rewrites sparse
// ones.
func (s *Store) maintainLoop() {
	defer close(s.maintDone)
	t := time.NewTicker(s.opts.CompactInterval)
	defer t.Stop()
	for {
		select {
		case <-s.compactKick:
		case <-t.C:
		case <-s.closeCh:
			return
		}
		if err := s.Compact(); err != nil && !errors.Is(err, ErrClosed) {
			s.log.Error("msgstore: compaction failed", "err", err)
		}
	}
}

// Compact runs one maintenance pass now: it deletes every sealed segment
// that holds nothing live and is no longer needed to cancel older records,
// and rewrites sealed segments whose live share fell below CompactRatio.
// The maintenance goroutine calls it; tests and admin tools may too.
func (s *Store) Compact() error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	if err := s.deleteDead(); err != nil {
		return err
	}
	if s.opts.CompactRatio < 0 {
		return nil
	}
	cands := s.sparseSegments()
	if len(cands) == 0 {
		return nil
	}
	for _, n := range cands {
		if err := s.rewrite(n); err != nil {
			return err
		}
	}
	// The copies must be on disk before the originals go.
	if err := s.Sync(); err != nil {
		return err
	}
	return s.deleteDead()
}

// deleteDead deletes dead segments until none is left, fsyncing the
// directory after each round so a segment is never gone on disk while an
// older one whose records it cancelled is still there.
func (s *Store) deleteDead() error {
	for {
		s.mu.Lock()
		var dead []uint32
		for n, sg := range s.segs {
			if n < s.sealedBelow && n != s.active && sg.live == 0 && len(sg.deps) == 0 {
				dead = append(dead, n)
			}
		}
		onDisk := make([]bool, len(dead))
		for i, n := range dead {
			onDisk[i] = s.segs[n].onDisk
		}
		s.mu.Unlock()
		if len(dead) == 0 {
			return nil
		}
		for i, n := range dead {
			if !onDisk[i] {
				continue
			}
			if err := os.Remove(s.segPath(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("msgstore: %w", err)
			}
		}
		if err := syncDir(s.dir); err != nil {
			return err
		}
		s.mu.Lock()
		for _, n := range dead {
			delete(s.segs, n)
		}
		for _, sg := range s.segs {
			for _, n := range dead {
				delete(sg.deps, n)
			}
		}
		s.mu.Unlock()
		s.deleted.Add(uint64(len(dead)))
	}
}

func (s *Store) sparseSegments() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uint32
	for n, sg := range s.segs {
		if n < s.sealedBelow && n != s.active && sg.onDisk && sg.live > 0 &&
			float64(sg.liveBytes) < s.opts.CompactRatio*float64(sg.size) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// rewrite copies the live messages of sealed segment n to the active
// segment with their current queue sets. Once the copies are synced, n
// holds nothing live and deleteDead can take it (after the segments its own
// removal records depend on).
func (s *Store) rewrite(n uint32) error {
	path := s.segPath(n)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("msgstore: %w", err)
	}
	var qs []uint64
	for off := segHeaderSize; off < len(data); {
		r, size, err := decodeRecord(data[off:])
		if err != nil {
			return &CorruptError{File: path, Offset: int64(off), Reason: err.Error()}
		}
		if r.typ == recMessage {
			s.mu.Lock()
			if err := s.usable(); err != nil {
				s.mu.Unlock()
				return err
			}
			e, ok := s.index[r.id]
			if ok && e.seg == n && int(e.off) == off {
				qs = qs[:0]
				if m, ok := s.multi[r.id]; ok {
					qs = append(qs, m...)
				} else {
					qs = append(qs, e.q)
				}
				nsize := messageRecordSize(qs, r.head, r.body)
				seg := s.reserveFor(nsize)
				nsg := s.segs[seg]
				noff := nsg.size
				nsg.size += int64(nsize)
				s.pendingBytes += nsize
				c := s.chunkFor(seg, nsize)
				c.buf = appendMessageRecord(c.buf, r.id, qs, r.head, r.body)
				old := s.segs[n]
				old.live--
				old.liveBytes -= int64(e.size)
				nsg.live++
				nsg.liveBytes += int64(nsize)
				e.seg, e.off, e.size = seg, uint32(noff), uint32(nsize)
				s.index[r.id] = e
				s.addDep(seg, n)
				s.rewritten.Add(1)
			}
			s.mu.Unlock()
		}
		off += size
	}
	s.wakeSyncer()
	return nil
}
