package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawRDB builds RDB files byte by byte, for encodings the Writer never
// produces. Every file built here is also loaded by the real server, so the
// builders are checked against Redis, not only against this package.
type rawRDB struct {
	b   []byte
	ver int
}

func newRawRDB(ver int) *rawRDB { return &rawRDB{b: []byte(fmt.Sprintf("REDIS%04d", ver)), ver: ver} }

func (f *rawRDB) op(b ...byte) *rawRDB               { f.b = append(f.b, b...); return f }
func (f *rawRDB) length(n uint64) *rawRDB            { f.b = appendLen(f.b, n); return f }
func (f *rawRDB) str(s string) *rawRDB               { return f.raw([]byte(s)) }
func (f *rawRDB) raw(s []byte) *rawRDB               { f.b = append(appendLen(f.b, uint64(len(s))), s...); return f }
func (f *rawRDB) key(enc Encoding, k string) *rawRDB { return f.op(byte(enc)).str(k) }
func (f *rawRDB) selectDB(db int) *rawRDB            { return f.op(opSelectDB).length(uint64(db)) }

// enc writes s through the encoder's string rules (int/LZF/raw).
func (f *rawRDB) enc(s string) *rawRDB {
	e := newEncoder(resolveOptions(nil))
	f.b = e.appendString(f.b, []byte(s))
	return f
}

// lzf writes s LZF-compressed, whatever its length.
func (f *rawRDB) lzf(s []byte) *rawRDB {
	var htab [1 << lzfHashLog]int32
	out := make([]byte, len(s)*2+16)
	n := lzfCompress(out, s, &htab)
	f.b = append(f.b, 0xC3)
	f.b = appendLen(f.b, uint64(n))
	f.b = appendLen(f.b, uint64(len(s)))
	f.b = append(f.b, out[:n]...)
	return f
}

func (f *rawRDB) done() []byte {
	out := append(f.b, opEOF)
	if f.ver >= 5 {
		out = binary.LittleEndian.AppendUint64(out, CRC64(out))
	}
	return out
}

// zlEnt is a ziplist entry: a string, or an integer stored with a given
// encoding byte (0xC0 int16, 0xD0 int32, 0xE0 int64, 0xF0 int24, 0xFE int8,
// 0xF1..0xFD immediate).
type zlEnt struct {
	s     []byte
	v     int64
	encd  byte
	isInt bool
}

func zs(s string) zlEnt          { return zlEnt{s: []byte(s)} }
func zi(v int64, enc byte) zlEnt { return zlEnt{v: v, encd: enc, isInt: true} }
func zsb(b []byte) zlEnt         { return zlEnt{s: b} }
func (e zlEnt) text() []byte {
	if e.isInt {
		return []byte(fmt.Sprint(e.v))
	}
	return e.s
}

func buildZiplist(ents ...zlEnt) []byte {
	zl := make([]byte, zlHeaderSize)
	prev, tail := 0, zlHeaderSize
	for _, e := range ents {
		start := len(zl)
		tail = start
		if prev < 254 {
			zl = append(zl, byte(prev))
		} else {
			zl = binary.LittleEndian.AppendUint32(append(zl, 0xFE), uint32(prev))
		}
		if e.isInt {
			zl = append(zl, e.encd)
			w := map[byte]int{0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}[e.encd]
			for i := 0; i < w; i++ {
				zl = append(zl, byte(uint64(e.v)>>(8*uint(i))))
			}
		} else {
			n := len(e.s)
			switch {
			case n < 64:
				zl = append(zl, byte(n))
			case n < 16384:
				zl = append(zl, 0x40|byte(n>>8), byte(n))
			default:
				zl = binary.BigEndian.AppendUint32(append(zl, 0x80), uint32(n))
			}
			zl = append(zl, e.s...)
		}
		prev = len(zl) - start
	}
	zl = append(zl, 0xFF)
	binary.LittleEndian.PutUint32(zl, uint32(len(zl)))
	binary.LittleEndian.PutUint32(zl[4:], uint32(tail))
	binary.LittleEndian.PutUint16(zl[8:], uint16(len(ents)))
	return zl
}

// buildZipmap builds a zipmap; free adds unused bytes after each value.
func buildZipmap(h Hash, free int) []byte {
	zm := []byte{byte(len(h))}
	putLen := func(n int) {
		if n < 254 {
			zm = append(zm, byte(n))
		} else {
			zm = binary.LittleEndian.AppendUint32(append(zm, 254), uint32(n))
		}
	}
	for _, fv := range h {
		putLen(len(fv.Field))
		zm = append(zm, fv.Field...)
		putLen(len(fv.Value))
		zm = append(zm, byte(free))
		zm = append(zm, fv.Value...)
		zm = append(zm, make([]byte, free)...)
	}
	return append(zm, 0xFF)
}

// oldScore writes an old ZSET score: length byte and "%.17g" text, or the
// 253/254/255 markers.
func (f *rawRDB) oldScore(v float64) *rawRDB {
	switch {
	case math.IsInf(v, 1):
		return f.op(254)
	case math.IsInf(v, -1):
		return f.op(255)
	}
	s := string(appendScore(nil, v))
	return f.op(byte(len(s))).op([]byte(s)...)
}

// verifyInRedis decodes data with this package, checks the expected values,
// then has redis-check-rdb and redis-server load the file and compares every
// key as the server reports it.
func verifyInRedis(t *testing.T, data []byte, want map[string]Value, wantExpire map[string]int64) []*Record {
	t.Helper()
	recs, _ := readAll(t, data)
	got := keysOf(recs)
	for id, v := range want {
		if got[id] == nil {
			t.Errorf("%s: not decoded", id)
			continue
		}
		sameValue(t, id+" (decoded)", v, got[id].Value)
	}
	if len(got) != len(want) {
		t.Errorf("decoded %d keys, want %d", len(got), len(want))
	}
	for id, exp := range wantExpire {
		if got[id] == nil || got[id].ExpireAt != exp {
			t.Errorf("%s: expire %v, want %d", id, got[id], exp)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "dump.rdb")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	runCheckRDB(t, path)
	s := startRedis(t, dir)
	rc := s.conn()
	for id, rec := range got {
		rc.must("SELECT", rec.DB)
		sv := fetchValue(t, rc, rec.Key)
		if st, ok := sv.(*Stream); ok {
			// Files older than 7.0 lack the groups' read counters; Redis
			// estimates them on load.
			for i := range st.Groups {
				if i < len(rec.Value.(*Stream).Groups) && rec.Value.(*Stream).Groups[i].EntriesRead == -1 {
					st.Groups[i].EntriesRead = -1
				}
			}
		}
		sameValue(t, id+" (server)", rec.Value, sv)
		exp := rc.int("PEXPIRETIME", rec.Key)
		if exp < 0 {
			exp = 0
		}
		if exp != rec.ExpireAt {
			t.Errorf("%s: server expire %d, decoded %d", id, exp, rec.ExpireAt)
		}
	}
	return recs
}

func TestOldEncodingsVersion6(t *testing.T) {
	big := bytes.Repeat([]byte("Z"), 20000)
	f := newRawRDB(6)
	f.selectDB(0)
	f.op(opExpire).op(binary.LittleEndian.AppendUint32(nil, 2000000000)...).key(EncString, "old:expire").str("sec")
	f.op(opExpireMs).op(binary.LittleEndian.AppendUint64(nil, uint64(futureMs))...).key(EncString, "old:expirems").str("ms")
	f.key(EncString, "old:int8").enc("-100")
	f.key(EncString, "old:int16").enc("30000")
	f.key(EncString, "old:int32").enc("-2000000000")
	f.key(EncString, "old:lzf").lzf(bytes.Repeat([]byte("xyz"), 100))
	f.key(EncList, "old:list").length(4).str("a").enc("42").str("").lzf(bytes.Repeat([]byte("q"), 50))
	f.key(EncSet, "old:set").length(3).str("x").enc("7").str("yy")
	f.key(EncZSet, "old:zset").length(5)
	f.str("a").oldScore(1.5).str("b").oldScore(-3).str("c").oldScore(math.Inf(1)).
		str("d").oldScore(math.Inf(-1)).str("e").oldScore(0.1)
	f.key(EncHash, "old:hash").length(2).str("f1").str("v1").enc("12").enc("-1")
	f.key(EncHashZipmap, "old:zipmap").raw(buildZipmap(Hash{
		{[]byte("name"), []byte("redis")}, {[]byte("long"), bytes.Repeat([]byte("L"), 300)}, {[]byte(""), []byte("empty")},
	}, 2))
	listEnts := []zlEnt{zs("a"), zi(0, 0xF1), zi(12, 0xFD), zi(-100, 0xFE), zi(1000, 0xC0), zi(-8000000, 0xF0),
		zi(2000000000, 0xD0), zi(math.MinInt64, 0xE0), zsb(bytes.Repeat([]byte("m"), 100)), zsb(big), zs("after-big")}
	f.key(EncListZiplist, "old:ziplist").raw(buildZiplist(listEnts...))
	f.key(EncSetIntset, "old:intset").raw(mustIntset(t, 5, -3, 100000))
	f.key(EncZSetZiplist, "old:zsetzl").raw(buildZiplist(zs("m1"), zi(5, 0xF6), zs("m2"), zs("1.5"), zs("m3"), zs("-inf")))
	f.key(EncHashZiplist, "old:hashzl").raw(buildZiplist(zs("f"), zs("v"), zs("n"), zi(77, 0xFE)))
	f.selectDB(3)
	f.key(EncString, "old:db3").str("three")
	data := f.done()

	var listWant List
	for _, e := range listEnts {
		listWant = append(listWant, e.text())
	}
	want := map[string]Value{
		"0/old:expire":   String("sec"),
		"0/old:expirems": String("ms"),
		"0/old:int8":     String("-100"),
		"0/old:int16":    String("30000"),
		"0/old:int32":    String("-2000000000"),
		"0/old:lzf":      String(bytes.Repeat([]byte("xyz"), 100)),
		"0/old:list":     List{[]byte("a"), []byte("42"), []byte(""), bytes.Repeat([]byte("q"), 50)},
		"0/old:set":      Set(strs("x", "7", "yy")),
		"0/old:zset": ZSet{{[]byte("a"), 1.5}, {[]byte("b"), -3}, {[]byte("c"), math.Inf(1)},
			{[]byte("d"), math.Inf(-1)}, {[]byte("e"), 0.1}},
		"0/old:hash":    Hash{{[]byte("f1"), []byte("v1")}, {[]byte("12"), []byte("-1")}},
		"0/old:zipmap":  Hash{{[]byte("name"), []byte("redis")}, {[]byte("long"), bytes.Repeat([]byte("L"), 300)}, {[]byte(""), []byte("empty")}},
		"0/old:ziplist": listWant,
		"0/old:intset":  Set(strs("-3", "5", "100000")),
		"0/old:zsetzl":  ZSet{{[]byte("m1"), 5}, {[]byte("m2"), 1.5}, {[]byte("m3"), math.Inf(-1)}},
		"0/old:hashzl":  Hash{{[]byte("f"), []byte("v")}, {[]byte("n"), []byte("77")}},
		"3/old:db3":     String("three"),
	}
	verifyInRedis(t, data, want, map[string]int64{"0/old:expire": 2000000000000, "0/old:expirems": futureMs})
}

func mustIntset(t *testing.T, vals ...int64) []byte {
	b, err := intsetAppend(nil, vals)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOldEncodingsQuicklistV1(t *testing.T) {
	f := newRawRDB(8)
	f.op(opAux).str("redis-ver").str("4.0.14")
	f.selectDB(0)
	f.op(opResizeDB).length(2).length(0)
	node1 := buildZiplist(zs("a"), zs("b"), zi(3, 0xF4))
	node2 := buildZiplist(zsb(bytes.Repeat([]byte("compress-me-"), 40)), zi(-1, 0xFE))
	node3 := buildZiplist(zs("last"))
	f.op(opIdle).length(100).key(EncListQuicklist, "old:quicklist").length(3).raw(node1).lzf(node2).raw(node3)
	f.op(opFreq, 10).key(EncZSet2, "old:zset2").length(2).str("a").
		op(binary.LittleEndian.AppendUint64(nil, math.Float64bits(2.5))...).str("b").
		op(binary.LittleEndian.AppendUint64(nil, math.Float64bits(-1))...)
	data := f.done()
	recs := verifyInRedis(t, data, map[string]Value{
		"0/old:quicklist": List{[]byte("a"), []byte("b"), []byte("3"), bytes.Repeat([]byte("compress-me-"), 40), []byte("-1"), []byte("last")},
		"0/old:zset2":     ZSet{{[]byte("a"), 2.5}, {[]byte("b"), -1}},
	}, nil)
	k := keysOf(recs)
	if r := k["0/old:quicklist"]; !r.HasIdle || r.Idle != 100 || r.Encoding != EncListQuicklist {
		t.Errorf("quicklist record %+v", r)
	}
	if r := k["0/old:zset2"]; !r.HasFreq || r.Freq != 10 {
		t.Errorf("zset2 record %+v", r)
	}
}

// buildStreamNode builds a stream node listpack by hand, with deleted entries.
func buildStreamNode(master StreamID, fields []string, entries []struct {
	id      StreamID
	deleted bool
	fields  []FieldValue
}) []byte {
	lp := lpStart(nil)
	live, deleted := 0, 0
	for _, e := range entries {
		if e.deleted {
			deleted++
		} else {
			live++
		}
	}
	lp = lpAppendInt(lp, int64(live))
	lp = lpAppendInt(lp, int64(deleted))
	lp = lpAppendInt(lp, int64(len(fields)))
	for _, f := range fields {
		lp = lpAppendString(lp, []byte(f))
	}
	lp = lpAppendInt(lp, 0)
	n := 4 + len(fields)
	for _, e := range entries {
		same := len(e.fields) == len(fields)
		for i := 0; same && i < len(fields); i++ {
			same = string(e.fields[i].Field) == fields[i]
		}
		flags := int64(0)
		if same {
			flags |= streamFlagSameFields
		}
		if e.deleted {
			flags |= streamFlagDeleted
		}
		lp = lpAppendInt(lp, flags)
		lp = lpAppendInt(lp, int64(e.id.Ms-master.Ms))
		lp = lpAppendInt(lp, int64(e.id.Seq-master.Seq))
		if same {
			for _, fv := range e.fields {
				lp = lpAppendString(lp, fv.Value)
			}
			lp = lpAppendInt(lp, int64(len(e.fields)+3))
			n += len(e.fields) + 4
		} else {
			lp = lpAppendInt(lp, int64(len(e.fields)))
			for _, fv := range e.fields {
				lp = lpAppendString(lp, fv.Field)
				lp = lpAppendString(lp, fv.Value)
			}
			lp = lpAppendInt(lp, int64(2*len(e.fields)+4))
			n += 2*len(e.fields) + 5
		}
	}
	return lpFinish(lp, n)
}

type streamTestEntry = struct {
	id      StreamID
	deleted bool
	fields  []FieldValue
}

func fv(kv ...string) []FieldValue {
	var out []FieldValue
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, FieldValue{[]byte(kv[i]), []byte(kv[i+1])})
	}
	return out
}

func TestOldEncodingsStreamV1(t *testing.T) {
	master := StreamID{100, 0}
	node := buildStreamNode(master, []string{"a", "b"}, []streamTestEntry{
		{StreamID{100, 0}, false, fv("a", "1", "b", "2")},
		{StreamID{100, 1}, true, fv("a", "x", "b", "y")},
		{StreamID{101, 0}, false, fv("c", "3")},
		{StreamID{102, 5}, true, fv("z", "9")},
		{StreamID{103, 0}, false, fv("a", "5", "b", "-6")},
	})
	f := newRawRDB(9)
	f.selectDB(0)
	f.key(EncStreamListpacks, "old:stream").length(1).raw(appendStreamID(nil, master)).raw(node)
	f.length(3).length(103).length(0) // length, last id
	f.length(1)                       // groups
	f.str("grp").length(101).length(0)
	f.length(2) // group PEL
	f.op(appendStreamID(nil, StreamID{100, 0})...).op(binary.LittleEndian.AppendUint64(nil, 1600000000000)...).length(2)
	f.op(appendStreamID(nil, StreamID{101, 0})...).op(binary.LittleEndian.AppendUint64(nil, 1600000000500)...).length(1)
	f.length(1).str("cons").op(binary.LittleEndian.AppendUint64(nil, 1600000001000)...)
	f.length(2).op(appendStreamID(nil, StreamID{100, 0})...).op(appendStreamID(nil, StreamID{101, 0})...)
	data := f.done()
	want := &Stream{
		Entries: []StreamEntry{
			{ID: StreamID{100, 0}, Fields: fv("a", "1", "b", "2")},
			{ID: StreamID{101, 0}, Fields: fv("c", "3")},
			{ID: StreamID{103, 0}, Fields: fv("a", "5", "b", "-6")},
		},
		LastID: StreamID{103, 0}, FirstID: StreamID{100, 0}, EntriesAdded: 3,
		Groups: []StreamGroup{{
			Name: []byte("grp"), LastID: StreamID{101, 0}, EntriesRead: -1,
			Pending: []StreamPending{{StreamID{100, 0}, 1600000000000, 2}, {StreamID{101, 0}, 1600000000500, 1}},
			Consumers: []StreamConsumer{{Name: []byte("cons"), SeenTime: 1600000001000, ActiveTime: 1600000001000,
				Pending: []StreamID{{100, 0}, {101, 0}}}},
		}},
	}
	verifyInRedis(t, data, map[string]Value{"0/old:stream": want}, nil)
}

func TestOldVersion3NoChecksum(t *testing.T) {
	f := newRawRDB(3)
	f.selectDB(0)
	f.key(EncString, "v3").str("three")
	f.key(EncListZiplist, "v3:list").raw(buildZiplist(zs("x"), zi(9, 0xFA)))
	data := f.done()
	if !bytes.HasSuffix(data, []byte{opEOF}) {
		t.Fatal("version 3 file must end at EOF")
	}
	verifyInRedis(t, data, map[string]Value{"0/v3": String("three"), "0/v3:list": List(strs("x", "9"))}, nil)
}

// TestModulesAndFunctions covers records Redis loads only with the module
// present: module aux data is skipped, module values are reported and
// skipped, and both pre-GA and current functions are returned.
func TestModulesAndFunctions(t *testing.T) {
	const cset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var id uint64
	for _, c := range "ferrytest" {
		id = id<<6 | uint64(strings.IndexRune(cset, c))
	}
	id = id<<10 | 1
	module := func(f *rawRDB) {
		f.length(id)
		f.length(moduleOpSInt).length(5).length(moduleOpUInt).length(1 << 40)
		f.length(moduleOpFloat).op(0, 0, 0x80, 0x3f).length(moduleOpDbl).op(make([]byte, 8)...)
		f.length(moduleOpStr).str("module payload").length(moduleOpEOF)
	}
	f := newRawRDB(10)
	f.op(opModuleAux).length(id).length(moduleOpUInt).length(1).length(moduleOpStr).str("aux").length(moduleOpEOF)
	f.op(opFunction2).str(testFunction)
	f.selectDB(0)
	f.key(EncString, "before").str("1")
	f.key(EncModule2, "modkey")
	module(f)
	f.key(EncString, "after").str("2")
	data := f.done()

	path := filepath.Join(t.TempDir(), "mod.rdb")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	runCheckRDB(t, path) // redis-check-rdb parses module data without the module

	r := NewReader(bytes.NewReader(data))
	var keys []string
	var unsupported *UnsupportedError
	var fns []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			unsupported = ue
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		switch rec.Type {
		case RecordKey:
			keys = append(keys, string(rec.Key))
		case RecordFunction:
			fns = append(fns, string(rec.FunctionCode))
		}
	}
	if strings.Join(keys, ",") != "before,after" {
		t.Errorf("keys %v", keys)
	}
	if unsupported == nil || unsupported.Module != "ferrytest" || string(unsupported.Key) != "modkey" {
		t.Errorf("unsupported %+v", unsupported)
	}
	if unsupported != nil && !strings.Contains(unsupported.Error(), "ferrytest") {
		t.Errorf("message %q", unsupported.Error())
	}
	if len(fns) != 1 || fns[0] != testFunction {
		t.Errorf("functions %q", fns)
	}

	// The pre-GA module format cannot be skipped: a clear, final error.
	g := newRawRDB(10)
	g.key(EncModule, "old").length(id)
	if err := readUntilError(g.done()); err == io.EOF || !strings.Contains(fmt.Sprint(err), "module") {
		t.Errorf("pre-GA module: %v", err)
	}
}

// TestPreGAFunction: Redis 7.0 loads the 7.0-rc1/rc2 function format and
// rebuilds the "#!engine name=lib" header; so does the Reader.
func TestPreGAFunction(t *testing.T) {
	body := "redis.register_function('rc_fn', function() return 'rc' end)"
	f := newRawRDB(10)
	f.op(opFunction).str("rclib").str("LUA").length(1).str("a description").str(body)
	f.selectDB(0)
	f.key(EncString, "k").str("v")
	data := f.done()
	recs, _ := readAll(t, data)
	var code string
	for _, rec := range recs {
		if rec.Type == RecordFunction {
			code = string(rec.FunctionCode)
		}
	}
	if want := "#!LUA name=rclib\n" + body; code != want {
		t.Fatalf("code %q, want %q", code, want)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dump.rdb"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := startRedis(t, dir)
	rc := s.conn()
	if got := rc.str("FCALL", "rc_fn", 0); got != "rc" {
		t.Errorf("FCALL rc_fn: %q", got)
	}
}

// TestRedis72Types covers what Redis 7.2 writes (RDB 11): the reader refuses
// version 11 by default, as Redis 7.0 does, and decodes SET_LISTPACK,
// STREAM_LISTPACKS_3 and SLOT_INFO when MaxVersion allows it.
func TestRedis72Types(t *testing.T) {
	master := StreamID{5, 0}
	node := buildStreamNode(master, []string{"k"}, []streamTestEntry{{StreamID{5, 0}, false, fv("k", "v")}})
	f := newRawRDB(11)
	f.op(opSlotInfo).length(1).length(2).length(3)
	f.selectDB(0)
	lp := lpStart(nil)
	for _, m := range []string{"a", "1", "bb"} {
		lp = lpAppendString(lp, []byte(m))
	}
	f.key(EncSetListpack, "set72").raw(lpFinish(lp, 3))
	f.key(EncStreamListpacks3, "stream72").length(1).raw(appendStreamID(nil, master)).raw(node)
	f.length(1).length(5).length(0).length(5).length(0).length(0).length(0).length(1)
	f.length(1).str("g").length(5).length(0).length(1)
	f.length(1).op(appendStreamID(nil, StreamID{5, 0})...).op(binary.LittleEndian.AppendUint64(nil, 111)...).length(1)
	f.length(1).str("c").op(binary.LittleEndian.AppendUint64(nil, 222)...).op(binary.LittleEndian.AppendUint64(nil, 333)...)
	f.length(1).op(appendStreamID(nil, StreamID{5, 0})...)
	data := f.done()

	var ve *VersionError
	if err := readUntilError(data); !errors.As(err, &ve) || ve.Version != 11 {
		t.Fatalf("version 11 with defaults: %v", err)
	}
	r := NewReader(bytes.NewReader(data))
	r.MaxVersion = 11
	var recs []*Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		c := *rec
		recs = append(recs, &c)
	}
	k := keysOf(recs)
	sameValue(t, "set72", Set(strs("a", "1", "bb")), k["0/set72"].Value)
	sameValue(t, "stream72", &Stream{
		Entries: []StreamEntry{{ID: StreamID{5, 0}, Fields: fv("k", "v")}},
		LastID:  StreamID{5, 0}, FirstID: StreamID{5, 0}, EntriesAdded: 1,
		Groups: []StreamGroup{{Name: []byte("g"), LastID: StreamID{5, 0}, EntriesRead: 1,
			Pending:   []StreamPending{{StreamID{5, 0}, 111, 1}},
			Consumers: []StreamConsumer{{Name: []byte("c"), SeenTime: 222, ActiveTime: 333, Pending: []StreamID{{5, 0}}}}}},
	}, k["0/stream72"].Value)
}
