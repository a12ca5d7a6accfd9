package amqp

import (
	"ferry/internal/broker"
	"ferry/internal/proto/amqp/wire"
)

// channelMethod carries out a method on an open channel: the channel,
// access, exchange, queue, basic, confirm and tx classes (rabbit_channel's
// handle_method). Synchronous methods are answered with their -ok unless
// nowait is set; the broker's refusals go through fail (errmap.go).
func (c *Conn) channelMethod(ch *channel, m wire.Method) {
	k := m.Key()
	b := ch.bch
	o := &c.out
	id := ch.id
	var err error
	switch m := m.(type) {
	case *wire.BasicPublish:
		ch.pub = *m
		ch.asm = asmHeader
		return
	case *wire.BasicAck:
		err = b.Ack(m.DeliveryTag, m.Multiple)
	case *wire.BasicNack:
		err = b.Nack(m.DeliveryTag, m.Multiple, m.Requeue)
	case *wire.BasicReject:
		err = b.Reject(m.DeliveryTag, m.Requeue)
	case *wire.BasicQos:
		if err = b.Qos(m.PrefetchSize, m.PrefetchCount, m.Global); err == nil {
			o.method(id, &wire.BasicQosOk{})
		}
	case *wire.BasicConsume:
		ch.nowaitConsume = m.NoWait
		_, err = b.Consume(broker.ConsumeArgs{Queue: m.Queue, Tag: m.ConsumerTag, NoLocal: m.NoLocal,
			NoAck: m.NoAck, Exclusive: m.Exclusive, Args: m.Arguments})
		ch.nowaitConsume = false
	case *wire.BasicCancel:
		if err = b.Cancel(m.ConsumerTag); err == nil && !m.NoWait {
			o.method(id, &wire.BasicCancelOk{ConsumerTag: m.ConsumerTag})
		}
	case *wire.BasicGet:
		var found bool
		if found, err = b.Get(m.Queue, m.NoAck); err == nil && !found {
			o.method(id, &wire.BasicGetEmpty{})
		}
	case *wire.BasicRecover:
		if err = b.Recover(m.Requeue); err == nil {
			o.method(id, &wire.BasicRecoverOk{})
		}
	case *wire.BasicRecoverAsync:
		err = b.Recover(m.Requeue)

	case *wire.ExchangeDeclare:
		err = b.ExchangeDeclare(broker.ExchangeDeclare{Name: m.Exchange, Type: m.Type, Passive: m.Passive,
			Durable: m.Durable, AutoDelete: m.AutoDelete, Internal: m.Internal, Args: m.Arguments})
		if err == nil && !m.NoWait {
			o.method(id, &wire.ExchangeDeclareOk{})
		}
	case *wire.ExchangeDelete:
		if err = b.ExchangeDelete(m.Exchange, m.IfUnused); err == nil && !m.NoWait {
			o.method(id, &wire.ExchangeDeleteOk{})
		}
	case *wire.ExchangeBind:
		if err = b.ExchangeBind(m.Destination, m.Source, m.RoutingKey, m.Arguments); err == nil && !m.NoWait {
			o.method(id, &wire.ExchangeBindOk{})
		}
	case *wire.ExchangeUnbind:
		if err = b.ExchangeUnbind(m.Destination, m.Source, m.RoutingKey, m.Arguments); err == nil && !m.NoWait {
			o.method(id, &wire.ExchangeUnbindOk{})
		}

	case *wire.QueueDeclare:
		var ok broker.QueueDeclareOk
		ok, err = b.QueueDeclare(broker.QueueDeclare{Name: m.Queue, Passive: m.Passive, Durable: m.Durable,
			Exclusive: m.Exclusive, AutoDelete: m.AutoDelete, Args: m.Arguments})
		if err == nil && !m.NoWait {
			o.method(id, &wire.QueueDeclareOk{Queue: ok.Name, MessageCount: ok.Messages, ConsumerCount: ok.Consumers})
		}
	case *wire.QueueBind:
		if err = b.QueueBind(m.Queue, m.Exchange, m.RoutingKey, m.Arguments); err == nil && !m.NoWait {
			o.method(id, &wire.QueueBindOk{})
		}
	case *wire.QueueUnbind:
		if err = b.QueueUnbind(m.Queue, m.Exchange, m.RoutingKey, m.Arguments); err == nil {
			o.method(id, &wire.QueueUnbindOk{})
		}
	case *wire.QueuePurge:
		var n uint32
		if n, err = b.QueuePurge(m.Queue); err == nil && !m.NoWait {
			o.method(id, &wire.QueuePurgeOk{MessageCount: n})
		}
	case *wire.QueueDelete:
		var n uint32
		if n, err = b.QueueDelete(m.Queue, m.IfUnused, m.IfEmpty); err == nil && !m.NoWait {
			o.method(id, &wire.QueueDeleteOk{MessageCount: n})
		}

	case *wire.ConfirmSelect:
		if err = b.ConfirmSelect(); err == nil && !m.NoWait {
			o.method(id, &wire.ConfirmSelectOk{})
		}
	case *wire.TxSelect:
		if err = b.TxSelect(); err == nil {
			o.method(id, &wire.TxSelectOk{})
		}
	case *wire.TxCommit:
		if err = b.TxCommit(); err == nil {
			o.method(id, &wire.TxCommitOk{})
		}
	case *wire.TxRollback:
		if err = b.TxRollback(); err == nil {
			o.method(id, &wire.TxRollbackOk{})
		}

	case *wire.ChannelFlow:
		if err = b.Flow(m.Active); err == nil {
			o.method(id, &wire.ChannelFlowOk{Active: m.Active})
		}
	case *wire.ChannelClose:
		b.Close()
		c.removeChan(ch)
		o.method(id, &wire.ChannelCloseOk{})
	case *wire.ChannelOpen:
		err = errSecondChannelOpen()
	case *wire.AccessRequest:
		// Access tickets are gone from 0-9-1; RabbitMQ answers with
		// ticket 1 for old clients.
		o.method(id, &wire.AccessRequestOk{Ticket: 1})
	default:
		// Methods only a server sends (basic.deliver, queue.declare-ok,
		// connection.* on a channel …).
		err = errUnimplemented(k)
	}
	if err != nil {
		c.fail(ch, err, k)
	}
}
