// Package pagestore holds message data paged out of memory: the bodies and
// properties of transient (and not yet delivered) broker messages that
// queues move to disk under memory pressure, as RabbitMQ's classic queues
// do. Nothing here survives a restart: Open wipes the directory, and data
// is never fsynced (a crash loses transient messages anyway).
//
// Records are appended to segment files through an in-memory write
// buffer; a record is addressed by a Ref (segment, offset, length). A
// segment file is deleted once every record in it has been freed.
//
// Imports: stdlib only.
package pagestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// DefaultSegmentSize is the size at which a new segment file is started.
const DefaultSegmentSize = 64 << 20

// writeBuffer is how much is buffered before a write(2) to the file.
const writeBuffer = 256 << 10

// ErrClosed is returned after Close.
var ErrClosed = errors.New("pagestore: closed")

// Ref locates one record. The zero Ref is no record.
type Ref struct {
	Off int64  // offset in the segment
	Seg uint32 // segment number (from 1)
	Len uint32 // record length (4-byte props length + props + body)
}

// Valid reports whether r refers to a record.
func (r Ref) Valid() bool { return r.Len != 0 }

// BodyLen returns the body length of the record Put returned r for, given
// the length of its properties.
func (r Ref) BodyLen(propsLen int) int { return int(r.Len) - 4 - propsLen }

type segment struct {
	no      uint32
	f       *os.File
	size    int64 // bytes appended, buffered ones included
	flushed int64 // bytes written to the file
	live    int   // records not yet freed
}

// Store is a set of segment files of paged-out records. It is safe for
// concurrent use.
type Store struct {
	dir     string
	segSize int64

	mu     sync.Mutex
	segs   map[uint32]*segment
	active *segment
	buf    []byte // unwritten tail of the active segment
	next   uint32
	closed bool
	err    error // sticky write error: no more Puts

	bytes int64 // live record bytes (for stats)
	count int64 // live records
}

// Open empties dir (creating it if needed) and returns a store writing
// segments of about segSize bytes there (DefaultSegmentSize when <= 0).
func Open(dir string, segSize int64) (*Store, error) {
	if segSize <= 0 {
		segSize = DefaultSegmentSize
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("pagestore: wipe %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pagestore: %w", err)
	}
	return &Store{dir: dir, segSize: segSize, segs: map[uint32]*segment{}, next: 1}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) segPath(n uint32) string { return filepath.Join(s.dir, fmt.Sprintf("%08d.page", n)) }

// Put appends a record holding props and body and returns its Ref.
func (s *Store) Put(props, body []byte) (Ref, error) {
	n := 4 + len(props) + len(body)
	if int64(n) > 1<<31 {
		return Ref{}, fmt.Errorf("pagestore: record of %d bytes too large", n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Ref{}, ErrClosed
	}
	if s.err != nil {
		return Ref{}, s.err
	}
	if s.active == nil || s.active.size+int64(n) > s.segSize && s.active.size > 0 {
		if err := s.rollLocked(); err != nil {
			s.err = err
			return Ref{}, err
		}
	}
	a := s.active
	r := Ref{Off: a.size, Seg: a.no, Len: uint32(n)}
	s.buf = binary.LittleEndian.AppendUint32(s.buf, uint32(len(props)))
	s.buf = append(s.buf, props...)
	s.buf = append(s.buf, body...)
	a.size += int64(n)
	a.live++
	s.bytes += int64(n)
	s.count++
	if len(s.buf) >= writeBuffer {
		if err := s.flushLocked(); err != nil {
			s.err = err
			// The record is still readable from the buffer.
		}
	}
	return r, nil
}

func (s *Store) flushLocked() error {
	a := s.active
	if a == nil || len(s.buf) == 0 {
		return nil
	}
	if _, err := a.f.WriteAt(s.buf, a.flushed); err != nil {
		return fmt.Errorf("pagestore: write %s: %w", a.f.Name(), err)
	}
	a.flushed += int64(len(s.buf))
	if cap(s.buf) > 4*writeBuffer {
		s.buf = nil
	} else {
		s.buf = s.buf[:0]
	}
	return nil
}

// rollLocked seals the active segment and starts a new one.
func (s *Store) rollLocked() error {
	if err := s.flushLocked(); err != nil {
		return err
	}
	if a := s.active; a != nil && a.live == 0 {
		s.removeLocked(a)
	}
	f, err := os.OpenFile(s.segPath(s.next), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("pagestore: %w", err)
	}
	seg := &segment{no: s.next, f: f}
	s.next++
	s.segs[seg.no] = seg
	s.active = seg
	return nil
}

func (s *Store) removeLocked(seg *segment) {
	delete(s.segs, seg.no)
	seg.f.Close()
	os.Remove(seg.f.Name())
	if s.active == seg {
		s.active = nil
		s.buf = s.buf[:0]
	}
}

// Read reads the records of refs (which must be live) and returns, for
// each, its props and body sliced from one allocation per record. Records
// adjacent in a segment are read with one read call.
func (s *Store) Read(refs []Ref, props, bodies [][]byte) error {
	i := 0
	for i < len(refs) {
		// A run of adjacent records in one segment.
		j := i + 1
		end := refs[i].Off + int64(refs[i].Len)
		for j < len(refs) && refs[j].Seg == refs[i].Seg && refs[j].Off == end && end-refs[i].Off < 4<<20 {
			end += int64(refs[j].Len)
			j++
		}
		buf := make([]byte, end-refs[i].Off)
		if err := s.readAt(refs[i].Seg, buf, refs[i].Off); err != nil {
			return err
		}
		for k := i; k < j; k++ {
			rec := buf[refs[k].Off-refs[i].Off:][:refs[k].Len:refs[k].Len]
			pl := int(binary.LittleEndian.Uint32(rec))
			if pl > len(rec)-4 {
				return fmt.Errorf("pagestore: corrupt record in segment %d at %d", refs[k].Seg, refs[k].Off)
			}
			if j-i > 1 {
				// Own allocation per record, so one message held long
				// (requeued, slow consumer) does not pin its neighbours.
				rec = append([]byte(nil), rec...)
			}
			props[k] = rec[4 : 4+pl : 4+pl]
			bodies[k] = rec[4+pl:]
		}
		i = j
	}
	return nil
}

// readAt fills p from segment seg at off, from the file and/or the write
// buffer.
func (s *Store) readAt(seg uint32, p []byte, off int64) error {
	s.mu.Lock()
	sg := s.segs[seg]
	if sg == nil || s.closed {
		s.mu.Unlock()
		return fmt.Errorf("pagestore: segment %d not found", seg)
	}
	if sg == s.active && off+int64(len(p)) > sg.flushed {
		// The tail (at least) is still buffered.
		from := max(off, sg.flushed)
		copy(p[from-off:], s.buf[from-sg.flushed:])
		p = p[:from-off]
	}
	f := sg.f
	s.mu.Unlock()
	// Live records keep their segment open: the file cannot be closed
	// under this read.
	if len(p) == 0 {
		return nil
	}
	if _, err := f.ReadAt(p, off); err != nil {
		return fmt.Errorf("pagestore: read %s at %d: %w", f.Name(), off, err)
	}
	return nil
}

// Free releases a record; a segment with no live records left is deleted
// (the active one once it is sealed).
func (s *Store) Free(r Ref) {
	if !r.Valid() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seg := s.segs[r.Seg]
	if seg == nil {
		return
	}
	seg.live--
	s.bytes -= int64(r.Len)
	s.count--
	if seg.live == 0 {
		if seg == s.active {
			// Start the active segment over instead of growing it.
			s.buf = s.buf[:0]
			seg.size, seg.flushed = 0, 0
			seg.f.Truncate(0)
			return
		}
		s.removeLocked(seg)
	}
}

// Stats describes the store's contents.
type Stats struct {
	Records  int64 // live records
	Bytes    int64 // their bytes
	Segments int   // segment files
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Records: s.count, Bytes: s.bytes, Segments: len(s.segs)}
}

// Close closes and deletes every segment file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	for _, seg := range s.segs {
		seg.f.Close()
	}
	s.segs = nil
	s.active = nil
	s.buf = nil
	return os.RemoveAll(s.dir)
}
