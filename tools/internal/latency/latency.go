// Package latency is the load tools' latency histogram: log-linear like
// HdrHistogram, allocation-free to record, mergeable.
package latency

import (
	"math/bits"
	"time"
)

// The histogram is log-linear, like HdrHistogram: values below 2*subBuckets
// are counted exactly, above that each power of two is split into subBuckets
// equal slices, so a recorded value is off by less than 1/subBuckets (1.6%).
// A fixed array keeps recording allocation-free and memory constant however
// long the run, which per-sample storage would not.
const (
	subBits    = 6
	subBuckets = 1 << subBits
	linearMax  = 2 * subBuckets // values below this get their own bucket
	numBuckets = linearMax + (64-subBits-1)*subBuckets
)

// Histogram counts latencies in nanoseconds. It is not safe for concurrent
// use: each connection owns one and they are merged at the end.
type Histogram struct {
	counts [numBuckets]uint64
	total  uint64
	max    uint64
}

// bucketOf returns the bucket index of v.
func bucketOf(v uint64) int {
	if v < linearMax {
		return int(v)
	}
	// Keep the top subBits+1 bits: the leading 1 and subBits of mantissa.
	shift := bits.Len64(v) - (subBits + 1)
	mant := v >> uint(shift) // in [subBuckets, 2*subBuckets)
	return linearMax + (shift-1)*subBuckets + int(mant-subBuckets)
}

// upperOf returns the largest value that falls in bucket i.
func upperOf(i int) uint64 {
	if i < linearMax {
		return uint64(i)
	}
	shift := (i-linearMax)/subBuckets + 1
	mant := uint64((i-linearMax)%subBuckets + subBuckets)
	return (mant+1)<<uint(shift) - 1
}

// Record adds one sample.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)]++
	h.total++
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's samples to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// Quantile returns the value at or below which a fraction q of the samples
// lie, reported as its bucket's upper bound (never above the true maximum).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(upperOf(i), h.max))
		}
	}
	return time.Duration(h.max)
}

// Max returns the largest sample.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }
