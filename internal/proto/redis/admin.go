package redis

import (
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/keyspace"
)

// Server commands: CONFIG DBSIZE TIME LASTSAVE FLUSHDB FLUSHALL SWAPDB
// SHUTDOWN MEMORY SLOWLOG LATENCY DEBUG ROLE LOLWUT (INFO is in info.go,
// COMMAND in commandcmd.go).

var _ = registerCommands(
	container("config",
		cmd("get", cmdConfigGet),
		cmd("set", cmdConfigSet),
		cmd("resetstat", cmdConfigResetStat),
		cmd("rewrite", cmdConfigRewrite),
		cmd("help", helpFor("CONFIG", "GET <pattern>", "SET <directive> <value>", "RESETSTAT", "REWRITE")),
	),
	cmd("dbsize", cmdDBSize),
	cmd("time", cmdTime),
	cmd("lastsave", func(c *Conn, _ [][]byte) { c.out.Int(c.srv.lastSaveTime()) }),
	cmd("flushdb", cmdFlushDB),
	cmd("flushall", cmdFlushAll),
	cmd("swapdb", cmdSwapDB),
	cmd("shutdown", cmdShutdown),
	container("memory",
		cmd("usage", cmdMemoryUsage),
		cmd("stats", cmdMemoryStats),
		cmd("doctor", func(c *Conn, _ [][]byte) {
			c.out.Verbatim("txt", "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.")
		}),
		cmd("malloc-stats", func(c *Conn, _ [][]byte) { c.out.Verbatim("txt", "Stats not supported for the current allocator") }),
		cmd("purge", func(c *Conn, _ [][]byte) { c.out.OK() }),
		cmd("help", helpFor("MEMORY", "DOCTOR", "MALLOC-STATS", "PURGE", "STATS", "USAGE <key> [SAMPLES <count>]")),
	),
	container("slowlog",
		cmd("get", cmdSlowlogGet),
		cmd("len", func(c *Conn, _ [][]byte) { c.out.Int(int64(c.srv.slow.len())) }),
		cmd("reset", func(c *Conn, _ [][]byte) { c.srv.slow.reset(); c.out.OK() }),
		cmd("help", helpFor("SLOWLOG", "GET [<count>]", "LEN", "RESET")),
	),
	container("latency",
		cmd("latest", func(c *Conn, _ [][]byte) { c.out.Array(0) }),
		cmd("history", func(c *Conn, _ [][]byte) { c.out.Array(0) }),
		cmd("reset", func(c *Conn, _ [][]byte) { c.out.Int(0) }),
		cmd("doctor", func(c *Conn, _ [][]byte) {
			c.out.Verbatim("txt", "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it.")
		}),
		cmd("graph", func(c *Conn, args [][]byte) {
			c.out.Error("ERR No samples available for event '" + clip(args[2]) + "'")
		}),
		cmd("histogram", cmdLatencyHistogram),
		cmd("help", helpFor("LATENCY", "DOCTOR", "GRAPH <event>", "HISTORY <event>", "LATEST", "RESET [<event> ...]", "HISTOGRAM [COMMAND ...]")),
	),
	cmd("role", cmdRole),
	cmd("lolwut", func(c *Conn, _ [][]byte) {
		c.out.Verbatim("txt", "Ferry ver. "+CompatVersion+"\n")
	}),
	cmd("debug", cmdDebug),
)

// helpFor builds a HELP subcommand listing lines as Redis formats them.
func helpFor(name string, lines ...string) func(*Conn, [][]byte) {
	return func(c *Conn, _ [][]byte) {
		c.out.Array(len(lines) + 3)
		c.out.Simple(name + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
		for _, l := range lines {
			c.out.Simple(l)
		}
		c.out.Simple("HELP")
		c.out.Simple("    Prints this help.")
	}
}

func cmdConfigGet(c *Conn, args [][]byte) {
	var pairs [][2]string
	seen := map[string]bool{}
	for _, a := range args[2:] {
		for _, p := range c.srv.conf.match(string(a)) {
			if !seen[p[0]] {
				seen[p[0]] = true
				pairs = append(pairs, p)
			}
		}
	}
	c.out.Map(len(pairs))
	for _, p := range pairs {
		c.out.BulkString(p[0])
		c.out.BulkString(p[1])
	}
}

func cmdConfigSet(c *Conn, args [][]byte) {
	if len(args)%2 != 0 {
		c.out.Error(errArgs(c.srv.table["config"].Sub["set"]))
		return
	}
	var pairs [][2]string
	for i := 2; i < len(args); i += 2 {
		pairs = append(pairs, [2]string{string(args[i]), string(args[i+1])})
	}
	name, err := c.srv.conf.set(pairs)
	switch {
	case err == nil:
		c.out.OK()
	case err == errUnknownParam:
		c.out.Error("ERR Unknown option or number of arguments for CONFIG SET - '" + name + "'")
	case err == errImmutable:
		c.out.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - can't set immutable config")
	case err == errDuplicateParam:
		c.out.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - duplicate parameter")
	default:
		c.out.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + err.Error())
	}
}

func cmdConfigResetStat(c *Conn, args [][]byte) {
	s := c.srv
	s.commands.Store(0)
	s.netIn.Store(0)
	s.netOut.Store(0)
	s.rejected.Store(0)
	s.errorReplies.Store(0)
	s.ks.ResetStats()
	for _, cmd := range s.table {
		resetCmdStats(cmd)
	}
	s.slow.reset()
	c.out.OK()
}

func resetCmdStats(cmd *Command) {
	cmd.calls.Store(0)
	cmd.usec.Store(0)
	cmd.rejectedCalls.Store(0)
	cmd.failedCalls.Store(0)
	for _, sub := range cmd.Sub {
		resetCmdStats(sub)
	}
}

func cmdConfigRewrite(c *Conn, args [][]byte) {
	path := c.srv.config().ConfigFile
	if path == "" {
		c.out.Error("ERR The server is running without a config file")
		return
	}
	var b strings.Builder
	b.WriteString("# Rewritten by Ferry CONFIG REWRITE\n")
	for _, p := range c.srv.conf.match("*") {
		b.WriteString(p[0] + " " + strconv.Quote(p[1]) + "\n")
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		c.out.Error("ERR Rewriting config file: " + err.Error())
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		c.out.Error("ERR Rewriting config file: " + err.Error())
		return
	}
	c.out.OK()
}

func cmdDBSize(c *Conn, args [][]byte) {
	t := c.lockAll()
	n := t.DBSize(c.db)
	c.unlock(t)
	c.out.Int(int64(n))
}

func cmdTime(c *Conn, args [][]byte) {
	now := time.Now()
	c.out.Array(2)
	c.out.BulkInt(now.Unix())
	c.out.BulkInt(int64(now.Nanosecond() / 1000))
}

// flushMode checks FLUSHDB/FLUSHALL's optional ASYNC|SYNC argument.
func (c *Conn) flushMode(args [][]byte) bool {
	if len(args) > 2 || (len(args) == 2 && !equalFold(args[1], "async") && !equalFold(args[1], "sync")) {
		c.out.Error(errSyntax)
		return false
	}
	return true
}

func cmdFlushDB(c *Conn, args [][]byte) {
	if !c.flushMode(args) {
		return
	}
	t := c.lockAll()
	t.FlushDB(c.db)
	c.unlock(t)
	c.out.OK()
}

func cmdFlushAll(c *Conn, args [][]byte) {
	if !c.flushMode(args) {
		return
	}
	t := c.lockAll()
	for db := 0; db < c.srv.ks.Databases(); db++ {
		t.FlushDB(db)
	}
	c.unlock(t)
	c.out.OK()
}

func cmdSwapDB(c *Conn, args [][]byte) {
	a, ok1 := parseInt(args[1])
	b, ok2 := parseInt(args[2])
	if !ok1 || a < math.MinInt32 || a > math.MaxInt32 {
		c.out.Error("ERR invalid first DB index")
		return
	}
	if !ok2 || b < math.MinInt32 || b > math.MaxInt32 {
		c.out.Error("ERR invalid second DB index")
		return
	}
	n := int64(c.srv.ks.Databases())
	if a < 0 || a >= n || b < 0 || b >= n {
		c.out.Error(errDBIndex)
		return
	}
	t := c.lockAll()
	t.SwapDB(int(a), int(b))
	c.unlock(t)
	c.out.OK()
}

func cmdShutdown(c *Conn, args [][]byte) {
	save, nosave := false, false
	for _, a := range args[1:] {
		switch {
		case equalFold(a, "nosave"):
			nosave = true
		case equalFold(a, "save"):
			save = true
		case equalFold(a, "now"), equalFold(a, "force"), equalFold(a, "abort"):
		default:
			c.out.Error(errSyntax)
			return
		}
	}
	if save && nosave {
		c.out.Error(errSyntax)
		return
	}
	if len(args) > 1 && equalFold(args[len(args)-1], "abort") {
		c.out.Error("ERR No shutdown in progress.")
		return
	}
	if msg := c.srv.shutdownScript(nosave); msg != "" {
		c.out.Error(msg)
		return
	}
	if c.srv.cfg.Shutdown == nil {
		c.out.Error("ERR Errors trying to SHUTDOWN. Check logs.")
		return
	}
	c.srv.log.Info("User requested shutdown...")
	c.closing = true
	go c.srv.cfg.Shutdown(save, nosave)
}

func cmdMemoryUsage(c *Conn, args [][]byte) {
	if len(args) != 3 && !(len(args) == 5 && equalFold(args[3], "samples")) {
		c.out.Error(errSyntax)
		return
	}
	t := c.lock(args[2])
	e := t.Peek(args[2])
	var n int64
	if e != nil {
		n = keyspace.EntrySize(e)
	}
	c.unlock(t)
	if e == nil {
		c.out.Null()
		return
	}
	c.out.Int(n)
}

func cmdMemoryStats(c *Conn, args [][]byte) {
	used := c.srv.ks.Used()
	t := c.lockAll()
	keys := 0
	for db := 0; db < c.srv.ks.Databases(); db++ {
		keys += t.DBSize(db)
	}
	c.unlock(t)
	stats := []struct {
		k string
		v int64
	}{
		{"peak.allocated", used}, {"total.allocated", used}, {"startup.allocated", 0},
		{"replication.backlog", 0}, {"clients.slaves", 0}, {"clients.normal", int64(c.srv.connStats().Current) * (readBufSize + outBufSize)},
		{"aof.buffer", 0}, {"lua.caches", 0}, {"overhead.total", 0}, {"keys.count", int64(keys)},
		{"keys.bytes-per-key", used / max(int64(keys), 1)}, {"dataset.bytes", used},
	}
	c.out.Map(len(stats))
	for _, s := range stats {
		c.out.BulkString(s.k)
		c.out.Int(s.v)
	}
}

func cmdRole(c *Conn, args [][]byte) {
	c.out.Array(3)
	c.out.BulkString("master")
	c.out.Int(0)
	c.out.Array(0)
}

func cmdLatencyHistogram(c *Conn, args [][]byte) {
	var cmds []*Command
	if len(args) == 2 {
		for _, cmd := range c.srv.table {
			if cmd.calls.Load() > 0 {
				cmds = append(cmds, cmd)
			}
		}
	} else {
		for _, a := range args[2:] {
			if cmd := c.srv.lookupCommand(a); cmd != nil && cmd.calls.Load() > 0 {
				cmds = append(cmds, cmd)
			}
		}
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	c.out.Map(len(cmds))
	for _, cmd := range cmds {
		c.out.BulkString(cmd.Name)
		c.out.Map(2)
		c.out.BulkString("calls")
		c.out.Int(int64(cmd.calls.Load()))
		c.out.BulkString("histogram_usec")
		c.out.Map(0)
	}
}

// cmdDebug implements the DEBUG subcommands test suites and tools use.
func cmdDebug(c *Conn, args [][]byte) {
	switch {
	case equalFold(args[1], "sleep") && len(args) == 3:
		secs, ok := parseFloat(args[2])
		if !ok {
			c.out.Error(errNotFloat)
			return
		}
		time.Sleep(time.Duration(secs * float64(time.Second)))
		c.out.OK()
	case equalFold(args[1], "set-active-expire") && len(args) == 3:
		n, _ := strconv.Atoi(string(args[2])) // Redis reads it with atoi
		c.srv.ks.SetActiveExpire(n != 0)
		c.out.OK()
	case equalFold(args[1], "object") && len(args) == 3:
		t := c.lock(args[2])
		e := t.Peek(args[2])
		var line string
		if e != nil {
			line = "Value at:0x0 refcount:1 encoding:" + encodingOf(e) + " serializedlength:" +
				strconv.FormatInt(keyspace.EntrySize(e), 10) + " lru:0 lru_seconds_idle:" +
				strconv.FormatInt(t.IdleMs(e)/1000, 10)
		}
		c.unlock(t)
		if e == nil {
			c.out.Error(errNoSuchKey)
			return
		}
		c.out.Simple(line)
	case equalFold(args[1], "reload"):
		if c.noPersistence() {
			return
		}
		if err := c.srv.persist.DebugReload(); err != nil {
			c.out.Error("ERR Error trying to load the RDB dump: " + err.Error())
			return
		}
		c.out.OK()
	case equalFold(args[1], "change-repl-id"), equalFold(args[1], "quicklist-packed-threshold"),
		equalFold(args[1], "stringmatch-len"), equalFold(args[1], "replybuffer"):
		c.out.OK()
	case equalFold(args[1], "help"):
		helpFor("DEBUG", "OBJECT <key>", "SLEEP <seconds>", "SET-ACTIVE-EXPIRE <0|1>")(c, args)
	default:
		c.out.Error("ERR unknown subcommand or wrong number of arguments for '" + clip(args[1]) + "'. Try DEBUG HELP.")
	}
}

// pauseState is CLIENT PAUSE: until a deadline, clients wait before
// running commands (all, or only writes).
type pauseState struct {
	until     atomic.Int64 // unix ns; 0 = not paused
	onlyWrite atomic.Bool
}

func cmdClientPause(c *Conn, args [][]byte) {
	ms, ok := parseInt(args[2])
	if !ok || ms < 0 {
		c.out.Error("ERR timeout is not an integer or out of range")
		return
	}
	onlyWrite := false
	if len(args) == 4 {
		switch {
		case equalFold(args[3], "write"):
			onlyWrite = true
		case equalFold(args[3], "all"):
		default:
			c.out.Error("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	} else if len(args) > 4 {
		c.out.Error(errSyntax)
		return
	}
	c.srv.pause.onlyWrite.Store(onlyWrite)
	c.srv.pause.until.Store(time.Now().Add(time.Duration(ms) * time.Millisecond).UnixNano())
	c.out.OK()
}

func cmdClientUnpause(c *Conn, args [][]byte) {
	c.srv.pause.until.Store(0)
	c.out.OK()
}

// waitPause blocks a command while CLIENT PAUSE applies to it.
func (s *Server) waitPause(c *Conn, cmd *Command) {
	for {
		until := s.pause.until.Load()
		d := time.Until(time.Unix(0, until))
		// EXEC of a transaction that writes is a write, as in Redis.
		write := cmd.has(flagWrite) || cmd.has(flagMayReplicate) || cmd.Name == "exec" && c.multi != nil && c.multi.writes
		if until == 0 || d <= 0 || (s.pause.onlyWrite.Load() && !write) {
			return
		}
		c.nc.Detach() // waiting takes a goroutine of the client's own
		time.Sleep(min(d, 10*time.Millisecond))
	}
}

// slowlog keeps the commands slower than slowlog-log-slower-than µs.
type slowlog struct {
	// fast is slowerThan for the check every command makes, so that
	// commands faster than the threshold take no lock.
	fast       atomic.Int64
	mu         sync.Mutex
	slowerThan int // µs; -1 disables, 0 logs everything
	maxLen     int
	nextID     int64
	entries    []slowEntry // newest first
}

type slowEntry struct {
	id     int64
	at     int64
	micros int64
	args   []string
	addr   string
	name   string
}

func (l *slowlog) init() {
	l.slowerThan, l.maxLen = 10000, 128
	l.fast.Store(10000)
}

// publish makes a changed slowerThan visible to the lock-free check.
func (l *slowlog) publish() {
	l.mu.Lock()
	l.fast.Store(int64(l.slowerThan))
	l.mu.Unlock()
}

func (l *slowlog) record(c *Conn, cmd *Command, args [][]byte, d time.Duration) {
	if t := l.fast.Load(); t < 0 || d.Microseconds() < t {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.slowerThan < 0 || d.Microseconds() < int64(l.slowerThan) || cmd.has(flagSkipSlowlog) || c.nc == nil {
		return
	}
	e := slowEntry{id: l.nextID, at: time.Now().Unix(), micros: d.Microseconds(), addr: c.nc.RemoteAddr().String()}
	c.infoMu.Lock()
	e.name = c.name
	c.infoMu.Unlock()
	l.nextID++
	for i, a := range args {
		if i == 31 && len(args) > 32 {
			e.args = append(e.args, "... ("+strconv.Itoa(len(args)-31)+" more arguments)")
			break
		}
		if len(a) > 128 {
			e.args = append(e.args, string(a[:128])+"... ("+strconv.Itoa(len(a)-128)+" more bytes)")
		} else {
			e.args = append(e.args, string(a))
		}
	}
	l.entries = append([]slowEntry{e}, l.entries...)
	if len(l.entries) > l.maxLen {
		l.entries = l.entries[:l.maxLen]
	}
}

func (l *slowlog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

func (l *slowlog) reset() {
	l.mu.Lock()
	l.entries = nil
	l.mu.Unlock()
}

func cmdSlowlogGet(c *Conn, args [][]byte) {
	count := int64(10)
	if len(args) == 3 {
		n, ok := parseInt(args[2])
		if !ok || n < -1 {
			c.out.Error("ERR count should be greater than or equal to -1")
			return
		}
		count = n
	} else if len(args) > 3 {
		c.out.Error(errSyntax)
		return
	}
	l := &c.srv.slow
	l.mu.Lock()
	entries := l.entries
	if count >= 0 && int(count) < len(entries) {
		entries = entries[:count]
	}
	entries = append([]slowEntry(nil), entries...)
	l.mu.Unlock()
	c.out.Array(len(entries))
	for _, e := range entries {
		c.out.Array(6)
		c.out.Int(e.id)
		c.out.Int(e.at)
		c.out.Int(e.micros)
		c.out.Array(len(e.args))
		for _, a := range e.args {
			c.out.BulkString(a)
		}
		c.out.BulkString(e.addr)
		c.out.BulkString(e.name)
	}
}
