package rdb

import (
	"errors"
	"fmt"
	"testing"
)

// TestDumpFromRedis parses the DUMP payload of every key the golden fill
// creates and compares it with the server's view.
func TestDumpFromRedis(t *testing.T) {
	s := startRedis(t, t.TempDir())
	rc := s.conn()
	keys := fillRedis(t, rc)
	views := snapshotServer(t, rc, keys)
	seen := map[Encoding]bool{}
	for _, k := range keys {
		rc.must("SELECT", k.db)
		payload := replyBytes(rc.must("DUMP", k.key))
		v, enc, err := ParseDumpEncoding(payload)
		id := fmt.Sprintf("%d/%s", k.db, k.key)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		seen[enc] = true
		view := views[id]
		sameValue(t, id, view.value, v)
		if enc != view.enc {
			t.Errorf("%s: DUMP encoding %s, server encoding maps to %s", id, enc, view.enc)
		}
		// Our payload for the decoded value is accepted back and is the
		// same value.
		rc.must("RESTORE", k.key+":again", 0, DumpValue(v))
		sameValue(t, id+" re-restored", view.value, fetchValue(t, rc, []byte(k.key+":again")))
	}
	for _, enc := range []Encoding{EncString, EncListQuicklist2, EncSetIntset, EncSet, EncZSetListpack,
		EncZSet2, EncHashListpack, EncHash, EncStreamListpacks2} {
		if !seen[enc] {
			t.Errorf("no DUMP payload of type %s", enc)
		}
	}
}

// TestDumpValueRestoresInRedis RESTOREs DumpValue's payload for every catalog
// value and reads it back.
func TestDumpValueRestoresInRedis(t *testing.T) {
	s := startRedis(t, t.TempDir())
	rc := s.conn()
	for _, c := range catalog() {
		key := fmt.Sprintf("%d:%s", c.DB, c.Key)
		payload := DumpValue(c.Value)
		if reply := rc.must("RESTORE", key, 0, payload); reply != "OK" {
			t.Fatalf("%s: RESTORE %v", key, reply)
		}
		sameValue(t, key, c.Value, fetchValue(t, rc, []byte(key)))
		if enc := rc.str("OBJECT", "ENCODING", key); enc != c.redisEnc {
			t.Errorf("%s: OBJECT ENCODING %s, want %s", key, enc, c.redisEnc)
		}
		// Byte-for-byte: Redis's own DUMP of the restored key decodes to
		// the same value with the same encoding.
		back, enc, err := ParseDumpEncoding(replyBytes(rc.must("DUMP", key)))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if enc != c.enc {
			t.Errorf("%s: Redis dumps it as %s, DumpValue as %s", key, enc, c.enc)
		}
		sameValue(t, key+" (redis DUMP)", c.Value, back)
	}
}

// TestDumpErrorsMatchRedis checks that payloads ParseDump refuses are refused
// by RESTORE with the same wording.
func TestDumpErrorsMatchRedis(t *testing.T) {
	s := startRedis(t, t.TempDir())
	rc := s.conn()
	good := DumpValue(String("hello"))
	badSum := append([]byte{}, good...)
	badSum[len(badSum)-1] ^= 1
	newer := withDumpFooter(good[:len(good)-10], Version+1)
	garbage := withDumpFooter([]byte{byte(EncHashListpack), 5, 1, 2, 3, 4, 5}, Version)
	// Redis reads a value's bytes without bounding them by the footer, so a
	// short truncation is read into the footer and passes; ParseDump is
	// stricter. Past the footer both refuse it.
	trunc := withDumpFooter([]byte{byte(EncString), 60, 'a'}, Version)
	for name, p := range map[string][]byte{"checksum": badSum, "version": newer, "garbage": garbage, "truncated": trunc} {
		_, perr := ParseDump(p)
		if perr == nil {
			t.Errorf("%s: ParseDump accepted it", name)
			continue
		}
		want := ErrBadDataFormat
		if errors.Is(perr, ErrDumpPayload) {
			want = ErrDumpPayload
		}
		reply, err := rc.do("RESTORE", "k:"+name, 0, p)
		if err != nil {
			t.Fatal(err)
		}
		re, ok := reply.(respError)
		if !ok || string(re) != want.Error() {
			t.Errorf("%s: ParseDump says %v, RESTORE says %v", name, perr, reply)
		}
	}
}
