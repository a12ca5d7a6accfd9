package redis

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"math"
	"math/bits"

	"ferry/internal/keyspace"
)

// Bit commands (Redis "bitmap" group: SETBIT, GETBIT, BITCOUNT, BITPOS,
// BITOP, BITFIELD, BITFIELD_RO) and LCS, after Redis 7.0's bitops.c and
// t_string.c. A bitmap is a plain string value; bit 0 is the most
// significant bit of byte 0, and a string reads as zero bits past its end.

var _ = registerCommands(
	cmd("setbit", cmdSetBit),
	cmd("getbit", cmdGetBit),
	cmd("bitcount", cmdBitCount),
	cmd("bitpos", cmdBitPos),
	cmd("bitop", cmdBitOp),
	cmd("bitfield", func(c *Conn, a [][]byte) { c.bitfield(a, false) }),
	cmd("bitfield_ro", func(c *Conn, a [][]byte) { c.bitfield(a, true) }),
	cmd("lcs", cmdLCS),
)

// Error replies only this family gives, worded exactly as Redis 7.0's.
const (
	errBitPosBit    = "ERR The bit argument must be 1 or 0."
	errBitOpNot     = "ERR BITOP NOT must be called with a single source key."
	errBitfieldType = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
	errBitfieldOvf  = "ERR Invalid OVERFLOW type specified"
	errBitfieldRO   = "ERR BITFIELD_RO only supports the GET subcommand"
	errLCSType      = "ERR The specified keys must contain string values"
	errLCSLenIdx    = "ERR If you want both the length and indexes, please just use IDX."
	errLCSTooLong   = "ERR String too long for LCS"
	errLCSMemory    = "ERR Insufficient memory, failed allocating transient memory for LCS"
)

const (
	// lcsMaxCells bounds LCS's table: (|a|+1)×(|b|+1) cells, one bit each
	// here, so 256 MB at most (see cmdLCS).
	lcsMaxCells = 1 << 31
	// bitfieldInline is how many BITFIELD operations parse without
	// allocating.
	bitfieldInline = 8
)

// bitOffset parses a bit offset as Redis's getBitOffsetFromArgument: with
// width > 0 (BITFIELD) a leading '#' multiplies the offset by the width,
// wrapping as C's long long does. The offset's byte must lie below
// proto-max-bulk-len.
func (c *Conn) bitOffset(b []byte, width int) (int64, bool) {
	hash := width > 0 && len(b) > 0 && b[0] == '#'
	if hash {
		b = b[1:]
	}
	n, ok := parseInt(b)
	if hash {
		n *= int64(width)
	}
	if !ok || n < 0 || n>>3 >= c.srv.maxStringSize() {
		c.out.Error(errBitOffset)
		return 0, false
	}
	return n, true
}

// bitsFor returns e's value for a bit write that reaches byte need-1. When
// the value is long enough it is the entry's own bytes, to read freely but
// to change only through writableValue; otherwise (grown) it is a new
// zero-padded value to change at will, then install with storeBits (the
// entry's own, already grown, or a new buffer when e is nil for a missing key).
func bitsFor(t *keyspace.Txn, e *keyspace.Entry, need int64) (v []byte, grown bool) {
	if e == nil {
		return make([]byte, need), true
	}
	if v = e.Value(); int64(len(v)) >= need {
		return v, false
	}
	// Grown in place with spare room, so a bitmap set bit by bit past its
	// end costs linear time; storeBits has nothing left to do for it.
	return t.GrowValue(e, int(need)), true
}

// writableValue returns e's value for changing in place, and marks the key
// modified, so call it only for a real change. SetValue with the entry's
// own bytes moves none, unless a snapshot reads them: then the entry gets a
// fresh copy and the snapshot keeps the old bytes. Either way a SETBIT on a
// large bitmap costs no copy of it.
func writableValue(t *keyspace.Txn, e *keyspace.Entry) []byte {
	t.SetValue(e, e.Value())
	markString(t, e, markRaw)
	return e.Value()
}

// storeBits installs v, a grown value from bitsFor, as key's value. An
// existing entry keeps its TTL.
func storeBits(t *keyspace.Txn, key []byte, e *keyspace.Entry, v []byte) {
	if e == nil {
		e = t.SetString(key, v, 0, 0)
	}
	markString(t, e, markRaw)
}

// SETBIT key offset value
//
// As Redis 7.0.15, a SETBIT that neither grows the string nor flips the bit
// changes nothing: no WATCH invalidation, no notification, nothing logged.
func cmdSetBit(c *Conn, args [][]byte) {
	off, ok := c.bitOffset(args[2], 0)
	if !ok {
		return
	}
	on, ok := parseInt(args[3])
	if !ok || on&^1 != 0 {
		c.out.Error(errBitValue)
		return
	}
	key := args[1]
	t := c.lock(key)
	defer c.unlock(t)
	e := t.Peek(key)
	if c.wrongType(e, keyspace.TypeString) {
		return
	}
	v, grown := bitsFor(t, e, off>>3+1)
	i, shift := off>>3, 7-uint(off&7)
	old := int64(v[i]>>shift) & 1
	if !grown && old == on {
		markString(t, e, markRaw) // Redis unshares (makes raw) before looking
		c.out.Int(old)
		return
	}
	if !grown {
		v = writableValue(t, e)
	}
	v[i] = v[i]&^(1<<shift) | byte(on)<<shift
	if grown {
		storeBits(t, key, e, v)
	}
	c.notify(notifyString, "setbit", key)
	c.out.Int(old)
}

// GETBIT key offset
func cmdGetBit(c *Conn, args [][]byte) {
	off, ok := c.bitOffset(args[2], 0)
	if !ok {
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	e, ok := c.lookupString(t, args[1])
	if !ok {
		return
	}
	bit := int64(0)
	if e != nil {
		if v := e.Value(); off>>3 < int64(len(v)) {
			bit = int64(v[off>>3]>>(7-off&7)) & 1
		}
	}
	c.out.Int(bit)
}

// bitUnit parses BITCOUNT's and BITPOS's BYTE|BIT argument, reporting
// whether it is BIT.
func (c *Conn) bitUnit(b []byte) (isBit, ok bool) {
	switch {
	case equalFold(b, "bit"):
		return true, true
	case equalFold(b, "byte"):
		return false, true
	}
	c.out.Error(errSyntax)
	return false, false
}

// clampRange turns start and end, counted from the end when negative, into
// indexes of a string of n units (bytes or bits), as BITCOUNT and BITPOS
// do. The range is empty when start > end.
func clampRange(start, end, n int64) (int64, int64) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start = max(start, 0)
	end = max(end, 0)
	if end >= n {
		end = n - 1
	}
	return start, end
}

// BITCOUNT key [start end [BYTE|BIT]]
//
// As in Redis 7.0 the key is looked up before the range is parsed, so a
// missing key counts 0 whatever the arguments.
func cmdBitCount(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	e, ok := c.lookupString(t, args[1])
	if !ok {
		return
	}
	if e == nil {
		c.out.Int(0)
		return
	}
	v := e.Value()
	if len(args) == 2 {
		c.out.Int(popcount(v))
		return
	}
	if len(args) != 4 && len(args) != 5 {
		c.out.Error(errSyntax)
		return
	}
	start, ok := c.intArg(args[2])
	if !ok {
		return
	}
	end, ok := c.intArg(args[3])
	if !ok {
		return
	}
	if start < 0 && end < 0 && start > end {
		c.out.Int(0)
		return
	}
	isBit := false
	if len(args) == 5 {
		if isBit, ok = c.bitUnit(args[4]); !ok {
			return
		}
	}
	n := int64(len(v))
	if isBit {
		n *= 8
	}
	start, end = clampRange(start, end, n)
	switch {
	case start > end:
		c.out.Int(0)
	case !isBit:
		c.out.Int(popcount(v[start : end+1]))
	default:
		first, last := start>>3, end>>3
		cnt := popcount(v[first : last+1])
		cnt -= int64(bits.OnesCount8(v[first] &^ (0xff >> (start & 7))))
		cnt -= int64(bits.OnesCount8(v[last] & (0x7f >> (end & 7))))
		c.out.Int(cnt)
	}
}

// popcount counts the set bits of b a word at a time, with four
// independent sums so the POPCNTs can overlap.
func popcount(b []byte) int64 {
	var n0, n1, n2, n3 int
	for len(b) >= 32 {
		n0 += bits.OnesCount64(binary.LittleEndian.Uint64(b))
		n1 += bits.OnesCount64(binary.LittleEndian.Uint64(b[8:]))
		n2 += bits.OnesCount64(binary.LittleEndian.Uint64(b[16:]))
		n3 += bits.OnesCount64(binary.LittleEndian.Uint64(b[24:]))
		b = b[32:]
	}
	for len(b) >= 8 {
		n0 += bits.OnesCount64(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	for _, x := range b {
		n1 += bits.OnesCount8(x)
	}
	return int64(n0 + n1 + n2 + n3)
}

// BITPOS key bit [start [end [BYTE|BIT]]]
//
// Redis's rules: a missing key is all zeros (0 for bit 0, -1 for bit 1,
// before the range is parsed); an empty range gives -1; looking for a 0
// without an explicit end treats the string as zero-padded on the right, so
// an all-ones string answers its length in bits, while with an explicit end
// it answers -1.
func cmdBitPos(c *Conn, args [][]byte) {
	bit, ok := c.intArg(args[2])
	if !ok {
		return
	}
	if bit != 0 && bit != 1 {
		c.out.Error(errBitPosBit)
		return
	}
	t := c.lock(args[1])
	defer c.unlock(t)
	e, ok := c.lookupString(t, args[1])
	if !ok {
		return
	}
	if e == nil {
		c.out.Int(-bit)
		return
	}
	v := e.Value()
	n := int64(len(v))
	start, end := int64(0), n-1
	isBit, endGiven := false, false
	switch len(args) {
	case 3:
	case 4, 5, 6:
		if start, ok = c.intArg(args[3]); !ok {
			return
		}
		if len(args) == 6 {
			if isBit, ok = c.bitUnit(args[5]); !ok {
				return
			}
		}
		if len(args) >= 5 {
			if end, ok = c.intArg(args[4]); !ok {
				return
			}
			endGiven = true
		}
		if isBit {
			n *= 8
		}
		start, end = clampRange(start, end, n)
	default:
		c.out.Error(errSyntax)
		return
	}
	if start > end {
		c.out.Int(-1)
		return
	}
	if !isBit {
		start, end = start*8, end*8+7
	}
	pos := firstBit(v, start, end, bit == 1)
	if pos < 0 && bit == 0 && !endGiven {
		pos = end + 1
	}
	c.out.Int(pos)
}

// firstBit returns the position of the first bit of v equal to set within
// bit positions [from, to], or -1. Inner bytes are skipped a block at a time
// (bytes.Equal runs at memory speed), then a word at a time.
func firstBit(v []byte, from, to int64, set bool) int64 {
	skip, block := byte(0), zeroBlock[:]
	if !set {
		skip, block = 0xff, onesBlock[:]
	}
	skip64 := uint64(skip) * 0x0101010101010101
	first, last := from>>3, to>>3
	x := (v[first] ^ skip) & (0xff >> (from & 7))
	if first == last {
		x &= 0xff << (7 - to&7)
	}
	if x != 0 {
		return first*8 + int64(bits.LeadingZeros8(x))
	}
	if first == last {
		return -1
	}
	mid := v[first+1 : last]
	k := 0
	for k+len(block) <= len(mid) && bytes.Equal(mid[k:k+len(block)], block) {
		k += len(block)
	}
	for ; k+8 <= len(mid); k += 8 {
		if w := binary.BigEndian.Uint64(mid[k:]) ^ skip64; w != 0 {
			return (first+1+int64(k))*8 + int64(bits.LeadingZeros64(w))
		}
	}
	for ; k < len(mid); k++ {
		if x := mid[k] ^ skip; x != 0 {
			return (first+1+int64(k))*8 + int64(bits.LeadingZeros8(x))
		}
	}
	if x := (v[last] ^ skip) & (0xff << (7 - to&7)); x != 0 {
		return last*8 + int64(bits.LeadingZeros8(x))
	}
	return -1
}

// zeroBlock and onesBlock are what BITPOS skips when it looks for a 1 or a 0.
var zeroBlock, onesBlock = [1024]byte{}, func() (b [1024]byte) {
	for i := range b {
		b[i] = 0xff
	}
	return b
}()

// BITOP AND|OR|XOR|NOT destkey key [key ...]
//
// Missing keys are strings of zero bytes; the result is as long as the
// longest source. An empty result deletes destkey. The reply is its length.
func cmdBitOp(c *Conn, args [][]byte) {
	op := args[1]
	not := equalFold(op, "not")
	if !not && !equalFold(op, "and") && !equalFold(op, "or") && !equalFold(op, "xor") {
		c.out.Error(errSyntax)
		return
	}
	if not && len(args) != 4 {
		c.out.Error(errBitOpNot)
		return
	}
	dst, keys := args[2], args[3:]
	t := c.lockKeys(args[2:])
	defer c.unlock(t)
	var inline [4][]byte
	srcs := inline[:0]
	maxLen := 0
	for _, k := range keys {
		e := t.Lookup(k)
		if c.wrongType(e, keyspace.TypeString) {
			return
		}
		var v []byte
		if e != nil {
			v = e.Value()
		}
		srcs = append(srcs, v)
		maxLen = max(maxLen, len(v))
	}
	if maxLen == 0 {
		if t.Delete(dst) {
			c.notify(notifyGeneric, "del", dst)
		}
		c.out.Int(0)
		return
	}
	res := make([]byte, maxLen)
	copy(res, srcs[0])
	switch {
	case not:
		notBytes(res)
	case equalFold(op, "and"):
		for _, s := range srcs[1:] {
			andBytes(res, s)
			clear(res[len(s):])
		}
	case equalFold(op, "or"):
		for _, s := range srcs[1:] {
			orBytes(res, s)
		}
	default:
		for _, s := range srcs[1:] {
			subtle.XORBytes(res, res[:len(s)], s)
		}
	}
	markString(t, t.SetString(dst, res, 0, 0), markRaw)
	c.notify(notifyString, "set", dst)
	c.out.Int(int64(maxLen))
}

// andBytes sets dst[i] &= src[i] for the bytes src has, a word at a time.
func andBytes(dst, src []byte) {
	dst = dst[:len(src)]
	i := 0
	for ; i+8 <= len(src); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(dst[i:])&binary.LittleEndian.Uint64(src[i:]))
	}
	for ; i < len(src); i++ {
		dst[i] &= src[i]
	}
}

// orBytes sets dst[i] |= src[i] for the bytes src has, a word at a time.
func orBytes(dst, src []byte) {
	dst = dst[:len(src)]
	i := 0
	for ; i+8 <= len(src); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(dst[i:])|binary.LittleEndian.Uint64(src[i:]))
	}
	for ; i < len(src); i++ {
		dst[i] |= src[i]
	}
}

// notBytes inverts b in place, a word at a time.
func notBytes(b []byte) {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], ^binary.LittleEndian.Uint64(b[i:]))
	}
	for ; i < len(b); i++ {
		b[i] = ^b[i]
	}
}

// BITFIELD operations.
const (
	bfGet = iota
	bfSet
	bfIncrBy
)

// BITFIELD overflow modes (OVERFLOW WRAP|SAT|FAIL).
const (
	bfWrap = iota
	bfSat
	bfFail
)

// bitfieldOp is one parsed BITFIELD operation.
type bitfieldOp struct {
	off      int64
	val      int64 // SET value or INCRBY increment
	op       uint8
	overflow uint8
	width    uint8
	signed   bool
}

// BITFIELD key [GET type offset] [SET type offset value]
// [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ...
// BITFIELD_RO key [GET type offset ...]
//
// As Redis, every operation is parsed before the key is touched, and a
// command with a write grows the string to the farthest bit written even
// when every write fails under OVERFLOW FAIL. As Redis 7.0.15, the key
// counts as modified (WATCH, notification) only when a write changed a
// value or the string grew and a write succeeded.
func (c *Conn) bitfield(args [][]byte, readonlyCmd bool) {
	var inline [bitfieldInline]bitfieldOp
	ops := inline[:0]
	overflow := uint8(bfWrap)
	writes := false
	var maxBit int64
	for j := 2; j < len(args); j++ {
		rest := len(args) - j - 1
		var op uint8
		switch a := args[j]; {
		case equalFold(a, "get") && rest >= 2:
			op = bfGet
		case equalFold(a, "set") && rest >= 3:
			op = bfSet
		case equalFold(a, "incrby") && rest >= 3:
			op = bfIncrBy
		case equalFold(a, "overflow") && rest >= 1:
			j++
			switch m := args[j]; {
			case equalFold(m, "wrap"):
				overflow = bfWrap
			case equalFold(m, "sat"):
				overflow = bfSat
			case equalFold(m, "fail"):
				overflow = bfFail
			default:
				c.out.Error(errBitfieldOvf)
				return
			}
			continue
		default:
			c.out.Error(errSyntax)
			return
		}
		signed, width, ok := bitfieldType(args[j+1])
		if !ok {
			c.out.Error(errBitfieldType)
			return
		}
		off, ok := c.bitOffset(args[j+2], width)
		if !ok {
			return
		}
		o := bitfieldOp{off: off, op: op, overflow: overflow, width: uint8(width), signed: signed}
		if op != bfGet {
			writes = true
			maxBit = max(maxBit, off+int64(width)-1)
			if o.val, ok = c.intArg(args[j+3]); !ok {
				return
			}
			j++
		}
		ops = append(ops, o)
		j += 2
	}
	key := args[1]
	if !writes {
		t := c.lock(key)
		defer c.unlock(t)
		e, ok := c.lookupString(t, key)
		if !ok {
			return
		}
		var v []byte
		if e != nil {
			v = e.Value()
		}
		c.out.Array(len(ops))
		for _, o := range ops {
			c.out.Int(o.get(v))
		}
		return
	}
	if readonlyCmd {
		c.out.Error(errBitfieldRO)
		return
	}
	t := c.lock(key)
	defer c.unlock(t)
	e := t.Peek(key)
	if c.wrongType(e, keyspace.TypeString) {
		return
	}
	v, grown := bitsFor(t, e, maxBit>>3+1)
	c.out.Array(len(ops))
	changed := false
	for _, o := range ops {
		if o.op == bfGet {
			c.out.Int(o.get(v))
			continue
		}
		raw := getBitfield(v, o.off, uint(o.width))
		reply, store, ok := o.apply(raw)
		if !ok {
			c.out.Null()
			continue
		}
		if grown || store != raw {
			if !grown && !changed {
				v = writableValue(t, e)
			}
			setBitfield(v, o.off, uint(o.width), store)
			changed = true
		}
		c.out.Int(reply)
	}
	if grown {
		storeBits(t, key, e, v) // even if every write failed: Redis pads, silently
	}
	if changed {
		c.notify(notifyString, "setbit", key)
	}
	if !grown && e != nil {
		markString(t, e, markRaw) // Redis unshares (makes raw) before writing
	}
}

// bitfieldType parses a BITFIELD type: i1..i64 or u1..u63. Like Redis, it
// reads the width as a C string (up to a NUL byte).
func bitfieldType(b []byte) (signed bool, width int, ok bool) {
	if len(b) == 0 || (b[0] != 'i' && b[0] != 'u') {
		return false, 0, false
	}
	signed = b[0] == 'i'
	digits := b[1:]
	if i := bytes.IndexByte(digits, 0); i >= 0 {
		digits = digits[:i]
	}
	n, ok := parseInt(digits)
	limit := int64(63)
	if signed {
		limit = 64
	}
	if !ok || n < 1 || n > limit {
		return false, 0, false
	}
	return signed, int(n), true
}

// get reads the field from v, zero-padded past its end.
func (o *bitfieldOp) get(v []byte) int64 {
	raw := getBitfield(v, o.off, uint(o.width))
	if o.signed {
		return signExtend(raw, uint(o.width))
	}
	return int64(raw)
}

// apply computes a SET or INCRBY on a field holding raw. It returns the
// reply (the old value for SET, the new one for INCRBY), the bits to
// store (only the low width bits set), and false when the operation
// overflows under OVERFLOW FAIL.
func (o *bitfieldOp) apply(raw uint64) (reply int64, store uint64, ok bool) {
	w := uint(o.width)
	if o.signed {
		old := signExtend(raw, w)
		var nv int64
		var ovf bool
		if o.op == bfIncrBy {
			nv, ovf = signedOverflow(old, o.val, w, o.overflow)
			reply = nv
		} else {
			nv, ovf = signedOverflow(o.val, 0, w, o.overflow)
			reply = old
		}
		return reply, uint64(nv) & (math.MaxUint64 >> (64 - w)), !(ovf && o.overflow == bfFail)
	}
	var nv uint64
	var ovf bool
	if o.op == bfIncrBy {
		nv, ovf = unsignedOverflow(raw, o.val, w, o.overflow)
		reply = int64(nv)
	} else {
		nv, ovf = unsignedOverflow(uint64(o.val), 0, w, o.overflow)
		reply = int64(raw)
	}
	return reply, nv, !(ovf && o.overflow == bfFail)
}

// unsignedOverflow adds incr to an unsigned field of width bits holding
// value (for SET: value is the new value, incr 0), as Redis's
// checkUnsignedBitfieldOverflow: on overflow WRAP keeps the low bits and
// SAT clamps to the range. It reports whether the result overflowed.
func unsignedOverflow(value uint64, incr int64, width uint, mode uint8) (uint64, bool) {
	maxv := uint64(1)<<width - 1
	var limit uint64
	switch {
	case value > maxv || (incr > 0 && uint64(incr) > maxv-value):
		limit = maxv
	case incr < 0 && incr < -int64(value):
		limit = 0
	default:
		return value + uint64(incr), false
	}
	if mode == bfWrap {
		limit = (value + uint64(incr)) & maxv
	}
	return limit, true
}

// signedOverflow is unsignedOverflow for signed fields, as Redis's
// checkSignedBitfieldOverflow (WRAP wraps in two's complement).
func signedOverflow(value, incr int64, width uint, mode uint8) (int64, bool) {
	maxv := int64(math.MaxInt64)
	if width < 64 {
		maxv = int64(1)<<(width-1) - 1
	}
	minv := -maxv - 1
	maxIncr := int64(uint64(maxv) - uint64(value)) // used only where it cannot wrap
	minIncr := minv - value
	var limit int64
	switch {
	case value > maxv || (width != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr):
		limit = maxv
	case value < minv || (width != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr):
		limit = minv
	default:
		return value + incr, false
	}
	if mode == bfWrap {
		limit = signExtend(uint64(value)+uint64(incr), width)
	}
	return limit, true
}

// signExtend interprets the low width bits of raw as a two's complement
// number.
func signExtend(raw uint64, width uint) int64 {
	shift := 64 - width
	return int64(raw<<shift) >> shift
}

// getBitfield reads width bits (1-64) at bit offset off of v, bit 0 being
// the most significant of byte 0; bytes past v's end read as zero.
func getBitfield(v []byte, off int64, width uint) uint64 {
	i := off >> 3
	var hi uint64
	var lo byte
	if i+9 <= int64(len(v)) {
		hi, lo = binary.BigEndian.Uint64(v[i:]), v[i+8]
	} else {
		for k := int64(0); k < 9; k++ {
			var b byte
			if i+k < int64(len(v)) {
				b = v[i+k]
			}
			if k < 8 {
				hi = hi<<8 | uint64(b)
			} else {
				lo = b
			}
		}
	}
	shift := uint(off & 7)
	window := hi<<shift | uint64(lo)>>(8-shift)
	return window >> (64 - width)
}

// setBitfield writes the low width bits of val at bit offset off of v,
// which must hold every byte the field touches.
func setBitfield(v []byte, off int64, width uint, val uint64) {
	shift := uint(off & 7)
	top := val << (64 - width)         // the field at the top of a word
	mask := ^uint64(0) << (64 - width) // its bits
	hiVal, hiMask := top>>shift, mask>>shift
	i := off >> 3
	for k := int64(0); k < 8; k++ {
		s := 56 - 8*uint(k)
		if m := byte(hiMask >> s); m != 0 {
			v[i+k] = v[i+k]&^m | byte(hiVal>>s)
		}
	}
	if shift != 0 {
		if m := byte(mask << (64 - shift) >> 56); m != 0 {
			v[i+8] = v[i+8]&^m | byte(top<<(64-shift)>>56)
		}
	}
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
//
// Redis fills an (|a|+1)×(|b|+1) table of 32-bit LCS lengths. Ferry keeps
// each row of that table as bits (see lcsTable), computed 64 columns at a
// time (bit-parallel LCS), and walks it back with Redis's exact tie-break,
// so replies are identical for 32 times less memory and a fraction of the
// time; LEN keeps a single row. Tables over lcsMaxCells cells (256 MB
// of bits) are refused with Redis's allocation-failure error. The values are
// copied and the keys unlocked before the quadratic part.
func cmdLCS(c *Conn, args [][]byte) {
	t := c.lockKeys(args[1:3])
	ea, eb := t.Lookup(args[1]), t.Lookup(args[2])
	if (ea != nil && ea.Type() != keyspace.TypeString) || (eb != nil && eb.Type() != keyspace.TypeString) {
		c.unlock(t)
		c.out.Error(errLCSType)
		return
	}
	var a, b []byte
	if ea != nil {
		a = ea.Value()
	}
	if eb != nil {
		b = eb.Value()
	}
	var getLen, getIdx, withLen bool
	var minLen int64
	for j := 3; j < len(args); j++ {
		switch opt := args[j]; {
		case equalFold(opt, "idx"):
			getIdx = true
		case equalFold(opt, "len"):
			getLen = true
		case equalFold(opt, "withmatchlen"):
			withLen = true
		case equalFold(opt, "minmatchlen") && j+1 < len(args):
			n, ok := c.intArg(args[j+1])
			if !ok {
				c.unlock(t)
				return
			}
			minLen = max(n, 0)
			j++
		default:
			c.unlock(t)
			c.out.Error(errSyntax)
			return
		}
	}
	switch {
	case getIdx && getLen:
		c.out.Error(errLCSLenIdx)
	case int64(len(a)) >= math.MaxUint32-1 || int64(len(b)) >= math.MaxUint32-1:
		c.out.Error(errLCSTooLong)
	case (uint64(len(a))+1)*(uint64(len(b))+1) > lcsMaxCells:
		c.out.Error(errLCSMemory)
	default:
		a, b = bytes.Clone(a), bytes.Clone(b)
		c.unlock(t)
		c.lcsReply(a, b, getLen && !getIdx, getIdx, withLen, minLen)
		return
	}
	c.unlock(t)
}

// lcsMatch is one IDX range pair.
type lcsMatch struct{ aStart, aEnd, bStart, bEnd uint32 }

func (c *Conn) lcsReply(a, b []byte, lenOnly, idx, withLen bool, minLen int64) {
	rows := lcsRows(a, b, !lenOnly)
	words := (len(b) + 63) / 64
	total := 0
	if len(a) > 0 && len(b) > 0 {
		last := rows.last
		ones := 0
		for _, w := range last[:words-1] {
			ones += bits.OnesCount64(w)
		}
		ones += bits.OnesCount64(last[words-1] << (uint(-len(b)) % 64))
		total = len(b) - ones
	}
	if lenOnly {
		c.out.Int(int64(total))
		return
	}
	// Walk back from (|a|, |b|) as Redis's lcsCommand does: on a match take
	// the byte and move diagonally; otherwise move up when LCS(i-1,j) >
	// LCS(i,j-1), which for a mismatch holds exactly when row i gains at
	// column j (its bit j-1 is clear), else left.
	result := make([]byte, total)
	var matches []lcsMatch
	n := total
	alen := uint32(len(a))
	aStart, aEnd, bStart, bEnd := alen, uint32(0), uint32(0), uint32(0)
	i, j := uint32(len(a)), uint32(len(b))
	for i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			result[n-1] = a[i-1]
			if aStart == alen {
				aStart, aEnd, bStart, bEnd = i-1, i-1, j-1, j-1
			} else if aStart == i && bStart == j {
				aStart--
				bStart--
			} else {
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			n--
			i--
			j--
		} else {
			row := rows.table[int(i-1)*words:]
			if row[(j-1)/64]>>((j-1)%64)&1 == 0 {
				i--
			} else {
				j--
			}
			if aStart != alen {
				emit = true
			}
		}
		if emit {
			if idx && (minLen == 0 || int64(aEnd-aStart+1) >= minLen) {
				matches = append(matches, lcsMatch{aStart, aEnd, bStart, bEnd})
			}
			aStart = alen
		}
	}
	if !idx {
		c.reserveOut(len(result) + 16)
		c.out.Bulk(result)
		return
	}
	c.out.Map(2)
	c.out.BulkString("matches")
	c.out.Array(len(matches))
	for _, m := range matches {
		if withLen {
			c.out.Array(3)
		} else {
			c.out.Array(2)
		}
		c.out.Array(2)
		c.out.Int(int64(m.aStart))
		c.out.Int(int64(m.aEnd))
		c.out.Array(2)
		c.out.Int(int64(m.bStart))
		c.out.Int(int64(m.bEnd))
		if withLen {
			c.out.Int(int64(m.aEnd - m.aStart + 1))
		}
	}
	c.out.BulkString("len")
	c.out.Int(int64(total))
}

// lcsTable holds the rows of the LCS table as bit vectors over b: in row i
// (after a[:i]), bit k is clear when LCS(a[:i], b[:k+1]) exceeds
// LCS(a[:i], b[:k]) by one, set when they are equal. Bits past len(b) are
// meaningless.
type lcsTable struct {
	table []uint64 // rows 1..len(a), each (len(b)+63)/64 words; nil unless kept
	last  []uint64 // row len(a)
}

// lcsRows computes the rows with the bit-parallel recurrence of Allison
// and Dix (as Hyyrö states it) V' = (V + (V & M)) | (V &^ M), M the
// positions in b of a[i-1], starting from all ones,
// keeping every row when keep is set (for the walk back) or only the last.
func lcsRows(a, b []byte, keep bool) lcsTable {
	words := (len(b) + 63) / 64
	// Match masks only for the bytes a uses.
	var slot [256]int32
	var distinct int32
	for _, ch := range a {
		if slot[ch] == 0 {
			distinct++
			slot[ch] = distinct
		}
	}
	masks := make([]uint64, int(distinct)*words)
	for k, ch := range b {
		if s := slot[ch]; s != 0 {
			masks[int(s-1)*words+k/64] |= 1 << (k % 64)
		}
	}
	prev := make([]uint64, words) // row 0: LCS(0, j) = 0, no column gains
	for k := range prev {
		prev[k] = math.MaxUint64
	}
	var table []uint64
	if keep {
		table = make([]uint64, len(a)*words)
	}
	for i, ch := range a {
		m := masks[int(slot[ch]-1)*words:][:words]
		cur := prev // in place when only the last row is wanted
		if keep {
			cur = table[i*words:][:words]
		}
		var carry uint64
		for k, x := range prev {
			var sum uint64
			sum, carry = bits.Add64(x, x&m[k], carry)
			cur[k] = sum | x&^m[k]
		}
		prev = cur
	}
	return lcsTable{table: table, last: prev}
}
