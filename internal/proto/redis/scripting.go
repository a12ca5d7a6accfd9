package redis

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/bufpool"
	"ferry/internal/keyspace"
	"ferry/internal/script"
)

// Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (functions.go
// has FUNCTION and FCALL). The Lua engine is internal/script; this file
// runs scripts the way Redis 7.0's script.c does:
//
//   - A script holds every shard of the keyspace for its whole run (as
//     EXEC does), so nothing interleaves with it and it may touch keys it
//     did not declare, in any slot.
//   - The commands it sends run as a client of their own (the script
//     client): its database starts as the caller's and SELECT inside the
//     script does not change the caller's; its protocol is the script's
//     (redis.setresp); blocking commands do not block.
//   - Its writes reach the AOF as the commands that ran (effects
//     replication), wrapped in MULTI/EXEC, and fire keyspace events.
//   - Other clients that arrive while it runs wait; once it has run for
//     busy-reply-threshold (lua-time-limit) they get -BUSY, and SCRIPT
//     KILL / FUNCTION KILL stop it unless it already wrote.

var _ = registerCommands(
	&Command{Name: "eval", Run: func(c *Conn, a [][]byte) { c.eval(a, false, false) }, Keys: numKeysAt(2)},
	&Command{Name: "evalsha", Run: func(c *Conn, a [][]byte) { c.eval(a, true, false) }, Keys: numKeysAt(2)},
	&Command{Name: "eval_ro", Run: func(c *Conn, a [][]byte) { c.eval(a, false, true) }, Keys: numKeysAt(2)},
	&Command{Name: "evalsha_ro", Run: func(c *Conn, a [][]byte) { c.eval(a, true, true) }, Keys: numKeysAt(2)},
	container("script",
		cmd("load", cmdScriptLoad),
		cmd("exists", cmdScriptExists),
		cmd("flush", cmdScriptFlush),
		cmd("kill", func(c *Conn, _ [][]byte) { c.killScript(true) }),
		cmd("debug", cmdScriptDebug),
		cmd("help", helpFor("SCRIPT",
			"DEBUG (YES|SYNC|NO)",
			"    Set the debug mode for subsequent scripts executed.",
			"EXISTS <sha1> [<sha1> ...]",
			"    Return information about the existence of the scripts in the script cache.",
			"FLUSH [ASYNC|SYNC]",
			"    Flush the Lua scripts cache. Very dangerous on replicas.",
			"    When called without the optional mode argument, the behavior is determined by the",
			"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
			"    * ASYNC: Asynchronously flush the scripts cache.",
			"    * SYNC: Synchronously flush the scripts cache.",
			"KILL",
			"    Kill the currently executing Lua script.",
			"LOAD <script>",
			"    Load a script into the scripts cache without executing it.")),
	),
)

const (
	errNoScript     = "NOSCRIPT No matching script. Please use EVAL."
	errKeysNegative = "ERR Number of keys can't be negative"
	errKeysTooMany  = "ERR Number of keys can't be greater than number of args"
	errROWriteFlag  = "ERR Can not execute a script with write flag using *_ro command."
)

// busyWaitFree is how long a script may run before other clients stop
// going straight for the keyspace locks and wait for it (with -BUSY after
// the threshold) instead: short scripts, the common case, cost waiting
// clients nothing extra.
const busyWaitFree = time.Millisecond

// scripting is the server's scripting state.
type scripting struct {
	// Scripts queue here before they take the keyspace (see submit):
	// one runner at a time instead of a convoy through every shard lock.
	// Order: the runner role, then the shards, then the engine's lock;
	// qmu is held only to change the queue.
	qmu     sync.Mutex
	running bool // a goroutine is the runner
	// runner is the connection whose goroutine runs the queue; busy is set
	// while the running script is past busy-reply-threshold. A goroutine
	// in submit may be an event loop's: past the threshold every such
	// connection leaves its loop (see onBusy).
	runner *Conn
	busy   bool
	queue  []*scriptJob
	qhead  int
	eng    *script.Engine
	busyMs atomic.Int64 // busy-reply-threshold
	client *Conn        // the script client (scripts run one at a time)
	host   scriptHost
}

func newScripting(s *Server) *scripting {
	x := &scripting{}
	x.eng = script.New(script.Options{
		Log:          s.log,
		MemoryLimit:  1 << 30,
		MaxStringLen: s.cfg.Limits.MaxBulkLen,
		KeyspaceUsed: s.ks.Used,
	})
	x.busyMs.Store(5000)
	x.eng.SetBusyThreshold(5000)
	x.client = &Conn{srv: s, authed: true, ownOut: make([]byte, 0, outBufSize)}
	x.client.out.Buf = x.client.ownOut
	x.client.out.Proto = 2
	x.host.srv = s
	// busy-reply-threshold (lua-time-limit) and lua-memory-limit take
	// effect here; settings.go lists them as stored-only by default.
	delete(s.conf.extra, "busy-reply-threshold")
	delete(s.conf.extra, "lua-time-limit")
	s.conf.add(&setting{name: "busy-reply-threshold", aliases: []string{"lua-time-limit"}, isInt: true,
		get: func() string { return strconv.FormatInt(x.busyMs.Load(), 10) },
		set: func(v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return errors.New("argument couldn't be parsed into an integer")
			}
			if n < 0 {
				return errors.New("argument must be between 0 and 9223372036854775807 inclusive")
			}
			x.busyMs.Store(n)
			x.eng.SetBusyThreshold(n)
			return nil
		}})
	s.conf.add(&setting{name: "lua-memory-limit", memory: true,
		get: func() string { return strconv.FormatInt(x.eng.MemoryLimit(), 10) },
		set: func(v string) error {
			n, err := parseMemory(v)
			if err != nil {
				return err
			}
			x.eng.SetMemoryLimit(n)
			return nil
		}})
	return x
}

// checkBusy runs before every command another client sends while a script
// runs: a command that may not run during a busy script waits for the
// script to end, or gets -BUSY once the script has run for the busy
// threshold. It returns the error to reply, or "".
func (s *Server) checkBusy(c *Conn, cmd *Command) string {
	r := s.scripts.eng.Running()
	if r == nil || cmd.has(flagAllowBusy) || c.loading || c == s.scripts.client {
		return ""
	}
	for r != nil {
		elapsed := time.Since(r.Start)
		if elapsed < busyWaitFree {
			return "" // probably over soon: wait on the locks as usual
		}
		if msg := s.waitScript(r, elapsed); msg != "" {
			return msg
		}
		r = s.scripts.eng.Running()
	}
	return ""
}

// waitScript waits for r to end; it returns r's BUSY text instead once r
// has run for the busy threshold.
func (s *Server) waitScript(r *script.Run, elapsed time.Duration) string {
	busy := script.BusyFunction
	if r.Eval {
		busy = script.BusyEval
	}
	ms := s.scripts.busyMs.Load()
	if ms <= 0 {
		<-r.Done()
		return ""
	}
	left := time.Duration(ms)*time.Millisecond - elapsed
	if left <= 0 {
		return busy
	}
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-r.Done():
		return ""
	case <-t.C:
		return busy
	}
}

// eval runs EVAL, EVALSHA and their read-only forms.
func (c *Conn) eval(args [][]byte, bySHA, ro bool) {
	numkeys, ok := parseInt(args[2])
	if !ok {
		c.out.Error(errNotInteger)
		return
	}
	if numkeys > int64(len(args)-3) {
		c.out.Error(errKeysTooMany)
		return
	}
	if numkeys < 0 {
		c.out.Error(errKeysNegative)
		return
	}
	eng := c.srv.scripts.eng
	var sc *script.Script
	if bySHA {
		if sc = eng.Lookup(args[1]); sc == nil {
			c.out.Error(errNoScript)
			return
		}
	} else {
		var err error
		if sc, err = eng.Load(args[1]); err != nil {
			c.out.Error(err.Error())
			return
		}
	}
	keys, argv := args[3:3+numkeys], args[3+numkeys:]
	c.runScript(args, sc.Flags, ro, func(run *script.Run, h script.Host) {
		eng.Eval(sc, run, keys, argv, h, &c.out)
	})
}

// runScript checks a script may run (scriptPrepareForRun), takes the whole
// keyspace, sets up the script client, runs body, and propagates what the
// script wrote.
func (c *Conn) runScript(args [][]byte, flags script.Flags, ro bool, body func(*script.Run, script.Host)) {
	s := c.srv
	compat := flags&script.FlagEvalCompat != 0
	if !compat && flags&script.FlagNoWrites == 0 {
		if s.durability != nil && !c.loading {
			if msg := s.durability.WriteError(); msg != "" {
				c.out.Error(msg)
				return
			}
		}
		if ro {
			c.out.Error(errROWriteFlag)
			return
		}
	}
	oom := s.ks.MaxMemory() > 0 && !c.loading && s.ks.Reserve(0) != nil
	if oom && !compat && flags&(script.FlagAllowOOM|script.FlagNoWrites) == 0 {
		c.out.Error(errOOM)
		return
	}

	if c.execTxn != nil {
		c.runScriptIn(c.execTxn, args, flags, ro, oom, body)
		return
	}
	j := scriptJobs.Get().(*scriptJob)
	j.c, j.args, j.flags, j.ro, j.oom, j.body = c, args, flags, ro, oom, body
	s.scripts.submit(j)
	j.c, j.args, j.body = nil, nil, nil
	scriptJobs.Put(j)
}

// run runs a queued script with the whole keyspace held.
func (j *scriptJob) run() {
	c := j.c
	txn := c.srv.ks.LockAll(c.db)
	c.runScriptIn(&txn, j.args, j.flags, j.ro, j.oom, j.body)
	txn.Unlock()
}

// runScriptIn sets up the script client on t (which holds every shard),
// runs body, and propagates what the script wrote.
func (c *Conn) runScriptIn(t *keyspace.Txn, args [][]byte, flags script.Flags, ro, oom bool, body func(*script.Run, script.Host)) {
	s := c.srv
	compat := flags&script.FlagEvalCompat != 0
	sc := s.scripts.client
	sc.db = c.db
	sc.curDB.Store(int32(c.db))
	sc.execTxn = t
	sc.propDirty = t.Dirty()
	sc.execLogged = c.execTxn != nil && c.execLogged
	sc.logOffset = 0
	sc.loading = c.loading
	sc.noProp = false
	h := &s.scripts.host
	*h = scriptHost{srv: s, sc: sc,
		ro:       ro || !compat && flags&script.FlagNoWrites != 0,
		allowOOM: !compat && flags&script.FlagAllowOOM != 0,
		oom:      oom}
	run := &script.Run{Command: args}
	if c.nc != nil {
		// Past busy-reply-threshold other clients must get -BUSY and may
		// send SCRIPT KILL: no event loop may wait for the script.
		run.OnBusy = func() { s.scripts.onBusy(c) }
	}
	h.run = run
	body(run, h)
	if c.nc != nil && run.OnBusy == nil { // it passed the threshold
		s.scripts.qmu.Lock()
		s.scripts.busy = false
		s.scripts.qmu.Unlock()
	}

	// The caller's database stays as it was whatever the script selected.
	// Everything the script client and host hold is settled before the
	// locks go: the next script reuses them at once.
	t.SetDB(c.db)
	if c.execTxn == nil && sc.execLogged && s.prop != nil {
		sc.logOffset = s.prop.Append(sc.db, [][]byte{[]byte("EXEC")})
	}
	if sc.logOffset > c.logOffset {
		c.logOffset = sc.logOffset
	}
	if c.execTxn != nil {
		c.execLogged = sc.execLogged
		c.propDirty = t.Dirty()
	}
	sc.execTxn = nil
	sc.releaseOut()
	h.run = nil
}

// Scripts run one at a time. Connections that want to run one queue a
// job; the first finds no one running scripts and becomes the runner: it
// runs its own job, then the jobs queued meanwhile, back to back, while
// their connections sleep (flat combining). With a plain mutex every
// script would wait for the previous holder's goroutine to be woken and
// scheduled, and under many clients that wake-up, not the script, set
// the pace (EVALSHA ran at a third of redis-server's rate). A runner
// hands the role to the next queued connection after combineMax jobs of
// others, so its own reply is not held back long.
const combineMax = 32

// scriptJob is one queued script run. A connection reuses jobs from
// scriptJobs; done is signalled once the job ran (lead false) or its
// connection is to run the queue (lead true).
type scriptJob struct {
	c     *Conn
	args  [][]byte
	flags script.Flags
	ro    bool
	oom   bool
	body  func(*script.Run, script.Host)

	done     chan struct{}
	lead     bool
	panicked any
}

var scriptJobs = sync.Pool{New: func() any { return &scriptJob{done: make(chan struct{}, 1)} }}

// submit runs j, as the runner or through the runner.
func (x *scripting) submit(j *scriptJob) {
	j.lead, j.panicked = false, nil
	x.qmu.Lock()
	if x.running {
		x.queue = append(x.queue, j)
		if x.busy {
			j.c.detach() // this goroutine may be a loop's: it waits long
		}
		x.qmu.Unlock()
		<-j.done
		if !j.lead {
			if p := j.panicked; p != nil {
				panic(p)
			}
			return
		}
	} else {
		x.running = true
		x.runner = j.c
		x.qmu.Unlock()
	}
	// This goroutine is the runner: whatever happens, the role passes on.
	defer x.handOver()
	j.run()
	for n := 0; n < combineMax; n++ {
		o := x.next()
		if o == nil {
			return
		}
		o.runFor()
		o.done <- struct{}{}
	}
}

// runFor runs a job for another connection; a panic is re-raised on the
// job's own goroutine.
func (j *scriptJob) runFor() {
	defer func() {
		if p := recover(); p != nil {
			j.panicked = p
		}
	}()
	j.run()
}

// next takes the first queued job, or returns nil.
func (x *scripting) next() *scriptJob {
	x.qmu.Lock()
	defer x.qmu.Unlock()
	if x.qhead == len(x.queue) {
		return nil
	}
	j := x.queue[x.qhead]
	x.queue[x.qhead] = nil
	x.qhead++
	if x.qhead == len(x.queue) {
		x.queue, x.qhead = x.queue[:0], 0
	}
	return j
}

// handOver ends this goroutine's turn as the runner: the first queued
// connection becomes the runner, or no one is.
func (x *scripting) handOver() {
	x.qmu.Lock()
	if x.qhead == len(x.queue) {
		x.running, x.runner = false, nil
		x.qmu.Unlock()
		return
	}
	j := x.queue[x.qhead]
	x.queue[x.qhead] = nil
	x.qhead++
	if x.qhead == len(x.queue) {
		x.queue, x.qhead = x.queue[:0], 0
	}
	x.runner = j.c
	x.qmu.Unlock()
	j.lead = true
	j.done <- struct{}{}
}

// onBusy runs on the script's goroutine when c's script passes
// busy-reply-threshold. Every connection whose goroutine waits for the
// script leaves its event loop, or the loop's other clients could neither
// get -BUSY nor send SCRIPT KILL: c, the runner (the script's goroutine is
// its own, and may be a loop's even when c is another connection), and
// the connections queued behind. The last two wait in submit, touching
// nothing of their socket, and learn that they were detached (Ready
// checks Detached) only after the runner signals them: detaching them from
// here is safe. Connections that queue later detach themselves.
func (x *scripting) onBusy(c *Conn) {
	x.qmu.Lock()
	defer x.qmu.Unlock()
	x.busy = true
	c.detach()
	if x.runner != nil {
		x.runner.detach()
	}
	for _, j := range x.queue[x.qhead:] {
		j.c.detach()
	}
}

// detach moves a connection off its event loop (see onBusy).
func (c *Conn) detach() {
	if c.nc != nil {
		c.nc.Detach()
	}
}

// releaseOut gives back a reply buffer that grew for a large reply.
func (c *Conn) releaseOut() {
	if cap(c.out.Buf) > cap(c.ownOut) {
		bufpool.Put(c.out.Buf)
	}
	c.out.Buf = c.ownOut[:0]
}

// scriptHost runs the commands of the running script (script.Host).
type scriptHost struct {
	srv      *Server
	sc       *Conn
	run      *script.Run
	ro       bool // read-only script: no write commands
	allowOOM bool
	oom      bool // memory was over maxmemory when the script started
	dirty    bool // the script already wrote
}

// lookupScriptCommand finds a command as Redis's lookupCommand does for
// scripts: a container's subcommand when there is a second argument.
func (s *Server) lookupScriptCommand(args [][]byte) *Command {
	cmd := s.lookupCommand(args[0])
	if cmd == nil || cmd.Sub == nil || len(args) == 1 {
		return cmd
	}
	return cmd.Sub[lowerName(string(args[1]))]
}

// mayReplicate lists the commands Redis flags may_replicate that scripts
// can call: read-only scripts may not run them.
func mayReplicate(cmd *Command) bool {
	switch cmd.Name {
	case "publish", "spublish", "pfcount":
		return true
	}
	return false
}

// Call is scriptCall: the checks Redis makes before a script's command,
// then the command itself on the script client.
func (h *scriptHost) Call(args [][]byte, proto int) ([]byte, string) {
	s := h.srv
	cmd := s.lookupScriptCommand(args)
	if cmd == nil {
		return nil, "Unknown Redis command called from script"
	}
	if (cmd.Arity > 0 && len(args) != cmd.Arity) || len(args) < -cmd.Arity {
		return nil, "Wrong number of args calling Redis command from script"
	}
	if cmd.has(flagNoScript) {
		return nil, "This Redis command is not allowed from script"
	}
	write := cmd.has(flagWrite)
	if h.ro && (write || mayReplicate(cmd)) {
		return nil, "Write commands are not allowed from read-only scripts."
	}
	if write && !h.dirty && s.durability != nil && !h.sc.loading {
		if msg := s.durability.WriteError(); msg != "" {
			return nil, "-" + msg
		}
	}
	if !h.allowOOM && h.oom && !h.dirty && cmd.has(flagDenyOOM) {
		return nil, "-" + errOOM
	}
	if write {
		h.dirty = true
		h.run.MarkWrite()
	}
	sc := h.sc
	sc.releaseOut()
	sc.out.Proto = proto
	sc.argv = args
	sc.noProp = h.run.Repl()&script.ReplAOF == 0
	sc.call(cmd, args)
	return sc.out.Buf, ""
}

// CommandExists reports whether args name a command (redis.acl_check_cmd).
func (h *scriptHost) CommandExists(args [][]byte) bool {
	return h.srv.lookupScriptCommand(args) != nil
}

// Log writes a redis.log message at its level.
func (h *scriptHost) Log(level int, msg string) {
	switch level {
	case 0, 1:
		h.srv.log.Debug(msg)
	case 2:
		h.srv.log.Info(msg)
	default:
		h.srv.log.Warn(msg)
	}
}

func cmdScriptLoad(c *Conn, args [][]byte) {
	sc, err := c.srv.scripts.eng.Load(args[2])
	if err != nil {
		c.out.Error(err.Error())
		return
	}
	c.out.BulkString(sc.SHA)
}

func cmdScriptExists(c *Conn, args [][]byte) {
	c.out.Array(len(args) - 2)
	for _, sha := range args[2:] {
		if c.srv.scripts.eng.Exists(sha) {
			c.out.Int(1)
		} else {
			c.out.Int(0)
		}
	}
}

func cmdScriptFlush(c *Conn, args [][]byte) {
	if len(args) > 3 || len(args) == 3 && !equalFold(args[2], "sync") && !equalFold(args[2], "async") {
		c.out.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
		return
	}
	c.srv.scripts.eng.FlushScripts()
	c.out.OK()
}

// cmdScriptDebug: Ferry has no Lua debugger (LDB); SCRIPT DEBUG NO is
// accepted, YES and SYNC are refused.
func cmdScriptDebug(c *Conn, args [][]byte) {
	switch {
	case equalFold(args[2], "no"):
		c.out.OK()
	case equalFold(args[2], "yes"), equalFold(args[2], "sync"):
		c.out.Error("ERR Ferry does not support the Lua debugger")
	default:
		c.out.Error("ERR Use SCRIPT DEBUG YES/SYNC/NO")
	}
}

// killScript is SCRIPT KILL (eval) and FUNCTION KILL.
func (c *Conn) killScript(eval bool) {
	if err := c.srv.scripts.eng.Kill(eval); err != nil {
		c.out.Error(err.Error())
		return
	}
	c.out.OK()
}

// scriptMemoryInfo adds the scripting lines of INFO memory.
func (s *Server) scriptMemoryInfo(kv func(string, any)) {
	n, bytes := s.scripts.eng.ScriptStats()
	libs, funcs := s.scripts.eng.FunctionCounts()
	const vm = 32 << 10 // a Lua state's own footprint, roughly
	kv("used_memory_lua", vm)
	kv("used_memory_vm_eval", vm)
	kv("used_memory_lua_human", humanBytes(vm))
	kv("used_memory_scripts_eval", bytes)
	kv("number_of_cached_scripts", n)
	kv("number_of_functions", funcs)
	kv("number_of_libraries", libs)
	kv("used_memory_vm_functions", vm)
	kv("used_memory_vm_total", 2*vm)
	kv("used_memory_vm_total_human", humanBytes(2*vm))
	fnBytes := int64(0)
	for _, l := range s.scripts.eng.Libraries() {
		fnBytes += int64(len(l.Code)) + 64
	}
	kv("used_memory_functions", fnBytes)
	kv("used_memory_scripts", bytes+fnBytes)
	kv("used_memory_scripts_human", humanBytes(bytes+fnBytes))
}

// shutdownScript lets SHUTDOWN past a running script as Redis does:
// SHUTDOWN NOSAVE stops the script (its writes so far stay); any other
// SHUTDOWN waits for it, and gets -BUSY once it is busy.
func (s *Server) shutdownScript(nosave bool) string {
	r := s.scripts.eng.Running()
	if r == nil {
		return ""
	}
	if nosave {
		s.scripts.eng.Abort()
		return ""
	}
	for r != nil {
		if msg := s.waitScript(r, time.Since(r.Start)); msg != "" {
			return msg
		}
		r = s.scripts.eng.Running()
	}
	return ""
}
