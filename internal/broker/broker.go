package broker

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"

	"ferry/internal/clock"
	"ferry/internal/persist/msgstore"
	"ferry/internal/persist/pagestore"
)

// Config configures a Broker.
type Config struct {
	// Dir holds the broker's state: definitions.json and msgstore/. Empty
	// means nothing is persisted (durable entities and persistent messages
	// live in memory only).
	Dir string
	// Store tunes the message store.
	Store msgstore.Options
	// Codec re-encodes properties for dead-lettering and BCC stripping and
	// decodes them at recovery. Without one, dead-lettered messages keep
	// their properties unchanged (no x-death) and recovered messages have
	// no headers.
	Codec PropsCodec
	// Clock tells the time (TTLs, x-death timestamps); default the real one.
	Clock clock.Clock
	// Logger receives warnings; default slog.Default().
	Logger *slog.Logger
	// DefaultUser and DefaultPass create the first user (with the
	// administrator tag and full permissions on DefaultVHost) when no
	// definitions exist; defaults guest/guest and "/".
	DefaultUser, DefaultPass, DefaultVHost string
	// LoopbackUsers may only connect from loopback addresses (RabbitMQ's
	// loopback_users); nil means ["guest"]. Use an empty non-nil slice to
	// allow guest from anywhere.
	LoopbackUsers []string
	// MemoryHighWatermark is the message memory (bytes) above which
	// OnMemoryAlarm(true) is called, so the front end can block publishers
	// (connection.blocked); below it again, OnMemoryAlarm(false). Zero
	// disables the alarm.
	MemoryHighWatermark int64
	// OnMemoryAlarm is called, from whatever goroutine crossed the mark,
	// when the alarm raises or clears. It must not block or call the broker.
	OnMemoryAlarm func(blocked bool)
	// MemoryPagingThreshold is the message memory (bytes) above which
	// queues page the bodies of ready messages to <Dir>/transient
	// (RabbitMQ's vm_memory_high_watermark_paging_ratio times the high
	// watermark). Zero, or no Dir, disables paging.
	MemoryPagingThreshold int64
}

// Broker is the AMQP model: vhosts with their exchanges, queues and
// bindings, users and permissions, and the durable message store. Create
// one with New; the front end opens a Conn per AMQP connection and a
// Channel per AMQP channel.
//
// Lock order (a goroutine holding one may take those after it, never
// before): Broker.defsMu → Broker.mu → VHost.mu → Queue.mu → Channel.mu →
// (Sink internals, msgstore). Conn.mu is taken only with nothing else held
// or right after Broker.mu.
type Broker struct {
	cfg   Config
	clock clock.Clock
	log   *slog.Logger
	codec PropsCodec
	store *msgstore.Store

	mu       sync.RWMutex
	vhosts   map[string]*VHost
	users    map[string]*User
	perms    map[permKey]*Permission
	conns    map[uint64]*Conn
	replyTos map[string]*Channel // direct reply-to suffix → channel
	closed   bool

	// authzEpoch changes whenever permissions change, invalidating the
	// channels' permission caches.
	authzEpoch atomic.Uint64
	connSeq    atomic.Uint64

	// defsMu serialises writes of definitions.json; nextStoreID is the
	// next msgstore queue id and is saved with them.
	defsMu      sync.Mutex
	nextStoreID uint64

	mem     atomic.Int64
	alarmed atomic.Bool

	// pages holds paged-out message data (nil: no paging).
	pages             *pagestore.Store
	pagedOut, pagedIn atomic.Uint64

	closedStats  chanStats // counters of closed channels
	deadLettered atomic.Uint64
}

// New creates a broker, loading definitions and recovering durable
// messages from cfg.Dir when set.
func New(cfg Config) (*Broker, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DefaultUser == "" {
		cfg.DefaultUser, cfg.DefaultPass = "guest", "guest"
	}
	if cfg.DefaultVHost == "" {
		cfg.DefaultVHost = "/"
	}
	if cfg.LoopbackUsers == nil {
		cfg.LoopbackUsers = []string{"guest"}
	}
	if cfg.Store.Logger == nil {
		cfg.Store.Logger = cfg.Logger
	}
	b := &Broker{
		cfg:         cfg,
		clock:       cfg.Clock,
		log:         cfg.Logger,
		codec:       cfg.Codec,
		vhosts:      map[string]*VHost{},
		users:       map[string]*User{},
		perms:       map[permKey]*Permission{},
		conns:       map[uint64]*Conn{},
		replyTos:    map[string]*Channel{},
		nextStoreID: 1,
	}
	if cfg.Dir != "" && cfg.MemoryPagingThreshold > 0 {
		// Always wiped: transient messages do not survive a restart. Opened
		// before the definitions load so recovered queues page too.
		pages, err := pagestore.Open(filepath.Join(cfg.Dir, "transient"), 0)
		if err != nil {
			return nil, err
		}
		b.pages = pages
	}
	loaded := false
	if cfg.Dir != "" {
		var err error
		if loaded, err = b.loadDefinitions(); err != nil {
			return nil, err
		}
	}
	if !loaded {
		if err := b.createDefaults(); err != nil {
			return nil, err
		}
	}
	if cfg.Dir != "" {
		store, rec, err := msgstore.Open(filepath.Join(cfg.Dir, "msgstore"), cfg.Store)
		if err != nil {
			if b.pages != nil {
				b.pages.Close()
			}
			return nil, err
		}
		b.store = store
		if err := b.recoverMessages(rec); err != nil {
			store.Close()
			return nil, err
		}
		if !loaded {
			if err := b.saveDefinitions(); err != nil {
				store.Close()
				return nil, err
			}
		}
	}
	return b, nil
}

func (b *Broker) createDefaults() error {
	if _, err := b.addVHost(b.cfg.DefaultVHost); err != nil {
		return err
	}
	hash, _ := decodeHash(HashPassword(b.cfg.DefaultPass))
	b.users[b.cfg.DefaultUser] = &User{Name: b.cfg.DefaultUser, hash: hash, Tags: []string{"administrator"}}
	p, err := newPermission(b.cfg.DefaultUser, b.cfg.DefaultVHost, ".*", ".*", ".*")
	if err != nil {
		return err
	}
	b.perms[permKey{b.cfg.DefaultUser, b.cfg.DefaultVHost}] = p
	return nil
}

// Close closes every connection, then the message store (writing and
// syncing what is pending). Queued messages stay in the store.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.closed = true
	conns := make([]*Conn, 0, len(b.conns))
	for _, c := range b.conns {
		conns = append(conns, c)
	}
	vhs := make([]*VHost, 0, len(b.vhosts))
	for _, vh := range b.vhosts {
		vhs = append(vhs, vh)
	}
	b.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	for _, vh := range vhs {
		vh.stopTimers()
	}
	var err error
	if b.store != nil {
		err = b.store.Close()
	}
	if b.pages != nil {
		b.pages.Close()
	}
	return err
}

// now returns the broker clock's time in unix milliseconds.
func (b *Broker) now() int64 { return b.clock.Now().UnixMilli() }

// vhost returns the named vhost or nil.
func (b *Broker) vhost(name string) *VHost {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.vhosts[name]
}

// Stats are broker-wide counters for metrics and the dashboard.
type Stats struct {
	Memory       int64 // bytes of messages held
	MemoryAlarm  bool
	Connections  int
	Published    uint64
	Delivered    uint64
	Acked        uint64
	Confirmed    uint64
	Returned     uint64
	DeadLettered uint64
	Store        msgstore.Stats
	// PagedOut and PagedIn count messages moved to and read back from the
	// page store; Pages describes what it holds now.
	PagedOut, PagedIn uint64
	Pages             pagestore.Stats
}

// Stats returns a snapshot of the broker's counters.
func (b *Broker) Stats() Stats {
	var t chanStats
	b.closedStats.addTo(&t)
	b.mu.RLock()
	n := len(b.conns)
	for _, c := range b.conns {
		c.mu.Lock()
		for ch := range c.channels {
			ch.stats.addTo(&t)
		}
		c.mu.Unlock()
	}
	b.mu.RUnlock()
	s := Stats{
		Memory: b.mem.Load(), MemoryAlarm: b.alarmed.Load(), Connections: n,
		Published: t.published.Load(), Delivered: t.delivered.Load(), Acked: t.acked.Load(),
		Confirmed: t.confirmed.Load(), Returned: t.returned.Load(), DeadLettered: b.deadLettered.Load(),
	}
	if b.store != nil {
		s.Store = b.store.Stats()
	}
	if b.pages != nil {
		s.PagedOut, s.PagedIn, s.Pages = b.pagedOut.Load(), b.pagedIn.Load(), b.pages.Stats()
	}
	return s
}

// Memory returns the bytes of messages the broker holds (bodies,
// properties and per-message bookkeeping).
func (b *Broker) Memory() int64 { return b.mem.Load() }

// MemoryAlarm reports whether memory is above the high watermark.
func (b *Broker) MemoryAlarm() bool { return b.alarmed.Load() }

// memAdd adjusts the memory total and raises or clears the alarm when it
// crosses the watermark.
func (b *Broker) memAdd(d int64) {
	n := b.mem.Add(d)
	hw := b.cfg.MemoryHighWatermark
	if hw <= 0 {
		return
	}
	if n > hw {
		if !b.alarmed.Load() && b.alarmed.CompareAndSwap(false, true) {
			b.log.Warn("broker: memory high watermark reached; blocking publishers", "memory", n, "watermark", hw)
			if b.cfg.OnMemoryAlarm != nil {
				b.cfg.OnMemoryAlarm(true)
			}
		}
	} else if b.alarmed.Load() && b.alarmed.CompareAndSwap(true, false) {
		b.log.Info("broker: memory below high watermark; unblocking publishers", "memory", n)
		if b.cfg.OnMemoryAlarm != nil {
			b.cfg.OnMemoryAlarm(false)
		}
	}
}

func errf(format string, args ...any) error { return fmt.Errorf("broker: "+format, args...) }
