package redis

import (
	"errors"
	"strings"

	"ferry/internal/keyspace"
	"ferry/internal/persist"
	"ferry/internal/persist/rdb"
)

// Persistence commands: SAVE BGSAVE BGREWRITEAOF LASTSAVE, DUMP RESTORE,
// and replaying the AOF.

var _ = registerCommands(
	cmd("save", cmdSave),
	cmd("bgsave", cmdBGSave),
	cmd("bgrewriteaof", cmdBGRewriteAOF),
	cmd("dump", cmdDump),
	cmd("restore", cmdRestore),
)

func (c *Conn) noPersistence() bool {
	if c.srv.persist == nil {
		c.out.Error("ERR persistence is not configured")
		return true
	}
	return false
}

func cmdSave(c *Conn, args [][]byte) {
	if c.noPersistence() {
		return
	}
	if err := c.srv.persist.Save(); err != nil {
		if errors.Is(err, persist.ErrSaveInProgress) {
			c.out.Error(err.Error())
		} else {
			c.out.Error("ERR " + err.Error())
		}
		return
	}
	c.out.OK()
}

func cmdBGSave(c *Conn, args [][]byte) {
	if c.noPersistence() {
		return
	}
	schedule := false
	if len(args) == 2 {
		if !equalFold(args[1], "schedule") {
			c.out.Error(errSyntax)
			return
		}
		schedule = true
	} else if len(args) > 2 {
		c.out.Error(errSyntax)
		return
	}
	msg, err := c.srv.persist.BGSave(schedule)
	if err != nil {
		c.out.Error(err.Error())
		return
	}
	c.out.Simple(msg)
}

func cmdBGRewriteAOF(c *Conn, args [][]byte) {
	if c.noPersistence() {
		return
	}
	msg, err := c.srv.persist.BGRewriteAOF()
	if err != nil {
		c.out.Error(err.Error())
		return
	}
	c.out.Simple(msg)
}

// writePersistenceInfo writes INFO persistence.
func (s *Server) writePersistenceInfo(kv func(string, any)) {
	if s.persist != nil {
		s.persist.Info(kv)
		return
	}
	kv("loading", 0)
	kv("rdb_changes_since_last_save", 0)
	kv("rdb_bgsave_in_progress", 0)
	kv("rdb_last_save_time", s.lastSave.Load())
	kv("rdb_last_bgsave_status", "ok")
	kv("aof_enabled", 0)
	kv("aof_rewrite_in_progress", 0)
	kv("aof_last_bgrewrite_status", "ok")
	kv("aof_last_write_status", "ok")
}

func (s *Server) lastSaveTime() int64 {
	if s.persist != nil {
		return s.persist.LastSave()
	}
	return s.lastSave.Load()
}

// limits are the encoding thresholds for persist.
func (s *Server) persistLimits() persist.Limits {
	l := s.thresholds()
	return persist.Limits{HashEntries: l.hashEntries, HashValue: l.hashValue, SetIntset: l.setIntset,
		ZSetEntries: l.zsetEntries, ZSetValue: l.zsetValue, ListSize: l.listSize}
}

// Limits returns the current encoding thresholds (for loading data).
func (s *Server) Limits() persist.Limits { return s.persistLimits() }

// Replay runs one command from the AOF in database db, as a client that
// neither blocks nor propagates. Internal commands Ferry writes to its own
// log (FERRY.MCSET, for memcached items with client flags) are handled
// here.
func (s *Server) Replay(db int, args [][]byte) error {
	if len(args) == 0 {
		return nil
	}
	if equalFold(args[0], "ferry.mcset") {
		return s.replayMCSet(db, args)
	}
	c := s.replayConn()
	c.selectDB(db)
	c.out.Buf = c.out.Buf[:0]
	cmd := s.lookupCommand(args[0])
	if cmd == nil {
		return errors.New("Unknown command '" + clip(args[0]) + "' reading the append only file")
	}
	c.execute(args)
	if len(c.out.Buf) > 0 && c.out.Buf[0] == '-' && strings.HasPrefix(string(c.out.Buf), "-ERR unknown") {
		return errors.New(strings.TrimSpace(string(c.out.Buf[1:])))
	}
	return nil
}

// replayMCSet restores "FERRY.MCSET key flags expire-ms value".
func (s *Server) replayMCSet(db int, args [][]byte) error {
	if len(args) != 5 {
		return errors.New("bad FERRY.MCSET in the append only file")
	}
	flags, ok1 := parseInt(args[2])
	exp, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		return errors.New("bad FERRY.MCSET in the append only file")
	}
	t := s.ks.Lock(db, args[1])
	t.SetString(args[1], args[4], uint32(flags), exp)
	t.Unlock()
	return nil
}

func (s *Server) replayConn() *Conn {
	s.replayOnce.Do(func() {
		s.replayer = &Conn{srv: s, authed: true, loading: true, ownOut: make([]byte, 0, outBufSize)}
		s.replayer.out.Buf, s.replayer.out.Proto = s.replayer.ownOut, 2
	})
	return s.replayer
}

// cmdDump: DUMP key — the value in RDB form with version and checksum.
func cmdDump(c *Conn, args [][]byte) {
	t := c.lock(args[1])
	defer c.unlock(t)
	e := t.Lookup(args[1])
	if e == nil {
		c.out.Null()
		return
	}
	v, err := persist.ToRDB(e.Type(), e.Value(), e.Object())
	if err != nil {
		c.out.Error("ERR " + err.Error())
		return
	}
	c.out.Bulk(rdb.DumpValue(v))
}

// cmdRestore: RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s]
// [FREQ f].
func cmdRestore(c *Conn, args [][]byte) {
	key := args[1]
	ttl, ok := parseInt(args[2])
	if !ok {
		c.out.Error(errNotInteger)
		return
	}
	replace, absTTL := false, false
	for i := 4; i < len(args); i++ {
		switch {
		case equalFold(args[i], "replace"):
			replace = true
		case equalFold(args[i], "absttl"):
			absTTL = true
		case (equalFold(args[i], "idletime") || equalFold(args[i], "freq")) && i+1 < len(args):
			n, ok := parseInt(args[i+1])
			if !ok {
				c.out.Error(errNotInteger)
				return
			}
			if n < 0 {
				if equalFold(args[i], "idletime") {
					c.out.Error("ERR Invalid IDLETIME value, must be >= 0")
				} else {
					c.out.Error("ERR Invalid FREQ value, must be >= 0 and <= 255")
				}
				return
			}
			i++
		default:
			c.out.Error(errSyntax)
			return
		}
	}
	if ttl < 0 {
		c.out.Error("ERR Invalid TTL value, must be >= 0")
		return
	}
	v, err := rdb.ParseDump(args[3])
	if err != nil {
		c.out.Error("ERR DUMP payload version or checksum are wrong")
		return
	}
	typ, str, obj, size, err := persist.FromRDB(v, c.srv.persistLimits())
	if err != nil {
		c.out.Error("ERR Bad data format")
		return
	}
	t := c.lock(key)
	defer c.unlock(t)
	if old := t.Peek(key); old != nil {
		if !replace {
			c.out.Error("BUSYKEY Target key name already exists.")
			return
		}
		t.DeleteEntry(old)
	}
	var expire int64
	if ttl > 0 {
		if absTTL {
			expire = ttl
		} else {
			expire = t.NowMs() + ttl
		}
	}
	if expire != 0 && expire <= t.NowMs() {
		c.out.OK() // already expired: nothing to keep (Redis deletes it)
		return
	}
	persist.Store(t, key, typ, str, obj, size, expire, 0)
	if expire != 0 {
		// The log must not depend on when it is replayed.
		c.logAs([]byte("RESTORE"), key, absMs(expire), args[3], []byte("REPLACE"), []byte("ABSTTL"))
	}
	c.notify(notifyGeneric, "restore", key)
	c.out.OK()
}

var _ keyspace.Type
