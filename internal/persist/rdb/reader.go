package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// File layout (rdb.c rdbSaveRio / rdbLoadRioWithLoadingCtx):
//
//	"REDIS" <4 ASCII digits: version>
//	( AUX <string key> <string value>
//	| FUNCTION2 <string code>
//	| MODULE_AUX <len id> <len 2> <len when> <module opcodes> <len 0>
//	| SELECTDB <len db>
//	| RESIZEDB <len keys> <len expires>
//	| [EXPIRETIME_MS <u64le ms> | EXPIRETIME <u32le s>] [IDLE <len s>] [FREQ <u8>]
//	  <type u8> <string key> <value> )*
//	EOF [<u64le crc64 of every preceding byte, 0 when disabled>]   (version >= 5)
//
// Lengths (<len>): 00LLLLLL; 01LLLLLL LLLLLLLL (big endian); 0x80 <u32be>;
// 0x81 <u64be>. A <string> is a <len> and that many bytes, or a special
// encoding 11xxxxxx: 0 int8, 1 int16le, 2 int32le (printed as decimal),
// 3 LZF: <len compressed> <len uncompressed> <compressed bytes>.

const (
	readBufSize = 64 << 10
	// DefaultMaxStringLen bounds one string (after decompression) when
	// Reader.MaxStringLen is 0: Redis's default proto-max-bulk-len.
	DefaultMaxStringLen = 512 << 20
	// exactAllocLimit is the largest declared string length allocated in
	// one go; longer strings grow as their bytes actually arrive, so a
	// lying length costs no more memory than the input holds.
	exactAllocLimit = 1 << 20
	// maxCapHint bounds slice capacity preallocated from a declared count.
	maxCapHint = 1024
)

// Reader decodes an RDB file one record at a time. It is not safe for
// concurrent use. Set the exported fields before the first call to Next.
type Reader struct {
	// MaxVersion is the newest RDB version accepted; 0 means Version (10),
	// as Redis 7.0. Raising it admits newer files, which decode as long as
	// they use only the opcodes and types this package knows (7.2's
	// SET_LISTPACK, STREAM_LISTPACKS_3 and SLOT_INFO included); anything
	// else is reported as corruption at its offset.
	MaxVersion int
	// MaxStringLen bounds any single string, including the strings holding
	// embedded encodings, after decompression; 0 means DefaultMaxStringLen.
	MaxStringLen int
	// IgnoreChecksum skips the CRC64 comparison at the end of the file.
	IgnoreChecksum bool

	src    io.Reader
	srcErr error
	buf    []byte
	r, w   int
	base   int64 // input offset of buf[0]
	crc    uint64
	crcAt  int // buf[:crcAt] has been folded into crc

	started bool
	version int
	db      int
	err     error // sticky
	done    bool

	keyOff  int64  // offset of the record being decoded, for errors
	key     []byte // key being decoded, for errors
	scratch [2][]byte
	ar      arena  // backing store for keys, short strings and elements
	rec     Record // returned by Next, reused
	stats   readStats
}

// readStats counts encodings met, so tests can check coverage.
type readStats struct {
	lzfStrings, intStrings, plainNodes, packedNodes, compressedNodes int
	encodings                                                        [256]int
}

// NewReader returns a Reader decoding the RDB file read from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{src: r, buf: make([]byte, readBufSize)}
}

// Version returns the file's RDB version, known after the first call to Next.
func (r *Reader) Version() int { return r.version }

// Offset returns the input offset of the next byte to decode.
func (r *Reader) Offset() int64 { return r.off() }

func (r *Reader) off() int64 { return r.base + int64(r.r) }

func (r *Reader) maxString() int {
	if r.MaxStringLen > 0 {
		return r.MaxStringLen
	}
	return DefaultMaxStringLen
}

// corrupt builds a CorruptError at off for the key being decoded.
func (r *Reader) corrupt(off int64, format string, args ...any) error {
	return &CorruptError{Offset: off, Key: r.key, Msg: fmt.Sprintf(format, args...)}
}

func (r *Reader) wrapBlobErr(off int64, err error) error {
	return &CorruptError{Offset: off, Key: r.key, Msg: err.Error(), Err: err}
}

// fill makes at least n (<= len(r.buf)) bytes available at r.buf[r.r:].
func (r *Reader) fill(n int) error {
	if r.w-r.r >= n {
		return nil
	}
	if r.r > 0 {
		r.crc = crc64Update(r.crc, r.buf[r.crcAt:r.r])
		copy(r.buf, r.buf[r.r:r.w])
		r.base += int64(r.r)
		r.w -= r.r
		r.r = 0
		r.crcAt = 0
	}
	zero := 0
	for r.w < n {
		if r.srcErr != nil {
			return r.readErr()
		}
		m, err := r.src.Read(r.buf[r.w:])
		r.w += m
		if err != nil {
			r.srcErr = err
		} else if m == 0 {
			if zero++; zero > 100 {
				r.srcErr = io.ErrNoProgress
			}
		}
	}
	return nil
}

// readErr converts the source error into the error to report at the
// current offset.
func (r *Reader) readErr() error {
	off := r.base + int64(r.w)
	if r.srcErr == io.EOF || r.srcErr == io.ErrUnexpectedEOF {
		return &CorruptError{Offset: off, Key: r.key, Msg: "unexpected end of file", Err: io.ErrUnexpectedEOF}
	}
	return fmt.Errorf("rdb: read at offset %d: %w", off, r.srcErr)
}

func (r *Reader) readByte() (byte, error) {
	if r.r >= r.w {
		if err := r.fill(1); err != nil {
			return 0, err
		}
	}
	b := r.buf[r.r]
	r.r++
	return b, nil
}

// readN returns the next n (<= 16) bytes; the slice is valid until the next
// read.
func (r *Reader) readN(n int) ([]byte, error) {
	if err := r.fill(n); err != nil {
		return nil, err
	}
	b := r.buf[r.r : r.r+n]
	r.r += n
	return b, nil
}

// readLen reads an RDB length. When enc is true the value is instead a
// special string encoding (0..3).
func (r *Reader) readLen() (v uint64, enc bool, err error) {
	b, err := r.readByte()
	if err != nil {
		return 0, false, err
	}
	switch b >> 6 {
	case 0:
		return uint64(b & 0x3f), false, nil
	case 1:
		c, err := r.readByte()
		if err != nil {
			return 0, false, err
		}
		return uint64(b&0x3f)<<8 | uint64(c), false, nil
	case 3:
		return uint64(b & 0x3f), true, nil
	}
	switch b {
	case 0x80:
		p, err := r.readN(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(p)), false, nil
	case 0x81:
		p, err := r.readN(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(p), false, nil
	}
	return 0, false, r.corrupt(r.off()-1, "invalid length prefix 0x%02x", b)
}

// readPlainLen reads a length that must not be a special encoding.
func (r *Reader) readPlainLen(what string) (uint64, error) {
	off := r.off()
	v, enc, err := r.readLen()
	if err != nil {
		return 0, err
	}
	if enc {
		return 0, r.corrupt(off, "%s: expected a length, found string encoding %d", what, v)
	}
	return v, nil
}

// readCount reads a length used as an element count, bounding it so that
// it can index memory.
func (r *Reader) readCount(what string) (int, error) {
	off := r.off()
	v, err := r.readPlainLen(what)
	if err != nil {
		return 0, err
	}
	if v > math.MaxInt32 {
		return 0, r.corrupt(off, "%s: count %d is too large", what, v)
	}
	return int(v), nil
}

func capHint(n int) int {
	if n > maxCapHint {
		return maxCapHint
	}
	return n
}

// readString reads an RDB string and appends it to dst.
func (r *Reader) readString(dst []byte) ([]byte, error) {
	off := r.off()
	v, enc, err := r.readLen()
	if err != nil {
		return dst, err
	}
	if enc {
		switch v {
		case 0:
			b, err := r.readByte()
			if err != nil {
				return dst, err
			}
			r.stats.intStrings++
			return appendInt(dst, int64(int8(b))), nil
		case 1:
			p, err := r.readN(2)
			if err != nil {
				return dst, err
			}
			r.stats.intStrings++
			return appendInt(dst, int64(int16(binary.LittleEndian.Uint16(p)))), nil
		case 2:
			p, err := r.readN(4)
			if err != nil {
				return dst, err
			}
			r.stats.intStrings++
			return appendInt(dst, int64(int32(binary.LittleEndian.Uint32(p)))), nil
		case 3:
			return r.readLZF(dst, off)
		}
		return dst, r.corrupt(off, "unknown string encoding %d", v)
	}
	if v > uint64(r.maxString()) {
		return dst, r.corrupt(off, "string length %d exceeds the limit of %d", v, r.maxString())
	}
	return r.readRaw(dst, int(v))
}

// readRaw appends the next n bytes to dst, growing dst only as bytes arrive
// when n is large.
func (r *Reader) readRaw(dst []byte, n int) ([]byte, error) {
	if cap(dst)-len(dst) < n && n <= exactAllocLimit {
		nd := make([]byte, len(dst), len(dst)+n)
		copy(nd, dst)
		dst = nd
	}
	for n > 0 {
		if r.r == r.w {
			if n >= len(r.buf) && r.srcErr == nil {
				// Read large remainders straight into dst.
				r.crc = crc64Update(r.crc, r.buf[r.crcAt:r.r])
				r.base += int64(r.r)
				r.r, r.w, r.crcAt = 0, 0, 0
				chunk := min(n, 4<<20)
				dst = slices.Grow(dst, chunk)
				m, err := io.ReadFull(r.src, dst[len(dst):len(dst)+chunk])
				r.crc = crc64Update(r.crc, dst[len(dst):len(dst)+m])
				r.base += int64(m)
				dst = dst[:len(dst)+m]
				n -= m
				if err != nil {
					r.srcErr = err
					if err == io.EOF {
						r.srcErr = io.ErrUnexpectedEOF
					}
					return dst, r.readErr()
				}
				continue
			}
			if err := r.fill(1); err != nil {
				return dst, err
			}
		}
		m := min(n, r.w-r.r)
		dst = append(dst, r.buf[r.r:r.r+m]...)
		r.r += m
		n -= m
	}
	return dst, nil
}

func (r *Reader) readLZF(dst []byte, off int64) ([]byte, error) {
	clen, err := r.readPlainLen("lzf compressed length")
	if err != nil {
		return dst, err
	}
	ulen, err := r.readPlainLen("lzf uncompressed length")
	if err != nil {
		return dst, err
	}
	max := uint64(r.maxString())
	switch {
	case clen == 0 || ulen == 0:
		return dst, r.corrupt(off, "lzf string with zero length")
	case ulen > max || clen > max:
		return dst, r.corrupt(off, "lzf string of %d bytes exceeds the limit of %d", ulen, max)
	case ulen > clen*lzfMaxRatio:
		return dst, r.corrupt(off, "lzf string claims %d bytes from %d compressed", ulen, clen)
	}
	comp, err := r.readRaw(r.scratch[1][:0], int(clen))
	r.scratch[1] = comp[:0]
	if err != nil {
		return dst, err
	}
	start := len(dst)
	dst = slices.Grow(dst, int(ulen))[:start+int(ulen)]
	if err := lzfDecompress(dst[start:], comp); err != nil {
		return dst[:start], r.wrapBlobErr(off, err)
	}
	r.stats.lzfStrings++
	return dst, nil
}

// readNewString reads a string into its own allocation.
func (r *Reader) readNewString() ([]byte, error) {
	s, err := r.readString(nil)
	if s == nil && err == nil {
		s = []byte{}
	}
	return s, err
}

// readArenaString reads a string into the arena (its own allocation when
// long).
func (r *Reader) readArenaString() ([]byte, error) {
	// Fast path: a short raw string already buffered is copied once.
	if r.r < r.w {
		if l := int(r.buf[r.r]); l < 64 && r.r+1+l <= r.w {
			s := r.ar.copy(r.buf[r.r+1 : r.r+1+l])
			r.r += 1 + l
			return s, nil
		}
	}
	b, _, err := r.readBlob()
	if err != nil {
		return nil, err
	}
	return r.ar.copy(b), nil
}

// readBlob reads a string holding an embedded encoding into scratch space
// valid until the next readBlob.
func (r *Reader) readBlob() ([]byte, int64, error) {
	off := r.off()
	b, err := r.readString(r.scratch[0][:0])
	if cap(b) <= 4*readBufSize {
		r.scratch[0] = b[:0]
	}
	return b, off, err
}

// readHeader checks the magic and version.
func (r *Reader) readHeader() error {
	p, err := r.readN(9)
	if err != nil {
		return err
	}
	if string(p[:5]) != "REDIS" {
		return &CorruptError{Offset: 0, Msg: "wrong signature: not an RDB file"}
	}
	v := 0
	for _, c := range p[5:9] {
		if c < '0' || c > '9' {
			return &CorruptError{Offset: 5, Msg: "invalid version " + strconv.Quote(string(p[5:9]))}
		}
		v = v*10 + int(c-'0')
	}
	max := r.MaxVersion
	if max <= 0 {
		max = Version
	}
	if v < 1 || v > max {
		return &VersionError{Version: v, Max: max}
	}
	r.version = v
	return nil
}

// Next returns the next record. The Record itself is reused by the next call;
// the slices and values it holds are not, and may be retained. Keys, short
// strings and collection elements are carved from shared 64 KiB blocks, so a
// retained slice keeps its block alive: copy what you keep if you keep little
// of what you read. At the end of the file Next verifies the checksum and
// returns io.EOF. A *CorruptError, *VersionError or read error
// is final: every later call returns it again. An *UnsupportedError is not:
// the value was skipped and Next may be called again.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		return nil, io.EOF
	}
	rec, err := r.next()
	if err != nil {
		var ue *UnsupportedError
		if !errors.As(err, &ue) {
			r.err = err
		}
		return nil, err
	}
	return rec, nil
}

func (r *Reader) next() (*Record, error) {
	if !r.started {
		r.started = true
		if err := r.readHeader(); err != nil {
			return nil, err
		}
	}
	r.key = nil
	start := r.off()
	var (
		expire  int64
		hasExp  bool
		idle    uint64
		hasIdle bool
		freq    uint8
		hasFreq bool
	)
	for {
		opOff := r.off()
		op, err := r.readByte()
		if err != nil {
			return nil, err
		}
		switch op {
		case opEOF:
			return nil, r.finish()
		case opExpireMs:
			p, err := r.readN(8)
			if err != nil {
				return nil, err
			}
			expire, hasExp = int64(binary.LittleEndian.Uint64(p)), true
			continue
		case opExpire:
			p, err := r.readN(4)
			if err != nil {
				return nil, err
			}
			expire, hasExp = int64(int32(binary.LittleEndian.Uint32(p)))*1000, true
			continue
		case opIdle:
			if idle, err = r.readPlainLen("idle time"); err != nil {
				return nil, err
			}
			hasIdle = true
			continue
		case opFreq:
			if freq, err = r.readByte(); err != nil {
				return nil, err
			}
			hasFreq = true
			continue
		case opSelectDB:
			v, err := r.readPlainLen("database number")
			if err != nil {
				return nil, err
			}
			if v > math.MaxInt32 {
				return nil, r.corrupt(opOff, "database number %d is too large", v)
			}
			r.db = int(v)
			start = r.off()
			continue
		case opResizeDB:
			size, err := r.readPlainLen("resizedb size")
			if err != nil {
				return nil, err
			}
			exp, err := r.readPlainLen("resizedb expires")
			if err != nil {
				return nil, err
			}
			return r.record(Record{Type: RecordResizeDB, Offset: opOff, Entry: Entry{DB: r.db}, DBSize: size, ExpiresSize: exp}), nil
		case opAux:
			k, err := r.readArenaString()
			if err != nil {
				return nil, err
			}
			v, err := r.readArenaString()
			if err != nil {
				return nil, err
			}
			return r.record(Record{Type: RecordAux, Offset: opOff, AuxKey: k, AuxValue: v}), nil
		case opFunction2:
			code, err := r.readNewString()
			if err != nil {
				return nil, err
			}
			return r.record(Record{Type: RecordFunction, Offset: opOff, FunctionCode: code}), nil
		case opFunction:
			code, err := r.readPreGAFunction()
			if err != nil {
				return nil, err
			}
			return r.record(Record{Type: RecordFunction, Offset: opOff, FunctionCode: code}), nil
		case opModuleAux:
			if err := r.skipModuleAux(opOff); err != nil {
				return nil, err
			}
			start = r.off()
			continue
		case opSlotInfo:
			if r.version <= Version {
				return nil, r.corrupt(opOff, "unknown opcode %d", op)
			}
			for i := 0; i < 3; i++ {
				if _, err := r.readPlainLen("slot info"); err != nil {
					return nil, err
				}
			}
			start = r.off()
			continue
		}
		enc := Encoding(op)
		if !enc.Known() {
			if enc == EncModule {
				return nil, r.corrupt(opOff, "module value in the pre-GA format (type 6) cannot be decoded")
			}
			return nil, r.corrupt(opOff, "unknown object type %d", op)
		}
		keyOff := r.off()
		key, err := r.readArenaString()
		if err != nil {
			return nil, err
		}
		r.key, r.keyOff = key, keyOff
		if enc == EncModule2 {
			name, err := r.skipModuleValue(keyOff)
			if err != nil {
				return nil, err
			}
			r.key = nil
			return nil, &UnsupportedError{Offset: opOff, DB: r.db, Key: key, Encoding: enc, Module: name}
		}
		val, err := r.readValue(enc)
		if err != nil {
			return nil, err
		}
		r.key = nil
		r.stats.encodings[enc]++
		if hasExp && expire == 0 {
			expire = 1
		}
		return r.record(Record{
			Type:     RecordKey,
			Offset:   start,
			Encoding: enc,
			Entry: Entry{DB: r.db, Key: key, Value: val, ExpireAt: expire,
				Idle: idle, HasIdle: hasIdle, Freq: freq, HasFreq: hasFreq},
		}), nil
	}
}

// record stores rec in the Reader's reused Record.
func (r *Reader) record(rec Record) *Record {
	r.rec = rec
	return &r.rec
}

// finish handles the EOF opcode: checksum (version >= 5).
func (r *Reader) finish() error {
	if r.version < 5 {
		r.done = true
		return io.EOF
	}
	computed := crc64Update(r.crc, r.buf[r.crcAt:r.r])
	r.crc, r.crcAt = computed, r.r
	off := r.off()
	p, err := r.readN(8)
	if err != nil {
		return err
	}
	stored := binary.LittleEndian.Uint64(p)
	if stored != 0 && stored != computed && !r.IgnoreChecksum {
		return &CorruptError{Offset: off, Err: ErrChecksum,
			Msg: fmt.Sprintf("checksum mismatch: file has %016x, content hashes to %016x", stored, computed)}
	}
	r.done = true
	return io.EOF
}

// readPreGAFunction reads a 7.0-rc1/rc2 FUNCTION record: library name,
// engine name, description flag [+ description], code.
func (r *Reader) readPreGAFunction() ([]byte, error) {
	name, err := r.readNewString()
	if err != nil {
		return nil, err
	}
	engine, err := r.readNewString()
	if err != nil {
		return nil, err
	}
	hasDesc, err := r.readPlainLen("function description flag")
	if err != nil {
		return nil, err
	}
	if hasDesc != 0 {
		if _, err := r.readString(r.scratch[0][:0]); err != nil {
			return nil, err
		}
	}
	code, err := r.readNewString()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(engine)+len(name)+len(code)+10)
	out = append(out, "#!"...)
	out = append(out, engine...)
	out = append(out, " name="...)
	out = append(out, name...)
	out = append(out, '\n')
	return append(out, code...), nil
}

// moduleTypeName decodes a module type ID into its 9-character name
// (module.c moduleTypeNameByID).
func moduleTypeName(id uint64) string {
	const cset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var name [9]byte
	id >>= 10
	for j := 8; j >= 0; j-- {
		name[j] = cset[id&63]
		id >>= 6
	}
	return string(name[:])
}

// skipModuleOpcodes steps over module data serialized in the self-describing
// v2 form (a sequence of <len opcode> <payload> ending with opcode 0).
func (r *Reader) skipModuleOpcodes(name string) error {
	for {
		off := r.off()
		op, err := r.readPlainLen("module opcode")
		if err != nil {
			return err
		}
		switch op {
		case moduleOpEOF:
			return nil
		case moduleOpSInt, moduleOpUInt:
			if _, err := r.readPlainLen("module integer"); err != nil {
				return err
			}
		case moduleOpFloat:
			if _, err := r.readN(4); err != nil {
				return err
			}
		case moduleOpDbl:
			if _, err := r.readN(8); err != nil {
				return err
			}
		case moduleOpStr:
			if _, err := r.readString(r.scratch[0][:0]); err != nil {
				return err
			}
		default:
			return r.corrupt(off, "module %s: unknown module opcode %d", name, op)
		}
	}
}

func (r *Reader) skipModuleValue(off int64) (string, error) {
	id, err := r.readPlainLen("module id")
	if err != nil {
		return "", err
	}
	name := moduleTypeName(id)
	return name, r.skipModuleOpcodes(name)
}

func (r *Reader) skipModuleAux(off int64) error {
	id, err := r.readPlainLen("module id")
	if err != nil {
		return err
	}
	whenOp, err := r.readPlainLen("module aux when opcode")
	if err != nil {
		return err
	}
	if whenOp != moduleOpUInt {
		return r.corrupt(off, "module aux: bad when opcode %d", whenOp)
	}
	if _, err := r.readPlainLen("module aux when"); err != nil {
		return err
	}
	return r.skipModuleOpcodes(moduleTypeName(id))
}
