// Package memcache is Ferry's memcached front end: the text and meta
// protocols of memcached 1.6 over the shared keyspace (items are string
// values in database 0 carrying client flags and a CAS unique). The parser
// is sans-I/O (parser.go); handlers map keyspace results to memcached's
// exact reply lines (errmap.go). Imports: keyspace, netsrv.
package memcache

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/keyspace"
	"ferry/internal/netsrv"
)

// CompatVersion is the memcached version Ferry answers `version` with.
// Clients use it to decide which protocol features to use, so it names the
// memcached release whose protocol Ferry implements.
const CompatVersion = "1.6.21"

// Config configures the memcached front end. Field comments name the
// memcached flag each one mirrors.
type Config struct {
	Limits            Limits
	DB                int         // database the items live in (0)
	Verbosity         int         // -v, -vv, -vvv
	Log               io.Writer   // where verbose output goes (memcached: stderr)
	Threads           int         // -t (reported; Go schedules connections itself)
	MaxConns          int         // -c
	MaxBytes          int64       // -m in bytes (reported as limit_maxbytes)
	EvictionsDisabled bool        // -M
	ShutdownEnabled   bool        // -A
	Shutdown          func()      // called by the shutdown command when enabled
	Persist           Persistence // nil: nothing is persisted
	TCPPort, UDPPort  int         // -p, -U (reported in stats settings)
	Interface         string      // -l
	PID               int
}

// ConnCounter reports the memcached listeners' connections.
type ConnCounter interface {
	Stats() netsrv.Stats
	Each(func(*netsrv.Conn))
}

// Server is the memcached front end. It implements netsrv.Handler.
type Server struct {
	ks        *keyspace.Keyspace
	cfg       Config
	started   time.Time
	verbosity atomic.Int32
	counts    sharedCounts
	classes   classStats
	detail    prefixStats
	conns     atomic.Pointer[ConnCounter]
	logMu     sync.Mutex

	flushMu    sync.Mutex
	flushTimer *time.Timer
}

// New returns a memcached front end over ks.
func New(ks *keyspace.Keyspace, cfg Config) *Server {
	if cfg.Limits.MaxLine == 0 {
		cfg.Limits = DefaultLimits
	}
	if cfg.Threads == 0 {
		cfg.Threads = 4
	}
	s := &Server{ks: ks, cfg: cfg, started: ks.Clock().Now()}
	s.verbosity.Store(int32(cfg.Verbosity))
	ks.AddObserver(s)
	// memcached -vv lists its slab classes at startup; tools and people
	// read them to see how item sizes map to classes.
	for i, size := range slabClasses {
		s.logf(2, "slab class %3d: chunk size %9d perslab %7d", i+1, size, slabPageSize/size)
	}
	return s
}

// SetConnCounter tells the server where its listener's counters are.
func (s *Server) SetConnCounter(c ConnCounter) { s.conns.Store(&c) }

// Reject tells a client refused at the connection limit why, as memcached.
func (s *Server) Reject(c net.Conn) {
	io.WriteString(c, "ERROR Too many open connections\r\n")
}

// logf writes one line of verbose output when the level is at least min.
func (s *Server) logf(min int, format string, args ...any) {
	if s.cfg.Log == nil || int(s.verbosity.Load()) < min {
		return
	}
	s.logMu.Lock()
	fmt.Fprintf(s.cfg.Log, format+"\n", args...)
	s.logMu.Unlock()
}

// Close stops a pending delayed flush.
func (s *Server) Close() {
	s.flushMu.Lock()
	if s.flushTimer != nil {
		s.flushTimer.Stop()
	}
	s.flushMu.Unlock()
}

// scheduleFlush empties the database now (delay 0) or after delay; a new
// call replaces a pending one, as memcached's flush_all does. An immediate
// flush returns its log offset, which the reply waits for under
// appendfsync always.
func (s *Server) scheduleFlush(delay time.Duration) (logOffset int64) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if s.flushTimer != nil {
		s.flushTimer.Stop()
		s.flushTimer = nil
	}
	flush := func() (off int64) {
		t := s.ks.LockAll(s.cfg.DB)
		t.FlushDB(s.cfg.DB)
		if s.cfg.Persist != nil {
			off = s.cfg.Persist.Append(s.cfg.DB, [][]byte{[]byte("FLUSHDB")})
		}
		t.Unlock()
		return off
	}
	if delay <= 0 {
		return flush()
	}
	s.flushTimer = time.AfterFunc(delay, func() { flush() })
	return 0
}
