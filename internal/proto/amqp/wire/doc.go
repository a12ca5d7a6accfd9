// Package wire is AMQP 0-9-1's codec with RabbitMQ's extensions, without
// I/O and without protocol state: frames, methods, content headers and
// properties, field tables. The connection and channel state machines in
// internal/proto/amqp sit on top of it. It imports only the standard library.
//
// Most of the package is generated (spec_gen.go, by tools/amqpgen from the
// specification JSON in ../shared/amqp): one struct per method (BasicPublish,
// QueueDeclare …) with typed fields, constants for frame types, reply codes,
// classes and method keys, method metadata (MethodKey.Info: name, content,
// synchronous, responses), and BasicProperties. The rest is hand-written:
// frame.go, table.go, codec.go, method.go, errors.go.
//
// # Reading
//
// The front end reads from its socket into a buffer and calls:
//
//	ParseProtocolHeader(buf)      once; on *HeaderError write ProtocolHeader and close
//	ParseFrame(buf, frameMax)     per frame; ErrIncomplete: read more (FrameSize says how much)
//	Decoder.DecodeFrame(f)        method frames → Method (*BasicPublish, *QueueDeclare …)
//	ParseContentHeader(payload)   header frames → class, body size, raw properties
//	BasicPropertiesView.Decode    the properties the broker needs, without allocating
//	f.Payload                     body frames: a view of the buffer, copy or consume it
//
// Errors are *Error values carrying the reply code to close the connection
// with (501 FRAME_ERROR, 502 SYNTAX_ERROR, 505 UNEXPECTED_FRAME, 540
// NOT_IMPLEMENTED), the offending method's ids and RabbitMQ's explanation;
// Error.ConnectionClose builds the reply. Content assembly (a header after a
// content method, body sizes), channel numbering and which method may come
// when are the state machine's business, not this package's.
//
// # Writing
//
// Encoders append to a caller-owned buffer and never fail:
//
//	AppendMethodFrame(dst, ch, m)                   any method
//	AppendContent(dst, ch, m, props, body, frameMax) basic.deliver/get-ok/return with their content
//	AppendBasicHeaderFrame, AppendContentHeaderFrame, AppendBodyFrames, AppendHeartbeat
//	BeginFrame / EndFrame                           any other frame
//
// Method.Validate and BasicProperties.Validate report values that cannot be
// encoded faithfully (a shortstr over 255 bytes, a table value of a Go type
// with no AMQP field type); AppendTo cuts or voids them instead of failing.
//
// # Allocation
//
// ParseFrame, ParseContentHeader, BasicPropertiesView.Decode and every
// encoder allocate nothing. A Decoder reuses one struct per method and
// interns short strings, so decoding basic.publish allocates nothing once
// its exchange and routing key have been seen; tables (method arguments,
// decoded headers) always allocate. See wire_bench_test.go.
//
// docs/dev/amqp-wire.md has the byte layouts and the reasons behind the
// error codes chosen.
package wire
