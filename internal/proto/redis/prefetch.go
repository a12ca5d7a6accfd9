package redis

// Pipelined commands look their keys up one after another, and each lookup
// is a chain of cache misses (bucket, entry, key bytes). Before running a
// batch of pipelined commands, their keys are handed to the keyspace's
// Prefetch, which touches all of them at once so that the misses overlap.

// prefetchBatch is how many commands one prefetch looks ahead.
const prefetchBatch = 16

// prefetchAhead finds the complete RESP commands at the start of in (up
// to prefetchBatch), prefetches their first arguments as keys in the
// client's database, and returns how many bytes it looked at. A command
// without a key just costs a useless prefetch. Inline commands and
// anything unusual end the scan: the parser deals with them.
func (c *Conn) prefetchAhead(in []byte) int {
	var keys [prefetchBatch][]byte
	n, off := 0, 0
	for n < prefetchBatch {
		size, key := scanCommand(in[off:])
		if size == 0 {
			break
		}
		// A pipeline on one key (LPUSH mylist ...) has nothing to overlap:
		// repeats of the previous key are left out.
		if key != nil && (n == 0 || string(key) != string(keys[n-1])) {
			keys[n] = key
			n++
		}
		off += size
	}
	if n >= 2 {
		c.srv.ks.Prefetch(c.db, keys[:n])
	}
	return off
}

// scanCommand returns the size of the complete multibulk command at the
// start of b and its second element (nil if it has none), or 0 if b does
// not start with a complete, well-formed one.
func scanCommand(b []byte) (size int, key []byte) {
	count, p := scanLen(b, '*')
	if p == 0 || count < 1 || count > 1024 {
		return 0, nil
	}
	for i := 0; i < count; i++ {
		l, q := scanLen(b[p:], '$')
		if q == 0 || l < 0 || p+q+l+2 > len(b) || b[p+q+l] != '\r' || b[p+q+l+1] != '\n' {
			return 0, nil
		}
		if i == 1 {
			key = b[p+q : p+q+l : p+q+l]
		}
		p += q + l + 2
	}
	return p, key
}

// scanLen reads "<prefix><digits>\r\n" at the start of b, returning the
// number and the bytes read (0 if malformed or incomplete).
func scanLen(b []byte, prefix byte) (int, int) {
	if len(b) < 4 || b[0] != prefix {
		return 0, 0
	}
	n := 0
	for i := 1; i < len(b) && i < 12; i++ {
		ch := b[i]
		switch {
		case ch >= '0' && ch <= '9':
			n = n*10 + int(ch-'0')
		case ch == '\r' && i > 1 && i+1 < len(b) && b[i+1] == '\n':
			return n, i + 2
		default:
			return 0, 0
		}
	}
	return 0, 0
}
