package aof

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRoundTripRandom appends random command streams (random databases,
// binary arguments, transactions) over several Open/Close cycles and
// rewrites, then checks that Load replays exactly what was appended.
func TestRoundTripRandom(t *testing.T) {
	for _, policy := range []FsyncPolicy{FsyncAlways, FsyncEverysec, FsyncNo} {
		for seed := int64(1); seed <= 4; seed++ {
			t.Run(policy.String()+"/"+string(rune('0'+seed)), func(t *testing.T) {
				rng := rand.New(rand.NewSource(seed))
				dir := t.TempDir()
				var want []rec
				for session := 0; session < 3; session++ {
					w := mustOpen(t, dir, Options{Fsync: policy})
					n := 50 + rng.Intn(200)
					for i := 0; i < n; i++ {
						switch rng.Intn(40) {
						case 0: // a transaction
							var batch []Command
							for j := rng.Intn(4); j >= 0; j-- {
								r := randCmd(rng)
								batch = append(batch, Command{DB: r.db, Args: toArgs(r.args...)})
								want = append(want, r)
							}
							w.AppendBatch(batch, true)
						case 1: // a rewrite whose base replays everything so far
							rw, err := w.StartRewrite(BaseAOF)
							if err != nil {
								t.Fatal(err)
							}
							rr := NewRewriter(rw)
							for _, r := range want {
								rr.Command(r.db, toArgs(r.args...)...)
							}
							if err := rr.Flush(); err != nil {
								t.Fatal(err)
							}
							if rng.Intn(3) == 0 {
								w.AbortRewrite(rw)
							} else if err := w.FinishRewrite(rw); err != nil {
								t.Fatal(err)
							}
						default:
							r := randCmd(rng)
							off := w.Append(r.db, toArgs(r.args...))
							want = append(want, r)
							if rng.Intn(20) == 0 {
								if err := w.WaitSynced(off); err != nil {
									t.Fatal(err)
								}
							}
						}
					}
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
				}
				got, _, err := loadDir(t, dir, LoadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				// An aborted rewrite leaves the old files in place, a
				// finished one replaces them with a base replaying them:
				// either way the replay is what was appended.
				sameRecs(t, got, want)
			})
		}
	}
}

func TestSelectOnlyWhenDBChanges(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	w.Append(0, toArgs("SET", "a", "1"))
	w.Append(0, toArgs("SET", "b", "2"))
	w.Append(-1, toArgs("FLUSHALL"))
	w.Append(1, toArgs("SET", "c", "3"))
	w.Append(0, toArgs("SET", "d", "4"))
	w.Close()
	data, _ := os.ReadFile(filepath.Join(dir, DefaultDirName, "appendonly.aof.1.incr.aof"))
	want := "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n" +
		"*1\r\n$8\r\nFLUSHALL\r\n" +
		"*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n" +
		"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nd\r\n$1\r\n4\r\n"
	if string(data) != want {
		t.Fatalf("file:\n%q\nwant\n%q", data, want)
	}
	// A reopened file starts with a SELECT again.
	w = mustOpen(t, dir, Options{})
	w.Append(0, toArgs("SET", "e", "5"))
	w.Close()
	data2, _ := os.ReadFile(filepath.Join(dir, DefaultDirName, "appendonly.aof.1.incr.aof"))
	if string(data2[len(data):]) != "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\ne\r\n$1\r\n5\r\n" {
		t.Fatalf("after reopen: %q", data2[len(data):])
	}
}

func TestFsyncPolicies(t *testing.T) {
	tests := []struct {
		policy FsyncPolicy
		// fsyncs expected with no WaitSynced, after a short idle period
		background bool
	}{
		{FsyncAlways, true},
		{FsyncEverysec, true},
		{FsyncNo, false},
	}
	for _, tt := range tests {
		t.Run(tt.policy.String(), func(t *testing.T) {
			fs := &faultFS{}
			dir := t.TempDir()
			w := mustOpen(t, dir, Options{Fsync: tt.policy, open: fs.open, everysec: 20 * time.Millisecond})
			off := w.Append(0, toArgs("SET", "k", "v"))
			// Writes go out promptly under every policy.
			waitFor(t, func() bool { return w.Stats().Written == off })
			if tt.policy == FsyncAlways {
				// Released only once fsynced.
				if err := w.WaitSynced(off); err != nil || w.Stats().Synced < off || fs.syncs.Load() == 0 {
					t.Fatalf("always: %v %+v", err, w.Stats())
				}
			}
			time.Sleep(100 * time.Millisecond)
			if got := fs.syncs.Load() > 0; got != tt.background {
				t.Fatalf("background fsync = %v (%d), want %v", got, fs.syncs.Load(), tt.background)
			}
			if tt.policy == FsyncEverysec {
				// Nothing new: no further fsyncs.
				n := fs.syncs.Load()
				time.Sleep(100 * time.Millisecond)
				if fs.syncs.Load() != n {
					t.Fatalf("everysec fsyncs with nothing to sync")
				}
				if s := w.Stats(); s.Synced != off || time.Since(s.LastSync) > time.Second {
					t.Fatalf("%+v", s)
				}
			}
			// WaitSynced forces an fsync under every policy.
			off = w.Append(0, toArgs("SET", "k", "w"))
			if err := w.WaitSynced(off); err != nil {
				t.Fatal(err)
			}
			if s := w.Stats(); s.Synced < off {
				t.Fatalf("%+v", s)
			}
			n := fs.syncs.Load()
			w.Append(0, toArgs("SET", "k", "x"))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if fs.syncs.Load() == n { // Close fsyncs
				t.Fatal("Close did not fsync")
			}
			if err := w.WaitSynced(w.Offset() + 1); !errors.Is(err, ErrClosed) {
				t.Fatalf("after Close: %v", err)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestWaitSyncedConcurrent: 50 appenders under always; each is released
// only when its own record is fsynced, and fsyncs are shared.
func TestWaitSyncedConcurrent(t *testing.T) {
	fs := &faultFS{}
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{Fsync: FsyncAlways, open: fs.open})
	const appenders, each = 50, 40
	var wg sync.WaitGroup
	errs := make(chan error, appenders)
	for g := 0; g < appenders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				off := w.Append(g%16, toArgs("RPUSH", "list", string(rune('a'+g%26)), time.Now().String()))
				if err := w.WaitSynced(off); err != nil {
					errs <- err
					return
				}
				if s := w.Stats(); s.Synced < off {
					errs <- errors.New("released before its fsync")
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _, err := loadDir(t, dir, LoadOptions{})
	if err != nil || len(got) != appenders*each {
		t.Fatalf("%v: %d commands", err, len(got))
	}
	t.Logf("%d commands, %d fsyncs", appenders*each, fs.syncs.Load())
	if fs.syncs.Load() >= appenders*each {
		t.Fatalf("no group commit: %d fsyncs for %d commands", fs.syncs.Load(), appenders*each)
	}
}

// TestDiskFull: writes fail with ENOSPC (some bytes getting out), Err
// reports it, WaitSynced returns it; when space returns the queued data is
// written, the error clears, and nothing is lost or duplicated.
func TestDiskFull(t *testing.T) {
	for _, policy := range []FsyncPolicy{FsyncAlways, FsyncEverysec, FsyncNo} {
		t.Run(policy.String(), func(t *testing.T) {
			fs := &faultFS{}
			dir := t.TempDir()
			w := mustOpen(t, dir, Options{Fsync: policy, open: fs.open, RetryInterval: 5 * time.Millisecond})
			var want []rec
			add := func(r rec) int64 { want = append(want, r); return w.Append(r.db, toArgs(r.args...)) }
			if err := w.WaitSynced(add(rec{0, []string{"SET", "before", "full"}})); err != nil {
				t.Fatal(err)
			}
			fs.set(syscall.ENOSPC, nil, nil, 7)
			off := add(rec{1, []string{"SET", "during", "full"}})
			waitFor(t, func() bool { return w.Err() != nil })
			var de *DiskError
			if err := w.Err(); !errors.As(err, &de) || !errors.Is(err, syscall.ENOSPC) || de.Op != "write" {
				t.Fatalf("Err = %v", err)
			}
			if s := w.Stats(); s.LastWriteErr == nil {
				t.Fatalf("stats %+v", s)
			}
			if err := w.WaitSynced(off); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("WaitSynced = %v", err)
			}
			for i := 0; i < 20; i++ {
				add(rec{i % 3, []string{"INCR", "n"}})
			}
			time.Sleep(30 * time.Millisecond) // several failed retries, each getting 7 bytes out
			fs.set(nil, nil, nil, 0)
			off = w.Offset()
			waitFor(t, func() bool { return w.Err() == nil && w.Stats().Written == off })
			if err := w.WaitSynced(off); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, _, err := loadDir(t, dir, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sameRecs(t, got, want)
		})
	}
}

func TestFsyncError(t *testing.T) {
	for _, policy := range []FsyncPolicy{FsyncAlways, FsyncEverysec} {
		t.Run(policy.String(), func(t *testing.T) {
			fs := &faultFS{}
			dir := t.TempDir()
			w := mustOpen(t, dir, Options{Fsync: policy, open: fs.open, RetryInterval: 5 * time.Millisecond, everysec: 10 * time.Millisecond})
			fs.set(nil, syscall.EIO, nil, 0)
			off := w.Append(0, toArgs("SET", "a", "b"))
			if err := w.WaitSynced(off); !errors.Is(err, syscall.EIO) {
				t.Fatalf("WaitSynced = %v", err)
			}
			var de *DiskError
			if err := w.Err(); !errors.As(err, &de) || de.Op != "fsync" {
				t.Fatalf("Err = %v", err)
			}
			fs.set(nil, nil, nil, 0)
			waitFor(t, func() bool { return w.Err() == nil })
			if err := w.WaitSynced(off); err != nil {
				t.Fatal(err)
			}
			w.Close()
		})
	}
}

func TestCloseWithPersistentError(t *testing.T) {
	fs := &faultFS{}
	w := mustOpen(t, t.TempDir(), Options{open: fs.open, RetryInterval: time.Hour})
	fs.set(syscall.ENOSPC, nil, nil, 0)
	off := w.Append(0, toArgs("SET", "a", "b"))
	waitFor(t, func() bool { return w.Err() != nil })
	if err := w.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Close = %v", err)
	}
	if err := w.WaitSynced(off); err == nil {
		t.Fatal("WaitSynced succeeded for lost data")
	}
	w.Append(0, toArgs("SET", "after", "close")) // dropped, no panic
}

func TestSizesAndRewriteNeeded(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{Fsync: FsyncAlways})
	if w.RewriteNeeded(100, 0) {
		t.Fatal("empty AOF needs a rewrite")
	}
	var off int64
	for i := 0; i < 100; i++ {
		off = w.Append(0, toArgs("SET", "key", "value"))
	}
	w.WaitSynced(off)
	s := w.Stats()
	if s.CurrentSize != off || s.BaseSize != 0 || s.IncrFile != "appendonly.aof.1.incr.aof" {
		t.Fatalf("%+v", s)
	}
	if !w.RewriteNeeded(100, 64) || w.RewriteNeeded(100, off) || w.RewriteNeeded(0, 0) {
		t.Fatal("RewriteNeeded")
	}
	rw, _ := w.StartRewrite(BaseAOF)
	if w.RewriteNeeded(100, 0) {
		t.Fatal("RewriteNeeded during a rewrite")
	}
	rr := NewRewriter(rw)
	rr.Command(0, toArgs("SET", "key", "value")...)
	rr.Flush()
	if err := w.FinishRewrite(rw); err != nil {
		t.Fatal(err)
	}
	s = w.Stats()
	if s.CurrentSize != rr.Written() || s.BaseSize != s.CurrentSize || s.BaseFile != "appendonly.aof.1.base.aof" || !s.LastRewrite {
		t.Fatalf("after rewrite %+v (base %d)", s, rr.Written())
	}
	if w.RewriteNeeded(100, 0) {
		t.Fatal("needs a rewrite right after one")
	}
	for i := 0; i < 3; i++ {
		off = w.Append(0, toArgs("SET", "key", "value"))
	}
	w.WaitSynced(off)
	if !w.RewriteNeeded(100, 0) { // grew from ~50 to ~150 bytes
		t.Fatalf("%+v", w.Stats())
	}
	w.Close()
	// Reopening computes the same size from the files.
	w = mustOpen(t, dir, Options{})
	if got := w.Stats(); got.CurrentSize != rr.Written()+off-rw.Offset() {
		t.Fatalf("reopened %+v", got)
	}
	w.Close()
}

func TestParseFsyncPolicy(t *testing.T) {
	for _, s := range []string{"always", "everysec", "no", "ALWAYS"} {
		p, err := ParseFsyncPolicy(s)
		if err != nil || (s != "ALWAYS" && p.String() != s) {
			t.Fatal(s, p, err)
		}
	}
	if _, err := ParseFsyncPolicy("sometimes"); err == nil {
		t.Fatal("accepted sometimes")
	}
}

// slowFile blocks writes until released, as a saturated disk does.
type slowFile struct {
	gate chan struct{}
	f    appendFile
}

func (s *slowFile) Write(p []byte) (int, error) { <-s.gate; return s.f.Write(p) }
func (s *slowFile) Sync() error                 { return s.f.Sync() }
func (s *slowFile) Close() error                { return s.f.Close() }

func TestWaitBuffered(t *testing.T) {
	gate := make(chan struct{})
	open := func(path string) (appendFile, error) {
		f, err := openAppend(path)
		return &slowFile{gate, f}, err
	}
	w := mustOpen(t, t.TempDir(), Options{open: open})
	for i := 0; i < 100; i++ {
		w.Append(0, toArgs("SET", "k", "0123456789"))
	}
	if err := w.WaitBuffered(1 << 20); err != nil { // under the limit: no wait
		t.Fatal(err)
	}
	if s := w.Stats(); s.BufferLength != s.Appended {
		t.Fatalf("%+v", s)
	}
	released := make(chan error)
	go func() { released <- w.WaitBuffered(100) }()
	select {
	case <-released:
		t.Fatal("WaitBuffered returned while the disk is stuck")
	case <-time.After(50 * time.Millisecond):
	}
	close(gate)
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReopenContinuesOffsets: a Writer reopened in place (a new fsync
// policy) with the old one's Offset keeps the offsets the old one handed
// out meaningful: WaitSynced on them returns at once instead of waiting for
// the new log to grow that far, and new appends go after the old records.
func TestReopenContinuesOffsets(t *testing.T) {
	dir := t.TempDir()
	old := mustOpen(t, dir, Options{Fsync: FsyncEverysec})
	var off int64
	for i := 0; i < 100; i++ {
		off = old.Append(0, toArgs("SET", "k", "old"))
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	w := mustOpen(t, dir, Options{Fsync: FsyncAlways, Offset: old.Offset()})
	done := make(chan error, 1)
	go func() { done <- w.WaitSynced(off) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitSynced on an offset of the previous writer blocks")
	}
	next := w.Append(0, toArgs("SET", "k", "new"))
	if next <= off {
		t.Fatalf("new offset %d not after the old writer's %d", next, off)
	}
	if err := w.WaitSynced(next); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Synced != next || s.Written != next {
		t.Fatalf("stats %+v, want written and synced %d", s, next)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _, err := loadDir(t, dir, LoadOptions{})
	if err != nil || len(got) != 101 || string(got[100].args[2]) != "new" {
		t.Fatalf("%v: %d records", err, len(got))
	}
}
