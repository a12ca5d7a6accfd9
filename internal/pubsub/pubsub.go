// Package pubsub routes published messages to subscribers: exact channels,
// glob patterns (Redis's rules, via glob) and shard channels. It stores
// nothing for latecomers, as Redis's Pub/Sub. Subscribers receive messages
// through Deliver, which must not block: it queues the message for the
// subscriber (bounded by the subscriber's own limits) and returns. It
// imports glob and the standard library.
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

// Subscriber receives messages. Deliver is called from publishers'
// goroutines, possibly concurrently, and must not block or call back into
// the Hub. Messages of one publish call are delivered to subscribers in
// turn; one publisher's messages reach a subscriber in publish order.
type Subscriber interface {
	Deliver(kind Kind, pattern, channel, message []byte)
}

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
// gets it twice, as in Redis). It returns the number of deliveries.
func (h *Hub) Publish(channel, message []byte) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for s := range h.channels[string(channel)] {
		s.Deliver(KindMessage, nil, channel, message)
		n++
	}
	for _, p := range h.patterns {
		if !glob.Match(p.glob, channel) {
			continue
		}
		for s := range p.subs {
			s.Deliver(KindPMessage, p.glob, channel, message)
			n++
		}
	}
	return n
}

// SPublish delivers message to a shard channel's subscribers.
func (h *Hub) SPublish(channel, message []byte) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for s := range h.shard[string(channel)] {
		s.Deliver(KindSMessage, nil, channel, message)
		n++
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
