package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Intset (intset.c):
//
//	<encoding u32le: 2, 4 or 8> <length u32le> <length integers, each
//	 encoding bytes, little endian, strictly ascending>
//
// The encoding is the width of the widest member.

func intsetDecode(b []byte, each func(v int64)) error {
	if len(b) < 8 {
		return fmt.Errorf("intset: %d bytes is shorter than the header", len(b))
	}
	enc := binary.LittleEndian.Uint32(b)
	if enc != 2 && enc != 4 && enc != 8 {
		return fmt.Errorf("intset: invalid encoding %d", enc)
	}
	n := uint64(binary.LittleEndian.Uint32(b[4:]))
	if 8+n*uint64(enc) != uint64(len(b)) {
		return fmt.Errorf("intset: %d members of %d bytes do not fill %d bytes", n, enc, len(b))
	}
	if n == 0 {
		return errors.New("intset: empty")
	}
	var prev int64
	for i := 0; i < int(n); i++ {
		p := b[8+i*int(enc):]
		var v int64
		switch enc {
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(p)))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(p)))
		default:
			v = int64(binary.LittleEndian.Uint64(p))
		}
		if i > 0 && v <= prev {
			return fmt.Errorf("intset: member %d is not greater than the previous one", i)
		}
		prev = v
		each(v)
	}
	return nil
}

// intsetAppend appends the intset of vals (which it sorts) to dst; it fails
// on duplicates.
func intsetAppend(dst []byte, vals []int64) ([]byte, error) {
	slices.Sort(vals)
	enc := 2
	for i, v := range vals {
		if i > 0 && v == vals[i-1] {
			return dst, errors.New("rdb: duplicate set member")
		}
		switch {
		case v < -2147483648 || v > 2147483647:
			enc = 8
		case (v < -32768 || v > 32767) && enc < 4:
			enc = 4
		}
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(enc))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(vals)))
	for _, v := range vals {
		switch enc {
		case 2:
			dst = binary.LittleEndian.AppendUint16(dst, uint16(v))
		case 4:
			dst = binary.LittleEndian.AppendUint32(dst, uint32(v))
		default:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
		}
	}
	return dst, nil
}
