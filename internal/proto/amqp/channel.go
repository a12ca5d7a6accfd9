package amqp

import (
	"ferry/internal/broker"
	"ferry/internal/proto/amqp/wire"
)

// Content assembly states of a channel (rabbit_command_assembler): a
// content-bearing method (basic.publish) is followed by exactly one content
// header frame and then body frames until the announced size is reached.
// Frames of other channels may come in between.
const (
	asmMethod = iota // expecting a method frame
	asmHeader        // basic.publish seen, expecting its content header
	asmBody          // header seen, expecting body frames
)

// smallBody is the largest body allocated whole when its header arrives;
// larger ones grow as their frames arrive, so a client announcing a huge
// body it never sends cannot make Ferry allocate it.
const smallBody = 1 << 20

// channel is one open AMQP channel of a connection: the broker channel it
// drives, its content assembly state, and the broker.Sink that encodes what
// the broker sends it into the connection's output buffer.
type channel struct {
	c       *Conn
	id      uint16
	bch     *broker.Channel
	closing bool // channel.close sent, waiting for close-ok

	// Content assembly (reader goroutine only).
	asm       uint8
	pub       wire.BasicPublish // copied: the Decoder reuses its struct
	props     []byte
	body      []byte
	remaining uint64

	// nowaitConsume suppresses the consume-ok of a basic.consume with
	// nowait; set by the reader around the Consume call, which calls
	// ConsumeOk on the reader's goroutine.
	nowaitConsume bool

	// Scratch method structs for the Sink. Sink calls for one channel
	// are serialised by the broker (under the channel's lock), so reusing
	// them is safe and keeps deliveries free of allocation.
	deliver   wire.BasicDeliver
	getOk     wire.BasicGetOk
	ret       wire.BasicReturn
	ack       wire.BasicAck
	nack      wire.BasicNack
	consumeOk wire.BasicConsumeOk
}

// chanAt returns the channel numbered id, or nil.
func (c *Conn) chanAt(id uint16) *channel {
	if int(id) < len(c.chans) {
		return c.chans[id]
	}
	return nil
}

func (c *Conn) setChan(id uint16, ch *channel) {
	if int(id) >= len(c.chans) {
		n := max(int(id)+1, 2*len(c.chans), 8)
		nc := make([]*channel, n)
		copy(nc, c.chans)
		c.chans = nc
	}
	c.chans[id] = ch
}

// removeChan forgets a closed channel, freeing its number.
func (c *Conn) removeChan(ch *channel) {
	if c.chanAt(ch.id) == ch {
		c.chans[ch.id] = nil
		c.nchannels--
	}
}

// channelFrame routes a frame on channel N > 0 of a running connection.
func (c *Conn) channelFrame(f wire.Frame) {
	ch := c.chanAt(f.Channel)
	if ch == nil {
		// rabbit_reader:create_channel counts, then the channel
		// expects channel.open.
		if c.channelMax != 0 && c.nchannels >= int(c.channelMax) {
			c.connectionException(errChannelMax(c.nchannels, int(c.channelMax)))
			return
		}
		if f.Type != wire.FrameMethod {
			c.connectionException(errExpectedMethodFrame())
			return
		}
		k, args := f.Method()
		if _, err := c.dec.Decode(k.ClassID(), k.MethodID(), args); err != nil {
			e, _ := classify(err, k)
			c.connectionException(e)
			return
		}
		if k != wire.KeyChannelOpen {
			c.connectionException(errExpectedChannelOpen(k))
			return
		}
		c.openChannel(f.Channel)
		return
	}
	if ch.closing {
		// After channel.close, everything but channel.close and
		// channel.close-ok is dropped (spec 4.2.8 / rabbit_channel). A
		// crossing channel.close is answered, but the number stays taken
		// until our close is answered too: the client's close-ok follows
		// (rabbit_channel's closing state), and freeing the number early
		// would make that close-ok look like a frame on an unopened
		// channel (504).
		if f.Type == wire.FrameMethod {
			switch k, _ := f.Method(); k {
			case wire.KeyChannelCloseOk:
				c.removeChan(ch)
			case wire.KeyChannelClose:
				c.out.method(ch.id, &wire.ChannelCloseOk{})
			}
		}
		return
	}
	switch ch.asm {
	case asmMethod:
		if f.Type != wire.FrameMethod {
			c.connectionException(errExpectedMethodFrame())
			return
		}
		k, args := f.Method()
		m, err := c.dec.Decode(k.ClassID(), k.MethodID(), args)
		if err != nil {
			e, _ := classify(err, k)
			c.connectionException(e)
			return
		}
		c.channelMethod(ch, m)
	case asmHeader:
		if f.Type != wire.FrameHeader {
			c.connectionException(errExpectedHeader(wire.KeyBasicPublish))
			return
		}
		c.contentHeader(ch, f.Payload)
	case asmBody:
		if f.Type != wire.FrameBody {
			c.connectionException(errExpectedBody(wire.KeyBasicPublish))
			return
		}
		c.contentBody(ch, f.Payload)
	}
}

// openChannel handles channel.open on a free channel number.
func (c *Conn) openChannel(id uint16) {
	ch := &channel{c: c, id: id}
	bch, err := c.bconn.OpenChannel(ch)
	if err != nil {
		e, _ := classify(err, wire.KeyChannelOpen)
		c.connectionException(e)
		return
	}
	ch.bch = bch
	c.setChan(id, ch)
	c.nchannels++
	c.out.method(id, &wire.ChannelOpenOk{})
}

// channelException closes a channel for a soft error: the broker channel
// is closed at once (unacknowledged deliveries requeued, consumers
// cancelled) and channel.close sent; the number is free again after
// close-ok.
func (c *Conn) channelException(ch *channel, e *amqpError) {
	c.log.Warn("channel error: operation "+opName(e.key)+" caused a channel exception "+
		wire.ReplyCodeName(e.code)+": "+e.text, "channel", ch.id)
	ch.bch.Close()
	ch.closing = true
	ch.resetContent()
	c.out.method(ch.id, e.channelClose())
}

// fail reports err from handling method k on ch: a soft error closes the
// channel, a hard one the connection.
func (c *Conn) fail(ch *channel, err error, k wire.MethodKey) {
	e, hard := classify(err, k)
	if hard {
		c.connectionException(e)
		return
	}
	c.channelException(ch, e)
}

func (ch *channel) resetContent() {
	ch.asm = asmMethod
	ch.props, ch.body, ch.remaining = nil, nil, 0
}

// contentHeader handles the content header of a basic.publish.
func (c *Conn) contentHeader(ch *channel, payload []byte) {
	h, err := wire.ParseContentHeader(payload)
	if err != nil || h.Weight != 0 {
		c.connectionException(errExpectedHeader(wire.KeyBasicPublish))
		return
	}
	if h.ClassID != wire.ClassBasic {
		c.connectionException(errHeaderClass(wire.KeyBasicPublish, h.ClassID))
		return
	}
	if h.BodySize > maxMessageSizeLimit {
		c.connectionException(errBodyTooLarge(wire.KeyBasicPublish, h.BodySize))
		return
	}
	if h.BodySize > uint64(c.srv.cfg.MaxMessageSize) {
		// RabbitMQ checks after assembling the body; checking the
		// announced size spares buffering it. The body frames that
		// follow are dropped with the closing channel.
		c.channelException(ch, errMessageTooLarge(h.BodySize, c.srv.cfg.MaxMessageSize))
		return
	}
	lp := len(h.Properties)
	if h.BodySize <= smallBody {
		// One allocation for properties and body.
		data := make([]byte, lp+int(h.BodySize))
		copy(data, h.Properties)
		ch.props = data[:lp:lp]
		ch.body = data[lp:lp]
	} else {
		ch.props = append([]byte(nil), h.Properties...)
		ch.body = make([]byte, 0, smallBody)
	}
	ch.remaining = h.BodySize
	if h.BodySize == 0 {
		c.publish(ch)
		return
	}
	ch.asm = asmBody
}

// contentBody handles a body frame of a basic.publish.
func (c *Conn) contentBody(ch *channel, p []byte) {
	if uint64(len(p)) > ch.remaining {
		c.connectionException(errBodyOverrun(wire.KeyBasicPublish))
		return
	}
	if cap(ch.body)-len(ch.body) < len(p) {
		total := uint64(len(ch.body)) + ch.remaining
		n := uint64(max(2*cap(ch.body), len(ch.body)+len(p)))
		n = min(n, total)
		nb := make([]byte, len(ch.body), n)
		copy(nb, ch.body)
		ch.body = nb
	}
	ch.body = append(ch.body, p...)
	ch.remaining -= uint64(len(p))
	if ch.remaining == 0 {
		c.publish(ch)
	}
}

// directReplyTo is the reply_to value RabbitMQ rewrites (direct reply-to).
const directReplyTo = "amq.rabbitmq.reply-to"

// publish hands an assembled message to the broker.
func (c *Conn) publish(ch *channel) {
	m := &broker.Message{Exchange: ch.pub.Exchange, RoutingKey: ch.pub.RoutingKey, Props: ch.props, Body: ch.body}
	ch.resetContent()
	c.published = true
	replyTo, err := decodeMessageProps(m, &c.view)
	if err != nil {
		e, _ := classify(err, wire.KeyBasicPublish)
		c.connectionException(e)
		return
	}
	if replyTo {
		v, err := ch.bch.ReplyTo()
		if err != nil {
			c.fail(ch, err, wire.KeyBasicPublish)
			return
		}
		if m.Props, err = rewriteReplyTo(m.Props, v); err != nil {
			e, _ := classify(err, wire.KeyBasicPublish)
			c.connectionException(e)
			return
		}
	}
	if err := ch.bch.Publish(m, ch.pub.Mandatory, ch.pub.Immediate); err != nil {
		c.fail(ch, err, wire.KeyBasicPublish)
	}
}

// The broker.Sink implementation. The broker calls these from any
// goroutine with the broker channel's lock held: they only encode into the
// output buffer and wake the writer.

// Deliver sends basic.deliver or basic.get-ok with the message's content.
func (ch *channel) Deliver(d *broker.Delivery) bool {
	o := &ch.c.out
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return false
	}
	if d.Get {
		g := &ch.getOk
		g.DeliveryTag, g.Redelivered, g.Exchange, g.RoutingKey, g.MessageCount =
			d.DeliveryTag, d.Redelivered, d.Exchange, d.RoutingKey, d.MessageCount
		o.buf = wire.AppendContent(o.buf, ch.id, g, d.Props, d.Body, ch.c.frameMax)
	} else {
		m := &ch.deliver
		m.ConsumerTag, m.DeliveryTag, m.Redelivered, m.Exchange, m.RoutingKey =
			d.ConsumerTag, d.DeliveryTag, d.Redelivered, d.Exchange, d.RoutingKey
		o.buf = wire.AppendContent(o.buf, ch.id, m, d.Props, d.Body, ch.c.frameMax)
	}
	more := len(o.buf) < outHigh
	if !more {
		o.paused = append(o.paused, ch.bch)
	}
	o.wakeLocked()
	o.mu.Unlock()
	return more
}

// Return sends basic.return with the message's content.
func (ch *channel) Return(m *broker.Message, code uint16, text string) {
	o := &ch.c.out
	o.mu.Lock()
	if !o.closed {
		r := &ch.ret
		r.ReplyCode, r.ReplyText, r.Exchange, r.RoutingKey = code, text, m.Exchange, m.RoutingKey
		o.buf = wire.AppendContent(o.buf, ch.id, r, m.Props, m.Body, ch.c.frameMax)
		o.wakeLocked()
	}
	o.mu.Unlock()
}

// Confirm sends a publisher confirm: basic.ack or basic.nack.
func (ch *channel) Confirm(seq uint64, multiple, nack bool) {
	if nack {
		ch.nack.DeliveryTag, ch.nack.Multiple, ch.nack.Requeue = seq, multiple, false
		ch.c.out.method(ch.id, &ch.nack)
		return
	}
	ch.ack.DeliveryTag, ch.ack.Multiple = seq, multiple
	ch.c.out.method(ch.id, &ch.ack)
}

// ConsumeOk sends basic.consume-ok unless the consume was nowait.
func (ch *channel) ConsumeOk(tag string) {
	if ch.nowaitConsume {
		return
	}
	ch.consumeOk.ConsumerTag = tag
	ch.c.out.method(ch.id, &ch.consumeOk)
}

// Cancel sends a server basic.cancel (the consumer's queue was deleted),
// only to clients that announced consumer_cancel_notify, as RabbitMQ.
func (ch *channel) Cancel(tag string) {
	if !ch.c.capCancelNotify {
		return
	}
	ch.c.out.method(ch.id, &wire.BasicCancel{ConsumerTag: tag, NoWait: true})
}
