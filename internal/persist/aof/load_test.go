package aof

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeDir lays out an AOF directory: a manifest and files.
func writeDir(t *testing.T, manifest string, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	ad := filepath.Join(dir, DefaultDirName)
	if err := os.MkdirAll(ad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ad, "appendonly.aof.manifest"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(ad, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func cmds(rs ...rec) []byte {
	var b []byte
	db := -1
	for _, r := range rs {
		if r.db != db {
			b = appendSelect(b, r.db)
			db = r.db
		}
		b = AppendCommand(b, toArgs(r.args...)...)
	}
	return b
}

const incrOnly = "file appendonly.aof.1.incr.aof seq 1 type i\n"

func TestLoadNoAOF(t *testing.T) {
	got, res, err := loadDir(t, t.TempDir(), LoadOptions{})
	if err != nil || res.Found || len(got) != 0 {
		t.Fatalf("empty dir: %v %+v %v", err, res, got)
	}
	// A directory without a manifest is no AOF either, as in Redis.
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, DefaultDirName), 0o755)
	if _, res, err := loadDir(t, dir, LoadOptions{}); err != nil || res.Found {
		t.Fatalf("dir without manifest: %v %+v", err, res)
	}
}

func TestLoadMissingFile(t *testing.T) {
	dir := writeDir(t, "file appendonly.aof.1.base.rdb seq 1 type b\n"+incrOnly, map[string][]byte{"appendonly.aof.1.incr.aof": nil})
	_, _, err := loadDir(t, dir, LoadOptions{})
	var le *LoadError
	if !errors.As(err, &le) || le.File != "appendonly.aof.1.base.rdb" {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadSelectMultiAnnotations(t *testing.T) {
	in := "#TS:1700000000\r\n" +
		"*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n" +
		"*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n" +
		"*1\r\n$5\r\nmulti\r\n" +
		"*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n" +
		"*2\r\n$6\r\nselect\r\n$1\r\n7\r\n" +
		"*3\r\n$3\r\nset\r\n$1\r\nc\r\n$1\r\n3\r\n" +
		"*1\r\n$4\r\nEXEC\r\n" +
		"#" + strings.Repeat("long annotation ", 10000) + "\n" +
		"*2\r\n$3\r\ndel\r\n$1\r\nc\r\n" +
		"*1\r\n$4\r\nEXEC\r\n" // EXEC without MULTI: ignored, as Redis does
	dir := writeDir(t, incrOnly, map[string][]byte{"appendonly.aof.1.incr.aof": []byte(in)})
	got, res, err := loadDir(t, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, []rec{{5, []string{"set", "a", "1"}}, {5, []string{"set", "b", "2"}}, {7, []string{"set", "c", "3"}}, {7, []string{"del", "c"}}})
	if res.Commands != 4 || res.Truncated != nil {
		t.Fatalf("%+v", res)
	}
}

func TestLoadEachFileStartsInDB0(t *testing.T) {
	base := append(appendSelect(nil, 4), AppendCommand(nil, toArgs("SET", "k", "v")...)...)
	incr := AppendCommand(nil, toArgs("SET", "k2", "v2")...)
	dir := writeDir(t, "file appendonly.aof.1.base.aof seq 1 type b\n"+incrOnly,
		map[string][]byte{"appendonly.aof.1.base.aof": base, "appendonly.aof.1.incr.aof": incr})
	got, _, err := loadDir(t, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, []rec{{4, []string{"SET", "k", "v"}}, {0, []string{"SET", "k2", "v2"}}})
}

// TestTornTail cuts the last file at every byte of its last record (and of
// the SELECT before it).
func TestTornTail(t *testing.T) {
	all := []rec{{0, []string{"SET", "a", "1"}}, {2, []string{"RPUSH", "list", "x\r\ny", ""}}, {9, []string{"SET", "bin", "\x00*2\r\n$"}}}
	full := cmds(all...)
	prefix := cmds(all[:2]...)
	for _, base := range []bool{false, true} {
		for cut := len(prefix) + 1; cut < len(full); cut++ {
			manifest, name := incrOnly, "appendonly.aof.1.incr.aof"
			files := map[string][]byte{}
			if base { // the torn file is the base, the only file
				manifest, name = "file appendonly.aof.1.base.aof seq 1 type b\n", "appendonly.aof.1.base.aof"
			}
			files[name] = full[:cut]
			// A complete SELECT is a complete command: the cut lands after it.
			sel := len(prefix) + len(appendSelect(nil, 9))
			wantCut := int64(len(prefix))
			if cut == sel {
				continue
			} else if cut > sel {
				wantCut = int64(sel)
			}
			// With aof-load-truncated no: an error naming file and offset, nothing touched.
			dir := writeDir(t, manifest, files)
			_, _, err := loadDir(t, dir, LoadOptions{LoadTruncated: false})
			var le *LoadError
			if !errors.As(err, &le) || !errors.Is(err, ErrTruncated) || le.File != name || le.Offset != wantCut {
				t.Fatalf("cut %d: err = %v, want truncated at %d", cut, err, wantCut)
			}
			if data, _ := os.ReadFile(filepath.Join(dir, DefaultDirName, name)); !bytes.Equal(data, full[:cut]) {
				t.Fatalf("cut %d: file changed without aof-load-truncated", cut)
			}
			// With yes: cut back to the last complete command, with a warning.
			got, res, err := loadDir(t, dir, LoadOptions{LoadTruncated: true})
			if err != nil {
				t.Fatalf("cut %d: %v", cut, err)
			}
			sameRecs(t, got, all[:2])
			if res.Truncated == nil || res.Truncated.Offset != wantCut || res.Truncated.Dropped != int64(cut)-wantCut || len(res.Warnings) == 0 {
				t.Fatalf("cut %d: result %+v", cut, res)
			}
			if data, _ := os.ReadFile(filepath.Join(dir, DefaultDirName, name)); !bytes.Equal(data, full[:wantCut]) {
				t.Fatalf("cut %d: file is %q after truncation", cut, data)
			}
			// The repaired file loads cleanly and can be appended to.
			w := mustOpen(t, dir, Options{})
			w.Append(9, toArgs("SET", "after", "repair"))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, res, err = loadDir(t, dir, LoadOptions{})
			if err != nil || res.Truncated != nil {
				t.Fatalf("cut %d: reload: %v %+v", cut, err, res)
			}
			sameRecs(t, got, append(append([]rec(nil), all[:2]...), rec{9, []string{"SET", "after", "repair"}}))
		}
	}
}

func TestTornTailNotLastFile(t *testing.T) {
	full := cmds(rec{0, []string{"SET", "a", "1"}}, rec{0, []string{"SET", "b", "2"}})
	dir := writeDir(t, "file appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n",
		map[string][]byte{"appendonly.aof.1.incr.aof": full[:len(full)-3], "appendonly.aof.2.incr.aof": cmds(rec{0, []string{"SET", "c", "3"}})})
	_, _, err := loadDir(t, dir, LoadOptions{LoadTruncated: true})
	var le *LoadError
	if !errors.As(err, &le) || !errors.Is(err, ErrTruncated) || le.File != "appendonly.aof.1.incr.aof" || !strings.Contains(err.Error(), "not the last file") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnterminatedMulti(t *testing.T) {
	before := cmds(rec{0, []string{"SET", "a", "1"}})
	tx := "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
	for _, tail := range []string{tx, tx + "*1\r\n$4\r\nEX", "*1\r\n$5\r\nMULTI\r\n"} {
		in := append(append([]byte(nil), before...), tail...)
		dir := writeDir(t, incrOnly, map[string][]byte{"appendonly.aof.1.incr.aof": in})
		_, _, err := loadDir(t, dir, LoadOptions{})
		var le *LoadError
		if !errors.As(err, &le) || !errors.Is(err, ErrTruncated) || le.Offset != int64(len(before)) {
			t.Fatalf("%q: err = %v", tail, err)
		}
		got, res, err := loadDir(t, dir, LoadOptions{LoadTruncated: true})
		if err != nil {
			t.Fatal(err)
		}
		sameRecs(t, got, []rec{{0, []string{"SET", "a", "1"}}})
		if res.Truncated == nil || res.Truncated.Offset != int64(len(before)) {
			t.Fatalf("%+v", res)
		}
	}
}

func TestCorruption(t *testing.T) {
	good := cmds(rec{0, []string{"SET", "a", "1"}})
	after := cmds(rec{0, []string{"SET", "z", "26"}})
	tests := []struct {
		name, bad string
		at        int // offset of the error within bad
	}{
		{"not a command", "+OK\r\n", 0},
		{"inline", "SET a b\r\n", 0},
		{"zero count", "*0\r\n", 0},
		{"negative count", "*-1\r\n", 0},
		{"count not a number", "*x\r\n", 0},
		{"not a bulk", "*1\r\n:1\r\n", 4},
		{"bad bulk length", "*1\r\n$1x\r\nab\r\n", 4},
		{"negative bulk", "*1\r\n$-1\r\n", 4},
		{"no CRLF after bulk", "*1\r\n$2\r\nabcd\r\n", 10},
		{"header without CR", "*1\n$1\r\na\r\n", 0},
		{"huge header", "*" + strings.Repeat("9", 40) + "\r\n", 0},
		{"NULs", "\x00\x00\x00\x00", 0},
		{"bad SELECT", "*2\r\n$6\r\nSELECT\r\n$1\r\nx\r\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append(append(append([]byte(nil), good...), tt.bad...), after...)
			dir := writeDir(t, incrOnly, map[string][]byte{"appendonly.aof.1.incr.aof": in})
			for _, truncOK := range []bool{false, true} {
				_, _, err := loadDir(t, dir, LoadOptions{LoadTruncated: truncOK})
				var le *LoadError
				if !errors.As(err, &le) || errors.Is(err, ErrTruncated) || le.File != "appendonly.aof.1.incr.aof" || le.Offset != int64(len(good)+tt.at) {
					t.Fatalf("err = %v, want format error at %d", err, len(good)+tt.at)
				}
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("err = %v, want ErrFormat", err)
				}
				if data, _ := os.ReadFile(filepath.Join(dir, DefaultDirName, "appendonly.aof.1.incr.aof")); !bytes.Equal(data, in) {
					t.Fatal("corrupt file was modified")
				}
			}
		})
	}
}

func TestApplyError(t *testing.T) {
	in := cmds(rec{0, []string{"SET", "a", "1"}}, rec{0, []string{"NOSUCH", "x"}})
	dir := writeDir(t, incrOnly, map[string][]byte{"appendonly.aof.1.incr.aof": in})
	boom := errors.New("Unknown command 'NOSUCH'")
	_, err := Load(dir, LoadOptions{Apply: func(db int, args [][]byte) error {
		if string(args[0]) == "NOSUCH" {
			return boom
		}
		return nil
	}})
	var le *LoadError
	if !errors.As(err, &le) || !errors.Is(err, boom) || le.Offset != int64(len(cmds(rec{0, []string{"SET", "a", "1"}}))) {
		t.Fatalf("err = %v", err)
	}
}

func TestRDBBaseAndPreamble(t *testing.T) {
	tail := cmds(rec{1, []string{"SET", "after", "preamble"}})
	dir := writeDir(t, "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n",
		map[string][]byte{
			"appendonly.aof.1.base.rdb": fakeRDB("base payload"),
			"appendonly.aof.1.incr.aof": append(fakeRDB("preamble"), tail...), // an AOF with an RDB preamble
			"appendonly.aof.2.incr.aof": cmds(rec{0, []string{"SET", "x", "y"}}),
		})
	var r recorder
	var rl rdbLog
	res, err := Load(dir, LoadOptions{RDB: rl.load, Apply: r.apply})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rl.payloads, ",") != "base payload,preamble" {
		t.Fatalf("RDB payloads %q", rl.payloads)
	}
	sameRecs(t, r.recs, []rec{{1, []string{"SET", "after", "preamble"}}, {0, []string{"SET", "x", "y"}}})
	if !res.Files[0].RDB || !res.Files[1].RDB || res.Files[2].RDB {
		t.Fatalf("%+v", res.Files)
	}
	// Without an RDB loader the preamble is an error, not garbage.
	if _, err := Load(dir, LoadOptions{Apply: r.apply}); err == nil || !strings.Contains(err.Error(), "RDB") {
		t.Fatalf("err = %v", err)
	}
	// An RDB decoder error names the file.
	_, err = Load(dir, LoadOptions{Apply: r.apply, RDB: func(string, *bufio.Reader) error { return io.ErrUnexpectedEOF }})
	var le *LoadError
	if !errors.As(err, &le) || le.File != "appendonly.aof.1.base.rdb" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
}

func TestLegacyUpgrade(t *testing.T) {
	dir := t.TempDir()
	old := append(fakeRDB("legacy"), cmds(rec{0, []string{"SET", "a", "1"}}, rec{6, []string{"SET", "b", "2"}})...)
	if err := os.WriteFile(filepath.Join(dir, "appendonly.aof"), old, 0o644); err != nil {
		t.Fatal(err)
	}
	got, res, err := loadDir(t, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameRecs(t, got, []rec{{0, []string{"SET", "a", "1"}}, {6, []string{"SET", "b", "2"}}})
	if !res.Upgraded || res.Manifest.Base == nil || res.Manifest.Base.Name != "appendonly.aof" {
		t.Fatalf("%+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "appendonly.aof")); !os.IsNotExist(err) {
		t.Fatal("old file still in dir")
	}
	m, _ := os.ReadFile(filepath.Join(dir, DefaultDirName, "appendonly.aof.manifest"))
	if string(m) != "file appendonly.aof seq 1 type b\n" {
		t.Fatalf("manifest %q", m)
	}
	// Appending after the upgrade goes to incremental file 1, as in Redis.
	w := mustOpen(t, dir, Options{})
	w.Append(0, toArgs("SET", "c", "3"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m, _ = os.ReadFile(filepath.Join(dir, DefaultDirName, "appendonly.aof.manifest"))
	if string(m) != "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n" {
		t.Fatalf("manifest %q", m)
	}
	got, res, err = loadDir(t, dir, LoadOptions{})
	if err != nil || res.Upgraded {
		t.Fatal(err, res.Upgraded)
	}
	sameRecs(t, got, []rec{{0, []string{"SET", "a", "1"}}, {6, []string{"SET", "b", "2"}}, {0, []string{"SET", "c", "3"}}})

	// Redis's third upgrade condition: the manifest was written but the
	// crash came before the rename.
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, "appendonly.aof"), cmds(rec{0, []string{"SET", "q", "w"}}), 0o644)
	os.MkdirAll(filepath.Join(dir, DefaultDirName), 0o755)
	os.WriteFile(filepath.Join(dir, DefaultDirName, "appendonly.aof.manifest"), []byte("file appendonly.aof seq 1 type b\n"), 0o644)
	got, res, err = loadDir(t, dir, LoadOptions{})
	if err != nil || !res.Upgraded {
		t.Fatal(err, res)
	}
	sameRecs(t, got, []rec{{0, []string{"SET", "q", "w"}}})
}

func TestLoadBadManifest(t *testing.T) {
	dir := writeDir(t, "file appendonly.aof.1.incr.aof seq 1 type x\n", nil)
	_, _, err := loadDir(t, dir, LoadOptions{})
	var me *ManifestError
	if !errors.As(err, &me) || me.Line != 1 {
		t.Fatalf("err = %v", err)
	}
}
