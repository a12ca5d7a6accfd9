package broker

import (
	"sync"
	"sync/atomic"
)

// Sink receives what the broker sends to an AMQP channel. The front end
// implements it per channel, typically by encoding frames into the
// connection's output buffer.
//
// Concurrency contract: the broker calls a Sink from any goroutine (a
// publisher's, a timer's, the message store's syncer) while holding the
// channel's lock and often a queue's lock, so the methods must not block,
// must not call back into the broker, and must return quickly. Calls for
// one channel are serialised, and their order is the order the frames must
// go out in (a basic.return precedes its basic.ack; basic.consume-ok
// precedes the consumer's first basic.deliver).
type Sink interface {
	// Deliver sends basic.deliver (d.Get false) or basic.get-ok (d.Get
	// true). d and its fields are valid only during the call (the
	// Message and its slices may be retained: they are immutable). It
	// returns false when the connection's output is over its limit: the
	// broker then sends this channel nothing more (deliveries stay queued)
	// until the front end calls Channel.Resume.
	Deliver(d *Delivery) bool
	// Return sends basic.return with the message (mandatory and unroutable).
	Return(m *Message, code uint16, text string)
	// Confirm sends a publisher basic.ack (nack false) or basic.nack for
	// publish sequence number seq, and all before it when multiple.
	Confirm(seq uint64, multiple, nack bool)
	// ConsumeOk sends basic.consume-ok (unless the consume was nowait);
	// it comes before any delivery to the new consumer.
	ConsumeOk(tag string)
	// Cancel sends a server-initiated basic.cancel: the consumer's queue
	// was deleted. The front end sends it only when the client announced
	// the consumer_cancel_notify capability.
	Cancel(tag string)
}

// Delivery is one message sent to a consumer or returned by basic.get.
type Delivery struct {
	ConsumerTag  string // empty for basic.get-ok
	DeliveryTag  uint64
	Redelivered  bool
	Exchange     string
	RoutingKey   string
	Props        []byte
	Body         []byte
	Message      *Message
	Get          bool   // basic.get-ok rather than basic.deliver
	MessageCount uint32 // basic.get-ok: messages left in the queue
}

// Consumer is a basic.consume subscription.
type Consumer struct {
	tag       string
	ch        *Channel
	q         *Queue
	noAck     bool
	exclusive bool
	prefetch  uint32 // per-consumer prefetch (basic.qos global=false) at consume time
	priority  int64
	args      Table

	// guarded by ch.mu
	unacked   uint32
	starved   bool // passed over for lack of credit; an ack must poke its queue
	cancelled bool
}

// unackedRec is a delivery awaiting ack. q is nil once settled (a
// tombstone left by an out-of-order ack).
type unackedRec struct {
	tag uint64
	q   *Queue
	e   entry
	c   *Consumer // nil for basic.get
}

type confirmRec struct {
	seq   uint64
	state uint8 // 0 pending, confirmAck, confirmNack
}

const (
	confirmAck  = 1
	confirmNack = 2
)

// Channel is the broker side of an AMQP channel: it owns delivery tags,
// unacknowledged deliveries, prefetch limits, consumers, publisher confirms
// and transactions, and carries out the channel's methods.
//
// Concurrency contract: the methods other than Resume and Close must be
// called by one goroutine at a time (the connection's), as AMQP processes
// a channel's methods in order. Resume and Close may be called from any
// goroutine. The broker itself touches the channel from other goroutines
// (deliveries, confirms) under its mu.
type Channel struct {
	conn *Conn
	b    *Broker
	vh   *VHost
	sink Sink

	// Owner-only state (the goroutine calling the methods).
	scratch   routeScratch
	perm      permCache
	lastQueue string
	confirm   bool
	pubSeq    uint64
	tx        *txState // written under mu (Close reads its acks)
	ackBuf    []unackedRec
	qBuf      []*Queue
	qidBuf    []uint64
	headBuf   []byte

	mu             sync.Mutex
	closed         bool
	paused         bool
	nextTag        uint64
	unacked        deque[unackedRec]
	tombstones     int
	consumers      map[string]*Consumer
	prefetch       uint16 // for consumers created from now on
	globalPrefetch uint32
	globalUnacked  uint32
	pending        deque[confirmRec]
	dbuf           Delivery
	replyTag       string
	replyKey       string

	// Counters, per channel so the hot path never touches a shared cache
	// line; Broker.Stats adds them up.
	stats chanStats
}

type chanStats struct {
	published, delivered, acked, confirmed, returned atomic.Uint64
}

func (s *chanStats) addTo(t *chanStats) {
	t.published.Add(s.published.Load())
	t.delivered.Add(s.delivered.Load())
	t.acked.Add(s.acked.Load())
	t.confirmed.Add(s.confirmed.Load())
	t.returned.Add(s.returned.Load())
}

func newChannel(conn *Conn, sink Sink) *Channel {
	return &Channel{conn: conn, b: conn.b, vh: conn.vh, sink: sink, nextTag: 1, consumers: map[string]*Consumer{}}
}

// canDeliverLocked reports whether c may be sent a message now.
func (ch *Channel) canDeliverLocked(c *Consumer) bool {
	if ch.closed || ch.paused || c.cancelled {
		return false
	}
	if c.noAck {
		return true
	}
	if (c.prefetch > 0 && c.unacked >= c.prefetch) ||
		(ch.globalPrefetch > 0 && ch.globalUnacked >= ch.globalPrefetch) {
		c.starved = true
		return false
	}
	return true
}

// deliverLocked assigns the next delivery tag, records the delivery when
// it needs an ack and hands it to the sink. c is nil for basic.get.
func (ch *Channel) deliverLocked(c *Consumer, q *Queue, e entry, getNoAck bool, count uint32) {
	tag := ch.nextTag
	ch.nextTag++
	noAck := getNoAck
	if c != nil {
		noAck = c.noAck
	}
	if !noAck {
		ch.unacked.pushBack(unackedRec{tag: tag, q: q, e: e, c: c})
		if c != nil {
			c.unacked++
			ch.globalUnacked++
		}
	}
	d := &ch.dbuf
	d.DeliveryTag = tag
	d.Redelivered = e.redelivered
	d.Exchange = e.m.Exchange
	d.RoutingKey = e.m.RoutingKey
	d.Props = e.m.Props
	d.Body = e.m.Body
	d.Message = e.m
	if c != nil {
		d.ConsumerTag = c.tag
	} else {
		d.Get, d.MessageCount = true, count
	}
	more := ch.sink.Deliver(d)
	*d = Delivery{}
	if !more {
		ch.paused = true
	}
	ch.stats.delivered.Add(1)
}

// serverCancelLocked drops a consumer whose queue went away and tells the
// client (basic.cancel from the server).
func (ch *Channel) serverCancelLocked(c *Consumer) {
	if c.cancelled {
		return
	}
	c.cancelled = true
	if ch.consumers[c.tag] == c {
		delete(ch.consumers, c.tag)
	}
	if !ch.closed {
		ch.sink.Cancel(c.tag)
	}
}

// Resume lets deliveries flow again after Sink.Deliver returned false.
// Any goroutine may call it (typically the connection's writer once its
// buffer has drained).
func (ch *Channel) Resume() {
	ch.mu.Lock()
	if !ch.paused || ch.closed {
		ch.mu.Unlock()
		return
	}
	ch.paused = false
	qs := make([]*Queue, 0, len(ch.consumers))
	for _, c := range ch.consumers {
		qs = appendUnique(qs, c.q)
	}
	ch.mu.Unlock()
	for _, q := range qs {
		q.poke()
	}
}

func appendUnique(qs []*Queue, q *Queue) []*Queue {
	for _, x := range qs {
		if x == q {
			return qs
		}
	}
	return append(qs, q)
}

// Close closes the channel: its consumers are cancelled (auto-delete
// queues left without consumers are deleted), its unacknowledged
// deliveries are requeued, an open transaction is discarded and pending
// confirms are dropped. Any goroutine may call it; it is idempotent.
func (ch *Channel) Close() {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return
	}
	ch.closed = true
	consumers := make([]*Consumer, 0, len(ch.consumers))
	for _, c := range ch.consumers {
		c.cancelled = true
		consumers = append(consumers, c)
	}
	clear(ch.consumers)
	var recs []unackedRec
	for ch.unacked.len() > 0 {
		if r := ch.unacked.popFront(); r.q != nil {
			recs = append(recs, r)
		}
	}
	if ch.tx != nil {
		// Settlements of an uncommitted transaction never happened.
		for _, a := range ch.tx.acks {
			recs = append(recs, a.recs...)
		}
		ch.tx.acks = nil
	}
	ch.pending.clear()
	replyKey := ch.replyKey
	ch.replyKey, ch.replyTag = "", ""
	ch.mu.Unlock()

	if replyKey != "" {
		ch.b.unregisterReplyTo(replyKey, ch)
	}
	for _, c := range consumers {
		c.q.removeConsumer(c)
	}
	ch.settleRecs(recs, settleRequeue)
	ch.conn.forgetChannel(ch)
	ch.stats.addTo(&ch.b.closedStats)
}

// settleRecs settles deliveries queue by queue, keeping each queue's
// records in tag order, then routes any dead letters produced.
func (ch *Channel) settleRecs(recs []unackedRec, op settleOp) {
	if len(recs) == 0 {
		return
	}
	var dl deadLetters
	if len(recs) == 1 || allSameQueue(recs) {
		recs[0].q.settle(recs, op, &dl)
	} else {
		done := make(map[*Queue]bool)
		var group []unackedRec
		for i := range recs {
			q := recs[i].q
			if done[q] {
				continue
			}
			done[q] = true
			group = group[:0]
			for j := i; j < len(recs); j++ {
				if recs[j].q == q {
					group = append(group, recs[j])
				}
			}
			q.settle(group, op, &dl)
		}
	}
	ch.b.deadLetter(&dl)
}

func allSameQueue(recs []unackedRec) bool {
	for i := 1; i < len(recs); i++ {
		if recs[i].q != recs[0].q {
			return false
		}
	}
	return true
}

// removeConsumer takes c off the queue and deletes an auto-delete queue
// that just lost its last consumer.
func (q *Queue) removeConsumer(c *Consumer) {
	q.mu.Lock()
	removed := q.removeConsumerLocked(c)
	autoDelete := removed && q.autoDelete && len(q.consumers) == 0 && !q.deleted
	q.mu.Unlock()
	if autoDelete {
		q.vh.deleteQueueIfUnused(q)
	}
}

// deleteQueueIfUnused deletes an auto-delete queue unless a consumer
// arrived in the meantime.
func (vh *VHost) deleteQueueIfUnused(q *Queue) {
	vh.mu.Lock()
	q.mu.Lock()
	unused := len(q.consumers) == 0 && !q.deleted
	q.mu.Unlock()
	durable := false
	if unused {
		durable = vh.unlinkQueueLocked(q)
		q.destroy()
	}
	vh.mu.Unlock()
	if durable {
		vh.b.saveDefinitionsLogged()
	}
}
