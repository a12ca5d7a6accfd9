package ds

import (
	"math"
	"math/rand/v2"
	"testing"
)

// byteSource drives the model tests' random choices from fuzz input, so
// the fuzzer explores operation sequences: each draw consumes two bytes.
// Once the input runs out it continues with a fixed pseudo-random sequence
// (a constant source would loop forever in IntN's rejection sampling).
type byteSource struct {
	b []byte
	n uint64
}

func (s *byteSource) Uint64() uint64 {
	if len(s.b) < 2 {
		// splitmix64
		s.n += 0x9e3779b97f4a7c15
		z := s.n
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return z ^ z>>31
	}
	x := uint64(s.b[0])<<8 | uint64(s.b[1])
	s.b = s.b[2:]
	// Spread the 16 bits over the word: IntN uses the high bits.
	return x<<48 | x<<32 | x<<16 | x ^ 0x5bd1e995
}

func fuzzRand(data []byte) *rand.Rand { return rand.New(&byteSource{b: data}) }

func fuzzOps(data []byte) int { return min(len(data)/3+1, 400) }

func seedCorpus(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add([]byte("some random bytes to start the listpack fuzzer with, long enough for a few dozen ops"))
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 600)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	f.Add(b)
}

// FuzzList checks the packed list nodes against a slice model.
func FuzzList(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fills := []int{-2, -1, 1, 2, 3, 0, 16, -5}
		fill := 0
		if len(data) > 0 {
			fill = fills[int(data[0])%len(fills)]
		}
		runListModel(t, fuzzRand(data), fill, fuzzOps(data))
	})
}

// FuzzHash checks the listpack/hashtable hash against a map model.
func FuzzHash(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		runHashModel(t, fuzzRand(data), 6, 8, fuzzOps(data))
	})
}

// FuzzSet checks the intset/hashtable set against a map model.
func FuzzSet(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		runSetModel(t, fuzzRand(data), 8, fuzzOps(data), len(data)%2 == 0)
	})
}

// FuzzZSet checks the listpack/skiplist sorted set against a sorted model.
func FuzzZSet(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		runZSetModel(t, fuzzRand(data), 6, 10, len(data)%2 == 0, fuzzOps(data))
	})
}

// FuzzParseRanges checks that the range parsers never panic and never
// accept NaN.
func FuzzParseRanges(f *testing.F) {
	for _, s := range []string{"1", "(1.5", "-inf", "+inf", "inf", "nan", "", "(", "[a", "(a", "-", "+", "0x1p3", " 7", "1e999"} {
		f.Add([]byte(s), []byte("+inf"))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if r, err := ParseScoreRange(a, b); err == nil {
			if math.IsNaN(r.Min) || math.IsNaN(r.Max) {
				t.Fatalf("NaN accepted: %q %q", a, b)
			}
			_ = r.Empty()
		}
		if r, err := ParseLexRange(a, b); err == nil {
			_ = r.Empty()
		}
		String2ll(a)
	})
}
