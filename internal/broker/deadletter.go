package broker

import (
	"time"
)

// Dead-letter reasons, as they appear in x-death.
const (
	reasonRejected = "rejected"
	reasonExpired  = "expired"
	reasonMaxlen   = "maxlen"
)

// deadLetters collects messages to dead-letter; they are routed once the
// queue lock that produced them is released.
type deadLetters struct {
	items []dlItem
}

type dlItem struct {
	q      *Queue
	m      *Message
	reason string
}

func (dl *deadLetters) add(q *Queue, e entry, reason string) {
	dl.items = append(dl.items, dlItem{q: q, m: e.m, reason: reason})
}

// deadLetter republishes collected dead letters to their queues' dead-letter
// exchanges (rabbit_dead_letter:publish): x-death updated, expiration
// removed, routed with x-dead-letter-routing-key or the original keys, with
// cycles that involve no rejection dropped. Dead letters it causes in turn
// are handled in the same loop. Dead-lettering has no publisher confirms
// (at most once, as classic queues in RabbitMQ 3.10).
func (b *Broker) deadLetter(dl *deadLetters) {
	if len(dl.items) == 0 {
		return
	}
	var sc routeScratch
	for i := 0; i < len(dl.items); i++ {
		it := dl.items[i]
		b.deadLetterOne(it, &sc, dl)
		if it.q.storeID != 0 && it.m.storeID != 0 && b.store != nil {
			b.store.Remove(it.q.storeID, []uint64{it.m.storeID})
		}
		dl.items[i] = dlItem{}
	}
	dl.items = dl.items[:0]
}

func (b *Broker) deadLetterOne(it dlItem, sc *routeScratch, dl *deadLetters) {
	q, vh := it.q, it.q.vh
	vh.mu.RLock()
	x := vh.exchanges[q.cfg.dlx]
	if x == nil {
		vh.mu.RUnlock()
		return // RabbitMQ drops dead letters whose exchange is missing
	}
	now := b.now()
	m := b.makeDeadLetter(it, now)
	vh.routeLocked(x, m.RoutingKey, m.cc, m.Headers, sc)
	vh.mu.RUnlock()
	qs := sc.qs
	if it.reason != reasonRejected {
		qs = dropCycles(qs, m.Headers)
	}
	if len(qs) == 0 {
		clear(sc.qs)
		return
	}
	b.deadLettered.Add(1)
	if m.Persistent() && b.store != nil {
		var qids []uint64
		for _, t := range qs {
			if t.storeID != 0 {
				qids = append(qids, t.storeID)
			}
		}
		if len(qids) > 0 {
			if id, err := b.store.Add(qids, encodeHead(nil, m), m.Body); err == nil {
				m.storeID = id
			}
		}
	}
	for _, t := range qs {
		if !t.publish(m, now, dl) && m.storeID != 0 && t.storeID != 0 {
			b.store.Remove(t.storeID, []uint64{m.storeID})
		}
	}
	clear(sc.qs)
}

// makeDeadLetter builds the dead-lettered copy of a message
// (rabbit_dead_letter:make_msg for RabbitMQ 3.10): the x-death entry for
// (queue, reason) is added at the front with count 1, or moved to the
// front with its count incremented; the first death also sets the
// x-first-death-* headers; the expiration property is dropped (kept as
// original-expiration); with x-dead-letter-routing-key the CC header is
// dropped too.
func (b *Broker) makeDeadLetter(it dlItem, now int64) *Message {
	old, q := it.m, it.q
	headers := make(Table, len(old.Headers)+4)
	for k, v := range old.Headers {
		headers[k] = v
	}
	rks := make([]any, 0, 1+len(old.cc))
	rks = append(rks, old.RoutingKey)
	for _, k := range old.cc {
		rks = append(rks, k)
	}
	info := Table{
		"count":        int64(1),
		"reason":       it.reason,
		"queue":        q.name,
		"time":         time.Unix(now/1000, 0),
		"exchange":     old.Exchange,
		"routing-keys": rks,
	}
	if old.HasExpiration {
		info["original-expiration"] = old.Expiration
	}
	switch deaths := headers["x-death"].(type) {
	case nil:
		if _, present := headers["x-death"]; !present {
			headers["x-first-death-reason"] = it.reason
			headers["x-first-death-queue"] = q.name
			headers["x-first-death-exchange"] = old.Exchange
		}
		headers["x-death"] = []any{info}
	case []any:
		out := make([]any, 0, len(deaths)+1)
		var match Table
		for _, d := range deaths {
			t, ok := d.(map[string]any)
			if ok && match == nil && t["queue"] == q.name && t["reason"] == it.reason {
				match = t
				continue
			}
			out = append(out, d)
		}
		if match != nil {
			inc := make(Table, len(match))
			for k, v := range match {
				inc[k] = v
			}
			n, _ := toInt(match["count"])
			inc["count"] = n + 1
			info = inc
		}
		headers["x-death"] = append([]any{info}, out...)
	default:
		// Not an array (a client rewrote it): reset, as RabbitMQ does.
		headers["x-death"] = []any{info}
	}
	m := &Message{
		Exchange:   q.cfg.dlx,
		RoutingKey: old.RoutingKey,
		Body:       old.Body,
		Properties: old.Properties,
		ttl:        -1,
		published:  now,
		cc:         old.cc,
	}
	m.HasExpiration, m.Expiration = false, ""
	if q.cfg.hasDLRK {
		m.RoutingKey = q.cfg.dlrk
		m.cc = nil
		delete(headers, "CC")
	}
	m.Headers = headers
	m.Props = old.Props
	if b.codec != nil {
		if props, err := b.codec.Rewrite(old.Props, headers, true); err == nil {
			m.Props = props
		} else {
			b.log.Warn("broker: cannot rewrite dead-lettered message properties", "err", err)
		}
	}
	m.computeSize()
	return m
}

// dropCycles removes target queues that would close a dead-letter cycle
// made only of automatic deaths (rabbit_dead_letter:is_cycle): walking
// x-death from the most recent entry, the target's own entry is reached
// without passing a rejection.
func dropCycles(qs []*Queue, headers Table) []*Queue {
	deaths, _ := headers["x-death"].([]any)
	if len(deaths) == 0 {
		return qs
	}
	out := qs[:0]
	for _, t := range qs {
		if !isCycle(t.name, deaths) {
			out = append(out, t)
		}
	}
	clear(qs[len(out):])
	return out
}

func isCycle(queue string, deaths []any) bool {
	for _, d := range deaths {
		t, ok := d.(map[string]any)
		if !ok {
			return false // something a client put there: not automatic
		}
		if t["reason"] == reasonRejected {
			return false
		}
		if t["queue"] == queue {
			return true
		}
	}
	return false
}
