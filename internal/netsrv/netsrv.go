// Package netsrv runs TCP listeners for the front ends: the accept loop,
// one goroutine per connection or event loops (Linux, EventHandler) with
// panic recovery, the connection limit, and a registry of open connections
// (for stats, listing and killing clients). Front ends plug in as a
// Handler. It imports only the standard library.
package netsrv

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Handler serves one connection until it ends. ServeConn is called on the
// connection's own goroutine; it should return when the client leaves or
// c.Done is closed. The server closes the connection afterwards.
type Handler interface {
	ServeConn(c *Conn)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(c *Conn)

// ServeConn calls f(c).
func (f HandlerFunc) ServeConn(c *Conn) { f(c) }

// EventHandler is a Handler whose connections can also be served from
// event loops (Config.EventLoops): many connections per goroutine, each
// read only when it has input.
type EventHandler interface {
	Handler
	// Open prepares to serve c from a loop; it is called on the accepting
	// goroutine before c's first input.
	Open(c *Conn) Session
}

// Session is a connection served from an event loop.
type Session interface {
	// Ready is called on the loop's goroutine when the connection has
	// input or was closed: it reads with Conn.ReadNow, answers, and returns
	// whether the connection stays open. It must not wait: before anything
	// that could (a blocking command, a subscription's writer), it calls
	// Conn.Detach, then serves the connection to its end on this goroutine,
	// as Handler.ServeConn would, and returns false. Writes never wait: a
	// full socket buffer detaches the connection by itself (see
	// Conn.Detached). Returning false ends the session: its state must be
	// released by then; the server closes the socket.
	Ready() bool
}

// Config describes one listener.
type Config struct {
	Name     string // front end name for logs, e.g. "memcached"
	Addr     string // host:port; port 0 picks a free one
	MaxConns int    // 0 = unlimited
	// Reject, if set, is called for a connection refused because MaxConns
	// is reached, to tell the client why in its protocol, before it is closed.
	Reject func(net.Conn)
	Logger *slog.Logger
	// EventLoops, when above zero and the handler is an EventHandler,
	// serves connections from that many event loops (Linux) instead of a
	// goroutine each.
	EventLoops int
}

// Conn is one client connection.
type Conn struct {
	net.Conn
	ID      uint64
	Created time.Time
	srv     *Server
	done    chan struct{}
	once    sync.Once
	// Data is the front end's per-connection state, for registry readers
	// such as CLIENT LIST. Set it once, before the connection is visible
	// to other goroutines' use of it.
	Data atomic.Value
}

// Done is closed when the server asks the connection to end.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Kill asks the connection to end and unblocks its reads and writes.
func (c *Conn) Kill() {
	c.once.Do(func() {
		close(c.done)
		c.Conn.SetDeadline(time.Unix(1, 0))
	})
}

// Stats are a listener's connection counters.
type Stats struct {
	Current  int64  // open connections
	Total    uint64 // connections accepted since start
	Rejected uint64 // connections refused at the limit
}

// Server accepts connections on one listener.
type Server struct {
	cfg     Config
	ln      net.Listener
	handler Handler
	log     *slog.Logger

	mu     sync.Mutex
	conns  map[uint64]*Conn
	closed bool
	wg     sync.WaitGroup

	loops  []*loop // event loops, when serving an EventHandler from them
	loopWG sync.WaitGroup
	// acceptWake wakes serveLoops for Close; acceptDone (guarded by mu)
	// is closed when it has returned; acceptStopped (mu) makes a second
	// Close leave them alone.
	acceptWake    int
	acceptDone    chan struct{}
	acceptStopped bool

	nextID   atomic.Uint64
	current  atomic.Int64
	total    atomic.Uint64
	rejected atomic.Uint64
	maxConns atomic.Int64
}

// Listen binds the listener. Serve starts accepting.
func Listen(cfg Config, h Handler) (*Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen %s: %w", cfg.Name, cfg.Addr, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, ln: ln, handler: h, log: log, conns: map[uint64]*Conn{}}
	s.maxConns.Store(int64(cfg.MaxConns))
	if _, ok := h.(EventHandler); ok && cfg.EventLoops > 0 {
		if err := s.startLoops(cfg.EventLoops); err != nil {
			log.Warn("event loops unavailable: one goroutine per connection", "listener", cfg.Name, "err", err)
		}
	}
	return s, nil
}

// Addr returns the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// SetMaxConns changes the connection limit (0 = unlimited).
func (s *Server) SetMaxConns(n int) { s.maxConns.Store(int64(n)) }

// MaxConns returns the connection limit.
func (s *Server) MaxConns() int { return int(s.maxConns.Load()) }

// Serve accepts connections until Close. It returns nil after Close.
func (s *Server) Serve() error {
	if len(s.loops) > 0 {
		return s.serveLoops(s.handler.(EventHandler))
	}
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.acceptFailed(&backoff, err)
			continue
		}
		backoff = 0
		c, closing := s.admit(nc)
		if closing {
			return nil
		}
		if c != nil {
			go s.serve(c)
		}
	}
}

// acceptFailed waits after a failed accept (out of file descriptors and
// the like) and retries, as net/http does, instead of spinning or giving
// up: 5 ms, doubling up to a second.
func (s *Server) acceptFailed(backoff *time.Duration, err error) {
	if *backoff == 0 {
		*backoff = 5 * time.Millisecond
	} else if *backoff *= 2; *backoff > time.Second {
		*backoff = time.Second
	}
	s.log.Warn("accept failed", "listener", s.cfg.Name, "err", err, "retry_in", *backoff)
	time.Sleep(*backoff)
}

// admit applies the connection limit to a new connection and registers
// it. It returns nil for a connection refused at the limit (told why and
// closed), and closing (with the connection closed) once Close has begun.
func (s *Server) admit(nc net.Conn) (c *Conn, closing bool) {
	if max := s.maxConns.Load(); max > 0 && s.current.Load() >= max {
		s.rejected.Add(1)
		if s.cfg.Reject != nil {
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			s.cfg.Reject(nc)
		}
		nc.Close()
		return nil, false
	}
	c = &Conn{Conn: nc, ID: s.nextID.Add(1), Created: time.Now(), srv: s, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return nil, true
	}
	s.conns[c.ID] = c
	s.wg.Add(1)
	s.mu.Unlock()
	s.current.Add(1)
	s.total.Add(1)
	return c, false
}

func (s *Server) serve(c *Conn) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("connection handler panicked", "listener", s.cfg.Name,
				"conn", c.ID, "panic", r, "stack", string(debug.Stack()))
		}
		s.finish(c)
	}()
	s.handler.ServeConn(c)
}

// finish closes a connection whose handler is done and forgets it.
func (s *Server) finish(c *Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c.ID)
	s.mu.Unlock()
	s.current.Add(-1)
	s.wg.Done()
}

// Stats returns the connection counters.
func (s *Server) Stats() Stats {
	return Stats{Current: s.current.Load(), Total: s.total.Load(), Rejected: s.rejected.Load()}
}

// Each calls fn for every open connection, in no particular order.
func (s *Server) Each(fn func(*Conn)) {
	s.mu.Lock()
	list := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		list = append(list, c)
	}
	s.mu.Unlock()
	for _, c := range list {
		fn(c)
	}
}

// Get returns the open connection with the given ID, or nil.
func (s *Server) Get(id uint64) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[id]
}

// Close stops accepting, asks every connection to end and waits for their
// handlers to return, at most until grace has passed (then it closes them).
func (s *Server) Close(grace time.Duration) error {
	s.stopAccepting()
	err := s.ln.Close()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.Each(func(c *Conn) {
		c.once.Do(func() { close(c.done) })
		// Wake readers so handlers notice Done; writers may finish.
		c.wakeForClose()
	})
	s.stopLoops()
	finished := make(chan struct{})
	go func() { s.wg.Wait(); s.loopWG.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(grace):
		s.Each(func(c *Conn) { c.Conn.Close() })
		<-finished
	}
	return err
}
