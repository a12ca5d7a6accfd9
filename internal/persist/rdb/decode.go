package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
)

// arena hands out byte slices carved from 64 KiB chunks, so that keys,
// short strings and collection elements cost a handful of allocations (and
// objects for the garbage collector to track) instead of one each. Each slice
// is capped at its length, so appending to one never overwrites its
// neighbour. The price: a retained slice keeps its whole chunk alive.
type arena struct {
	buf []byte
	// next is the size of the next chunk when below arenaChunk: it doubles
	// with each chunk, so that decoding one small DUMP payload does not
	// cost a full chunk. Zero means arenaChunk.
	next int
}

const (
	arenaChunk   = 64 << 10
	arenaBigElem = 4 << 10 // elements at least this long get their own allocation
)

func (a *arena) room(n int) {
	if cap(a.buf)-len(a.buf) >= n {
		return
	}
	size := arenaChunk
	if a.next > 0 && a.next < arenaChunk {
		size = a.next
		a.next *= 2
	}
	a.buf = make([]byte, 0, max(size, n))
}

func (a *arena) copy(b []byte) []byte {
	if len(b) >= arenaBigElem {
		c := make([]byte, len(b))
		copy(c, b)
		return c
	}
	a.room(len(b))
	s := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[s:len(a.buf):len(a.buf)]
}

func (a *arena) int(v int64) []byte {
	a.room(20)
	s := len(a.buf)
	a.buf = appendInt(a.buf, v)
	return a.buf[s:len(a.buf):len(a.buf)]
}

// elem returns an iterator entry as bytes owned by the arena.
func (a *arena) elem(s []byte, v int64, isInt bool) []byte {
	if isInt {
		return a.int(v)
	}
	return a.copy(s)
}

// blobIter is the common walk over a listpack or a ziplist.
type blobIter interface {
	next() ([]byte, int64, bool, error)
	done() bool
	finish(count int) error
}

func openBlobIter(enc Encoding, blob []byte) (blobIter, int, error) {
	switch enc {
	case EncListZiplist, EncZSetZiplist, EncHashZiplist, EncListQuicklist:
		it, n, err := zlOpen(blob)
		return &it, n, err
	}
	it, n, err := lpOpen(blob)
	return &it, n, err
}

// firstDup returns the index of an element equal to an earlier one, or -1.
// Small collections are compared pairwise; larger ones by 64-bit hash, with
// an exact check (sorting) if two different elements ever share a hash.
func firstDup(n int, at func(int) []byte) int {
	if n <= 16 {
		for i := 1; i < n; i++ {
			for j := 0; j < i; j++ {
				if bytes.Equal(at(i), at(j)) {
					return i
				}
			}
		}
		return -1
	}
	seen := make(map[uint64]int32, n)
	for i := 0; i < n; i++ {
		h := maphash.Bytes(dupSeed, at(i))
		if j, ok := seen[h]; ok {
			if bytes.Equal(at(int(j)), at(i)) {
				return i
			}
			return firstDupSorted(n, at)
		}
		seen[h] = int32(i)
	}
	return -1
}

var dupSeed = maphash.MakeSeed()

func firstDupSorted(n int, at func(int) []byte) int {
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int { return bytes.Compare(at(int(a)), at(int(b))) })
	for i := 1; i < n; i++ {
		if bytes.Equal(at(int(idx[i-1])), at(int(idx[i]))) {
			return int(max(idx[i-1], idx[i]))
		}
	}
	return -1
}

func (r *Reader) checkSet(s Set, off int64) error {
	if i := firstDup(len(s), func(i int) []byte { return s[i] }); i >= 0 {
		return r.corrupt(off, "duplicate set member %q", truncateForError(s[i]))
	}
	return nil
}

func (r *Reader) checkHash(h Hash, off int64) error {
	if i := firstDup(len(h), func(i int) []byte { return h[i].Field }); i >= 0 {
		return r.corrupt(off, "duplicate hash field %q", truncateForError(h[i].Field))
	}
	return nil
}

func (r *Reader) checkZSet(z ZSet, off int64) error {
	if i := firstDup(len(z), func(i int) []byte { return z[i].Member }); i >= 0 {
		return r.corrupt(off, "duplicate sorted set member %q", truncateForError(z[i].Member))
	}
	return nil
}

// readValue decodes a value stored with encoding enc.
func (r *Reader) readValue(enc Encoding) (Value, error) {
	off := r.off()
	switch enc {
	case EncString:
		s, err := r.readArenaString()
		return String(s), err
	case EncList, EncSet:
		n, err := r.readCount("element count")
		if err != nil {
			return nil, err
		}
		a := &r.ar
		out := make([][]byte, 0, capHint(n))
		for i := 0; i < n; i++ {
			b, _, err := r.readBlob()
			if err != nil {
				return nil, err
			}
			out = append(out, a.copy(b))
		}
		if enc == EncList {
			return List(out), nil
		}
		return Set(out), r.checkSet(out, off)
	case EncZSet, EncZSet2:
		n, err := r.readCount("sorted set length")
		if err != nil {
			return nil, err
		}
		a := &r.ar
		out := make(ZSet, 0, capHint(n))
		for i := 0; i < n; i++ {
			b, _, err := r.readBlob()
			if err != nil {
				return nil, err
			}
			m := a.copy(b)
			scoreOff := r.off()
			var score float64
			if enc == EncZSet2 {
				p, err := r.readN(8)
				if err != nil {
					return nil, err
				}
				score = math.Float64frombits(binary.LittleEndian.Uint64(p))
			} else if score, err = r.readDoubleString(); err != nil {
				return nil, err
			}
			if math.IsNaN(score) {
				return nil, r.corrupt(scoreOff, "sorted set score is NaN")
			}
			out = append(out, ZMember{Member: m, Score: score})
		}
		return out, r.checkZSet(out, off)
	case EncHash:
		n, err := r.readCount("hash length")
		if err != nil {
			return nil, err
		}
		a := &r.ar
		out := make(Hash, 0, capHint(n))
		for i := 0; i < n; i++ {
			f, _, err := r.readBlob()
			if err != nil {
				return nil, err
			}
			fc := a.copy(f)
			v, _, err := r.readBlob()
			if err != nil {
				return nil, err
			}
			out = append(out, FieldValue{Field: fc, Value: a.copy(v)})
		}
		return out, r.checkHash(out, off)
	case EncListQuicklist, EncListQuicklist2:
		return r.readQuicklist(enc)
	case EncStreamListpacks, EncStreamListpacks2, EncStreamListpacks3:
		return r.readStream(enc)
	}
	blob, off, err := r.readBlob()
	if err != nil {
		return nil, err
	}
	v, err := decodeBlobValue(enc, blob, &r.ar)
	if err != nil {
		return nil, r.wrapBlobErr(off, err)
	}
	return v, nil
}

// readDoubleString reads a score of the old ZSET type: a length byte (253 NaN,
// 254 +inf, 255 -inf) and that many bytes of "%.17g" text.
func (r *Reader) readDoubleString() (float64, error) {
	off := r.off()
	l, err := r.readByte()
	if err != nil {
		return 0, err
	}
	switch l {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	p, err := r.readRaw(r.scratch[1][:0], int(l))
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(p), 64)
	if err != nil {
		return 0, r.corrupt(off, "invalid score %q", p)
	}
	return f, nil
}

// readQuicklist decodes LIST_QUICKLIST (ziplist nodes) and LIST_QUICKLIST_2
// (<len container: 1 plain, 2 packed> before each node; a plain node is one
// element, a packed node a listpack).
func (r *Reader) readQuicklist(enc Encoding) (Value, error) {
	n, err := r.readCount("quicklist node count")
	if err != nil {
		return nil, err
	}
	a := &r.ar
	out := make(List, 0, capHint(n))
	for i := 0; i < n; i++ {
		container := uint64(2)
		if enc == EncListQuicklist2 {
			coff := r.off()
			if container, err = r.readPlainLen("quicklist container"); err != nil {
				return nil, err
			}
			if container != 1 && container != 2 {
				return nil, r.corrupt(coff, "invalid quicklist container %d", container)
			}
		}
		lzfBefore := r.stats.lzfStrings
		blob, off, err := r.readBlob()
		if err != nil {
			return nil, err
		}
		if r.stats.lzfStrings != lzfBefore {
			r.stats.compressedNodes++
		}
		if len(blob) == 0 {
			return nil, r.corrupt(off, "empty quicklist node")
		}
		if container == 1 {
			r.stats.plainNodes++
			out = append(out, a.copy(blob))
			continue
		}
		r.stats.packedNodes++
		it, count, err := openBlobIter(enc, blob)
		if err != nil {
			return nil, r.wrapBlobErr(off, err)
		}
		for !it.done() {
			s, v, isInt, err := it.next()
			if err != nil {
				return nil, r.wrapBlobErr(off, err)
			}
			out = append(out, a.elem(s, v, isInt))
		}
		if err := it.finish(count); err != nil {
			return nil, r.wrapBlobErr(off, err)
		}
	}
	return out, nil
}

// decodeBlobValue decodes the single-string encodings: zipmap, ziplist,
// intset and listpack values. Errors are relative to the blob.
func decodeBlobValue(enc Encoding, blob []byte, a *arena) (Value, error) {
	switch enc {
	case EncHashZipmap:
		var h Hash
		err := zipmapDecode(blob, func(f, v []byte) {
			h = append(h, FieldValue{Field: a.copy(f), Value: a.copy(v)})
		})
		if err != nil {
			return nil, err
		}
		if i := firstDup(len(h), func(i int) []byte { return h[i].Field }); i >= 0 {
			return nil, fmt.Errorf("zipmap: duplicate field %q", truncateForError(h[i].Field))
		}
		return h, nil
	case EncSetIntset:
		n := 0
		if len(blob) >= 8 {
			n = int(binary.LittleEndian.Uint32(blob[4:]))
		}
		s := make(Set, 0, capHint(n))
		err := intsetDecode(blob, func(v int64) { s = append(s, a.int(v)) })
		return s, err
	}
	it, count, err := openBlobIter(enc, blob)
	if err != nil {
		return nil, err
	}
	hint := capHint(max(count, 0))
	switch enc {
	case EncListZiplist, EncSetListpack:
		elems := make([][]byte, 0, hint)
		for !it.done() {
			s, v, isInt, err := it.next()
			if err != nil {
				return nil, err
			}
			elems = append(elems, a.elem(s, v, isInt))
		}
		if err := it.finish(count); err != nil {
			return nil, err
		}
		if enc == EncListZiplist {
			return List(elems), nil
		}
		if i := firstDup(len(elems), func(i int) []byte { return elems[i] }); i >= 0 {
			return nil, fmt.Errorf("duplicate set member %q", truncateForError(elems[i]))
		}
		return Set(elems), nil
	case EncZSetZiplist, EncZSetListpack:
		z := make(ZSet, 0, hint/2)
		for !it.done() {
			s, v, isInt, err := it.next()
			if err != nil {
				return nil, err
			}
			m := a.elem(s, v, isInt)
			if it.done() {
				return nil, errors.New("sorted set with an odd number of entries")
			}
			if s, v, isInt, err = it.next(); err != nil {
				return nil, err
			}
			f := float64(v)
			if !isInt {
				if f, err = strconv.ParseFloat(string(s), 64); err != nil {
					return nil, fmt.Errorf("sorted set score %q is not a number", truncateForError(s))
				}
			}
			if math.IsNaN(f) {
				return nil, errors.New("sorted set score is NaN")
			}
			z = append(z, ZMember{Member: m, Score: f})
		}
		if err := it.finish(count); err != nil {
			return nil, err
		}
		if i := firstDup(len(z), func(i int) []byte { return z[i].Member }); i >= 0 {
			return nil, fmt.Errorf("duplicate sorted set member %q", truncateForError(z[i].Member))
		}
		return z, nil
	case EncHashZiplist, EncHashListpack:
		h := make(Hash, 0, hint/2)
		for !it.done() {
			s, v, isInt, err := it.next()
			if err != nil {
				return nil, err
			}
			f := a.elem(s, v, isInt)
			if it.done() {
				return nil, errors.New("hash with an odd number of entries")
			}
			if s, v, isInt, err = it.next(); err != nil {
				return nil, err
			}
			h = append(h, FieldValue{Field: f, Value: a.elem(s, v, isInt)})
		}
		if err := it.finish(count); err != nil {
			return nil, err
		}
		if i := firstDup(len(h), func(i int) []byte { return h[i].Field }); i >= 0 {
			return nil, fmt.Errorf("duplicate hash field %q", truncateForError(h[i].Field))
		}
		return h, nil
	}
	return nil, fmt.Errorf("unexpected encoding %s", enc)
}
