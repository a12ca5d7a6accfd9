package broker

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
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

// PurgeQueue drops a queue's ready messages on behalf of an administrator
// (rabbitmqctl purge_queue, DELETE /api/queues/vhost/name/contents) and
// returns how many there were. A missing vhost or queue is a NOT_FOUND
// *Error.
func (b *Broker) PurgeQueue(vhost, name string) (uint32, error) {
	q, err := b.lookupQueue(vhost, name)
	if err != nil {
		return 0, err
	}
	return q.purge(), nil
}

// DeleteQueue deletes a queue on behalf of an administrator (rabbitmqctl
// delete_queue, DELETE /api/queues/vhost/name), exclusive ones included,
// with queue.delete's if-unused and if-empty conditions, and returns the
// number of ready messages it held. Its consumers are cancelled.
func (b *Broker) DeleteQueue(vhost, name string, ifUnused, ifEmpty bool) (uint32, error) {
	vh := b.vhost(vhost)
	if vh == nil {
		return 0, newError(CodeNotFound, "no vhost '%s'", vhost)
	}
	vh.mu.Lock()
	q := vh.queues[name]
	if q == nil {
		vh.mu.Unlock()
		return 0, newError(CodeNotFound, "no %s", rs("queue", name, vhost))
	}
	n, durable, err := vh.deleteQueueLocked(q, name, ifUnused, ifEmpty)
	if err == nil && durable {
		err = b.saveDefinitions()
	}
	return n, err
}

// deleteQueueLocked deletes q (named name) with queue.delete's if-unused
// and if-empty conditions: unlinks it, destroys it (cancelling its
// consumers) and takes it out of its owner's exclusive set. vh.mu is held
// and released on return; durable reports that the stored definitions
// changed.
func (vh *VHost) deleteQueueLocked(q *Queue, name string, ifUnused, ifEmpty bool) (n uint32, durable bool, err error) {
	q.mu.Lock()
	inUse, notEmpty := len(q.consumers) > 0, q.ready > 0
	q.mu.Unlock()
	if ifUnused && inUse {
		vh.mu.Unlock()
		return 0, false, newError(CodePreconditionFailed, "%s in use", rs("queue", name, vh.name))
	}
	if ifEmpty && notEmpty {
		vh.mu.Unlock()
		return 0, false, newError(CodePreconditionFailed, "%s not empty", rs("queue", name, vh.name))
	}
	durable = vh.unlinkQueueLocked(q)
	n = q.destroy()
	vh.mu.Unlock()
	if q.owner != nil {
		q.owner.mu.Lock()
		delete(q.owner.exclusive, q)
		q.owner.mu.Unlock()
	}
	return n, durable, nil
}

// CloseConnection closes an open connection by its ConnectionInfo.ID as
// rabbitmqctl close_connection does (connection.close with
// CONNECTION_FORCED and reason). It reports whether the connection
// existed.
func (b *Broker) CloseConnection(id uint64, reason string) bool {
	found := false
	b.forceClose(func(c *Conn) bool {
		if c.id == id {
			found = true
			return true
		}
		return false
	}, newError(CodeConnectionForced, "%s", reason))
	return found
}

func (b *Broker) lookupQueue(vhost, name string) (*Queue, error) {
	vh := b.vhost(vhost)
	if vh == nil {
		return nil, newError(CodeNotFound, "no vhost '%s'", vhost)
	}
	vh.mu.RLock()
	q := vh.queues[name]
	vh.mu.RUnlock()
	if q == nil {
		return nil, newError(CodeNotFound, "no %s", rs("queue", name, vhost))
	}
	return q, nil
}

// ConsumerInfo describes a consumer for listings (rabbitmqctl
// list_consumers, /api/consumers).
type ConsumerInfo struct {
	VHost, Queue, Tag string
	ConnectionID      uint64
	Connection        string // the connection's ConnInfo.Name
	AckRequired       bool
	Exclusive         bool
	Prefetch          uint32
	Priority          int64
	// Active is false for the waiting consumers of a single-active-
	// consumer queue.
	Active    bool
	Arguments Table
}

// Consumers lists a vhost's consumers ("" for all vhosts), by queue in
// name order and then in registration order.
func (b *Broker) Consumers(vhost string) []ConsumerInfo {
	var out []ConsumerInfo
	names := []string{vhost}
	if vhost == "" {
		names = b.VHosts()
	}
	for _, vn := range names {
		vh := b.vhost(vn)
		if vh == nil {
			continue
		}
		vh.mu.RLock()
		qs := make([]*Queue, 0, len(vh.queues))
		for _, q := range vh.queues {
			qs = append(qs, q)
		}
		vh.mu.RUnlock()
		slices.SortFunc(qs, func(x, y *Queue) int { return strings.Compare(x.name, y.name) })
		for _, q := range qs {
			q.mu.Lock()
			for i, c := range q.consumers {
				out = append(out, ConsumerInfo{
					VHost: vn, Queue: q.name, Tag: c.tag, ConnectionID: c.ch.conn.id, Connection: c.ch.conn.info.Name,
					AckRequired: !c.noAck, Exclusive: c.exclusive, Prefetch: c.prefetch, Priority: c.priority,
					Active: !q.cfg.sac || i == 0, Arguments: c.args,
				})
			}
			q.mu.Unlock()
		}
	}
	return out
}

// Definitions is the durable topology in the shape of RabbitMQ's
// definitions export (GET /api/definitions, rabbitmqctl
// export_definitions): users with password hashes, vhosts, permissions,
// and the durable exchanges, queues and bindings, with arguments as plain
// values. The admin front end adds the version fields.
type Definitions struct {
	Users       []DefUser       `json:"users"`
	VHosts      []DefVHost      `json:"vhosts"`
	Permissions []DefPermission `json:"permissions"`
	Exchanges   []DefExchange   `json:"exchanges"`
	Queues      []DefQueue      `json:"queues"`
	Bindings    []DefBinding    `json:"bindings"`
}

// DefUser is a user in Definitions.
type DefUser struct {
	Name             string            `json:"name"`
	PasswordHash     string            `json:"password_hash"`
	HashingAlgorithm string            `json:"hashing_algorithm"`
	Tags             []string          `json:"tags"`
	Limits           map[string]string `json:"limits"`
}

// DefVHost is a vhost in Definitions.
type DefVHost struct {
	Name string `json:"name"`
}

// DefPermission is a permission in Definitions.
type DefPermission struct {
	User      string `json:"user"`
	VHost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

// DefExchange is a durable exchange in Definitions.
type DefExchange struct {
	Name       string `json:"name"`
	VHost      string `json:"vhost"`
	Type       string `json:"type"`
	Durable    bool   `json:"durable"`
	AutoDelete bool   `json:"auto_delete"`
	Internal   bool   `json:"internal"`
	Arguments  Table  `json:"arguments"`
}

// DefQueue is a durable queue in Definitions.
type DefQueue struct {
	Name       string `json:"name"`
	VHost      string `json:"vhost"`
	Durable    bool   `json:"durable"`
	AutoDelete bool   `json:"auto_delete"`
	Arguments  Table  `json:"arguments"`
}

// DefBinding is a durable binding in Definitions.
type DefBinding struct {
	Source          string `json:"source"`
	VHost           string `json:"vhost"`
	Destination     string `json:"destination"`
	DestinationType string `json:"destination_type"`
	RoutingKey      string `json:"routing_key"`
	Arguments       Table  `json:"arguments"`
}

// ExportDefinitions returns the durable topology as RabbitMQ exports it.
func (b *Broker) ExportDefinitions() Definitions {
	d := b.snapshotDefinitions()
	// The snapshot holds typed values ready for JSON; they are read back
	// the way definitions.json is loaded, then written plain.
	plain := func(m map[string]any) Table {
		data, err := json.Marshal(m)
		if err != nil {
			return Table{}
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var typed map[string]any
		if dec.Decode(&typed) != nil {
			return Table{}
		}
		t, err := decodeTable(typed)
		if err != nil || t == nil {
			return Table{}
		}
		return t
	}
	out := Definitions{Users: []DefUser{}, VHosts: []DefVHost{}, Permissions: []DefPermission{},
		Exchanges: []DefExchange{}, Queues: []DefQueue{}, Bindings: []DefBinding{}}
	for _, u := range d.Users {
		tags := u.Tags
		if tags == nil {
			tags = []string{}
		}
		out.Users = append(out.Users, DefUser{u.Name, u.PasswordHash, u.HashingAlgorithm, tags, map[string]string{}})
	}
	for _, v := range d.VHosts {
		out.VHosts = append(out.VHosts, DefVHost{v.Name})
	}
	for _, p := range d.Permissions {
		out.Permissions = append(out.Permissions, DefPermission{p.User, p.VHost, p.Configure, p.Write, p.Read})
	}
	for _, x := range d.Exchanges {
		out.Exchanges = append(out.Exchanges, DefExchange{x.Name, x.VHost, x.Type, x.Durable, x.AutoDelete, x.Internal, plain(x.Arguments)})
	}
	for _, q := range d.Queues {
		out.Queues = append(out.Queues, DefQueue{q.Name, q.VHost, q.Durable, q.AutoDelete, plain(q.Arguments)})
	}
	for _, bd := range d.Bindings {
		out.Bindings = append(out.Bindings, DefBinding{bd.Source, bd.VHost, bd.Destination, bd.DestinationType, bd.RoutingKey, plain(bd.Arguments)})
	}
	return out
}
