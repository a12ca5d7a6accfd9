package ds

// Entries of the packed encodings are length-prefixed with unsigned
// varints (the encoding/binary format); List entries also end in a
// "backlen", the entry's length written so it can be read from its last
// byte backwards, which is what lets a listpack be walked in both
// directions without an index.

// uvarintLen returns the encoded size of x.
func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// putUvarint writes x at the start of b and returns the bytes written.
func putUvarint(b []byte, x uint64) int {
	i := 0
	for x >= 0x80 {
		b[i] = byte(x) | 0x80
		x >>= 7
		i++
	}
	b[i] = byte(x)
	return i + 1
}

// getUvarint decodes a varint written by putUvarint. The input is always
// our own encoding, so malformed data is a broken invariant.
func getUvarint(b []byte) (uint64, int) {
	if b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	var x uint64
	var s uint
	for i, c := range b {
		if c < 0x80 {
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	panic("ds: truncated varint")
}

// backlenLen returns the size of x written as a backlen.
func backlenLen(x int) int { return uvarintLen(uint64(x)) }

// putBacklen writes x into b[:backlenLen(x)] so that getBacklen can read it
// starting from the last byte: the least significant group comes last and
// every group but the most significant carries the continuation bit.
func putBacklen(b []byte, x int) {
	n := backlenLen(x)
	v := uint64(x)
	for i := n - 1; i >= 0; i-- {
		c := byte(v & 0x7f)
		if i > 0 {
			c |= 0x80
		}
		b[i] = c
		v >>= 7
	}
}

// getBacklen reads the backlen that ends just before end and returns its
// value and size.
func getBacklen(b []byte, end int) (int, int) {
	var x uint64
	var s uint
	n := 0
	for {
		c := b[end-1-n]
		n++
		x |= uint64(c&0x7f) << s
		s += 7
		if c&0x80 == 0 {
			return int(x), n
		}
	}
}
