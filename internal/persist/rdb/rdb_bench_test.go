package rdb

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

const benchKeys = 1_000_000

var (
	benchOnce     sync.Once
	benchStrings  []byte // 1M string keys
	benchMixed    []byte // 1M keys of every type, mostly small
	benchMixedCat []Entry
)

func benchEntries(mixed bool) []Entry {
	out := make([]Entry, 0, benchKeys)
	for i := 0; i < benchKeys; i++ {
		key := []byte("key:" + strconv.Itoa(i))
		var v Value
		switch {
		case !mixed || i%10 < 6:
			if i%3 == 0 {
				v = String(strconv.Itoa(i))
			} else {
				v = String("value:" + strconv.Itoa(i) + ":padding")
			}
		case i%10 == 6:
			v = Hash{{[]byte("name"), []byte("user" + strconv.Itoa(i))}, {[]byte("age"), []byte(strconv.Itoa(i % 90))},
				{[]byte("city"), []byte("somewhere")}}
		case i%10 == 7:
			v = List{[]byte("a"), []byte(strconv.Itoa(i)), []byte("b"), []byte("c")}
		case i%10 == 8:
			v = Set{[]byte("1"), []byte(strconv.Itoa(i + 2)), []byte("-7")}
		default:
			v = ZSet{{[]byte("alpha"), 1}, {[]byte("beta"), float64(i) / 4}, {[]byte("gamma"), -3}}
		}
		e := Entry{Key: key, Value: v}
		if i%5 == 0 {
			e.ExpireAt = futureMs + int64(i)
		}
		out = append(out, e)
	}
	return out
}

func benchWrite(tb testing.TB, entries []Entry) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf, nil)
	for i := range entries {
		if err := w.WriteEntry(&entries[i]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func benchFiles(b *testing.B) {
	benchOnce.Do(func() {
		benchStrings = benchWrite(b, benchEntries(false))
		benchMixedCat = benchEntries(true)
		benchMixed = benchWrite(b, benchMixedCat)
	})
}

func benchDecode(b *testing.B, data []byte, wantKeys int) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r := NewReader(bytes.NewReader(data))
		n := 0
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if rec.Type == RecordKey {
				n++
			}
		}
		if n != wantKeys {
			b.Fatalf("%d keys, want %d", n, wantKeys)
		}
	}
	b.ReportMetric(float64(wantKeys)*float64(b.N)/time.Since(start).Seconds(), "keys/s")
}

// BenchmarkReader1MStrings decodes a 1M-key file of short strings.
func BenchmarkReader1MStrings(b *testing.B) {
	benchFiles(b)
	benchDecode(b, benchStrings, benchKeys)
}

// BenchmarkReader1MMixed decodes a 1M-key file: 60% strings, then small
// hashes, lists, intsets and sorted sets, 20% with a TTL.
func BenchmarkReader1MMixed(b *testing.B) {
	benchFiles(b)
	benchDecode(b, benchMixed, benchKeys)
}

var (
	populateOnce sync.Once
	populateFile []byte
)

// BenchmarkReaderRedisPopulate decodes a file saved by the real redis-server
// after DEBUG POPULATE 1000000.
func BenchmarkReaderRedisPopulate(b *testing.B) {
	populateOnce.Do(func() {
		dir := b.TempDir()
		s := startRedis(b, dir)
		rc := s.conn()
		rc.must("DEBUG", "POPULATE", benchKeys)
		rc.must("SAVE")
		var err error
		if populateFile, err = os.ReadFile(filepath.Join(dir, "dump.rdb")); err != nil {
			b.Fatal(err)
		}
		s.stop()
	})
	benchDecode(b, populateFile, benchKeys)
}

// BenchmarkWriter1MMixed encodes the mixed 1M-key data set.
func BenchmarkWriter1MMixed(b *testing.B) {
	benchFiles(b)
	b.SetBytes(int64(len(benchMixed)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		w := NewWriter(io.Discard, nil)
		for j := range benchMixedCat {
			if err := w.WriteEntry(&benchMixedCat[j]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchKeys)*float64(b.N)/time.Since(start).Seconds(), "keys/s")
}

func BenchmarkDumpValueHash(b *testing.B) {
	h := make(Hash, 50)
	for i := range h {
		h[i] = FieldValue{[]byte(fmt.Sprintf("field%d", i)), []byte(fmt.Sprintf("value%d", i))}
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		DumpValue(h)
	}
}

func BenchmarkParseDumpHash(b *testing.B) {
	h := make(Hash, 50)
	for i := range h {
		h[i] = FieldValue{[]byte(fmt.Sprintf("field%d", i)), []byte(fmt.Sprintf("value%d", i))}
	}
	p := DumpValue(h)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParseDump(p); err != nil {
			b.Fatal(err)
		}
	}
}
