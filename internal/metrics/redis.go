package metrics

import (
	"strconv"
	"strings"
	"time"
)

// WriteRedis writes redis_exporter's families from the text of INFO
// (every section, including commandstats and errorstats), as the exporter
// derives them from a scrape of INFO ALL. now dates redis_start_time_seconds.
func WriteRedis(w *Writer, info string, now time.Time) {
	w.Add(RedisUp, 1)
	fields := map[string]string{}
	for line := range strings.Lines(info) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields[k] = v
		switch {
		case strings.HasPrefix(k, "db") && isDigits(k[2:]):
			writeRedisDB(w, k, v)
			continue
		case strings.HasPrefix(k, "cmdstat_"):
			writeRedisCmdstat(w, k[len("cmdstat_"):], v)
			continue
		case strings.HasPrefix(k, "errorstat_"):
			if n, ok := subField(v, "count"); ok {
				w.Add(RedisErrors, n, "err", k[len("errorstat_"):])
			}
			continue
		}
		f, isGauge := redisGauges[k]
		if !isGauge {
			var isCounter bool
			if f, isCounter = redisCounters[k]; !isCounter {
				continue
			}
		}
		if redisStatusFields[k] {
			w.Add(f, boolFloat(v == "ok"))
			continue
		}
		if x, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64); err == nil {
			w.Add(f, x)
		}
	}
	w.Add(RedisInstanceInfo, 1,
		"role", fields["role"],
		"redis_version", fields["redis_version"],
		"redis_build_id", fields["redis_build_id"],
		"redis_mode", fields["redis_mode"],
		"os", fields["os"],
		"maxmemory_policy", fields["maxmemory_policy"],
		"tcp_port", fields["tcp_port"],
		"run_id", fields["run_id"],
		"process_id", fields["process_id"])
	if up, err := strconv.ParseInt(fields["uptime_in_seconds"], 10, 64); err == nil {
		w.Add(RedisStartTime, float64(now.Unix()-up))
	}
}

// writeRedisDB handles "db0:keys=1,expires=0,avg_ttl=0".
func writeRedisDB(w *Writer, db, v string) {
	if n, ok := subField(v, "keys"); ok {
		w.Add(RedisDBKeys, n, "db", db)
	}
	if n, ok := subField(v, "expires"); ok {
		w.Add(RedisDBKeysExpiring, n, "db", db)
	}
	if n, ok := subField(v, "avg_ttl"); ok {
		w.Add(RedisDBAvgTTL, n/1000, "db", db) // INFO gives milliseconds
	}
}

// writeRedisCmdstat handles
// "cmdstat_set:calls=1,usec=5,usec_per_call=5.00,rejected_calls=0,failed_calls=0".
func writeRedisCmdstat(w *Writer, cmd, v string) {
	if n, ok := subField(v, "calls"); ok {
		w.Add(RedisCommands, n, "cmd", cmd)
	}
	if n, ok := subField(v, "usec"); ok {
		w.Add(RedisCommandsTime, n/1e6, "cmd", cmd)
	}
	if n, ok := subField(v, "rejected_calls"); ok {
		w.Add(RedisCmdRejected, n, "cmd", cmd)
	}
	if n, ok := subField(v, "failed_calls"); ok {
		w.Add(RedisCmdFailed, n, "cmd", cmd)
	}
}

// subField finds name=value in a comma-separated INFO value.
func subField(v, name string) (float64, bool) {
	for part := range strings.SplitSeq(v, ",") {
		k, x, ok := strings.Cut(part, "=")
		if ok && k == name {
			f, err := strconv.ParseFloat(x, 64)
			return f, err == nil
		}
	}
	return 0, false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
