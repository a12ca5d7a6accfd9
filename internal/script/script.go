// Package script is Ferry's Lua scripting engine: Lua 5.1 (gopher-lua) with
// the environment Redis 7.0 gives scripts — the redis.* API, the sandbox
// (read-only globals and libraries, no os/io/loadfile/dofile), the cjson,
// cmsgpack, bit and struct libraries, Redis's conversions between Lua
// values and RESP2/RESP3 replies, the script cache (EVAL/EVALSHA), function
// libraries (FUNCTION LOAD/FCALL), and the means to stop a running script
// (SCRIPT KILL, FUNCTION KILL, a memory bound).
//
// The package knows nothing of connections or the keyspace: commands a
// script sends with redis.call run through a Host the front end provides,
// which answers in RESP; the package converts that reply to Lua values.
// Runs are serialized by the caller (the Redis front end holds every shard
// of the keyspace while a script runs); an Engine also guards its Lua
// states with its own mutex.
//
// Imports: gopher-lua and the RESP writer (proto/resp).
package script

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Host runs the commands a script sends. Its methods are called on the
// goroutine running the script, with the caller's locks held.
type Host interface {
	// Call runs one command (args[0] is its name) for the running script
	// and returns its reply encoded in RESP version proto; the reply is
	// valid until the next Call. When the command may not run from the
	// script, Call returns a rejection instead, worded as Redis words it,
	// either "-CODE message" or a bare message that gets the ERR code
	// ("Unknown Redis command called from script").
	Call(args [][]byte, proto int) (reply []byte, reject string)
	// CommandExists reports whether args name a command
	// (redis.acl_check_cmd).
	CommandExists(args [][]byte) bool
	// Log writes a message a script logs with redis.log, at a Redis log
	// level (0 debug, 1 verbose, 2 notice, 3 warning).
	Log(level int, msg string)
}

// Replication targets redis.set_repl accepts (REPL_* in the redis table).
const (
	ReplNone    = 0
	ReplAOF     = 1
	ReplReplica = 2
	ReplAll     = ReplAOF | ReplReplica
)

// Stop reasons: why a running script was interrupted.
const (
	stopNone   int32 = iota
	stopKilled       // SCRIPT KILL / FUNCTION KILL
	stopMemory       // the script's memory passed the limit
	stopServer       // SHUTDOWN NOSAVE
)

// Run is one execution of a script or function. The engine sets it up; the
// Host reads and updates it while the script's commands run.
type Run struct {
	// Name is the script's SHA1 (EVAL) or the function's name (FCALL), as
	// errors and FUNCTION STATS print it.
	Name string
	// Eval tells EVAL scripts from functions (SCRIPT KILL kills only the
	// former, FUNCTION KILL only the latter).
	Eval bool
	// Command is the command that started the run, for FUNCTION STATS.
	Command [][]byte
	// Start is when the run began.
	Start time.Time
	// OnBusy, if set, is called once on the script's goroutine when the
	// run passes busy-reply-threshold (a front end serving the client
	// from an event loop hands the loop to its other clients).
	OnBusy func()

	resp  int // protocol of redis.call replies (redis.setresp)
	repl  int // redis.set_repl targets
	wrote atomic.Bool
	stop  atomic.Int32
	busy  atomic.Bool // the monitor saw the run pass the busy threshold

	doneMu sync.Mutex
	done   chan struct{} // made by the first waiter, closed at the end
	ended  bool
}

// Resp returns the RESP version commands called by the script reply in
// (2, or 3 after redis.setresp(3)).
func (r *Run) Resp() int { return r.resp }

// Repl returns the redis.set_repl targets (ReplAll unless the script
// changed them); writes made while ReplAOF is off are not logged.
func (r *Run) Repl() int { return r.repl }

// MarkWrite records that the script ran a write command: from then on it
// cannot be killed (its effects would be half applied).
func (r *Run) MarkWrite() { r.wrote.Store(true) }

// Wrote reports whether the script ran a write command.
func (r *Run) Wrote() bool { return r.wrote.Load() }

// Done returns a channel closed when the run ends.
func (r *Run) Done() <-chan struct{} {
	r.doneMu.Lock()
	defer r.doneMu.Unlock()
	if r.done == nil {
		r.done = make(chan struct{})
		if r.ended {
			close(r.done)
		}
	}
	return r.done
}

func (r *Run) finish() {
	r.doneMu.Lock()
	r.ended = true
	if r.done != nil {
		close(r.done)
	}
	r.doneMu.Unlock()
}

// Errors of Kill.
var (
	// ErrNotBusy: no script is running.
	ErrNotBusy = errors.New("NOTBUSY No scripts in execution right now.")
	// ErrUnkillable: the running script already wrote.
	ErrUnkillable = errors.New("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
	// ErrBusyEval: FUNCTION KILL while an EVAL script runs (Redis
	// answers with its BUSY text for scripts).
	ErrBusyEval = errors.New(BusyEval)
	// ErrBusyFunction: SCRIPT KILL while a function runs.
	ErrBusyFunction = errors.New(BusyFunction)
)

// The BUSY replies other clients get while a script runs past the busy
// threshold (shared.slowevalerr and shared.slowscripterr in Redis 7.0).
const (
	BusyEval     = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	BusyFunction = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
)

// Options configures an Engine.
type Options struct {
	// Log receives warnings (slow scripts, killed scripts).
	Log *slog.Logger
	// MemoryLimit bounds how much heap a running script may add (bytes;
	// 0 = no bound). Writes to the keyspace do not count.
	MemoryLimit int64
	// MaxStringLen bounds strings the libraries build in one step
	// (string.rep, table.concat, cjson.encode, ...): Redis's
	// proto-max-bulk-len.
	MaxStringLen int64
	// KeyspaceUsed reports the keyspace's accounted memory, so that the
	// memory bound can leave out what a script's writes store.
	KeyspaceUsed func() int64
}

// Engine runs Lua scripts and function libraries for one server.
type Engine struct {
	opts Options

	mu   sync.Mutex // held while a Lua state runs
	eval *vm        // the EVAL state, made on first use

	cacheMu    sync.RWMutex
	cache      map[string]*Script
	cacheBytes int64

	funcs functions

	running atomic.Pointer[Run]
	rand    lrand48 // math.random's generator, shared as in Redis (under mu)
	maxStr  atomic.Int64
	memMax  atomic.Int64
	mon     monitor
}

// New returns an Engine.
func New(opts Options) *Engine {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.MaxStringLen <= 0 {
		opts.MaxStringLen = 512 << 20
	}
	e := &Engine{opts: opts, cache: map[string]*Script{}, rand: newLrand48()}
	e.maxStr.Store(opts.MaxStringLen)
	e.memMax.Store(opts.MemoryLimit)
	e.funcs.init()
	return e
}

// SetMaxStringLen changes the bound on strings libraries build.
func (e *Engine) SetMaxStringLen(n int64) { e.maxStr.Store(n) }

// SetMemoryLimit changes the bound on a running script's heap growth
// (0 = none).
func (e *Engine) SetMemoryLimit(n int64) { e.memMax.Store(n) }

// MemoryLimit returns the bound on a running script's heap growth.
func (e *Engine) MemoryLimit() int64 { return e.memMax.Load() }

// Running returns the script or function running now, or nil.
func (e *Engine) Running() *Run { return e.running.Load() }

// Kill stops the running script if it is of the kind asked (eval: SCRIPT
// KILL, else FUNCTION KILL) and has not written, as Redis's scriptKill.
func (e *Engine) Kill(eval bool) error {
	r := e.running.Load()
	if r == nil {
		return ErrNotBusy
	}
	if r.Wrote() {
		return ErrUnkillable
	}
	if eval && !r.Eval {
		return ErrBusyFunction
	}
	if !eval && r.Eval {
		return ErrBusyEval
	}
	r.stop.CompareAndSwap(stopNone, stopKilled)
	return nil
}

// Abort stops the running script whatever it did (SHUTDOWN NOSAVE while
// a script is busy): its writes so far stay.
func (e *Engine) Abort() {
	if r := e.running.Load(); r != nil {
		r.stop.Store(stopServer)
	}
}

// begin makes r the running script.
func (e *Engine) begin(r *Run) {
	r.Start = time.Now()
	r.resp = 2
	r.repl = ReplAll
	e.running.Store(r)
	e.mon.watch(e)
}

// end clears the running script and wakes clients waiting for it.
func (e *Engine) end(r *Run) {
	e.running.Store(nil)
	r.finish()
}
