package ds

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

// Benchmarks for the hot collection commands. Run with -benchmem: the
// steady-state operations should allocate nothing.

func benchKeys(n int, prefix string) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(prefix + strconv.Itoa(i))
	}
	return out
}

func BenchmarkListPushPop(b *testing.B) {
	v := []byte("some-value-16byt")
	b.Run("LPUSH", func(b *testing.B) {
		l := NewList(ListDefaultFill)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			l.PushLeft(v)
		}
		b.ReportMetric(float64(l.MemSize())/float64(b.N), "B/elem")
	})
	b.Run("RPUSH+LPOP", func(b *testing.B) {
		l := NewList(ListDefaultFill)
		for i := 0; i < 1000; i++ {
			l.PushRight(v)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			l.PushRight(v)
			l.PopLeft(1, func([]byte) {})
		}
	})
	b.Run("LINDEX-mid-100k", func(b *testing.B) {
		l := NewList(ListDefaultFill)
		for i := 0; i < 100000; i++ {
			l.PushRight(v)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			l.Index(50000)
		}
	})
	b.Run("LRANGE-0-99", func(b *testing.B) {
		l := NewList(ListDefaultFill)
		for i := 0; i < 10000; i++ {
			l.PushRight(v)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			l.Range(0, 99, func([]byte) bool { return true })
		}
	})
}

func BenchmarkHash(b *testing.B) {
	for _, n := range []int{100, 100000} {
		fields := benchKeys(n, "field:")
		val := []byte("value-0123456789")
		name := "listpack"
		if n > HashMaxListpackEntries {
			name = "hashtable"
		}
		b.Run("HSET-"+name, func(b *testing.B) {
			h := NewHash(HashMaxListpackEntries, HashMaxListpackValue)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				h.Set(fields[i%n], val)
			}
		})
		b.Run("HGET-"+name, func(b *testing.B) {
			h := NewHash(HashMaxListpackEntries, HashMaxListpackValue)
			for _, f := range fields {
				h.Set(f, val)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.Get(fields[i%n])
			}
		})
	}
	b.Run("HSET-new-fields", func(b *testing.B) {
		fields := benchKeys(b.N, "field:")
		h := NewHash(HashMaxListpackEntries, HashMaxListpackValue)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			h.Set(fields[i], fields[i])
		}
		b.ReportMetric(float64(h.MemSize())/float64(b.N), "B/field")
	})
}

func BenchmarkSet(b *testing.B) {
	b.Run("SADD-intset", func(b *testing.B) {
		ms := benchKeys(512, "")
		s := NewSet(SetMaxIntsetEntries)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			s.Add(ms[i%512])
		}
	})
	b.Run("SADD-hashtable-new", func(b *testing.B) {
		ms := benchKeys(b.N, "member:")
		s := NewSet(SetMaxIntsetEntries)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.Add(ms[i])
		}
		b.ReportMetric(float64(s.MemSize())/float64(b.N), "B/member")
	})
	b.Run("SISMEMBER-intset", func(b *testing.B) {
		ms := benchKeys(512, "")
		s := NewSet(SetMaxIntsetEntries)
		for _, m := range ms {
			s.Add(m)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.IsMember(ms[i%512])
		}
	})
	b.Run("SISMEMBER-hashtable-100k", func(b *testing.B) {
		ms := benchKeys(100000, "member:")
		s := NewSet(SetMaxIntsetEntries)
		for _, m := range ms {
			s.Add(m)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s.IsMember(ms[i%100000])
		}
	})
}

func BenchmarkZSet(b *testing.B) {
	b.Run("ZADD-listpack", func(b *testing.B) {
		ms := benchKeys(100, "m:")
		z := NewZSet(ZSetMaxListpackEntries, ZSetMaxListpackValue)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			z.Add(ms[i%100], float64(i%1000), 0)
		}
	})
	b.Run("ZADD-skiplist-new", func(b *testing.B) {
		ms := benchKeys(b.N, "member:")
		z := NewZSet(ZSetMaxListpackEntries, ZSetMaxListpackValue)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			z.Add(ms[i], float64(uint32(i*2654435761)), 0)
		}
		b.ReportMetric(float64(z.MemSize())/float64(b.N), "B/member")
	})
	const n = 100000
	ms := benchKeys(n, "member:")
	z := NewZSet(ZSetMaxListpackEntries, ZSetMaxListpackValue)
	for i, m := range ms {
		z.Add(m, float64(uint32(i*2654435761)), 0)
	}
	b.Run("ZADD-skiplist-update-100k", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			z.Add(ms[i%n], float64(i), 0)
		}
	})
	b.Run("ZRANK-100k", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			z.Rank(ms[i%n], false)
		}
	})
	b.Run("ZSCORE-100k", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			z.Score(ms[i%n])
		}
	})
	b.Run("ZRANGE-rank-10-of-100k", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			s := i % (n - 10)
			z.RangeByRank(s, s+9, false, func([]byte, float64) bool { return true })
		}
	})
	b.Run("ZRANGEBYSCORE-limit-10-of-100k", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r := ScoreRange{Min: float64(uint32(i * 7919)), Max: 1 << 32}
			z.RangeByScore(r, false, 0, 10, func([]byte, float64) bool { return true })
		}
	})
	b.Run("ZADD+ZREM-100k", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			m := ms[i%n]
			z.Remove(m)
			z.Add(m, float64(i), 0)
		}
	})
}

// BenchmarkZAddRandom is redis-benchmark's zadd test with -r 100000:
// "ZADD myzset <rand> element:<rand>", both random in 0..99999, so one key
// grows to about 100k members and then mostly moves members to random new
// places. Random members and scores defeat the caches as the real load
// does (a sequential walk over the members would not).
func BenchmarkZAddRandom(b *testing.B) {
	const n, ops = 100000, 1 << 20
	ms := make([][]byte, n)
	for i := range ms {
		ms[i] = fmt.Appendf(nil, "element:%012d", i)
	}
	r := rand.New(rand.NewPCG(1, 2))
	type op struct {
		m     int32
		score float64
	}
	seq := make([]op, ops)
	for i := range seq {
		seq[i] = op{int32(r.IntN(n)), float64(r.IntN(n))}
	}
	b.Run("grow", func(b *testing.B) {
		b.ReportAllocs()
		var z *ZSet
		for i := 0; i < b.N; i++ {
			if i%ops == 0 {
				b.StopTimer()
				z = NewZSet(ZSetMaxListpackEntries, ZSetMaxListpackValue)
				b.StartTimer()
			}
			o := seq[i%ops]
			z.Add(ms[o.m], o.score, 0)
		}
	})
	b.Run("steady-100k", func(b *testing.B) {
		z := NewZSet(ZSetMaxListpackEntries, ZSetMaxListpackValue)
		for _, m := range ms {
			z.Add(m, float64(r.IntN(n)), 0)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			o := seq[i%ops]
			z.Add(ms[o.m], o.score, 0)
		}
	})
}
