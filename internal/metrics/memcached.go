package metrics

import (
	"strconv"
	"strings"
)

// WriteMemcached writes memcached_exporter's families from the fields of
// memcached's `stats` command (name, value pairs in any order) and the
// connection limit (stats settings' maxconns).
func WriteMemcached(w *Writer, stats [][2]string, maxConns int) {
	s := make(map[string]string, len(stats))
	for _, kv := range stats {
		s[kv[0]] = kv[1]
	}
	num := func(k string) (float64, bool) {
		v, ok := s[k]
		if !ok {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	w.Add(MemcachedUp, 1)
	if v, ok := num("uptime"); ok {
		w.Add(MemcachedUptime, v)
	}
	if v, ok := num("time"); ok {
		w.Add(MemcachedTime, v)
	}
	w.Add(MemcachedVersion, 1, "version", s["version"])
	if v, ok := timeval(s["rusage_user"]); ok {
		w.Add(MemcachedCPUUser, v)
	}
	if v, ok := timeval(s["rusage_system"]); ok {
		w.Add(MemcachedCPUSystem, v)
	}
	// commands_total{command, status}, as the exporter derives them.
	for _, op := range []string{"get", "delete", "incr", "decr", "cas", "touch"} {
		if v, ok := num(op + "_hits"); ok {
			w.Add(MemcachedCommands, v, "command", op, "status", "hit")
		}
		if v, ok := num(op + "_misses"); ok {
			w.Add(MemcachedCommands, v, "command", op, "status", "miss")
		}
	}
	if v, ok := num("cas_badval"); ok {
		w.Add(MemcachedCommands, v, "command", "cas", "status", "badval")
	}
	if v, ok := num("cmd_flush"); ok {
		w.Add(MemcachedCommands, v, "command", "flush", "status", "hit")
	}
	// memcached counts cas commands in cmd_set too; the exporter subtracts
	// them.
	if set, ok := num("cmd_set"); ok {
		var cas float64
		for _, k := range []string{"cas_misses", "cas_hits", "cas_badval"} {
			v, _ := num(k)
			cas += v
		}
		w.Add(MemcachedCommands, max(set-cas, 0), "command", "set", "status", "hit")
	}
	for _, kv := range stats {
		if f, ok := memcachedStats[kv[0]]; ok {
			if v, err := strconv.ParseFloat(kv[1], 64); err == nil {
				w.Add(f, v)
			}
		}
	}
	if v, ok := num("accepting_conns"); ok {
		w.Add(MemcachedAcceptingConns, v)
	}
	if v, ok := num("listen_disabled_num"); ok {
		w.Add(MemcachedListenerDisabled, v)
	}
	if v, ok := num("conn_yields"); ok {
		w.Add(MemcachedConnsYielded, v)
	}
	if maxConns > 0 {
		w.Add(MemcachedMaxConnections, float64(maxConns))
	}
}

// timeval parses memcached's "seconds.microseconds" rusage values.
func timeval(s string) (float64, bool) {
	sec, usec, ok := strings.Cut(s, ".")
	if !ok {
		return 0, false
	}
	a, err1 := strconv.ParseInt(sec, 10, 64)
	b, err2 := strconv.ParseInt(usec, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return float64(a) + float64(b)/1e6, true
}
