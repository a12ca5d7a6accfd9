package msgstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Recovered is one live message found by Open.
type Recovered struct {
	ID     uint64
	Queues []uint64 // the queues still holding it
	Head   []byte
	Body   []byte
}

// Recovery is what Open found on disk.
type Recovery struct {
	// Messages lists every live message once, in id (append) order.
	Messages []Recovered
	// Warnings describes what was repaired (a cut torn tail).
	Warnings []string
}

// recover scans the segments in order (pass 1) to rebuild the index, the
// per-segment live counts and dependencies, then reads the live messages
// back (pass 2). A bad record in the newest segment is a torn tail (the
// process died mid-write) and is cut with a warning; anywhere else it is
// corruption and Open refuses to start.
func (s *Store) recover() (*Recovery, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("msgstore: %w", err)
	}
	var nums []uint32
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || e.IsDir() {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 32)
		if err != nil || n == 0 {
			continue
		}
		nums = append(nums, uint32(n))
	}
	slices.Sort(nums)
	rec := &Recovery{}
	var maxID uint64
	for i, n := range nums {
		last := i == len(nums)-1
		path := s.segPath(n)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("msgstore: %w", err)
		}
		if err := checkSegHeader(data, n); err != nil {
			if last && errors.Is(err, errShort) {
				// Died while creating the file: nothing in it was ever synced.
				w := fmt.Sprintf("%s: removing segment with a torn header (%d bytes)", path, len(data))
				rec.Warnings = append(rec.Warnings, w)
				s.log.Warn("msgstore: " + w)
				if err := os.Remove(path); err != nil {
					return nil, fmt.Errorf("msgstore: %w", err)
				}
				continue
			}
			return nil, &CorruptError{File: path, Offset: 0, Reason: err.Error()}
		}
		sg := &segment{num: n, size: int64(len(data)), onDisk: true}
		s.segs[n] = sg
		off := segHeaderSize
		for off < len(data) {
			r, size, err := decodeRecord(data[off:])
			if err != nil {
				if last && torn(data[off:], err) {
					w := fmt.Sprintf("%s: cutting torn tail at offset %d (%d bytes): %v", path, off, len(data)-off, err)
					rec.Warnings = append(rec.Warnings, w)
					s.log.Warn("msgstore: " + w)
					if err := truncate(path, int64(off)); err != nil {
						return nil, err
					}
					sg.size = int64(off)
					break
				}
				return nil, &CorruptError{File: path, Offset: int64(off), Reason: err.Error()}
			}
			s.apply(&r, n, off, size)
			if r.typ == recMessage {
				maxID = max(maxID, r.id)
			}
			for _, id := range r.ids {
				maxID = max(maxID, id)
			}
			off += size
		}
	}
	s.nextID = maxID + 1
	s.active = 1
	if len(nums) > 0 {
		s.active = nums[len(nums)-1] + 1
	}
	s.sealedBelow = s.active
	if err := s.readLive(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// apply replays one record of segment seg at offset off.
func (s *Store) apply(r *record, seg uint32, off, size int) {
	switch r.typ {
	case recMessage:
		if old, ok := s.index[r.id]; ok {
			// A copy written by compaction: it carries the current queue
			// set and supersedes the original.
			if sg := s.segs[old.seg]; sg != nil {
				sg.live--
				sg.liveBytes -= int64(old.size)
			}
			s.addDep(seg, old.seg)
			delete(s.multi, r.id)
		}
		qs := dedup(r.queues)
		if len(qs) == 0 {
			return
		}
		e := entry{seg: seg, off: uint32(off), size: uint32(size), refs: uint32(len(qs))}
		if len(qs) == 1 {
			e.q = qs[0]
		} else {
			s.multi[r.id] = qs
		}
		s.index[r.id] = e
		sg := s.segs[seg]
		sg.live++
		sg.liveBytes += int64(size)
	case recRemove:
		q := r.queues[0]
		for _, id := range r.ids {
			e, ok := s.index[id]
			if ok && s.dropRef(id, q) {
				s.addDep(seg, e.seg)
			}
		}
	}
}

func dedup(qs []uint64) []uint64 {
	out := qs[:0:0]
	for _, q := range qs {
		if !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out
}

// torn reports whether a decode failure at the start of rest, in the newest
// segment, looks like an interrupted append rather than damage: the record
// runs past the end of the file, the rest of the file is zeros (space the
// filesystem allocated but the data never reached), or the bad record is
// the very last thing in the file.
func torn(rest []byte, err error) bool {
	if errors.Is(err, errShort) {
		return true
	}
	allZero := true
	for _, b := range rest {
		if b != 0 {
			allZero = false
			break
		}
	}
	if allZero {
		return true
	}
	if len(rest) >= 8 {
		n := int(binary.LittleEndian.Uint32(rest))
		return 8+n == len(rest)
	}
	return false
}

func truncate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("msgstore: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("msgstore: truncate %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("msgstore: fsync %s: %w", path, err)
	}
	return nil
}

// readLive reads the records of the live messages back, one segment at a
// time, copying each message's head and body into one allocation of its own
// so nothing pins a whole segment in memory.
func (s *Store) readLive(rec *Recovery) error {
	type loc struct {
		id  uint64
		off uint32
	}
	bySeg := map[uint32][]loc{}
	for id, e := range s.index {
		bySeg[e.seg] = append(bySeg[e.seg], loc{id, e.off})
	}
	rec.Messages = make([]Recovered, 0, len(s.index))
	for seg, locs := range bySeg {
		path := s.segPath(seg)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("msgstore: %w", err)
		}
		for _, l := range locs {
			r, _, err := decodeRecord(data[l.off:])
			if err != nil || r.typ != recMessage || r.id != l.id {
				return &CorruptError{File: path, Offset: int64(l.off), Reason: "live record unreadable on second pass"}
			}
			buf := make([]byte, len(r.head)+len(r.body))
			copy(buf, r.head)
			copy(buf[len(r.head):], r.body)
			rec.Messages = append(rec.Messages, Recovered{
				ID:     l.id,
				Queues: s.queuesOf(l.id),
				Head:   buf[:len(r.head):len(r.head)],
				Body:   buf[len(r.head):],
			})
		}
	}
	slices.SortFunc(rec.Messages, func(a, b Recovered) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return nil
}

// queuesOf returns a copy of the queues holding id. Callers hold s.mu (or
// run before the goroutines start).
func (s *Store) queuesOf(id uint64) []uint64 {
	if qs, ok := s.multi[id]; ok {
		return slices.Clone(qs)
	}
	return []uint64{s.index[id].q}
}
