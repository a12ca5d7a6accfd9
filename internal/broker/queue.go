package broker

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/persist/pagestore"
)

// entry is a message's place in one queue: ready in the queue, or
// delivered and awaiting an ack (then held by the channel).
type entry struct {
	m           *Message
	seq         uint64 // position in the queue; requeues go back by it
	exp         int64  // expiry deadline in unix ms, 0 for none
	redelivered bool
}

type overflowMode uint8

const (
	overflowDropHead overflowMode = iota
	overflowRejectPublish
	overflowRejectPublishDLX
)

// queueConfig is a queue's parsed arguments.
type queueConfig struct {
	ttl         int64 // x-message-ttl in ms, -1 for none
	expires     int64 // x-expires in ms, 0 for none
	maxLen      int64 // -1 for none
	maxBytes    int64 // -1 for none
	overflow    overflowMode
	dlx         string
	hasDLX      bool
	dlrk        string
	hasDLRK     bool
	maxPriority int // 0: not a priority queue
	sac         bool
}

func parseQueueConfig(args Table) queueConfig {
	c := queueConfig{ttl: -1, maxLen: -1, maxBytes: -1}
	if v, ok := toInt(args["x-message-ttl"]); ok {
		c.ttl = v
	}
	if v, ok := toInt(args["x-expires"]); ok {
		c.expires = v
	}
	if v, ok := toInt(args["x-max-length"]); ok {
		c.maxLen = v
	}
	if v, ok := toInt(args["x-max-length-bytes"]); ok {
		c.maxBytes = v
	}
	switch args["x-overflow"] {
	case "reject-publish":
		c.overflow = overflowRejectPublish
	case "reject-publish-dlx":
		c.overflow = overflowRejectPublishDLX
	}
	c.dlx, c.hasDLX = args["x-dead-letter-exchange"].(string)
	c.dlrk, c.hasDLRK = args["x-dead-letter-routing-key"].(string)
	if v, ok := toInt(args["x-max-priority"]); ok && v > 0 {
		c.maxPriority = int(v)
	}
	c.sac, _ = args["x-single-active-consumer"].(bool)
	return c
}

// Queue is a classic queue. Its identity and configuration are fixed at
// declaration; its binding set is guarded by the vhost's mu; everything
// else by its own mu.
type Queue struct {
	vh         *VHost
	name       string
	durable    bool
	exclusive  bool
	autoDelete bool
	owner      *Conn // the exclusive owner, else nil
	args       Table
	cfg        queueConfig
	storeID    uint64 // msgstore queue id for durable queues, else 0

	bindings map[*binding]struct{} // guarded by vh.mu

	mu          sync.Mutex
	levels      []deque[entry] // one per priority; index 0 for plain queues
	ready       int
	readyBytes  int64 // body bytes of ready messages (x-max-length-bytes)
	unacked     int
	seq         uint64
	groups      []consumerGroup // consumers by priority, highest first
	consumers   []*Consumer     // in registration order (single active consumer)
	hadConsumer bool
	deleted     bool
	rmBuf       []uint64 // store removals batched within one operation
	ttlTimer    *time.Timer
	ttlAt       int64 // when ttlTimer fires (unix ms), 0 when not armed
	idleTimer   *time.Timer
	lastUsed    int64

	// Paging (paging.go): per level, entries at index >= pagedFrom are
	// paged or cannot be; nil when the broker does not page.
	pagedFrom []int
	pagedN    int  // paged ready messages
	pageErr   bool // the page store failed; stop trying
	pgRefs    []pagestore.Ref
	pgIdx     []int

	published, delivered, acked atomic.Uint64
}

type consumerGroup struct {
	priority int64
	cs       []*Consumer
	next     int // round-robin cursor
}

// Name returns the queue name.
func (q *Queue) Name() string { return q.name }

func newQueue(vh *VHost, name string, durable, exclusive, autoDelete bool, owner *Conn, args Table) *Queue {
	q := &Queue{
		vh: vh, name: name, durable: durable, exclusive: exclusive, autoDelete: autoDelete, owner: owner,
		args: args, cfg: parseQueueConfig(args), bindings: map[*binding]struct{}{},
	}
	q.levels = make([]deque[entry], q.cfg.maxPriority+1)
	if vh != nil && vh.b != nil && vh.b.pages != nil {
		q.pagedFrom = make([]int, len(q.levels))
	}
	return q
}

func (q *Queue) level(m *Message) int {
	if q.cfg.maxPriority == 0 {
		return 0
	}
	return min(int(m.Priority), q.cfg.maxPriority)
}

func (q *Queue) pushLocked(e entry) {
	li := q.level(e.m)
	q.levels[li].pushBack(e)
	q.trackInsertLocked(li, q.levels[li].len()-1, e.m.paged())
	q.ready++
	q.readyBytes += int64(e.m.bodyLen())
}

// insertLocked puts a requeued entry back at its original position.
func (q *Queue) insertLocked(e entry) {
	li := q.level(e.m)
	d := &q.levels[li]
	i := d.search(func(x *entry) bool { return x.seq < e.seq })
	d.insertAt(i, e)
	q.trackInsertLocked(li, i, e.m.paged())
	q.ready++
	q.readyBytes += int64(e.m.bodyLen())
}

// headLocked returns the next entry to deliver, or nil.
func (q *Queue) headLocked() *entry {
	for i := len(q.levels) - 1; i >= 0; i-- {
		if q.levels[i].len() > 0 {
			return q.levels[i].at(0)
		}
	}
	return nil
}

func (q *Queue) popLocked() entry {
	for i := len(q.levels) - 1; i >= 0; i-- {
		if q.levels[i].len() > 0 {
			e := q.levels[i].popFront()
			q.trackPopLocked(i)
			q.ready--
			q.readyBytes -= int64(e.m.bodyLen())
			return e
		}
	}
	panic("broker: pop from empty queue")
}

// hold counts a new reference from this queue to m.
func (q *Queue) hold(m *Message) {
	if m.refs.Add(1) == 1 {
		q.vh.b.memAdd(m.size)
	}
}

// releaseLocked drops this queue's reference to e's message: it leaves the
// memory total with its last reference, and its durable record loses this
// queue (batched until flushRemovesLocked).
func (q *Queue) releaseLocked(e entry) {
	q.releaseKeepStoreLocked(e)
	if q.storeID != 0 && e.m.storeID != 0 {
		q.rmBuf = append(q.rmBuf, e.m.storeID)
	}
}

// releaseKeepStoreLocked is releaseLocked without the store removal, for
// messages being dead-lettered: the removal follows the republish so a
// crash between the two cannot lose the message.
func (q *Queue) releaseKeepStoreLocked(e entry) {
	if e.m.refs.Add(-1) == 0 {
		q.vh.b.memAdd(-e.m.size)
		if e.m.paged() {
			q.vh.b.pages.Free(e.m.pg)
			q.pagedN--
		}
	}
}

func (q *Queue) flushRemovesLocked() {
	if len(q.rmBuf) == 0 {
		return
	}
	if st := q.vh.b.store; st != nil {
		if err := st.Remove(q.storeID, q.rmBuf); err != nil {
			q.vh.b.log.Warn("broker: message store removal failed", "queue", q.name, "err", err)
		}
	}
	q.rmBuf = q.rmBuf[:0]
}

// deadline returns the expiry deadline of m entering q at now.
func (q *Queue) deadline(m *Message, now int64) int64 {
	ttl := q.cfg.ttl
	if m.ttl >= 0 && (ttl < 0 || m.ttl < ttl) {
		ttl = m.ttl
	}
	if ttl < 0 {
		return 0
	}
	return now + ttl
}

// willOverflowLocked is will_overflow/2: would one more message exceed
// the limits (reject-publish modes)?
func (q *Queue) willOverflowLocked(m *Message) bool {
	return (q.cfg.maxLen >= 0 && int64(q.ready)+1 > q.cfg.maxLen) ||
		(q.cfg.maxBytes >= 0 && q.readyBytes+int64(len(m.Body)) > q.cfg.maxBytes)
}

func (q *Queue) overLimitLocked() bool {
	return (q.cfg.maxLen >= 0 && int64(q.ready) > q.cfg.maxLen) ||
		(q.cfg.maxBytes >= 0 && q.readyBytes > q.cfg.maxBytes)
}

// publish enqueues m, delivering it at once when a consumer can take it.
// It returns false when the queue refused the message (reject-publish
// overflow): the publisher gets a nack. Dead letters produced on the way
// are added to dl for the caller to route after the lock is released.
func (q *Queue) publish(m *Message, now int64, dl *deadLetters) bool {
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return true // raced with a delete: as if it had been routed just before
	}
	if q.cfg.overflow != overflowDropHead && q.willOverflowLocked(m) {
		if q.cfg.overflow == overflowRejectPublishDLX && q.cfg.hasDLX {
			dl.add(q, entry{m: m}, reasonMaxlen)
		}
		q.mu.Unlock()
		return false
	}
	q.published.Add(1)
	q.hold(m)
	e := entry{m: m, seq: q.seq}
	if q.cfg.ttl >= 0 || m.ttl >= 0 {
		if now == 0 {
			now = q.vh.b.now()
		}
		e.exp = q.deadline(m, now)
	}
	q.seq++
	if q.ready == 0 && len(q.groups) > 0 {
		// Straight to a consumer; a message with TTL 0 is delivered, not
		// expired, when someone is waiting for it (as in RabbitMQ).
		if c, ch := q.pickLocked(); c != nil {
			q.deliverLocked(c, ch, e)
			q.flushRemovesLocked()
			q.mu.Unlock()
			return true
		}
	}
	q.pageNewLocked(&e)
	q.pushLocked(e)
	if q.cfg.overflow == overflowDropHead {
		for q.ready > 0 && q.overLimitLocked() {
			if q.cfg.hasDLX {
				q.loadHeadLocked()
			}
			q.deadLetterLocked(q.popLocked(), reasonMaxlen, dl)
		}
	}
	// Expired heads go now, not at the next timer tick (drop_expired_msgs
	// after every enqueue): a TTL 0 message nobody could take is gone.
	if h := q.headLocked(); h != nil && h.exp != 0 {
		t := now
		q.dropExpiredLocked(&t, dl)
	}
	q.dispatchLocked(dl)
	q.armTTLLocked()
	q.pageOutLocked()
	q.flushRemovesLocked()
	q.mu.Unlock()
	return true
}

// deadLetterLocked removes e from the queue for good: dead-lettered when
// the queue has a dead-letter exchange, else dropped.
func (q *Queue) deadLetterLocked(e entry, reason string, dl *deadLetters) {
	if q.cfg.hasDLX {
		dl.add(q, e, reason)
		q.releaseKeepStoreLocked(e)
		return
	}
	q.releaseLocked(e)
}

// dropExpiredLocked dead-letters expired messages at the head, as
// RabbitMQ does: a message expires only when it reaches the head.
func (q *Queue) dropExpiredLocked(now *int64, dl *deadLetters) {
	for {
		h := q.headLocked()
		if h == nil || h.exp == 0 {
			return
		}
		if *now == 0 {
			*now = q.vh.b.now()
		}
		if h.exp > *now {
			return
		}
		if q.cfg.hasDLX {
			q.loadHeadLocked()
		}
		q.deadLetterLocked(q.popLocked(), reasonExpired, dl)
	}
}

// dispatchLocked delivers ready messages while some consumer has credit.
func (q *Queue) dispatchLocked(dl *deadLetters) {
	var now int64
	for q.ready > 0 && len(q.groups) > 0 {
		q.dropExpiredLocked(&now, dl)
		if q.ready == 0 {
			return
		}
		c, ch := q.pickLocked()
		if c == nil {
			return
		}
		q.loadHeadLocked() // under ch.mu: reads only the page store
		q.deliverLocked(c, ch, q.popLocked())
	}
}

// pickLocked chooses the consumer for the next message: the highest
// priority group's next consumer (round robin) whose channel will take a
// delivery, or the single active consumer. It returns with that channel's
// mu held, or nil.
func (q *Queue) pickLocked() (*Consumer, *Channel) {
	if q.cfg.sac {
		c := q.consumers[0]
		ch := c.ch
		ch.mu.Lock()
		if ch.canDeliverLocked(c) {
			return c, ch
		}
		ch.mu.Unlock()
		return nil, nil
	}
	for gi := range q.groups {
		g := &q.groups[gi]
		n := len(g.cs)
		for k := 0; k < n; k++ {
			i := (g.next + k) % n
			c := g.cs[i]
			ch := c.ch
			ch.mu.Lock()
			if ch.canDeliverLocked(c) {
				g.next = (i + 1) % n
				return c, ch
			}
			ch.mu.Unlock()
		}
	}
	return nil, nil
}

// deliverLocked hands e to consumer c; ch.mu is held (from pickLocked) and
// released here.
func (q *Queue) deliverLocked(c *Consumer, ch *Channel, e entry) {
	ch.deliverLocked(c, q, e, false, 0)
	ch.mu.Unlock()
	q.delivered.Add(1)
	if c.noAck {
		q.releaseLocked(e)
	} else {
		q.unacked++
	}
}

// armTTLLocked makes sure the expiry timer fires by the head's deadline.
func (q *Queue) armTTLLocked() {
	var earliest int64
	for i := range q.levels {
		if q.levels[i].len() > 0 {
			if exp := q.levels[i].at(0).exp; exp != 0 && (earliest == 0 || exp < earliest) {
				earliest = exp
			}
		}
	}
	if earliest == 0 || (q.ttlAt != 0 && q.ttlAt <= earliest) {
		return
	}
	q.ttlAt = earliest
	d := time.Duration(earliest-q.vh.b.now()) * time.Millisecond
	if q.ttlTimer == nil {
		q.ttlTimer = time.AfterFunc(d, q.onTTLTimer)
	} else {
		q.ttlTimer.Reset(d)
	}
}

// onTTLTimer runs on a timer goroutine when the head may have expired.
func (q *Queue) onTTLTimer() {
	var dl deadLetters
	q.mu.Lock()
	q.ttlAt = 0
	if q.deleted {
		q.mu.Unlock()
		return
	}
	var now int64
	q.dropExpiredLocked(&now, &dl)
	q.armTTLLocked()
	q.flushRemovesLocked()
	q.mu.Unlock()
	q.vh.b.deadLetter(&dl)
}

// touchLocked records a use of the queue for x-expires: the idle timer
// restarts whenever the queue has no consumers.
func (q *Queue) touchLocked() {
	if q.cfg.expires <= 0 || q.deleted {
		return
	}
	q.lastUsed = q.vh.b.now()
	if len(q.consumers) > 0 {
		if q.idleTimer != nil {
			q.idleTimer.Stop()
		}
		return
	}
	d := time.Duration(q.cfg.expires) * time.Millisecond
	if q.idleTimer == nil {
		q.idleTimer = time.AfterFunc(d, q.onIdleTimer)
	} else {
		q.idleTimer.Reset(d)
	}
}

// onIdleTimer deletes the queue when it has been unused for x-expires; a
// use since the timer was set pushes the deadline back.
func (q *Queue) onIdleTimer() {
	q.mu.Lock()
	if q.deleted || len(q.consumers) > 0 {
		q.mu.Unlock()
		return
	}
	if left := q.lastUsed + q.cfg.expires - q.vh.b.now(); left > 0 {
		q.idleTimer.Reset(time.Duration(left) * time.Millisecond)
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	q.vh.deleteQueue(q)
}

func (q *Queue) stopTimersLocked() {
	if q.ttlTimer != nil {
		q.ttlTimer.Stop()
	}
	if q.idleTimer != nil {
		q.idleTimer.Stop()
	}
}

func (q *Queue) addConsumerLocked(c *Consumer) {
	q.consumers = append(q.consumers, c)
	q.hadConsumer = true
	i, found := slices.BinarySearchFunc(q.groups, c.priority, func(g consumerGroup, p int64) int {
		switch {
		case g.priority > p:
			return -1
		case g.priority < p:
			return 1
		}
		return 0
	})
	if found {
		q.groups[i].cs = append(q.groups[i].cs, c)
	} else {
		q.groups = slices.Insert(q.groups, i, consumerGroup{priority: c.priority, cs: []*Consumer{c}})
	}
	if q.idleTimer != nil {
		q.idleTimer.Stop()
	}
}

func (q *Queue) removeConsumerLocked(c *Consumer) bool {
	i := slices.Index(q.consumers, c)
	if i < 0 {
		return false
	}
	q.consumers = slices.Delete(q.consumers, i, i+1)
	for gi := range q.groups {
		g := &q.groups[gi]
		if g.priority != c.priority {
			continue
		}
		if k := slices.Index(g.cs, c); k >= 0 {
			g.cs = slices.Delete(g.cs, k, k+1)
			if k < g.next {
				g.next--
			}
			if len(g.cs) == 0 {
				q.groups = slices.Delete(q.groups, gi, gi+1)
			} else {
				g.next %= len(g.cs)
			}
		}
		break
	}
	if len(q.consumers) == 0 {
		q.touchLocked()
	}
	return true
}

// destroy finishes deleting a queue unlinked from its vhost: it drops the
// ready messages, stops the timers and cancels the consumers (telling
// their channels, which send basic.cancel). It returns the number of ready
// messages dropped. The caller holds vh.mu.
func (q *Queue) destroy() uint32 {
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return 0
	}
	q.deleted = true
	n := uint32(q.ready)
	for i := range q.levels {
		for q.levels[i].len() > 0 {
			q.releaseLocked(q.levels[i].popFront())
		}
	}
	q.ready, q.readyBytes = 0, 0
	clear(q.pagedFrom)
	q.flushRemovesLocked()
	q.stopTimersLocked()
	consumers := q.consumers
	q.consumers, q.groups = nil, nil
	for _, c := range consumers {
		c.ch.mu.Lock()
		c.ch.serverCancelLocked(c)
		c.ch.mu.Unlock()
	}
	q.mu.Unlock()
	// Unacked deliveries release their store references as they settle.
	return n
}

// purge drops the ready messages (not the unacknowledged ones) and
// returns how many there were.
func (q *Queue) purge() uint32 {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := uint32(q.ready)
	for i := range q.levels {
		for q.levels[i].len() > 0 {
			q.releaseLocked(q.levels[i].popFront())
		}
	}
	q.ready, q.readyBytes = 0, 0
	clear(q.pagedFrom)
	q.flushRemovesLocked()
	return n
}

// settle finishes deliveries of this queue that a channel acked, rejected
// or requeued, then delivers more if consumers now have credit.
func (q *Queue) settle(recs []unackedRec, op settleOp, dl *deadLetters) {
	q.mu.Lock()
	for i := range recs {
		e := recs[i].e
		if q.deleted {
			q.releaseLocked(e)
			continue
		}
		q.unacked--
		switch op {
		case settleAck:
			q.acked.Add(1)
			q.releaseLocked(e)
		case settleRequeue:
			e.redelivered = true
			q.insertLocked(e)
		case settleReject:
			q.deadLetterLocked(e, reasonRejected, dl)
		}
	}
	if !q.deleted {
		q.dispatchLocked(dl)
		if op == settleRequeue {
			q.armTTLLocked()
		}
	}
	q.flushRemovesLocked()
	q.mu.Unlock()
}

// poke delivers what it can; called when a consumer regains credit.
func (q *Queue) poke() {
	var dl deadLetters
	q.mu.Lock()
	if !q.deleted {
		q.dispatchLocked(&dl)
		q.flushRemovesLocked()
	}
	q.mu.Unlock()
	q.vh.b.deadLetter(&dl)
}

// QueueInfo describes a queue for listings (rabbitmqctl list_queues).
type QueueInfo struct {
	VHost, Name                    string
	Durable, AutoDelete, Exclusive bool
	Arguments                      Table
	Messages, MessagesUnacked      int
	MessageBytes                   int64
	Consumers                      int
	Published, Delivered, Acked    uint64
}

func (q *Queue) info() QueueInfo {
	q.mu.Lock()
	defer q.mu.Unlock()
	return QueueInfo{
		VHost: q.vh.name, Name: q.name, Durable: q.durable, AutoDelete: q.autoDelete, Exclusive: q.exclusive,
		Arguments: q.args, Messages: q.ready, MessagesUnacked: q.unacked, MessageBytes: q.readyBytes,
		Consumers: len(q.consumers), Published: q.published.Load(), Delivered: q.delivered.Load(), Acked: q.acked.Load(),
	}
}
