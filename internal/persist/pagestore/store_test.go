package pagestore

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

func TestPutReadFree(t *testing.T) {
	tests := []struct {
		name    string
		segSize int64
		n, size int
	}{
		{"buffered only", 1 << 20, 10, 100},
		{"flushed and buffered", 64 << 20, 2000, 300},
		{"many segments", 64 << 10, 3000, 500},
		{"empty bodies", 1 << 20, 100, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir() + "/p"
			os.MkdirAll(dir, 0o755)
			os.WriteFile(dir+"/stale.page", []byte("x"), 0o644)
			s, err := Open(dir, tc.segSize)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := os.Stat(dir + "/stale.page"); !os.IsNotExist(err) {
				t.Fatal("Open did not wipe the directory")
			}
			refs := make([]Ref, tc.n)
			for i := range refs {
				props := []byte(fmt.Sprintf("p%d", i))
				body := bytes.Repeat([]byte{byte(i)}, tc.size)
				if refs[i], err = s.Put(props, body); err != nil {
					t.Fatal(err)
				}
				if got := refs[i].BodyLen(len(props)); got != tc.size {
					t.Fatalf("BodyLen %d, want %d", got, tc.size)
				}
			}
			// Read in batches of 100 (adjacent runs) and one by one.
			for lo := 0; lo < tc.n; lo += 100 {
				hi := min(lo+100, tc.n)
				props := make([][]byte, hi-lo)
				bodies := make([][]byte, hi-lo)
				if err := s.Read(refs[lo:hi], props, bodies); err != nil {
					t.Fatal(err)
				}
				for k := range props {
					i := lo + k
					if string(props[k]) != fmt.Sprintf("p%d", i) || !bytes.Equal(bodies[k], bytes.Repeat([]byte{byte(i)}, tc.size)) {
						t.Fatalf("record %d read back wrong: %q", i, props[k])
					}
				}
			}
			for _, r := range refs {
				s.Free(r)
			}
			st := s.Stats()
			if st.Records != 0 || st.Bytes != 0 || st.Segments > 1 {
				t.Fatalf("after freeing everything: %+v", st)
			}
			// The store keeps working after being emptied.
			r, err := s.Put([]byte("a"), []byte("b"))
			if err != nil {
				t.Fatal(err)
			}
			p, b := make([][]byte, 1), make([][]byte, 1)
			if err := s.Read([]Ref{r}, p, b); err != nil || string(p[0]) != "a" || string(b[0]) != "b" {
				t.Fatalf("read after reuse: %q %q %v", p[0], b[0], err)
			}
		})
	}
}

func TestCloseRemovesFiles(t *testing.T) {
	dir := t.TempDir() + "/p"
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(nil, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("directory left after Close: %v", err)
	}
	if _, err := s.Put(nil, nil); err != ErrClosed {
		t.Fatalf("Put after Close: %v", err)
	}
}

func BenchmarkPutRead1K(b *testing.B) {
	s, err := Open(b.TempDir()+"/p", 0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := make([]byte, 1024)
	refs := make([]Ref, 256)
	props, bodies := make([][]byte, 256), make([][]byte, 256)
	b.SetBytes(1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		k := i % 256
		refs[k], _ = s.Put(nil, body)
		if k == 255 {
			if err := s.Read(refs, props, bodies); err != nil {
				b.Fatal(err)
			}
			for _, r := range refs {
				s.Free(r)
			}
		}
	}
}
