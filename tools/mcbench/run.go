package main

import (
	"bufio"
	"bytes"
	"errors"
	"ferry/tools/internal/latency"
	"fmt"
	"net"
	"sync"
	"time"
)

// mode is the request mix a run sends.
type mode string

const (
	modeGet mode = "get" // get only
	modeSet mode = "set" // set only
	modeMix mode = "mix" // 10 gets : 1 set
)

// mixPeriod: in mix mode every mixPeriod-th request is a set.
const mixPeriod = 11

// keyLen is the length of "key:%010d".
const keyLen = 14

// runConfig describes one load run against one server.
type runConfig struct {
	addr      string
	conns     int
	mode      mode
	duration  time.Duration
	warmup    time.Duration // load is applied but not measured
	size      int           // value bytes
	keys      int           // key space
	pipeline  int           // requests per write
	prefilled bool          // every key holds a size-byte value: a get miss is an error
	onMeasure func()        // if set, called when the warmup ends
}

// result is what a run measured.
type result struct {
	cfg     runConfig
	ops     uint64        // requests completed in the measured window
	elapsed time.Duration // measured window, up to the last reply
	hits    uint64
	misses  uint64
	errors  uint64 // error replies, wrong values, and misses of prefilled keys
	hist    latency.Histogram
	aborted int   // connections that stopped early
	err     error // why the first of them stopped
}

// opsPerSec returns the throughput.
func (r *result) opsPerSec() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ops) / r.elapsed.Seconds()
}

// worker drives one connection. Everything a request needs is built into
// buffers allocated once, so the load generator does not spend the cores it
// shares with the server on garbage.
type worker struct {
	cfg     *runConfig
	nc      net.Conn
	br      *bufio.Reader
	wbuf    []byte
	batch   []uint64 // key id of each request in the batch
	isSet   []bool   // whether each request in the batch is a set
	setTail []byte   // " 0 0 <size>\r\n<value>\r\n"
	value   []byte   // value plus "\r\n", as the server returns it
	key     [keyLen]byte
	rng     uint64
	seq     uint64
	res     result
	last    time.Time // when the last measured batch completed
}

// errDesync means a reply could not be parsed, so the stream position is lost.
var errDesync = errors.New("unexpected reply")

// makeValue returns a size-byte value that is recognisable in a dump.
func makeValue(size int) []byte {
	v := make([]byte, size)
	for i := range v {
		v[i] = 'a' + byte(i%26)
	}
	return v
}

// run applies the configured load and returns the merged measurements.
func run(cfg runConfig) (*result, error) {
	if cfg.conns < 1 || cfg.pipeline < 1 || cfg.keys < 1 || cfg.size < 0 {
		return nil, fmt.Errorf("conns, pipeline and keys must be positive")
	}
	workers := make([]*worker, cfg.conns)
	for i := range workers {
		nc, err := net.DialTimeout("tcp", cfg.addr, 5*time.Second)
		if err != nil {
			for _, w := range workers[:i] {
				w.nc.Close()
			}
			return nil, fmt.Errorf("connect %s: %w", cfg.addr, err)
		}
		workers[i] = newWorker(&cfg, nc, uint64(i)+1)
	}
	start := time.Now()
	measureFrom := start.Add(cfg.warmup)
	end := measureFrom.Add(cfg.duration)
	if cfg.onMeasure != nil {
		t := time.AfterFunc(cfg.warmup, cfg.onMeasure)
		defer t.Stop()
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.nc.Close()
			// A stalled server must not hang the run forever.
			w.nc.SetDeadline(end.Add(30 * time.Second))
			w.res.err = w.loop(measureFrom, end)
		}()
	}
	wg.Wait()

	total := &result{cfg: cfg}
	var last time.Time
	for _, w := range workers {
		r := &w.res
		total.ops += r.ops
		total.hits += r.hits
		total.misses += r.misses
		total.errors += r.errors
		total.hist.Merge(&r.hist)
		if r.err != nil {
			total.aborted++
			if total.err == nil {
				total.err = r.err
			}
		}
		if w.last.After(last) {
			last = w.last
		}
	}
	if !last.IsZero() {
		total.elapsed = last.Sub(measureFrom)
	}
	return total, nil
}

// newWorker prepares a worker for connection nc; seed varies its keys.
func newWorker(cfg *runConfig, nc net.Conn, seed uint64) *worker {
	w := &worker{
		cfg:   cfg,
		nc:    nc,
		br:    bufio.NewReaderSize(nc, 64<<10),
		wbuf:  make([]byte, 0, cfg.pipeline*(keyLen+cfg.size+40)),
		batch: make([]uint64, cfg.pipeline),
		isSet: make([]bool, cfg.pipeline),
		rng:   seed*0x9E3779B97F4A7C15 | 1,
	}
	val := makeValue(cfg.size)
	w.setTail = fmt.Appendf(nil, " 0 0 %d\r\n%s\r\n", cfg.size, val)
	w.value = append(val, "\r\n"...)
	// Start each connection at a different point of the mix.
	w.seq = seed
	return w
}

// next returns a uniformly distributed key id (xorshift64*).
func (w *worker) next() uint64 {
	w.rng ^= w.rng >> 12
	w.rng ^= w.rng << 25
	w.rng ^= w.rng >> 27
	return (w.rng * 2685821657736338717) % uint64(w.cfg.keys)
}

// appendKey appends "key:%010d" without fmt.
func appendKey(b []byte, id uint64) []byte {
	var d [keyLen]byte
	copy(d[:], "key:")
	for i := keyLen - 1; i >= 4; i-- {
		d[i] = byte('0' + id%10)
		id /= 10
	}
	return append(b, d[:]...)
}

// loop sends batches until end; batches started before measureFrom are warmup.
func (w *worker) loop(measureFrom, end time.Time) error {
	for {
		w.build()
		t0 := time.Now()
		if !t0.Before(end) {
			return nil
		}
		c, err := w.exchange()
		if err != nil {
			return err
		}
		t1 := time.Now()
		if t0.Before(measureFrom) {
			continue
		}
		w.res.hist.Record(t1.Sub(t0))
		w.res.ops += uint64(len(w.batch))
		w.res.hits += c.hits
		w.res.misses += c.misses
		w.res.errors += c.errors
		w.last = t1
	}
}

// build writes the next batch of requests into wbuf.
func (w *worker) build() {
	w.wbuf = w.wbuf[:0]
	for i := range w.batch {
		id := w.next()
		w.batch[i] = id
		set := false
		switch w.cfg.mode {
		case modeSet:
			set = true
		case modeMix:
			w.seq++
			set = w.seq%mixPeriod == 0
		}
		w.isSet[i] = set
		if set {
			w.wbuf = append(w.wbuf, "set "...)
			w.wbuf = appendKey(w.wbuf, id)
			w.wbuf = append(w.wbuf, w.setTail...)
		} else {
			w.wbuf = append(w.wbuf, "get "...)
			w.wbuf = appendKey(w.wbuf, id)
			w.wbuf = append(w.wbuf, "\r\n"...)
		}
	}
}

// batchCounts are one batch's reply outcomes.
type batchCounts struct{ hits, misses, errors uint64 }

// exchange sends the built batch and reads its replies.
func (w *worker) exchange() (batchCounts, error) {
	var c batchCounts
	if _, err := w.nc.Write(w.wbuf); err != nil {
		return c, err
	}
	for i, id := range w.batch {
		var err error
		if w.isSet[i] {
			err = w.readStore(&c.errors)
		} else {
			err = w.readGet(id, &c.hits, &c.misses, &c.errors)
		}
		if err != nil {
			return c, err
		}
	}
	return c, nil
}

// isErrorReply reports whether line is one of memcached's error replies
// (protocol.txt "Error strings").
func isErrorReply(line []byte) bool {
	return bytes.HasPrefix(line, []byte("ERROR")) ||
		bytes.HasPrefix(line, []byte("CLIENT_ERROR ")) ||
		bytes.HasPrefix(line, []byte("SERVER_ERROR "))
}

// readStore reads a set's reply.
func (w *worker) readStore(errs *uint64) error {
	line, err := w.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	switch {
	case string(line) == "STORED\r\n":
	case isErrorReply(line) || string(line) == "NOT_STORED\r\n":
		*errs++
	default:
		return fmt.Errorf("%w to set: %q", errDesync, line)
	}
	return nil
}

// readGet reads a single-key get's reply:
// "VALUE <key> <flags> <bytes>\r\n<data>\r\nEND\r\n" or "END\r\n".
func (w *worker) readGet(id uint64, hits, misses, errs *uint64) error {
	line, err := w.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if string(line) == "END\r\n" {
		*misses++
		if w.cfg.prefilled {
			*errs++
		}
		return nil
	}
	if isErrorReply(line) {
		*errs++
		return nil
	}
	if !bytes.HasPrefix(line, []byte("VALUE ")) {
		return fmt.Errorf("%w to get: %q", errDesync, line)
	}
	key := appendKey(w.key[:0], id)
	rest := line[len("VALUE "):]
	if !bytes.HasPrefix(rest, key) || len(rest) <= len(key) || rest[len(key)] != ' ' {
		return fmt.Errorf("%w: asked for %s, got %q", errDesync, key, line)
	}
	// The data length follows the flags: "<key> <flags> <bytes>[ <cas>]".
	rest = rest[len(key)+1:]
	_, rest, ok1 := cutUint(rest)
	n, _, ok2 := cutUint(rest)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w to get: %q", errDesync, line)
	}
	// line is invalid after the next read, so everything needed is parsed.
	switch {
	case n+2 != len(w.value):
		if w.cfg.prefilled {
			*errs++ // every key was stored with this run's size
		}
	case n+2 <= w.br.Size():
		data, err := w.br.Peek(n + 2)
		if err != nil {
			return err
		}
		if !bytes.Equal(data, w.value) {
			*errs++
		}
	}
	if _, err := w.br.Discard(n + 2); err != nil {
		return err
	}
	line, err = w.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if string(line) != "END\r\n" {
		return fmt.Errorf("%w after value: %q", errDesync, line)
	}
	*hits++
	return nil
}

// cutUint parses the decimal number at the start of b and returns it with
// what follows its terminating space (or CRLF).
func cutUint(b []byte) (n int, rest []byte, ok bool) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if n > 1<<40 {
			return 0, nil, false
		}
		n = n*10 + int(b[i]-'0')
		i++
	}
	if i == 0 || i == len(b) || (b[i] != ' ' && b[i] != '\r') {
		return 0, nil, false
	}
	return n, b[i+1:], true
}
