package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"
)

// writeCatalog writes the catalog (plus a function and an extra AUX field)
// with the given options.
func writeCatalog(t testing.TB, cat []catalogEntry, opts *WriterOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, opts)
	if err := w.WriteAux("ferry-test", "1"); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFunction([]byte(testFunction)); err != nil {
		t.Fatal(err)
	}
	// A RESIZEDB hint for db 0 as Redis writes it; the other databases are
	// selected implicitly by WriteEntry.
	n0, e0 := uint64(0), uint64(0)
	for _, c := range cat {
		if c.DB == 0 {
			n0++
			if c.ExpireAt != 0 {
				e0++
			}
		}
	}
	if err := w.SelectDB(0, n0, e0); err != nil {
		t.Fatal(err)
	}
	for i := range cat {
		if err := w.WriteEntry(&cat[i].Entry); err != nil {
			t.Fatalf("WriteEntry %s: %v", cat[i].Key, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Written() != int64(buf.Len()) {
		t.Fatalf("Written %d, buffer %d", w.Written(), buf.Len())
	}
	return buf.Bytes()
}

const testFunction = "#!lua name=ferrylib\nredis.register_function('ferry_ping', function(keys, args) return 'pong' end)"

func checkCatalog(t *testing.T, cat []catalogEntry, recs []*Record, checkEnc bool) {
	t.Helper()
	keys := keysOf(recs)
	if len(keys) != len(cat) {
		t.Errorf("%d keys decoded, want %d", len(keys), len(cat))
	}
	for _, c := range cat {
		rec := keys[string(rune('0'+c.DB))+"/"+string(c.Key)]
		if c.DB >= 10 {
			rec = keys[itoa(c.DB)+"/"+string(c.Key)]
		}
		if rec == nil {
			t.Errorf("key %d/%s missing", c.DB, c.Key)
			continue
		}
		sameValue(t, string(c.Key), c.Value, rec.Value)
		if rec.ExpireAt != c.ExpireAt {
			t.Errorf("%s: expire %d, want %d", c.Key, rec.ExpireAt, c.ExpireAt)
		}
		if checkEnc && rec.Encoding != c.enc {
			t.Errorf("%s: encoding %s, want %s", c.Key, rec.Encoding, c.enc)
		}
	}
}

func itoa(n int) string {
	return string(appendInt(nil, int64(n)))
}

func TestRoundTripCatalog(t *testing.T) {
	cat := catalog()
	data := writeCatalog(t, cat, nil)
	recs, r := readAll(t, data)
	if r.Version() != 10 {
		t.Errorf("version %d", r.Version())
	}
	checkCatalog(t, cat, recs, true)

	aux := map[string]string{}
	var fns []string
	var resize []*Record
	for _, rec := range recs {
		switch rec.Type {
		case RecordAux:
			aux[string(rec.AuxKey)] = string(rec.AuxValue)
		case RecordFunction:
			fns = append(fns, string(rec.FunctionCode))
		case RecordResizeDB:
			resize = append(resize, rec)
		}
	}
	if aux["redis-ver"] != "7.0.15" || aux["redis-bits"] != "64" || aux["aof-base"] != "0" ||
		aux["used-mem"] != "0" || aux["ferry-test"] != "1" {
		t.Errorf("aux fields %v", aux)
	}
	if ct := aux["ctime"]; ct == "" || ct[0] < '1' {
		t.Errorf("ctime %q", ct)
	}
	if len(fns) != 1 || fns[0] != testFunction {
		t.Errorf("functions %q", fns)
	}
	if len(resize) != 1 || resize[0].DB != 0 || resize[0].DBSize == 0 {
		t.Errorf("resizedb records %+v", resize)
	}
	if r.stats.lzfStrings == 0 || r.stats.intStrings == 0 || r.stats.packedNodes == 0 {
		t.Errorf("encodings not exercised: %+v", r.stats)
	}
	// The checksum trailer is the CRC64 of everything before it.
	if got, want := binary.LittleEndian.Uint64(data[len(data)-8:]), CRC64(data[:len(data)-8]); got != want {
		t.Errorf("trailer %x, crc %x", got, want)
	}
}

func TestRoundTripOptions(t *testing.T) {
	cat := catalog()
	t.Run("no compression", func(t *testing.T) {
		data := writeCatalog(t, cat, &WriterOptions{NoCompression: true})
		recs, r := readAll(t, data)
		checkCatalog(t, cat, recs, true)
		if r.stats.lzfStrings != 0 {
			t.Errorf("%d LZF strings with compression off", r.stats.lzfStrings)
		}
	})
	t.Run("no checksum", func(t *testing.T) {
		data := writeCatalog(t, cat, &WriterOptions{NoChecksum: true})
		if !bytes.Equal(data[len(data)-8:], make([]byte, 8)) {
			t.Fatalf("trailer %x, want zeros", data[len(data)-8:])
		}
		recs, _ := readAll(t, data)
		checkCatalog(t, cat, recs, true)
	})
	t.Run("no listpacks", func(t *testing.T) {
		opts := &WriterOptions{HashMaxListpackEntries: -1, ZSetMaxListpackEntries: -1, SetMaxIntsetEntries: -1,
			ListMaxListpackSize: 2, ListPackedThreshold: 20, StreamNodeMaxEntries: 1,
			CTime: time.Unix(1234567890, 0), RedisVersion: "7.0.0", UsedMem: 12345, AOFBase: true}
		data := writeCatalog(t, cat, opts)
		recs, r := readAll(t, data)
		checkCatalog(t, cat, recs, false)
		for _, rec := range recs {
			switch rec.Encoding {
			case EncHashListpack, EncZSetListpack, EncSetIntset:
				t.Errorf("%s written as %s", rec.Key, rec.Encoding)
			}
			if rec.Type == RecordAux {
				switch string(rec.AuxKey) {
				case "ctime":
					if string(rec.AuxValue) != "1234567890" {
						t.Errorf("ctime %s", rec.AuxValue)
					}
				case "aof-base":
					if string(rec.AuxValue) != "1" {
						t.Errorf("aof-base %s", rec.AuxValue)
					}
				case "redis-ver":
					if string(rec.AuxValue) != "7.0.0" {
						t.Errorf("redis-ver %s", rec.AuxValue)
					}
				}
			}
		}
		if r.stats.plainNodes == 0 {
			t.Error("no PLAIN quicklist node written")
		}
	})
	t.Run("idle and freq", func(t *testing.T) {
		var buf bytes.Buffer
		w := NewWriter(&buf, nil)
		must(t, w.WriteEntry(&Entry{Key: []byte("a"), Value: String("1"), Idle: 3600, HasIdle: true}))
		must(t, w.WriteEntry(&Entry{Key: []byte("b"), Value: String("2"), Freq: 200, HasFreq: true, ExpireAt: 5}))
		must(t, w.Close())
		recs, _ := readAll(t, buf.Bytes())
		k := keysOf(recs)
		if a := k["0/a"]; !a.HasIdle || a.Idle != 3600 || a.HasFreq {
			t.Errorf("a: %+v", a.Entry)
		}
		if b := k["0/b"]; !b.HasFreq || b.Freq != 200 || b.HasIdle || b.ExpireAt != 5 {
			t.Errorf("b: %+v", b.Entry)
		}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWriterRejectsInvalidValues(t *testing.T) {
	bad := map[string]Value{
		"nil":         nil,
		"empty list":  List{},
		"empty set":   Set{},
		"empty hash":  Hash{},
		"empty zset":  ZSet{},
		"nan score":   ZSet{{[]byte("a"), nan()}},
		"dup intset":  Set(strs("1", "1")),
		"nil stream":  (*Stream)(nil),
		"unordered":   &Stream{Entries: []StreamEntry{{ID: StreamID{2, 0}}, {ID: StreamID{1, 0}}}},
		"orphan pel":  &Stream{Groups: []StreamGroup{{Name: []byte("g"), Consumers: []StreamConsumer{{Name: []byte("c"), Pending: []StreamID{{1, 1}}}}}}},
		"dup pending": &Stream{Groups: []StreamGroup{{Name: []byte("g"), Pending: []StreamPending{{ID: StreamID{1, 1}}, {ID: StreamID{1, 1}}}}}},
	}
	for name, v := range bad {
		var buf bytes.Buffer
		w := NewWriter(&buf, nil)
		if err := w.WriteEntry(&Entry{Key: []byte("k"), Value: v}); err == nil {
			t.Errorf("%s: accepted", name)
		}
		// The writer stays usable and the file stays valid.
		must(t, w.WriteEntry(&Entry{Key: []byte("ok"), Value: String("v")}))
		must(t, w.Close())
		recs, _ := readAll(t, buf.Bytes())
		if len(keysOf(recs)) != 1 {
			t.Errorf("%s: file has %d keys", name, len(keysOf(recs)))
		}
		if _, err := AppendDump(nil, v, nil); err == nil {
			t.Errorf("%s: AppendDump accepted", name)
		}
	}
	if err := NewWriter(io.Discard, nil).WriteEntry(&Entry{DB: -1, Key: []byte("k"), Value: String("v")}); err == nil {
		t.Error("negative db accepted")
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestWriterIOError(t *testing.T) {
	w := NewWriter(&failWriter{n: 1}, nil)
	big := String(randBytes(newRand(), 200<<10))
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		err = w.WriteEntry(&Entry{Key: []byte{byte(i)}, Value: big})
	}
	if err == nil {
		err = w.Close()
	}
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("disk full")) {
		t.Fatalf("error %v", err)
	}
	if err2 := w.Close(); err2 == nil {
		t.Fatal("Close after failure succeeded")
	}
}

func TestDumpRoundTrip(t *testing.T) {
	for _, c := range catalog() {
		payload := DumpValue(c.Value)
		v, enc, err := ParseDumpEncoding(payload)
		if err != nil {
			t.Fatalf("%s: %v", c.Key, err)
		}
		if enc != c.enc {
			t.Errorf("%s: encoding %s, want %s", c.Key, enc, c.enc)
		}
		sameValue(t, string(c.Key), c.Value, v)
	}
	p := DumpValue(String("hello"))
	// Version and checksum checks, with Redis's wording.
	newer := append([]byte{}, p...)
	newer[len(newer)-10] = 11
	bad := append([]byte{}, p...)
	bad[len(bad)-1] ^= 1
	for name, q := range map[string][]byte{"newer": newer, "checksum": bad, "short": p[:9], "nil": nil} {
		if _, err := ParseDump(q); !errors.Is(err, ErrDumpPayload) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if ErrDumpPayload.Error() != "ERR DUMP payload version or checksum are wrong" {
		t.Error(ErrDumpPayload)
	}
	// Older versions are accepted.
	old := withDumpFooter(p[:len(p)-10], 9)
	if v, err := ParseDump(old); err != nil || canon(v) != canon(String("hello")) {
		t.Errorf("version 9: %v %v", v, err)
	}
	// A valid footer around garbage is a format error.
	for name, body := range map[string][]byte{
		"empty":    {},
		"type":     {99, 1, 'a'},
		"module":   {7, 0},
		"trailing": append(append([]byte{}, p[:len(p)-10]...), 0),
		"short":    {0, 5, 'a'},
	} {
		if _, err := ParseDump(withDumpFooter(body, 10)); !errors.Is(err, ErrBadDataFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func withDumpFooter(body []byte, ver uint16) []byte {
	out := append([]byte{}, body...)
	out = binary.LittleEndian.AppendUint16(out, ver)
	return binary.LittleEndian.AppendUint64(out, CRC64(out))
}
