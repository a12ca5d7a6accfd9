package redis

import (
	"strconv"

	"ferry/internal/keyspace"
)

// Propagation: every command that changed the dataset is handed to the
// Propagator (the AOF; later replication) while its keys are still locked,
// so the log has each key's changes in the order they were applied.
// Commands whose effect depends on the moment or on chance are rewritten to
// their deterministic effect, as Redis does: relative TTLs become absolute
// (PXAT, PEXPIREAT), SPOP becomes SREM of the members popped, blocking pops
// become the non-blocking pop that served them, INCRBYFLOAT becomes SET.

// Propagator receives write commands. Append is called with engine locks
// held: it must be quick and must not block.
type Propagator interface {
	Append(db int, args [][]byte) int64
}

// Durability is what the persistence layer tells the front end: whether
// writes are refused (MISCONF) and, under appendfsync always, when a
// client's writes are on disk.
type Durability interface {
	// WriteError returns the MISCONF reply text when writes must be
	// refused, or "".
	WriteError() string
	// WaitSynced blocks until the log is durable up to offset, when the
	// fsync policy asks replies to wait for it (always); else it returns.
	WaitSynced(offset int64) error
	// RepliesWait reports whether WaitSynced may block (appendfsync
	// always).
	RepliesWait() bool
}

// Persistence is the persistence layer as the Redis commands see it
// (SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE, INFO persistence, DEBUG RELOAD,
// the CONFIG parameters it owns, -LOADING).
type Persistence interface {
	Propagator
	Durability
	Save() error
	BGSave(schedule bool) (string, error)
	BGRewriteAOF() (string, error)
	LastSave() int64
	Loading() bool
	Info(kv func(string, any))
	DebugReload() error
	Get(name string) string
	Set(name, value string) error
}

// SetPersistence connects the server to its persistence layer; params are
// the CONFIG parameters it owns. Call before serving.
func (s *Server) SetPersistence(p Persistence, params []string) {
	s.persist, s.prop, s.durability = p, p, p
	for _, name := range params {
		name := name
		delete(s.conf.extra, name)
		s.conf.add(&setting{name: name,
			get: func() string { return p.Get(name) },
			set: func(v string) error { return p.Set(name, v) }})
	}
}

// propagated records that the command just run (its Txn t) changed the
// dataset: the rewritten command goes to the propagator. Called before the
// Txn's locks are released.
func (c *Conn) propagated(t *keyspace.Txn) {
	p := c.srv.prop
	if p == nil {
		return
	}
	d := t.Dirty()
	if d <= c.propDirty {
		return
	}
	c.propDirty = d
	args := c.propArgs
	c.propArgs = nil
	if c.noProp {
		return
	}
	if args == nil {
		args = rewriteForLog(c.argv, t.NowMs())
	}
	if c.execTxn != nil && !c.execLogged {
		p.Append(c.db, [][]byte{[]byte("MULTI")})
		c.execLogged = true
	}
	c.logOffset = p.Append(c.db, args)
}

// logging reports whether the current command's writes go anywhere, so
// that handlers build logAs arguments only when they will be read.
func (c *Conn) logging() bool { return c.srv.prop != nil && !c.noProp }

// logAs sets the arguments to propagate for the current command instead of
// its own (SPOP → SREM ..., BLPOP → LPOP ...). Handlers call it before
// unlocking.
func (c *Conn) logAs(args ...[]byte) { c.propArgs = args }

var (
	bPXAT      = []byte("PXAT")
	bPEXPIREAT = []byte("PEXPIREAT")
	bSET       = []byte("SET")
	bDEL       = []byte("DEL")
	bPERSIST   = []byte("PERSIST")
	bLPOP      = []byte("LPOP")
	bRPOP      = []byte("RPOP")
)

func absMs(ms int64) []byte { return []byte(strconv.FormatInt(ms, 10)) }

// rewriteForLog makes a command deterministic for replay: relative TTLs
// become absolute times (at nowMs, the instant the command saw).
// Commands that need no rewrite come back as they are, without allocating:
// this runs for every write.
func rewriteForLog(argv [][]byte, nowMs int64) [][]byte {
	cmd := argv[0]
	var name string
	switch {
	case len(cmd) == 3 && equalFold(cmd, "set"):
		if len(argv) == 3 {
			return argv
		}
		name = "set"
	case len(cmd) < 5 || len(cmd) > 9:
		return argv // none of the names below
	case equalFold(cmd, "setex"), equalFold(cmd, "psetex"), equalFold(cmd, "expire"), equalFold(cmd, "pexpire"),
		equalFold(cmd, "expireat"), equalFold(cmd, "pexpireat"), equalFold(cmd, "getex"), equalFold(cmd, "getdel"):
		name = lowerName(string(cmd))
	default:
		return argv
	}
	switch name {
	case "set":
		out := make([][]byte, 0, len(argv))
		out = append(out, argv[:3]...)
		for i := 3; i < len(argv); i++ {
			a := argv[i]
			if i+1 < len(argv) && (equalFold(a, "ex") || equalFold(a, "px") || equalFold(a, "exat") || equalFold(a, "pxat")) {
				n, _ := parseInt(argv[i+1])
				out = append(out, bPXAT, absMs(toAbsMs(a, n, nowMs)))
				i++
				continue
			}
			if equalFold(a, "get") {
				continue // the reply is not replayed
			}
			out = append(out, a)
		}
		return out
	case "setex", "psetex":
		n, _ := parseInt(argv[2])
		unit := []byte("ex")
		if name == "psetex" {
			unit = []byte("px")
		}
		return [][]byte{bSET, argv[1], argv[3], bPXAT, absMs(toAbsMs(unit, n, nowMs))}
	case "expire", "pexpire", "expireat", "pexpireat":
		n, _ := parseInt(argv[2])
		var at int64
		switch name {
		case "expire":
			at = nowMs + n*1000
		case "pexpire":
			at = nowMs + n
		case "expireat":
			at = n * 1000
		default:
			at = n
		}
		return [][]byte{bPEXPIREAT, argv[1], absMs(at)}
	case "getex":
		for i := 2; i < len(argv); i++ {
			a := argv[i]
			if equalFold(a, "persist") {
				return [][]byte{bPERSIST, argv[1]}
			}
			if i+1 < len(argv) {
				n, _ := parseInt(argv[i+1])
				at := toAbsMs(a, n, nowMs)
				if at <= nowMs {
					return [][]byte{bDEL, argv[1]}
				}
				return [][]byte{bPEXPIREAT, argv[1], absMs(at)}
			}
		}
	case "getdel":
		return [][]byte{bDEL, argv[1]}
	}
	return argv
}

// toAbsMs converts an EX/PX/EXAT/PXAT amount to absolute Unix ms.
func toAbsMs(opt []byte, n, nowMs int64) int64 {
	switch {
	case equalFold(opt, "ex"):
		return nowMs + n*1000
	case equalFold(opt, "px"):
		return nowMs + n
	case equalFold(opt, "exat"):
		return n * 1000
	}
	return n
}
