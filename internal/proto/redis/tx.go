package redis

import (
	"ferry/internal/keyspace"
)

// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

var _ = registerCommands(
	cmd("multi", cmdMulti),
	cmd("exec", cmdExec),
	cmd("discard", cmdDiscard),
	cmd("watch", cmdWatch),
	cmd("unwatch", cmdUnwatch),
)

// multiState is a client's open transaction.
type multiState struct {
	cmds   []queuedCmd
	dirty  bool // a command failed to queue: EXEC must abort
	writes bool // a queued command writes (EXEC is refused on disk errors)
}

type queuedCmd struct {
	cmd  *Command
	args [][]byte
}

// watchState is a client's WATCHed keys.
type watchState struct {
	w    *keyspace.Watcher
	keys []watchedKey
}

type watchedKey struct {
	db  int
	key []byte
}

// isTxControl reports the commands that run at once even inside MULTI.
func isTxControl(cmd *Command) bool {
	switch cmd.Name {
	case "exec", "discard", "multi", "watch", "quit", "reset":
		return true
	}
	return false
}

// queue adds a command to the open transaction (args are copied: they
// alias the input buffer).
func (c *Conn) queue(cmd *Command, args [][]byte) {
	if cmd.has(flagNoMulti) {
		c.out.Error("ERR Command not allowed inside a transaction")
		c.multi.dirty = true
		return
	}
	total := 0
	for _, a := range args {
		total += len(a)
	}
	buf := make([]byte, 0, total)
	cp := make([][]byte, len(args))
	for i, a := range args {
		buf = append(buf, a...)
		cp[i] = buf[len(buf)-len(a):]
	}
	c.multi.cmds = append(c.multi.cmds, queuedCmd{cmd, cp})
	c.out.Simple("QUEUED")
}

func cmdMulti(c *Conn, args [][]byte) {
	if c.multi != nil {
		c.out.Error("ERR MULTI calls can not be nested")
		return
	}
	c.multi = &multiState{}
	c.out.OK()
}

func cmdDiscard(c *Conn, args [][]byte) {
	if c.multi == nil {
		c.out.Error("ERR DISCARD without MULTI")
		return
	}
	c.multi = nil
	c.unwatchAll()
	c.out.OK()
}

func cmdExec(c *Conn, args [][]byte) {
	if c.multi == nil {
		c.out.Error("ERR EXEC without MULTI")
		return
	}
	m := c.multi
	c.multi = nil
	if m.dirty {
		c.unwatchAll()
		c.out.Error(errExecAbort)
		return
	}
	denyOOM := false
	for _, q := range m.cmds {
		denyOOM = denyOOM || q.cmd.has(flagDenyOOM)
	}
	if denyOOM && c.srv.ks.MaxMemory() > 0 {
		if err := c.srv.ks.Reserve(0); err != nil {
			c.unwatchAll()
			c.out.Error(errOOM)
			return
		}
	}
	// Every shard is locked for the whole transaction: nothing interleaves,
	// whatever keys the commands touch.
	t := c.srv.ks.LockAll(c.db)
	// A new Txn counts its changes from zero: what the connection's
	// previous command propagated must not hide this transaction's.
	c.propDirty = 0
	// Watched keys that expired since WATCH count as modified: looking
	// them up expires them, which marks the watcher.
	for _, wk := range c.watch.keys {
		t.PeekDB(wk.db, wk.key)
	}
	if c.watch.w != nil && c.watch.w.Dirty() {
		t.Unlock()
		c.unwatchAll()
		c.out.NullArray()
		return
	}
	c.execTxn = &t
	// Unwatch before running the commands, as Redis: their own changes
	// must not mark this client, and a queued UNWATCH finds nothing left.
	c.unwatchAll()
	c.execLogged = false
	c.out.Array(len(m.cmds))
	for _, q := range m.cmds {
		c.argv = q.args
		c.call(q.cmd, q.args)
	}
	if c.execLogged {
		// The log holds the transaction whole, or (torn) not at all.
		c.logOffset = c.srv.prop.Append(c.db, [][]byte{[]byte("EXEC")})
	}
	c.execTxn = nil
	t.Unlock()
}

func cmdWatch(c *Conn, args [][]byte) {
	if c.multi != nil {
		c.out.Error("ERR WATCH inside MULTI is not allowed")
		return
	}
	if c.watch.w == nil {
		c.watch.w = &keyspace.Watcher{}
	}
	for _, key := range args[1:] {
		dup := false
		for _, wk := range c.watch.keys {
			if wk.db == c.db && string(wk.key) == string(key) {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		t := c.lock(key)
		t.Watch(key, c.watch.w)
		c.unlock(t)
		c.watch.keys = append(c.watch.keys, watchedKey{c.db, append([]byte(nil), key...)})
	}
	c.out.OK()
}

func cmdUnwatch(c *Conn, args [][]byte) {
	c.unwatchAll()
	c.out.OK()
}

// unwatchAll forgets every watched key (after EXEC, DISCARD, UNWATCH,
// RESET, or when the client leaves).
func (c *Conn) unwatchAll() {
	if c.watch.w == nil {
		return
	}
	for _, wk := range c.watch.keys {
		if c.execTxn != nil { // inside EXEC every shard is locked already
			c.execTxn.Unwatch(wk.db, wk.key, c.watch.w)
		} else {
			c.srv.ks.Unwatch(wk.db, wk.key, c.watch.w)
		}
	}
	c.watch.keys = c.watch.keys[:0]
	c.watch.w.Reset()
}
