package redis

import (
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/bufpool"
	"ferry/internal/keyspace"
	"ferry/internal/netsrv"
	"ferry/internal/proto/resp"
)

const (
	readBufSize = 16 << 10
	outBufSize  = 16 << 10
	flushAt     = 1 << 20
)

// replyMode is CLIENT REPLY's setting.
type replyMode uint8

const (
	replyOn      replyMode = iota
	replyOff               // no replies until CLIENT REPLY ON
	replySkipArm           // CLIENT REPLY SKIP just ran (it has no reply)
	replySkip              // drop this command's reply, then back on
)

// Conn is one Redis client. Fields without a comment are owned by the
// connection's goroutine; the atomics and infoMu fields are read by others
// (CLIENT LIST, INFO clients).
type Conn struct {
	srv    *Server
	nc     *netsrv.Conn
	id     uint64
	parser resp.Parser
	in     []byte
	r, w   int
	ownIn  []byte
	out    resp.Writer
	ownOut []byte

	db      int
	authed  bool
	closing bool
	reply   replyMode

	hadDeadline bool // fill set an idle-timeout deadline last time
	cleaned     bool // cleanup ran

	txn     keyspace.Txn  // storage for the current command's lock
	execTxn *keyspace.Txn // set while EXEC runs: commands reuse its locks

	propDirty  uint64   // changes of the current Txn already propagated
	propArgs   [][]byte // what to propagate instead of argv (logAs)
	noProp     bool     // script client after redis.set_repl without REPL_AOF
	execLogged bool     // MULTI went to the log for the running EXEC
	logOffset  int64    // log offset of the client's latest write
	loading    bool     // replaying the AOF: no blocking, no propagation
	multi      *multiState
	watch      watchState

	argv [][]byte // the command being run (for CLIENT LIST cmd=, slowlog)

	pend       pendingStats // command counts not yet added (process)
	keyScratch [][]byte     // reused by lockStep
	emitBulk   func([]byte) // c.out.Bulk as a func value, made once
	popLog     [3][]byte    // popFrom's logAs arguments
	popNum     [20]byte     // and its count's digits

	blockMu   sync.Mutex
	blockedOn *keyspace.Waiter // set while in a blocking command
	// blockRetry is set while a blocked command retries after a wake-up.
	blockRetry bool
	// sent counts the bytes at the start of out.Buf already written by
	// send (replies that left before a blocking command waited).
	sent    int
	unblock chan unblockKind // CLIENT UNBLOCK's way in

	subs  pubsubState
	async *asyncOut   // set once the client subscribes: output is shared with publishers
	sub   *subscriber // the client as seen by the pubsub hub

	created    time.Time
	lastActive atomic.Int64 // unix ms
	lastCmd    atomic.Pointer[Command]
	curDB      atomic.Int32
	proto      atomic.Int32
	qbuf       atomic.Int64 // unread input bytes, for CLIENT LIST
	omem       atomic.Int64 // pending output bytes

	infoMu  sync.Mutex
	name    string
	libName string
	libVer  string
	noEvict bool
}

// ServeConn serves one Redis connection on its own goroutine
// (netsrv.Handler).
func (s *Server) ServeConn(nc *netsrv.Conn) {
	c := s.newConn(nc)
	defer c.cleanup()
	c.serve()
}

// Open prepares to serve a connection from an event loop
// (netsrv.EventHandler).
func (s *Server) Open(nc *netsrv.Conn) netsrv.Session { return s.newConn(nc) }

func (s *Server) newConn(nc *netsrv.Conn) *Conn {
	c := &Conn{
		srv:     s,
		nc:      nc,
		id:      nc.ID,
		ownIn:   make([]byte, readBufSize),
		ownOut:  make([]byte, 0, outBufSize),
		created: time.Now(),
	}
	c.parser.Limits = s.config().Limits
	c.in, c.out.Buf, c.out.Proto = c.ownIn, c.ownOut, 2
	c.proto.Store(2)
	c.lastActive.Store(time.Now().UnixMilli())
	c.authed = s.requirePass() == ""
	nc.Data.Store(c)
	return c
}

// serve runs the client on this goroutine until it leaves.
func (c *Conn) serve() {
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

// Ready serves the input that has arrived, on an event loop
// (netsrv.Session). A command that waits (blocking pops, CLIENT PAUSE, a
// subscription, a script past busy-reply-threshold) or a reply that fills
// the socket buffer detaches the client: this goroutine then serves it
// as ServeConn would.
func (c *Conn) Ready() bool {
	// A panicking command ends the connection (netsrv recovers): its
	// state goes, as ServeConn's deferred cleanup does.
	defer func() {
		if r := recover(); r != nil {
			c.cleanup()
			panic(r)
		}
	}()
	c.prepareRead()
	n, err := c.nc.ReadNow(c.in[c.w:])
	if err == netsrv.ErrWouldBlock {
		return true
	}
	if n == 0 {
		c.cleanup()
		return false
	}
	c.gotInput(n)
	c.process()
	ok := c.flush() && !c.closing
	if c.nc.Detached() {
		if ok && c.fill() {
			c.serve()
		}
		ok = false
	}
	if !ok {
		c.cleanup()
	}
	return ok
}

// cleanup releases what the client holds when it goes away.
func (c *Conn) cleanup() {
	if c.cleaned {
		return // a panic in cleanup itself (Ready)
	}
	c.cleaned = true
	c.unwatchAll()
	if c.async != nil {
		c.srv.resetPubSub(c)
		c.async.stop()
	}
	if len(c.in) > len(c.ownIn) {
		bufpool.Put(c.in)
	}
}

// process runs every complete command in the input buffer.
func (c *Conn) process() {
	limit := c.srv.snap.Load().cfg.QueryBufferLimit
	c.pend.on = true
	defer c.endBatch()
	scanned := c.r // input up to here went through prefetchAhead
	for !c.closing && c.r < c.w {
		if c.r >= scanned {
			scanned = c.r + c.prefetchAhead(c.in[c.r:c.w])
			if scanned == c.r {
				scanned = c.w // nothing to look ahead at in this batch
			}
		}
		c.parser.Unauthenticated = !c.authed
		args, n, err := c.parser.Parse(c.in[c.r:c.w])
		if err == resp.ErrIncomplete {
			if int64(c.w-c.r) > limit {
				c.srv.log.Warn("closing client that reached max query buffer length", "id", c.id)
				c.closing = true
				return
			}
			c.ensureRoom(c.parser.Need())
			return
		}
		if err != nil {
			c.out.Error("ERR " + err.Error())
			c.closing = true
			return
		}
		c.r += n
		if len(args) == 0 {
			continue
		}
		c.execute(args)
		if len(c.out.Buf) >= flushAt && !c.flush() {
			c.closing = true
		}
	}
}

// endBatch ends process: pending statistics go to the shared counters
// before any reply of the batch is written.
func (c *Conn) endBatch() {
	c.flushStats()
	c.pend.on = false
	if q := int64(c.w - c.r); q != c.qbuf.Load() {
		c.qbuf.Store(q) // an atomic store is a locked instruction: skip it when unchanged
	}
}

// ensureRoom makes the buffer able to hold need bytes of unread input (or
// more than now, when need is 0). Buffers beyond the connection's own come
// from bufpool and grow only as data arrives, never to a declared length
// alone, so a client announcing a huge bulk cannot make Ferry allocate it.
func (c *Conn) ensureRoom(need int) {
	unread := c.w - c.r
	if need == 0 || need <= unread {
		need = unread + 1
	}
	if need <= len(c.in)-c.r {
		return
	}
	if need <= len(c.in) && c.r > 0 {
		copy(c.in, c.in[c.r:c.w])
	} else {
		size := max(2*len(c.in), min(need, unread+unread/2+readBufSize))
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

// prepareRead makes room in the input buffer for a read.
func (c *Conn) prepareRead() {
	if c.r == c.w {
		c.r, c.w = 0, 0
		if len(c.in) > len(c.ownIn) {
			bufpool.Put(c.in)
			c.in = c.ownIn
		}
	} else if c.w == len(c.in) {
		c.ensureRoom(0)
	}
}

// fill reads more input, reporting false when the connection is done.
func (c *Conn) fill() bool {
	c.prepareRead()
	// timeout: Redis closes clients idle this long (not subscribers).
	secs := c.srv.snap.Load().cfg.Timeout
	if secs > 0 && c.async == nil {
		c.nc.SetReadDeadline(time.Now().Add(time.Duration(secs) * time.Second))
	} else if c.hadDeadline {
		c.nc.SetReadDeadline(time.Time{})
	}
	c.hadDeadline = secs > 0
	n, _ := c.nc.Read(c.in[c.w:])
	if n > 0 {
		c.gotInput(n)
	}
	return n > 0
}

// gotInput accounts for n bytes just read into the buffer.
func (c *Conn) gotInput(n int) {
	c.w += n
	c.srv.netIn.Add(uint64(n)) // as Redis, counted when read
	// The server's coarse clock, as Redis's lastinteraction: idle
	// times are reported in seconds.
	if now := c.srv.nowMs.Load(); now != c.lastActive.Load() {
		c.lastActive.Store(now)
	}
}

// flush writes pending replies, reporting false if the client is gone.
func (c *Conn) flush() bool {
	ok := c.send()
	if c.async == nil && cap(c.out.Buf) > cap(c.ownOut) {
		bufpool.Put(c.out.Buf)
	}
	c.out.Buf, c.sent = c.ownOut[:0], 0
	return ok
}

// send writes the replies not written yet but keeps them in the buffer:
// a command that blocks sends the replies pipelined before it while the
// offsets it and execute hold into the buffer stay valid. flush sends
// the rest and empties the buffer.
func (c *Conn) send() bool {
	c.flushPublished() // subscribers of this batch's PUBLISHes (pubsub.go)
	pending := c.out.Buf[c.sent:]
	if len(pending) == 0 {
		return true
	}
	// Under appendfsync always, no reply leaves before the writes it
	// acknowledges are on disk.
	if c.logOffset > 0 && c.srv.durability != nil {
		if c.srv.durability.RepliesWait() {
			// Waiting for fsync on an event loop would make the loop's
			// clients wait one fsync each; on their own goroutines
			// their writes share one.
			c.nc.Detach()
		}
		if err := c.srv.durability.WaitSynced(c.logOffset); err != nil {
			c.srv.log.Error("closing client: its writes could not be made durable", "id", c.id, "err", err)
			return false
		}
		c.logOffset = 0
	}
	c.sent = len(c.out.Buf)
	if c.async != nil {
		return c.async.push(pending) // copies
	}
	_, err := c.nc.Write(pending)
	c.srv.netOut.Add(uint64(len(pending)))
	return err == nil
}

// reserveOut makes room for n more output bytes from the buffer pool.
func (c *Conn) reserveOut(n int) {
	if cap(c.out.Buf)-len(c.out.Buf) < n {
		old := c.out.Buf
		c.out.Buf = bufpool.Grow(c.out.Buf, n)
		if cap(old) == cap(c.ownOut) {
			c.ownOut = old[:0]
		}
	}
}

// unblockCh returns the channel that ends the client's current block, or
// nil when it is not blocked.
func (c *Conn) unblockCh() chan unblockKind {
	c.blockMu.Lock()
	defer c.blockMu.Unlock()
	return c.unblock
}

// lock returns a Txn with key's shard locked, or the running EXEC's Txn.
func (c *Conn) lock(key []byte) *keyspace.Txn {
	if c.execTxn != nil {
		return c.execTxn
	}
	c.txn = c.srv.ks.Lock(c.db, key)
	c.propDirty = 0
	return &c.txn
}

// lockKeys returns a Txn with the shards of keys locked, or EXEC's Txn.
func (c *Conn) lockKeys(keys [][]byte) *keyspace.Txn {
	if c.execTxn != nil {
		return c.execTxn
	}
	c.txn = c.srv.ks.LockKeys(c.db, keys)
	c.propDirty = 0
	return &c.txn
}

// lockStep is lockKeys for the keys args[first], args[first+step], ...
// (MSET's), gathered in a reused slice so that the command allocates
// nothing.
func (c *Conn) lockStep(args [][]byte, first, step int) *keyspace.Txn {
	keys := c.keyScratch[:0]
	for i := first; i < len(args); i += step {
		keys = append(keys, args[i])
	}
	t := c.lockKeys(keys)
	clear(keys) // the keys alias the input buffer: do not pin it
	c.keyScratch = keys[:0]
	return t
}

// lockAll returns a Txn with every shard locked, or EXEC's Txn.
func (c *Conn) lockAll() *keyspace.Txn {
	if c.execTxn != nil {
		return c.execTxn
	}
	c.txn = c.srv.ks.LockAll(c.db)
	c.propDirty = 0
	return &c.txn
}

// unlock propagates what the command changed, then releases t unless it
// belongs to a running EXEC.
func (c *Conn) unlock(t *keyspace.Txn) {
	c.propagated(t)
	if t != c.execTxn {
		t.Unlock()
	}
}

// selectDB switches the client's database.
func (c *Conn) selectDB(db int) {
	c.db = db
	c.curDB.Store(int32(db))
	if c.execTxn != nil {
		c.execTxn.SetDB(db)
	}
}
