package broker

import (
	"strings"
)

// ExchangeDeclare are exchange.declare's fields.
type ExchangeDeclare struct {
	Name       string
	Type       string
	Passive    bool
	Durable    bool
	AutoDelete bool
	Internal   bool
	Args       Table
}

// ExchangeDeclare declares an exchange or checks an existing one is
// equivalent (exchange.declare), as rabbit_channel does: type check,
// default-exchange check, configure permission, reserved "amq." prefix on
// creation, alternate-exchange permissions, then equivalence.
func (ch *Channel) ExchangeDeclare(d ExchangeDeclare) error {
	vh := ch.vh
	if d.Passive {
		if d.Name == "" {
			return errDefaultExchange()
		}
		vh.mu.RLock()
		x := vh.exchanges[d.Name]
		vh.mu.RUnlock()
		if x == nil {
			return errNotFound("exchange", d.Name, vh.name)
		}
		return nil
	}
	kind, ok := parseKind(d.Type)
	if !ok {
		return newError(CodeCommandInvalid, "unknown exchange type '%s'", d.Type)
	}
	if d.Name == "" {
		return errDefaultExchange()
	}
	if err := ch.checkPerm("exchange", d.Name, permConfigure); err != nil {
		return err
	}
	args := d.Args
	if args == nil {
		args = Table{}
	}
	vh.mu.Lock()
	x := vh.exchanges[d.Name]
	created := false
	if x == nil {
		if strings.HasPrefix(d.Name, "amq.") {
			vh.mu.Unlock()
			return newError(CodeAccessRefused, "exchange name '%s' contains reserved prefix 'amq.*'", d.Name)
		}
		if v, ok := args["alternate-exchange"]; ok {
			ae, isStr := v.(string)
			if !isStr {
				vh.mu.Unlock()
				return newError(CodePreconditionFailed, "invalid type '%s' for arg 'alternate-exchange' in %s",
					typeName(v), rs("exchange", d.Name, vh.name))
			}
			// Permissions are checked without the vhost lock held.
			vh.mu.Unlock()
			if err := ch.checkPerm("exchange", d.Name, permRead); err != nil {
				return err
			}
			if err := ch.checkPerm("exchange", ae, permWrite); err != nil {
				return err
			}
			vh.mu.Lock()
			x = vh.exchanges[d.Name]
		}
		if x == nil {
			x = newExchange(vh, d.Name, kind, d.Durable, d.AutoDelete, d.Internal, args)
			vh.exchanges[d.Name] = x
			created = true
		}
	}
	vh.mu.Unlock()
	if created {
		if x.durable {
			ch.b.saveDefinitionsLogged()
		}
		return nil
	}
	return x.assertEquivalent(kind, d.Durable, d.AutoDelete, d.Internal, args)
}

func (x *Exchange) assertEquivalent(kind exchangeKind, durable, autoDelete, internal bool, args Table) error {
	vh := x.vh.name
	if err := assertFieldEquivalence(x.kind.String(), kind.String(), "exchange", x.name, vh, "type"); err != nil {
		return err
	}
	if err := assertFieldEquivalence(boolStr(x.durable), boolStr(durable), "exchange", x.name, vh, "durable"); err != nil {
		return err
	}
	if err := assertFieldEquivalence(boolStr(x.autoDelete), boolStr(autoDelete), "exchange", x.name, vh, "auto_delete"); err != nil {
		return err
	}
	if err := assertFieldEquivalence(boolStr(x.internal), boolStr(internal), "exchange", x.name, vh, "internal"); err != nil {
		return err
	}
	if err := assertArgsEquivalence(x.args, args, "exchange", x.name, vh, []string{"alternate-exchange"}); err != nil {
		return err
	}
	return nil
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// ExchangeDelete deletes an exchange (exchange.delete). Deleting one that
// does not exist succeeds, as in RabbitMQ; the predeclared "amq." exchanges
// and the default exchange cannot be deleted.
func (ch *Channel) ExchangeDelete(name string, ifUnused bool) error {
	vh := ch.vh
	if name == "" {
		return errDefaultExchange()
	}
	if strings.HasPrefix(name, "amq.") {
		return newError(CodeAccessRefused, "deletion of system %s not allowed", rs("exchange", name, vh.name))
	}
	if err := ch.checkPerm("exchange", name, permConfigure); err != nil {
		return err
	}
	vh.mu.Lock()
	x := vh.exchanges[name]
	if x == nil {
		vh.mu.Unlock()
		return nil
	}
	if ifUnused && len(x.bindings) > 0 {
		vh.mu.Unlock()
		return newError(CodePreconditionFailed, "%s in use", rs("exchange", name, vh.name))
	}
	durable := vh.deleteExchangeLocked(x)
	vh.mu.Unlock()
	if durable {
		ch.b.saveDefinitionsLogged()
	}
	return nil
}

// ExchangeBind binds exchange dst to exchange src (exchange.bind).
func (ch *Channel) ExchangeBind(dst, src, key string, args Table) error {
	return ch.bind(src, dst, true, key, args, true)
}

// ExchangeUnbind removes an exchange-to-exchange binding
// (exchange.unbind); a missing binding or exchange is not an error.
func (ch *Channel) ExchangeUnbind(dst, src, key string, args Table) error {
	return ch.bind(src, dst, true, key, args, false)
}

// QueueBind binds a queue to an exchange (queue.bind). An empty queue
// name means the channel's last declared queue, and then an empty key
// means that queue's name too.
func (ch *Channel) QueueBind(queue, exchange, key string, args Table) error {
	q, k, err := ch.expandBind(queue, key)
	if err != nil {
		return err
	}
	return ch.bind(exchange, q, false, k, args, true)
}

// QueueUnbind removes a queue binding (queue.unbind); a missing binding,
// queue or exchange is not an error.
func (ch *Channel) QueueUnbind(queue, exchange, key string, args Table) error {
	q, k, err := ch.expandBind(queue, key)
	if err != nil {
		return err
	}
	return ch.bind(exchange, q, false, k, args, false)
}

func (ch *Channel) expandBind(queue, key string) (string, string, error) {
	if queue == "" {
		if ch.lastQueue == "" {
			return "", "", newError(CodeNotFound, "no previously declared queue")
		}
		queue = ch.lastQueue
		if key == "" {
			key = ch.lastQueue
		}
	}
	return queue, key, nil
}

// bind is rabbit_channel:binding_action: write permission on the
// destination, neither end the default exchange, read permission on the
// source, then the binding change.
func (ch *Channel) bind(src, dst string, dstIsExchange bool, key string, args Table, add bool) error {
	vh := ch.vh
	dstKind := "queue"
	if dstIsExchange {
		dstKind = "exchange"
	}
	if err := ch.checkPerm(dstKind, dst, permWrite); err != nil {
		return err
	}
	if (dstIsExchange && dst == "") || src == "" {
		return errDefaultExchange()
	}
	if err := ch.checkPerm("exchange", src, permRead); err != nil {
		return err
	}
	if args == nil {
		args = Table{}
	}
	vh.mu.Lock()
	x := vh.exchanges[src]
	var d dest
	if dstIsExchange {
		if dx := vh.exchanges[dst]; dx != nil {
			d.x = dx
		}
	} else if q := vh.queues[dst]; q != nil {
		d.q = q
	}
	if !add {
		durable := false
		if x != nil && (d.q != nil || d.x != nil) {
			if b := x.bindings[bindingKey{d, key, canonicalArgs(args)}]; b != nil {
				if d.q != nil && d.q.owner != nil && d.q.owner != ch.conn {
					vh.mu.Unlock()
					return errLocked(dst, vh.name)
				}
				durable = vh.removeBindingLocked(b)
			}
		}
		vh.mu.Unlock()
		if durable {
			ch.b.saveDefinitionsLogged()
		}
		return nil
	}
	if x == nil {
		vh.mu.Unlock()
		return errNotFound("exchange", src, vh.name)
	}
	if d.q == nil && d.x == nil {
		vh.mu.Unlock()
		return errNotFound(dstKind, dst, vh.name)
	}
	if d.q != nil && d.q.owner != nil && d.q.owner != ch.conn {
		vh.mu.Unlock()
		return errLocked(dst, vh.name)
	}
	b, added, err := vh.addBindingLocked(x, d, key, args)
	vh.mu.Unlock()
	if err != nil {
		return err
	}
	if added && b.durable() {
		ch.b.saveDefinitionsLogged()
	}
	return nil
}

// QueueDeclare are queue.declare's fields.
type QueueDeclare struct {
	Name       string // empty: the server names it "amq.gen-…"
	Passive    bool
	Durable    bool
	Exclusive  bool
	AutoDelete bool
	Args       Table
}

// QueueDeclareOk is queue.declare-ok's fields: the queue's (possibly
// generated) name, its ready message count and its consumer count.
type QueueDeclareOk struct {
	Name      string
	Messages  uint32
	Consumers uint32
}

// QueueDeclare declares a queue or checks an existing one is equivalent
// (queue.declare), following rabbit_channel and rabbit_amqqueue: reserved
// names, configure permission, equivalence (exclusive owner, durable,
// auto_delete, arguments), and for a new queue the dead-letter exchange
// permissions and argument validation. An exclusive queue is never
// durable.
func (ch *Channel) QueueDeclare(d QueueDeclare) (QueueDeclareOk, error) {
	vh := ch.vh
	if strings.HasPrefix(d.Name, replyToQueue) {
		if ch.b.replyToExists(d.Name) {
			ch.lastQueue = d.Name
			return QueueDeclareOk{Name: d.Name, Consumers: 1}, nil
		}
		return QueueDeclareOk{}, errNotFound("queue", d.Name, vh.name)
	}
	if d.Passive {
		q, err := ch.lookupQueue(d.Name)
		if err != nil {
			return QueueDeclareOk{}, err
		}
		ok := q.declareOk()
		ch.lastQueue = q.name
		return ok, nil
	}
	name := d.Name
	if name == "" {
		name = genName("amq.gen")
	} else if strings.HasPrefix(name, "amq.") {
		return QueueDeclareOk{}, newError(CodeAccessRefused, "queue name '%s' contains reserved prefix 'amq.*'", name)
	}
	if err := ch.checkPerm("queue", name, permConfigure); err != nil {
		return QueueDeclareOk{}, err
	}
	args := d.Args
	if args == nil {
		args = Table{}
	}
	durable := d.Durable && !d.Exclusive
	var owner *Conn
	if d.Exclusive {
		owner = ch.conn
	}
	if q := ch.existingQueue(name); q != nil {
		if err := q.assertEquivalent(owner, durable, d.AutoDelete, args); err != nil {
			return QueueDeclareOk{}, err
		}
		ch.lastQueue = name
		return q.declareOk(), nil
	}
	if v, ok := args["x-dead-letter-exchange"]; ok {
		dlx, isStr := v.(string)
		if !isStr {
			return QueueDeclareOk{}, newError(CodePreconditionFailed, "invalid type '%s' for arg 'x-dead-letter-exchange' in %s",
				typeName(v), rs("queue", name, vh.name))
		}
		if err := ch.checkPerm("queue", name, permRead); err != nil {
			return QueueDeclareOk{}, err
		}
		if err := ch.checkPerm("exchange", dlx, permWrite); err != nil {
			return QueueDeclareOk{}, err
		}
	}
	if err := checkQueueArgs(args, name, vh.name); err != nil {
		return QueueDeclareOk{}, err
	}
	q := newQueue(vh, name, durable, d.Exclusive, d.AutoDelete, owner, args)
	if durable && ch.b.store != nil {
		q.storeID = ch.b.allocStoreID()
	}
	vh.mu.Lock()
	if existing := vh.queues[name]; existing != nil {
		// Declared concurrently: treat as a redeclaration.
		vh.mu.Unlock()
		if err := existing.assertEquivalent(owner, durable, d.AutoDelete, args); err != nil {
			return QueueDeclareOk{}, err
		}
		ch.lastQueue = name
		return existing.declareOk(), nil
	}
	vh.queues[name] = q
	// Every queue is bound to the default exchange under its name; that
	// binding is implicit (routeDefault), never stored.
	vh.mu.Unlock()
	if owner != nil && !owner.addExclusive(q) {
		vh.deleteQueue(q)
		return QueueDeclareOk{}, ErrClosed
	}
	q.mu.Lock()
	q.touchLocked()
	q.mu.Unlock()
	if durable {
		ch.b.saveDefinitionsLogged()
	}
	ch.lastQueue = name
	return QueueDeclareOk{Name: name}, nil
}

func (ch *Channel) existingQueue(name string) *Queue {
	ch.vh.mu.RLock()
	defer ch.vh.mu.RUnlock()
	return ch.vh.queues[name]
}

// assertEquivalent is rabbit_amqqueue:assert_equivalence: exclusive owner
// (strict: the exclusive flag must match too), durable, auto_delete and the
// declare arguments.
func (q *Queue) assertEquivalent(owner *Conn, durable, autoDelete bool, args Table) error {
	vh := q.vh.name
	if q.owner != owner {
		return errLocked(q.name, vh)
	}
	if err := assertFieldEquivalence(boolStr(q.durable), boolStr(durable), "queue", q.name, vh, "durable"); err != nil {
		return err
	}
	if err := assertFieldEquivalence(boolStr(q.autoDelete), boolStr(autoDelete), "queue", q.name, vh, "auto_delete"); err != nil {
		return err
	}
	if err := assertArgsEquivalence(q.args, args, "queue", q.name, vh, queueEquivalenceKeys); err != nil {
		return err
	}
	return nil
}

func (q *Queue) declareOk() QueueDeclareOk {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.touchLocked()
	return QueueDeclareOk{Name: q.name, Messages: uint32(q.ready), Consumers: uint32(len(q.consumers))}
}

// QueuePurge drops a queue's ready messages (queue.purge) and returns how
// many there were.
func (ch *Channel) QueuePurge(queue string) (uint32, error) {
	name, err := ch.expandQueue(queue)
	if err != nil {
		return 0, err
	}
	if err := ch.checkPerm("queue", name, permRead); err != nil {
		return 0, err
	}
	q, err := ch.lookupQueue(name)
	if err != nil {
		return 0, err
	}
	return q.purge(), nil
}

// QueueDelete deletes a queue (queue.delete) and returns the number of
// ready messages it held. A missing queue is not an error (0 messages).
// Consumers of the queue are cancelled (the sink's Cancel).
func (ch *Channel) QueueDelete(queue string, ifUnused, ifEmpty bool) (uint32, error) {
	name, err := ch.expandQueue(queue)
	if err != nil {
		return 0, err
	}
	if err := ch.checkPerm("queue", name, permConfigure); err != nil {
		return 0, err
	}
	vh := ch.vh
	vh.mu.Lock()
	q := vh.queues[name]
	if q == nil {
		vh.mu.Unlock()
		return 0, nil
	}
	if q.owner != nil && q.owner != ch.conn {
		vh.mu.Unlock()
		return 0, errLocked(name, vh.name)
	}
	n, durable, err := vh.deleteQueueLocked(q, name, ifUnused, ifEmpty)
	if err == nil && durable {
		ch.b.saveDefinitionsLogged()
	}
	return n, err
}
