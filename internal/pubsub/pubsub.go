// Package pubsub routes published messages to subscribers: exact channels,
// glob patterns (Redis's rules, via glob) and shard channels. It stores
// nothing for latecomers, as Redis's Pub/Sub. Subscribers receive messages
// through Deliver, which must not block: it queues the message for the
// subscriber (bounded by the subscriber's own limits) and returns; a
// publisher's Batch then flushes each subscriber once per batch of
// publishes. It imports glob and the standard library.
package pubsub

import (
	"sort"
	"sync"

	"ferry/internal/glob"
)

// Kind tells a subscriber how a message reached it.
type Kind uint8

// Message kinds.
const (
	KindMessage  Kind = iota // matched an exact channel subscription
	KindPMessage             // matched a pattern subscription
	KindSMessage             // matched a shard channel subscription
)

// Subscriber receives messages. Deliver and Flush are called from
// publishers' goroutines, possibly concurrently, and must not block or call
// back into the Hub. Messages of one publish call are delivered to
// subscribers in turn; one publisher's messages reach a subscriber in
// publish order.
type Subscriber interface {
	// Deliver queues m for the subscriber. It reports true when the
	// subscriber wants Flush once the publisher's batch ends: queuing is
	// cheap, waking a writer is not, so a publisher running a pipeline of
	// PUBLISH commands wakes each subscriber once rather than per message
	// (as Redis writes each client once per event-loop turn).
	Deliver(m *Message) (flush bool)
	// Flush makes what Deliver queued go out.
	Flush()
}

// Message is one message as a subscriber receives it. It is only valid
// during Deliver.
type Message struct {
	Kind                      Kind
	Pattern, Channel, Payload []byte
	// Batch is the publisher's batch the delivery belongs to.
	Batch *Batch
	// Encoded is scratch space the subscribers of this message share, empty
	// (zero length) for each new message: a front end encodes the message
	// there once per wire format, indexed as it chooses, and copies the
	// bytes to each subscriber instead of encoding per subscriber.
	Encoded [2][]byte
}

// reset prepares m for a new message, keeping the encoding buffers.
func (m *Message) reset(kind Kind, pattern, channel, payload []byte) {
	m.Kind, m.Pattern, m.Channel, m.Payload = kind, pattern, channel, payload
	m.Encoded[0], m.Encoded[1] = m.Encoded[0][:0], m.Encoded[1][:0]
}

// Batch is a publisher's pending work: the subscribers to Flush when its
// batch of commands ends, and a reusable Message. A Batch belongs to one
// goroutine at a time; the zero value is ready to use.
type Batch struct {
	msg     Message
	pending []Subscriber
}

// keepEncoded bounds the encoding buffers a Batch keeps between messages.
const keepEncoded = 64 << 10

// Flush flushes the subscribers that asked for it since the last Flush.
func (b *Batch) Flush() {
	for i, s := range b.pending {
		s.Flush()
		b.pending[i] = nil
	}
	b.pending = b.pending[:0]
	for i, e := range b.msg.Encoded {
		if cap(e) > keepEncoded {
			b.msg.Encoded[i] = nil
		}
	}
	b.msg.Pattern, b.msg.Channel, b.msg.Payload = nil, nil, nil
}

// Pending reports whether Flush has work to do.
func (b *Batch) Pending() bool { return len(b.pending) > 0 }

func (b *Batch) deliver(s Subscriber) {
	if s.Deliver(&b.msg) {
		b.pending = append(b.pending, s)
	}
}

// batches serve publishes without a batch of their own (keyspace
// notifications, scripts): they flush at the end of the publish.
var batches = sync.Pool{New: func() any { b := &Batch{}; b.msg.Batch = b; return b }}

// Hub is the set of subscriptions. Safe for concurrent use.
type Hub struct {
	mu       sync.RWMutex
	channels map[string]map[Subscriber]struct{}
	shard    map[string]map[Subscriber]struct{}
	patterns map[string]*pattern
}

type pattern struct {
	glob []byte
	subs map[Subscriber]struct{}
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{
		channels: map[string]map[Subscriber]struct{}{},
		shard:    map[string]map[Subscriber]struct{}{},
		patterns: map[string]*pattern{},
	}
}

func add(m map[string]map[Subscriber]struct{}, name string, s Subscriber) bool {
	set := m[name]
	if set == nil {
		set = map[Subscriber]struct{}{}
		m[name] = set
	}
	if _, dup := set[s]; dup {
		return false
	}
	set[s] = struct{}{}
	return true
}

func remove(m map[string]map[Subscriber]struct{}, name string, s Subscriber) bool {
	set := m[name]
	if _, ok := set[s]; !ok {
		return false
	}
	delete(set, s)
	if len(set) == 0 {
		delete(m, name)
	}
	return true
}

// Subscribe adds s to channel; it reports false if s was already there.
func (h *Hub) Subscribe(s Subscriber, channel string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return add(h.channels, channel, s)
}

// Unsubscribe removes s from channel; it reports whether s was there.
func (h *Hub) Unsubscribe(s Subscriber, channel string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return remove(h.channels, channel, s)
}

// SSubscribe adds s to a shard channel.
func (h *Hub) SSubscribe(s Subscriber, channel string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return add(h.shard, channel, s)
}

// SUnsubscribe removes s from a shard channel.
func (h *Hub) SUnsubscribe(s Subscriber, channel string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return remove(h.shard, channel, s)
}

// PSubscribe adds s to a pattern.
func (h *Hub) PSubscribe(s Subscriber, pat string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.patterns[pat]
	if p == nil {
		p = &pattern{glob: []byte(pat), subs: map[Subscriber]struct{}{}}
		h.patterns[pat] = p
	}
	if _, dup := p.subs[s]; dup {
		return false
	}
	p.subs[s] = struct{}{}
	return true
}

// PUnsubscribe removes s from a pattern.
func (h *Hub) PUnsubscribe(s Subscriber, pat string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.patterns[pat]
	if p == nil {
		return false
	}
	if _, ok := p.subs[s]; !ok {
		return false
	}
	delete(p.subs, s)
	if len(p.subs) == 0 {
		delete(h.patterns, pat)
	}
	return true
}

// Publish delivers message to the channel's subscribers and to every
// pattern subscriber whose pattern matches (a client subscribed both ways
// gets it twice, as in Redis). It returns the number of deliveries. With a
// batch, the subscribers that asked to be flushed are left in it for the
// caller's Flush; with nil they are flushed before Publish returns.
func (h *Hub) Publish(b *Batch, channel, message []byte) int {
	own := b == nil
	if own {
		b = batches.Get().(*Batch)
	} else {
		b.msg.Batch = b
	}
	m := &b.msg
	h.mu.RLock()
	n := 0
	if subs := h.channels[string(channel)]; len(subs) > 0 {
		m.reset(KindMessage, nil, channel, message)
		for s := range subs {
			b.deliver(s)
			n++
		}
	}
	for _, p := range h.patterns {
		if !glob.Match(p.glob, channel) {
			continue
		}
		m.reset(KindPMessage, p.glob, channel, message)
		for s := range p.subs {
			b.deliver(s)
			n++
		}
	}
	h.mu.RUnlock()
	if own {
		b.Flush()
		batches.Put(b)
	}
	return n
}

// SPublish delivers message to a shard channel's subscribers; b is as for
// Publish.
func (h *Hub) SPublish(b *Batch, channel, message []byte) int {
	own := b == nil
	if own {
		b = batches.Get().(*Batch)
	} else {
		b.msg.Batch = b
	}
	h.mu.RLock()
	n := 0
	if subs := h.shard[string(channel)]; len(subs) > 0 {
		b.msg.reset(KindSMessage, nil, channel, message)
		for s := range subs {
			b.deliver(s)
			n++
		}
	}
	h.mu.RUnlock()
	if own {
		b.Flush()
		batches.Put(b)
	}
	return n
}

// HasSubscribers reports quickly whether anyone could receive a message
// (keyspace notifications skip their work when no one listens).
func (h *Hub) HasSubscribers() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.channels) > 0 || len(h.patterns) > 0
}

// Channels lists the channels with subscribers matching a pattern (all if
// pattern is nil), sorted.
func (h *Hub) Channels(pat []byte, shard bool) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m := h.channels
	if shard {
		m = h.shard
	}
	var out []string
	for name := range m {
		if pat == nil || glob.Match(pat, []byte(name)) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// NumSub returns the subscriber count of a channel.
func (h *Hub) NumSub(channel string, shard bool) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if shard {
		return len(h.shard[channel])
	}
	return len(h.channels[channel])
}

// NumPat returns the number of distinct patterns with subscribers: Redis
// 7.0 counts a pattern once however many clients subscribe to it (PUBSUB
// NUMPAT and INFO's pubsub_patterns are the size of its pattern dict).
func (h *Hub) NumPat() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.patterns)
}

// Counts returns the numbers of channels, patterns and shard channels with
// subscribers (INFO's pubsub_channels, pubsub_patterns,
// pubsubshard_channels).
func (h *Hub) Counts() (channels, patterns, shard int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.channels), len(h.patterns), len(h.shard)
}
