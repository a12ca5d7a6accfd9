package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Listpack (listpack.c, Redis 7.0):
//
//	<total-bytes u32le> <num-elements u16le> <entry>... <0xFF>
//
// num-elements is 65535 when the count does not fit. Each entry is
//
//	<encoding+data> <backlen>
//
// encoding (first byte):
//
//	0xxxxxxx                 7-bit unsigned int
//	10LLLLLL <L bytes>       string, 6-bit length
//	110xxxxx yyyyyyyy        13-bit signed int (big endian in the two bytes)
//	1110LLLL LLLLLLLL <...>  string, 12-bit length
//	11110000 <u32le> <...>   string, 32-bit length
//	11110001 <2 bytes le>    int16
//	11110010 <3 bytes le>    int24
//	11110011 <4 bytes le>    int32
//	11110100 <8 bytes le>    int64
//	11111111                 end of listpack
//
// backlen is the size of encoding+data in 1..5 bytes, 7 bits per byte, most
// significant group first, every byte but the first with the high bit set,
// so that it can be read right to left.

const (
	lpHeaderSize  = 6
	lpEOF         = 0xFF
	lpUnknownSize = 65535
	// lpSafetySize mirrors LISTPACK_MAX_SAFETY_SIZE: Redis refuses to grow a
	// listpack beyond 1 GiB.
	lpSafetySize = 1 << 30
)

// lpIter walks the entries of a validated-header listpack, validating each.
type lpIter struct {
	lp  []byte
	pos int
	n   int // entries returned so far
}

func lpOpen(lp []byte) (lpIter, int, error) {
	if len(lp) < lpHeaderSize+1 {
		return lpIter{}, 0, fmt.Errorf("listpack: %d bytes is shorter than an empty listpack", len(lp))
	}
	if total := binary.LittleEndian.Uint32(lp); uint64(total) != uint64(len(lp)) {
		return lpIter{}, 0, fmt.Errorf("listpack: header says %d bytes, blob has %d", total, len(lp))
	}
	if lp[len(lp)-1] != lpEOF {
		return lpIter{}, 0, errors.New("listpack: missing terminator")
	}
	count := int(binary.LittleEndian.Uint16(lp[4:]))
	if count == lpUnknownSize {
		count = -1
	}
	return lpIter{lp: lp, pos: lpHeaderSize}, count, nil
}

func (it *lpIter) done() bool { return it.pos >= len(it.lp)-1 }

func (it *lpIter) errf(format string, args ...any) error {
	return fmt.Errorf("listpack: entry %d at byte %d: %s", it.n, it.pos, fmt.Sprintf(format, args...))
}

// next decodes the next entry: either a string (a view into the listpack) or
// an integer.
func (it *lpIter) next() (s []byte, v int64, isInt bool, err error) {
	lp, p := it.lp, it.pos
	end := len(lp) - 1 // the terminator
	if p >= end {
		return nil, 0, false, it.errf("read past the end")
	}
	b := lp[p]
	var hdr, entryLen int // hdr: bytes before a string's data
	switch {
	case b&0x80 == 0:
		entryLen, v, isInt = 1, int64(b&0x7f), true
	case b&0xC0 == 0x80:
		hdr = 1
		entryLen = hdr + int(b&0x3f)
	case b&0xE0 == 0xC0:
		if p+2 > end {
			return nil, 0, false, it.errf("truncated 13-bit int")
		}
		u := uint64(b&0x1f)<<8 | uint64(lp[p+1])
		v = int64(u)
		if u >= 1<<12 {
			v -= 1 << 13
		}
		entryLen, isInt = 2, true
	case b&0xF0 == 0xE0:
		if p+2 > end {
			return nil, 0, false, it.errf("truncated 12-bit length")
		}
		hdr = 2
		entryLen = hdr + (int(b&0x0f)<<8 | int(lp[p+1]))
	case b == 0xF0:
		if p+5 > end {
			return nil, 0, false, it.errf("truncated 32-bit length")
		}
		l := binary.LittleEndian.Uint32(lp[p+1:])
		if uint64(l) > uint64(end-p) {
			return nil, 0, false, it.errf("string length %d overruns the listpack", l)
		}
		hdr = 5
		entryLen = hdr + int(l)
	case b >= 0xF1 && b <= 0xF4:
		w := [...]int{2, 3, 4, 8}[b-0xF1]
		if p+1+w > end {
			return nil, 0, false, it.errf("truncated integer")
		}
		var u uint64
		for i := w - 1; i >= 0; i-- {
			u = u<<8 | uint64(lp[p+1+i])
		}
		shift := uint(64 - 8*w)
		v = int64(u<<shift) >> shift
		entryLen, isInt = 1+w, true
	case b == lpEOF:
		return nil, 0, false, it.errf("terminator before the end of the listpack")
	default:
		return nil, 0, false, it.errf("invalid encoding byte 0x%02x", b)
	}
	if entryLen > end-p {
		return nil, 0, false, it.errf("entry of %d bytes overruns the listpack", entryLen)
	}
	bl := lpBacklenSize(uint64(entryLen))
	if p+entryLen+bl > end {
		return nil, 0, false, it.errf("back-length overruns the listpack")
	}
	if got, ok := lpDecodeBacklen(lp[p+entryLen : p+entryLen+bl]); !ok || got != uint64(entryLen) {
		return nil, 0, false, it.errf("back-length does not match entry size %d", entryLen)
	}
	if !isInt {
		s = lp[p+hdr : p+entryLen]
	}
	it.pos = p + entryLen + bl
	it.n++
	return s, v, isInt, nil
}

// nextInt decodes the next entry as an integer; a string entry must hold a
// canonical decimal integer (lpGetIntegerIfValid).
func (it *lpIter) nextInt() (int64, error) {
	s, v, isInt, err := it.next()
	if err != nil {
		return 0, err
	}
	if isInt {
		return v, nil
	}
	v, ok := parseCanonicalInt(s)
	if !ok {
		return 0, fmt.Errorf("listpack: entry %d is not an integer", it.n-1)
	}
	return v, nil
}

// finish checks that the walk ended on the terminator and the header count
// (if known) matches.
func (it *lpIter) finish(count int) error {
	if !it.done() {
		return errors.New("listpack: trailing entries")
	}
	if count >= 0 && count != it.n {
		return fmt.Errorf("listpack: header counts %d entries, found %d", count, it.n)
	}
	return nil
}

func lpBacklenSize(l uint64) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

func lpDecodeBacklen(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 5 || b[0]&0x80 != 0 {
		return 0, false
	}
	v := uint64(b[0])
	for _, c := range b[1:] {
		if c&0x80 == 0 {
			return 0, false
		}
		v = v<<7 | uint64(c&0x7f)
	}
	return v, true
}

func lpAppendBacklen(dst []byte, l uint64) []byte {
	n := lpBacklenSize(l)
	for i := n - 1; i >= 0; i-- {
		c := byte(l >> (7 * uint(i)) & 0x7f)
		if i != n-1 {
			c |= 0x80
		}
		dst = append(dst, c)
	}
	return dst
}

// lpEntrySize is the encoded size of s as lpAppend would store it.
func lpEntrySize(s []byte) int {
	var l int
	if v, ok := parseCanonicalInt(s); ok {
		l = lpIntSize(v)
	} else {
		l = lpStrHeaderSize(len(s)) + len(s)
	}
	return l + lpBacklenSize(uint64(l))
}

func lpStrHeaderSize(n int) int {
	switch {
	case n < 64:
		return 1
	case n < 4096:
		return 2
	}
	return 5
}

func lpIntSize(v int64) int {
	switch {
	case v >= 0 && v <= 127:
		return 1
	case v >= -4096 && v <= 4095:
		return 2
	case v >= -32768 && v <= 32767:
		return 3
	case v >= -8388608 && v <= 8388607:
		return 4
	case v >= -2147483648 && v <= 2147483647:
		return 5
	}
	return 9
}

// lpAppendString appends s as an entry, integer-encoded when s is a canonical
// decimal integer, as lpAppend does.
func lpAppendString(lp, s []byte) []byte {
	if v, ok := parseCanonicalInt(s); ok {
		return lpAppendInt(lp, v)
	}
	n := len(s)
	start := len(lp)
	switch {
	case n < 64:
		lp = append(lp, 0x80|byte(n))
	case n < 4096:
		lp = append(lp, 0xE0|byte(n>>8), byte(n))
	default:
		lp = append(lp, 0xF0, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	}
	lp = append(lp, s...)
	return lpAppendBacklen(lp, uint64(len(lp)-start))
}

// lpAppendInt appends v as an integer entry in the smallest encoding.
func lpAppendInt(lp []byte, v int64) []byte {
	start := len(lp)
	switch {
	case v >= 0 && v <= 127:
		lp = append(lp, byte(v))
	case v >= -4096 && v <= 4095:
		u := uint64(v) & (1<<13 - 1)
		lp = append(lp, 0xC0|byte(u>>8), byte(u))
	default:
		var w int
		var enc byte
		switch {
		case v >= -32768 && v <= 32767:
			w, enc = 2, 0xF1
		case v >= -8388608 && v <= 8388607:
			w, enc = 3, 0xF2
		case v >= -2147483648 && v <= 2147483647:
			w, enc = 4, 0xF3
		default:
			w, enc = 8, 0xF4
		}
		lp = append(lp, enc)
		u := uint64(v)
		for i := 0; i < w; i++ {
			lp = append(lp, byte(u>>(8*uint(i))))
		}
	}
	return lpAppendBacklen(lp, uint64(len(lp)-start))
}

// lpStart begins a listpack in dst (reusing its storage).
func lpStart(dst []byte) []byte {
	return append(dst[:0], 0, 0, 0, 0, 0, 0)
}

// lpFinish terminates a listpack begun by lpStart holding count entries.
func lpFinish(lp []byte, count int) []byte {
	lp = append(lp, lpEOF)
	binary.LittleEndian.PutUint32(lp, uint32(len(lp)))
	if count >= lpUnknownSize {
		count = lpUnknownSize
	}
	binary.LittleEndian.PutUint16(lp[4:], uint16(count))
	return lp
}

// parseCanonicalInt parses s when it is the canonical decimal form of an
// int64 (no sign but a leading '-', no leading zeros, no "-0"), as Redis's
// string2ll / lpStringToInt64 accept it.
func parseCanonicalInt(s []byte) (int64, bool) {
	n := len(s)
	if n == 0 || n > 20 {
		return 0, false
	}
	if n == 1 && s[0] == '0' {
		return 0, true
	}
	i := 0
	neg := false
	if s[0] == '-' {
		neg = true
		i = 1
		if n == 1 {
			return 0, false
		}
	}
	if s[i] < '1' || s[i] > '9' {
		return 0, false
	}
	var u uint64
	for ; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (1<<64-1)/10 {
			return 0, false
		}
		u *= 10
		d := uint64(c - '0')
		if u > 1<<64-1-d {
			return 0, false
		}
		u += d
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// formatInt is strconv.AppendInt base 10.
func appendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }
