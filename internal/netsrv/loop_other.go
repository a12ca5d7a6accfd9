//go:build !linux

package netsrv

import (
	"errors"
	"time"
)

// Event loops need epoll: elsewhere every connection has its goroutine.

type loop struct{}

// ErrWouldBlock is returned by Conn.ReadNow when no input is waiting.
var ErrWouldBlock = errors.New("netsrv: no input waiting")

func (s *Server) startLoops(n int) error { return errors.New("event loops need Linux") }

func (s *Server) serveLoops(h EventHandler) error { return errors.New("event loops need Linux") }

func (s *Server) stopLoops() {}

func (s *Server) stopAccepting() {}

// ReadNow is Read: without loops every connection has its goroutine.
func (c *Conn) ReadNow(p []byte) (int, error) { return c.Conn.Read(p) }

// Detach does nothing without event loops.
func (c *Conn) Detach() {}

// OnLoop is false without event loops.
func (c *Conn) OnLoop() bool { return false }

// Detached is false without event loops.
func (c *Conn) Detached() bool { return false }

func (c *Conn) wakeForClose() { c.SetReadDeadline(time.Now()) }
