package metrics

import (
	"os"
	"runtime"
	rtm "runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// WriteFerry writes Ferry's own families.
func WriteFerry(w *Writer, version string, ready bool, start time.Time) {
	w.Add(FerryBuildInfo, 1, "version", version, "goversion", runtime.Version())
	w.Add(FerryReady, boolFloat(ready))
	w.Add(FerryStartTime, float64(start.UnixNano())/1e9)
}

// runtimeSamples are the runtime/metrics read for the go_* families; unlike
// runtime.ReadMemStats they do not stop the world.
var runtimeSamples = []struct {
	name string
	f    Family
}{
	{"/sched/goroutines:goroutines", GoGoroutines},
	{"/memory/classes/heap/objects:bytes", GoHeapAlloc},
	{"/memory/classes/total:bytes", GoSys},
	{"/gc/heap/goal:bytes", GoNextGC},
	{"/gc/cycles/total:gc-cycles", GoGCCycles},
	{"/sched/gomaxprocs:threads", GoGOMAXPROCS},
	{"/gc/gomemlimit:bytes", GoMemoryLimitBytes},
}

// WriteProcess writes the process_* and go_* families of client_golang's
// default collectors (the subset operators chart), reading /proc and the
// runtime. start is the process start time.
func WriteProcess(w *Writer, start time.Time) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
		w.Add(ProcessCPU, cpu)
	}
	if vsz, rss, ok := memoryUsage(); ok {
		w.Add(ProcessRSS, float64(rss))
		w.Add(ProcessVirtual, float64(vsz))
	}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		w.Add(ProcessOpenFDs, float64(len(ents)))
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		w.Add(ProcessMaxFDs, float64(lim.Cur))
	}
	w.Add(ProcessStartTime, float64(start.Unix()))
	w.Add(GoInfo, 1, "version", runtime.Version())

	samples := make([]rtm.Sample, len(runtimeSamples)+2)
	for i, s := range runtimeSamples {
		samples[i].Name = s.name
	}
	n := len(runtimeSamples)
	samples[n].Name = "/memory/classes/heap/unused:bytes"
	samples[n+1].Name = "/sched/pauses/total/gc:seconds"
	rtm.Read(samples)
	for i, s := range runtimeSamples {
		if v, ok := sampleValue(samples[i]); ok {
			w.Add(s.f, v)
		}
	}
	if objects, ok := sampleValue(samples[1]); ok {
		if unused, ok := sampleValue(samples[n]); ok {
			w.Add(GoHeapInuse, objects+unused)
		}
	}
	if samples[n+1].Value.Kind() == rtm.KindFloat64Histogram {
		// Approximate the total pause time from the histogram's bucket
		// midpoints: the runtime keeps no exact sum.
		h := samples[n+1].Value.Float64Histogram()
		var total float64
		for i, c := range h.Counts {
			lo, hi := h.Buckets[i], h.Buckets[i+1]
			switch {
			case c == 0:
			case lo < -1e300 || hi > 1e300:
				if hi <= 1e300 {
					total += float64(c) * hi
				} else if lo >= -1e300 {
					total += float64(c) * lo
				}
			default:
				total += float64(c) * (lo + hi) / 2
			}
		}
		w.Add(GoGCPauses, total)
	}
}

func sampleValue(s rtm.Sample) (float64, bool) {
	switch s.Value.Kind() {
	case rtm.KindUint64:
		return float64(s.Value.Uint64()), true
	case rtm.KindFloat64:
		return s.Value.Float64(), true
	}
	return 0, false
}

// memoryUsage reads the virtual and resident sizes from /proc/self/statm.
func memoryUsage() (vsz, rss int64, ok bool) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0, 0, false
	}
	pages, err1 := strconv.ParseInt(f[0], 10, 64)
	res, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	ps := int64(os.Getpagesize())
	return pages * ps, res * ps, true
}

// ResidentMemory returns the process's resident set size in bytes (0 when
// unknown).
func ResidentMemory() int64 {
	_, rss, _ := memoryUsage()
	return rss
}
