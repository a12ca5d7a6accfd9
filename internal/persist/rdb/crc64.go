package rdb

import (
	"encoding/binary"
	"math/bits"
)

// CRC-64 as Redis computes it (crc64.c): the "Jones" polynomial
// 0xad93d23594c935a9, reflected input and output, initial value 0, no final
// xor. Check value: CRC64("123456789") = 0xe9c6d914c4b8d9ca. hash/crc64 can't
// be used as is: it inverts the register before and after each update.
//
// The table is processed eight bytes at a time ("slicing-by-8"), as Redis's
// crcspeed does, because checksumming is on the load path of every byte.

const crc64JonesPoly = 0xad93d23594c935a9

var crc64Tables = makeCRC64Tables()

func makeCRC64Tables() *[8][256]uint64 {
	t := new([8][256]uint64)
	rev := bits.Reverse64(crc64JonesPoly)
	for i := 0; i < 256; i++ {
		crc := uint64(i)
		for j := 0; j < 8; j++ {
			if crc&1 == 1 {
				crc = crc>>1 ^ rev
			} else {
				crc >>= 1
			}
		}
		t[0][i] = crc
	}
	for i := 0; i < 256; i++ {
		crc := t[0][i]
		for k := 1; k < 8; k++ {
			crc = t[0][crc&0xff] ^ crc>>8
			t[k][i] = crc
		}
	}
	return t
}

// crc64Update folds p into crc.
func crc64Update(crc uint64, p []byte) uint64 {
	t := crc64Tables
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}

// CRC64 returns the Redis CRC-64 of p.
func CRC64(p []byte) uint64 { return crc64Update(0, p) }
