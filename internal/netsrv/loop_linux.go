//go:build linux

package netsrv

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Event loops. Go's net package serves a connection from its own goroutine:
// after each reply the goroutine reads again, gets EAGAIN, parks, and the
// runtime's poller wakes it when the next request arrives. For small
// request/response traffic (Redis at pipeline 1) that is an extra read
// system call and a goroutine switch per request, which costs more than
// the command itself. A loop instead waits on its own epoll set for many
// connections and reads each only when epoll says it has input, as
// redis-server and memcached do: one read and one write per request.
//
// Whatever could block (a blocking command, a full socket buffer, a
// subscriber's output) cannot run on a loop without stalling its other
// connections. Such a connection is detached: the goroutine serving it
// hands the loop to a fresh goroutine and goes on serving that one
// connection on its own, through the runtime's poller, exactly as in
// goroutine-per-connection mode. The loop's hot path needs no locks; the
// rare paths (accept, detach, close) take the loop's mutex.

// ErrWouldBlock is returned by Conn.ReadNow when no input is waiting.
var ErrWouldBlock = errors.New("netsrv: no input waiting")

const loopEvents = 256

// loop is one event loop: an epoll set and the connections in it.
type loop struct {
	srv  *Server
	epfd int
	// poll is epfd in the runtime's poller: an epoll set is readable
	// while it has events, so a loop with nothing to do parks its
	// goroutine there, as net's connections do, instead of blocking a
	// thread in epoll_wait (the scheduler would hand the thread's P to
	// another thread and take it back on every wake-up).
	epFile *os.File
	poll   syscall.RawConn
	wake   int // eventfd: Server.Close wakes the loop through it

	mu      sync.Mutex
	conns   map[int32]*loopConn // by fd
	closing bool
}

// loopConn is a connection served by a loop.
type loopConn struct {
	c    *Conn
	fc   *fdConn
	sess Session
}

func newLoop(s *Server) (*loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	r, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		syscall.Close(epfd)
		return nil, errno
	}
	wake := int(r)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(wake)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, wake, &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(wake)
		return nil, err
	}
	l := &loop{srv: s, epfd: epfd, wake: wake, conns: map[int32]*loopConn{}}
	syscall.SetNonblock(epfd, true) // NewFile puts only non-blocking files in the poller
	l.epFile = os.NewFile(uintptr(epfd), "epoll")
	if l.poll, err = l.epFile.SyscallConn(); err != nil {
		l.epFile.Close()
		syscall.Close(wake)
		return nil, err
	}
	return l, nil
}

// startLoops creates n loops (n > 0) and starts their goroutines.
func (s *Server) startLoops(n int) error {
	r, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		return errno
	}
	s.acceptWake = int(r)
	for i := 0; i < n; i++ {
		l, err := newLoop(s)
		if err != nil {
			for _, l := range s.loops {
				l.epFile.Close()
				syscall.Close(l.wake)
			}
			s.loops = nil
			syscall.Close(s.acceptWake)
			return err
		}
		s.loops = append(s.loops, l)
	}
	for _, l := range s.loops {
		s.loopWG.Add(1)
		go l.run()
	}
	return nil
}

// add starts serving a connection on the loop.
func (l *loop) add(lc *loopConn) error {
	fd := lc.fc.fd // read before the loop can see the connection
	l.mu.Lock()
	l.conns[int32(fd)] = lc
	l.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.mu.Lock()
		delete(l.conns, int32(fd))
		l.mu.Unlock()
		return err
	}
	return nil
}

// run is the loop. When a connection detaches during Ready, the goroutine
// running this function gives the loop to a new goroutine (detach starts
// it) and ends up serving that connection instead: run returns after it.
func (l *loop) run() {
	var events [loopEvents]syscall.EpollEvent
	var ready [loopEvents]*loopConn
	for {
		n, err := l.wait(events[:])
		if err != nil {
			l.srv.log.Error("event loop failed", "listener", l.srv.cfg.Name, "err", err)
			l.exit()
			return
		}
		// Resolve every event to its connection first: a connection closed
		// while serving this batch frees its fd, which a new connection may
		// take before the batch ends.
		woken := false
		l.mu.Lock()
		for i := 0; i < n; i++ {
			fd := events[i].Fd
			if int(fd) == l.wake {
				woken = true
				ready[i] = nil
				continue
			}
			ready[i] = l.conns[fd]
		}
		l.mu.Unlock()
		for i := 0; i < n; i++ {
			lc := ready[i]
			ready[i] = nil
			if lc == nil {
				continue
			}
			keep := l.serve(lc)
			if lc.fc.handedOff.Load() {
				// Ready served the detached connection to its end on this
				// goroutine; another goroutine runs the loop now.
				l.srv.finish(lc.c)
				return
			}
			if !keep {
				l.remove(lc)
				l.srv.finish(lc.c)
			}
		}
		if woken {
			var buf [8]byte
			syscall.Read(l.wake, buf[:])
			if l.shouldExit() {
				l.exit()
				return
			}
		}
	}
}

// wait returns the next events, parking the goroutine while there are none.
func (l *loop) wait(events []syscall.EpollEvent) (int, error) {
	var n int
	var werr error
	err := l.poll.Read(func(fd uintptr) bool {
		for {
			r, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_WAIT, fd,
				uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
			switch errno {
			case 0:
				n = int(r)
				return n > 0
			case syscall.EINTR:
				continue
			default:
				werr = errno
				return true
			}
		}
	})
	if werr != nil {
		return 0, werr
	}
	return n, err
}

// serve calls Ready, recovering from a panic in the handler as the
// goroutine-per-connection mode does.
func (l *loop) serve(lc *loopConn) (keep bool) {
	defer func() {
		if r := recover(); r != nil {
			l.srv.log.Error("connection handler panicked", "listener", l.srv.cfg.Name,
				"conn", lc.c.ID, "panic", r, "stack", string(debug.Stack()))
			keep = false
		}
	}()
	return lc.sess.Ready()
}

// remove takes a connection that ended out of the loop and closes its socket.
func (l *loop) remove(lc *loopConn) {
	l.forget(lc.fc.fd, lc)
	lc.fc.close()
}

// forget drops the loop's record of a connection that ends or detaches;
// a closing loop that is left with none is woken to exit.
func (l *loop) forget(fd int, lc *loopConn) {
	l.mu.Lock()
	if lc == nil || l.conns[int32(fd)] == lc {
		delete(l.conns, int32(fd))
	}
	exit := l.closing && len(l.conns) == 0
	l.mu.Unlock()
	if exit {
		l.wakeUp()
	}
}

func (l *loop) shouldExit() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closing && len(l.conns) == 0
}

func (l *loop) wakeUp() {
	one := [8]byte{1}
	syscall.Write(l.wake, one[:])
}

// stop asks the loop to end once its connections have.
func (l *loop) stop() {
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
	l.wakeUp()
}

func (l *loop) exit() {
	l.epFile.Close()
	syscall.Close(l.wake)
	l.srv.loopWG.Done()
}

// pick chooses the loop for a new connection: the one serving fewest.
func (s *Server) pick() *loop {
	best, bestN := s.loops[0], -1
	for _, l := range s.loops {
		l.mu.Lock()
		n := len(l.conns)
		l.mu.Unlock()
		if bestN < 0 || n < bestN {
			best, bestN = l, n
		}
	}
	return best
}

// serveLoops accepts connections for the loops. It accepts on the
// listener's raw socket, waiting in an epoll set of its own, so that new
// sockets never enter the runtime's poller (they go to a loop's epoll set
// instead); net's listener has no accept that leaves them out.
func (s *Server) serveLoops(h EventHandler) error {
	tl, ok := s.ln.(*net.TCPListener)
	if !ok {
		return errors.New("netsrv: event loops need a TCP listener")
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return err
	}
	lfd := -1
	rc.Control(func(fd uintptr) { lfd = int(fd) })
	s.mu.Lock()
	if s.closed || s.acceptDone != nil {
		s.mu.Unlock()
		return nil
	}
	s.acceptDone = make(chan struct{})
	s.mu.Unlock()
	defer close(s.acceptDone)
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer syscall.Close(ep)
	for _, fd := range []int{lfd, s.acceptWake} {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
		if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return err
		}
	}
	var backoff time.Duration
	var events [2]syscall.EpollEvent
	for {
		nfd, sa, aerr := syscall.Accept4(lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if aerr == syscall.EAGAIN {
			n, err := syscall.EpollWait(ep, events[:], -1)
			if err != nil && err != syscall.EINTR {
				return err
			}
			for i := 0; i < n; i++ {
				if int(events[i].Fd) == s.acceptWake {
					return nil // Close
				}
			}
			continue
		}
		if aerr != nil {
			if aerr == syscall.ECONNABORTED || aerr == syscall.EINTR {
				continue
			}
			s.acceptFailed(&backoff, aerr)
			continue
		}
		backoff = 0
		// As net's accepted connections: no Nagle delay, keep-alive probes.
		syscall.SetsockoptInt(nfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		syscall.SetsockoptInt(nfd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
		syscall.SetsockoptInt(nfd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 15)
		syscall.SetsockoptInt(nfd, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 15)
		fc := &fdConn{fd: nfd, raddr: tcpAddr(sa), laddr: s.ln.Addr()}
		if lsa, err := syscall.Getsockname(nfd); err == nil {
			fc.laddr = tcpAddr(lsa)
		}
		// A refused connection is told why with a plain write: the short
		// message fits the socket buffer (fc has no loop, so nothing
		// waits).
		c, closing := s.admit(fc)
		if closing {
			return nil
		}
		if c == nil {
			continue
		}
		l := s.pick()
		fc.loop = l
		lc := &loopConn{c: c, fc: fc, sess: h.Open(c)}
		if err := l.add(lc); err != nil {
			s.log.Warn("event loop refused a connection", "listener", s.cfg.Name, "err", err)
			fc.close()
			s.finish(c)
		}
	}
}

func tcpAddr(sa syscall.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *syscall.SockaddrInet6:
		ta := &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				ta.Zone = ifi.Name
			}
		}
		return ta
	}
	return &net.TCPAddr{}
}

// fdConn is a loop's connection as a net.Conn. On the loop its socket is
// a raw non-blocking descriptor; once detached it is an *os.File in the
// runtime's poller, with blocking reads and writes and deadlines.
type fdConn struct {
	loop         *loop
	laddr, raddr net.Addr
	// handedOff is set by detach on the goroutine that served the loop,
	// which reads it once Ready returns; others may read it (Detached).
	handedOff atomic.Bool

	// mu orders detach and close against Kill and Close from other
	// goroutines. fd changes only on the owning goroutine (under mu), so the
	// owner reads it without the lock.
	mu     sync.Mutex
	fd     int                     // -1 once detached or closed
	file   atomic.Pointer[os.File] // set by detach
	closed bool
	// gone is set by shutdown (Kill, Server.Close): the loop ends the
	// connection at its next event. noWrite is set by Kill only: Close
	// stops input but lets the replies of commands already read go out.
	gone, noWrite atomic.Bool
}

// readNow reads what is waiting without blocking.
func (fc *fdConn) readNow(p []byte) (int, error) {
	if f := fc.detachedFile(); f != nil {
		return f.Read(p)
	}
	if fc.gone.Load() {
		return 0, io.EOF
	}
	for {
		n, err := rawRead(fc.fd, p)
		switch {
		case err == nil && n == 0 && len(p) > 0:
			return 0, io.EOF
		case err == nil:
			return n, nil
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, ErrWouldBlock
		default:
			return 0, err
		}
	}
}

func (fc *fdConn) detachedFile() *os.File { return fc.file.Load() }

// Read blocks: on a loop it detaches the connection first.
func (fc *fdConn) Read(p []byte) (int, error) {
	if f := fc.detachedFile(); f != nil {
		return f.Read(p)
	}
	if fc.loop == nil { // a refused connection being told why
		return 0, io.EOF
	}
	n, err := fc.readNow(p)
	if err != ErrWouldBlock {
		return n, err
	}
	if f := fc.detach(); f != nil {
		return f.Read(p)
	}
	return 0, net.ErrClosed
}

// Write writes all of p. On a loop a full socket buffer detaches the
// connection, and the rest is written through the poller.
func (fc *fdConn) Write(p []byte) (int, error) {
	if f := fc.detachedFile(); f != nil {
		return f.Write(p)
	}
	if fc.noWrite.Load() {
		return 0, syscall.EPIPE
	}
	written := 0
	for written < len(p) {
		n, err := rawWrite(fc.fd, p[written:])
		if n > 0 {
			written += n
		}
		switch {
		case err == nil:
			continue
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if fc.loop == nil {
				return written, err
			}
			f := fc.detach()
			if f == nil {
				return written, net.ErrClosed
			}
			m, err := f.Write(p[written:])
			return written + m, err
		default:
			return written, err
		}
	}
	return written, nil
}

// rawRead and rawWrite are read and write on a non-blocking socket without
// telling the scheduler: they never wait, and a system call the runtime
// knows of, if it lasts over 20 µs (loopback writes deliver to the peer
// inside the call), gets its thread's P handed to another thread: a futex
// wake-up and two context switches for nothing.
func rawRead(fd int, p []byte) (int, error) {
	if raceEnabled {
		return syscall.Read(fd, p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	r, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	if raceEnabled {
		return syscall.Write(fd, p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	r, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// detach moves the connection off its loop (see the comment at the top).
// It must be called on the goroutine running the loop, from Ready. It
// returns the connection's file, or nil if the connection was closed.
func (fc *fdConn) detach() *os.File {
	fc.mu.Lock()
	if f := fc.file.Load(); f != nil || fc.closed {
		fc.mu.Unlock()
		return f
	}
	l := fc.loop
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, fc.fd, nil)
	l.forget(fc.fd, nil)
	f := os.NewFile(uintptr(fc.fd), "tcp") // non-blocking: joins the poller
	fc.file.Store(f)
	fc.fd = -1
	gone, noWrite := fc.gone.Load(), fc.noWrite.Load()
	fc.handedOff.Store(true)
	fc.mu.Unlock()
	if noWrite {
		f.SetDeadline(time.Unix(1, 0))
	} else if gone {
		f.SetReadDeadline(time.Unix(1, 0))
	}
	go l.run()
	return f
}

// shutdown ends the connection from any goroutine: a loop sees end of
// input at once; a detached connection's reads (and, unless how is
// SHUT_RD, writes) fail.
func (fc *fdConn) shutdown(how int) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	switch f := fc.file.Load(); {
	case f != nil:
		if how == syscall.SHUT_RD {
			f.SetReadDeadline(time.Unix(1, 0))
		} else {
			f.SetDeadline(time.Unix(1, 0))
		}
	case !fc.closed:
		fc.gone.Store(true)
		if how != syscall.SHUT_RD {
			fc.noWrite.Store(true)
		}
		syscall.Shutdown(fc.fd, how)
	}
}

// close releases the socket (the loop's own close, or the detached
// goroutine's when it is done).
func (fc *fdConn) close() error {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.closed {
		return nil
	}
	fc.closed = true
	if f := fc.file.Load(); f != nil {
		return f.Close()
	}
	fd := fc.fd
	fc.fd = -1
	return syscall.Close(fd)
}

// Close shuts the connection down; the loop (or the detached goroutine)
// releases the socket when it sees that.
func (fc *fdConn) Close() error {
	if fc.file.Load() != nil || fc.loop == nil {
		return fc.close()
	}
	fc.shutdown(syscall.SHUT_RDWR)
	return nil
}

func (fc *fdConn) LocalAddr() net.Addr  { return fc.laddr }
func (fc *fdConn) RemoteAddr() net.Addr { return fc.raddr }

// SetDeadline: a deadline in the past ends a looped connection (Kill);
// a future one needs the poller, so it detaches (only from Ready).
func (fc *fdConn) SetDeadline(t time.Time) error {
	return fc.deadline(t, syscall.SHUT_RDWR, (*os.File).SetDeadline)
}

// SetReadDeadline is SetDeadline for reads.
func (fc *fdConn) SetReadDeadline(t time.Time) error {
	return fc.deadline(t, syscall.SHUT_RD, (*os.File).SetReadDeadline)
}

// SetWriteDeadline is SetDeadline for writes; looped writes never wait, so
// it matters only once detached.
func (fc *fdConn) SetWriteDeadline(t time.Time) error {
	if f := fc.detachedFile(); f != nil {
		return f.SetWriteDeadline(t)
	}
	return nil
}

func (fc *fdConn) deadline(t time.Time, how int, set func(*os.File, time.Time) error) error {
	if f := fc.detachedFile(); f != nil {
		return set(f, t)
	}
	switch {
	case t.IsZero():
		return nil
	case !t.After(time.Now()):
		fc.shutdown(how)
		return nil
	}
	if fc.loop == nil {
		return nil
	}
	if f := fc.detach(); f != nil {
		return set(f, t)
	}
	return net.ErrClosed
}

// ReadNow reads the input waiting on a looped connection without
// blocking (ErrWouldBlock when there is none); on other connections it is
// Read.
func (c *Conn) ReadNow(p []byte) (int, error) {
	if fc, ok := c.Conn.(*fdConn); ok {
		return fc.readNow(p)
	}
	return c.Conn.Read(p)
}

// Detach moves a connection served by an event loop to a goroutine of its
// own, the goroutine calling it: the handler must call it from Ready before
// anything that waits (see Session). It does nothing to other connections.
func (c *Conn) Detach() {
	if fc, ok := c.Conn.(*fdConn); ok {
		fc.detach()
	}
}

// Detached reports whether Ready detached the connection: Ready must then
// serve it to its end before returning false.
func (c *Conn) Detached() bool {
	fc, ok := c.Conn.(*fdConn)
	return ok && fc.handedOff.Load()
}

// OnLoop reports whether an event loop serves the connection now (not
// detached, not on a goroutine of its own).
func (c *Conn) OnLoop() bool {
	fc, ok := c.Conn.(*fdConn)
	return ok && fc.loop != nil && !fc.handedOff.Load()
}

// wakeForClose makes a connection's handler notice Server.Close.
func (c *Conn) wakeForClose() {
	if fc, ok := c.Conn.(*fdConn); ok {
		fc.shutdown(syscall.SHUT_RD)
		return
	}
	c.SetReadDeadline(time.Now())
}

// stopAccepting ends serveLoops before the listener closes (accept4 on a
// closed descriptor number could take another socket's connections).
func (s *Server) stopAccepting() {
	if len(s.loops) == 0 {
		return
	}
	s.mu.Lock()
	if s.acceptStopped {
		s.mu.Unlock()
		return
	}
	s.acceptStopped = true
	done := s.acceptDone
	if done == nil {
		s.acceptDone = make(chan struct{}) // a later Serve returns at once
	}
	s.mu.Unlock()
	one := [8]byte{1}
	syscall.Write(s.acceptWake, one[:])
	if done != nil {
		<-done
	}
	syscall.Close(s.acceptWake)
}

// stopLoops asks the loops to end once their connections have.
func (s *Server) stopLoops() {
	for _, l := range s.loops {
		l.stop()
	}
}
