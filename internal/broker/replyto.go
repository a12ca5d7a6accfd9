package broker

import "strings"

// Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to pseudo-queue): a
// channel consumes from "amq.rabbitmq.reply-to" with no-ack, publishes
// requests whose reply_to the front end sets to ReplyTo(), and replies
// published to the default exchange with that name as routing key are
// delivered straight to the consuming channel without any queue.
const (
	replyToQueue  = "amq.rabbitmq.reply-to"
	replyToPrefix = "amq.rabbitmq.reply-to."
)

func (ch *Channel) consumeReplyTo(a ConsumeArgs) (string, error) {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return "", ErrClosed
	}
	if a.Tag != "" && ch.consumers[a.Tag] != nil {
		ch.mu.Unlock()
		return "", newError(CodeNotAllowed, "attempt to reuse consumer tag '%s'", a.Tag)
	}
	switch {
	case ch.replyTag != "":
		ch.mu.Unlock()
		return "", newError(CodePreconditionFailed, "reply consumer already set")
	case !a.NoAck:
		ch.mu.Unlock()
		return "", newError(CodePreconditionFailed, "reply consumer cannot acknowledge")
	}
	tag := a.Tag
	if tag == "" {
		tag = genName("amq.ctag")
	}
	key := genName("ferry")[len("ferry-"):]
	ch.replyTag, ch.replyKey = tag, key
	ch.sink.ConsumeOk(tag)
	ch.mu.Unlock()
	ch.b.mu.Lock()
	ch.b.replyTos[key] = ch
	ch.b.mu.Unlock()
	return tag, nil
}

// ReplyTo returns the reply_to value that replaces "amq.rabbitmq.reply-to"
// in a message this channel publishes, or RabbitMQ's error when the
// channel has no reply consumer.
func (ch *Channel) ReplyTo() (string, error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.replyKey == "" {
		return "", newError(CodePreconditionFailed, "fast reply consumer does not exist")
	}
	return replyToPrefix + ch.replyKey, nil
}

func (b *Broker) unregisterReplyTo(key string, ch *Channel) {
	b.mu.Lock()
	if b.replyTos[key] == ch {
		delete(b.replyTos, key)
	}
	b.mu.Unlock()
}

func (b *Broker) replyToExists(name string) bool {
	if name == replyToQueue {
		return true
	}
	key, ok := strings.CutPrefix(name, replyToPrefix)
	if !ok {
		return false
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.replyTos[key] != nil
}

// publishReply delivers a reply straight to the channel consuming its
// reply-to name. A reply for a channel that is gone is unroutable.
func (ch *Channel) publishReply(m *Message, mandatory bool, seq uint64) {
	key := strings.TrimPrefix(m.RoutingKey, replyToPrefix)
	ch.b.mu.RLock()
	target := ch.b.replyTos[key]
	ch.b.mu.RUnlock()
	delivered := false
	if target != nil {
		target.mu.Lock()
		if !target.closed && target.replyKey == key {
			tag := target.nextTag
			target.nextTag++
			d := &target.dbuf
			*d = Delivery{ConsumerTag: target.replyTag, DeliveryTag: tag, Exchange: m.Exchange, RoutingKey: m.RoutingKey,
				Props: m.Props, Body: m.Body, Message: m}
			target.sink.Deliver(d)
			*d = Delivery{}
			delivered = true
			target.stats.delivered.Add(1)
		}
		target.mu.Unlock()
	}
	if !delivered && mandatory {
		ch.returnMessage(m)
	}
	if seq != 0 {
		ch.confirmDone(seq, false, false)
	}
}
