package redis

import (
	"strings"
	"testing"
	"time"
)

// spinScript runs for ARGV[1] milliseconds of wall-clock time.
const spinScript = `local t = redis.call('TIME')
local s = t[1]*1000000 + t[2]
while true do
  local n = redis.call('TIME')
  if n[1]*1000000 + n[2] - s > tonumber(ARGV[1])*1000 then break end
end
return 1`

// TestBusyScriptRunByLoopRunnerFreesLoop: a script queued by a detached
// client can be run by a connection that is still on an event loop (the
// runner of flat combining). When that script passes
// busy-reply-threshold, the loop it runs on must be given to the other
// clients, which get -BUSY and may send SCRIPT KILL.
func TestBusyScriptRunByLoopRunnerFreesLoop(t *testing.T) {
	ts := startOneLoop(t)
	admin := refDial(t, ts.addr)
	if r := admin.do("CONFIG", "SET", "busy-reply-threshold", "300"); r != "+OK\r\n" {
		t.Fatalf("CONFIG SET: %q", r)
	}
	// b leaves the loop for good (a blocking pop detaches it).
	b := refDial(t, ts.addr)
	if r := b.do("BLPOP", "nothing", "0.01"); !strings.HasPrefix(r, "*-1") && !strings.HasPrefix(r, "_") {
		t.Fatalf("BLPOP: %q", r)
	}
	// a, on the loop, runs short scripts back to back; b's long one,
	// sent meanwhile, queues behind a running one, so that a's goroutine
	// (the loop's) runs it as the flat-combining runner.
	a := refDial(t, ts.addr)
	var pipe strings.Builder
	const n = 3000
	for i := 0; i < n; i++ {
		pipe.WriteString(refCommand("EVAL", "return 1", "0"))
	}
	go a.nc.Write([]byte(pipe.String()))
	time.Sleep(2 * time.Millisecond)
	b.send("EVAL", spinScript, "0", "3000")
	time.Sleep(600 * time.Millisecond) // b's script is busy by now
	c := refDial(t, ts.addr)
	start := time.Now()
	r := c.replyAfter("PING", 2*time.Second)
	if !strings.HasPrefix(r, "-BUSY") {
		t.Fatalf("PING during a busy script: %q after %v (the loop stalled)", r, time.Since(start))
	}
	if r := c.replyAfter("SCRIPT", 2*time.Second, "KILL"); r != "+OK\r\n" {
		t.Fatalf("SCRIPT KILL: %q", r)
	}
	if r := b.reply(); !strings.HasPrefix(r, "-ERR") {
		t.Fatalf("killed script: %q", r)
	}
}

// replyAfter sends a command and waits at most d for its reply.
func (c *refConn) replyAfter(cmd string, d time.Duration, args ...string) string {
	c.send(append([]string{cmd}, args...)...)
	return c.replyWithin(d)
}
