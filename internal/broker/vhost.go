package broker

import (
	"sync"
)

// VHost is a virtual host: a namespace of exchanges and queues.
type VHost struct {
	b    *Broker
	name string

	// mu guards the exchanges and queues maps, every exchange's binding
	// tables and every queue's binding set. Publishing routes under the
	// read lock; declarations, bindings and deletions take the write lock.
	mu        sync.RWMutex
	exchanges map[string]*Exchange
	queues    map[string]*Queue
	deleted   bool
}

// Name returns the vhost name.
func (vh *VHost) Name() string { return vh.name }

// predeclared are the exchanges every vhost has (rabbit_vhost's
// declare_exchanges): durable, never deletable.
var predeclared = []struct {
	name     string
	kind     exchangeKind
	internal bool
}{
	{"", kindDirect, false},
	{"amq.direct", kindDirect, false},
	{"amq.fanout", kindFanout, false},
	{"amq.topic", kindTopic, false},
	{"amq.headers", kindHeaders, false},
	{"amq.match", kindHeaders, false},
	{"amq.rabbitmq.trace", kindTopic, true},
}

// addVHost creates a vhost with the predeclared exchanges. The caller
// holds b.mu for writing (or owns b exclusively, during New).
func (b *Broker) addVHost(name string) (*VHost, error) {
	if b.vhosts[name] != nil {
		return nil, errf("vhost '%s' already exists", name)
	}
	vh := &VHost{b: b, name: name, exchanges: map[string]*Exchange{}, queues: map[string]*Queue{}}
	for _, p := range predeclared {
		vh.exchanges[p.name] = newExchange(vh, p.name, p.kind, true, false, p.internal, Table{})
	}
	b.vhosts[name] = vh
	return vh, nil
}

// addBindingLocked adds a binding unless an identical one exists, and
// reports whether it added one. The caller holds vh.mu for writing.
func (vh *VHost) addBindingLocked(src *Exchange, d dest, key string, args Table) (*binding, bool, *Error) {
	var hm headersMatch
	if src.kind == kindHeaders {
		var err *Error
		if hm, err = parseHeadersBinding(args); err != nil {
			return nil, false, err
		}
	}
	ak := canonicalArgs(args)
	k := bindingKey{d, key, ak}
	if b := src.bindings[k]; b != nil {
		return b, false, nil
	}
	b := &binding{src: src, dst: d, key: key, args: args, argsKey: ak, hm: hm}
	src.bindings[k] = b
	if src.kind == kindHeaders {
		src.headers = append(src.headers, b)
	} else {
		src.addRoute(key, d)
	}
	if d.q != nil {
		d.q.bindings[b] = struct{}{}
	} else {
		d.x.inbound[b] = struct{}{}
	}
	return b, true, nil
}

// removeBindingLocked removes b and auto-deletes its source exchange when
// that was its last binding, cascading. It reports whether anything
// durable changed. The caller holds vh.mu for writing.
func (vh *VHost) removeBindingLocked(b *binding) bool {
	src := b.src
	k := bindingKey{b.dst, b.key, b.argsKey}
	if src.bindings[k] != b {
		return false
	}
	delete(src.bindings, k)
	if src.kind == kindHeaders {
		for i, hb := range src.headers {
			if hb == b {
				src.headers = append(src.headers[:i], src.headers[i+1:]...)
				break
			}
		}
	} else {
		src.removeRoute(b.key, b.dst)
	}
	if b.dst.q != nil {
		delete(b.dst.q.bindings, b)
	} else {
		delete(b.dst.x.inbound, b)
	}
	durable := b.durable()
	if src.autoDelete && len(src.bindings) == 0 && !src.deleted {
		if vh.deleteExchangeLocked(src) {
			durable = true
		}
	}
	return durable
}

// deleteExchangeLocked removes x and every binding from or to it. It
// reports whether anything durable changed.
func (vh *VHost) deleteExchangeLocked(x *Exchange) bool {
	if x.deleted {
		return false
	}
	x.deleted = true
	delete(vh.exchanges, x.name)
	durable := x.durable
	for _, b := range x.bindings {
		if vh.removeBindingLocked(b) {
			durable = true
		}
	}
	for b := range x.inbound {
		if vh.removeBindingLocked(b) {
			durable = true
		}
	}
	return durable
}

// unlinkQueueLocked removes q from the vhost and drops its bindings,
// auto-deleting exchanges left without bindings. It reports whether
// anything durable changed. The caller holds vh.mu for writing and then
// finishes the deletion with q.destroy.
func (vh *VHost) unlinkQueueLocked(q *Queue) bool {
	if vh.queues[q.name] != q {
		return false
	}
	delete(vh.queues, q.name)
	durable := q.durable
	for b := range q.bindings {
		if vh.removeBindingLocked(b) {
			durable = true
		}
	}
	return durable
}

// deleteQueue deletes q (if it is still there) with its bindings and
// messages, cancels its consumers, and saves definitions when it was
// durable. It returns the number of ready messages it held.
func (vh *VHost) deleteQueue(q *Queue) uint32 {
	vh.mu.Lock()
	durable := vh.unlinkQueueLocked(q)
	n := q.destroy()
	vh.mu.Unlock()
	if durable {
		vh.b.saveDefinitionsLogged()
	}
	return n
}

func (vh *VHost) stopTimers() {
	vh.mu.RLock()
	qs := make([]*Queue, 0, len(vh.queues))
	for _, q := range vh.queues {
		qs = append(qs, q)
	}
	vh.mu.RUnlock()
	for _, q := range qs {
		q.mu.Lock()
		q.stopTimersLocked()
		q.mu.Unlock()
	}
}
