package broker

import (
	"unsafe"

	"ferry/internal/persist/pagestore"
)

// Paging, as RabbitMQ's classic queues page under memory pressure
// (vm_memory_high_watermark_paging_ratio): once the broker's message
// memory passes Config.MemoryPagingThreshold, a queue that is published to
// moves the properties and bodies of its ready messages beyond the first
// pageWindow of each priority level to the page store, keeping a small
// stub in the queue. When a paged message nears the head it is read back
// together with the paged messages after it (one read for a run that is
// adjacent on disk), so delivery does not wait for a read per message.
//
// A message shared by several queues (fanout) is not paged: its body is
// read by all of them. A paged message is always a stub owned by exactly
// one queue entry (refs == 1), so its fields may change under that
// queue's lock; the original message is never modified (the publisher may
// still be routing it), the queue just stops referencing it.
const (
	// pageWindow is how many ready messages at the front of each priority
	// level stay in memory while paging.
	pageWindow = 256
	// pageInBatch is how many paged messages are read back at once.
	pageInBatch = 256
	// pageOutBudget bounds the messages paged out per publish, so the
	// first publish over the threshold does not stall on a long queue.
	pageOutBudget = 512
)

// paged reports whether m's properties and body are on disk.
func (m *Message) paged() bool { return m.pg.Valid() }

// bodyLen returns the body length whether or not m is paged.
func (m *Message) bodyLen() int {
	if m.pg.Valid() {
		return m.pg.BodyLen(int(m.pgProps))
	}
	return len(m.Body)
}

// stubOverhead is what a paged message costs in memory: its stub Message
// and queue entry.
const stubOverhead = int64(unsafe.Sizeof(Message{}) + unsafe.Sizeof(entry{}))

func (m *Message) stubSize() int64 {
	return int64(len(m.Exchange)+len(m.RoutingKey)) + stubOverhead
}

// overPaging reports whether message memory is above the paging threshold.
func (b *Broker) overPaging() bool {
	return b.pages != nil && b.mem.Load() > b.cfg.MemoryPagingThreshold
}

// trackPushLocked keeps the paging boundary of level li after a loaded
// entry was inserted at index i: entries at index >= pagedFrom are paged
// (or cannot be).
func (q *Queue) trackInsertLocked(li, i int, paged bool) {
	if q.pagedFrom == nil {
		return
	}
	if i < q.pagedFrom[li] {
		q.pagedFrom[li]++
	} else if !paged {
		q.pagedFrom[li] = i + 1
	}
}

// pageNewLocked pages a message about to be appended to a level already
// holding the window, before it is pushed: the common case under memory
// pressure, and it keeps the paged region contiguous at the tail.
func (q *Queue) pageNewLocked(e *entry) {
	if q.pagedFrom == nil || q.levels[q.level(e.m)].len() < pageWindow || !q.vh.b.overPaging() || q.pageErr {
		return
	}
	q.pageOutEntryLocked(e)
}

func (q *Queue) trackPopLocked(li int) {
	if q.pagedFrom != nil && q.pagedFrom[li] > 0 {
		q.pagedFrom[li]--
	}
}

// pageOutLocked pages out ready messages, lowest priority and newest
// first, while memory is over the paging threshold.
func (q *Queue) pageOutLocked() {
	b := q.vh.b
	if q.pagedFrom == nil || !b.overPaging() {
		return
	}
	budget := pageOutBudget
	for li := range q.levels {
		d := &q.levels[li]
		for q.pagedFrom[li] > pageWindow && budget > 0 {
			i := q.pagedFrom[li] - 1
			e := d.at(i)
			if !e.m.paged() {
				if !b.overPaging() {
					return
				}
				budget--
				if !q.pageOutEntryLocked(e) && q.pageErr {
					return
				}
			}
			q.pagedFrom[li] = i
		}
	}
}

// pageOutEntryLocked moves e's message to the page store, replacing it in
// e with a stub. It reports false when the message stays in memory.
func (q *Queue) pageOutEntryLocked(e *entry) bool {
	b := q.vh.b
	m := e.m
	if m.refs.Load() != 1 {
		return false // shared with other queues (or being routed to more)
	}
	ref, err := b.pages.Put(m.Props, m.Body)
	if err != nil {
		if !q.pageErr {
			q.pageErr = true
			b.log.Warn("broker: cannot page messages to disk; keeping them in memory", "queue", q.name, "err", err)
		}
		return false
	}
	// Take this queue's reference off the original: if the publisher is
	// still routing it to other queues, their hold counts it afresh.
	if !m.refs.CompareAndSwap(1, 0) {
		b.pages.Free(ref)
		return false
	}
	s := &Message{
		Exchange: m.Exchange, RoutingKey: m.RoutingKey, Properties: m.Properties,
		storeID: m.storeID, ttl: m.ttl, published: m.published, cc: m.cc, bcc: m.bcc,
		pg: ref, pgProps: uint32(len(m.Props)),
	}
	if b.codec != nil && (m.Headers != nil || m.HasExpiration || m.HasUserID) {
		// Headers (a decoded map) and the strings are only needed again
		// when the message leaves the queue (dead-lettering): decode them
		// from the properties when it is read back. BCC keys only matter
		// for routing, which is over.
		s.Properties = Properties{DeliveryMode: m.DeliveryMode, Priority: m.Priority}
		s.cc, s.bcc, s.pgDecode = nil, nil, true
	}
	s.size = s.stubSize()
	s.refs.Store(1)
	b.memAdd(s.size - m.size)
	e.m = s
	q.pagedN++
	b.pagedOut.Add(1)
	return true
}

// loadHeadLocked makes sure the next message to leave the queue is in
// memory, reading it back with the paged messages that follow it in its
// level. A message that cannot be read back is dropped (logged).
func (q *Queue) loadHeadLocked() {
	if q.pagedN == 0 {
		return
	}
	li := -1
	for i := len(q.levels) - 1; i >= 0; i-- {
		if q.levels[i].len() > 0 {
			li = i
			break
		}
	}
	if li < 0 || !q.levels[li].at(0).m.paged() {
		return
	}
	d := &q.levels[li]
	b := q.vh.b
	refs := q.pgRefs[:0]
	idx := q.pgIdx[:0]
	n := min(d.len(), pageInBatch)
	for i := 0; i < n; i++ {
		if m := d.at(i).m; m.paged() {
			refs = append(refs, m.pg)
			idx = append(idx, i)
		}
	}
	props := make([][]byte, len(refs))
	bodies := make([][]byte, len(refs))
	err := b.pages.Read(refs, props, bodies)
	if err != nil {
		b.log.Error("broker: cannot read paged messages back; dropping them", "queue", q.name, "n", len(refs), "err", err)
	}
	var grow int64
	for k, i := range idx {
		m := d.at(i).m
		b.pages.Free(m.pg)
		m.pg = pagestore.Ref{}
		q.pagedN--
		if err != nil {
			m.Props, m.Body = nil, make([]byte, 0) // delivered empty rather than lost silently
			continue
		}
		m.Props, m.Body = props[k], bodies[k]
		if m.pgDecode {
			m.pgDecode = false
			if p, err := b.codec.Decode(m.Props); err == nil {
				m.Properties = p
				if p.Headers != nil {
					m.cc, _ = headerRoutes(p.Headers, "CC")
				}
			} else {
				b.log.Warn("broker: cannot decode paged message properties", "queue", q.name, "err", err)
			}
		}
		old := m.size
		m.computeSize()
		grow += m.size - old
	}
	b.pagedIn.Add(uint64(len(idx)))
	b.memAdd(grow)
	if last := idx[len(idx)-1]; last >= q.pagedFrom[li] {
		q.pagedFrom[li] = last + 1
	}
	clear(refs)
	q.pgRefs, q.pgIdx = refs[:0], idx[:0]
}

// freePagedLocked releases the disk record of a paged message leaving the
// broker.
func (q *Queue) freePaged(m *Message) {
	if m.paged() {
		q.vh.b.pages.Free(m.pg)
	}
}
