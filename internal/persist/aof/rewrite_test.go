package aof

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// model is a toy keyspace for rewrite tests: APPEND is not idempotent, so
// a command lost or replayed twice across the cut shows.
type model struct {
	mu   sync.Mutex
	data map[int]map[string]string
}

func newModel() *model { return &model{data: map[int]map[string]string{}} }

func (m *model) apply(db int, args [][]byte) error {
	d := m.data[db]
	if d == nil {
		d = map[string]string{}
		m.data[db] = d
	}
	switch strings.ToUpper(string(args[0])) {
	case "APPEND":
		d[string(args[1])] += string(args[2])
	case "SET":
		d[string(args[1])] = string(args[2])
	case "DEL":
		delete(d, string(args[1]))
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	return nil
}

func (m *model) String() string {
	var lines []string
	for db, d := range m.data {
		for k, v := range d {
			lines = append(lines, fmt.Sprintf("%d %q=%q", db, k, v))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func (m *model) snapshot() map[int]map[string]string {
	c := map[int]map[string]string{}
	for db, d := range m.data {
		c[db] = map[string]string{}
		for k, v := range d {
			c[db][k] = v
		}
	}
	return c
}

func writeBase(t *testing.T, rw *Rewrite, snap map[int]map[string]string) {
	t.Helper()
	rr := NewRewriter(rw)
	dbs := make([]int, 0, len(snap))
	for db := range snap {
		dbs = append(dbs, db)
	}
	sort.Ints(dbs)
	for _, db := range dbs {
		for k, v := range snap[db] {
			if err := rr.Command(db, toArgs("SET", k, v)...); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := rr.Flush(); err != nil {
		t.Fatal(err)
	}
}

func loadModel(t *testing.T, dir string) *model {
	t.Helper()
	m := newModel()
	if _, err := Load(dir, LoadOptions{Apply: m.apply}); err != nil {
		t.Fatal(err)
	}
	return m
}

func aofFiles(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(filepath.Join(dir, DefaultDirName))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestRewriteCutUnderLoad: appenders change the model and append under
// an "engine lock"; the rewrite snapshots the model and cuts under the same
// lock, writes the base while appends go on, and finishes. The files then
// replay to exactly the live model.
func TestRewriteCutUnderLoad(t *testing.T) {
	for _, policy := range []FsyncPolicy{FsyncAlways, FsyncEverysec} {
		t.Run(policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			w := mustOpen(t, dir, Options{Fsync: policy})
			live := newModel()
			var stop sync.WaitGroup
			done := make(chan struct{})
			for g := 0; g < 8; g++ {
				stop.Add(1)
				go func(g int) {
					defer stop.Done()
					for i := 0; ; i++ {
						select {
						case <-done:
							return
						default:
						}
						args := toArgs("APPEND", fmt.Sprintf("k%d", i%7), fmt.Sprintf("%d.%d,", g, i))
						db := (g + i) % 4
						live.mu.Lock()
						live.apply(db, args)
						off := w.Append(db, args)
						live.mu.Unlock()
						if policy == FsyncAlways && i%10 == 0 {
							if err := w.WaitSynced(off); err != nil {
								t.Error(err)
								return
							}
						}
					}
				}(g)
			}
			for r := 0; r < 5; r++ {
				live.mu.Lock()
				snap := live.snapshot()
				rw, err := w.StartRewrite(BaseAOF)
				live.mu.Unlock()
				if err != nil {
					t.Fatal(err)
				}
				writeBase(t, rw, snap)
				if err := w.FinishRewrite(rw); err != nil {
					t.Fatal(err)
				}
			}
			close(done)
			stop.Wait()
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := loadModel(t, dir)
			if got.String() != live.String() {
				t.Fatalf("replayed model differs from the live one")
			}
			m, _ := ReadManifest(filepath.Join(dir, DefaultDirName), DefaultFileName)
			if m.Base == nil || m.Base.Seq != 5 || len(m.Incr) != 1 || m.Incr[0].Seq != 6 || len(m.History) != 0 {
				t.Fatalf("manifest %s", m.Marshal())
			}
			// Only the manifest's files are left: history deleted, no temp files.
			if files := aofFiles(t, dir); len(files) != 3 {
				t.Fatalf("files %v", files)
			}
		})
	}
}

func TestRewriteAbortKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	live := newModel()
	add := func(db int, ss ...string) {
		live.apply(db, toArgs(ss...))
		w.Append(db, toArgs(ss...))
	}
	add(0, "APPEND", "a", "1")
	rw, _ := w.StartRewrite(BaseRDB)
	if _, err := w.StartRewrite(BaseRDB); !errors.Is(err, ErrRewriteInProgress) {
		t.Fatalf("second StartRewrite: %v", err)
	}
	add(0, "APPEND", "a", "2")
	rw.Write(fakeRDB("half a base"))
	if err := w.AbortRewrite(rw); err != nil {
		t.Fatal(err)
	}
	if err := w.FinishRewrite(rw); err == nil {
		t.Fatal("FinishRewrite after AbortRewrite succeeded")
	}
	add(0, "APPEND", "a", "3")
	if s := w.Stats(); s.LastRewrite || s.Rewriting {
		t.Fatalf("%+v", s)
	}
	w.Close()
	m, _ := ReadManifest(filepath.Join(dir, DefaultDirName), DefaultFileName)
	if string(m.Marshal()) != "file appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n" {
		t.Fatalf("manifest %q", m.Marshal())
	}
	if files := aofFiles(t, dir); len(files) != 3 { // no temp base left
		t.Fatalf("files %v", files)
	}
	if got := loadModel(t, dir); got.String() != live.String() || live.data[0]["a"] != "123" {
		t.Fatalf("got %s want %s", got, live)
	}

	// A later rewrite, in RDB format this time, folds all of it.
	w = mustOpen(t, dir, Options{})
	rw, _ = w.StartRewrite(BaseRDB)
	rw.Write(fakeRDB("a=123"))
	w.Append(0, toArgs("APPEND", "a", "4"))
	if err := w.FinishRewrite(rw); err != nil {
		t.Fatal(err)
	}
	w.Close()
	m, _ = ReadManifest(filepath.Join(dir, DefaultDirName), DefaultFileName)
	if string(m.Marshal()) != "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n" {
		t.Fatalf("manifest %q", m.Marshal())
	}
	got, res, err := loadDir(t, dir, LoadOptions{})
	if err != nil || !res.Files[0].RDB {
		t.Fatal(err)
	}
	sameRecs(t, got, []rec{{0, []string{"APPEND", "a", "4"}}})
}

// TestRewriteSwitchFails: the new incremental file cannot be created; the
// rewrite fails, appends go on in the old file, nothing is lost, and the
// next rewrite works.
func TestRewriteSwitchFails(t *testing.T) {
	fs := &faultFS{}
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{open: fs.open})
	live := newModel()
	add := func(db int, ss ...string) {
		live.apply(db, toArgs(ss...))
		w.Append(db, toArgs(ss...))
	}
	add(1, "APPEND", "a", "1")
	fs.set(nil, nil, syscall.EMFILE, 0)
	rw, _ := w.StartRewrite(BaseAOF)
	add(1, "APPEND", "a", "2")
	writeBase(t, rw, live.snapshot())
	if err := w.FinishRewrite(rw); !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("FinishRewrite = %v", err)
	}
	if s := w.Stats(); s.LastRewrite {
		t.Fatal("LastRewrite ok after a failure")
	}
	fs.set(nil, nil, nil, 0)
	add(2, "APPEND", "b", "1")
	if files := aofFiles(t, dir); len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	rw, _ = w.StartRewrite(BaseAOF)
	writeBase(t, rw, live.snapshot())
	add(2, "APPEND", "b", "2")
	if err := w.FinishRewrite(rw); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got := loadModel(t, dir); got.String() != live.String() {
		t.Fatalf("got %s want %s", got, live)
	}
}

func TestRewriteClosedWriter(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{})
	w.Append(0, toArgs("SET", "a", "1"))
	rw, _ := w.StartRewrite(BaseAOF)
	rw.Write([]byte("*1\r\n$4\r\nPING\r\n"))
	w.Close()
	if err := w.FinishRewrite(rw); !errors.Is(err, ErrClosed) {
		t.Fatalf("FinishRewrite after Close = %v", err)
	}
	if _, err := w.StartRewrite(BaseAOF); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	for _, f := range aofFiles(t, dir) {
		if strings.HasPrefix(f, "temp-") {
			t.Fatalf("temp file %s left", f)
		}
	}
	got, _, err := loadDir(t, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, []rec{{0, []string{"SET", "a", "1"}}})
}

// TestOpenCleansUp: history entries and stale temp files from a crash in
// the middle of a rewrite are removed by Open.
func TestOpenCleansUp(t *testing.T) {
	dir := writeDir(t, "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.1.base.aof seq 1 type h\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n",
		map[string][]byte{
			"appendonly.aof.1.base.aof":          cmds(rec{0, []string{"SET", "old", "1"}}),
			"appendonly.aof.1.incr.aof":          cmds(rec{0, []string{"SET", "old", "2"}}),
			"appendonly.aof.2.base.aof":          cmds(rec{0, []string{"SET", "new", "1"}}),
			"appendonly.aof.2.incr.aof":          cmds(rec{0, []string{"SET", "new", "2"}}),
			"temp-rewriteaof-ferry-123-1.aof":    []byte("partial"),
			"unrelated-file-the-user-put-here.x": []byte("keep"),
		})
	got, _, err := loadDir(t, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, []rec{{0, []string{"SET", "new", "1"}}, {0, []string{"SET", "new", "2"}}})
	w := mustOpen(t, dir, Options{})
	w.Close()
	files := strings.Join(aofFiles(t, dir), " ")
	if files != "appendonly.aof.2.base.aof appendonly.aof.2.incr.aof appendonly.aof.manifest unrelated-file-the-user-put-here.x" {
		t.Fatalf("files %s", files)
	}
}

func TestRewriterVariadic(t *testing.T) {
	var sb strings.Builder
	rr := NewRewriter(&sb)
	items := make([][]byte, 130)
	for i := range items {
		items[i] = []byte(fmt.Sprint(i))
	}
	rr.Variadic(2, []byte("RPUSH"), []byte("l"), items, 1)
	rr.Variadic(2, []byte("ZADD"), []byte("z"), items, 2) // 65 pairs: 64 + 1
	rr.Variadic(3, []byte("SADD"), []byte("s"), nil, 1)   // nothing
	rr.Command(3, toArgs("PEXPIREAT", "l", "1")...)
	if err := rr.Flush(); err != nil {
		t.Fatal(err)
	}
	var r recorder
	n, err := Replay("base", strings.NewReader(sb.String()), int64(sb.Len()), nil, r.apply)
	if err != nil || n != 6 {
		t.Fatal(n, err)
	}
	lens := []int{2 + 64, 2 + 64, 2 + 2, 2 + 128, 2 + 2, 3}
	for i, c := range r.recs {
		if len(c.args) != lens[i] {
			t.Fatalf("command %d has %d args, want %d", i, len(c.args), lens[i])
		}
	}
	if r.recs[5].db != 3 || r.recs[0].db != 2 || rr.Written() != int64(sb.Len()) {
		t.Fatal(r.recs[5].db, rr.Written())
	}
	if strings.Count(sb.String(), "SELECT") != 2 {
		t.Fatal("SELECT count")
	}
}
