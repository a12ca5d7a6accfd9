package broker

import (
	"slices"
)

// This file holds the read accessors and the one user update the admin
// HTTP API needs beyond admin.go: password hashes (GET/PUT /api/users with
// password_hash, as RabbitMQ's management API and definitions carry them),
// the memory watermark, and the channel listing (/api/channels).

// UserPasswordHash returns a user's password hash in RabbitMQ's
// definitions form (base64 of salt ++ SHA-256(salt ++ password); "" when
// the user has no password) and whether the user exists.
func (b *Broker) UserPasswordHash(name string) (string, bool) {
	b.mu.RLock()
	u := b.users[name]
	b.mu.RUnlock()
	if u == nil {
		return "", false
	}
	return u.PasswordHash(), true
}

// SetPasswordHash replaces a user's password with a RabbitMQ-style hash
// ("" clears it: no password login).
func (b *Broker) SetPasswordHash(name, passwordHash string) error {
	hash, err := decodeHash(passwordHash)
	if err != nil {
		return err
	}
	return b.updateUser(name, func(u *User) { u.hash = hash })
}

// MemoryHighWatermark returns the configured memory high watermark in
// bytes (0: no alarm).
func (b *Broker) MemoryHighWatermark() int64 { return b.cfg.MemoryHighWatermark }

// ChannelInfo describes an open channel for listings (rabbitmqctl
// list_channels, /api/channels). The broker does not know the channel's
// number on the wire, so listings have none.
type ChannelInfo struct {
	ConnectionID   uint64
	Connection     string // the connection's ConnInfo.Name
	User, VHost    string
	Consumers      int
	Unacked        int
	Prefetch       uint16 // per-consumer prefetch for new consumers
	GlobalPrefetch uint32
	Transactional  bool
	Published      uint64
	Delivered      uint64
	Acked          uint64
}

// Channels lists the open channels, grouped by connection in connection
// order (channels of one connection in no particular order).
func (b *Broker) Channels() []ChannelInfo {
	b.mu.RLock()
	conns := make([]*Conn, 0, len(b.conns))
	for _, c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.RUnlock()
	slices.SortFunc(conns, func(x, y *Conn) int {
		switch {
		case x.id < y.id:
			return -1
		case x.id > y.id:
			return 1
		}
		return 0
	})
	var out []ChannelInfo
	for _, c := range conns {
		c.mu.Lock()
		chans := make([]*Channel, 0, len(c.channels))
		for ch := range c.channels {
			chans = append(chans, ch)
		}
		c.mu.Unlock()
		for _, ch := range chans {
			ch.mu.Lock()
			info := ChannelInfo{
				ConnectionID: c.id, Connection: c.info.Name, User: c.user.Name, VHost: c.vh.name,
				Consumers: len(ch.consumers), Unacked: ch.unacked.len() - ch.tombstones,
				Prefetch: ch.prefetch, GlobalPrefetch: ch.globalPrefetch, Transactional: ch.tx != nil,
			}
			ch.mu.Unlock()
			info.Published = ch.stats.published.Load()
			info.Delivered = ch.stats.delivered.Load()
			info.Acked = ch.stats.acked.Load()
			out = append(out, info)
		}
	}
	return out
}
