package broker

// Qos sets prefetch limits (basic.qos). global=false sets the per-consumer
// limit for consumers created afterwards; global=true sets a limit shared
// by all consumers of the channel. Both may apply at once. RabbitMQ does
// not implement prefetch_size.
func (ch *Channel) Qos(prefetchSize uint32, prefetchCount uint16, global bool) error {
	if prefetchSize != 0 {
		return newError(CodeNotImplemented, "prefetch_size!=0 (%d)", prefetchSize)
	}
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return ErrClosed
	}
	if !global {
		ch.prefetch = prefetchCount
		ch.mu.Unlock()
		return nil
	}
	raised := prefetchCount == 0 || uint32(prefetchCount) > ch.globalPrefetch
	ch.globalPrefetch = uint32(prefetchCount)
	var qs []*Queue
	if raised {
		for _, c := range ch.consumers {
			if c.starved {
				c.starved = false
				qs = appendUnique(qs, c.q)
			}
		}
	}
	ch.mu.Unlock()
	for _, q := range qs {
		q.poke()
	}
	return nil
}

// ConsumeArgs are basic.consume's fields.
type ConsumeArgs struct {
	Queue     string
	Tag       string // empty: the server generates "amq.ctag-…"
	NoLocal   bool   // ignored, as by RabbitMQ
	NoAck     bool
	Exclusive bool
	Args      Table
}

// Consume starts a consumer (basic.consume) and returns its tag. The
// sink's ConsumeOk is called before the first delivery.
func (ch *Channel) Consume(a ConsumeArgs) (string, error) {
	if ch.isClosed() {
		return "", ErrClosed
	}
	name, err := ch.expandQueue(a.Queue)
	if err != nil {
		return "", err
	}
	if name == replyToQueue {
		return ch.consumeReplyTo(a)
	}
	if ch.hasConsumer(a.Tag) {
		return "", newError(CodeNotAllowed, "attempt to reuse consumer tag '%s'", a.Tag)
	}
	if err := ch.checkPerm("queue", name, permRead); err != nil {
		return "", err
	}
	tag := a.Tag
	if tag == "" {
		tag = genName("amq.ctag")
	}
	q, err := ch.lookupQueue(name)
	if err != nil {
		return "", err
	}
	if err := checkConsumeArgs(a.Args, name, ch.vh.name); err != nil {
		return "", err
	}
	c := &Consumer{tag: tag, ch: ch, q: q, noAck: a.NoAck, exclusive: a.Exclusive, args: a.Args}
	if p, ok := toInt(a.Args["x-priority"]); ok {
		c.priority = p
	}
	var dl deadLetters
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return "", errNotFound("queue", name, ch.vh.name)
	}
	if len(q.consumers) > 0 && (a.Exclusive || q.consumers[0].exclusive) {
		q.mu.Unlock()
		return "", newError(CodeAccessRefused, "%s in exclusive use", rs("queue", name, ch.vh.name))
	}
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		q.mu.Unlock()
		return "", ErrClosed
	}
	c.prefetch = uint32(ch.prefetch)
	ch.consumers[tag] = c
	ch.sink.ConsumeOk(tag)
	ch.mu.Unlock()
	q.addConsumerLocked(c)
	q.dispatchLocked(&dl)
	q.flushRemovesLocked()
	q.mu.Unlock()
	ch.b.deadLetter(&dl)
	return tag, nil
}

func (ch *Channel) isClosed() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.closed
}

func (ch *Channel) hasConsumer(tag string) bool {
	if tag == "" {
		return false
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.consumers[tag] != nil || (ch.replyTag != "" && ch.replyTag == tag)
}

// Cancel ends a consumer (basic.cancel). An unknown tag is not an error
// (the spec requires ignoring it). The consumer's unacknowledged
// deliveries stay outstanding on the channel.
func (ch *Channel) Cancel(tag string) error {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return ErrClosed
	}
	if ch.replyTag != "" && tag == ch.replyTag {
		key := ch.replyKey
		ch.replyTag, ch.replyKey = "", ""
		ch.mu.Unlock()
		ch.b.unregisterReplyTo(key, ch)
		return nil
	}
	c := ch.consumers[tag]
	if c == nil {
		ch.mu.Unlock()
		return nil
	}
	delete(ch.consumers, tag)
	c.cancelled = true
	ch.mu.Unlock()
	c.q.removeConsumer(c)
	return nil
}

// Get fetches one message (basic.get). It returns false when the queue is
// empty (basic.get-empty); otherwise the message went to the sink's
// Deliver with Get set, carrying the count of messages left.
func (ch *Channel) Get(queue string, noAck bool) (bool, error) {
	if ch.isClosed() {
		return false, ErrClosed
	}
	name, err := ch.expandQueue(queue)
	if err != nil {
		return false, err
	}
	if err := ch.checkPerm("queue", name, permRead); err != nil {
		return false, err
	}
	q, err := ch.lookupQueue(name)
	if err != nil {
		return false, err
	}
	var dl deadLetters
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return false, errNotFound("queue", name, ch.vh.name)
	}
	q.touchLocked()
	var now int64
	q.dropExpiredLocked(&now, &dl)
	found := q.ready > 0
	if found {
		q.loadHeadLocked()
		e := q.popLocked()
		ch.mu.Lock()
		if ch.closed {
			q.insertLocked(e)
			found = false
		} else {
			ch.deliverLocked(nil, q, e, noAck, uint32(q.ready))
			q.delivered.Add(1)
			if noAck {
				q.releaseLocked(e)
			} else {
				q.unacked++
			}
		}
		ch.mu.Unlock()
	}
	q.flushRemovesLocked()
	q.mu.Unlock()
	ch.b.deadLetter(&dl)
	return found, nil
}

// lookupQueue finds a queue of the channel's vhost and checks exclusive
// access (rabbit_amqqueue:with_exclusive_access_or_die).
func (ch *Channel) lookupQueue(name string) (*Queue, error) {
	ch.vh.mu.RLock()
	q := ch.vh.queues[name]
	ch.vh.mu.RUnlock()
	if q == nil {
		return nil, errNotFound("queue", name, ch.vh.name)
	}
	if q.owner != nil && q.owner != ch.conn {
		return nil, errLocked(name, ch.vh.name)
	}
	return q, nil
}

// expandQueue applies AMQP's "current queue" shortcut: an empty queue
// name means the channel's most recently declared queue.
func (ch *Channel) expandQueue(name string) (string, error) {
	if name != "" {
		return name, nil
	}
	if ch.lastQueue == "" {
		return "", newError(CodeNotFound, "no previously declared queue")
	}
	return ch.lastQueue, nil
}

// checkPerm checks the user's permission, remembering successes.
func (ch *Channel) checkPerm(kind, name string, k permKind) error {
	epoch := ch.b.authzEpoch.Load()
	if ch.perm.lookup(epoch, kind, name, k) {
		return nil
	}
	if err := ch.b.checkAccess(ch.conn.user.Name, ch.vh.name, kind, name, k); err != nil {
		return err
	}
	ch.perm.add(kind, name, k)
	return nil
}
