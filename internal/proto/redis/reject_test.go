package redis

import (
	"sync/atomic"
	"testing"

	"ferry/internal/keyspace"
)

// diskErr is a Durability whose disk error can be switched on.
type diskErr struct{ msg atomic.Value }

func (d *diskErr) WriteError() string {
	if m, _ := d.msg.Load().(string); m != "" {
		return m
	}
	return ""
}
func (d *diskErr) WaitSynced(int64) error { return nil }
func (d *diskErr) RepliesWait() bool      { return false }

// TestDiskErrorRejectsBeforeQueueing checks Redis's order: a write refused
// for a disk error inside MULTI fails the transaction (EXECABORT), reads
// and an EXEC of reads still run, and the refusal counts as an error reply.
func TestDiskErrorRejectsBeforeQueueing(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	d := &diskErr{}
	ts.srv.durability = d
	const misconf = "MISCONF Errors writing to the AOF file: No space left on device"
	conv(t, ts.addr, "SET k v\r\n", "+OK\r\n")
	d.msg.Store(misconf)
	conv(t, ts.addr,
		"SET k w\r\n", "-"+misconf+"\r\n",
		"GET k\r\n", "$1\r\nv\r\n",
		"MULTI\r\n", "+OK\r\n",
		"GET k\r\n", "+QUEUED\r\n",
		"EXEC\r\n", "*1\r\n$1\r\nv\r\n",
		"MULTI\r\n", "+OK\r\n",
		"GET k\r\n", "+QUEUED\r\n",
		"SET k w\r\n", "-"+misconf+"\r\n",
		"EXEC\r\n", "-EXECABORT Transaction discarded because of previous errors.\r\n",
		"GET k\r\n", "$1\r\nv\r\n",
	)
	if n := ts.srv.errorReplies.Load(); n < 2 {
		t.Fatalf("total_error_replies %d, want the two refusals counted", n)
	}
}
