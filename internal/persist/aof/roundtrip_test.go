package aof

import "testing"

func TestAppendReplaySimple(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{Fsync: FsyncAlways})
	want := []rec{
		{0, []string{"SET", "a", "1"}},
		{3, []string{"RPUSH", "l", "x", "y"}},
		{3, []string{"SET", "b", ""}},
		{0, []string{"DEL", "a"}},
	}
	var off int64
	for _, r := range want {
		off = w.Append(r.db, toArgs(r.args...))
	}
	if err := w.WaitSynced(off); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, res, err := loadDir(t, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, want)
	if !res.Found || len(res.Files) != 1 || res.Files[0].Name != "appendonly.aof.1.incr.aof" {
		t.Fatalf("result %+v", res)
	}
}
