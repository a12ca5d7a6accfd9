package rdb

import (
	"bytes"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

func TestCRC64(t *testing.T) {
	// Check value from Redis's crc64.c test.
	if got := CRC64([]byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("CRC64(123456789) = %x", got)
	}
	if got := CRC64(nil); got != 0 {
		t.Fatalf("CRC64(nil) = %x", got)
	}
	// Slicing-by-8 must agree with the bytewise loop at every length and
	// when fed in pieces.
	rng := rand.New(rand.NewSource(1))
	data := randBytes(rng, 1000)
	for n := 0; n <= len(data); n += 7 {
		var slow uint64
		for _, b := range data[:n] {
			slow = crc64Tables[0][byte(slow)^b] ^ slow>>8
		}
		if fast := CRC64(data[:n]); fast != slow {
			t.Fatalf("len %d: slicing %x, bytewise %x", n, fast, slow)
		}
		split := n / 3
		if p := crc64Update(crc64Update(0, data[:split]), data[split:n]); p != slow {
			t.Fatalf("len %d: split update %x, want %x", n, p, slow)
		}
	}
}

func TestLZFRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	var htab [1 << lzfHashLog]int32
	inputs := [][]byte{
		[]byte("a"), []byte("ab"), []byte("abc"), []byte("aaaa"),
		bytes.Repeat([]byte("a"), 10000),
		bytes.Repeat([]byte("abcdefgh"), 1000),
		[]byte(strings.Repeat("hello world ", 300)),
		randBytes(rng, 5000),
	}
	// Long-distance repeats (beyond the 8 KiB window) and run lengths around
	// the 264-byte maximum match.
	far := randBytes(rng, 9000)
	inputs = append(inputs, append(append([]byte{}, far...), far...))
	for _, n := range []int{262, 263, 264, 265, 266, 600} {
		inputs = append(inputs, append([]byte("xyz"), bytes.Repeat([]byte{'q'}, n)...))
	}
	for i := 0; i < 200; i++ {
		// Low-entropy random data exercises mixed literals and matches.
		b := make([]byte, rng.Intn(3000)+1)
		for j := range b {
			b[j] = byte('a' + rng.Intn(3))
		}
		inputs = append(inputs, b)
	}
	for i, in := range inputs {
		out := make([]byte, len(in)*2+16)
		n := lzfCompress(out, in, &htab)
		if n == 0 {
			t.Fatalf("input %d: did not compress into twice its size", i)
		}
		got := make([]byte, len(in))
		if err := lzfDecompress(got, out[:n]); err != nil {
			t.Fatalf("input %d: decompress: %v", i, err)
		}
		if !bytes.Equal(got, in) {
			t.Fatalf("input %d: round trip mismatch", i)
		}
		// A too-small output buffer must fail cleanly, never overrun.
		for _, lim := range []int{0, 1, n - 1} {
			if lim < 0 {
				continue
			}
			small := make([]byte, lim)
			if m := lzfCompress(small, in, &htab); m != 0 && m > lim {
				t.Fatalf("input %d: wrote %d bytes into %d", i, m, lim)
			} else if m != 0 {
				chk := make([]byte, len(in))
				if err := lzfDecompress(chk, small[:m]); err != nil || !bytes.Equal(chk, in) {
					t.Fatalf("input %d: limited compression is wrong", i)
				}
			}
		}
	}
	if n := lzfCompress(make([]byte, 100), bytes.Repeat([]byte("ab"), 1000), &htab); n == 0 || n > 40 {
		t.Fatalf("repetitive input compressed to %d bytes", n)
	}
}

func TestLZFDecompressErrors(t *testing.T) {
	cases := map[string]struct {
		src  []byte
		ulen int
	}{
		"literal past input":   {[]byte{5, 'a'}, 6},
		"literal past output":  {[]byte{2, 'a', 'b', 'c'}, 2},
		"backref before start": {[]byte{0, 'a', 0x20, 5}, 4},
		"backref past output":  {[]byte{0, 'a', 0x20, 0}, 2},
		"truncated backref":    {[]byte{0, 'a', 0x20}, 4},
		"truncated long ref":   {[]byte{0, 'a', 0xE0}, 20},
		"short output":         {[]byte{1, 'a', 'b'}, 3},
	}
	for name, c := range cases {
		if err := lzfDecompress(make([]byte, c.ulen), c.src); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Overlapping back reference: "a" then copy 4 from distance 1.
	got := make([]byte, 5)
	if err := lzfDecompress(got, []byte{0, 'a', 0x40, 0}); err != nil || string(got) != "aaaaa" {
		t.Fatalf("overlap: %q %v", got, err)
	}
}

func TestParseCanonicalInt(t *testing.T) {
	good := []int64{0, 1, -1, 9, 10, -10, 127, -128, math.MaxInt64, math.MinInt64, 1234567890123}
	for _, v := range good {
		s := strconv.FormatInt(v, 10)
		got, ok := parseCanonicalInt([]byte(s))
		if !ok || got != v {
			t.Errorf("%q: got %d %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "-", "-0", "01", "+1", " 1", "1 ", "1a", "9223372036854775808",
		"-9223372036854775809", "18446744073709551616", "00", "1.0", "123456789012345678901"} {
		if v, ok := parseCanonicalInt([]byte(s)); ok {
			t.Errorf("%q parsed as %d", s, v)
		}
	}
}

func TestListpackRoundTrip(t *testing.T) {
	elems := strs("", "a", "0", "127", "128", "-1", "-4096", "4095", "4096", "-4097", "32767", "32768",
		"-32768", "-32769", "8388607", "8388608", "-8388608", "-8388609", "2147483647", "2147483648",
		"-2147483648", "-2147483649", "9223372036854775807", "-9223372036854775808", "007", "-0",
		"9223372036854775808", "hello world")
	elems = append(elems, bytes.Repeat([]byte("x"), 63), bytes.Repeat([]byte("y"), 64),
		bytes.Repeat([]byte("z"), 4095), bytes.Repeat([]byte("w"), 4096), bytes.Repeat([]byte("v"), 20000))
	lp := lpStart(nil)
	for _, e := range elems {
		before := len(lp)
		lp = lpAppendString(lp, e)
		if got := len(lp) - before; got != lpEntrySize(e) {
			t.Errorf("%.20q: appended %d bytes, lpEntrySize says %d", e, got, lpEntrySize(e))
		}
	}
	lp = lpFinish(lp, len(elems))
	it, count, err := lpOpen(lp)
	if err != nil || count != len(elems) {
		t.Fatalf("open: %v count %d", err, count)
	}
	for i := 0; !it.done(); i++ {
		s, v, isInt, err := it.next()
		if err != nil {
			t.Fatal(err)
		}
		got := s
		if isInt {
			got = []byte(strconv.FormatInt(v, 10))
		}
		if !bytes.Equal(got, elems[i]) {
			t.Errorf("entry %d: got %.20q want %.20q", i, got, elems[i])
		}
		_, canonical := parseCanonicalInt(elems[i])
		if isInt != canonical {
			t.Errorf("entry %q: isInt %v", elems[i], isInt)
		}
	}
	if err := it.finish(count); err != nil {
		t.Fatal(err)
	}
	// Backlen encodings of every size class.
	for _, l := range []uint64{0, 127, 128, 16382, 16383, 2097150, 2097151, 268435454, 268435455, 1 << 32} {
		b := lpAppendBacklen(nil, l)
		if got, ok := lpDecodeBacklen(b); !ok || got != l || len(b) != lpBacklenSize(l) {
			t.Errorf("backlen %d: %x -> %d %v", l, b, got, ok)
		}
	}
}

func TestListpackCorrupt(t *testing.T) {
	good := lpFinish(lpAppendString(lpAppendString(lpStart(nil), []byte("abc")), []byte("12")), 2)
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	cases := map[string][]byte{
		"short":          good[:5],
		"total mismatch": mutate(func(b []byte) []byte { b[0]++; return b }),
		"no terminator":  mutate(func(b []byte) []byte { b[len(b)-1] = 0; return b }),
		"count mismatch": mutate(func(b []byte) []byte { b[4] = 3; return b }),
		"bad backlen":    mutate(func(b []byte) []byte { b[10] = 9; return b }),
		"string overrun": mutate(func(b []byte) []byte { b[6] = 0x80 | 40; return b }),
		"bad encoding":   mutate(func(b []byte) []byte { b[6] = 0xF7; return b }),
		"early eof":      mutate(func(b []byte) []byte { b[6] = 0xFF; return b }),
	}
	for name, lp := range cases {
		if _, err := decodeBlobValue(EncSetListpack, lp, new(arena)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestIntset(t *testing.T) {
	for _, vals := range [][]int64{
		{1, 2, 3},
		{-32768, 32767, 5},
		{-32769, 0},
		{2147483648, -1},
		{math.MinInt64, math.MaxInt64, 0},
	} {
		blob, err := intsetAppend(nil, append([]int64{}, vals...))
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		if err := intsetDecode(blob, func(v int64) { got = append(got, v) }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(vals) {
			t.Fatalf("%v -> %v", vals, got)
		}
	}
	if _, err := intsetAppend(nil, []int64{3, 1, 3}); err == nil {
		t.Error("duplicates accepted")
	}
	bad := [][]byte{
		{2, 0, 0, 0, 0, 0, 0, 0},                     // empty
		{3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0},            // bad encoding
		{2, 0, 0, 0, 2, 0, 0, 0, 1, 0},               // short
		{2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 5, 0},         // duplicate
		{2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 4, 0},         // unordered
		{2, 0, 0, 0, 255, 255, 255, 255, 5, 0, 4, 0}, // huge count
	}
	for i, b := range bad {
		if err := intsetDecode(b, func(int64) {}); err == nil {
			t.Errorf("bad intset %d accepted", i)
		}
	}
}

func TestScoreFormat(t *testing.T) {
	for _, c := range []struct {
		f float64
		s string
	}{
		{1, "1"}, {-2, "-2"}, {0, "0"}, {math.Copysign(0, -1), "-0"}, {1.5, "1.5"},
		{math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {0.1, "0.10000000000000001"},
		{1e300, "1.0000000000000001e+300"}, {4503599627370496, "4503599627370496"},
	} {
		if got := string(appendScore(nil, c.f)); got != c.s {
			t.Errorf("%v: %q want %q", c.f, got, c.s)
		}
		if back, err := strconv.ParseFloat(c.s, 64); err != nil || back != c.f {
			t.Errorf("%q does not parse back to %v", c.s, c.f)
		}
	}
}

func TestModuleTypeName(t *testing.T) {
	// Encode "ReJSON-RL" with encver 3 the way module.c does and decode it.
	const cset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var id uint64
	for _, c := range "ReJSON-RL" {
		id = id<<6 | uint64(strings.IndexRune(cset, c))
	}
	id = id<<10 | 3
	if got := moduleTypeName(id); got != "ReJSON-RL" {
		t.Fatalf("got %q", got)
	}
}

func TestFirstDup(t *testing.T) {
	for _, n := range []int{0, 1, 2, 16, 17, 1000} {
		elems := rangeStrs("e", n)
		at := func(i int) []byte { return elems[i] }
		if d := firstDup(n, at); d != -1 {
			t.Errorf("n=%d: false duplicate %d", n, d)
		}
		if d := firstDupSorted(n, at); d != -1 {
			t.Errorf("n=%d sorted: false duplicate %d", n, d)
		}
		if n >= 2 {
			elems[n-1] = elems[0]
			if d := firstDup(n, at); d != n-1 {
				t.Errorf("n=%d: duplicate at %d, want %d", n, d, n-1)
			}
			if d := firstDupSorted(n, at); d != n-1 {
				t.Errorf("n=%d sorted: duplicate at %d, want %d", n, d, n-1)
			}
		}
	}
}
