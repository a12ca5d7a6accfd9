package broker

// txState buffers a transactional channel's publishes and settlements
// until tx.commit (tx.select … tx.commit/tx.rollback).
type txState struct {
	pubs []txPub
	acks []txAck
}

type txPub struct {
	m         *Message
	qs        []*Queue // routed at publish time, as RabbitMQ does
	mandatory bool
}

type txAck struct {
	op   settleOp
	recs []unackedRec
}

// TxSelect makes the channel transactional (tx.select).
func (ch *Channel) TxSelect() error {
	if ch.confirm {
		return newError(CodePreconditionFailed, "cannot switch from confirm to tx mode")
	}
	if ch.tx == nil {
		ch.mu.Lock()
		ch.tx = &txState{}
		ch.mu.Unlock()
	}
	return nil
}

// TxCommit carries out the buffered publishes (returns for unroutable
// mandatory ones go to the sink now) and then the buffered acks, nacks and
// rejects (tx.commit).
func (ch *Channel) TxCommit() error {
	if ch.tx == nil {
		return newError(CodePreconditionFailed, "channel is not transactional")
	}
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return ErrClosed
	}
	tx := ch.tx
	ch.tx = &txState{}
	ch.mu.Unlock()
	for _, p := range tx.pubs {
		ch.deliverToQueues(p.m, p.qs, p.mandatory, 0)
	}
	for _, a := range tx.acks {
		ch.mu.Lock()
		pokes := ch.releaseCreditLocked(a.recs)
		ch.mu.Unlock()
		if a.op == settleAck {
			ch.stats.acked.Add(uint64(len(a.recs)))
		}
		ch.settleRecs(a.recs, a.op)
		ch.pokeQueues(pokes, a.recs)
	}
	return nil
}

// TxRollback discards the buffered publishes and puts the buffered
// settlements back among the unacknowledged deliveries (tx.rollback).
func (ch *Channel) TxRollback() error {
	if ch.tx == nil {
		return newError(CodePreconditionFailed, "channel is not transactional")
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closed {
		return ErrClosed
	}
	tx := ch.tx
	ch.tx = &txState{}
	for _, a := range tx.acks {
		for _, r := range a.recs {
			i := ch.unacked.search(func(x *unackedRec) bool { return x.tag < r.tag })
			ch.unacked.insertAt(i, r)
		}
	}
	return nil
}

// Flow handles channel.flow. RabbitMQ does not implement active=false
// (flow control towards consumers is done with prefetch instead).
func (ch *Channel) Flow(active bool) error {
	if !active {
		return newError(CodeNotImplemented, "active=false")
	}
	return nil
}
