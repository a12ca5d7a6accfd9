package memcache

import (
	"strconv"

	"ferry/internal/bufpool"

	"ferry/internal/netsrv"
)

const (
	readBufSize = 16 << 10 // a connection's own read buffer
	outBufSize  = 16 << 10 // a connection's own output buffer
	flushAt     = 1 << 20  // flush replies mid-batch beyond this
	bigValue    = 4 << 10  // values this large reserve output room up front
)

// conn is one client connection's state. Only its own goroutine uses it.
type conn struct {
	srv         *Server
	nc          *netsrv.Conn
	id          uint64
	parser      *Parser
	req         Request
	in          []byte // unread input is in[r:w]
	r, w        int
	out         []byte
	ownIn       []byte // the connection's own buffers; bigger ones come
	ownOut      []byte // from bufpool and go back when drained
	swallow     int    // bytes of a rejected data block still to discard
	counts      localCounts
	classCounts classCounts
	scratch     []byte // reusable buffer for append/prepend
	logArgs     [][]byte
	logNum      []byte
	logFlags    []byte
	logOffset   int64 // log offset of the connection's latest change
	meta        metaArgs
	keyBuf      [MaxKeyLen + 3]byte // decoded base64 keys
	closing     bool
	greeted     bool // -vv has logged the protocol choice
	noreply     bool // the current request suppresses its reply
	verbose     bool // log this request's traffic (-vv)
}

// ServeConn serves one memcached connection on its own goroutine
// (netsrv.Handler).
func (s *Server) ServeConn(nc *netsrv.Conn) {
	c := s.newConn(nc)
	c.serve()
	c.end()
}

// Open prepares to serve a connection from an event loop
// (netsrv.EventHandler), as memcached's worker threads do.
func (s *Server) Open(nc *netsrv.Conn) netsrv.Session { return s.newConn(nc) }

// Ready serves the input that has arrived, on an event loop
// (netsrv.Session). Nothing a memcached request does waits, except a
// reply larger than the socket buffer (netsrv then detaches the
// connection) and fsync under appendfsync always (flush detaches): a
// detached connection is served on here until it leaves.
func (c *conn) Ready() bool {
	c.prepareRead()
	n, err := c.nc.ReadNow(c.in[c.w:])
	if err == netsrv.ErrWouldBlock {
		return true
	}
	ok := n > 0
	if ok {
		c.w += n
		c.process()
		ok = c.flush() && !c.closing
		if c.nc.Detached() {
			if ok && c.fill() {
				c.serve()
			}
			ok = false
		}
	}
	if !ok {
		c.end()
	}
	return ok
}

func (s *Server) newConn(nc *netsrv.Conn) *conn {
	c := &conn{
		srv:    s,
		nc:     nc,
		id:     nc.ID,
		parser: NewParser(s.cfg.Limits),
		ownIn:  make([]byte, readBufSize),
		ownOut: make([]byte, 0, outBufSize),
	}
	c.in, c.out = c.ownIn, c.ownOut
	s.logf(2, "<%d new auto-negotiating client connection", c.id)
	return c
}

// end settles a connection that is closing.
func (c *conn) end() {
	c.srv.counts.fold(&c.counts)
	c.srv.classes.fold(&c.classCounts)
	c.srv.logf(2, "<%d connection closed.", c.id)
}

func (c *conn) serve() {
	for {
		c.process()
		if !c.flush() || c.closing {
			return
		}
		if !c.fill() {
			return
		}
	}
}

// process handles every complete request in the input buffer.
func (c *conn) process() {
	for !c.closing {
		if c.swallow > 0 {
			n := min(c.swallow, c.w-c.r)
			c.r += n
			c.swallow -= n
			if c.swallow > 0 {
				return
			}
		}
		if c.r == c.w {
			return
		}
		st, n := c.parser.Parse(c.in[c.r:c.w], &c.req)
		switch st {
		case NeedMore:
			c.ensureRoom(c.req.Need)
			return
		case Fail:
			c.r += n
			c.verbose = c.srv.verbosity.Load() >= 2
			if c.verbose && c.req.Line != nil {
				c.srv.logf(2, "<%d %s", c.id, c.req.Line)
			}
			c.noreply = c.req.NoReply // memcached's noreply drops errors too
			c.reply(c.req.Err)
			c.swallow = c.req.Swallow
			c.closing = c.req.Close
		case Ready:
			if !c.greeted && c.nc != nil {
				c.greeted = true
				c.srv.logf(2, "%d: Client using the ascii protocol", c.id)
			}
			c.r += n
			c.counts[bytesRead] += uint64(n)
			c.dispatch(&c.req)
			c.swallow += c.req.Swallow
		}
		if c.nc != nil && len(c.out) >= flushAt && !c.flush() {
			c.closing = true
		}
	}
}

// ensureRoom makes the buffer able to hold need bytes of unread input (or,
// when need is 0, more than it holds now).
func (c *conn) ensureRoom(need int) {
	unread := c.w - c.r
	if need == 0 {
		need = unread + 1
	}
	if need <= len(c.in)-c.r {
		return
	}
	if need <= len(c.in) && c.r > 0 {
		copy(c.in, c.in[c.r:c.w])
	} else {
		nb := bufpool.Get(max(2*len(c.in), need))
		nb = nb[:cap(nb)]
		copy(nb, c.in[c.r:c.w])
		c.releaseIn()
		c.in = nb
	}
	c.r, c.w = 0, unread
}

// prepareRead makes room in the input buffer for a read.
func (c *conn) prepareRead() {
	if c.r == c.w {
		c.r, c.w = 0, 0
		c.releaseIn() // give back a big value's buffer
	} else if c.w == len(c.in) {
		c.ensureRoom(0)
	}
}

// fill reads more input, reporting false when the connection is done.
func (c *conn) fill() bool {
	c.prepareRead()
	n, _ := c.nc.Read(c.in[c.w:])
	c.w += n
	// With data in hand, process it; an error (EOF, reset, or the deadline
	// Kill and server shutdown set) comes back on the next read.
	return n > 0
}

// flush writes pending replies, reporting false if the client is gone.
func (c *conn) flush() bool {
	// Fold first: a client that has its reply must find the request
	// counted when it then asks for stats.
	c.srv.counts.fold(&c.counts)
	c.srv.classes.fold(&c.classCounts)
	if len(c.out) == 0 {
		return true
	}
	// Under appendfsync always, replies wait until their changes are on disk.
	if c.logOffset > 0 {
		if c.nc != nil && c.srv.cfg.Persist.RepliesWait() {
			// On their own goroutines, many connections share one fsync.
			c.nc.Detach()
		}
		if err := c.srv.cfg.Persist.WaitSynced(c.logOffset); err != nil {
			return false
		}
		c.logOffset = 0
	}
	_, err := c.nc.Write(c.out)
	c.counts[bytesWritten] += uint64(len(c.out))
	if cap(c.out) > cap(c.ownOut) {
		bufpool.Put(c.out)
	}
	c.out = c.ownOut[:0]
	return err == nil
}

// releaseIn swaps a pooled read buffer back for the connection's own.
func (c *conn) releaseIn() {
	if len(c.in) > len(c.ownIn) {
		bufpool.Put(c.in)
		c.in = c.ownIn
	}
}

// reserveOut makes room for n more output bytes; big values get a pooled
// buffer instead of growing (and later dropping) a fresh one.
func (c *conn) reserveOut(n int) {
	if cap(c.out)-len(c.out) < n {
		old := c.out
		c.out = bufpool.Grow(c.out, n)
		if cap(old) == cap(c.ownOut) {
			c.ownOut = old[:0] // Grow did not pool it: keep it as ours
		}
	}
}

// reply appends a line reply unless the request said noreply (which in
// memcached's text protocol drops error replies as well).
func (c *conn) reply(line string) {
	if c.noreply {
		if c.verbose {
			c.srv.logf(2, ">%d NOREPLY %s", c.id, line)
		}
		return
	}
	c.out = append(c.out, line...)
	c.out = append(c.out, "\r\n"...)
	if c.verbose {
		c.srv.logf(2, ">%d %s", c.id, line)
	}
}

// replyUint appends a number reply (incr/decr) unless noreply.
func (c *conn) replyUint(v uint64) {
	if c.noreply {
		return
	}
	c.out = strconv.AppendUint(c.out, v, 10)
	c.out = append(c.out, "\r\n"...)
	if c.verbose {
		c.srv.logf(2, ">%d %d", c.id, v)
	}
}
