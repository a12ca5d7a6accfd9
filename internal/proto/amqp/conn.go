package amqp

import (
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"ferry/internal/broker"
	"ferry/internal/bufpool"
	"ferry/internal/netsrv"
	"ferry/internal/proto/amqp/wire"
)

// connState is where a connection is in its life (the names are
// rabbit_reader's, which error texts print).
type connState uint8

const (
	stateHeader   connState = iota // waiting for the protocol header
	stateStarting                  // connection.start sent, waiting for start-ok
	stateTuning                    // connection.tune sent, waiting for tune-ok
	stateOpening                   // tuned, waiting for connection.open
	stateRunning                   // open: channels may be used
	stateClosing                   // connection.close sent, waiting for close-ok
)

var stateNames = [...]string{"pre_init", "starting", "tuning", "opening", "running", "closing"}

func (s connState) String() string { return stateNames[s] }

const (
	readBufSize = 16 << 10
	// closeWait caps how long a connection waits for connection.close-ok
	// after sending connection.close (RabbitMQ's CLOSING_TIMEOUT).
	closeWait = 30 * time.Second
	// shutdownWait is how long a connection closed by a shutdown waits
	// for close-ok, within netsrv's grace period.
	shutdownWait = 3 * time.Second
	// finishWait bounds how long the last frames may take to go out.
	finishWait = 5 * time.Second
)

// Conn is one AMQP connection. Fields without a comment are owned by the
// connection's reader goroutine.
type Conn struct {
	srv  *Server
	nc   *netsrv.Conn
	log  *slog.Logger
	name string // "127.0.0.1:50000 -> 127.0.0.1:5672", as RabbitMQ names it

	in    []byte
	r, w  int
	ownIn []byte
	dec   wire.Decoder
	view  wire.BasicPropertiesView
	out   output

	state connState
	stop  bool // the reader must end after this batch
	// lingerFor keeps the socket open (reading and discarding) after
	// the reader ends: RabbitMQ's SILENT_CLOSE_DELAY after a failed login
	// or a frame error, so the client reads the close first.
	lingerFor time.Duration

	// Set during the handshake, read-only afterwards (the Sink methods
	// read them from other goroutines; channels exist only after open).
	frameMax        uint32 // negotiated; splits outgoing bodies
	frameMaxIn      uint32 // limit on incoming frames
	channelMax      uint16
	heartbeat       time.Duration
	capBlocked      bool // client announced connection.blocked
	capCancelNotify bool // client announced consumer_cancel_notify
	capAuthClose    bool // client announced authentication_failure_close
	mechanism       string
	user            *broker.User
	bconn           *broker.Conn

	chans     []*channel // by channel number
	nchannels int

	handshakeDeadline time.Time
	closeDeadline     time.Time
	curDeadline       time.Time // the read deadline last set
	lastRead          time.Time

	published   bool // a publish completed in this batch (memory alarm)
	sentBlocked bool // connection.blocked was sent
	shutdown    bool // the server is stopping (netsrv's Done)

	// Other goroutines reach the reader through these.
	forced  atomic.Pointer[broker.Error] // broker.ConnInfo.ForceClose
	kick    chan struct{}                // cap 1: wake a waiting reader
	unblock chan struct{}                // cap 1: the memory alarm cleared
}

var pastDeadline = time.Unix(1, 0)

func newConn(s *Server, nc *netsrv.Conn) *Conn {
	c := &Conn{
		srv:        s,
		nc:         nc,
		ownIn:      make([]byte, readBufSize),
		frameMaxIn: wire.FrameMinSize,
		frameMax:   wire.FrameMinSize,
		kick:       make(chan struct{}, 1),
		unblock:    make(chan struct{}, 1),
	}
	c.in = c.ownIn
	c.name = nc.RemoteAddr().String() + " -> " + nc.LocalAddr().String()
	c.log = s.log.With("conn", c.name)
	c.out.init(c)
	return c
}

// Name returns the connection's name as RabbitMQ prints it.
func (c *Conn) Name() string { return c.name }

// serve runs the connection until it ends.
func (c *Conn) serve() {
	defer c.cleanup()
	now := time.Now()
	c.handshakeDeadline = now.Add(c.srv.cfg.HandshakeTimeout)
	c.lastRead = now
	for {
		if !c.fill() {
			return
		}
		c.process()
		if c.stop {
			return
		}
		c.afterBatch()
		if c.stop {
			return
		}
	}
}

// cleanup releases what the connection holds in the broker, lets the last
// frames go out, and lingers when a close must be seen by the client.
func (c *Conn) cleanup() {
	c.closeAll()
	c.out.finish(finishWait)
	if c.lingerFor > 0 && !c.shutdown {
		c.linger(c.lingerFor)
	}
	if len(c.in) > len(c.ownIn) {
		bufpool.Put(c.in)
	}
	c.in = nil
}

// linger reads and discards input until the peer closes or d passes.
func (c *Conn) linger(d time.Duration) {
	c.nc.SetReadDeadline(time.Now().Add(d))
	var scratch [512]byte
	for {
		if _, err := c.nc.Read(scratch[:]); err != nil {
			return
		}
	}
}

// closeAll closes every channel and the broker connection (requeueing
// unacknowledged deliveries, deleting exclusive queues).
func (c *Conn) closeAll() {
	for _, ch := range c.chans {
		if ch != nil {
			ch.bch.Close()
		}
	}
	c.chans = nil
	c.nchannels = 0
	if c.bconn != nil {
		c.bconn.Close()
		c.bconn = nil
		c.srv.open.Add(-1)
	}
}

// fill reads more input, reporting false when the connection is done.
func (c *Conn) fill() bool {
	if c.r == c.w {
		c.r, c.w = 0, 0
		if len(c.in) > len(c.ownIn) {
			bufpool.Put(c.in)
			c.in = c.ownIn
		}
	} else if c.w == len(c.in) {
		c.ensureRoom(0)
	}
	for {
		c.setReadDeadline()
		if c.interrupted() {
			if !c.onInterrupt() || c.stop {
				return false
			}
			continue
		}
		n, err := c.nc.Read(c.in[c.w:])
		if n > 0 {
			c.w += n
			c.srv.bytesIn.Add(uint64(n))
			if c.heartbeat > 0 {
				c.lastRead = time.Now()
			}
			return true
		}
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if c.onTimeout() {
				continue
			}
		}
		return false
	}
}

// setReadDeadline arms the read deadline the state calls for: the
// handshake timeout until connection.open, two heartbeat intervals of
// silence once heartbeats are negotiated (RabbitMQ's receiver closes after
// two missed intervals), the close-ok wait while closing.
func (c *Conn) setReadDeadline() {
	var d time.Time
	switch {
	case c.state == stateClosing:
		d = c.closeDeadline
	case c.state < stateRunning:
		d = c.handshakeDeadline
		if c.heartbeat > 0 {
			if hd := c.lastRead.Add(2 * c.heartbeat); hd.Before(d) {
				d = hd
			}
		}
	case c.heartbeat > 0:
		d = c.lastRead.Add(2 * c.heartbeat)
	}
	if !d.Equal(c.curDeadline) {
		c.nc.SetReadDeadline(d)
		c.curDeadline = d
	}
}

// interrupted reports whether another goroutine asked the reader to stop
// what it is doing: the server is shutting down, or the broker forces the
// connection closed.
func (c *Conn) interrupted() bool {
	if c.forced.Load() != nil {
		return true
	}
	if !c.shutdown {
		select {
		case <-c.nc.Done():
			return true
		default:
		}
	}
	return false
}

// onInterrupt handles interrupted; false ends the connection.
func (c *Conn) onInterrupt() bool {
	c.curDeadline = pastDeadline // whoever interrupted moved the deadline
	if fe := c.forced.Swap(nil); fe != nil {
		if c.state != stateRunning {
			return c.state == stateClosing
		}
		c.connectionException(brokerError(fe))
		return true
	}
	c.shutdown = true
	switch c.state {
	case stateRunning:
		c.connectionException(errShutdown())
		c.closeDeadline = time.Now().Add(shutdownWait)
		return true
	case stateClosing:
		if d := time.Now().Add(shutdownWait); d.Before(c.closeDeadline) {
			c.closeDeadline = d
		}
		return true
	}
	return false
}

// onTimeout handles an expired read deadline; false ends the connection.
func (c *Conn) onTimeout() bool {
	c.curDeadline = pastDeadline
	now := time.Now()
	switch {
	case c.state == stateClosing:
		return now.Before(c.closeDeadline)
	case c.state < stateRunning && !now.Before(c.handshakeDeadline):
		c.log.Warn("closing AMQP connection: handshake_timeout", "state", c.state.String())
		return false
	}
	if c.heartbeat > 0 && now.Sub(c.lastRead) >= 2*c.heartbeat {
		c.log.Error("closing AMQP connection: missed heartbeats from client, timeout: " +
			strconv.Itoa(int(c.heartbeat/time.Second)) + "s")
		return false
	}
	return true // a kick moved the deadline; interrupted() will tell
}

// kickReader wakes the reader wherever it waits.
func (c *Conn) kickReader() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
	c.nc.Conn.SetReadDeadline(pastDeadline)
}

// forceClose is the broker's ConnInfo.ForceClose: the connection's vhost or
// user was deleted. Any goroutine may call it.
func (c *Conn) forceClose(err *broker.Error) {
	c.forced.Store(err)
	c.kickReader()
}

// ensureRoom makes the input buffer able to hold need bytes of unread
// input (or more than now, when need is 0). need never exceeds a frame of
// the negotiated frame_max, which ParseFrame checks before asking.
func (c *Conn) ensureRoom(need int) {
	unread := c.w - c.r
	if need <= unread {
		need = unread + 1
	}
	if need <= len(c.in)-c.r {
		return
	}
	if need <= len(c.in) && c.r > 0 {
		copy(c.in, c.in[c.r:c.w])
	} else {
		size := max(2*len(c.in), need)
		nb := bufpool.Get(size)
		nb = nb[:cap(nb)]
		copy(nb, c.in[c.r:c.w])
		if len(c.in) > len(c.ownIn) {
			bufpool.Put(c.in)
		}
		c.in = nb
	}
	c.r, c.w = 0, unread
}

// process handles every complete frame in the input buffer; replies go to
// the output buffer, written once at the end of the batch.
func (c *Conn) process() {
	c.out.begin()
	for c.r < c.w && !c.stop {
		buf := c.in[c.r:c.w]
		if c.state == stateHeader {
			n, err := wire.ParseProtocolHeader(buf)
			if err == wire.ErrIncomplete {
				break
			}
			if err != nil {
				// Answer with the header we speak and close (spec
				// 4.2.2, rabbit_reader:refuse_connection).
				c.out.raw(wire.ProtocolHeader)
				c.log.Warn("closing AMQP connection: " + err.Error())
				c.stop = true
				break
			}
			c.r += n
			c.out.raw(c.srv.start)
			c.state = stateStarting
			continue
		}
		f, n, err := wire.ParseFrame(buf, c.frameMaxIn)
		if err == wire.ErrIncomplete {
			if need := wire.FrameSize(buf); need > len(c.in)-c.r {
				c.ensureRoom(need)
			}
			break
		}
		if err != nil {
			we, _ := err.(*wire.Error)
			if we == nil {
				we = &wire.Error{Code: wire.FrameError, Text: err.Error(), Fatal: true}
			}
			c.r += n
			c.frameError(we)
			continue
		}
		c.r += n
		c.frame(f)
	}
	c.out.end()
}

// frameError handles a frame the codec refused.
func (c *Conn) frameError(we *wire.Error) {
	if we.Fatal {
		// The stream lost sync: tell the client, read nothing more
		// (rabbit_reader:fatal_frame_error).
		c.stop = true
		c.lingerFor = c.srv.cfg.AuthFailureDelay
	}
	if c.state == stateClosing {
		return
	}
	c.connectionException(&amqpError{code: we.Code, text: we.ReplyText(), key: wire.Key(we.ClassID, we.MethodID)})
}

// frame handles one frame.
func (c *Conn) frame(f wire.Frame) {
	if c.state == stateClosing {
		// After connection.close only close-ok counts; a crossing
		// connection.close is answered (rabbit_reader's closing state).
		if f.Channel == 0 && f.Type == wire.FrameMethod {
			switch k, _ := f.Method(); k {
			case wire.KeyConnectionCloseOk:
				c.stop = true
			case wire.KeyConnectionClose:
				c.out.method(0, &wire.ConnectionCloseOk{})
			}
		}
		return
	}
	if f.Type == wire.FrameHeartbeat {
		return // its arrival already counted as traffic
	}
	if f.Channel == 0 {
		// ParseFrame refuses content frames on channel 0.
		k, args := f.Method()
		m, err := c.dec.Decode(k.ClassID(), k.MethodID(), args)
		if err != nil {
			e, _ := classify(err, k)
			c.connectionException(e)
			return
		}
		c.method0(m)
		return
	}
	if c.state != stateRunning {
		c.connectionException(newErr(wire.UnexpectedFrame, 0, "type %d on channel %d in connection state %s", f.Type, f.Channel, c.state))
		return
	}
	c.channelFrame(f)
}

// afterBatch applies the limits that make the reader wait before reading
// more: the memory alarm (a publishing connection is blocked until it
// clears) and output back-pressure.
func (c *Conn) afterBatch() {
	if c.published && c.state == stateRunning && c.srv.alarm.Load() {
		c.block()
	}
	c.published = false
	if n, _ := c.out.pending(); n <= outReaderMax {
		return
	}
	for {
		n, closed := c.out.pending()
		if closed || n < outLow {
			return
		}
		select {
		case <-c.out.drained:
		case <-c.kick:
			return
		case <-c.nc.Done():
			return
		}
	}
}

// block stops reading from a connection that published while the memory
// alarm is raised, telling the client when it asked to be told
// (connection.blocked / connection.unblocked, RabbitMQ's throttle).
func (c *Conn) block() {
	if c.capBlocked && !c.sentBlocked {
		c.out.method(0, &wire.ConnectionBlocked{Reason: "low on memory"})
		c.sentBlocked = true
	}
	c.log.Info("connection blocked: memory alarm")
	for c.srv.alarm.Load() {
		select {
		case <-c.unblock:
		case <-c.kick:
			return
		case <-c.nc.Done():
			return
		case <-c.out.done:
			c.stop = true
			return
		}
	}
	if c.sentBlocked {
		c.out.method(0, &wire.ConnectionUnblocked{})
		c.sentBlocked = false
	}
	c.lastRead = time.Now() // heartbeats were not read while blocked
}

// connectionException closes the connection for e: in the running state
// with connection.close and a wait for close-ok; during the handshake as
// RabbitMQ does (a close for refused logins and refused vhosts, otherwise
// a silent close after a delay).
func (c *Conn) connectionException(e *amqpError) {
	switch c.state {
	case stateClosing:
		return
	case stateRunning:
		c.log.Error("Error on AMQP connection: operation " + opName(e.key) + " caused a connection exception " +
			wire.ReplyCodeName(e.code) + ": " + e.text)
		c.closeAll()
		c.out.method(0, e.connectionClose())
		c.enterClosing()
		return
	}
	c.handshakeFailed(e, e.text)
}

// enterClosing waits for connection.close-ok for at most the heartbeat
// timeout (30 s without heartbeats), as rabbit_reader:close_connection.
func (c *Conn) enterClosing() {
	c.state = stateClosing
	wait := closeWait
	if c.heartbeat > 0 && c.heartbeat < wait {
		wait = c.heartbeat
	}
	c.closeDeadline = time.Now().Add(wait)
}

// handshakeFailed ends a connection that has not reached the running
// state. detail is logged; the client learns only what RabbitMQ tells it.
func (c *Conn) handshakeFailed(e *amqpError, detail string) {
	c.log.Error("closing AMQP connection: "+detail, "state", c.state.String())
	switch {
	case e.code == wire.NotAllowed && (c.state == stateTuning || c.state == stateOpening):
		// Refused vhost, connection limit, bad tune-ok: the client
		// is told and answers close-ok.
		c.out.method(0, e.connectionClose())
		c.enterClosing()
	case e.code == wire.AccessRefused && c.state == stateStarting:
		if c.capAuthClose {
			c.out.method(0, e.connectionClose())
		}
		c.stop = true
		c.lingerFor = c.srv.cfg.AuthFailureDelay
	default:
		// "We don't trust the client at this point - force them to
		// wait for a bit" (rabbit_reader:handle_exception).
		c.stop = true
		c.lingerFor = c.srv.cfg.AuthFailureDelay
	}
}

func opName(k wire.MethodKey) string {
	if k == 0 {
		return "none"
	}
	return k.String()
}

// method0 handles a method on channel 0.
func (c *Conn) method0(m wire.Method) {
	k := m.Key()
	if cl, ok := m.(*wire.ConnectionClose); ok {
		if c.state == stateRunning {
			c.log.Debug("client closed the connection", "code", cl.ReplyCode, "text", cl.ReplyText)
			c.closeAll()
		}
		c.out.method(0, &wire.ConnectionCloseOk{})
		c.stop = true
		return
	}
	switch c.state {
	case stateStarting:
		if so, ok := m.(*wire.ConnectionStartOk); ok {
			c.startOk(so)
			return
		}
	case stateTuning:
		if to, ok := m.(*wire.ConnectionTuneOk); ok {
			c.tuneOk(to)
			return
		}
	case stateOpening:
		if o, ok := m.(*wire.ConnectionOpen); ok {
			c.open(o)
			return
		}
	case stateRunning:
		if _, ok := m.(*wire.ConnectionUpdateSecret); ok {
			// The internal user database has nothing to refresh.
			c.out.method(0, &wire.ConnectionUpdateSecretOk{})
			return
		}
	}
	c.connectionException(errUnexpectedMethod(k, c.state.String()))
}
