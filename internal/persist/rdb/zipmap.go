package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Zipmap (zipmap.c, Redis < 2.6 hashes; read only here):
//
//	<zmlen u8> (<len> <field> <len> <free u8> <value> <free bytes>)... <0xFF>
//
// zmlen is the pair count, 254 meaning "count them". Each <len> is one byte
// when < 254, else 0xFE followed by a u32le.

func zipmapDecode(b []byte, each func(field, value []byte)) error {
	if len(b) < 2 {
		return fmt.Errorf("zipmap: %d bytes is shorter than an empty zipmap", len(b))
	}
	end := len(b) - 1
	if b[end] != 0xFF {
		return errors.New("zipmap: missing terminator")
	}
	zmlen := int(b[0])
	p := 1
	readLen := func() (int, error) {
		if p >= end {
			return 0, fmt.Errorf("zipmap: truncated length at byte %d", p)
		}
		c := b[p]
		switch {
		case c < 254:
			p++
			return int(c), nil
		case c == 254:
			if p+5 > end {
				return 0, fmt.Errorf("zipmap: truncated length at byte %d", p)
			}
			l := binary.LittleEndian.Uint32(b[p+1:])
			p += 5
			if uint64(l) > uint64(end-p) {
				return 0, fmt.Errorf("zipmap: length %d overruns the zipmap", l)
			}
			return int(l), nil
		}
		return 0, fmt.Errorf("zipmap: unexpected terminator at byte %d", p)
	}
	pairs := 0
	for p < end {
		fl, err := readLen()
		if err != nil {
			return err
		}
		if fl > end-p {
			return fmt.Errorf("zipmap: field overruns the zipmap at byte %d", p)
		}
		field := b[p : p+fl]
		p += fl
		vl, err := readLen()
		if err != nil {
			return err
		}
		if p >= end {
			return fmt.Errorf("zipmap: truncated free byte at %d", p)
		}
		free := int(b[p])
		p++
		if vl > end-p || free > end-p-vl {
			return fmt.Errorf("zipmap: value overruns the zipmap at byte %d", p)
		}
		value := b[p : p+vl]
		p += vl + free
		each(field, value)
		pairs++
	}
	if zmlen < 254 && zmlen != pairs {
		return fmt.Errorf("zipmap: header counts %d pairs, found %d", zmlen, pairs)
	}
	return nil
}
