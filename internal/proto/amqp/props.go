package amqp

import (
	"ferry/internal/broker"
	"ferry/internal/proto/amqp/wire"
)

// decodeMessageProps fills the properties the broker must understand from
// the raw property list in m.Props, through a reused view (no allocation
// unless expiration, user-id or headers are present). It reports whether
// reply_to asks for direct reply-to.
func decodeMessageProps(m *broker.Message, v *wire.BasicPropertiesView) (replyTo bool, err error) {
	if err := v.Decode(m.Props); err != nil {
		return false, err
	}
	m.DeliveryMode = v.DeliveryMode
	m.Priority = v.Priority
	if v.Has(wire.BasicFlagExpiration) {
		m.Expiration, m.HasExpiration = string(v.Expiration), true
	}
	if v.Has(wire.BasicFlagUserID) {
		m.UserID, m.HasUserID = string(v.UserID), true
	}
	if v.Has(wire.BasicFlagHeaders) {
		if m.Headers, err = wire.DecodeTable(v.Headers); err != nil {
			return false, err
		}
	}
	replyTo = v.Has(wire.BasicFlagReplyTo) && string(v.ReplyTo) == directReplyTo
	*v = wire.BasicPropertiesView{} // drop references to the message
	return replyTo, nil
}

// rewriteReplyTo returns props with reply_to set to v, every other property
// kept as it was.
func rewriteReplyTo(props []byte, v string) ([]byte, error) {
	var p wire.BasicProperties
	if err := p.Decode(props); err != nil {
		return nil, err
	}
	p.ReplyTo = v
	return p.AppendTo(nil), nil
}

// PropsCodec is the broker's broker.PropsCodec over the wire package: it
// rewrites message properties for dead-lettering (x-death headers, dropped
// expiration) and BCC stripping, and decodes them at recovery. It is
// stateless and safe for concurrent use.
type PropsCodec struct{}

// Rewrite returns props with the headers replaced (removed when nil) and,
// if dropExpiration, the expiration removed; other properties are kept.
func (PropsCodec) Rewrite(props []byte, headers broker.Table, dropExpiration bool) ([]byte, error) {
	var p wire.BasicProperties
	if err := p.Decode(props); err != nil {
		return nil, err
	}
	p.Headers = headers
	if headers == nil {
		p.Flags &^= wire.BasicFlagHeaders
	}
	if dropExpiration {
		p.Expiration = ""
		p.Flags &^= wire.BasicFlagExpiration
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p.AppendTo(nil), nil
}

// Decode reads the properties the broker understands.
func (PropsCodec) Decode(props []byte) (broker.Properties, error) {
	var m broker.Message
	m.Props = props
	var v wire.BasicPropertiesView
	if _, err := decodeMessageProps(&m, &v); err != nil {
		return broker.Properties{}, err
	}
	return m.Properties, nil
}
