// Package redis is Ferry's Redis front end: RESP2/RESP3 connections, the
// command table (arity, flags, key positions) and the command families
// (strings.go, keys.go, hashes.go, lists.go, sets.go, zsets.go, tx.go,
// connection.go, admin.go) over the shared keyspace. Engine errors become
// Redis's exact texts in errmap.go. Imports: resp, keyspace, netsrv.
package redis

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/keyspace"
	"ferry/internal/netsrv"
	"ferry/internal/proto/resp"
	"ferry/internal/pubsub"
)

// CompatVersion is the Redis version Ferry reports (INFO, HELLO). Clients
// pick protocol features by it.
const CompatVersion = "7.0.15"

// Config configures the Redis front end. Fields mirror redis.conf options.
type Config struct {
	Port             int
	Bind             string
	RequirePass      string
	MaxClients       int
	Databases        int
	Limits           resp.Limits
	QueryBufferLimit int64 // client-query-buffer-limit (1 GB)
	Timeout          int   // idle client timeout in seconds (0 = none)
	HZ               int
	Log              *slog.Logger
	Shutdown         func(save, nosave bool) // SHUTDOWN asks the process to stop
	ConfigFile       string                  // for CONFIG REWRITE and INFO
	ExecutablePath   string
	Mode             string // "standalone"
	FerryVersion     string
}

// Listeners reports the Redis listeners' connections.
type Listeners interface {
	Stats() netsrv.Stats
	Each(func(*netsrv.Conn))
	Get(id uint64) *netsrv.Conn
	// SetMaxConns changes the connection limit (maxclients).
	SetMaxConns(n int)
}

// Server is the Redis front end. It implements netsrv.Handler.
type Server struct {
	ks      *keyspace.Keyspace
	log     *slog.Logger
	started time.Time
	runID   string

	cfgMu sync.RWMutex // serialises changes to cfg and limits
	cfg   Config
	conf  *settings // CONFIG GET/SET parameters
	// snap is cfg and limits as of their last change (publishConfig):
	// connections read it on every command and read, without a lock whose
	// shared counter would bounce between CPUs.
	snap atomic.Pointer[configSnapshot]

	table     map[string]*Command
	listeners atomic.Pointer[Listeners]

	// counters for INFO stats
	commands     atomic.Uint64
	netIn        atomic.Uint64
	netOut       atomic.Uint64
	rejected     atomic.Uint64
	errorReplies atomic.Uint64
	lastSave     atomic.Int64

	pause    pauseState
	slow     slowlog
	limits   thresholds // collection encodings, guarded by cfgMu
	rates    rateSampler
	errStats errorStats
	blocked  atomic.Int64 // clients in a blocking command
	nowMs    atomic.Int64 // Unix ms, updated by cron: a clock connections read cheaply
	peak     atomic.Int64 // used_memory_peak

	prop       Propagator
	durability Durability
	persist    Persistence

	hub           *pubsub.Hub
	outLimits     outputLimits
	notifications notifier
	scripts       *scripting // Lua scripts and function libraries (scripting.go)

	stopCron chan struct{}
	cronDone chan struct{}

	replayOnce sync.Once
	replayer   *Conn // the client AOF commands run as while loading
}

// New returns a Redis front end over ks.
func New(ks *keyspace.Keyspace, cfg Config) *Server {
	if cfg.Limits.MaxBulkLen == 0 {
		cfg.Limits = resp.DefaultLimits
	}
	if cfg.QueryBufferLimit == 0 {
		cfg.QueryBufferLimit = 1 << 30
	}
	if cfg.Databases == 0 {
		cfg.Databases = ks.Databases()
	}
	if cfg.HZ == 0 {
		cfg.HZ = 10
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Mode == "" {
		cfg.Mode = "standalone"
	}
	var id [20]byte
	rand.Read(id[:])
	s := &Server{
		ks:      ks,
		log:     cfg.Log,
		started: time.Now(),
		runID:   hex.EncodeToString(id[:]),
		cfg:     cfg,
	}
	s.lastSave.Store(s.started.Unix())
	s.nowMs.Store(s.started.UnixMilli())
	s.hub = pubsub.NewHub()
	s.outLimits.hard.Store(32 << 20)
	s.outLimits.soft.Store(8 << 20)
	s.outLimits.secs.Store(60)
	ks.AddObserver(s)
	s.table = buildTable()
	s.slow.init()
	s.conf = newSettings(s)
	s.cfgMu.Lock()
	s.publishConfig()
	s.cfgMu.Unlock()
	s.scripts = newScripting(s)
	s.stopCron, s.cronDone = make(chan struct{}), make(chan struct{})
	go s.cron()
	return s
}

// Close stops the server's background work.
func (s *Server) Close() {
	close(s.stopCron)
	<-s.cronDone
}

// cron samples the instantaneous rates INFO reports, every 100 ms.
func (s *Server) cron() {
	defer close(s.cronDone)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	tick := 0
	for {
		select {
		case <-s.stopCron:
			return
		case now := <-t.C:
			s.nowMs.Store(now.UnixMilli())
			if tick++; tick%10 == 0 {
				s.closeIdleLooped(now.UnixMilli())
			}
			s.rates.sample(s.commands.Load(), s.netIn.Load(), s.netOut.Load())
			s.peakMemory(s.ks.Used())
		}
	}
}

// peakMemory records used as a candidate peak and returns the peak.
func (s *Server) peakMemory(used int64) int64 {
	for {
		p := s.peak.Load()
		if used <= p {
			return p
		}
		if s.peak.CompareAndSwap(p, used) {
			return used
		}
	}
}

// SetPort records the port the server actually listens on (INFO
// tcp_port, CONFIG GET port) when it was asked for port 0.
func (s *Server) SetPort(port int) {
	s.cfgMu.Lock()
	s.cfg.Port = port
	s.publishConfig()
	s.cfgMu.Unlock()
}

// SetListeners tells the server where its listeners' connections are.
func (s *Server) SetListeners(l Listeners) {
	s.listeners.Store(&l)
	s.cfgMu.Lock()
	s.publishConfig()
	s.cfgMu.Unlock()
}

// configSnapshot is an immutable copy of the settings connections read.
type configSnapshot struct {
	cfg    Config
	limits thresholds
}

// publishConfig makes the current cfg and limits visible to readers. Call
// it with cfgMu held, after every change.
func (s *Server) publishConfig() {
	s.snap.Store(&configSnapshot{cfg: s.cfg, limits: s.limits})
	if p := s.listeners.Load(); p != nil {
		(*p).SetMaxConns(s.cfg.MaxClients) // CONFIG SET maxclients
	}
}

// config returns a copy of the current configuration. Hot paths read
// s.snap.Load().cfg's fields instead of copying it all.
func (s *Server) config() Config { return s.snap.Load().cfg }

// Reject tells a client refused at the connection limit why, as Redis.
func (s *Server) Reject(c net.Conn) {
	s.rejected.Add(1)
	io.WriteString(c, "-ERR max number of clients reached\r\n")
}

// closeIdleLooped closes the clients served from an event loop that have
// been idle for timeout seconds, as Redis's client cron does, once a
// second. A client on a goroutine of its own (blocked, subscribed, or
// detached for another reason) has a read deadline instead (fill), which
// spares subscribers as Redis does.
func (s *Server) closeIdleLooped(nowMs int64) {
	secs := s.snap.Load().cfg.Timeout
	if secs <= 0 {
		return
	}
	s.eachClient(func(c *Conn) {
		if c.nc.OnLoop() && nowMs-c.lastActive.Load() > int64(secs)*1000 {
			c.nc.Kill()
		}
	})
}

// eachClient calls fn for every connected client.
func (s *Server) eachClient(fn func(*Conn)) {
	if p := s.listeners.Load(); p != nil {
		(*p).Each(func(nc *netsrv.Conn) {
			if c, ok := nc.Data.Load().(*Conn); ok {
				fn(c)
			}
		})
	}
}

// connStats returns the listeners' connection counters.
func (s *Server) connStats() netsrv.Stats {
	if p := s.listeners.Load(); p != nil {
		return (*p).Stats()
	}
	return netsrv.Stats{}
}
