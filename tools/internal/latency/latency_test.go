package latency

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 123456, 1 << 40, 1<<63 + 5, ^uint64(0)} {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d out of range", v, i)
		}
		if i < prev {
			t.Fatalf("bucketOf not monotonic at %d", v)
		}
		prev = i
		if up := upperOf(i); up < v || (i > 0 && upperOf(i-1) >= v) {
			t.Fatalf("value %d in bucket %d with bounds (%d, %d]", v, i, upperOf(i-1), up)
		}
	}
}

func TestQuantileError(t *testing.T) {
	var h Histogram
	for i := 1; i <= 100000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.99, 0.999} {
		want := q * 100000 * float64(time.Microsecond)
		got := float64(h.Quantile(q))
		if got < want*0.99 || got > want*1.02 {
			t.Errorf("quantile(%v) = %v, want about %v", q, time.Duration(got), time.Duration(want))
		}
	}
	if h.Quantile(1) != 100000*time.Microsecond {
		t.Errorf("quantile(1) = %v, want the maximum", h.Quantile(1))
	}
}

func TestMerge(t *testing.T) {
	var a, b Histogram
	for range 1000 {
		a.Record(time.Duration(rand.IntN(1000)))
		b.Record(time.Duration(rand.IntN(1000) + 5000))
	}
	a.Merge(&b)
	if a.total != 2000 || a.Quantile(0.25) >= 1000 || a.Quantile(0.75) < 5000 {
		t.Fatalf("merge: total %d p25 %v p75 %v", a.total, a.Quantile(0.25), a.Quantile(0.75))
	}
}
