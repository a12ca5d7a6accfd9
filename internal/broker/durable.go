package broker

import (
	"encoding/binary"
	"errors"
	"sync/atomic"

	"ferry/internal/persist/msgstore"
)

// Stored message head (the msgstore record's head; keep in sync with
// docs/dev/amqp-broker.md). The body is stored separately, after it.
//
//	+--------+--------+----------+---------+-----------------+
//	| ver u8 | flags  | priority | mode u8 | published i64LE |
//	+--------+--------+----------+---------+-----------------+
//	| uvarint len + exchange | uvarint len + routing key     |
//	| [uvarint len + expiration, when flags bit 0 is set]    |
//	| properties as received (the rest)                      |
//	+--------------------------------------------------------+
const headVersion = 1

func encodeHead(dst []byte, m *Message) []byte {
	var flags byte
	if m.HasExpiration {
		flags |= 1
	}
	dst = append(dst, headVersion, flags, m.Priority, m.DeliveryMode)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(m.published))
	dst = binary.AppendUvarint(dst, uint64(len(m.Exchange)))
	dst = append(dst, m.Exchange...)
	dst = binary.AppendUvarint(dst, uint64(len(m.RoutingKey)))
	dst = append(dst, m.RoutingKey...)
	if m.HasExpiration {
		dst = binary.AppendUvarint(dst, uint64(len(m.Expiration)))
		dst = append(dst, m.Expiration...)
	}
	return append(dst, m.Props...)
}

var errBadHead = errors.New("broker: bad stored message head")

func decodeHead(b []byte) (*Message, error) {
	if len(b) < 12 || b[0] != headVersion {
		return nil, errBadHead
	}
	m := &Message{}
	flags := b[1]
	m.Priority, m.DeliveryMode = b[2], b[3]
	m.published = int64(binary.LittleEndian.Uint64(b[4:]))
	p := b[12:]
	str := func() (string, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return "", false
		}
		s := string(p[k : k+int(n)])
		p = p[k+int(n):]
		return s, true
	}
	var ok bool
	if m.Exchange, ok = str(); !ok {
		return nil, errBadHead
	}
	if m.RoutingKey, ok = str(); !ok {
		return nil, errBadHead
	}
	if flags&1 != 0 {
		if m.Expiration, ok = str(); !ok {
			return nil, errBadHead
		}
		m.HasExpiration = true
	}
	m.Props = p
	return m, nil
}

// allocStoreID hands out msgstore queue ids; they are never reused, so a
// queue deleted and declared again cannot inherit old messages.
func (b *Broker) allocStoreID() uint64 {
	return atomic.AddUint64(&b.nextStoreID, 1) - 1
}

// recoverMessages puts recovered persistent messages back into their
// durable queues, in publish order and marked redelivered (Ferry does not
// record which were delivered before the restart). Messages of queues that
// no longer exist are removed from the store.
func (b *Broker) recoverMessages(rec *msgstore.Recovery) error {
	byID := map[uint64]*Queue{}
	for _, vh := range b.vhosts {
		for _, q := range vh.queues {
			if q.storeID != 0 {
				byID[q.storeID] = q
			}
		}
	}
	orphans := map[uint64][]uint64{}
	for _, r := range rec.Messages {
		m, err := decodeHead(r.Head)
		if err != nil {
			b.log.Warn("broker: dropping unreadable stored message", "id", r.ID, "err", err)
			for _, qid := range r.Queues {
				orphans[qid] = append(orphans[qid], r.ID)
			}
			continue
		}
		m.Body = r.Body
		m.storeID = r.ID
		m.ttl = -1
		if b.codec != nil {
			if p, err := b.codec.Decode(m.Props); err == nil {
				m.Properties = p
			} else {
				b.log.Warn("broker: cannot decode stored message properties", "id", r.ID, "err", err)
			}
		}
		if m.HasExpiration {
			if ttl, e := parseExpiration(m.Expiration); e == "" {
				m.ttl = ttl
			}
		}
		if m.Headers != nil {
			m.cc, _ = headerRoutes(m.Headers, "CC")
		}
		m.computeSize()
		for _, qid := range r.Queues {
			q := byID[qid]
			if q == nil {
				orphans[qid] = append(orphans[qid], r.ID)
				continue
			}
			q.hold(m)
			q.pushLocked(entry{m: m, seq: q.seq, exp: q.deadline(m, m.published), redelivered: true})
			q.seq++
			q.pageOutLocked()
		}
	}
	for qid, ids := range orphans {
		if err := b.store.Remove(qid, ids); err != nil {
			return err
		}
	}
	for _, q := range byID {
		q.mu.Lock()
		q.armTTLLocked()
		q.touchLocked()
		q.mu.Unlock()
	}
	return nil
}
