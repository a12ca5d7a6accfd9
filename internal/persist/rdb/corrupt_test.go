package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// smallCatalogFile is the catalog without its multi-megabyte strings, for
// tests that decode many times.
func smallCatalogFile(t testing.TB) ([]catalogEntry, []byte) {
	var cat []catalogEntry
	for _, c := range catalog() {
		if s, ok := c.Value.(String); ok && len(s) > 4096 {
			continue
		}
		cat = append(cat, c)
	}
	return cat, writeCatalog(t, cat, nil)
}

func TestReaderOddSources(t *testing.T) {
	cat, data := smallCatalogFile(t)
	for name, src := range map[string]func() io.Reader{
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
		"data+err": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
	} {
		r := NewReader(src())
		var recs []*Record
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			c := *rec
			recs = append(recs, &c)
		}
		checkCatalog(t, cat, recs, true)
		if r.Offset() != int64(len(data)) {
			t.Errorf("%s: offset %d, file %d", name, r.Offset(), len(data))
		}
	}
	// The big-string path (reading straight into the destination) through a
	// one-byte reader.
	big := writeCatalog(t, []catalogEntry{{Entry: Entry{Key: []byte("big"), Value: String(randBytes(newRand(), 1<<20))}}}, nil)
	r := NewReader(iotest.OneByteReader(bytes.NewReader(big)))
	for {
		if _, err := r.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

func TestReaderErrorsAreSticky(t *testing.T) {
	_, data := smallCatalogFile(t)
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(bytes.NewReader(data[:1000]), iotest.ErrReader(boom)))
	var err error
	for err == nil {
		_, err = r.Next()
	}
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "offset 1000") {
		t.Fatalf("error %v", err)
	}
	var ce *CorruptError
	if errors.As(err, &ce) {
		t.Fatal("an I/O error reported as corruption")
	}
	if _, err2 := r.Next(); err2 != err {
		t.Fatalf("second call: %v", err2)
	}
	r = NewReader(bytes.NewReader(data))
	for {
		if _, err := r.Next(); err == io.EOF {
			break
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after EOF: %v", err)
	}
}

func TestReaderHeaderErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":      "",
		"short":      "REDIS00",
		"magic":      "RADIS0009\xff",
		"version":    "REDIS00x9\xff",
		"zero":       "REDIS0000\xff",
		"too new":    "REDIS0011\xff",
		"much newer": "REDIS9999\xff",
	} {
		err := readUntilError([]byte(in))
		var ce *CorruptError
		var ve *VersionError
		if !errors.As(err, &ce) && !errors.As(err, &ve) {
			t.Errorf("%s: %v", name, err)
		}
		if name == "too new" && (ve == nil || !strings.Contains(err.Error(), "version 11")) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// allocDuring reports the bytes allocated while f runs.
func allocDuring(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestHostileLengths feeds lengths that lie, and checks that each yields a
// CorruptError naming an offset, with allocation bounded by the input rather
// than by the claims.
func TestHostileLengths(t *testing.T) {
	hdr := func() *rawRDB { return newRawRDB(10).selectDB(0) }
	huge64 := func(f *rawRDB) *rawRDB { return f.op(0x81).op(binary.BigEndian.AppendUint64(nil, 1<<62)...) }
	cases := map[string][]byte{
		"string 2^62":          huge64(hdr().key(EncString, "k")).done(),
		"string 500MB short":   hdr().key(EncString, "k").op(0x80).op(binary.BigEndian.AppendUint32(nil, 500<<20)...).op([]byte("abc")...).done(),
		"key 2^62":             huge64(hdr().op(byte(EncString))).done(),
		"list 2^62":            huge64(hdr().key(EncList, "k")).done(),
		"list 2^31-1 short":    hdr().key(EncList, "k").op(0x80, 0x7f, 0xff, 0xff, 0xff).str("a").done(),
		"hash 2^31 short":      hdr().key(EncHash, "k").op(0x80, 0x80, 0, 0, 0).done(),
		"zset 2^31-1":          hdr().key(EncZSet2, "k").op(0x80, 0x7f, 0xff, 0xff, 0xff).done(),
		"quicklist 2^31-1":     hdr().key(EncListQuicklist2, "k").op(0x80, 0x7f, 0xff, 0xff, 0xff).done(),
		"lzf ratio":            hdr().key(EncString, "k").op(0xC3).length(3).op(0x80).op(binary.BigEndian.AppendUint32(nil, 400<<20)...).op(0, 'a', 'b').done(),
		"lzf over limit":       hdr().key(EncString, "k").op(0xC3).length(3).op(0x81).op(binary.BigEndian.AppendUint64(nil, 1<<40)...).done(),
		"lzf clen short":       hdr().key(EncString, "k").op(0xC3).op(0x80).op(binary.BigEndian.AppendUint32(nil, 100<<20)...).length(200 << 20).done(),
		"stream groups 2^31-1": hdr().key(EncStreamListpacks2, "k").length(0).length(0).length(0).length(0).length(0).length(0).length(0).length(0).length(0).op(0x80, 0x7f, 0xff, 0xff, 0xff).done(),
		"stream pel 2^31-1":    hdr().key(EncStreamListpacks2, "k").length(0).length(0).length(0).length(0).length(0).length(0).length(0).length(0).length(0).length(1).str("g").length(0).length(0).length(0).op(0x80, 0x7f, 0xff, 0xff, 0xff).done(),
		"selectdb 2^62":        huge64(newRawRDB(10).op(opSelectDB)).done(),
		"bad length prefix":    hdr().key(EncString, "k").op(0x85).done(),
		"bad string encoding":  hdr().key(EncString, "k").op(0xC7).done(),
		"length where string":  hdr().key(EncList, "k").op(0xC0).done(),
		"unknown type":         hdr().key(8, "k").done(),
		"unknown opcode type":  hdr().op(200).done(),
		"slot info in v10":     hdr().op(opSlotInfo).done(),
		"quicklist container":  hdr().key(EncListQuicklist2, "k").length(1).length(3).str("x").done(),
		"empty quicklist node": hdr().key(EncListQuicklist2, "k").length(1).length(2).str("").done(),
		"intset blob":          hdr().key(EncSetIntset, "k").str("garbage!").done(),
		"ziplist blob":         hdr().key(EncListZiplist, "k").str("garbage garbage!").done(),
		"zipmap blob":          hdr().key(EncHashZipmap, "k").raw([]byte{1, 254, 0xff, 0xff, 0xff, 0x7f, 0xff}).done(),
		"listpack blob":        hdr().key(EncHashListpack, "k").raw([]byte{7, 0, 0, 0, 1, 0, 0xff}).done(),
		"nan score":            hdr().key(EncZSet2, "k").length(1).str("m").op(binary.LittleEndian.AppendUint64(nil, 0x7ff8000000000001)...).done(),
		"old nan score":        hdr().key(EncZSet, "k").length(1).str("m").op(253).done(),
		"old bad score":        hdr().key(EncZSet, "k").length(1).str("m").op(3, 'x', 'y', 'z').done(),
		"duplicate set":        hdr().key(EncSet, "k").length(2).str("a").str("a").done(),
		"duplicate hash":       hdr().key(EncHash, "k").length(2).str("a").str("1").str("a").str("2").done(),
		"duplicate zset":       hdr().key(EncZSet2, "k").length(2).str("a").op(make([]byte, 8)...).str("a").op(make([]byte, 8)...).done(),
		"stream key size":      hdr().key(EncStreamListpacks2, "k").length(1).str("short").done(),
		"module aux when":      newRawRDB(10).op(opModuleAux).length(1).length(5).done(),
		"module opcode":        hdr().key(EncModule2, "k").length(1).length(9).done(),
		"missing checksum":     hdr().key(EncString, "k").str("v").op(opEOF).b,
	}
	for name, data := range cases {
		var err error
		alloc := allocDuring(func() { err = readUntilError(data) })
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Errorf("%s: error %v, want a CorruptError", name, err)
			continue
		}
		if ce.Offset < 9 || ce.Offset > int64(len(data)) {
			t.Errorf("%s: offset %d outside the file (%d bytes)", name, ce.Offset, len(data))
		}
		if !strings.Contains(err.Error(), "offset") {
			t.Errorf("%s: message without offset: %v", name, err)
		}
		if alloc > 16<<20 {
			t.Errorf("%s: allocated %d bytes for a %d-byte input", name, alloc, len(data))
		}
	}
}

// TestHostileStreamListpack checks counts inside a stream node listpack.
func TestHostileStreamListpack(t *testing.T) {
	node := func(vals ...int64) []byte {
		lp := lpStart(nil)
		for _, v := range vals {
			lp = lpAppendInt(lp, v)
		}
		return lpFinish(lp, len(vals))
	}
	for name, lp := range map[string][]byte{
		"huge master fields": node(1, 0, 1<<40),
		"huge entry fields":  node(1, 0, 0, 0, 0, 0, 0, 1<<40),
		"negative count":     node(-1, 0, 0, 0),
		"no terminator":      node(1, 0, 0, 5),
		"missing entries":    node(3, 0, 0, 0, 2, 0, 0, 3),
		"wrong lp-count":     node(1, 0, 0, 0, 2, 0, 0, 9),
		"trailing":           node(0, 0, 0, 0, 7),
		"empty":              node(),
	} {
		var a arena
		var err error
		alloc := allocDuring(func() { _, err = decodeStreamNode(StreamID{}, lp, nil, &a) })
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if alloc > 1<<20 {
			t.Errorf("%s: allocated %d bytes", name, alloc)
		}
	}
}

func TestEmptyCollectionsDecoded(t *testing.T) {
	// Redis skips keys whose collection is empty; the Reader reports them
	// and leaves the choice to the caller.
	data := newRawRDB(10).selectDB(0).key(EncList, "l").length(0).key(EncHash, "h").length(0).done()
	recs, _ := readAll(t, data)
	k := keysOf(recs)
	if l, ok := k["0/l"].Value.(List); !ok || len(l) != 0 {
		t.Errorf("l: %#v", k["0/l"].Value)
	}
	if h, ok := k["0/h"].Value.(Hash); !ok || len(h) != 0 {
		t.Errorf("h: %#v", k["0/h"].Value)
	}
}

func TestExpireZeroStaysExpired(t *testing.T) {
	data := newRawRDB(10).selectDB(0).op(opExpireMs).op(make([]byte, 8)...).key(EncString, "k").str("v").done()
	recs, _ := readAll(t, data)
	if got := keysOf(recs)["0/k"].ExpireAt; got != 1 {
		t.Fatalf("ExpireAt %d", got)
	}
}
