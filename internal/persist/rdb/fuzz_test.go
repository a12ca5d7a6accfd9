package rdb

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	// One small key of every type and encoding the Writer produces.
	tiny := []catalogEntry{
		{Entry: Entry{Key: []byte("s"), Value: String("v"), ExpireAt: 5}},
		{Entry: Entry{Key: []byte("i"), Value: String("-300")}},
		{Entry: Entry{Key: []byte("z"), Value: String(bytes.Repeat([]byte("ab"), 20))}},
		{Entry: Entry{Key: []byte("l"), Value: List(strs("a", "1", "b", "-70000", "c")), HasIdle: true, Idle: 3}},
		{Entry: Entry{Key: []byte("is"), Value: Set(strs("1", "2", "-5"))}},
		{Entry: Entry{Key: []byte("ss"), Value: Set(strs("a", "b"))}},
		{Entry: Entry{Key: []byte("zl"), Value: ZSet{{[]byte("a"), 1.5}, {[]byte("b"), 2}}, HasFreq: true, Freq: 9}},
		{Entry: Entry{Key: []byte("hl"), Value: Hash{{[]byte("f"), []byte("v")}}}},
		{Entry: Entry{DB: 2, Key: []byte("x"), Value: &Stream{
			Entries: []StreamEntry{{ID: StreamID{1, 1}, Fields: fv("a", "1")}, {ID: StreamID{1, 2}, Fields: fv("b", "2")}},
			Groups: []StreamGroup{{Name: []byte("g"), Pending: []StreamPending{{ID: StreamID{1, 1}}},
				Consumers: []StreamConsumer{{Name: []byte("c"), Pending: []StreamID{{1, 1}}}}}}}}},
	}
	f.Add(writeCatalog(f, tiny, &WriterOptions{ListMaxListpackSize: 2, ListPackedThreshold: 4}))
	f.Add(writeCatalog(f, tiny, &WriterOptions{NoChecksum: true, HashMaxListpackEntries: -1, ZSetMaxListpackEntries: -1,
		SetMaxIntsetEntries: -1}))
	// Small files of each older encoding.
	f.Add(newRawRDB(6).selectDB(0).key(EncListZiplist, "l").raw(buildZiplist(zs("a"), zi(5, 0xFE))).done())
	f.Add(newRawRDB(6).selectDB(0).key(EncHashZipmap, "h").raw(buildZipmap(Hash{{[]byte("f"), []byte("v")}}, 1)).done())
	f.Add(newRawRDB(6).selectDB(0).key(EncZSet, "z").length(1).str("m").oldScore(1.5).done())
	f.Add(newRawRDB(8).selectDB(0).key(EncListQuicklist, "q").length(1).raw(buildZiplist(zs("x"))).done())
	f.Add(newRawRDB(3).selectDB(0).key(EncString, "s").str("v").done())
	f.Add([]byte("REDIS0010\xff"))
}

// FuzzReader decodes arbitrary bytes as an RDB file: it must never panic,
// and every failure must be a typed error.
func FuzzReader(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		r.MaxStringLen = 1 << 20
		r.MaxVersion = 11
		for i := 0; i < 10000; i++ {
			rec, err := r.Next()
			if err == io.EOF {
				return
			}
			var ue *UnsupportedError
			if errors.As(err, &ue) {
				continue
			}
			if err != nil {
				var ce *CorruptError
				var ve *VersionError
				if !errors.As(err, &ce) && !errors.As(err, &ve) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if rec.Type == RecordKey && rec.Value == nil {
				t.Fatal("key record without a value")
			}
		}
	})
}

// FuzzParseDump decodes arbitrary DUMP payloads; whatever decodes must
// re-encode and decode to the same value.
func FuzzParseDump(f *testing.F) {
	for _, c := range catalog() {
		if p := DumpValue(c.Value); len(p) < 4096 {
			f.Add(p)
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		v, err := ParseDump(payload)
		if err != nil {
			if !errors.Is(err, ErrDumpPayload) && !errors.Is(err, ErrBadDataFormat) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, ok := v.(*Stream); ok {
			return // the Writer normalises stream metadata
		}
		again, err := AppendDump(nil, v, nil)
		if err != nil {
			return // empty collections
		}
		back, err := ParseDump(again)
		if err != nil {
			t.Fatalf("re-encoded payload does not parse: %v", err)
		}
		if canon(back) != canon(v) {
			t.Fatalf("round trip changed the value:\n%s\n%s", canon(v), canon(back))
		}
	})
}

// FuzzBlobs feeds arbitrary bytes to the embedded-encoding decoders.
func FuzzBlobs(f *testing.F) {
	f.Add(byte(EncHashListpack), lpFinish(lpAppendString(lpAppendString(lpStart(nil), []byte("f")), []byte("1")), 2))
	f.Add(byte(EncListZiplist), buildZiplist(zs("a"), zi(1000, 0xC0), zsb(bytes.Repeat([]byte("x"), 300))))
	f.Add(byte(EncSetIntset), mustIntsetF(1, 2, 70000))
	f.Add(byte(EncHashZipmap), buildZipmap(Hash{{[]byte("f"), []byte("v")}}, 3))
	f.Add(byte(EncStreamListpacks2), buildStreamNode(StreamID{1, 0}, []string{"a"}, []streamTestEntry{{StreamID{1, 0}, false, fv("a", "b")}}))
	f.Fuzz(func(t *testing.T, enc byte, blob []byte) {
		switch Encoding(enc) {
		case EncStreamListpacks, EncStreamListpacks2, EncStreamListpacks3:
			var a arena
			decodeStreamNode(StreamID{}, blob, nil, &a)
		case EncHashZipmap, EncListZiplist, EncSetIntset, EncZSetZiplist, EncHashZiplist,
			EncHashListpack, EncZSetListpack, EncSetListpack:
			decodeBlobValue(Encoding(enc), blob, new(arena))
		}
	})
}

func mustIntsetF(vals ...int64) []byte {
	b, _ := intsetAppend(nil, vals)
	return b
}

// FuzzLZF checks that compression round-trips and decompression of arbitrary
// input is safe.
func FuzzLZF(f *testing.F) {
	f.Add([]byte("hello hello hello hello"), 100)
	f.Add(bytes.Repeat([]byte{0}, 1000), 10)
	f.Fuzz(func(t *testing.T, data []byte, ulen int) {
		var htab [1 << lzfHashLog]int32
		if len(data) > 0 {
			out := make([]byte, len(data)+len(data)/16+64)
			if n := lzfCompress(out, data, &htab); n > 0 {
				got := make([]byte, len(data))
				if err := lzfDecompress(got, out[:n]); err != nil || !bytes.Equal(got, data) {
					t.Fatalf("round trip failed: %v", err)
				}
			}
		}
		if ulen >= 0 && ulen < 1<<20 {
			lzfDecompress(make([]byte, ulen), data)
		}
	})
}
