// Package server is Ferry's composition root: it builds the engines and
// front ends a Config asks for, binds their listeners, serves until its
// context ends, and shuts down gracefully. Nothing imports it but cmd/.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/broker"
	"ferry/internal/config"
	"ferry/internal/keyspace"
	"ferry/internal/netsrv"
	"ferry/internal/persist"
	"ferry/internal/proto/amqp"
	"ferry/internal/proto/memcache"
	"ferry/internal/proto/redis"
	"ferry/internal/proto/resp"
)

// Version is Ferry's own version.
const Version = "0.1.0"

// shutdownGrace bounds how long connections get to finish at shutdown.
const shutdownGrace = 5 * time.Second

// Server is a configured, bound Ferry instance.
type Server struct {
	cfg       config.Config
	log       *slog.Logger
	ks        *keyspace.Keyspace
	memcached *memcache.Server
	redis     *redis.Server
	broker    *broker.Broker              // AMQP engine (nil when AMQP is off)
	amqp      atomic.Pointer[amqp.Server] // AMQP front end
	admin     adminState                  // admin HTTP listener (admin.go)
	listeners []*netsrv.Server
	addrs     map[string][]net.Addr
	packets   []net.PacketConn // UDP listeners (memcached -U)
	persist   *persist.Manager
	stop      chan struct{} // closed by Shutdown
	ready     chan struct{} // closed once the dataset is loaded
	stopOnce  sync.Once

	saveOnExit, nosaveOnExit bool // SHUTDOWN SAVE / NOSAVE
}

// Ready is closed once the dataset has been loaded and writes are accepted.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Shutdown asks Run to return, as SIGTERM does.
func (s *Server) Shutdown() { s.shutdown(false, false) }

// shutdown is SHUTDOWN [SAVE|NOSAVE].
func (s *Server) shutdown(save, nosave bool) {
	s.stopOnce.Do(func() {
		s.saveOnExit, s.nosaveOnExit = save, nosave
		close(s.stop)
	})
}

// Options are the process-level things a Server needs besides its Config.
type Options struct {
	Logger     *slog.Logger
	VerboseOut io.Writer // memcached -v output (default os.Stderr)
}

// New builds the engines and binds every enabled front end's listeners, so
// that errors such as a port in use surface before Run.
func New(cfg config.Config, opt Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	if opt.VerboseOut == nil {
		opt.VerboseOut = os.Stderr
	}
	policy, err := keyspace.ParsePolicy(cfg.Policy)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, addrs: map[string][]net.Addr{}, stop: make(chan struct{}), ready: make(chan struct{})}
	s.ks = keyspace.New(keyspace.Config{
		Databases: cfg.Databases,
		MaxMemory: cfg.MaxMemory,
		Policy:    policy,
	})
	// The Redis command engine also replays the AOF, so it exists even
	// when its listener is off.
	if err := s.newRedis(); err != nil {
		s.closeAll()
		return nil, err
	}
	if err := s.newPersist(); err != nil {
		s.closeAll()
		return nil, err
	}
	if cfg.Memcached.Enabled {
		if err := s.startMemcached(opt); err != nil {
			s.closeAll()
			return nil, err
		}
	}
	if cfg.Redis.Enabled {
		if err := s.startRedis(); err != nil {
			s.closeAll()
			return nil, err
		}
	}
	if cfg.AMQP.Enabled {
		if err := s.startAMQP(); err != nil {
			s.closeAll()
			return nil, err
		}
	}
	if err := s.startAdmin(); err != nil {
		s.closeAll()
		return nil, err
	}
	if err := dropPrivileges(cfg.User); err != nil {
		s.closeAll()
		return nil, err
	}
	return s, nil
}

func (s *Server) startMemcached(opt Options) error {
	mc := s.cfg.Memcached
	host, port, _ := net.SplitHostPort(mc.Addr)
	portNum, _ := strconv.Atoi(port)
	s.memcached = memcache.New(s.ks, memcache.Config{
		Limits: memcache.Limits{
			MaxLine:     2048,
			MaxKeysLine: max(1<<20, mc.MaxItemSize),
			MaxItemSize: mc.MaxItemSize,
		},
		Verbosity:         mc.Verbosity,
		Log:               opt.VerboseOut,
		Threads:           mc.Threads,
		MaxConns:          mc.MaxConns,
		MaxBytes:          s.cfg.MaxMemory,
		EvictionsDisabled: mc.EvictionsDisabled,
		ShutdownEnabled:   mc.ShutdownEnabled,
		Shutdown:          s.Shutdown,
		Persist:           s.persist,
		TCPPort:           portNum,
		UDPPort:           mc.UDPPort,
		Interface:         host,
		PID:               os.Getpid(),
	})
	var counters multiCounter
	for _, h := range strings.Split(host, ",") {
		ln, err := netsrv.Listen(netsrv.Config{
			Name:     "memcached",
			Addr:     net.JoinHostPort(h, port),
			MaxConns: mc.MaxConns,
			Reject:   s.memcached.Reject,
			Logger:   s.log,
			// memcached's worker threads are event loops: -t of them,
			// but no more than the CPUs Go runs on.
			EventLoops: min(mc.Threads, runtime.GOMAXPROCS(0)),
		}, s.memcached)
		if err != nil {
			return err
		}
		s.listeners = append(s.listeners, ln)
		s.addrs["memcached"] = append(s.addrs["memcached"], ln.Addr())
		counters = append(counters, ln)
	}
	s.memcached.SetConnCounter(counters)
	if mc.UDPPort > 0 {
		for _, h := range strings.Split(host, ",") {
			pc, err := net.ListenPacket("udp", net.JoinHostPort(h, strconv.Itoa(mc.UDPPort)))
			if err != nil {
				return fmt.Errorf("memcached: listen udp: %w", err)
			}
			s.packets = append(s.packets, pc)
			s.addrs["memcached-udp"] = append(s.addrs["memcached-udp"], pc.LocalAddr())
		}
	}
	return nil
}

func (s *Server) newRedis() error {
	rc := s.cfg.Redis
	host, port, _ := net.SplitHostPort(rc.Addr)
	portNum, _ := strconv.Atoi(port)
	exe, _ := os.Executable()
	s.redis = redis.New(s.ks, redis.Config{
		Port:           portNum,
		Bind:           host,
		RequirePass:    rc.RequirePass,
		MaxClients:     rc.MaxClients,
		Databases:      s.cfg.Databases,
		Limits:         resp.DefaultLimits,
		Timeout:        rc.Timeout,
		Log:            s.log,
		Shutdown:       s.shutdown,
		ConfigFile:     rc.ConfigFile,
		ExecutablePath: exe,
		FerryVersion:   Version,
	})
	return nil
}

// newPersist builds the persistence manager and connects the front ends
// to it. Loading waits for Run.
func (s *Server) newPersist() error {
	pc := s.cfg.Persist
	save, err := persist.ParseSave(pc.Save)
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	s.persist = persist.New(s.ks, persist.Config{
		Dir:                      s.cfg.Dir,
		AppendOnly:               pc.AppendOnly,
		AppendFsync:              pc.AppendFsync,
		AppendFilename:           pc.AppendFilename,
		AppendDirname:            pc.AppendDirname,
		DBFilename:               pc.DBFilename,
		Save:                     save,
		RDBCompression:           pc.RDBCompression,
		RDBChecksum:              pc.RDBChecksum,
		AOFLoadTruncated:         pc.AOFLoadTruncated,
		AOFUseRDBPreamble:        pc.AOFUseRDBPreamble,
		AutoAOFRewritePercentage: pc.AutoAOFRewritePercentage,
		AutoAOFRewriteMinSize:    pc.AutoAOFRewriteMinSize,
		StopWritesOnBgsaveError:  pc.StopWritesOnBgsaveError,
	}, s.log, s.redis.Limits, s.redis.Replay)
	s.ks.AddObserver(s.persist)
	s.redis.SetPersistence(s.persist, persist.ParamNames)
	return s.redis.ApplyParams(s.cfg.Redis.Params)
}

// eventLoops resolves a configured loop count: -1 is one for every two
// CPUs the Go runtime uses (at least one). A loop keeps a CPU busy under
// load; the other half is left to the rest of Ferry (the broker,
// persistence, pub/sub writers, the garbage collector's workers) and to
// clients on the same host. On two CPUs one loop beside redis-benchmark
// measured level with or above two in every test, with a p99 at P16 about
// a third of two loops' (docs/benchmarks.md).
func eventLoops(n int) int {
	if n < 0 {
		return max(1, runtime.GOMAXPROCS(0)/2)
	}
	return n
}

func (s *Server) startRedis() error {
	rc := s.cfg.Redis
	host, port, _ := net.SplitHostPort(rc.Addr)
	var lns multiCounter
	for _, h := range strings.Split(host, ",") {
		ln, err := netsrv.Listen(netsrv.Config{
			Name:       "redis",
			Addr:       net.JoinHostPort(h, port),
			MaxConns:   rc.MaxClients,
			Reject:     s.redis.Reject,
			Logger:     s.log,
			EventLoops: eventLoops(rc.EventLoops),
		}, s.redis)
		if err != nil {
			return err
		}
		s.listeners = append(s.listeners, ln)
		s.addrs["redis"] = append(s.addrs["redis"], ln.Addr())
		lns = append(lns, ln)
	}
	s.redis.SetListeners(lns)
	if a, ok := lns[0].Addr().(*net.TCPAddr); ok {
		s.redis.SetPort(a.Port)
	}
	return nil
}

// multiCounter sums the connection counters of several listeners.
type multiCounter []*netsrv.Server

func (m multiCounter) Stats() netsrv.Stats {
	var st netsrv.Stats
	for _, l := range m {
		x := l.Stats()
		st.Current += x.Current
		st.Total += x.Total
		st.Rejected += x.Rejected
	}
	return st
}

// SetMaxConns sets each listener's connection limit. With several bind
// addresses the limit holds per address.
func (m multiCounter) SetMaxConns(n int) {
	for _, l := range m {
		l.SetMaxConns(n)
	}
}

// Get returns the open connection with the given ID, or nil.
func (m multiCounter) Get(id uint64) *netsrv.Conn {
	for _, l := range m {
		if c := l.Get(id); c != nil {
			return c
		}
	}
	return nil
}

// Each calls fn for every open connection of the listeners.
func (m multiCounter) Each(fn func(*netsrv.Conn)) {
	for _, l := range m {
		l.Each(fn)
	}
}

// Addr returns the first bound address of a front end ("memcached"), or nil.
func (s *Server) Addr(frontEnd string) net.Addr {
	if a := s.addrs[frontEnd]; len(a) > 0 {
		return a[0]
	}
	return nil
}

// Keyspace returns the data engine (for tests and embedding).
func (s *Server) Keyspace() *keyspace.Keyspace { return s.ks }

// Run serves until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, len(s.listeners))
	var wg sync.WaitGroup
	for _, ln := range s.listeners {
		wg.Add(1)
		go func(ln *netsrv.Server) {
			defer wg.Done()
			if err := ln.Serve(); err != nil {
				errc <- err
			}
		}(ln)
	}
	for _, pc := range s.packets {
		wg.Add(1)
		go func(pc net.PacketConn) {
			defer wg.Done()
			s.memcached.ServeUDP(pc)
		}(pc)
	}
	s.serveAdmin()
	for name, addrs := range s.addrs {
		for _, a := range addrs {
			s.log.Info("listening", "protocol", name, "addr", a.String())
		}
	}
	// Clients are served while the dataset loads; they get -LOADING.
	loaded := make(chan error, 1)
	go func() {
		if err := s.persist.Load(); err != nil {
			loaded <- err
			return
		}
		loaded <- s.persist.Start()
	}()
	var err error
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-s.stop:
			done = true
		case err = <-errc:
			err = fmt.Errorf("listener failed: %w", err)
			done = true
		case err = <-loaded:
			if err != nil {
				s.log.Error("cannot load the dataset", "err", err)
				done = true
			} else {
				s.log.Info("Ready to accept connections")
				close(s.ready)
			}
			loaded = nil
		}
	}
	s.log.Info("shutting down")
	s.closeListeners()
	wg.Wait()
	if loaded == nil && err == nil {
		if perr := s.persist.Close(s.saveOnExit, s.nosaveOnExit); perr != nil {
			s.log.Error("persistence at shutdown", "err", perr)
			err = perr
		}
	}
	s.closeEngines()
	return err
}

func (s *Server) closeAll() {
	s.closeListeners()
	s.closeEngines()
}

func (s *Server) closeListeners() {
	var wg sync.WaitGroup
	for _, ln := range s.listeners {
		wg.Add(1)
		go func(ln *netsrv.Server) {
			defer wg.Done()
			if err := ln.Close(shutdownGrace); err != nil && !errors.Is(err, net.ErrClosed) {
				s.log.Warn("closing listener", "err", err)
			}
		}(ln)
	}
	wg.Wait()
	for _, pc := range s.packets {
		pc.Close()
	}
	s.closeAdmin()
}

func (s *Server) closeEngines() {
	s.closeBroker()
	if s.memcached != nil {
		s.memcached.Close()
	}
	if s.redis != nil {
		s.redis.Close()
	}
	s.ks.Close()
}
