package server

import (
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	"ferry/internal/broker"
	"ferry/internal/config"
	"ferry/internal/netsrv"
	"ferry/internal/proto/amqp"
)

// startAMQP builds the broker (definitions and message store under
// <dir>/amqp, recovered now) and the AMQP front end, and binds its listener.
func (s *Server) startAMQP() error {
	ac := s.cfg.AMQP
	hw, err := memoryHighWatermark(ac.MemoryHighWatermark)
	if err != nil {
		return fmt.Errorf("amqp-memory-high-watermark: %w", err)
	}
	b, err := broker.New(broker.Config{
		Dir:                 filepath.Join(s.cfg.Dir, "amqp"),
		Codec:               amqp.PropsCodec{},
		Logger:              s.log,
		MemoryHighWatermark: hw,
		// vm_memory_high_watermark_paging_ratio: paging starts at this
		// share of the watermark.
		MemoryPagingThreshold: int64(float64(hw) * ac.MemoryPagingRatio),
		DefaultUser:           ac.DefaultUser,
		DefaultPass:           ac.DefaultPass,
		DefaultVHost:          ac.DefaultVHost,
		LoopbackUsers:         append([]string{}, ac.LoopbackUsers...), // non-nil: "" means nobody
		OnMemoryAlarm: func(raised bool) {
			// Called from whatever goroutine crossed the mark; the
			// front end only flags its connections.
			if f := s.amqp.Load(); f != nil {
				f.MemoryAlarm(raised)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("amqp: %w", err)
	}
	s.broker = b
	fe := amqp.New(b, amqp.Config{
		ChannelMax:       uint16(ac.ChannelMax),
		FrameMax:         uint32(ac.FrameMax),
		Heartbeat:        heartbeatSetting(ac.Heartbeat),
		MaxMessageSize:   int(ac.MaxMessageSize),
		MaxConnections:   ac.MaxConnections,
		HandshakeTimeout: time.Duration(ac.HandshakeTimeout) * time.Millisecond,
		FerryVersion:     Version,
		Logger:           s.log,
	})
	s.amqp.Store(fe)
	ln, err := netsrv.Listen(netsrv.Config{Name: "amqp", Addr: ac.Addr, Reject: fe.Reject, Logger: s.log}, fe)
	if err != nil {
		return err
	}
	s.listeners = append(s.listeners, ln)
	s.addrs["amqp"] = append(s.addrs["amqp"], ln.Addr())
	return nil
}

// heartbeatSetting maps the config's "0 = no heartbeats" onto the front
// end's "negative = none" (its zero means RabbitMQ's default).
func heartbeatSetting(secs int) int {
	if secs == 0 {
		return -1
	}
	return secs
}

// Broker returns the AMQP broker engine, or nil when the AMQP front end is
// disabled (for the admin API and ferry ctl).
func (s *Server) Broker() *broker.Broker { return s.broker }

// AMQP returns the AMQP front end, or nil when it is disabled.
func (s *Server) AMQP() *amqp.Server { return s.amqp.Load() }

// memoryHighWatermark turns vm_memory_high_watermark into bytes: a
// fraction of the machine's memory, or an absolute size; 0 disables the
// alarm.
func memoryHighWatermark(v string) (int64, error) {
	frac, abs, err := config.ParseWatermark(v)
	if err != nil {
		return 0, err
	}
	if frac == 0 {
		return abs, nil
	}
	total := totalMemory()
	if total == 0 {
		return 0, nil // unknown machine size: no alarm rather than a wrong one
	}
	return int64(frac * float64(total)), nil
}

// totalMemory returns the machine's physical memory in bytes, or 0.
func totalMemory() uint64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

// closeBroker closes the broker after the listeners: every AMQP connection
// has been told to close by then; pending message-store writes are synced.
func (s *Server) closeBroker() {
	if s.broker == nil {
		return
	}
	if err := s.broker.Close(); err != nil && err != broker.ErrClosed {
		s.log.Error("amqp: closing the broker", "err", err)
	}
}
