// Package amqp is Ferry's AMQP 0-9-1 front end: the connection and channel
// state machines that let RabbitMQ clients (amqp091-go, pika, kombu/py-amqp,
// Celery) talk to the broker engine unchanged. It reads frames with the
// sans-I/O codec in amqp/wire, assembles content (method → header → body
// frames, interleaved across channels), dispatches every method of the
// connection, channel, exchange, queue, basic, confirm and tx classes to
// internal/broker, and writes replies and deliveries through one output
// buffer per connection drained by one writer goroutine. Errors of every
// origin become RabbitMQ 3.10's channel.close / connection.close replies in
// errmap.go. Imports: amqp/wire, broker, netsrv, bufpool.
//
// docs/dev/amqp.md describes the life of a message through the front end,
// the connection states and the known deviations from RabbitMQ.
package amqp

import (
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/broker"
	"ferry/internal/netsrv"
	"ferry/internal/proto/amqp/wire"
)

// CompatVersion is the RabbitMQ version Ferry reports in connection.start
// (server property "version"); product is "RabbitMQ", because clients and
// their test suites pick features by it.
const CompatVersion = "3.10.8"

// Config configures the AMQP front end. Zero fields take RabbitMQ's
// defaults (see DefaultConfig).
type Config struct {
	// ChannelMax is the channel_max proposed in connection.tune (2047).
	ChannelMax uint16
	// FrameMax is the frame_max proposed in connection.tune (131072); at
	// least 4096.
	FrameMax uint32
	// Heartbeat is the heartbeat timeout proposed in connection.tune, in
	// seconds (60); the client's tune-ok value is used (0 disables).
	// Negative disables the server's proposal too.
	Heartbeat int
	// MaxMessageSize bounds a message body (128 MiB, RabbitMQ's
	// max_message_size); at most 512 MiB.
	MaxMessageSize int
	// MaxConnections bounds the open connections (0 = unlimited);
	// connection.open beyond it is refused with 530, as RabbitMQ's
	// connection_max.
	MaxConnections int
	// HandshakeTimeout bounds the time from accept to connection.open
	// (10 s, RabbitMQ's handshake_timeout).
	HandshakeTimeout time.Duration
	// AuthFailureDelay is how long a connection whose login failed is
	// kept before it is closed (3 s, RabbitMQ's SILENT_CLOSE_DELAY).
	AuthFailureDelay time.Duration
	// ClusterName is reported in the server properties (rabbit@<host>).
	ClusterName string
	// FerryVersion is reported in the server properties.
	FerryVersion string
	// Logger receives connection events and errors.
	Logger *slog.Logger
}

// DefaultConfig returns RabbitMQ's defaults.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	return Config{
		ChannelMax:       2047,
		FrameMax:         131072,
		Heartbeat:        60,
		MaxMessageSize:   128 << 20,
		HandshakeTimeout: 10 * time.Second,
		AuthFailureDelay: 3 * time.Second,
		ClusterName:      "rabbit@" + host,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.ChannelMax == 0 {
		c.ChannelMax = d.ChannelMax
	}
	if c.FrameMax == 0 {
		c.FrameMax = d.FrameMax
	}
	if c.FrameMax < wire.FrameMinSize {
		c.FrameMax = wire.FrameMinSize
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = d.Heartbeat
	}
	if c.Heartbeat < 0 {
		c.Heartbeat = 0
	}
	if c.Heartbeat > 65535 {
		c.Heartbeat = 65535
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = d.MaxMessageSize
	}
	if c.MaxMessageSize > maxMessageSizeLimit {
		c.MaxMessageSize = maxMessageSizeLimit
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = d.HandshakeTimeout
	}
	if c.AuthFailureDelay < 0 {
		c.AuthFailureDelay = 0
	}
	if c.ClusterName == "" {
		c.ClusterName = d.ClusterName
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server is the AMQP front end over one broker. It implements
// netsrv.Handler.
type Server struct {
	b     *broker.Broker
	cfg   Config
	log   *slog.Logger
	start []byte // the encoded connection.start frame, the same for all

	mu    sync.Mutex
	conns map[*Conn]struct{}

	open     atomic.Int64 // connections past connection.open
	alarm    atomic.Bool  // the broker's memory alarm is raised
	bytesIn  atomic.Uint64
	bytesOut atomic.Uint64

	// isLoopback decides whether a peer may log in as a loopback-only
	// user (guest); tests replace it.
	isLoopback func(net.Addr) bool
}

// New returns the AMQP front end for broker b.
func New(b *broker.Broker, cfg Config) *Server {
	cfg.fill()
	s := &Server{b: b, cfg: cfg, log: cfg.Logger, conns: map[*Conn]struct{}{}, isLoopback: isLoopbackAddr}
	start := &wire.ConnectionStart{
		VersionMajor:     wire.ProtocolMajor,
		VersionMinor:     wire.ProtocolMinor,
		ServerProperties: s.serverProperties(),
		Mechanisms:       "PLAIN AMQPLAIN",
		Locales:          "en_US",
	}
	s.start = wire.AppendMethodFrame(nil, 0, start)
	s.alarm.Store(b.MemoryAlarm())
	return s
}

// serverProperties is connection.start's server-properties table, with the
// keys and capabilities RabbitMQ 3.10 sends (rabbit_reader:server_properties).
func (s *Server) serverProperties() wire.Table {
	caps := wire.Table{}
	for _, c := range []string{"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
		"consumer_cancel_notify", "connection.blocked", "consumer_priorities",
		"authentication_failure_close", "per_consumer_qos", "direct_reply_to"} {
		caps[c] = true
	}
	v := s.cfg.FerryVersion
	if v == "" {
		v = "dev"
	}
	return wire.Table{
		"capabilities": caps,
		"cluster_name": s.cfg.ClusterName,
		"copyright":    "Ferry " + v + ": memcached, Redis and RabbitMQ in one process.",
		"information":  "Ferry " + v + ", an AMQP 0-9-1 broker with RabbitMQ's behaviour.",
		"platform":     "Go " + runtime.Version(),
		"product":      "RabbitMQ",
		"version":      CompatVersion,
	}
}

// Broker returns the broker the front end serves.
func (s *Server) Broker() *broker.Broker { return s.b }

// Config returns the front end's configuration, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// MemoryAlarm tells the front end that the broker's memory alarm was raised
// (true) or cleared. Connections that publish while it is raised stop being
// read and, when they announced the connection.blocked capability, are sent
// connection.blocked; connection.unblocked follows when it clears. It does
// not block and may be called from any goroutine (the broker's
// OnMemoryAlarm callback).
func (s *Server) MemoryAlarm(raised bool) {
	s.alarm.Store(raised)
	if raised {
		return
	}
	s.mu.Lock()
	for c := range s.conns {
		select {
		case c.unblock <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
}

// Stats are the front end's counters.
type Stats struct {
	Connections int64  // connections past connection.open
	BytesIn     uint64 // octets read
	BytesOut    uint64 // octets written
}

// Stats returns the front end's counters.
func (s *Server) Stats() Stats {
	return Stats{Connections: s.open.Load(), BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load()}
}

// Reject is netsrv's hook for a connection refused at the listener's
// limit. AMQP has nothing to say before the protocol header, so the socket
// is simply closed (Config.MaxConnections is enforced at connection.open,
// where RabbitMQ enforces its connection_max).
func (s *Server) Reject(net.Conn) {}

// ServeConn serves one AMQP connection (netsrv.Handler).
func (s *Server) ServeConn(nc *netsrv.Conn) {
	c := newConn(s, nc)
	nc.Data.Store(c)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	c.serve()
}

func isLoopbackAddr(a net.Addr) bool {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.IsLoopback()
	}
	return false
}
