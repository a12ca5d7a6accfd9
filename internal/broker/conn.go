package broker

import (
	"sync"
)

// ConnInfo describes a client connection for listings and lets the broker
// close it.
type ConnInfo struct {
	// Name identifies the connection in listings ("127.0.0.1:5555 ->
	// 127.0.0.1:5672").
	Name string
	// ForceClose, when set, is called (from any goroutine, with no broker
	// lock held) when the broker must close the connection: its vhost or
	// user was deleted. The front end sends connection.close with the
	// error and then calls Conn.Close.
	ForceClose func(err *Error)
}

// Conn is an AMQP connection as the broker sees it: an authenticated user
// in a vhost, the owner of exclusive queues and of channels.
type Conn struct {
	b    *Broker
	vh   *VHost
	user *User
	id   uint64
	info ConnInfo

	mu        sync.Mutex
	channels  map[*Channel]struct{}
	exclusive map[*Queue]struct{}
	closed    bool
}

// Connect opens a connection for an authenticated user to vhost
// (connection.open), checking the user's access to it: "NOT_ALLOWED -
// vhost x not found" or "NOT_ALLOWED - access to vhost 'x' refused for
// user 'u'".
func (b *Broker) Connect(user *User, vhost string, info ConnInfo) (*Conn, error) {
	if err := b.checkVHostAccess(user.Name, vhost); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	vh := b.vhosts[vhost]
	if vh == nil {
		return nil, newError(CodeNotAllowed, "vhost %s not found", vhost)
	}
	c := &Conn{b: b, vh: vh, user: user, id: b.connSeq.Add(1), info: info,
		channels: map[*Channel]struct{}{}, exclusive: map[*Queue]struct{}{}}
	b.conns[c.id] = c
	return c, nil
}

// User returns the connection's user.
func (c *Conn) User() *User { return c.user }

// VHost returns the connection's vhost name.
func (c *Conn) VHost() string { return c.vh.name }

// OpenChannel opens a channel (channel.open) whose output goes to sink.
func (c *Conn) OpenChannel(sink Sink) (*Channel, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	ch := newChannel(c, sink)
	c.channels[ch] = struct{}{}
	return ch, nil
}

func (c *Conn) forgetChannel(ch *Channel) {
	c.mu.Lock()
	delete(c.channels, ch)
	c.mu.Unlock()
}

// addExclusive records an exclusive queue; it reports false when the
// connection is already closed (the queue must then be deleted).
func (c *Conn) addExclusive(q *Queue) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.exclusive[q] = struct{}{}
	return true
}

// Close closes every channel of the connection and deletes its exclusive
// queues. It is idempotent and may be called from any goroutine.
func (c *Conn) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	chans := make([]*Channel, 0, len(c.channels))
	for ch := range c.channels {
		chans = append(chans, ch)
	}
	qs := make([]*Queue, 0, len(c.exclusive))
	for q := range c.exclusive {
		qs = append(qs, q)
	}
	c.mu.Unlock()
	for _, ch := range chans {
		ch.Close()
	}
	for _, q := range qs {
		q.vh.deleteQueue(q)
	}
	c.b.mu.Lock()
	delete(c.b.conns, c.id)
	c.b.mu.Unlock()
}

// ConnectionInfo describes a connection for listings.
type ConnectionInfo struct {
	ID       uint64
	Name     string
	User     string
	VHost    string
	Channels int
}

// Connections lists the open connections.
func (b *Broker) Connections() []ConnectionInfo {
	b.mu.RLock()
	conns := make([]*Conn, 0, len(b.conns))
	for _, c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.RUnlock()
	out := make([]ConnectionInfo, 0, len(conns))
	for _, c := range conns {
		c.mu.Lock()
		out = append(out, ConnectionInfo{ID: c.id, Name: c.info.Name, User: c.user.Name, VHost: c.vh.name, Channels: len(c.channels)})
		c.mu.Unlock()
	}
	return out
}

// forceClose asks the front end to close connections matching pred.
func (b *Broker) forceClose(pred func(*Conn) bool, err *Error) {
	b.mu.RLock()
	var victims []*Conn
	for _, c := range b.conns {
		if pred(c) {
			victims = append(victims, c)
		}
	}
	b.mu.RUnlock()
	for _, c := range victims {
		if c.info.ForceClose != nil {
			c.info.ForceClose(err)
		} else {
			c.Close()
		}
	}
}
