package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenKey is a key the golden test creates in the real server, with the
// value it expects (nil: take the server's own view, for streams).
type goldenKey struct {
	db   int
	key  string
	want Value
}

// fillRedis creates keys of every type and encoding Redis 7.0 writes,
// including values large enough to leave the compact encodings, compressed
// and PLAIN list nodes, integers of every width, TTLs and several databases.
func fillRedis(t *testing.T, rc *respConn) []goldenKey {
	rng := rand.New(rand.NewSource(99))
	var keys []goldenKey
	db := 0
	add := func(key string, want Value) { keys = append(keys, goldenKey{db, key, want}) }
	sel := func(n int) { db = n; rc.must("SELECT", n) }

	sel(0)
	set := func(k string, v []byte) { rc.must("SET", k, v); add(k, String(v)) }
	set("s:raw", []byte("hello world"))
	set("s:empty", nil)
	set("s:bin", []byte("\x00\xff\r\nbinary\x7f"))
	for _, n := range []int64{0, 1, -1, 127, 128, -128, -129, 32767, 32768, -32768, -32769,
		2147483647, 2147483648, -2147483648, -2147483649, math.MaxInt64, math.MinInt64} {
		set(fmt.Sprintf("s:int:%d", n), []byte(fmt.Sprint(n)))
	}
	for _, s := range []string{"007", "-0", "+5", "1.5", "12345678901234567890123", " 7"} {
		set("s:notint:"+s, []byte(s))
	}
	set("s:lzf", bytes.Repeat([]byte("abcdefgh"), 200))
	set("s:rand", randBytes(rng, 500))
	set("s:bigrand", randBytes(rng, 300<<10))
	set("s:bigrep", bytes.Repeat([]byte("redis rdb "), 40<<10))
	set("s:ttl", []byte("expiring"))
	rc.must("PEXPIREAT", "s:ttl", futureMs)
	rc.must("SET", "s:counter", "10")
	rc.must("INCRBY", "s:counter", 5)
	add("s:counter", String("15"))
	rc.must("SET", "s:append", "abc")
	rc.must("APPEND", "s:append", "def")
	add("s:append", String("abcdef"))

	push := func(k string, elems [][]byte) {
		for i := 0; i < len(elems); i += 500 {
			args := []any{"RPUSH", k}
			for _, e := range elems[i:min(i+500, len(elems))] {
				args = append(args, e)
			}
			rc.must(args...)
		}
		add(k, List(elems))
	}
	push("l:small", strs("a", "b", "1", "-2", "300", "", "4096", "-9223372036854775808"))
	push("l:big", rangeStrs("item-", 10000))
	rc.must("CONFIG", "SET", "list-compress-depth", "1")
	var comp [][]byte
	for i := 0; i < 3000; i++ {
		comp = append(comp, []byte(fmt.Sprintf("compressible-element-%05d-%s", i, strings.Repeat("z", 30))))
	}
	push("l:compressed", comp)
	rc.must("CONFIG", "SET", "list-compress-depth", "0")
	rc.must("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000")
	push("l:plain", [][]byte{[]byte("small"), bytes.Repeat([]byte("P"), 2000), []byte("tail"), bytes.Repeat([]byte("Q"), 5000)})
	rc.must("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1073741824")
	push("l:ttl", strs("x", "y"))
	rc.must("PEXPIREAT", "l:ttl", futureMs+5)

	sadd := func(k string, members [][]byte) {
		for i := 0; i < len(members); i += 500 {
			args := []any{"SADD", k}
			for _, m := range members[i:min(i+500, len(members))] {
				args = append(args, m)
			}
			rc.must(args...)
		}
		add(k, Set(members))
	}
	sadd("set:i16", strs("1", "2", "3", "-5", "32767"))
	sadd("set:i32", strs("70000", "1", "-2147483648"))
	sadd("set:i64", strs("9223372036854775807", "-1", "-9223372036854775808"))
	sadd("set:str", strs("a", "b", "c", "1"))
	sadd("set:bigint", rangeStrs("", 600))
	sadd("set:big", rangeStrs("member-", 2000))

	zadd := func(k string, z ZSet) {
		for i := 0; i < len(z); i += 500 {
			args := []any{"ZADD", k}
			for _, m := range z[i:min(i+500, len(z))] {
				args = append(args, m.Score, m.Member)
			}
			rc.must(args...)
		}
		add(k, z)
	}
	zadd("z:small", ZSet{{[]byte("a"), 1}, {[]byte("b"), -2.5}, {[]byte("c"), math.Inf(1)},
		{[]byte("d"), math.Inf(-1)}, {[]byte("e"), 0.1}, {[]byte("f"), 1e300}, {[]byte("g"), 0},
		{[]byte("123"), 42}, {[]byte("h"), -3}})
	var zbig ZSet
	for i := 0; i < 300; i++ {
		zbig = append(zbig, ZMember{[]byte(fmt.Sprintf("zm%d", i)), float64(i%50) * 1.25})
	}
	zadd("z:big", zbig)
	zadd("z:long", ZSet{{bytes.Repeat([]byte("L"), 100), 1}, {[]byte("s"), 2}})

	hset := func(k string, h Hash) {
		for i := 0; i < len(h); i += 500 {
			args := []any{"HSET", k}
			for _, fv := range h[i:min(i+500, len(h))] {
				args = append(args, fv.Field, fv.Value)
			}
			rc.must(args...)
		}
		add(k, h)
	}
	hset("h:small", Hash{{[]byte("f"), []byte("v")}, {[]byte("n"), []byte("12")}, {[]byte("neg"), []byte("-70000")}, {[]byte("e"), []byte("")}})
	var hbig Hash
	for i := 0; i < 500; i++ {
		hbig = append(hbig, FieldValue{[]byte(fmt.Sprintf("field:%d", i)), []byte(fmt.Sprint(i * 7))})
	}
	hset("h:big", hbig)
	hset("h:long", Hash{{[]byte("f"), bytes.Repeat([]byte("V"), 100)}, {[]byte("g"), []byte(strings.Repeat("compressible ", 10))}})

	// Streams: several nodes, deleted entries, differing fields, groups with
	// pending entries and consumers, an empty stream with a group, a trimmed
	// stream.
	for i := 1; i <= 250; i++ {
		args := []any{"XADD", "x:s", fmt.Sprintf("%d-%d", 1000+i/4, i%4), "n", i, "payload", strings.Repeat("p", i%30)}
		if i%9 == 0 {
			args = append(args, "extra", "field")
		}
		rc.must(args...)
	}
	rc.must("XDEL", "x:s", "1001-2", "1010-0", "1020-3")
	rc.must("XGROUP", "CREATE", "x:s", "g1", "0")
	rc.must("XGROUP", "CREATE", "x:s", "g2", "$")
	rc.must("XREADGROUP", "GROUP", "g1", "alice", "COUNT", 3, "STREAMS", "x:s", ">")
	rc.must("XREADGROUP", "GROUP", "g1", "bob", "COUNT", 2, "STREAMS", "x:s", ">")
	rc.must("XACK", "x:s", "g1", "1000-1")
	rc.must("XGROUP", "CREATECONSUMER", "x:s", "g1", "carol")
	add("x:s", nil)
	rc.must("XGROUP", "CREATE", "x:empty", "g", "$", "MKSTREAM")
	add("x:empty", nil)
	for i := 1; i <= 10; i++ {
		rc.must("XADD", "x:trim", fmt.Sprintf("5-%d", i), "k", "v")
	}
	rc.must("XTRIM", "x:trim", "MAXLEN", 3)
	add("x:trim", nil)

	rc.must("FUNCTION", "LOAD", testFunction)

	sel(1)
	set("s:db1", []byte("in db 1"))
	hset("h:db1", Hash{{[]byte("a"), []byte("1")}})
	rc.must("PEXPIREAT", "h:db1", futureMs+7)
	sel(9)
	push("l:db9", strs("nine"))
	sadd("set:db9", strs("9"))
	sel(15)
	zadd("z:db15", ZSet{{[]byte("m"), 15}})
	rc.must("SELECT", 0)
	return keys
}

// serverView is what the live server reports for a key.
type serverView struct {
	value    Value
	expireAt int64
	enc      Encoding
}

func snapshotServer(t *testing.T, rc *respConn, keys []goldenKey) map[string]serverView {
	out := map[string]serverView{}
	for _, k := range keys {
		rc.must("SELECT", k.db)
		v := fetchValue(t, rc, []byte(k.key))
		exp := rc.int("PEXPIRETIME", k.key)
		if exp < 0 {
			exp = 0
		}
		typ := rc.str("TYPE", k.key)
		enc := redisEncodingToRDB(typ, rc.str("OBJECT", "ENCODING", k.key))
		out[fmt.Sprintf("%d/%s", k.db, k.key)] = serverView{v, exp, enc}
	}
	rc.must("SELECT", 0)
	return out
}

func saveAndRead(t *testing.T, s *redisServer, rc *respConn) ([]byte, []*Record, *Reader) {
	t.Helper()
	rc.must("SAVE")
	data, err := os.ReadFile(filepath.Join(s.dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	recs, r := readAll(t, data)
	return data, recs, r
}

func TestGoldenRedisSave(t *testing.T) {
	s := startRedis(t, t.TempDir())
	rc := s.conn()
	keys := fillRedis(t, rc)
	views := snapshotServer(t, rc, keys)

	data, recs, r := saveAndRead(t, s, rc)
	if r.Version() != 10 {
		t.Errorf("version %d", r.Version())
	}
	got := keysOf(recs)
	if len(got) != len(keys) {
		t.Errorf("decoded %d keys, server has %d", len(got), len(keys))
	}
	for _, k := range keys {
		id := fmt.Sprintf("%d/%s", k.db, k.key)
		rec, view := got[id], views[id]
		if rec == nil {
			t.Errorf("%s: missing from the file", id)
			continue
		}
		sameValue(t, id+" (vs server)", view.value, rec.Value)
		if k.want != nil {
			sameValue(t, id+" (vs model)", k.want, rec.Value)
		}
		if rec.ExpireAt != view.expireAt {
			t.Errorf("%s: expire %d, server says %d", id, rec.ExpireAt, view.expireAt)
		}
		if rec.Encoding != view.enc {
			t.Errorf("%s: stored as %s, server encoding maps to %s", id, rec.Encoding, view.enc)
		}
		if rec.HasIdle || rec.HasFreq {
			t.Errorf("%s: idle/freq without an eviction policy", id)
		}
	}
	for _, enc := range []Encoding{EncString, EncListQuicklist2, EncSetIntset, EncSet, EncZSetListpack,
		EncZSet2, EncHashListpack, EncHash, EncStreamListpacks2} {
		if r.stats.encodings[enc] == 0 {
			t.Errorf("no key stored as %s", enc)
		}
	}
	if r.stats.lzfStrings == 0 || r.stats.intStrings == 0 || r.stats.plainNodes == 0 ||
		r.stats.compressedNodes == 0 || r.stats.packedNodes == 0 {
		t.Errorf("encodings not exercised: %+v", r.stats)
	}
	var aux = map[string]string{}
	var fns []string
	resize := map[int]uint64{}
	for _, rec := range recs {
		switch rec.Type {
		case RecordAux:
			aux[string(rec.AuxKey)] = string(rec.AuxValue)
		case RecordFunction:
			fns = append(fns, string(rec.FunctionCode))
		case RecordResizeDB:
			resize[rec.DB] = rec.DBSize
		}
	}
	if aux["redis-ver"] != "7.0.15" || aux["redis-bits"] != "64" {
		t.Errorf("aux %v", aux)
	}
	if len(fns) != 1 || fns[0] != testFunction {
		t.Errorf("functions %q", fns)
	}
	for _, db := range []int{0, 1, 9, 15} {
		rc.must("SELECT", db)
		if n := rc.int("DBSIZE"); resize[db] != uint64(n) {
			t.Errorf("db %d: RESIZEDB %d, DBSIZE %d", db, resize[db], n)
		}
	}
	rc.must("SELECT", 0)

	t.Run("checksum mismatch names offset", func(t *testing.T) {
		i := bytes.Index(data, []byte("hello world"))
		if i < 0 {
			t.Fatal("raw string not found in the file")
		}
		bad := append([]byte{}, data...)
		bad[i] ^= 0x20
		err := readUntilError(bad)
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrChecksum) || ce.Offset != int64(len(data)-8) {
			t.Fatalf("error %v", err)
		}
		if !strings.Contains(err.Error(), fmt.Sprint(len(data)-8)) {
			t.Errorf("message does not name the offset: %v", err)
		}
		// IgnoreChecksum lets it through.
		rd := NewReader(bytes.NewReader(bad))
		rd.IgnoreChecksum = true
		for {
			if _, err := rd.Next(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("IgnoreChecksum: %v", err)
			}
		}
	})
	t.Run("truncations", func(t *testing.T) {
		for n := 0; n < len(data); n += 1 + n/25 {
			err := readUntilError(data[:n])
			var ce *CorruptError
			var ve *VersionError
			if err == io.EOF || err == nil || (!errors.As(err, &ce) && !errors.As(err, &ve)) {
				t.Fatalf("truncated at %d: %v", n, err)
			}
		}
	})
	t.Run("byte flips", func(t *testing.T) {
		rng := rand.New(rand.NewSource(5))
		for i := 0; i < 60; i++ {
			bad := append([]byte{}, data...)
			p := 9 + rng.Intn(len(bad)-9)
			bad[p] ^= byte(1 + rng.Intn(255))
			if err := readUntilError(bad); err == io.EOF {
				t.Errorf("flip at %d went unnoticed", p)
			}
		}
	})

	t.Run("lru", func(t *testing.T) {
		rc.must("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
		defer rc.must("CONFIG", "SET", "maxmemory-policy", "noeviction")
		_, recs, _ := saveAndRead(t, s, rc)
		for _, rec := range keysOf(recs) {
			if !rec.HasIdle || rec.HasFreq {
				t.Fatalf("%s: idle %v freq %v", rec.Key, rec.HasIdle, rec.HasFreq)
			}
		}
	})
	t.Run("lfu", func(t *testing.T) {
		rc.must("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
		defer rc.must("CONFIG", "SET", "maxmemory-policy", "noeviction")
		for i := 0; i < 50; i++ {
			rc.must("GET", "s:raw")
		}
		want := rc.int("OBJECT", "FREQ", "s:raw")
		_, recs, _ := saveAndRead(t, s, rc)
		k := keysOf(recs)
		for _, rec := range k {
			if !rec.HasFreq || rec.HasIdle {
				t.Fatalf("%s: idle %v freq %v", rec.Key, rec.HasIdle, rec.HasFreq)
			}
		}
		if got := int64(k["0/s:raw"].Freq); got != want {
			t.Errorf("freq %d, OBJECT FREQ %d", got, want)
		}
	})
	t.Run("rdbchecksum no", func(t *testing.T) {
		// rdbchecksum cannot be changed at run time.
		s2 := startRedis(t, t.TempDir(), "--rdbchecksum", "no")
		rc2 := s2.conn()
		keys2 := fillRedis(t, rc2)
		views2 := snapshotServer(t, rc2, keys2)
		data, recs, _ := saveAndRead(t, s2, rc2)
		if binary.LittleEndian.Uint64(data[len(data)-8:]) != 0 {
			t.Fatal("checksum written")
		}
		got := keysOf(recs)
		if len(got) != len(keys2) {
			t.Fatal("keys missing")
		}
		for id, v := range views2 {
			sameValue(t, id, v.value, got[id].Value)
		}
	})
	t.Run("rdbcompression no", func(t *testing.T) {
		rc.must("CONFIG", "SET", "rdbcompression", "no")
		defer rc.must("CONFIG", "SET", "rdbcompression", "yes")
		_, recs, r := saveAndRead(t, s, rc)
		// Compressed quicklist nodes are stored compressed regardless.
		if r.stats.lzfStrings != r.stats.compressedNodes {
			t.Errorf("%d LZF strings, %d compressed nodes", r.stats.lzfStrings, r.stats.compressedNodes)
		}
		got := keysOf(recs)
		for id, v := range views {
			sameValue(t, id, v.value, got[id].Value)
		}
	})
}

// readUntilError decodes data to the end and returns the final error
// (io.EOF on success). Unsupported values are skipped.
func readUntilError(data []byte) error {
	r := NewReader(bytes.NewReader(data))
	for {
		_, err := r.Next()
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			continue
		}
		if err != nil {
			return err
		}
	}
}
