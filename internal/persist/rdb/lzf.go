package rdb

import (
	"errors"
	"math/bits"
)

// LZF (liblzf 3.x, as bundled with Redis) is a byte-oriented LZ77 variant.
// The compressed stream is a sequence of:
//
//	literal run:  000LLLLL <L+1 bytes>                 (1..32 bytes)
//	short backref: LLLooooo oooooooo                    (len L+2, L in 1..6)
//	long backref:  111ooooo LLLLLLLL oooooooo           (len L+9, L in 0..255)
//
// where the 13-bit o is the distance back minus one (1..8192). A back
// reference may overlap the bytes it produces. There is no header; RDB stores
// the compressed and uncompressed lengths around it.

const (
	lzfHashLog = 14
	lzfMaxLit  = 1 << 5
	lzfMaxOff  = 1 << 13
	lzfMaxRef  = 1<<8 + 1<<3 // 264: 7 + 255 + 2
	// lzfMaxRatio bounds uncompressed/compressed: a 3-byte back reference
	// yields at most lzfMaxRef bytes.
	lzfMaxRatio = (lzfMaxRef + 2) / 3
)

var (
	errLZFCorrupt = errors.New("lzf: invalid back reference or truncated data")
	errLZFSize    = errors.New("lzf: data does not decompress to the stated length")
)

// lzfDecompress decompresses src into dst, which must be exactly the
// uncompressed length.
func lzfDecompress(dst, src []byte) error {
	ip, op := 0, 0
	for ip < len(src) {
		ctrl := int(src[ip])
		ip++
		if ctrl < lzfMaxLit {
			n := ctrl + 1
			if ip+n > len(src) || op+n > len(dst) {
				return errLZFCorrupt
			}
			copy(dst[op:op+n], src[ip:ip+n])
			ip += n
			op += n
			continue
		}
		n := ctrl >> 5
		if n == 7 {
			if ip >= len(src) {
				return errLZFCorrupt
			}
			n += int(src[ip])
			ip++
		}
		if ip >= len(src) {
			return errLZFCorrupt
		}
		ref := op - (ctrl&0x1f)<<8 - int(src[ip]) - 1
		ip++
		n += 2
		if ref < 0 || op+n > len(dst) {
			return errLZFCorrupt
		}
		if op-ref >= n {
			copy(dst[op:op+n], dst[ref:ref+n])
			op += n
		} else {
			for i := 0; i < n; i++ {
				dst[op] = dst[ref]
				op++
				ref++
			}
		}
	}
	if op != len(dst) {
		return errLZFSize
	}
	return nil
}

func lzfHash(p []byte, i int, shift uint) uint32 {
	v := uint32(p[i])<<16 | uint32(p[i+1])<<8 | uint32(p[i+2])
	return (v * 2654435761) >> shift
}

// lzfCompress compresses src into dst and returns the compressed length, or
// 0 when the output does not fit in len(dst) (then dst holds garbage). htab
// is scratch space, reused across calls; only a part sized to src is used,
// so that compressing a short string does not clear the whole table.
func lzfCompress(dst, src []byte, htab *[1 << lzfHashLog]int32) int {
	if len(src) == 0 || len(dst) == 0 {
		return 0
	}
	hlog := uint(bits.Len(uint(len(src))))
	hlog = max(8, min(hlog, lzfHashLog))
	shift := 32 - hlog
	tab := htab[:1<<hlog]
	for i := range tab {
		tab[i] = -1
	}
	n := len(src)
	op := 1 // dst[op-lit-1] is the control byte of the current literal run
	lit := 0
	ip := 0
	for ip < n {
		if ip+2 < n {
			h := lzfHash(src, ip, shift)
			ref := int(tab[h])
			tab[h] = int32(ip)
			if ref >= 0 && ip-ref <= lzfMaxOff &&
				src[ref] == src[ip] && src[ref+1] == src[ip+1] && src[ref+2] == src[ip+2] {
				maxLen := n - ip
				if maxLen > lzfMaxRef {
					maxLen = lzfMaxRef
				}
				l := 3
				for l < maxLen && src[ref+l] == src[ip+l] {
					l++
				}
				// Close the pending literal run, or drop its unused control byte.
				if lit > 0 {
					dst[op-lit-1] = byte(lit - 1)
				} else {
					op--
				}
				off := ip - ref - 1
				enc := l - 2
				if enc < 7 {
					if op+2 > len(dst) {
						return 0
					}
					dst[op] = byte(enc<<5 | off>>8)
					op++
				} else {
					if op+3 > len(dst) {
						return 0
					}
					dst[op] = byte(7<<5 | off>>8)
					dst[op+1] = byte(enc - 7)
					op += 2
				}
				dst[op] = byte(off)
				op++
				// Index the positions inside the match for later references.
				end := ip + l
				for p := ip + 1; p < end && p+2 < n; p++ {
					tab[lzfHash(src, p, shift)] = int32(p)
				}
				ip = end
				lit = 0
				if op >= len(dst) {
					if ip == n {
						return op
					}
					return 0
				}
				op++ // control byte of the next literal run
				continue
			}
		}
		if op >= len(dst) {
			return 0
		}
		dst[op] = src[ip]
		op++
		ip++
		lit++
		if lit == lzfMaxLit {
			dst[op-lit-1] = byte(lit - 1)
			lit = 0
			if ip < n {
				if op >= len(dst) {
					return 0
				}
				op++
			} else {
				return op
			}
		}
	}
	if lit > 0 {
		dst[op-lit-1] = byte(lit - 1)
	} else {
		op--
	}
	return op
}
