package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// WriterOptions configures the Writer and AppendDump. The zero value gives
// Redis 7.0's defaults; for the size limits a negative value means 0 (for
// example HashMaxListpackEntries: -1 never uses a listpack).
type WriterOptions struct {
	// NoCompression disables LZF compression of strings (rdbcompression no).
	NoCompression bool
	// NoChecksum writes a zero checksum (rdbchecksum no).
	NoChecksum bool

	// RedisVersion is the redis-ver AUX field; default "7.0.15".
	RedisVersion string
	// CTime is the ctime AUX field; default the time the header is written.
	CTime time.Time
	// UsedMem is the used-mem AUX field.
	UsedMem int64
	// AOFBase sets the aof-base AUX field, for an RDB used as AOF base.
	AOFBase bool

	// The encoding thresholds, as the redis.conf options of the same names:
	// a hash or sorted set with at most Entries elements, none longer than
	// Value bytes, is written as a listpack; a set of at most
	// SetMaxIntsetEntries integers as an intset.
	HashMaxListpackEntries int // default 512
	HashMaxListpackValue   int // default 64
	ZSetMaxListpackEntries int // default 128
	ZSetMaxListpackValue   int // default 64
	SetMaxIntsetEntries    int // default 512
	// ListMaxListpackSize is list-max-listpack-size: -1..-5 bound each list
	// node to 4, 8, 16, 32 or 64 KiB, a positive value to that many
	// elements; default -2.
	ListMaxListpackSize int
	// ListPackedThreshold is the element size from which a list element
	// gets a node of its own (a PLAIN node); default 1 GiB.
	ListPackedThreshold int
	// StreamNodeMaxBytes and StreamNodeMaxEntries bound each stream node
	// listpack; defaults 4096 and 100, negative means no limit.
	StreamNodeMaxBytes   int
	StreamNodeMaxEntries int
}

type encOpts struct {
	compress, checksum         bool
	hashEntries, hashValue     int
	zsetEntries, zsetValue     int
	intsetEntries              int
	listFill, listPlain        int
	streamBytes, streamEntries int
	redisVersion               string
	ctime                      time.Time
	usedMem                    int64
	aofBase                    bool
}

func limit(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

func resolveOptions(o *WriterOptions) encOpts {
	if o == nil {
		o = &WriterOptions{}
	}
	e := encOpts{
		compress:      !o.NoCompression,
		checksum:      !o.NoChecksum,
		hashEntries:   limit(o.HashMaxListpackEntries, 512),
		hashValue:     limit(o.HashMaxListpackValue, 64),
		zsetEntries:   limit(o.ZSetMaxListpackEntries, 128),
		zsetValue:     limit(o.ZSetMaxListpackValue, 64),
		intsetEntries: limit(o.SetMaxIntsetEntries, 512),
		listFill:      o.ListMaxListpackSize,
		listPlain:     o.ListPackedThreshold,
		streamBytes:   o.StreamNodeMaxBytes,
		streamEntries: o.StreamNodeMaxEntries,
		redisVersion:  o.RedisVersion,
		ctime:         o.CTime,
		usedMem:       o.UsedMem,
		aofBase:       o.AOFBase,
	}
	if e.listFill == 0 {
		e.listFill = -2
	}
	if e.listFill < -5 {
		e.listFill = -5
	}
	if e.listPlain <= 0 {
		e.listPlain = 1 << 30
	}
	if e.streamBytes == 0 {
		e.streamBytes = 4096
	}
	if e.streamEntries == 0 {
		e.streamEntries = 100
	}
	if e.redisVersion == "" {
		e.redisVersion = "7.0.15"
	}
	return e
}

// encoder serializes values in Redis 7.0's encodings; it carries scratch
// buffers between values.
type encoder struct {
	o    encOpts
	lp   []byte
	lzf  []byte
	htab *[1 << lzfHashLog]int32
	ints []int64
	idx  []int
}

func newEncoder(o encOpts) *encoder { return &encoder{o: o} }

var errEmptyValue = errors.New("rdb: empty collection (Redis does not store empty keys)")

// appendLen appends an RDB length.
func appendLen(dst []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(dst, byte(n))
	case n < 1<<14:
		return append(dst, 0x40|byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0x80), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0x81), n)
}

// appendString appends s as rdbSaveRawString does: int-encoded when it is
// the canonical form of a 32-bit integer, LZF-compressed when compression is
// on, s is longer than 20 bytes and compression saves at least 4 bytes, raw
// otherwise.
func (e *encoder) appendString(dst, s []byte) []byte {
	if len(s) <= 11 {
		if v, ok := parseCanonicalInt(s); ok {
			switch {
			case v >= math.MinInt8 && v <= math.MaxInt8:
				return append(dst, 0xC0, byte(v))
			case v >= math.MinInt16 && v <= math.MaxInt16:
				return binary.LittleEndian.AppendUint16(append(dst, 0xC1), uint16(v))
			case v >= math.MinInt32 && v <= math.MaxInt32:
				return binary.LittleEndian.AppendUint32(append(dst, 0xC2), uint32(v))
			}
		}
	}
	if e.o.compress && len(s) > 20 && len(s) < math.MaxInt32 {
		if e.htab == nil {
			e.htab = new([1 << lzfHashLog]int32)
		}
		out := len(s) - 4
		if cap(e.lzf) < out {
			e.lzf = make([]byte, out)
		}
		if n := lzfCompress(e.lzf[:out], s, e.htab); n > 0 {
			dst = append(dst, 0xC3)
			dst = appendLen(dst, uint64(n))
			dst = appendLen(dst, uint64(len(s)))
			dst = append(dst, e.lzf[:n]...)
			if cap(e.lzf) > 1<<20 {
				e.lzf = nil
			}
			return dst
		}
	}
	dst = appendLen(dst, uint64(len(s)))
	return append(dst, s...)
}

func (e *encoder) appendStringS(dst []byte, s string) []byte {
	return e.appendString(dst, []byte(s))
}

// appendValue appends the serialized value and reports the encoding chosen.
func (e *encoder) appendValue(dst []byte, v Value) ([]byte, Encoding, error) {
	switch v := v.(type) {
	case String:
		return e.appendString(dst, v), EncString, nil
	case List:
		out, err := e.appendList(dst, v)
		return out, EncListQuicklist2, err
	case Set:
		return e.appendSet(dst, v)
	case ZSet:
		return e.appendZSet(dst, v)
	case Hash:
		return e.appendHash(dst, v)
	case *Stream:
		if v == nil {
			return dst, 0, errors.New("rdb: nil *Stream")
		}
		out, err := e.appendStream(dst, v)
		return out, EncStreamListpacks2, err
	case nil:
		return dst, 0, errors.New("rdb: nil value")
	}
	return dst, 0, fmt.Errorf("rdb: unsupported value type %T", v)
}

// listNodeFits mirrors quicklist's _quicklistNodeAllowInsert: whether a node
// of sz bytes and count elements may take one more element of n bytes.
func (e *encoder) listNodeFits(sz, count, n int) bool {
	overhead := 1
	if n >= 254 {
		overhead = 5
	}
	switch {
	case n < 64:
		overhead++
	case n < 16384:
		overhead += 2
	default:
		overhead += 5
	}
	newSz := sz + n + overhead
	if e.o.listFill < 0 {
		return newSz <= 4096<<uint(-e.o.listFill-1)
	}
	return newSz <= 8192 && count < e.o.listFill
}

// appendList writes a LIST_QUICKLIST_2: <len nodes> then per node
// <len container> <string>, container 2 (PACKED, a listpack) or 1 (PLAIN,
// one element of at least ListPackedThreshold bytes).
func (e *encoder) appendList(dst []byte, l List) ([]byte, error) {
	if len(l) == 0 {
		return dst, errEmptyValue
	}
	// First pass: node boundaries, so that the node count can lead.
	type node struct{ start, end int }
	var nodes []node
	for i := 0; i < len(l); {
		if len(l[i]) >= e.o.listPlain {
			nodes = append(nodes, node{i, i + 1})
			i++
			continue
		}
		start, sz := i, lpHeaderSize+1
		for i < len(l) && len(l[i]) < e.o.listPlain {
			if i > start && !e.listNodeFits(sz, i-start, len(l[i])) {
				break
			}
			sz += lpEntrySize(l[i])
			i++
		}
		nodes = append(nodes, node{start, i})
	}
	dst = appendLen(dst, uint64(len(nodes)))
	for _, n := range nodes {
		if n.end == n.start+1 && len(l[n.start]) >= e.o.listPlain {
			dst = appendLen(dst, 1)
			dst = e.appendString(dst, l[n.start])
			continue
		}
		dst = appendLen(dst, 2)
		lp := lpStart(e.lp)
		for _, s := range l[n.start:n.end] {
			lp = lpAppendString(lp, s)
		}
		lp = lpFinish(lp, n.end-n.start)
		dst = e.appendString(dst, lp)
		e.keepLP(lp)
	}
	return dst, nil
}

func (e *encoder) keepLP(lp []byte) {
	if cap(lp) <= 1<<20 {
		e.lp = lp[:0]
	} else {
		e.lp = nil
	}
}

// appendSet writes a SET_INTSET when every member is a canonical integer and
// there are at most SetMaxIntsetEntries, else a SET.
func (e *encoder) appendSet(dst []byte, s Set) ([]byte, Encoding, error) {
	if len(s) == 0 {
		return dst, 0, errEmptyValue
	}
	if len(s) <= e.o.intsetEntries {
		ints := e.ints[:0]
		for _, m := range s {
			v, ok := parseCanonicalInt(m)
			if !ok {
				ints = nil
				break
			}
			ints = append(ints, v)
		}
		if ints != nil {
			e.ints = ints[:0]
			blob, err := intsetAppend(e.lp[:0], ints)
			if err != nil {
				return dst, 0, err
			}
			dst = e.appendString(dst, blob)
			e.keepLP(blob)
			return dst, EncSetIntset, nil
		}
	}
	dst = appendLen(dst, uint64(len(s)))
	for _, m := range s {
		dst = e.appendString(dst, m)
	}
	return dst, EncSet, nil
}

// appendScore formats a score as Redis 7.0's d2string.
func appendScore(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0"...)
		}
		return append(dst, '0')
	case f > -4503599627370495 && f < 4503599627370496 && f == math.Trunc(f):
		return strconv.AppendInt(dst, int64(f), 10)
	}
	return strconv.AppendFloat(dst, f, 'g', 17, 64)
}

// appendZSet writes a ZSET_LISTPACK (member, score pairs in score order) when
// within the listpack limits, else a ZSET_2 from the greatest to the smallest
// member as Redis does.
func (e *encoder) appendZSet(dst []byte, z ZSet) ([]byte, Encoding, error) {
	if len(z) == 0 {
		return dst, 0, errEmptyValue
	}
	small := len(z) <= e.o.zsetEntries
	total := 0
	for _, m := range z {
		if math.IsNaN(m.Score) {
			return dst, 0, fmt.Errorf("rdb: sorted set member %q has a NaN score", truncateForError(m.Member))
		}
		if len(m.Member) > e.o.zsetValue {
			small = false
		}
		total += len(m.Member) + 24
	}
	if total > lpSafetySize {
		small = false
	}
	idx := e.idx[:0]
	for i := range z {
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(a, b int) int {
		if z[a].Score != z[b].Score {
			if z[a].Score < z[b].Score {
				return -1
			}
			return 1
		}
		return bytes.Compare(z[a].Member, z[b].Member)
	})
	e.idx = idx[:0]
	if small {
		lp := lpStart(e.lp)
		var num [32]byte
		for _, i := range idx {
			lp = lpAppendString(lp, z[i].Member)
			lp = lpAppendString(lp, appendScore(num[:0], z[i].Score))
		}
		lp = lpFinish(lp, 2*len(z))
		dst = e.appendString(dst, lp)
		e.keepLP(lp)
		return dst, EncZSetListpack, nil
	}
	dst = appendLen(dst, uint64(len(z)))
	for j := len(idx) - 1; j >= 0; j-- {
		m := z[idx[j]]
		dst = e.appendString(dst, m.Member)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(m.Score))
	}
	return dst, EncZSet2, nil
}

// appendHash writes a HASH_LISTPACK (field, value pairs) when within the
// listpack limits, else a HASH.
func (e *encoder) appendHash(dst []byte, h Hash) ([]byte, Encoding, error) {
	if len(h) == 0 {
		return dst, 0, errEmptyValue
	}
	small := len(h) <= e.o.hashEntries
	total := 0
	for _, fv := range h {
		if len(fv.Field) > e.o.hashValue || len(fv.Value) > e.o.hashValue {
			small = false
			break
		}
		total += len(fv.Field) + len(fv.Value) + 12
	}
	if small && total <= lpSafetySize {
		lp := lpStart(e.lp)
		for _, fv := range h {
			lp = lpAppendString(lp, fv.Field)
			lp = lpAppendString(lp, fv.Value)
		}
		lp = lpFinish(lp, 2*len(h))
		dst = e.appendString(dst, lp)
		e.keepLP(lp)
		return dst, EncHashListpack, nil
	}
	dst = appendLen(dst, uint64(len(h)))
	for _, fv := range h {
		dst = e.appendString(dst, fv.Field)
		dst = e.appendString(dst, fv.Value)
	}
	return dst, EncHash, nil
}
