// Package broker is Ferry's AMQP 0-9-1 engine with RabbitMQ 3.10
// semantics, without the wire: vhosts, users and permissions, exchanges
// (direct, fanout, topic, headers; exchange-to-exchange bindings and
// alternate exchanges), classic queues (TTL, length limits and overflow,
// dead-lettering, priorities, single active consumer, exclusive and
// auto-delete queues, x-expires), connections and channels (delivery tags,
// prefetch, acks, publisher confirms, transactions, direct reply-to),
// durable definitions and persistent-message recovery.
//
// The front end (internal/proto/amqp) drives it: Broker.Authenticate and
// Connect per connection, Conn.OpenChannel per channel with a Sink that
// receives what the broker sends, then one Channel method per AMQP method.
// Refusals are *Error values carrying the AMQP reply code and RabbitMQ's
// exact reply text. docs/dev/amqp-broker.md describes the API, the
// concurrency contracts, the lock order and the file formats.
//
// It imports broker/topic, persist/msgstore, clock and the standard
// library; never net or a wire package.
package broker
