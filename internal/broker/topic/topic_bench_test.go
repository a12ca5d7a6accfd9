package topic

import (
	"fmt"
	"testing"
)

// buildBindings makes n bindings shaped like real topic usage: stock
// quotes by region, exchange and symbol, with some wildcards.
func buildBindings(n int) *Trie[int] {
	var tr Trie[int]
	regions := []string{"eu", "us", "asia", "sa"}
	for i := 0; i < n; i++ {
		r := regions[i%len(regions)]
		var p string
		switch i % 10 {
		case 0:
			p = fmt.Sprintf("quote.%s.*.sym%d", r, i)
		case 1:
			p = fmt.Sprintf("quote.%s.#", r)
		case 2:
			p = fmt.Sprintf("#.sym%d", i)
		default:
			p = fmt.Sprintf("quote.%s.x%d.sym%d", r, i%50, i)
		}
		tr.Add(p, i)
	}
	return &tr
}

func BenchmarkMatch10kBindings(b *testing.B) {
	tr := buildBindings(10000)
	keys := []string{"quote.eu.x3.sym1003", "quote.us.x7.sym57", "news.eu.none", "quote.asia.x0.sym9000"}
	buf := make([]int, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = tr.Match(buf[:0], keys[i%len(keys)])
	}
}

func BenchmarkAdd10k(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buildBindings(10000)
	}
}
