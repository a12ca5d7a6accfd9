package redis

import (
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"ferry/internal/keyspace"
)

// cmdFlag is a command property, named as COMMAND INFO prints it.
type cmdFlag uint32

const (
	flagWrite cmdFlag = 1 << iota
	flagReadonly
	flagDenyOOM
	flagAdmin
	flagPubSub
	flagNoScript
	flagBlocking
	flagLoading
	flagStale
	flagSkipMonitor
	flagSkipSlowlog
	flagFast
	flagNoAuth
	flagMayReplicate
	flagNoMandatoryKeys
	flagNoMulti
	flagMovableKeys
	flagAllowBusy
	flagNoAsyncLoading
)

var flagNames = []struct {
	f    cmdFlag
	name string
}{
	{flagWrite, "write"}, {flagReadonly, "readonly"}, {flagDenyOOM, "denyoom"},
	{flagAdmin, "admin"}, {flagPubSub, "pubsub"}, {flagNoScript, "noscript"},
	{flagBlocking, "blocking"}, {flagLoading, "loading"}, {flagStale, "stale"},
	{flagSkipMonitor, "skip_monitor"}, {flagSkipSlowlog, "skip_slowlog"}, {flagFast, "fast"},
	{flagNoAuth, "no_auth"}, {flagMayReplicate, "may_replicate"},
	{flagNoMandatoryKeys, "no_mandatory_keys"}, {flagNoMulti, "no_multi"},
	{flagMovableKeys, "movablekeys"}, {flagAllowBusy, "allow_busy"},
	{flagNoAsyncLoading, "no_async_loading"},
}

// Command is one entry of the command table: Redis's arity convention
// (positive exact, negative minimum, the name included), flags, the
// positions of its keys, and the handler.
type Command struct {
	Name              string // lower case; "container|sub" for subcommands
	Arity             int
	Flags             cmdFlag
	First, Last, Step int
	Run               func(c *Conn, args [][]byte)
	// Keys returns the keys of commands whose key positions depend on the
	// arguments (movablekeys), for EXEC locking and COMMAND GETKEYS.
	Keys   func(args [][]byte) [][]byte
	Sub    map[string]*Command
	Parent *Command

	calls, usec, rejectedCalls, failedCalls atomic.Uint64
}

func (cmd *Command) has(f cmdFlag) bool { return cmd.Flags&f != 0 }

// cmd declares a command by name and handler. Its arity, flags and key
// positions come from the command metadata (commands.json), which records
// Redis 7.0's exactly, so they are stated once.
func cmd(name string, run func(*Conn, [][]byte)) *Command {
	return &Command{Name: name, Run: run}
}

// container declares a command with subcommands (CLIENT, CONFIG, ...).
func container(name string, subs ...*Command) *Command {
	c := &Command{Name: name, Sub: map[string]*Command{}}
	for _, s := range subs {
		s.Parent = c
		s.Name = name + "|" + s.Name
		c.Sub[strings.TrimPrefix(s.Name, name+"|")] = s
	}
	return c
}

// applyMeta copies arity, flags and key positions from the metadata.
func (cmd *Command) applyMeta() {
	m := metaFor(cmd.Name)
	if m == nil {
		panic("redis: no metadata for command " + cmd.Name)
	}
	cmd.Arity, cmd.First, cmd.Last, cmd.Step = m.Arity, m.FirstKey, m.LastKey, m.Step
	cmd.Flags = 0
	for _, f := range m.Flags {
		for _, fn := range flagNames {
			if fn.name == f {
				cmd.Flags |= fn.f
			}
		}
	}
	for _, sub := range cmd.Sub {
		sub.applyMeta()
	}
}

// commandFamilies lists every family's commands; buildTable indexes them.
var commandFamilies [][]*Command

func registerCommands(cmds ...*Command) bool {
	commandFamilies = append(commandFamilies, cmds)
	return true
}

// buildTable gives a server its own copy of every command (statistics are
// per server), with arity, flags and key positions from the metadata.
func buildTable() map[string]*Command {
	t := map[string]*Command{}
	for _, fam := range commandFamilies {
		for _, decl := range fam {
			if _, dup := t[decl.Name]; dup {
				panic("redis: command declared twice: " + decl.Name)
			}
			c := decl.clone()
			c.applyMeta()
			t[c.Name] = c
		}
	}
	return t
}

func (cmd *Command) clone() *Command {
	c := &Command{Name: cmd.Name, Run: cmd.Run, Keys: cmd.Keys}
	if cmd.Sub != nil {
		c.Sub = map[string]*Command{}
		for k, s := range cmd.Sub {
			sc := s.clone()
			sc.Parent = c
			c.Sub[k] = sc
		}
	}
	return c
}

// lookupCommand finds a command by name, case-insensitively, without
// allocating.
func (s *Server) lookupCommand(name []byte) *Command {
	var buf [32]byte
	if len(name) > len(buf) {
		return s.table[strings.ToLower(string(name))]
	}
	for i, ch := range name {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return s.table[string(buf[:len(name)])]
}

// fullName is the name errors and stats use ("client|kill").
func (cmd *Command) fullName() string { return cmd.Name }

// errArgs is Redis's arity error.
func errArgs(cmd *Command) string {
	return "ERR wrong number of arguments for '" + cmd.fullName() + "' command"
}

// unknownCommandError builds "ERR unknown command 'x', with args beginning
// with: 'a' 'b' " as Redis does (arguments cut to 128 bytes each).
func unknownCommandError(args [][]byte) string {
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.WriteString(clip(args[0]))
	b.WriteString("', with args beginning with: ")
	for i := 1; i < len(args) && b.Len() < 128; i++ {
		b.WriteString("'")
		b.WriteString(clip(args[i]))
		b.WriteString("' ")
	}
	return b.String()
}

func clip(b []byte) string {
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}

// resolve finds the command (or subcommand) args name, replying with
// Redis's error when there is none or its arity does not fit.
func (c *Conn) resolve(args [][]byte) *Command {
	cmd := c.srv.lookupCommand(args[0])
	if cmd == nil {
		c.out.Error(unknownCommandError(args))
		return nil
	}
	if cmd.Sub != nil {
		if len(args) < 2 {
			if cmd.Run != nil {
				return cmd // a container that also runs alone (COMMAND)
			}
			c.out.Error(errArgs(cmd))
			return nil
		}
		sub := cmd.Sub[strings.ToLower(string(args[1]))]
		if sub == nil {
			c.out.Error("ERR unknown subcommand '" + clip(args[1]) + "'. Try " + strings.ToUpper(cmd.Name) + " HELP.")
			return nil
		}
		cmd = sub
	}
	if (cmd.Arity > 0 && len(args) != cmd.Arity) || len(args) < -cmd.Arity {
		c.out.Error(errArgs(cmd))
		return nil
	}
	return cmd
}

// execute runs one command with Redis's checks, in processCommand's order:
// lookup and arity, authentication, the RESP2 subscribed context, loading,
// a busy script, disk errors, transaction queueing, memory.
func (c *Conn) execute(args [][]byte) {
	c.argv = args
	mark := len(c.out.Buf)
	cmd := c.resolve(args)
	if cmd == nil {
		c.srv.errorReplies.Add(1)
		c.srv.errStats.add(c.out.Buf[mark:])
		if c.multi != nil {
			c.multi.dirty = true
		}
		c.afterReply(mark)
		return
	}
	if c.lastCmd.Load() != cmd {
		c.lastCmd.Store(cmd)
	}
	if !c.authed && !cmd.has(flagNoAuth) {
		c.reject(cmd, mark, errNoAuth)
		return
	}
	if c.subs.n.Load() > 0 && c.out.Proto == 2 && !allowedWhileSubscribed(cmd) {
		c.reject(cmd, mark, "ERR Can't execute '"+cmd.Name+"': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return
	}
	if c.srv.persist != nil && !c.loading && !cmd.has(flagLoading) && c.srv.persist.Loading() {
		c.reject(cmd, mark, "LOADING Redis is loading the dataset in memory")
		return
	}
	if c.srv.scripts.eng.Running() != nil {
		if msg := c.srv.checkBusy(c, cmd); msg != "" {
			c.reject(cmd, mark, msg)
			return
		}
	}
	// Disk errors refuse writes before they are queued (the transaction
	// then fails with EXECABORT) and EXEC when it holds a write, as Redis.
	if c.srv.durability != nil && !c.loading && (cmd.has(flagWrite) || cmd.Name == "exec" && c.multi != nil && c.multi.writes) {
		if msg := c.srv.durability.WriteError(); msg != "" {
			c.reject(cmd, mark, msg)
			return
		}
	}
	if c.multi != nil && !isTxControl(cmd) {
		c.multi.writes = c.multi.writes || cmd.has(flagWrite)
		c.queue(cmd, args)
		c.afterReply(mark)
		return
	}
	if c.srv.pause.until.Load() != 0 {
		c.srv.waitPause(c, cmd)
	}
	if cmd.has(flagDenyOOM) && c.srv.ks.MaxMemory() > 0 && c.execTxn == nil {
		if err := c.srv.ks.Reserve(0); err != nil {
			c.reject(cmd, mark, errOOM)
			return
		}
	}
	c.call(cmd, args)
	c.afterReply(mark)
}

// call runs cmd and records its statistics.
func (c *Conn) call(cmd *Command, args [][]byte) {
	if c.pend.on && c.pend.cmd != cmd {
		c.flushStats() // the command may read them (INFO commandstats)
		c.pend.cmd = cmd
	}
	start := time.Now()
	before := len(c.out.Buf)
	cmd.Run(c, args)
	dur := time.Since(start)
	c.countCall(cmd, uint64(dur.Microseconds()))
	if len(c.out.Buf) > before && c.out.Buf[before] == '-' {
		cmd.failedCalls.Add(1)
		c.srv.errorReplies.Add(1)
		c.srv.errStats.add(c.out.Buf[before:])
	}
	c.srv.slow.record(c, cmd, args, dur)
}

// pendingStats are a connection's command counts not yet added to the
// shared counters. Every connection running the same command would
// otherwise write the same cache lines (total commands, the command's calls
// and time) once per command; within one batch of input they are summed
// here and added once, before the replies leave, before a different
// command runs (so INFO on the same connection sees them all), and when the
// batch ends.
type pendingStats struct {
	on          bool // inside process: counts may wait
	cmd         *Command
	calls, usec uint64
}

func (c *Conn) countCall(cmd *Command, usec uint64) {
	if !c.pend.on {
		c.srv.commands.Add(1)
		cmd.calls.Add(1)
		cmd.usec.Add(usec)
		return
	}
	if c.pend.cmd != cmd { // EXEC after its queued commands
		c.flushStats()
		c.pend.cmd = cmd
	}
	c.pend.calls++
	c.pend.usec += usec
}

// flushStats adds the pending counts to the shared counters.
func (c *Conn) flushStats() {
	if p := &c.pend; p.calls > 0 {
		c.srv.commands.Add(p.calls)
		p.cmd.calls.Add(p.calls)
		p.cmd.usec.Add(p.usec)
		p.calls, p.usec = 0, 0
	}
}

// reject refuses cmd before it runs with msg, counted as Redis's
// rejectCommand counts it; a transaction being queued will fail.
func (c *Conn) reject(cmd *Command, mark int, msg string) {
	c.out.Error(msg)
	cmd.rejectedCalls.Add(1)
	c.srv.errorReplies.Add(1)
	c.srv.errStats.add(c.out.Buf[mark:])
	if c.multi != nil {
		c.multi.dirty = true
	}
	c.afterReply(mark)
}

// afterReply applies CLIENT REPLY OFF/SKIP to the reply just written.
func (c *Conn) afterReply(mark int) {
	switch c.reply {
	case replyOff:
		c.out.Buf = c.out.Buf[:mark]
	case replySkipArm:
		c.reply = replySkip
	case replySkip:
		c.out.Buf = c.out.Buf[:mark]
		c.reply = replyOn
	}
}

// --- argument parsing helpers shared by the families ---

// parseInt parses a Redis integer argument (string2ll rules: optional '-',
// no '+', no leading zeros, no spaces).
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	d := b
	if neg {
		d = b[1:]
	}
	if len(d) == 0 || d[0] < '1' || d[0] > '9' {
		return 0, false
	}
	var n uint64
	for _, ch := range d {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		nn := n*10 + uint64(ch-'0')
		if nn/10 != n {
			return 0, false
		}
		n = nn
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// intArg parses an integer argument, replying the Redis error if it is not.
func (c *Conn) intArg(b []byte) (int64, bool) {
	n, ok := parseInt(b)
	if !ok {
		c.out.Error(errNotInteger)
	}
	return n, ok
}

// dbIndexArg parses a database number as SELECT, MOVE and COPY do
// (getIntFromObjectOrReply, then the range of configured databases),
// replying with Redis's error when it is not one.
func (c *Conn) dbIndexArg(b []byte) (int, bool) {
	n, ok := parseInt(b)
	switch {
	case !ok:
		c.out.Error(errNotInteger)
	case n < math.MinInt32 || n > math.MaxInt32:
		c.out.Error("ERR value is out of range, value must between -2147483648 and 2147483647")
	case n < 0 || n >= int64(c.srv.ks.Databases()):
		c.out.Error(errDBIndex)
	default:
		return int(n), true
	}
	return 0, false
}

// parseFloat parses a Redis float argument (strtold rules: inf, -inf,
// +inf accepted; NaN and trailing junk rejected; no spaces).
func parseFloat(b []byte) (float64, bool) {
	if len(b) == 0 || b[0] == ' ' || b[len(b)-1] == ' ' {
		return 0, false
	}
	s := string(b)
	switch strings.ToLower(s) {
	case "inf", "+inf", "infinity", "+infinity":
		return posInf, true
	case "-inf", "-infinity":
		return negInf, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true // as strtod: overflow gives ±inf, underflow 0
		}
		return 0, false
	}
	return f, true
}

// equalFold compares an argument with a lower-case keyword.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != lower[i] {
			return false
		}
	}
	return true
}

// keysOf returns the key arguments of cmd per its declared positions.
func keysOf(cmd *Command, args [][]byte) [][]byte {
	if cmd.Keys != nil {
		return cmd.Keys(args)
	}
	if cmd.First == 0 {
		return nil
	}
	last := cmd.Last
	if last < 0 {
		last = len(args) + last
	}
	var keys [][]byte
	for i := cmd.First; i <= last && i < len(args); i += max(cmd.Step, 1) {
		keys = append(keys, args[i])
	}
	return keys
}

// wrongType reports whether e holds another type than want, replying
// WRONGTYPE if so.
func (c *Conn) wrongType(e *keyspace.Entry, want keyspace.Type) bool {
	if e != nil && e.Type() != want {
		c.out.Error(errWrongType)
		return true
	}
	return false
}
