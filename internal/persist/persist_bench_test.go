package persist_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"ferry/internal/keyspace"
	"ferry/internal/persist"
	redisfe "ferry/internal/proto/redis"
)

// The benchmarks work on benchKeys string keys of 100 bytes (the shape of
// the side-by-side runs in docs/benchmarks.md), in process, to profile
// saving, loading and replaying without the network.

const benchKeys = 200_000

// benchManager is a keyspace with its Redis engine and a manager, no
// listeners.
func benchManager(b *testing.B, cfg persist.Config) (*keyspace.Keyspace, *persist.Manager) {
	ks := keyspace.New(keyspace.Config{Databases: 16})
	b.Cleanup(ks.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := redisfe.New(ks, redisfe.Config{Databases: 16, Log: log})
	b.Cleanup(srv.Close)
	m := persist.New(ks, cfg, log, srv.Limits, srv.Replay)
	ks.AddObserver(m)
	srv.SetPersistence(m, persist.ParamNames)
	return ks, m
}

func fillStrings(ks *keyspace.Keyspace, n int) {
	val := make([]byte, 100)
	for i := range val {
		val[i] = 'a' + byte(i*7%26)
	}
	for i := 0; i < n; i++ {
		k := []byte(fmt.Sprintf("key:%010d", i))
		val[i%100] = 'A' + byte(i%26)
		t := ks.Lock(0, k)
		t.SetString(k, val, 0, 0)
		t.Unlock()
	}
}

// BenchmarkSave: SAVE of benchKeys strings (dump.rdb, fsync included).
func BenchmarkSave(b *testing.B) {
	cfg := persist.DefaultConfig()
	cfg.Dir, cfg.AppendOnly, cfg.Save = b.TempDir(), false, nil
	ks, m := benchManager(b, cfg)
	fillStrings(ks, benchKeys)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.Save(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchKeys, "ns/key")
}

// BenchmarkSnapshotPause: the time every shard is locked to take a
// snapshot (the pause writers see at BGSAVE and BGREWRITEAOF).
func BenchmarkSnapshotPause(b *testing.B) {
	ks, _ := benchManager(b, persist.DefaultConfig())
	fillStrings(ks, benchKeys)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		snap := ks.Snapshot()
		b.StopTimer()
		snap.Release()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchKeys, "ns/key")
}

// BenchmarkLoadRDB: loading a dump.rdb of benchKeys strings.
func BenchmarkLoadRDB(b *testing.B) {
	cfg := persist.DefaultConfig()
	cfg.Dir, cfg.AppendOnly, cfg.Save = b.TempDir(), false, nil
	ks, m := benchManager(b, cfg)
	fillStrings(ks, benchKeys)
	if err := m.Save(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ks2, m2 := benchManager(b, cfg)
		b.StartTimer()
		if err := m2.Load(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := ks2.DBSize(0); n != benchKeys {
			b.Fatalf("%d keys loaded", n)
		}
		ks2.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchKeys, "ns/key")
}

// BenchmarkReplayAOF: loading an AOF of benchKeys SET commands.
func BenchmarkReplayAOF(b *testing.B) {
	cfg := persist.DefaultConfig()
	cfg.Dir, cfg.Save = b.TempDir(), nil
	_, m := benchManager(b, cfg)
	if err := m.Load(); err != nil {
		b.Fatal(err)
	}
	if err := m.Start(); err != nil {
		b.Fatal(err)
	}
	val := make([]byte, 100)
	for i := 0; i < benchKeys; i++ {
		m.Append(0, [][]byte{[]byte("SET"), []byte(fmt.Sprintf("key:%010d", i)), val})
	}
	if err := m.Close(false, true); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ks2, m2 := benchManager(b, cfg)
		b.StartTimer()
		if err := m2.Load(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := ks2.DBSize(0); n != benchKeys {
			b.Fatalf("%d keys replayed", n)
		}
		ks2.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchKeys, "ns/key")
}
