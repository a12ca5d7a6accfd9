package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"ferry/tools/internal/latency"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// config is one load run: 1 publisher, subs subscribers.
type config struct {
	addr     string
	mode     string        // "channel" (SUBSCRIBE) or "pattern" (PSUBSCRIBE)
	subs     int           // subscriber connections
	size     int           // payload bytes (at least 8: the send time)
	pipeline int           // PUBLISH commands per write
	window   int           // most messages published but not yet received by every subscriber
	rate     int           // publishes per second; 0 = as fast as the window allows
	warmup   time.Duration // load before measuring
	duration time.Duration // measured time
	channel  string
}

// result is what one run measured.
type result struct {
	published uint64 // PUBLISH commands during the measured time
	delivered uint64 // messages the subscribers read during the measured time
	elapsed   time.Duration
	lat       latency.Histogram // publish → receive, every message received while measuring
	wrongN    uint64            // PUBLISH replies that were not the subscriber count
}

func (r *result) publishRate() float64 { return float64(r.published) / r.elapsed.Seconds() }
func (r *result) deliverRate() float64 { return float64(r.delivered) / r.elapsed.Seconds() }

// epoch is the zero of the timestamps in payloads; publisher and
// subscribers share the process, so its monotonic clock.
var epoch = time.Now()

func nowNs() int64 { return int64(time.Since(epoch)) }

// subscriber is one subscribed connection.
type subscriber struct {
	nc       net.Conn
	r        *bufio.Reader
	received atomic.Uint64
	lat      latency.Histogram
	err      error
}

// run executes one load run against cfg.addr.
func run(cfg config) (*result, error) {
	if cfg.size < 8 {
		cfg.size = 8
	}
	if cfg.channel == "" {
		cfg.channel = "psbench.news"
	}
	subCmd, target := "SUBSCRIBE", cfg.channel
	if cfg.mode == "pattern" {
		subCmd, target = "PSUBSCRIBE", "psbench.*"
	} else if cfg.mode != "channel" {
		return nil, fmt.Errorf("unknown mode %q (channel or pattern)", cfg.mode)
	}
	subs := make([]*subscriber, cfg.subs)
	defer func() {
		for _, s := range subs {
			if s != nil {
				s.nc.Close()
			}
		}
	}()
	for i := range subs {
		nc, err := net.DialTimeout("tcp", cfg.addr, 5*time.Second)
		if err != nil {
			return nil, err
		}
		s := &subscriber{nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}
		subs[i] = s
		if _, err := nc.Write(encode(subCmd, target)); err != nil {
			return nil, err
		}
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		kind, _, err := readMessage(s.r)
		if err != nil || (kind != "subscribe" && kind != "psubscribe") {
			return nil, fmt.Errorf("subscribe confirmation: %q %v", kind, err)
		}
		nc.SetReadDeadline(time.Time{})
	}
	var measuring atomic.Bool
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		go func(s *subscriber) {
			defer wg.Done()
			for {
				_, payload, err := readMessage(s.r)
				if err != nil {
					s.err = err
					return
				}
				if measuring.Load() && len(payload) >= 8 {
					s.lat.Record(time.Duration(nowNs() - int64(binary.LittleEndian.Uint64(payload))))
				}
				s.received.Add(1)
			}
		}(s)
	}
	minReceived := func() uint64 {
		m := subs[0].received.Load()
		for _, s := range subs[1:] {
			m = min(m, s.received.Load())
		}
		return m
	}

	pub, err := net.DialTimeout("tcp", cfg.addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer pub.Close()
	pr := bufio.NewReaderSize(pub, 64<<10)
	var published, wrongN atomic.Uint64
	stop := make(chan struct{})
	pubErr := make(chan error, 1)
	go func() {
		pubErr <- publish(cfg, pub, pr, &published, &wrongN, minReceived, stop)
	}()

	sumReceived := func() uint64 {
		var n uint64
		for _, s := range subs {
			n += s.received.Load()
		}
		return n
	}
	time.Sleep(cfg.warmup)
	measuring.Store(true)
	p0, d0, w0, t0 := published.Load(), sumReceived(), wrongN.Load(), time.Now()
	time.Sleep(cfg.duration)
	p1, d1, w1, t1 := published.Load(), sumReceived(), wrongN.Load(), time.Now()
	measuring.Store(false)
	close(stop)
	if err := <-pubErr; err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	for _, s := range subs {
		s.nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	}
	for _, s := range subs {
		s.nc.Close()
	}
	wg.Wait()
	res := &result{published: p1 - p0, delivered: d1 - d0, elapsed: t1.Sub(t0), wrongN: w1 - w0}
	for _, s := range subs {
		res.lat.Merge(&s.lat)
	}
	return res, nil
}

// publish sends PUBLISH commands in batches of cfg.pipeline until stop,
// each carrying its send time, and reads their replies. It keeps at most
// cfg.window messages in flight (published but not yet read by the
// slowest subscriber), so the run measures what the server sustains
// rather than how fast its buffers fill; with cfg.rate it paces itself.
func publish(cfg config, nc net.Conn, r *bufio.Reader, published, wrongN *atomic.Uint64,
	minReceived func() uint64, stop chan struct{}) error {
	payload := make([]byte, cfg.size)
	for i := 8; i < len(payload); i++ {
		payload[i] = 'x'
	}
	want := strconv.Itoa(cfg.subs)
	var buf []byte
	start := time.Now()
	var sent uint64
	batch := cfg.pipeline
	if cfg.rate > 0 {
		batch = 1
	}
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		if cfg.rate > 0 {
			next := start.Add(time.Duration(float64(sent) / float64(cfg.rate) * float64(time.Second)))
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
		}
		for spins := 0; published.Load()-minReceived() > uint64(cfg.window); spins++ {
			select {
			case <-stop:
				return nil
			default:
			}
			if spins < 50 {
				yield()
			} else {
				time.Sleep(20 * time.Microsecond)
			}
		}
		buf = buf[:0]
		for i := 0; i < batch; i++ {
			binary.LittleEndian.PutUint64(payload, uint64(nowNs()))
			buf = appendCommand(buf, "PUBLISH", cfg.channel, string(payload))
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := nc.Write(buf); err != nil {
			return err
		}
		for i := 0; i < batch; i++ {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return err
			}
			if len(line) < 3 || line[0] != ':' {
				return fmt.Errorf("PUBLISH reply %q", line)
			}
			if string(line[1:len(line)-2]) != want {
				wrongN.Add(1)
			}
		}
		sent += uint64(batch)
		published.Add(uint64(batch))
	}
}

// encode returns args as a RESP multibulk.
func encode(args ...string) []byte { return appendCommand(nil, args...) }

func appendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

var errProtocol = errors.New("unexpected reply")

// readMessage reads one pub/sub frame (RESP2 array or RESP3 push of bulk
// strings and integers) and returns its kind and last bulk element. The
// payload slice is valid until the next read.
func readMessage(r *bufio.Reader) (kind string, payload []byte, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return "", nil, err
	}
	if len(line) < 4 || (line[0] != '*' && line[0] != '>') {
		return "", nil, fmt.Errorf("%w: %q", errProtocol, line)
	}
	n, err := strconv.Atoi(string(line[1 : len(line)-2]))
	if err != nil || n < 1 {
		return "", nil, fmt.Errorf("%w: %q", errProtocol, line)
	}
	for i := 0; i < n; i++ {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return "", nil, err
		}
		if len(line) < 3 {
			return "", nil, fmt.Errorf("%w: %q", errProtocol, line)
		}
		switch line[0] {
		case ':':
			continue
		case '$':
		default:
			return "", nil, fmt.Errorf("%w: %q", errProtocol, line)
		}
		size, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil {
			return "", nil, fmt.Errorf("%w: %q", errProtocol, line)
		}
		if size < 0 {
			continue
		}
		if i == 0 {
			b, err := r.Peek(size)
			if err != nil {
				return "", nil, err
			}
			kind = internKind(b)
			r.Discard(size + 2)
			continue
		}
		if i == n-1 {
			if size+2 <= r.Size() {
				b, err := r.Peek(size + 2)
				if err != nil {
					return "", nil, err
				}
				payload = b[:size]
				r.Discard(size + 2)
			} else {
				payload = make([]byte, size+2)
				if _, err := io.ReadFull(r, payload); err != nil {
					return "", nil, err
				}
				payload = payload[:size]
			}
			continue
		}
		if _, err := r.Discard(size + 2); err != nil {
			return "", nil, err
		}
	}
	return kind, payload, nil
}

// internKind returns the frame kind without allocating for the usual ones.
func internKind(b []byte) string {
	switch string(b) {
	case "message":
		return "message"
	case "pmessage":
		return "pmessage"
	case "smessage":
		return "smessage"
	case "subscribe":
		return "subscribe"
	case "psubscribe":
		return "psubscribe"
	}
	return string(b)
}
