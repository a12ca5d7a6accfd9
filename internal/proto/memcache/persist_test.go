package memcache

import (
	"strings"
	"sync"
	"testing"

	"ferry/internal/keyspace"
	"ferry/internal/testutil"
)

// fakePersist records what the front end logs and when replies wait.
type fakePersist struct {
	mu       sync.Mutex
	log      []string
	off      int64
	waited   []int64
	writeErr string
	loading  bool
}

func (p *fakePersist) Append(db int, args [][]byte) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	p.log = append(p.log, strings.Join(parts, " "))
	p.off += 10
	return p.off
}

func (p *fakePersist) RepliesWait() bool { return false }

func (p *fakePersist) WaitSynced(off int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waited = append(p.waited, off)
	return nil
}

func (p *fakePersist) WriteError() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writeErr
}

func (p *fakePersist) Loading() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.loading
}

func (p *fakePersist) snapshot() (log []string, off int64, waited []int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...), p.off, append([]int64(nil), p.waited...)
}

// TestPersistLog: each change is logged as the item's resulting state
// (absolute expiry in ms, flags through FERRY.MCSET), every reply waits
// for the log up to its change — flush_all's included.
func TestPersistLog(t *testing.T) {
	p := &fakePersist{}
	ts := startServer(t, Config{Limits: DefaultLimits, Persist: p}, keyspace.Config{})
	now := ts.clk.Now().UnixMilli()
	c := testutil.Dial(t, ts.addr)
	L := testutil.Lines
	c.Send("set a 0 0 1\r\nx\r\nset b 7 100 2\r\nyz\r\nset c 0 100 1\r\nz\r\ndelete a\r\nincr nope 1\r\nflush_all\r\n")
	c.Expect(L("STORED", "STORED", "STORED", "DELETED", "NOT_FOUND", "OK"))
	log, off, waited := p.snapshot()
	exp := now + 100_000
	want := []string{
		"SET a x",
		"FERRY.MCSET b 7 " + itoa(exp) + " yz",
		"SET c z PXAT " + itoa(exp),
		"DEL a",
		"FLUSHDB",
	}
	if strings.Join(log, "\n") != strings.Join(want, "\n") {
		t.Fatalf("logged\n%s\nwant\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
	}
	if len(waited) == 0 || waited[len(waited)-1] != off {
		t.Fatalf("replies waited for %v; the last change (flush_all) is at %d", waited, off)
	}
}

// TestPersistRefusals: while the dataset loads every data command gets a
// SERVER_ERROR; while writes fail (MISCONF) changes are refused and reads
// served.
func TestPersistRefusals(t *testing.T) {
	p := &fakePersist{}
	ts := startServer(t, Config{Limits: DefaultLimits, Persist: p}, keyspace.Config{})
	c := testutil.Dial(t, ts.addr)
	L := testutil.Lines
	c.Send("set k 0 0 1\r\nv\r\n")
	c.Expect(L("STORED"))

	p.mu.Lock()
	p.writeErr = "MISCONF Errors writing to the AOF file: No space left on device"
	p.mu.Unlock()
	c.Send("set k 0 0 1\r\nw\r\nget k\r\ndelete k\r\nincr k 1\r\ntouch k 10\r\nflush_all\r\n")
	refused := "SERVER_ERROR MISCONF Errors writing to the AOF file: No space left on device"
	c.Expect(L(refused, "VALUE k 0 1", "v", "END", refused, refused, refused, refused))
	c.Send("set k 0 0 1 noreply\r\nw\r\n")
	c.Expect(L(refused)) // an error is reported even with noreply, as memcached does

	p.mu.Lock()
	p.writeErr, p.loading = "", true
	p.mu.Unlock()
	c.Send("get k\r\nversion\r\n")
	if line := c.Line(); !strings.HasPrefix(line, "SERVER_ERROR ") {
		t.Fatalf("get while loading: %q", line)
	}
	if line := c.Line(); !strings.HasPrefix(line, "VERSION ") {
		t.Fatalf("version while loading: %q", line)
	}

	p.mu.Lock()
	p.loading = false
	p.mu.Unlock()
	c.Send("set k 0 0 1\r\nw\r\nget k\r\n")
	c.Expect(L("STORED", "VALUE k 0 1", "w", "END"))
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for n >= 10 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	b[i] = byte('0' + n)
	return string(b[i:])
}
