package amqp

import (
	"sync"
	"time"

	"ferry/internal/broker"
	"ferry/internal/proto/amqp/wire"
)

// Output buffer limits. Deliveries are appended by whatever goroutine the
// broker runs them on (a publisher's connection, a TTL timer, the message
// store's syncer), so the buffer is shared and bounded: above outHigh the
// broker's Sink.Deliver returns false and the channel is paused; once the
// writer has drained the buffer below outLow the paused channels resume.
// The connection's own reader stops reading while more than outReaderMax
// is pending (a client that pipelines requests without reading replies).
const (
	outHigh      = 1 << 20
	outLow       = 256 << 10
	outReaderMax = 4 << 20
	// outKeep is the largest buffer kept for reuse after a write; bigger
	// ones (a 100 MB message) are left to the garbage collector.
	outKeep = 1 << 20
)

// output is a connection's outgoing byte stream: one buffer that any
// goroutine appends encoded frames to under mu, and one writer goroutine
// that swaps it out and writes it to the socket, so frames leave in the
// order they were appended and a burst of replies costs one write.
//
// While the connection's reader is working through its input (busy), an
// append does not wake the writer: the reader wakes it once at the end of
// the batch, so pipelined requests are answered with one write.
type output struct {
	c    *Conn
	mu   sync.Mutex
	buf  []byte
	busy bool
	// closed: the socket is dead or the writer has finished; appends are
	// dropped and deliveries refused.
	closed bool
	// finishing: write what is pending, then end.
	finishing bool
	paused    []*broker.Channel

	spare   []byte        // writer-owned: the previous buffer, reused
	wake    chan struct{} // cap 1: something to write
	drained chan struct{} // cap 1: a write completed (reader back-pressure)
	hbSet   chan time.Duration
	done    chan struct{} // closed when the writer ends
}

func (o *output) init(c *Conn) {
	o.c = c
	o.buf = make([]byte, 0, 4096)
	o.wake = make(chan struct{}, 1)
	o.drained = make(chan struct{}, 1)
	o.hbSet = make(chan time.Duration, 1)
	o.done = make(chan struct{})
	go o.run()
}

// wakeLocked wakes the writer unless the reader will at the end of its
// batch. Called with mu held.
func (o *output) wakeLocked() {
	if o.busy {
		return
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// method appends one method frame.
func (o *output) method(channel uint16, m wire.Method) {
	o.mu.Lock()
	if !o.closed {
		o.buf = wire.AppendMethodFrame(o.buf, channel, m)
		o.wakeLocked()
	}
	o.mu.Unlock()
}

// raw appends bytes that are already frames.
func (o *output) raw(b []byte) {
	o.mu.Lock()
	if !o.closed {
		o.buf = append(o.buf, b...)
		o.wakeLocked()
	}
	o.mu.Unlock()
}

// begin marks the start of a batch of input processing.
func (o *output) begin() {
	o.mu.Lock()
	o.busy = true
	o.mu.Unlock()
}

// end ends the batch, wakes the writer if anything is pending, and
// returns the bytes pending.
func (o *output) end() int {
	o.mu.Lock()
	o.busy = false
	n := len(o.buf)
	if n > 0 {
		select {
		case o.wake <- struct{}{}:
		default:
		}
	}
	o.mu.Unlock()
	return n
}

// pending returns the bytes not yet handed to the socket.
func (o *output) pending() (int, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.buf), o.closed
}

// setHeartbeat tells the writer to send a heartbeat whenever it has been
// silent for d (half the negotiated heartbeat timeout, as RabbitMQ's
// rabbit_heartbeat sender); 0 stops heartbeats.
func (o *output) setHeartbeat(d time.Duration) {
	select {
	case <-o.hbSet:
	default:
	}
	o.hbSet <- d
}

// run is the writer goroutine.
func (o *output) run() {
	defer close(o.done)
	var tick *time.Ticker
	var tickC <-chan time.Time
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	wrote := false
	for {
		select {
		case <-o.wake:
		case d := <-o.hbSet:
			if tick != nil {
				tick.Stop()
				tick, tickC = nil, nil
			}
			if d > 0 {
				tick = time.NewTicker(d)
				tickC = tick.C
			}
			continue
		case <-tickC:
			if wrote {
				// Something went out during the last period: the
				// peer has heard from us.
				wrote = false
				continue
			}
			o.mu.Lock()
			if !o.closed {
				o.buf = wire.AppendHeartbeat(o.buf)
			}
			o.mu.Unlock()
		}
		ok, n := o.flush()
		if n {
			wrote = true
		}
		if !ok {
			return
		}
	}
}

// flush writes until nothing is pending. It reports false when the writer
// must end (socket error, closed, or finished), and whether it wrote.
func (o *output) flush() (more, wrote bool) {
	for {
		o.mu.Lock()
		if o.closed {
			o.mu.Unlock()
			return false, wrote
		}
		if len(o.buf) == 0 {
			fin := o.finishing
			if fin {
				o.closed = true
			}
			o.mu.Unlock()
			return !fin, wrote
		}
		out := o.buf
		o.buf = o.spare[:0]
		o.spare = nil
		o.mu.Unlock()

		_, err := o.c.nc.Write(out)
		wrote = true
		o.c.srv.bytesOut.Add(uint64(len(out)))

		o.mu.Lock()
		if err != nil {
			o.closed = true
			o.paused = nil
			o.mu.Unlock()
			// Wake the reader: the connection is dead.
			o.c.nc.Conn.Close()
			o.signalDrained()
			return false, wrote
		}
		if cap(out) <= outKeep {
			o.spare = out[:0]
		}
		var resume []*broker.Channel
		if len(o.buf) < outLow && len(o.paused) > 0 {
			resume = o.paused
			o.paused = nil
		}
		o.mu.Unlock()
		o.signalDrained()
		// Resume may deliver at once (on this goroutine), appending to
		// the buffer again; the loop writes that too.
		for _, ch := range resume {
			ch.Resume()
		}
	}
}

func (o *output) signalDrained() {
	select {
	case o.drained <- struct{}{}:
	default:
	}
}

// finish asks the writer to write what is pending and end, and waits for
// it at most timeout; then the output is closed regardless.
func (o *output) finish(timeout time.Duration) {
	o.mu.Lock()
	o.finishing = true
	o.busy = false
	select {
	case o.wake <- struct{}{}:
	default:
	}
	o.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-o.done:
		return
	case <-t.C:
	}
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	// Unblock a Write stuck on a peer that does not read.
	o.c.nc.Conn.Close()
	<-o.done
}
