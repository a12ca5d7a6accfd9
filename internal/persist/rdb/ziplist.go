package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Ziplist (ziplist.c, Redis 2.6 .. 6.2; read only here):
//
//	<zlbytes u32le> <zltail u32le> <zllen u16le> <entry>... <0xFF>
//
// zltail is the offset of the last entry (10 when empty); zllen is 65535 when
// the count does not fit. Each entry is
//
//	<prevlen> <encoding> <data>
//
// prevlen is the previous entry's size: one byte when < 254, else 0xFE and a
// u32le. encoding:
//
//	00LLLLLL                      string, 6-bit length
//	01LLLLLL LLLLLLLL             string, 14-bit length (big endian)
//	10______ <u32be>              string, 32-bit length
//	11000000 <2 bytes le>         int16
//	11010000 <4 bytes le>         int32
//	11100000 <8 bytes le>         int64
//	11110000 <3 bytes le>         int24
//	11111110 <1 byte>             int8
//	1111xxxx                      immediate 0..12 (xxxx-1), xxxx in 1..13
//	11111111                      end of ziplist

const zlHeaderSize = 10

type zlIter struct {
	zl       []byte
	pos      int
	n        int
	prevSize int
	lastPos  int
}

func zlOpen(zl []byte) (zlIter, int, error) {
	if len(zl) < zlHeaderSize+1 {
		return zlIter{}, 0, fmt.Errorf("ziplist: %d bytes is shorter than an empty ziplist", len(zl))
	}
	if total := binary.LittleEndian.Uint32(zl); uint64(total) != uint64(len(zl)) {
		return zlIter{}, 0, fmt.Errorf("ziplist: header says %d bytes, blob has %d", total, len(zl))
	}
	if zl[len(zl)-1] != 0xFF {
		return zlIter{}, 0, errors.New("ziplist: missing terminator")
	}
	count := int(binary.LittleEndian.Uint16(zl[8:]))
	if count == 0xFFFF {
		count = -1
	}
	return zlIter{zl: zl, pos: zlHeaderSize, lastPos: zlHeaderSize}, count, nil
}

func (it *zlIter) done() bool { return it.pos >= len(it.zl)-1 }

func (it *zlIter) errf(format string, args ...any) error {
	return fmt.Errorf("ziplist: entry %d at byte %d: %s", it.n, it.pos, fmt.Sprintf(format, args...))
}

func (it *zlIter) next() (s []byte, v int64, isInt bool, err error) {
	zl, p := it.zl, it.pos
	end := len(zl) - 1
	if p >= end {
		return nil, 0, false, it.errf("read past the end")
	}
	q := p
	var prev int
	if zl[q] < 0xFE {
		prev = int(zl[q])
		q++
	} else if zl[q] == 0xFE {
		if q+5 > end {
			return nil, 0, false, it.errf("truncated prevlen")
		}
		prev = int(binary.LittleEndian.Uint32(zl[q+1:]))
		q += 5
	} else {
		return nil, 0, false, it.errf("terminator before the end of the ziplist")
	}
	if prev != it.prevSize {
		return nil, 0, false, it.errf("prevlen %d does not match previous entry size %d", prev, it.prevSize)
	}
	if q >= end {
		return nil, 0, false, it.errf("truncated entry")
	}
	b := zl[q]
	var dataStart, dataLen int
	switch b >> 6 {
	case 0:
		dataStart, dataLen = q+1, int(b&0x3f)
	case 1:
		if q+2 > end {
			return nil, 0, false, it.errf("truncated 14-bit length")
		}
		dataStart, dataLen = q+2, int(b&0x3f)<<8|int(zl[q+1])
	case 2:
		if q+5 > end {
			return nil, 0, false, it.errf("truncated 32-bit length")
		}
		l := binary.BigEndian.Uint32(zl[q+1:])
		if uint64(l) > uint64(end) {
			return nil, 0, false, it.errf("string length %d overruns the ziplist", l)
		}
		dataStart, dataLen = q+5, int(l)
	default:
		isInt = true
		w := 0
		switch {
		case b == 0xC0:
			w = 2
		case b == 0xD0:
			w = 4
		case b == 0xE0:
			w = 8
		case b == 0xF0:
			w = 3
		case b == 0xFE:
			w = 1
		case b >= 0xF1 && b <= 0xFD:
			v = int64(b&0x0f) - 1
		case b == 0xFF:
			return nil, 0, false, it.errf("terminator in place of an encoding")
		default:
			return nil, 0, false, it.errf("invalid encoding byte 0x%02x", b)
		}
		dataStart, dataLen = q+1, w
		if w > 0 {
			if dataStart+w > end {
				return nil, 0, false, it.errf("truncated integer")
			}
			var u uint64
			for i := w - 1; i >= 0; i-- {
				u = u<<8 | uint64(zl[dataStart+i])
			}
			shift := uint(64 - 8*w)
			v = int64(u<<shift) >> shift
		}
	}
	if dataLen > end-dataStart {
		return nil, 0, false, it.errf("entry overruns the ziplist")
	}
	if !isInt {
		s = zl[dataStart : dataStart+dataLen]
	}
	it.lastPos = p
	it.pos = dataStart + dataLen
	it.prevSize = it.pos - p
	it.n++
	return s, v, isInt, nil
}

func (it *zlIter) finish(count int) error {
	if !it.done() {
		return errors.New("ziplist: trailing entries")
	}
	if count >= 0 && count != it.n {
		return fmt.Errorf("ziplist: header counts %d entries, found %d", count, it.n)
	}
	if tail := int(binary.LittleEndian.Uint32(it.zl[4:])); tail != it.lastPos {
		return fmt.Errorf("ziplist: tail offset %d does not point at the last entry (%d)", tail, it.lastPos)
	}
	return nil
}
