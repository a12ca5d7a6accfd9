package main

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// fakeServer is a net.Conn that answers the requests written to it the way
// memcached would when every key holds value, without allocating, so the
// test can count the generator's own allocations.
type fakeServer struct {
	net.Conn // nil; only Read and Write are used
	value    []byte
	out      []byte
	r        int
}

func (f *fakeServer) Write(p []byte) (int, error) {
	f.out, f.r = f.out[:0], 0
	for rest := p; len(rest) > 0; {
		line, after, _ := bytes.Cut(rest, []byte("\r\n"))
		rest = after
		switch {
		case bytes.HasPrefix(line, []byte("get ")):
			f.out = append(f.out, "VALUE "...)
			f.out = append(f.out, line[4:]...)
			f.out = append(f.out, " 0 "...)
			f.out = append(f.out, "100\r\n"...)
			f.out = append(f.out, f.value...)
			f.out = append(f.out, "\r\nEND\r\n"...)
		case bytes.HasPrefix(line, []byte("set ")):
			rest = rest[len(f.value)+2:] // the data block
			f.out = append(f.out, "STORED\r\n"...)
		}
	}
	return len(p), nil
}

func (f *fakeServer) Read(p []byte) (int, error) {
	n := copy(p, f.out[f.r:])
	f.r += n
	return n, nil
}

func newFakeWorker(t *testing.T, m mode, pipeline int) *worker {
	t.Helper()
	cfg := &runConfig{mode: m, size: 100, keys: 1000, pipeline: pipeline, prefilled: true}
	fs := &fakeServer{value: makeValue(100), out: make([]byte, 0, 1<<16)}
	return newWorker(cfg, fs, 1)
}

func TestExchangeValidates(t *testing.T) {
	for _, m := range []mode{modeGet, modeSet, modeMix} {
		w := newFakeWorker(t, m, 16)
		var total batchCounts
		for range 50 {
			w.build()
			c, err := w.exchange()
			if err != nil {
				t.Fatalf("%s: %v", m, err)
			}
			total.hits += c.hits
			total.misses += c.misses
			total.errors += c.errors
		}
		if total.errors != 0 || total.misses != 0 {
			t.Errorf("%s: %+v", m, total)
		}
		if (m == modeSet) != (total.hits == 0) {
			t.Errorf("%s: %d hits", m, total.hits)
		}
	}
}

func TestExchangeCountsBadReplies(t *testing.T) {
	w := newFakeWorker(t, modeGet, 1)
	w.nc.(*fakeServer).value[0] = 'X' // the server returns a different value
	w.build()
	if c, err := w.exchange(); err != nil || c.errors != 1 {
		t.Fatalf("wrong value: counts %+v, err %v", c, err)
	}
}

func TestNoAllocationPerRequest(t *testing.T) {
	for _, m := range []mode{modeGet, modeSet, modeMix} {
		w := newFakeWorker(t, m, 16)
		allocs := testing.AllocsPerRun(200, func() {
			w.build()
			if _, err := w.exchange(); err != nil {
				t.Fatal(err)
			}
			w.res.hist.Record(time.Duration(w.rng % 1e6))
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per batch", m, allocs)
		}
	}
}

func TestCutUint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		rest string
		ok   bool
	}{
		{"0 100\r\n", 0, "100\r\n", true},
		{"100\r\n", 100, "\n", true},
		{"12 7 99\r\n", 12, "7 99\r\n", true},
		{"x 1\r\n", 0, "", false},
		{"12", 0, "", false},
	} {
		n, rest, ok := cutUint([]byte(tc.in))
		if n != tc.n || string(rest) != tc.rest || ok != tc.ok {
			t.Errorf("cutUint(%q) = %d, %q, %v", tc.in, n, rest, ok)
		}
	}
}
