package broker

type settleOp uint8

const (
	settleAck settleOp = iota
	settleRequeue
	settleReject // discard, dead-lettering when the queue has a DLX
)

// Ack acknowledges delivery tag (and every earlier outstanding one when
// multiple; tag 0 with multiple acknowledges all) (basic.ack).
func (ch *Channel) Ack(tag uint64, multiple bool) error {
	return ch.settle(tag, multiple, settleAck)
}

// Nack rejects delivery tag (and every earlier one when multiple),
// requeueing or discarding (dead-lettering) the messages (basic.nack).
func (ch *Channel) Nack(tag uint64, multiple, requeue bool) error {
	if requeue {
		return ch.settle(tag, multiple, settleRequeue)
	}
	return ch.settle(tag, multiple, settleReject)
}

// Reject rejects one delivery (basic.reject).
func (ch *Channel) Reject(tag uint64, requeue bool) error {
	return ch.Nack(tag, false, requeue)
}

// Recover requeues every unacknowledged delivery of the channel; they come
// back with redelivered set (basic.recover and basic.recover-async).
// RabbitMQ does not implement requeue=false.
func (ch *Channel) Recover(requeue bool) error {
	if !requeue {
		return newError(CodeNotImplemented, "requeue=false")
	}
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return ErrClosed
	}
	recs := ch.ackBuf[:0]
	for ch.unacked.len() > 0 {
		if r := ch.unacked.popFront(); r.q != nil {
			recs = append(recs, r)
		}
	}
	ch.tombstones = 0
	pokes := ch.releaseCreditLocked(recs)
	ch.mu.Unlock()
	ch.settleRecs(recs, settleRequeue)
	ch.pokeQueues(pokes, recs)
	clear(recs)
	ch.ackBuf = recs[:0]
	return nil
}

func (ch *Channel) settle(tag uint64, multiple bool, op settleOp) error {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return ErrClosed
	}
	recs, err := ch.collectLocked(tag, multiple, ch.ackBuf[:0])
	if err != nil {
		ch.mu.Unlock()
		return err
	}
	if ch.tx != nil {
		// In a transaction the deliveries leave the unacked list now (a
		// second ack is an unknown tag) but settle, and free prefetch
		// credit, only at commit.
		ch.tx.acks = append(ch.tx.acks, txAck{op: op, recs: append([]unackedRec(nil), recs...)})
		ch.mu.Unlock()
		clear(recs)
		ch.ackBuf = recs[:0]
		return nil
	}
	pokes := ch.releaseCreditLocked(recs)
	ch.mu.Unlock()
	if op == settleAck {
		ch.stats.acked.Add(uint64(len(recs)))
	}
	ch.settleRecs(recs, op)
	ch.pokeQueues(pokes, recs)
	clear(recs)
	ch.ackBuf = recs[:0]
	return nil
}

// collectLocked removes the deliveries an ack names from the unacked list
// and appends them to dst, as rabbit_channel:collect_acks does: the tag
// itself must be outstanding ("unknown delivery tag"), except that tag 0
// with multiple means all.
func (ch *Channel) collectLocked(tag uint64, multiple bool, dst []unackedRec) ([]unackedRec, error) {
	u := &ch.unacked
	if multiple && tag == 0 {
		for u.len() > 0 {
			if r := u.popFront(); r.q != nil {
				dst = append(dst, r)
			}
		}
		ch.tombstones = 0
		return dst, nil
	}
	i := u.search(func(r *unackedRec) bool { return r.tag < tag })
	if i == u.len() || u.at(i).tag != tag || u.at(i).q == nil {
		return dst, newError(CodePreconditionFailed, "unknown delivery tag %d", tag)
	}
	if multiple {
		for k := 0; k <= i; k++ {
			if r := u.popFront(); r.q != nil {
				dst = append(dst, r)
			} else {
				ch.tombstones--
			}
		}
	} else if i == 0 {
		dst = append(dst, u.popFront())
	} else {
		r := u.at(i)
		dst = append(dst, *r)
		*r = unackedRec{tag: r.tag}
		ch.tombstones++
	}
	for u.len() > 0 && u.at(0).q == nil {
		u.popFront()
		ch.tombstones--
	}
	if ch.tombstones > 64 && ch.tombstones > u.len()/2 {
		ch.compactUnackedLocked()
	}
	return dst, nil
}

func (ch *Channel) compactUnackedLocked() {
	var nu deque[unackedRec]
	for ch.unacked.len() > 0 {
		if r := ch.unacked.popFront(); r.q != nil {
			nu.pushBack(r)
		}
	}
	ch.unacked = nu
	ch.tombstones = 0
}

// releaseCreditLocked gives the prefetch credit of settled deliveries back
// and returns the queues of consumers that were starved of it (they must
// be poked to resume delivery).
func (ch *Channel) releaseCreditLocked(recs []unackedRec) []*Queue {
	globalFull := ch.globalPrefetch > 0 && ch.globalUnacked >= ch.globalPrefetch
	for i := range recs {
		if c := recs[i].c; c != nil {
			c.unacked--
			ch.globalUnacked--
		}
	}
	pokes := ch.qBuf[:0]
	for i := range recs {
		c := recs[i].c
		if c != nil && c.starved && !c.cancelled {
			c.starved = false
			pokes = appendUnique(pokes, c.q)
		}
	}
	if globalFull {
		for _, c := range ch.consumers {
			if c.starved {
				c.starved = false
				pokes = appendUnique(pokes, c.q)
			}
		}
	}
	ch.qBuf = pokes[:0]
	return pokes
}

// pokeQueues resumes delivery on queues other than those just settled
// (settling already delivered on those).
func (ch *Channel) pokeQueues(pokes []*Queue, settled []unackedRec) {
	for _, q := range pokes {
		seen := false
		for i := range settled {
			if settled[i].q == q {
				seen = true
				break
			}
		}
		if !seen {
			q.poke()
		}
	}
	clear(pokes)
}
