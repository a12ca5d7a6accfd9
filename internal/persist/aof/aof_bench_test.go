package aof

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

var benchArgs = toArgs("SET", "key:000000123", string(bytes.Repeat([]byte("v"), 64)))

type nullFile struct{}

func (nullFile) Write(p []byte) (int, error) { return len(p), nil }
func (nullFile) Sync() error                 { return nil }
func (nullFile) Close() error                { return nil }

func openNull(string) (appendFile, error) { return nullFile{}, nil }

// BenchmarkAppend measures what a caller pays under its engine lock:
// encoding into the buffer. "null" discards what the background writer
// writes (the caller's cost alone); "disk" writes to the real disk with
// everysec and, as a server would, calls WaitBuffered between commands so
// that a disk slower than the appender throttles it instead of the buffer
// growing.
func BenchmarkAppend(b *testing.B) {
	for _, target := range []string{"null", "disk"} {
		b.Run(target, func(b *testing.B) {
			opts := Options{Fsync: FsyncEverysec}
			if target == "null" {
				opts.open = openNull
			}
			w := mustOpen(b, b.TempDir(), opts)
			b.SetBytes(int64(len(AppendCommand(nil, benchArgs...))))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w.Append(i&1, benchArgs)
				if i&63 == 0 {
					w.WaitBuffered(4 << 20)
				}
			}
			b.StopTimer()
			w.Close()
		})
	}
}

func BenchmarkAppendParallel(b *testing.B) {
	w := mustOpen(b, b.TempDir(), Options{Fsync: FsyncEverysec, open: openNull})
	b.SetBytes(int64(len(AppendCommand(nil, benchArgs...))))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Append(0, benchArgs)
		}
	})
	b.StopTimer()
	w.Close()
}

// BenchmarkAlwaysGroupCommit: 50 clients each append and wait for their
// fsync (appendfsync always), end to end on the real disk. Each fsync
// covers every client that appended while the previous one ran.
func BenchmarkAlwaysGroupCommit(b *testing.B) {
	for _, clients := range []int{1, 50} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			w := mustOpen(b, b.TempDir(), Options{Fsync: FsyncAlways})
			start := w.Stats().Fsyncs
			var wg sync.WaitGroup
			per := b.N/clients + 1
			b.ResetTimer()
			t0 := time.Now()
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						if err := w.WaitSynced(w.Append(0, benchArgs)); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			el := time.Since(t0).Seconds()
			b.StopTimer()
			fsyncs := float64(w.Stats().Fsyncs - start)
			cmds := float64(per * clients)
			b.ReportMetric(cmds/el, "cmds/s")
			b.ReportMetric(fsyncs/el, "fsyncs/s")
			b.ReportMetric(cmds/fsyncs, "cmds/fsync")
			w.Close()
		})
	}
}

func BenchmarkReplay(b *testing.B) {
	var data []byte
	for i := 0; i < 10000; i++ {
		if i%100 == 0 {
			data = appendSelect(data, i/100%16)
		}
		data = AppendCommand(data, benchArgs...)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	apply := func(int, [][]byte) error { return nil }
	for i := 0; i < b.N; i++ {
		if _, err := Replay("bench", bytes.NewReader(data), int64(len(data)), nil, apply); err != nil {
			b.Fatal(err)
		}
	}
}
