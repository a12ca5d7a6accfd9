package redis

import (
	"bytes"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/proto/resp"
	"ferry/internal/pubsub"
)

// Pub/Sub: SUBSCRIBE and friends, PUBLISH, PUBSUB. A subscribed client's
// output goes through an asyncOut, because publishers on other goroutines
// write to it; its size is bounded by client-output-buffer-limit pubsub.

var _ = registerCommands(
	cmd("subscribe", cmdSubscribe),
	cmd("unsubscribe", cmdUnsubscribe),
	cmd("psubscribe", cmdPSubscribe),
	cmd("punsubscribe", cmdPUnsubscribe),
	cmd("ssubscribe", cmdSSubscribe),
	cmd("sunsubscribe", cmdSUnsubscribe),
	cmd("publish", cmdPublish),
	cmd("spublish", cmdSPublish),
	container("pubsub",
		cmd("channels", cmdPubsubChannels),
		cmd("numsub", cmdPubsubNumSub),
		cmd("numpat", func(c *Conn, _ [][]byte) { c.out.Int(int64(c.srv.hub.NumPat())) }),
		cmd("shardchannels", cmdPubsubShardChannels),
		cmd("shardnumsub", cmdPubsubShardNumSub),
		cmd("help", helpFor("PUBSUB",
			"CHANNELS [<pattern>]",
			"    Return the currently active channels matching a <pattern> (default: '*').",
			"NUMPAT",
			"    Return number of subscriptions to patterns.",
			"NUMSUB [<channel> ...]",
			"    Return the number of subscribers for the specified channels, excluding",
			"    pattern subscriptions(default: no channels).",
			"SHARDCHANNELS [<pattern>]",
			"    Return the currently active shard level channels matching a <pattern> (default: '*').",
			"SHARDNUMSUB [<shardchannel> ...]",
			"    Return the number of subscribers for the specified shard level channel(s)")),
	),
)

// pubsubState is a client's subscriptions. Owned by the client's goroutine
// except the counters, which CLIENT LIST reads.
type pubsubState struct {
	channels map[string]struct{}
	patterns map[string]struct{}
	shard    map[string]struct{}
	n        atomic.Int64 // channels + patterns + shard channels
	nChan    atomic.Int32
	nPat     atomic.Int32
	nShard   atomic.Int32
	// batch holds the subscribers this client's PUBLISHes gave messages
	// to, flushed when the client's replies are (Conn.flush), so that a
	// pipeline of PUBLISH commands wakes each subscriber's writer once.
	batch pubsub.Batch
}

// flushPublished wakes the subscribers of the client's recent PUBLISHes.
func (c *Conn) flushPublished() {
	if c.subs.batch.Pending() {
		c.subs.batch.Flush()
	}
}

// publishBatch is the batch for the client's PUBLISH: its own, or none
// (flush at once) for clients without a connection, such as scripts', whose
// flush never runs.
func (c *Conn) publishBatch() *pubsub.Batch {
	if c.nc == nil {
		return nil
	}
	return &c.subs.batch
}

func (p *pubsubState) update() {
	p.nChan.Store(int32(len(p.channels)))
	p.nPat.Store(int32(len(p.patterns)))
	p.nShard.Store(int32(len(p.shard)))
	p.n.Store(int64(len(p.channels) + len(p.patterns) + len(p.shard)))
}

// subCounts returns the numbers of channel, pattern and shard-channel
// subscriptions (safe from any goroutine).
func (c *Conn) subCounts() (int, int, int) {
	return int(c.subs.nChan.Load()), int(c.subs.nPat.Load()), int(c.subs.nShard.Load())
}

// subscriptions is the client's total number of subscriptions.
func (c *Conn) subscriptions() int { return int(c.subs.n.Load()) }

// resetPubSub drops every subscription (RESET, or the client leaving).
func (s *Server) resetPubSub(c *Conn) {
	for ch := range c.subs.channels {
		s.hub.Unsubscribe(c.sub, ch)
	}
	for p := range c.subs.patterns {
		s.hub.PUnsubscribe(c.sub, p)
	}
	for ch := range c.subs.shard {
		s.hub.SUnsubscribe(c.sub, ch)
	}
	c.subs.channels, c.subs.patterns, c.subs.shard = nil, nil, nil
	c.subs.update()
}

// pubsubCounts returns INFO's pubsub_channels, pubsub_patterns and
// pubsubshard_channels.
func (s *Server) pubsubCounts() (int, int, int) { return s.hub.Counts() }

// allowedWhileSubscribed are the commands a RESP2 client in subscribed
// mode may send.
func allowedWhileSubscribed(cmd *Command) bool {
	switch cmd.Name {
	case "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "ping", "quit", "reset":
		return true
	}
	return false
}

// subscriber delivers published messages to one client's asyncOut.
type subscriber struct{ c *Conn }

// wakeAt is the pending output at which a delivery wakes the writer at
// once rather than at the end of the publisher's batch: large messages go
// out without waiting for a whole pipeline.
const wakeAt = 64 << 10

// Deliver implements pubsub.Subscriber: the message is copied into the
// client's pending output (encoded once per protocol for all subscribers),
// so publishing never waits for a slow reader; a reader that falls too far
// behind is disconnected. The writer is woken when the publisher's batch
// ends (Flush), or at once past wakeAt bytes.
func (s *subscriber) Deliver(m *pubsub.Message) bool {
	a := s.c.async
	proto := int(s.c.proto.Load())
	i := 0
	if proto == 3 {
		i = 1
	}
	if len(m.Encoded[i]) == 0 {
		w := resp.Writer{Buf: m.Encoded[i], Proto: proto}
		switch m.Kind {
		case pubsub.KindMessage:
			w.Push(3)
			w.BulkString("message")
		case pubsub.KindSMessage:
			w.Push(3)
			w.BulkString("smessage")
		default:
			w.Push(4)
			w.BulkString("pmessage")
			w.Bulk(m.Pattern)
		}
		w.Bulk(m.Channel)
		w.Bulk(m.Payload)
		m.Encoded[i] = w.Buf
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	if a.buf == nil {
		a.buf = make([]byte, 0, outBufSize)
	}
	a.buf = append(a.buf, m.Encoded[i]...)
	if !a.checkLimits() {
		return false
	}
	if len(a.buf) >= wakeAt {
		a.wakeWriter()
		return false
	}
	if a.flushBy == m.Batch {
		return false // that batch flushes this client already
	}
	a.flushBy = m.Batch
	return true
}

// Flush implements pubsub.Subscriber: the publisher's batch has ended.
func (s *subscriber) Flush() {
	a := s.c.async
	a.mu.Lock()
	a.flushBy = nil
	a.wakeWriter()
	a.mu.Unlock()
}

// asyncOut is a client's output when other goroutines may write to it: a
// buffer that a dedicated writer goroutine drains to the socket.
type asyncOut struct {
	c      *Conn
	mu     sync.Mutex
	buf    []byte
	spare  []byte
	wake   chan struct{}
	done   chan struct{} // closed when the writer goroutine ends
	closed bool
	// draining: the client is leaving; write what is pending, then end.
	draining bool
	hold     bool      // a confirmation is queued whose subscription is not live yet
	over     time.Time // since when the buffer has been over the soft limit
	// flushBy is the publisher batch that will wake the writer for the
	// messages queued last (nil: none pending).
	flushBy *pubsub.Batch
}

// startAsync switches the client to asynchronous output.
func (c *Conn) startAsync() {
	if c.async != nil {
		return
	}
	// Publishers write to the client from their goroutines, through the
	// writer below: the client leaves its event loop.
	c.nc.Detach()
	a := &asyncOut{c: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.async = a
	c.sub = &subscriber{c}
	go a.run()
}

// afterAppend checks the pubsub output limits and wakes the writer. Called
// with a.mu held.
func (a *asyncOut) afterAppend() {
	if a.checkLimits() {
		a.wakeWriter()
	}
}

// checkLimits applies client-output-buffer-limit pubsub to the pending
// output, as Redis's checkClientOutputBufferLimits: past the hard limit, or
// past the soft limit for longer than its seconds, the client is killed
// (and false returned). Called with a.mu held.
func (a *asyncOut) checkLimits() bool {
	hard, soft, secs := a.c.srv.pubsubLimits()
	n := int64(len(a.buf))
	switch {
	case hard > 0 && n > hard:
		a.kill("hard")
		return false
	case soft > 0 && n > soft:
		if a.over.IsZero() {
			a.over = time.Now()
		} else if time.Since(a.over) > time.Duration(secs)*time.Second {
			a.kill("soft")
			return false
		}
	default:
		if !a.over.IsZero() {
			a.over = time.Time{}
		}
	}
	return true
}

// wakeWriter tells the writer goroutine there is output. Called with a.mu
// held.
func (a *asyncOut) wakeWriter() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *asyncOut) kill(which string) {
	a.closed = true
	a.buf = nil
	a.c.srv.log.Warn("client scheduled to be closed ASAP for overcoming of output buffer limits",
		"id", a.c.id, "limit", which, "class", "pubsub")
	a.c.nc.Kill()
}

// push queues the client's own replies behind anything already pending.
func (a *asyncOut) push(b []byte) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.buf = append(a.buf, b...)
	a.afterAppend()
	return !a.closed
}

// run writes pending output until the client is closed. After stop with
// drain it writes what is still pending (QUIT's +OK) and ends.
func (a *asyncOut) run() {
	defer close(a.done)
	for range a.wake {
		for {
			a.mu.Lock()
			if a.closed {
				a.mu.Unlock()
				return
			}
			if a.hold {
				a.mu.Unlock()
				break // released (and woken again) once the subscription is live
			}
			out := a.buf
			if len(out) == 0 {
				a.c.omem.Store(0)
				if a.draining {
					a.closed = true
					a.mu.Unlock()
					return
				}
				a.mu.Unlock()
				break
			}
			a.buf = a.spare[:0]
			a.mu.Unlock()
			// CLIENT LIST's omem: what is being written (publishers do not
			// store it per message: a shared cache line on every delivery).
			a.c.omem.Store(int64(len(out)))
			_, err := a.c.nc.Write(out)
			a.c.srv.netOut.Add(uint64(len(out)))
			a.mu.Lock()
			if err != nil {
				a.closed = true
				a.mu.Unlock()
				return
			}
			a.spare = out[:0]
			if cap(a.spare) > 1<<20 {
				a.spare = nil
			}
			a.mu.Unlock()
		}
	}
}

// drainWait bounds how long a leaving client's last replies may take to
// go out (QUIT's +OK to a client that does not read).
const drainWait = 5 * time.Second

// stop ends the writer goroutine (the client is leaving). A client that
// asked to close (QUIT, a protocol error) first gets what is pending, as
// Redis writes the reply before closing; one that went away gets nothing.
func (a *asyncOut) stop() {
	a.mu.Lock()
	drain := a.c.closing && !a.closed
	if drain {
		a.draining = true
	} else {
		a.closed = true
	}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	if drain {
		t := time.NewTimer(drainWait)
		defer t.Stop()
		select {
		case <-a.done:
		case <-t.C:
			a.c.nc.Kill()
			<-a.done
		}
	}
}

// pubsubLimits returns client-output-buffer-limit pubsub: hard bytes, soft
// bytes, soft seconds.
func (s *Server) pubsubLimits() (int64, int64, int64) {
	return s.outLimits.hard.Load(), s.outLimits.soft.Load(), s.outLimits.secs.Load()
}

// outputLimits holds client-output-buffer-limit for the pubsub class.
type outputLimits struct {
	hard, soft, secs atomic.Int64
}

// subReply writes one subscribe-family confirmation straight into the
// shared output, so that it is ordered exactly with the messages the hub
// delivers: a confirmation is queued before the hub may deliver on a new
// subscription, and after it stops delivering on an ended one. With hold,
// nothing is written to the client until release: the client must not see
// the confirmation before the subscription is live.
func (c *Conn) subReply(kind string, name []byte, count int) {
	c.subReplyHold(kind, name, count, false)
}

// release lets held output go once a subscription is live.
func (c *Conn) release() {
	a := c.async
	a.mu.Lock()
	a.hold = false
	select {
	case a.wake <- struct{}{}:
	default:
	}
	a.mu.Unlock()
}

func (c *Conn) subReplyHold(kind string, name []byte, count int, hold bool) {
	a := c.async
	a.mu.Lock()
	if hold {
		a.hold = true
	}
	w := resp.Writer{Buf: a.buf, Proto: c.out.Proto}
	w.Push(3)
	w.BulkString(kind)
	if name == nil {
		w.Null()
	} else {
		w.Bulk(name)
	}
	w.Int(int64(count))
	a.buf = w.Buf
	if !a.closed {
		a.afterAppend()
	}
	a.mu.Unlock()
}

// enterPubSub prepares a subscribe-family command: output becomes shared,
// and replies of earlier commands go out first.
func (c *Conn) enterPubSub() {
	c.startAsync()
	c.flush()
}

func (c *Conn) countChanPat() int { return len(c.subs.channels) + len(c.subs.patterns) }

// cmdSubscribe is SUBSCRIBE channel [channel ...]. Inside MULTI it runs
// too: Redis 7.0 refuses only other DENY_BLOCKING callers (scripts, which
// the noscript flag already stops), for backward compatibility.
func cmdSubscribe(c *Conn, args [][]byte) {
	c.enterPubSub()
	if c.subs.channels == nil {
		c.subs.channels = map[string]struct{}{}
	}
	for _, ch := range args[1:] {
		name := string(ch)
		_, had := c.subs.channels[name]
		c.subs.channels[name] = struct{}{}
		c.subs.update()
		c.subReplyHold("subscribe", ch, c.countChanPat(), !had)
		if !had {
			c.srv.hub.Subscribe(c.sub, name)
			c.release()
		}
	}
}

func cmdUnsubscribe(c *Conn, args [][]byte) {
	c.enterPubSub()
	names := args[1:]
	if len(names) == 0 {
		for ch := range c.subs.channels {
			names = append(names, []byte(ch))
		}
		// Map order is random: leave in name order, the same every time.
		slices.SortFunc(names, bytes.Compare)
		if len(names) == 0 {
			c.subReply("unsubscribe", nil, c.countChanPat())
			return
		}
	}
	for _, ch := range names {
		if _, ok := c.subs.channels[string(ch)]; ok {
			delete(c.subs.channels, string(ch))
			c.srv.hub.Unsubscribe(c.sub, string(ch))
		}
		c.subs.update()
		c.subReply("unsubscribe", ch, c.countChanPat())
	}
}

func cmdPSubscribe(c *Conn, args [][]byte) {
	c.enterPubSub()
	if c.subs.patterns == nil {
		c.subs.patterns = map[string]struct{}{}
	}
	for _, p := range args[1:] {
		name := string(p)
		_, had := c.subs.patterns[name]
		c.subs.patterns[name] = struct{}{}
		c.subs.update()
		c.subReplyHold("psubscribe", p, c.countChanPat(), !had)
		if !had {
			c.srv.hub.PSubscribe(c.sub, name)
			c.release()
		}
	}
}

func cmdPUnsubscribe(c *Conn, args [][]byte) {
	c.enterPubSub()
	names := args[1:]
	if len(names) == 0 {
		for p := range c.subs.patterns {
			names = append(names, []byte(p))
		}
		// Map order is random: leave in name order, the same every time.
		slices.SortFunc(names, bytes.Compare)
		if len(names) == 0 {
			c.subReply("punsubscribe", nil, c.countChanPat())
			return
		}
	}
	for _, p := range names {
		if _, ok := c.subs.patterns[string(p)]; ok {
			delete(c.subs.patterns, string(p))
			c.srv.hub.PUnsubscribe(c.sub, string(p))
		}
		c.subs.update()
		c.subReply("punsubscribe", p, c.countChanPat())
	}
}

func cmdSSubscribe(c *Conn, args [][]byte) {
	c.enterPubSub()
	if c.subs.shard == nil {
		c.subs.shard = map[string]struct{}{}
	}
	for _, ch := range args[1:] {
		name := string(ch)
		_, had := c.subs.shard[name]
		c.subs.shard[name] = struct{}{}
		c.subs.update()
		c.subReplyHold("ssubscribe", ch, len(c.subs.shard), !had)
		if !had {
			c.srv.hub.SSubscribe(c.sub, name)
			c.release()
		}
	}
}

func cmdSUnsubscribe(c *Conn, args [][]byte) {
	c.enterPubSub()
	names := args[1:]
	if len(names) == 0 {
		for ch := range c.subs.shard {
			names = append(names, []byte(ch))
		}
		// Map order is random: leave in name order, the same every time.
		slices.SortFunc(names, bytes.Compare)
		if len(names) == 0 {
			c.subReply("sunsubscribe", nil, 0)
			return
		}
	}
	for _, ch := range names {
		if _, ok := c.subs.shard[string(ch)]; ok {
			delete(c.subs.shard, string(ch))
			c.srv.hub.SUnsubscribe(c.sub, string(ch))
		}
		c.subs.update()
		c.subReply("sunsubscribe", ch, len(c.subs.shard))
	}
}

func cmdPublish(c *Conn, args [][]byte) {
	c.out.Int(int64(c.srv.hub.Publish(c.publishBatch(), args[1], args[2])))
}

func cmdSPublish(c *Conn, args [][]byte) {
	c.out.Int(int64(c.srv.hub.SPublish(c.publishBatch(), args[1], args[2])))
}

func (c *Conn) writeNames(names []string) {
	c.out.Array(len(names))
	for _, n := range names {
		c.out.BulkString(n)
	}
}

// pubsubSyntaxError is Redis's addReplySubcommandSyntaxError for PUBSUB,
// which checks the arguments of CHANNELS and SHARDCHANNELS itself.
func pubsubSyntaxError(c *Conn, args [][]byte) {
	c.out.Error("ERR unknown subcommand or wrong number of arguments for '" + clip(args[1]) + "'. Try PUBSUB HELP.")
}

func cmdPubsubChannels(c *Conn, args [][]byte)      { c.pubsubChannels(args, false) }
func cmdPubsubShardChannels(c *Conn, args [][]byte) { c.pubsubChannels(args, true) }

// pubsubChannels is PUBSUB CHANNELS|SHARDCHANNELS [pattern].
func (c *Conn) pubsubChannels(args [][]byte, shard bool) {
	var pat []byte
	switch len(args) {
	case 2:
	case 3:
		pat = args[2]
	default:
		pubsubSyntaxError(c, args)
		return
	}
	c.writeNames(c.srv.hub.Channels(pat, shard))
}

// numSub is PUBSUB NUMSUB|SHARDNUMSUB: a flat array of channel, count
// pairs, in RESP3 too (Redis 7.0 does not send a map here).
func (c *Conn) numSub(args [][]byte, shard bool) {
	c.out.Array(2 * (len(args) - 2))
	for _, ch := range args[2:] {
		c.out.Bulk(ch)
		c.out.Int(int64(c.srv.hub.NumSub(string(ch), shard)))
	}
}

func cmdPubsubNumSub(c *Conn, args [][]byte)      { c.numSub(args, false) }
func cmdPubsubShardNumSub(c *Conn, args [][]byte) { c.numSub(args, true) }

// parseOutputLimit reads client-output-buffer-limit ("<class> <hard>
// <soft> <seconds>" groups) and applies the pubsub class.
func (s *Server) parseOutputLimit(v string) error {
	f := splitFields(v)
	if len(f)%4 != 0 || len(f) == 0 {
		return errWrongArgs
	}
	for i := 0; i < len(f); i += 4 {
		class := lowerName(f[i])
		if class != "normal" && class != "slave" && class != "replica" && class != "pubsub" {
			return errInvalidClass
		}
		hard, err1 := parseMemory(f[i+1])
		soft, err2 := parseMemory(f[i+2])
		secs, err3 := strconv.ParseInt(f[i+3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || secs < 0 {
			return errWrongArgs
		}
		if class == "pubsub" {
			s.outLimits.hard.Store(hard)
			s.outLimits.soft.Store(soft)
			s.outLimits.secs.Store(secs)
		}
	}
	return nil
}
