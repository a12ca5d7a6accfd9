package main

import (
	"math/bits"
	"time"
)

// The histogram is log-linear, like HdrHistogram (and tools/mcbench's):
// values below 2*subBuckets are counted exactly, above that each power of
// two is split into subBuckets equal slices, so a recorded value is off by
// less than 1/subBuckets (1.6%). A fixed array keeps recording
// allocation-free whatever the message rate.
const (
	subBits    = 6
	subBuckets = 1 << subBits
	linearMax  = 2 * subBuckets
	numBuckets = linearMax + (64-subBits-1)*subBuckets
)

// histogram counts latencies in nanoseconds. Not safe for concurrent use:
// each subscriber owns one; they are merged at the end.
type histogram struct {
	counts [numBuckets]uint64
	total  uint64
	max    uint64
}

func bucketOf(v uint64) int {
	if v < linearMax {
		return int(v)
	}
	shift := bits.Len64(v) - (subBits + 1)
	mant := v >> uint(shift)
	return linearMax + (shift-1)*subBuckets + int(mant-subBuckets)
}

func upperOf(i int) uint64 {
	if i < linearMax {
		return uint64(i)
	}
	shift := (i-linearMax)/subBuckets + 1
	mant := uint64((i-linearMax)%subBuckets + subBuckets)
	return (mant+1)<<uint(shift) - 1
}

func (h *histogram) record(ns int64) {
	v := uint64(max(ns, 0))
	h.counts[bucketOf(v)]++
	h.total++
	if v > h.max {
		h.max = v
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// quantile returns the value at or below which a fraction q of the samples
// lie (its bucket's upper bound, never above the maximum).
func (h *histogram) quantile(q float64) time.Duration {
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
