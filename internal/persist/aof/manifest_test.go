package aof

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseManifest(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // Marshal of the result, or "" on error
		err      string // substring of the error
	}{
		{"redis default", "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
			"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n", ""},
		{"incr only", "file appendonly.aof.1.incr.aof seq 1 type i\n", "file appendonly.aof.1.incr.aof seq 1 type i\n", ""},
		{"base only", "file appendonly.aof.1.base.rdb seq 1 type b\n", "file appendonly.aof.1.base.rdb seq 1 type b\n", ""},
		{"upgraded", "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
			"file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n", ""},
		{"history reordered", "file a.2.base.aof seq 2 type b\nfile a.3.incr.aof seq 3 type i\nfile a.1.base.aof seq 1 type h\nfile a.4.incr.aof seq 4 type i\n",
			"file a.2.base.aof seq 2 type b\nfile a.1.base.aof seq 1 type h\nfile a.3.incr.aof seq 3 type i\nfile a.4.incr.aof seq 4 type i\n", ""},
		{"quoted", "file \"a b\\\"x.aof.1.base.rdb\" seq 1 type b\n", "file \"a b\\\"x.aof.1.base.rdb\" seq 1 type b\n", ""},
		{"comments and CRLF", "# hello\nfile x.1.incr.aof seq 1 type i\r\n#bye", "file x.1.incr.aof seq 1 type i\n", ""},
		{"keys any case, extra pairs", "FILE x.1.incr.aof SEQ 1 TYPE i future yes\n", "file x.1.incr.aof seq 1 type i\n", ""},
		{"empty", "", "", "Found an empty AOF manifest"},
		{"only comments", "# nothing\n", "", ""},
		{"no final newline", "file x.1.incr.aof seq 1 type i", "", "too long line"},
		{"too long", "file " + strings.Repeat("x", 1100) + " seq 1 type i\n", "", "too long line"},
		{"blank line", "file x.1.incr.aof seq 1 type i\n\n", "", "Invalid AOF manifest file format"},
		{"too few", "file x seq 1\n", "", "Invalid AOF manifest file format"},
		{"odd", "file x seq 1 type i extra\n", "", "Invalid AOF manifest file format"},
		{"unbalanced quote", "file \"x seq 1 type i\n", "", "Invalid AOF manifest file format"},
		{"zero seq", "file x seq 0 type i\n", "", "Invalid AOF manifest file format"},
		{"path", "file ../x seq 1 type i\n", "", "File can't be a path"},
		{"dup base", "file a seq 1 type b\nfile b seq 2 type b\n", "", "duplicate base"},
		{"non-monotonic", "file a seq 2 type i\nfile b seq 2 type i\n", "", "non-monotonic"},
		{"unknown type", "file a seq 1 type z\n", "", "Unknown AOF file type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseManifest("appendonly.aof.manifest", []byte(tt.in))
			if tt.err != "" {
				var me *ManifestError
				if err == nil || !errors.As(err, &me) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(m.Marshal()); got != tt.want {
				t.Fatalf("Marshal = %q, want %q", got, tt.want)
			}
			// Marshal's output parses back to the same manifest.
			if tt.want != "" {
				m2, err := ParseManifest("m", m.Marshal())
				if err != nil || string(m2.Marshal()) != tt.want {
					t.Fatalf("round trip: %v %q", err, m2.Marshal())
				}
			}
		})
	}
}

func TestManifestQuoting(t *testing.T) {
	for _, name := range []string{"plain.aof", "a b.aof", `q"uote`, "tab\there", "nl\nx", "\x01\xff", "ü.aof"} {
		m := &Manifest{Incr: []FileInfo{{Name: name, Seq: 7, Type: TypeIncr}}}
		got, err := ParseManifest("m", m.Marshal())
		if err != nil {
			t.Fatalf("%q: %v (%q)", name, err, m.Marshal())
		}
		if got.Incr[0].Name != name {
			t.Fatalf("%q came back as %q", name, got.Incr[0].Name)
		}
	}
}

func TestWriteManifestAtomic(t *testing.T) {
	dir := t.TempDir()
	m := &Manifest{Base: &FileInfo{"appendonly.aof.1.base.rdb", 1, TypeBase}, Incr: []FileInfo{{"appendonly.aof.1.incr.aof", 1, TypeIncr}}}
	if err := WriteManifest(dir, DefaultFileName, m); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "appendonly.aof.manifest"))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n" {
		t.Fatalf("manifest %q", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "temp-appendonly.aof.manifest")); !os.IsNotExist(err) {
		t.Fatalf("temp manifest left behind: %v", err)
	}
	got, err := ReadManifest(dir, DefaultFileName)
	if err != nil || string(got.Marshal()) != string(data) {
		t.Fatalf("ReadManifest: %v", err)
	}
	if m, err := ReadManifest(t.TempDir(), DefaultFileName); m != nil || err != nil {
		t.Fatalf("missing manifest: %v %v", m, err)
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"))
	f.Add([]byte("file \"a b\\\"x\" seq 1 type b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest("m", data)
		if err != nil {
			return
		}
		// What parses must survive a round trip.
		m2, err := ParseManifest("m", m.Marshal())
		if err != nil {
			if m.empty() && len(m.History) == 0 {
				return // an all-comment manifest marshals to nothing
			}
			t.Fatalf("re-parse %q: %v", m.Marshal(), err)
		}
		if string(m2.Marshal()) != string(m.Marshal()) {
			t.Fatalf("round trip changed %q to %q", m.Marshal(), m2.Marshal())
		}
	})
}
