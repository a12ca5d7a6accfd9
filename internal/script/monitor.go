package script

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// The monitor watches running scripts from its own goroutine: it stops a
// script whose heap growth passes the memory limit (Lua tables and strings
// live on the Go heap, which gives no per-script accounting and no
// allocation hook, so growth is measured from outside, every tick, which
// bounds how far even an exponentially growing script gets), and logs slow
// scripts as Redis does. The goroutine exits after a second without
// scripts and the next run starts it again, so an idle server pays
// nothing.

const (
	monitorTick = 10 * time.Millisecond
	monitorIdle = 100 // ticks without a script before the goroutine exits
)

type monitor struct {
	alive atomic.Bool
	busy  atomic.Int64 // busy-reply-threshold in ms, for the slow-script log
}

// watch makes sure the monitor goroutine runs while r runs.
func (m *monitor) watch(e *Engine) {
	if !m.alive.Load() && m.alive.CompareAndSwap(false, true) {
		go m.loop(e)
	}
}

func (m *monitor) loop(e *Engine) {
	t := time.NewTicker(monitorTick)
	defer t.Stop()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() int64 {
		metrics.Read(sample)
		h := int64(sample[0].Value.Uint64())
		if e.opts.KeyspaceUsed != nil {
			h -= e.opts.KeyspaceUsed()
		}
		return h
	}
	var cur *Run
	var base, gcAt int64
	logged := false
	idle := 0
	for range t.C {
		r := e.running.Load()
		if r == nil {
			cur = nil
			if idle++; idle < monitorIdle {
				continue
			}
			m.alive.Store(false)
			// A run that began while the flag was still set saw no need to
			// start a monitor: keep going for it.
			if e.running.Load() != nil && m.alive.CompareAndSwap(false, true) {
				idle = 0
				continue
			}
			return
		}
		idle = 0
		if r != cur {
			cur, logged = r, false
			base = heap()
			gcAt = base + e.memMax.Load()
			continue
		}
		if busy := m.busy.Load(); !logged && busy > 0 && time.Since(r.Start) >= time.Duration(busy)*time.Millisecond {
			logged = true
			r.busy.Store(true)
			cmd := "FUNCTION KILL"
			if r.Eval {
				cmd = "SCRIPT KILL"
			}
			e.opts.Log.Warn("Slow script detected: still in execution after " +
				time.Since(r.Start).Truncate(time.Millisecond).String() +
				". You can try killing the script using the " + cmd + " command. Script name is: " + r.Name + ".")
		}
		limit := e.memMax.Load()
		if limit <= 0 {
			continue
		}
		if h := heap(); h > gcAt {
			// The heap holds garbage as well: collect before judging.
			runtime.GC()
			h = heap()
			if h-base > limit {
				if r.stop.CompareAndSwap(stopNone, stopMemory) {
					e.opts.Log.Warn("Lua script stopped: it used more memory than lua-memory-limit allows. Script name is: " + r.Name + ".")
				}
				continue
			}
			gcAt = h + limit/2
		}
	}
}

// SetBusyThreshold tells the engine the busy-reply-threshold (ms), after
// which a running script is logged as slow.
func (e *Engine) SetBusyThreshold(ms int64) { e.mon.busy.Store(ms) }
