package memcache

import (
	"strconv"

	"ferry/internal/keyspace"
)

// Persistence is the persistence layer as the memcached front end sees
// it: a log of changes, the durability of replies, and whether writes are
// refused or the dataset is loading.
type Persistence interface {
	Append(db int, args [][]byte) int64
	WaitSynced(offset int64) error
	// RepliesWait reports whether WaitSynced may block (appendfsync
	// always).
	RepliesWait() bool
	WriteError() string
	Loading() bool
}

// unlockKey logs key's state after a change made in t, then unlocks.
// memcached commands change one key per Txn, so logging the key's
// resulting state (SET with its absolute expiry, or DEL) is exact and
// replays the same whatever the command was.
func (c *conn) unlockKey(t *keyspace.Txn, key []byte) {
	if p := c.srv.cfg.Persist; p != nil && t.Dirty() > 0 {
		c.logOffset = p.Append(c.srv.cfg.DB, c.itemCommand(t, key))
	}
	t.Unlock()
}

var (
	bSET    = []byte("SET")
	bDEL    = []byte("DEL")
	bPXAT   = []byte("PXAT")
	bMCSET  = []byte("FERRY.MCSET")
	bZeroMs = []byte("0")
)

// itemCommand builds the command that recreates key as it is now. Items
// with client flags use FERRY.MCSET, which only Ferry's AOF loader knows
// (Redis has no place for the flags).
func (c *conn) itemCommand(t *keyspace.Txn, key []byte) [][]byte {
	args := c.logArgs[:0]
	e := t.Peek(key)
	switch {
	case e == nil:
		args = append(args, bDEL, key)
	case e.Type() != keyspace.TypeString:
		return append(args, bDEL, key)[:0] // not ours to log
	case e.Flags() == 0 && e.Expire() == 0:
		args = append(args, bSET, key, e.Value())
	case e.Flags() == 0:
		c.logNum = strconv.AppendInt(c.logNum[:0], e.Expire(), 10)
		args = append(args, bSET, key, e.Value(), bPXAT, c.logNum)
	default:
		c.logNum = strconv.AppendInt(c.logNum[:0], e.Expire(), 10)
		c.logFlags = strconv.AppendUint(c.logFlags[:0], uint64(e.Flags()), 10)
		exp := c.logNum
		if e.Expire() == 0 {
			exp = bZeroMs
		}
		args = append(args, bMCSET, key, c.logFlags, exp, e.Value())
	}
	c.logArgs = args
	return args
}
