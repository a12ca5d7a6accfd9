package rdb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkCatalogInRedis compares every catalog key as the server reports it.
func checkCatalogInRedis(t *testing.T, rc *respConn, cat []catalogEntry, checkEnc bool) {
	t.Helper()
	perDB := map[int]int64{}
	for _, c := range cat {
		perDB[c.DB]++
	}
	for db, n := range perDB {
		rc.must("SELECT", db)
		if got := rc.int("DBSIZE"); got != n {
			t.Errorf("db %d: DBSIZE %d, want %d", db, got, n)
		}
	}
	for _, c := range cat {
		rc.must("SELECT", c.DB)
		id := fmt.Sprintf("%d/%s", c.DB, c.Key)
		sameValue(t, id, c.Value, fetchValue(t, rc, c.Key))
		exp := rc.int("PEXPIRETIME", c.Key)
		if exp < 0 {
			exp = 0
		}
		if exp != c.ExpireAt {
			t.Errorf("%s: PEXPIRETIME %d, want %d", id, exp, c.ExpireAt)
		}
		if checkEnc {
			if enc := rc.str("OBJECT", "ENCODING", c.Key); enc != c.redisEnc {
				t.Errorf("%s: OBJECT ENCODING %s, want %s", id, enc, c.redisEnc)
			}
		}
	}
	rc.must("SELECT", 0)
	if got := rc.str("FCALL", "ferry_ping", 0); got != "pong" {
		t.Errorf("FCALL ferry_ping: %q", got)
	}
}

func TestWriterFileLoadsInRedis(t *testing.T) {
	cat := catalog()
	for _, tc := range []struct {
		name     string
		opts     *WriterOptions
		checkEnc bool
	}{
		{"defaults", nil, true},
		{"no compression no checksum", &WriterOptions{NoCompression: true, NoChecksum: true}, true},
		{"plain encodings", &WriterOptions{HashMaxListpackEntries: -1, ZSetMaxListpackEntries: -1,
			SetMaxIntsetEntries: -1, ListMaxListpackSize: 3, ListPackedThreshold: 20,
			StreamNodeMaxEntries: 2, StreamNodeMaxBytes: -1}, false},
		{"big nodes", &WriterOptions{ListMaxListpackSize: -5, StreamNodeMaxBytes: 1 << 20, StreamNodeMaxEntries: 1000}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data := writeCatalog(t, cat, tc.opts)
			path := filepath.Join(dir, "ferry.rdb")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out := runCheckRDB(t, path)
			if !strings.Contains(out, fmt.Sprintf("%d keys read", len(cat))) {
				t.Errorf("redis-check-rdb output:\n%s", out)
			}
			s := startRedis(t, dir, "--dbfilename", "ferry.rdb")
			rc := s.conn()
			if !strings.Contains(s.out.String(), "DB loaded from disk") {
				t.Fatalf("server did not load the file:\n%s", s.out.String())
			}
			checkCatalogInRedis(t, rc, cat, tc.checkEnc)

			// Close the loop: what Redis saves from our data decodes to the
			// same values.
			rc.must("SAVE")
			again, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			recs, _ := readAll(t, again)
			checkCatalog(t, cat, recs, false)
		})
	}
}

// TestWriterEncodingsMatchRedis checks that, for every catalog value, the
// encoding the Writer picks is the one Redis 7.0 itself saves the value with
// after loading it.
func TestWriterEncodingsMatchRedis(t *testing.T) {
	cat := catalog()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dump.rdb"), writeCatalog(t, cat, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startRedis(t, dir)
	rc := s.conn()
	rc.must("SAVE")
	data, err := os.ReadFile(filepath.Join(dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := readAll(t, data)
	got := keysOf(recs)
	for _, c := range cat {
		rec := got[fmt.Sprintf("%d/%s", c.DB, c.Key)]
		if rec == nil {
			t.Errorf("%s missing", c.Key)
			continue
		}
		if rec.Encoding != c.enc {
			t.Errorf("%s: Redis saves it as %s, the Writer as %s", c.Key, rec.Encoding, c.enc)
		}
	}
}
