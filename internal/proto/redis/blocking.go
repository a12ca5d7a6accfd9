package redis

import (
	"errors"
	"math"
	"os"
	"strconv"
	"time"

	"ferry/internal/keyspace"
)

// Blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...) park the client on the
// keys' wait queues in the keyspace and retry when a write wakes them;
// clients blocked on a key are served in the order they blocked.

// unblockKind is how CLIENT UNBLOCK ends a block.
type unblockKind uint8

const (
	unblockTimeout unblockKind = iota + 1
	unblockError
)

// parseTimeout reads a blocking command's timeout in seconds (float since
// Redis 6) into a duration; 0 means forever.
func (c *Conn) parseTimeout(b []byte) (time.Duration, bool) {
	f, ok := parseFloat(b)
	if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
		c.out.Error(errTimeout)
		return 0, false
	}
	if f < 0 {
		c.out.Error(errTimeoutNeg)
		return 0, false
	}
	if f*1000 > float64(math.MaxInt64/int64(time.Millisecond)) {
		c.out.Error(errTimeout)
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// block runs try with keys locked until it serves the client (returns
// true), and otherwise waits for a write to one of keys, the timeout (0 =
// none), CLIENT UNBLOCK, or the client leaving. It returns false when the
// client should get the command's timeout reply; after an ERROR unblock or
// a disconnect it has already replied or the client is gone. Inside EXEC
// the command does not block, as in Redis.
func (c *Conn) block(keys [][]byte, timeout time.Duration, try func(t *keyspace.Txn) bool) bool {
	t := c.lockKeys(keys)
	if try(t) {
		c.unlock(t)
		return true
	}
	if c.execTxn != nil || c.loading {
		return false // no blocking inside a transaction or while loading
	}
	w := keyspace.NewWaiter()
	for _, k := range keys {
		t.Block(k, w)
	}
	c.unlock(t)
	c.nc.Detach() // waiting takes a goroutine of the client's own

	// Replies of the commands pipelined before this one (and their
	// PUBLISHes) leave now, as Redis writes them once its loop goes idle;
	// a failed write shows up as the disconnect watched below. send keeps
	// them in the buffer: execute and call hold offsets into it.
	c.send()
	c.srv.blocked.Add(1)
	defer c.srv.blocked.Add(-1)
	c.blockMu.Lock()
	c.blockedOn = w
	c.unblock = make(chan unblockKind, 1)
	unblock := c.unblock
	c.blockMu.Unlock()
	defer func() {
		c.blockMu.Lock()
		c.blockedOn, c.unblock = nil, nil
		c.blockMu.Unlock()
	}()

	stopWatch, gone := c.watchDisconnect()
	defer func() { c.appendInput(stopWatch()) }()

	var timer <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		timer = tm.C
	}
	leave := func() {
		t := c.srv.ks.LockKeys(c.db, keys)
		for _, k := range keys {
			t.Unblock(k, w)
		}
		t.Unlock()
	}
	for {
		select {
		case <-w.Ready:
			t := c.srv.ks.LockKeys(c.db, keys)
			c.propDirty = 0
			c.blockRetry = true
			served := try(&t)
			c.blockRetry = false
			c.propagated(&t)
			if served {
				for _, k := range keys {
					t.Unblock(k, w)
				}
				// Whatever is left is for the next client in line.
				for _, k := range keys {
					t.Ready(k)
				}
			} else {
				// A key that holds data this client cannot use (another
				// type) goes to the next in line, as Redis tries every
				// waiter; this one keeps its place. An empty key wakes
				// nobody: no one behind could be served before this one.
				for _, k := range keys {
					if t.Peek(k) != nil {
						t.ReadyAfter(k, w)
					}
				}
			}
			t.Unlock()
			if served {
				return true
			}
		case <-timer:
			leave()
			return false
		case kind := <-unblock:
			leave()
			if kind == unblockError {
				c.out.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
				return true
			}
			return false
		case <-gone:
			leave()
			c.closing = true
			return true
		case <-c.nc.Done():
			leave()
			c.closing = true
			return true
		}
	}
}

// watchDisconnect reads the socket while the client is blocked, so that a
// client that goes away is noticed at once (and its blocked command gives
// up nothing it took). Bytes that arrive meanwhile (pipelined commands)
// are kept: stop returns them.
func (c *Conn) watchDisconnect() (stop func() []byte, gone <-chan struct{}) {
	goneCh := make(chan struct{})
	done := make(chan struct{})
	c.nc.SetReadDeadline(time.Time{}) // blocked clients are not idle (timeout)
	var pending []byte
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := c.nc.Read(buf)
			pending = append(pending, buf[:n]...)
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					close(goneCh)
				}
				return
			}
		}
	}()
	return func() []byte {
		c.nc.SetReadDeadline(time.Now())
		<-done
		c.nc.SetReadDeadline(time.Time{})
		return pending
	}, goneCh
}

// appendInput adds bytes read while blocked to the unread input.
func (c *Conn) appendInput(b []byte) {
	if len(b) == 0 {
		return
	}
	if c.w+len(b) > len(c.in) {
		c.ensureRoom(c.w - c.r + len(b))
	}
	c.w += copy(c.in[c.w:], b)
}

// cmdClientUnblock: CLIENT UNBLOCK <id> [TIMEOUT|ERROR].
func cmdClientUnblock(c *Conn, args [][]byte) {
	id, err := strconv.ParseUint(string(args[2]), 10, 64)
	if err != nil {
		c.out.Error(errNotInteger)
		return
	}
	kind := unblockTimeout
	if len(args) == 4 {
		switch {
		case equalFold(args[3], "timeout"):
		case equalFold(args[3], "error"):
			kind = unblockError
		default:
			c.out.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	} else if len(args) > 4 {
		c.out.Error(errSyntax)
		return
	}
	found := false
	c.srv.eachClient(func(o *Conn) {
		if o.id != id {
			return
		}
		if ch := o.unblockCh(); ch != nil {
			select {
			case ch <- kind:
				found = true
			default:
			}
		}
	})
	if found {
		c.out.Int(1)
	} else {
		c.out.Int(0)
	}
}
