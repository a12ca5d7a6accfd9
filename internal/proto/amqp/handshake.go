package amqp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"ferry/internal/broker"
	"ferry/internal/proto/amqp/wire"
)

// The handshake (spec 2.2.4, rabbit_reader): protocol header →
// connection.start → start-ok (authentication) → connection.tune → tune-ok
// (negotiation) → connection.open (vhost) → open-ok.

// startOk authenticates the client (connection.start-ok).
func (c *Conn) startOk(m *wire.ConnectionStartOk) {
	if caps, ok := m.ClientProperties["capabilities"].(wire.Table); ok {
		c.capBlocked = caps["connection.blocked"] == true
		c.capCancelNotify = caps["consumer_cancel_notify"] == true
		c.capAuthClose = caps["authentication_failure_close"] == true
	}
	c.mechanism = m.Mechanism
	var user, pass string
	var perr string
	switch m.Mechanism {
	case "PLAIN":
		var ok bool
		if user, pass, ok = parsePlain(m.Response); !ok {
			perr = fmt.Sprintf("response %q invalid", m.Response)
		}
	case "AMQPLAIN":
		var ok bool
		if user, pass, ok = parseAMQPlain(m.Response); !ok {
			perr = fmt.Sprintf("AMQPLAIN auth info %q is missing LOGIN or PASSWORD field", m.Response)
		}
	default:
		c.connectionException(errUnknownMechanism(m.Mechanism))
		return
	}
	if perr != "" {
		c.connectionException(newErr(wire.SyntaxError, wire.KeyConnectionStartOk, "%s", perr))
		return
	}
	u, err := c.srv.b.Authenticate(user, pass)
	if err != nil {
		c.handshakeFailed(errLoginRefused(m.Mechanism),
			fmt.Sprintf("%s login refused: user '%s' - invalid credentials", m.Mechanism, user))
		return
	}
	if c.srv.b.LoopbackOnly(user) && !c.srv.isLoopback(c.nc.RemoteAddr()) {
		c.handshakeFailed(errLoginRefused(m.Mechanism),
			fmt.Sprintf("%s login refused: user '%s' can only connect via localhost", m.Mechanism, user))
		return
	}
	c.user = u
	c.out.method(0, &wire.ConnectionTune{
		ChannelMax: c.srv.cfg.ChannelMax,
		FrameMax:   c.srv.cfg.FrameMax,
		Heartbeat:  uint16(c.srv.cfg.Heartbeat),
	})
	c.state = stateTuning
}

// parsePlain reads a SASL PLAIN response: [authzid] NUL user NUL password.
func parsePlain(resp string) (user, pass string, ok bool) {
	parts := bytes.Split([]byte(resp), []byte{0})
	if len(parts) != 3 {
		return "", "", false
	}
	return string(parts[1]), string(parts[2]), true
}

// parseAMQPlain reads an AMQPLAIN response: a field table without its size
// prefix, holding LOGIN and PASSWORD as long strings.
func parseAMQPlain(resp string) (user, pass string, ok bool) {
	b := make([]byte, 4, 4+len(resp))
	binary.BigEndian.PutUint32(b, uint32(len(resp)))
	t, err := wire.DecodeTable(append(b, resp...))
	if err != nil {
		return "", "", false
	}
	user, ok1 := t["LOGIN"].(string)
	pass, ok2 := t["PASSWORD"].(string)
	return user, pass, ok1 && ok2
}

// tuneOk applies the client's choices (connection.tune-ok). A value of 0
// (no limit) or above the server's proposal takes the server's; a frame_max
// below the spec's minimum is refused as RabbitMQ refuses it. The
// heartbeat is the client's (0 disables heartbeats).
func (c *Conn) tuneOk(m *wire.ConnectionTuneOk) {
	cfg := &c.srv.cfg
	if m.FrameMax != 0 && m.FrameMax < wire.FrameMinSize {
		c.connectionException(errNegotiation("frame_max", uint64(m.FrameMax), wire.FrameMinSize, true))
		return
	}
	c.frameMax = cfg.FrameMax
	if m.FrameMax != 0 && m.FrameMax < c.frameMax {
		c.frameMax = m.FrameMax
	}
	c.frameMaxIn = c.frameMax
	c.channelMax = cfg.ChannelMax
	if m.ChannelMax != 0 && m.ChannelMax < c.channelMax {
		c.channelMax = m.ChannelMax
	}
	c.heartbeat = time.Duration(m.Heartbeat) * time.Second
	if c.heartbeat > 0 {
		c.lastRead = time.Now()
		c.out.setHeartbeat(c.heartbeat / 2)
	}
	c.state = stateOpening
}

// open opens the vhost (connection.open): the connection limit, then the
// user's access to the vhost (broker.Connect).
func (c *Conn) open(m *wire.ConnectionOpen) {
	if max := c.srv.cfg.MaxConnections; max > 0 {
		if n := c.srv.open.Add(1); n > int64(max) {
			c.srv.open.Add(-1)
			c.connectionException(errConnectionLimit(max))
			return
		}
	} else {
		c.srv.open.Add(1)
	}
	bc, err := c.srv.b.Connect(c.user, m.VirtualHost, broker.ConnInfo{Name: c.name, ForceClose: c.forceClose})
	if err != nil {
		c.srv.open.Add(-1)
		e, _ := classify(err, wire.KeyConnectionOpen)
		c.connectionException(e)
		return
	}
	c.bconn = bc
	c.out.method(0, &wire.ConnectionOpenOk{})
	c.state = stateRunning
	c.log.Info(fmt.Sprintf("connection %s: user '%s' authenticated and granted access to vhost '%s'",
		c.name, c.user.Name, m.VirtualHost))
}
