package broker

import (
	"errors"
	"fmt"
)

// AMQP 0-9-1 reply codes (amqp0-9-1.xml constants) the broker returns.
const (
	CodeContentTooLarge    = 311
	CodeNoRoute            = 312
	CodeNoConsumers        = 313
	CodeConnectionForced   = 320
	CodeInvalidPath        = 402
	CodeAccessRefused      = 403
	CodeNotFound           = 404
	CodeResourceLocked     = 405
	CodePreconditionFailed = 406
	CodeFrameError         = 501
	CodeSyntaxError        = 502
	CodeCommandInvalid     = 503
	CodeChannelError       = 504
	CodeUnexpectedFrame    = 505
	CodeResourceError      = 506
	CodeNotAllowed         = 530
	CodeNotImplemented     = 540
	CodeInternalError      = 541
)

var codeNames = map[uint16]string{
	CodeContentTooLarge:    "CONTENT_TOO_LARGE",
	CodeNoRoute:            "NO_ROUTE",
	CodeNoConsumers:        "NO_CONSUMERS",
	CodeConnectionForced:   "CONNECTION_FORCED",
	CodeInvalidPath:        "INVALID_PATH",
	CodeAccessRefused:      "ACCESS_REFUSED",
	CodeNotFound:           "NOT_FOUND",
	CodeResourceLocked:     "RESOURCE_LOCKED",
	CodePreconditionFailed: "PRECONDITION_FAILED",
	CodeFrameError:         "FRAME_ERROR",
	CodeSyntaxError:        "SYNTAX_ERROR",
	CodeCommandInvalid:     "COMMAND_INVALID",
	CodeChannelError:       "CHANNEL_ERROR",
	CodeUnexpectedFrame:    "UNEXPECTED_FRAME",
	CodeResourceError:      "RESOURCE_ERROR",
	CodeNotAllowed:         "NOT_ALLOWED",
	CodeNotImplemented:     "NOT_IMPLEMENTED",
	CodeInternalError:      "INTERNAL_ERROR",
}

// CodeName returns the spec's name for an AMQP reply code ("NOT_FOUND").
func CodeName(code uint16) string { return codeNames[code] }

// Error is a broker refusal carrying the AMQP reply code and the reply text
// exactly as RabbitMQ 3.10 sends it, name prefix included:
// "NOT_FOUND - no queue 'q' in vhost '/'". The front end's errmap turns it
// into channel.close or connection.close (see ConnectionLevel).
type Error struct {
	Code uint16
	Text string
}

// Error returns the reply text.
func (e *Error) Error() string { return e.Text }

// ConnectionLevel reports whether the code is a connection exception (the
// connection must close) rather than a channel exception, per the spec's
// soft-error/hard-error classes.
func (e *Error) ConnectionLevel() bool {
	switch e.Code {
	case CodeContentTooLarge, CodeNoRoute, CodeNoConsumers, CodeAccessRefused,
		CodeNotFound, CodeResourceLocked, CodePreconditionFailed:
		return false
	}
	return true
}

// newError formats a reply text the way rabbit_misc:protocol_error does:
// the code's name, " - ", then the explanation.
func newError(code uint16, format string, args ...any) *Error {
	return &Error{Code: code, Text: codeNames[code] + " - " + fmt.Sprintf(format, args...)}
}

// ErrLoginRefused is returned by Authenticate for a bad user or password.
// The front end words it with the mechanism it used:
// "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN.
// For details see the broker logfile."
var ErrLoginRefused = errors.New("broker: login refused")

// ErrClosed is returned by operations on a closed channel, connection or
// broker.
var ErrClosed = errors.New("broker: closed")

// rs names a resource as rabbit_misc:rs does: "queue 'q' in vhost '/'".
func rs(kind, name, vhost string) string {
	return fmt.Sprintf("%s '%s' in vhost '%s'", kind, name, vhost)
}

func errNotFound(kind, name, vhost string) *Error {
	return newError(CodeNotFound, "no %s", rs(kind, name, vhost))
}

func errLocked(name, vhost string) *Error {
	return newError(CodeResourceLocked,
		"cannot obtain exclusive access to locked %s. It could be originally declared on another connection "+
			"or the exclusive property value does not match that of the original declaration.", rs("queue", name, vhost))
}

func errDefaultExchange() *Error {
	return newError(CodeAccessRefused, "operation not permitted on the default exchange")
}
