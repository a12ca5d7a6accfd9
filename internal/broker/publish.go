package broker

import (
	"strings"
)

// ConfirmSelect puts the channel in publisher-confirm mode (confirm.select).
func (ch *Channel) ConfirmSelect() error {
	if ch.tx != nil {
		return newError(CodePreconditionFailed, "cannot switch from tx to confirm mode")
	}
	ch.confirm = true
	return nil
}

// Publish routes and enqueues a message (basic.publish), taking ownership
// of m. In confirm mode the message gets the next publish sequence number
// and the sink's Confirm is called once every queue it reached has it
// safely: at once for transient messages or non-durable queues, after the
// fsync covering it for persistent messages in durable queues, and with a
// nack when a reject-publish queue refused it. A mandatory message that
// reaches no queue comes back through the sink's Return (before its
// confirm). RabbitMQ does not implement immediate.
func (ch *Channel) Publish(m *Message, mandatory, immediate bool) error {
	if immediate {
		return newError(CodeNotImplemented, "immediate=true")
	}
	if err := ch.checkPerm("exchange", m.Exchange, permWrite); err != nil {
		return err
	}
	vh := ch.vh
	// One read lock covers lookup, checks and routing; RabbitMQ's order
	// of checks is kept (exchange, internal, then properties).
	vh.mu.RLock()
	x := vh.exchanges[m.Exchange]
	if x == nil {
		vh.mu.RUnlock()
		return errNotFound("exchange", m.Exchange, vh.name)
	}
	if x.internal {
		vh.mu.RUnlock()
		return newError(CodeAccessRefused, "cannot publish to internal %s", rs("exchange", m.Exchange, vh.name))
	}
	if err := ch.prepare(m); err != nil {
		vh.mu.RUnlock()
		return err
	}
	var seq uint64
	if ch.confirm {
		ch.pubSeq++
		seq = ch.pubSeq
	}
	ch.stats.published.Add(1)
	if x.name == "" && strings.HasPrefix(m.RoutingKey, replyToPrefix) {
		vh.mu.RUnlock()
		ch.publishReply(m, mandatory, seq)
		return nil
	}
	vh.routeLocked(x, m.RoutingKey, m.routeExtra(), m.Headers, &ch.scratch)
	vh.mu.RUnlock()
	if ch.tx != nil {
		ch.tx.pubs = append(ch.tx.pubs, txPub{m: m, qs: append([]*Queue(nil), ch.scratch.qs...), mandatory: mandatory})
		clear(ch.scratch.qs)
		return nil
	}
	ch.deliverToQueues(m, ch.scratch.qs, mandatory, seq)
	clear(ch.scratch.qs)
	return nil
}

// prepare validates the properties the broker checks and fills the
// message's internal fields: user_id, expiration, CC and BCC.
func (ch *Channel) prepare(m *Message) error {
	if m.HasUserID && m.UserID != ch.conn.user.Name && !ch.conn.user.HasTag("impersonator") {
		return newError(CodePreconditionFailed, "user_id property set to '%s' but authenticated user was '%s'",
			m.UserID, ch.conn.user.Name)
	}
	m.ttl = -1
	if m.HasExpiration {
		ttl, e := parseExpiration(m.Expiration)
		if e != "" {
			return newError(CodePreconditionFailed, "invalid expiration '%s': %s", m.Expiration, e)
		}
		m.ttl = ttl
	}
	if m.Headers != nil {
		cc, err := headerRoutes(m.Headers, "CC")
		if err != nil {
			return err
		}
		bcc, err := headerRoutes(m.Headers, "BCC")
		if err != nil {
			return err
		}
		m.cc = cc
		if _, ok := m.Headers["BCC"]; ok {
			// BCC keys route but never reach consumers
			// (rabbit_basic:strip_bcc).
			m.bcc = bcc
			ch.stripBCC(m)
		}
	}
	m.computeSize()
	return nil
}

// routeExtra returns the CC and BCC routing keys.
func (m *Message) routeExtra() []string {
	if len(m.bcc) == 0 {
		return m.cc
	}
	return append(m.cc[:len(m.cc):len(m.cc)], m.bcc...)
}

func (ch *Channel) stripBCC(m *Message) {
	h := make(Table, len(m.Headers))
	for k, v := range m.Headers {
		if k != "BCC" {
			h[k] = v
		}
	}
	m.Headers = h
	if ch.b.codec == nil {
		return
	}
	if props, err := ch.b.codec.Rewrite(m.Props, h, false); err == nil {
		m.Props = props
	} else {
		ch.b.log.Warn("broker: cannot strip BCC header", "err", err)
	}
}

// deliverToQueues enqueues m in qs (stored first when persistent and some
// queue is durable) and arranges its return and confirm.
func (ch *Channel) deliverToQueues(m *Message, qs []*Queue, mandatory bool, seq uint64) {
	if len(qs) == 0 {
		if mandatory {
			ch.returnMessage(m)
		}
		if seq != 0 {
			ch.confirmDone(seq, false, false)
		}
		return
	}
	b := ch.b
	if m.published == 0 && needsClock(m, qs) {
		// Reading the clock costs as much as the rest of a publish on
		// some VMs, so only messages that need it pay.
		m.published = b.now()
	}
	stored := false
	if m.Persistent() && b.store != nil {
		qids := ch.qidBuf[:0]
		for _, q := range qs {
			if q.storeID != 0 {
				qids = append(qids, q.storeID)
			}
		}
		ch.qidBuf = qids[:0]
		if len(qids) > 0 {
			ch.headBuf = encodeHead(ch.headBuf[:0], m)
			id, err := b.store.Add(qids, ch.headBuf, m.Body)
			if err != nil {
				b.log.Error("broker: cannot store persistent message", "err", err)
				if seq != 0 {
					ch.confirmDone(seq, true, false)
					seq = 0 // nacked; still delivered from memory
				}
			} else {
				m.storeID = id
				stored = true
			}
		}
	}
	if seq != 0 {
		ch.confirmAdd(seq)
	}
	var dl deadLetters
	rejected := false
	now := m.published
	for _, q := range qs {
		if !q.publish(m, now, &dl) {
			rejected = true
			if stored && q.storeID != 0 {
				b.store.Remove(q.storeID, []uint64{m.storeID})
			}
		}
	}
	b.deadLetter(&dl)
	if seq == 0 {
		return
	}
	switch {
	case rejected:
		ch.confirmDone(seq, true, true)
	case stored:
		b.store.Notify(ch, seq)
	default:
		ch.confirmDone(seq, false, true)
	}
}

// needsClock reports whether a message needs its publish time: it has or
// meets a TTL, or may be stored (recovery recomputes TTLs from it).
func needsClock(m *Message, qs []*Queue) bool {
	if m.ttl >= 0 || m.Persistent() {
		return true
	}
	for _, q := range qs {
		if q.cfg.ttl >= 0 {
			return true
		}
	}
	return false
}

func (ch *Channel) returnMessage(m *Message) {
	ch.mu.Lock()
	if !ch.closed {
		ch.sink.Return(m, CodeNoRoute, "NO_ROUTE")
		ch.stats.returned.Add(1)
	}
	ch.mu.Unlock()
}

// Synced implements msgstore.CumulativeWaiter: every persistent publish
// of this channel up to sequence number token is on disk (or, with err,
// cannot be). Everything still outstanding up to token was waiting for
// exactly that, since transient and refused publishes settle at once.
func (ch *Channel) Synced(token uint64, err error) {
	state := uint8(confirmAck)
	if err != nil {
		state = confirmNack
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closed {
		return
	}
	p := &ch.pending
	for i := 0; i < p.len() && p.at(i).seq <= token; i++ {
		if r := p.at(i); r.state == 0 {
			r.state = state
		}
	}
	ch.flushConfirmsLocked()
}

// Cumulative marks Channel as a msgstore.CumulativeWaiter.
func (ch *Channel) Cumulative() {}

// confirmAdd registers an outstanding publish sequence number.
func (ch *Channel) confirmAdd(seq uint64) {
	ch.mu.Lock()
	if !ch.closed {
		ch.pending.pushBack(confirmRec{seq: seq})
	}
	ch.mu.Unlock()
}

// confirmDone settles publish seq and sends confirms for the settled run
// at the front of the outstanding list, coalescing consecutive acks (or
// nacks) into one multiple confirm. Confirms therefore go out in sequence
// order. registered says whether seq was added with confirmAdd.
func (ch *Channel) confirmDone(seq uint64, nack, registered bool) {
	state := uint8(confirmAck)
	if nack {
		state = confirmNack
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closed {
		return
	}
	p := &ch.pending
	if !registered {
		if p.len() == 0 {
			ch.sink.Confirm(seq, false, nack)
			ch.stats.confirmed.Add(1)
			return
		}
		p.pushBack(confirmRec{seq: seq, state: state})
	} else {
		i := p.search(func(r *confirmRec) bool { return r.seq < seq })
		if i == p.len() || p.at(i).seq != seq {
			return
		}
		p.at(i).state = state
	}
	ch.flushConfirmsLocked()
}

// flushConfirmsLocked sends the settled run at the front of the
// outstanding confirms.
func (ch *Channel) flushConfirmsLocked() {
	p := &ch.pending
	nacked := false
	for p.len() > 0 && p.at(0).state != 0 {
		st := p.at(0).state
		if st == confirmAck && nacked {
			// Acks after a nack go one by one, so a multiple ack never
			// covers the nacked number (as RabbitMQ's coalesce_and_send).
			ch.sink.Confirm(p.popFront().seq, false, false)
			ch.stats.confirmed.Add(1)
			continue
		}
		n := 0
		var last uint64
		for p.len() > 0 && p.at(0).state == st {
			last = p.popFront().seq
			n++
		}
		if st == confirmNack {
			nacked = true
		}
		ch.sink.Confirm(last, n > 1, st == confirmNack)
		ch.stats.confirmed.Add(uint64(n))
	}
}
