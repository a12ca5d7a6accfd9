package main

import (
	"bufio"
	"reflect"
	"strings"
	"testing"
)

func TestParseCSV(t *testing.T) {
	out := `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"LPUSH (needed to benchmark LRANGE)","21030.49","1.611","0.040","1.119","4.703","10.175","48.991"
"MSET (10 keys)","183486.25","3.716","0.408","3.583","5.415","7.287","8.087"
`
	rows, err := parseCSV([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []csvRow{
		{test: "LPUSH (needed to benchmark LRANGE)", rps: 21030.49, avg: 1.611, min: 0.040, p50: 1.119, p95: 4.703, p99: 10.175, max: 48.991},
		{test: "MSET (10 keys)", rps: 183486.25, avg: 3.716, min: 0.408, p50: 3.583, p95: 5.415, p99: 7.287, max: 8.087},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("got %+v\nwant %+v", rows, want)
	}
	if rows, err := parseCSV([]byte(`"test","rps"` + "\n")); err != nil || len(rows) != 0 {
		t.Fatalf("header only: %v %v", rows, err)
	}
	if _, err := parseCSV([]byte(`"SET","x","1","1","1","1","1","1"` + "\n")); err == nil {
		t.Fatal("bad number accepted")
	}
}

func TestSplitArgs(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"--save '' --appendonly no", []string{"--save", "", "--appendonly", "no"}},
		{`redis-server  --dir "/tmp/a b"`, []string{"redis-server", "--dir", "/tmp/a b"}},
		{`a\ b 'c\d'`, []string{"a b", `c\d`}},
		{"", nil},
	} {
		got, err := splitArgs(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitArgs(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := splitArgs("--save '"); err == nil {
		t.Error("unbalanced quote accepted")
	}
}

func TestParseStatTicks(t *testing.T) {
	stat := "1234 (redis server) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 5 0 100 0 0"
	n, err := parseStatTicks([]byte(stat))
	if err != nil || n != 325 {
		t.Fatalf("got %d, %v; want 325", n, err)
	}
}

func TestReadReply(t *testing.T) {
	in := "+OK\r\n-ERR unknown command 'LPUSH'\r\n:42\r\n$3\r\nabc\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n"
	br := bufio.NewReader(strings.NewReader(in))
	want := []any{"OK", respError("ERR unknown command 'LPUSH'"), int64(42), "abc", nil, []any{"a", int64(1)}}
	for i, w := range want {
		got, err := readReply(br)
		if err != nil || !reflect.DeepEqual(got, w) {
			t.Fatalf("reply %d: got %#v, %v; want %#v", i, got, err, w)
		}
	}
	if got := string(appendCommand(nil, "SET", "k", "")); got != "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n" {
		t.Fatalf("appendCommand: %q", got)
	}
}

func TestValueFor(t *testing.T) {
	v := valueFor(12, 10)
	if string(v) != "12.12.12.1" {
		t.Fatalf("got %q", v)
	}
	if keyName(7) != "key:0000000007" {
		t.Fatalf("got %q", keyName(7))
	}
}

func TestSpread(t *testing.T) {
	if got := spread([]float64{0.9, 0.5, 1.2}); got != "0.90 [0.50–1.20]" {
		t.Fatalf("got %q", got)
	}
	if got := median([]float64{1, 2, 3, 10}); got != 2.5 {
		t.Fatalf("median %v", got)
	}
}
