package msgstore

import (
	"testing"
	"time"
)

// BenchmarkAddConfirmed is a persistent publish with a confirm: each of
// many concurrent publishers appends a 1 KiB message and waits until it is
// on disk. Group commit is what makes msgs/s exceed fsyncs/s.
func BenchmarkAddConfirmed(b *testing.B) {
	s, _, err := Open(b.TempDir(), Options{Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := make([]byte, 1024)
	head := make([]byte, 40)
	b.SetParallelism(16)
	b.ReportAllocs()
	start := time.Now()
	f0 := s.Stats().Fsyncs
	b.RunParallel(func(pb *testing.PB) {
		done := make(chanWaiter, 1)
		for pb.Next() {
			if _, err := s.Add([]uint64{1}, head, body); err != nil {
				b.Error(err)
				return
			}
			s.Notify(done, 0)
			if err := <-done; err != nil {
				b.Error(err)
				return
			}
		}
	})
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/el, "msgs/s")
	b.ReportMetric(float64(s.Stats().Fsyncs-f0)/el, "fsyncs/s")
}

// BenchmarkAddRemove is the store's share of a persistent message that is
// published and acked without anyone waiting for a confirm.
func BenchmarkAddRemove(b *testing.B) {
	s, _, err := Open(b.TempDir(), Options{Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := make([]byte, 1024)
	head := make([]byte, 40)
	ids := make([]uint64, 1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		id, err := s.Add([]uint64{1}, head, body)
		if err != nil {
			b.Fatal(err)
		}
		ids[0] = id
		s.Remove(1, ids)
	}
}
