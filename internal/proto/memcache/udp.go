package memcache

import (
	"encoding/binary"
	"errors"
	"net"
)

// memcached's UDP protocol (protocol.txt "UDP protocol"): each datagram
// starts with an 8-byte frame header — request ID, sequence number, total
// number of datagrams in the message, and a reserved zero, all 16-bit big
// endian. A request must fit one datagram; the reply is split into as many
// datagrams as needed, each carrying the request ID.
const (
	udpHeaderLen   = 8
	udpMaxDatagram = 1400 // header included, as memcached's UDP_MAX_PAYLOAD_SIZE
)

// ServeUDP answers memcached requests arriving on pc until it is closed.
func (s *Server) ServeUDP(pc net.PacketConn) error {
	c := &conn{
		srv:    s,
		parser: NewParser(s.cfg.Limits),
		ownOut: make([]byte, 0, outBufSize),
	}
	c.out = c.ownOut
	buf := make([]byte, 64<<10)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue
		}
		if n < udpHeaderLen {
			continue
		}
		reqID := binary.BigEndian.Uint16(buf[0:2])
		total := binary.BigEndian.Uint16(buf[4:6])
		if total != 1 {
			continue // multi-datagram requests are not supported, as in memcached
		}
		reply := c.handleDatagram(buf[udpHeaderLen:n])
		s.sendUDP(pc, addr, reqID, reply)
		s.counts.fold(&c.counts)
		s.classes.fold(&c.classCounts)
	}
}

// handleDatagram runs every complete request in one datagram's payload and
// returns the replies.
func (c *conn) handleDatagram(payload []byte) []byte {
	c.in, c.r, c.w = payload, 0, len(payload)
	c.ownIn = payload // never pooled: it is the datagram buffer
	c.out = c.out[:0]
	c.swallow, c.closing = 0, false
	c.process()
	c.in = nil
	return c.out
}

func (s *Server) sendUDP(pc net.PacketConn, addr net.Addr, reqID uint16, reply []byte) {
	if len(reply) == 0 {
		return
	}
	const chunk = udpMaxDatagram - udpHeaderLen
	total := (len(reply) + chunk - 1) / chunk
	if total > 0xffff {
		return // cannot be framed; memcached drops such replies too
	}
	var dgram [udpMaxDatagram]byte
	for seq := 0; seq < total; seq++ {
		part := reply[seq*chunk : min(len(reply), (seq+1)*chunk)]
		binary.BigEndian.PutUint16(dgram[0:2], reqID)
		binary.BigEndian.PutUint16(dgram[2:4], uint16(seq))
		binary.BigEndian.PutUint16(dgram[4:6], uint16(total))
		binary.BigEndian.PutUint16(dgram[6:8], 0)
		n := copy(dgram[udpHeaderLen:], part)
		pc.WriteTo(dgram[:udpHeaderLen+n], addr)
	}
}
