package amqp

import (
	"errors"
	"fmt"

	"ferry/internal/broker"
	"ferry/internal/proto/amqp/wire"
)

// This file is the one place where errors become AMQP replies: broker
// refusals (*broker.Error), codec errors (*wire.Error) and the front end's
// own protocol exceptions (*amqpError), each turned into channel.close or
// connection.close with RabbitMQ 3.10's reply code and text. The texts
// follow rabbit_reader, rabbit_channel and rabbit_command_assembler.

// amqpError is a protocol exception raised by the front end itself. Text
// carries the code name prefix ("CHANNEL_ERROR - expected 'channel.open'"),
// as rabbit_misc:amqp_error formats it.
type amqpError struct {
	code uint16
	text string
	key  wire.MethodKey // the offending method, 0 when none
}

func (e *amqpError) Error() string { return e.text }

func newErr(code uint16, key wire.MethodKey, format string, args ...any) *amqpError {
	return &amqpError{code: code, key: key, text: wire.TruncateReplyText(wire.ReplyCodeName(code) + " - " + fmt.Sprintf(format, args...))}
}

// Channel and content assembly (rabbit_channel, rabbit_command_assembler).

func errExpectedChannelOpen(k wire.MethodKey) *amqpError {
	return newErr(wire.ChannelError, k, "expected 'channel.open'")
}

func errSecondChannelOpen() *amqpError {
	return newErr(wire.ChannelError, wire.KeyChannelOpen, "second 'channel.open' seen")
}

// errUnimplemented is rabbit_channel's answer to a method a client may not
// send (basic.deliver, queue.declare-ok …).
func errUnimplemented(k wire.MethodKey) *amqpError {
	return newErr(wire.CommandInvalid, k, "unimplemented method")
}

// errUnexpectedMethod is rabbit_reader's answer to a channel 0 method the
// connection state does not expect.
func errUnexpectedMethod(k wire.MethodKey, state string) *amqpError {
	return newErr(wire.ChannelError, k, "unexpected method in connection state %s", state)
}

func errChannelMax(open, max int) *amqpError {
	return newErr(wire.NotAllowed, 0, "number of channels opened (%d) has reached the negotiated channel_max (%d)", open, max)
}

func errExpectedMethodFrame() *amqpError {
	return newErr(wire.UnexpectedFrame, 0, "expected method frame, got non method frame instead")
}

func errExpectedHeader(k wire.MethodKey) *amqpError {
	return newErr(wire.UnexpectedFrame, k, "expected content header for class %d, got non content header frame instead", k.ClassID())
}

func errHeaderClass(k wire.MethodKey, got uint16) *amqpError {
	return newErr(wire.UnexpectedFrame, k, "expected content header for class %d, got one for class %d instead", k.ClassID(), got)
}

func errExpectedBody(k wire.MethodKey) *amqpError {
	return newErr(wire.UnexpectedFrame, k, "expected content body, got non content body frame instead")
}

func errBodyOverrun(k wire.MethodKey) *amqpError {
	return newErr(wire.FrameError, k, "content body frame exceeds remaining content size")
}

// maxMessageSizeLimit is RabbitMQ's ?MAX_MSG_SIZE: a content header
// announcing more is a frame error whatever max_message_size says.
const maxMessageSizeLimit = 512 << 20

func errBodyTooLarge(k wire.MethodKey, size uint64) *amqpError {
	return newErr(wire.FrameError, k, "content body size %d exceeds maximum allowed size %d", size, maxMessageSizeLimit)
}

// errMessageTooLarge is rabbit_channel:check_msg_size with a configured
// max_message_size: a channel error.
func errMessageTooLarge(size uint64, max int) *amqpError {
	return newErr(wire.PreconditionFailed, wire.KeyBasicPublish, "message size %d is larger than configured max size %d", size, max)
}

// Handshake and connection (rabbit_reader).

func errUnknownMechanism(mech string) *amqpError {
	return newErr(wire.CommandInvalid, wire.KeyConnectionStartOk, "unknown authentication mechanism '%s'", mech)
}

// errLoginRefused is what a client that announced
// authentication_failure_close is told; the details go to the log only.
func errLoginRefused(mech string) *amqpError {
	return newErr(wire.AccessRefused, wire.KeyConnectionStartOk,
		"Login was refused using authentication mechanism %s. For details see the broker logfile.", mech)
}

// errNegotiation is rabbit_reader:fail_negotiation (tune-ok values out of
// range).
func errNegotiation(field string, client, limit uint64, lower bool) *amqpError {
	s1, s2 := "higher", "maximum"
	if lower {
		s1, s2 = "lower", "minimum"
	}
	return newErr(wire.NotAllowed, wire.KeyConnectionTune, "negotiated %s = %d is %s than the %s allowed value (%d)", field, client, s1, s2, limit)
}

func errConnectionLimit(limit int) *amqpError {
	return newErr(wire.NotAllowed, wire.KeyConnectionOpen, "connection refused: node connection limit (%d) is reached", limit)
}

// errShutdown is what every connection is told when Ferry stops.
func errShutdown() *amqpError {
	return newErr(wire.ConnectionForced, 0, "broker forced connection closure with reason 'shutdown'")
}

// classify turns any error met while handling a method into the reply to
// send: its code, text and method ids, and whether it closes the whole
// connection (hard error) or only the channel. key names the method being
// handled, used when the error does not name one itself.
func classify(err error, key wire.MethodKey) (e *amqpError, hard bool) {
	var be *broker.Error
	var we *wire.Error
	var ae *amqpError
	switch {
	case errors.As(err, &ae):
		e = ae
		if e.key == 0 {
			c := *e
			c.key = key
			e = &c
		}
		return e, wire.IsHardError(e.code)
	case errors.As(err, &be):
		// The broker's texts already carry the name prefix and
		// RabbitMQ's wording; only the method ids are added.
		return &amqpError{code: be.Code, text: wire.TruncateReplyText(be.Text), key: key}, be.ConnectionLevel()
	case errors.As(err, &we):
		k := key
		if we.ClassID != 0 || we.MethodID != 0 {
			k = wire.Key(we.ClassID, we.MethodID)
		}
		return &amqpError{code: we.Code, text: we.ReplyText(), key: k}, true
	case errors.Is(err, broker.ErrClosed):
		// The broker closed the connection or channel under us (its
		// vhost or user was deleted, or the broker is stopping).
		return newErr(wire.ConnectionForced, key, "broker forced connection closure with reason 'shutdown'"), true
	}
	return newErr(wire.InternalError, key, "%v", err), true
}

// connectionClose builds the connection.close reporting e.
func (e *amqpError) connectionClose() *wire.ConnectionClose {
	return &wire.ConnectionClose{ReplyCode: e.code, ReplyText: e.text, ClassID: e.key.ClassID(), MethodID: e.key.MethodID()}
}

// channelClose builds the channel.close reporting e.
func (e *amqpError) channelClose() *wire.ChannelClose {
	return &wire.ChannelClose{ReplyCode: e.code, ReplyText: e.text, ClassID: e.key.ClassID(), MethodID: e.key.MethodID()}
}

// brokerError converts a broker.ForceClose reason (vhost or user deleted).
func brokerError(be *broker.Error) *amqpError {
	return &amqpError{code: be.Code, text: wire.TruncateReplyText(be.Text)}
}
