package redis

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var _ = registerCommands(
	cmd("info", cmdInfo),
)

// infoSections are INFO's sections in Redis's order; the default set is
// every section but commandstats and latencystats.
var infoSections = []string{"server", "clients", "memory", "persistence", "stats",
	"replication", "cpu", "modules", "errorstats", "cluster", "keyspace", "commandstats", "latencystats"}

func cmdInfo(c *Conn, args [][]byte) {
	secs := make([]string, 0, len(args)-1)
	for _, a := range args[1:] {
		secs = append(secs, string(a))
	}
	c.out.Verbatim("txt", c.srv.Info(secs...))
}

func humanBytes(n int64) string {
	f := float64(n)
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + "B"
	case n < 1<<20:
		return fmt.Sprintf("%.2fK", f/1024)
	case n < 1<<30:
		return fmt.Sprintf("%.2fM", f/(1<<20))
	case n < 1<<40:
		return fmt.Sprintf("%.2fG", f/(1<<30))
	}
	return fmt.Sprintf("%.2fT", f/(1<<40))
}

func rssBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func totalSystemMemory() int64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

func (s *Server) writeInfo(b *strings.Builder, sec string, c *Conn) {
	kv := func(k string, v any) { fmt.Fprintf(b, "%s:%v\r\n", k, v) }
	cfg := s.config()
	now := time.Now()
	switch sec {
	case "server":
		b.WriteString("# Server\r\n")
		var uts syscall.Utsname
		syscall.Uname(&uts)
		kv("redis_version", CompatVersion)
		kv("redis_git_sha1", "00000000")
		kv("redis_git_dirty", 0)
		kv("redis_build_id", "0")
		kv("redis_mode", cfg.Mode)
		kv("os", "Linux "+charsToString(uts.Release[:])+" "+charsToString(uts.Machine[:]))
		kv("arch_bits", 64)
		kv("monotonic_clock", "POSIX clock_gettime")
		kv("multiplexing_api", "epoll")
		kv("atomicvar_api", "c11-builtin")
		kv("gcc_version", "0.0.0")
		kv("go_version", runtime.Version())
		kv("ferry_version", cfg.FerryVersion)
		kv("process_id", os.Getpid())
		kv("process_supervised", "no")
		kv("run_id", s.runID)
		kv("tcp_port", cfg.Port)
		kv("server_time_usec", now.UnixMicro())
		up := int64(now.Sub(s.started) / time.Second)
		kv("uptime_in_seconds", up)
		kv("uptime_in_days", up/86400)
		kv("hz", cfg.HZ)
		kv("configured_hz", cfg.HZ)
		kv("lru_clock", now.Unix()&(1<<24-1))
		kv("executable", cfg.ExecutablePath)
		kv("config_file", cfg.ConfigFile)
		kv("io_threads_active", 0)
	case "clients":
		b.WriteString("# Clients\r\n")
		st := s.connStats()
		kv("connected_clients", st.Current)
		kv("cluster_connections", 0)
		kv("maxclients", cfg.MaxClients)
		kv("client_recent_max_input_buffer", readBufSize)
		kv("client_recent_max_output_buffer", 0)
		kv("blocked_clients", s.blocked.Load())
		kv("tracking_clients", 0)
		kv("clients_in_timeout_table", s.blocked.Load())
	case "memory":
		b.WriteString("# Memory\r\n")
		used := s.ks.Used()
		rss := rssBytes()
		total := totalSystemMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak := s.peakMemory(used)
		kv("used_memory", used)
		kv("used_memory_human", humanBytes(used))
		kv("used_memory_rss", rss)
		kv("used_memory_rss_human", humanBytes(rss))
		kv("used_memory_peak", peak)
		kv("used_memory_peak_human", humanBytes(peak))
		kv("used_memory_peak_perc", fmt.Sprintf("%.2f%%", 100*float64(used)/float64(max(peak, 1))))
		kv("used_memory_overhead", 0)
		kv("used_memory_startup", 0)
		kv("used_memory_dataset", used)
		kv("used_memory_dataset_perc", "100.00%")
		kv("allocator_allocated", ms.HeapAlloc)
		kv("allocator_active", ms.HeapInuse)
		kv("allocator_resident", ms.HeapSys-ms.HeapReleased)
		kv("total_system_memory", total)
		kv("total_system_memory_human", humanBytes(total))
		s.scriptMemoryInfo(kv)
		maxmem := s.ks.MaxMemory()
		kv("maxmemory", maxmem)
		kv("maxmemory_human", humanBytes(maxmem))
		kv("maxmemory_policy", s.ks.Policy().String())
		kv("allocator_frag_ratio", "1.00")
		kv("allocator_frag_bytes", 0)
		kv("allocator_rss_ratio", "1.00")
		kv("allocator_rss_bytes", 0)
		kv("rss_overhead_ratio", "1.00")
		kv("rss_overhead_bytes", 0)
		kv("mem_fragmentation_ratio", fmt.Sprintf("%.2f", float64(rss)/float64(max(used, 1))))
		kv("mem_fragmentation_bytes", rss-used)
		kv("mem_not_counted_for_evict", 0)
		kv("mem_replication_backlog", 0)
		kv("mem_total_replication_buffers", 0)
		kv("mem_clients_slaves", 0)
		kv("mem_clients_normal", s.connStats().Current*(readBufSize+outBufSize))
		kv("mem_cluster_links", 0)
		kv("mem_aof_buffer", 0)
		kv("mem_allocator", "go-"+runtime.Version())
		kv("active_defrag_running", 0)
		kv("lazyfree_pending_objects", 0)
		kv("lazyfreed_objects", 0)
	case "persistence":
		b.WriteString("# Persistence\r\n")
		s.writePersistenceInfo(kv)
	case "stats":
		b.WriteString("# Stats\r\n")
		st := s.connStats()
		ks := s.ks.Stats()
		ops, in, out := s.rates.current()
		kv("total_connections_received", st.Total)
		kv("total_commands_processed", s.commands.Load())
		kv("instantaneous_ops_per_sec", ops)
		kv("total_net_input_bytes", s.netIn.Load())
		kv("total_net_output_bytes", s.netOut.Load())
		kv("total_net_repl_input_bytes", 0)
		kv("total_net_repl_output_bytes", 0)
		kv("instantaneous_input_kbps", fmt.Sprintf("%.2f", in/1024))
		kv("instantaneous_output_kbps", fmt.Sprintf("%.2f", out/1024))
		kv("instantaneous_input_repl_kbps", "0.00")
		kv("instantaneous_output_repl_kbps", "0.00")
		kv("rejected_connections", st.Rejected)
		kv("sync_full", 0)
		kv("sync_partial_ok", 0)
		kv("sync_partial_err", 0)
		kv("expired_keys", ks.Expired)
		kv("expired_stale_perc", "0.00")
		kv("expired_time_cap_reached_count", 0)
		kv("expire_cycle_cpu_milliseconds", 0)
		kv("evicted_keys", ks.Evicted)
		kv("evicted_clients", 0)
		kv("total_eviction_exceeded_time", 0)
		kv("current_eviction_exceeded_time", 0)
		kv("keyspace_hits", ks.Hits)
		kv("keyspace_misses", ks.Misses)
		ch, pat, shard := s.pubsubCounts()
		kv("pubsub_channels", ch)
		kv("pubsub_patterns", pat)
		kv("pubsubshard_channels", shard)
		kv("latest_fork_usec", 0)
		kv("total_forks", 0)
		kv("migrate_cached_sockets", 0)
		kv("slave_expires_tracked_keys", 0)
		kv("active_defrag_hits", 0)
		kv("active_defrag_misses", 0)
		kv("active_defrag_key_hits", 0)
		kv("active_defrag_key_misses", 0)
		kv("total_active_defrag_time", 0)
		kv("current_active_defrag_time", 0)
		kv("tracking_total_keys", 0)
		kv("tracking_total_items", 0)
		kv("tracking_total_prefixes", 0)
		kv("unexpected_error_replies", 0)
		kv("total_error_replies", s.errorReplies.Load())
		kv("dump_payload_sanitizations", 0)
		kv("total_reads_processed", s.commands.Load())
		kv("total_writes_processed", s.commands.Load())
		kv("io_threaded_reads_processed", 0)
		kv("io_threaded_writes_processed", 0)
		kv("reply_buffer_shrinks", 0)
		kv("reply_buffer_expands", 0)
	case "replication":
		b.WriteString("# Replication\r\n")
		kv("role", "master")
		kv("connected_slaves", 0)
		kv("master_failover_state", "no-failover")
		kv("master_replid", s.runID)
		kv("master_replid2", strings.Repeat("0", 40))
		kv("master_repl_offset", 0)
		kv("second_repl_offset", -1)
		kv("repl_backlog_active", 0)
		kv("repl_backlog_size", 1048576)
		kv("repl_backlog_first_byte_offset", 0)
		kv("repl_backlog_histlen", 0)
	case "cpu":
		b.WriteString("# CPU\r\n")
		var ru, ch syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ch)
		tv := func(t syscall.Timeval) string { return fmt.Sprintf("%d.%06d", t.Sec, t.Usec) }
		kv("used_cpu_sys", tv(ru.Stime))
		kv("used_cpu_user", tv(ru.Utime))
		kv("used_cpu_sys_children", tv(ch.Stime))
		kv("used_cpu_user_children", tv(ch.Utime))
		kv("used_cpu_sys_main_thread", tv(ru.Stime))
		kv("used_cpu_user_main_thread", tv(ru.Utime))
	case "modules":
		b.WriteString("# Modules\r\n")
	case "errorstats":
		b.WriteString("# Errorstats\r\n")
		for _, e := range s.errStats.snapshot() {
			kv("errorstat_"+e.k, "count="+strconv.FormatUint(e.v, 10))
		}
	case "cluster":
		b.WriteString("# Cluster\r\n")
		kv("cluster_enabled", 0)
	case "keyspace":
		b.WriteString("# Keyspace\r\n")
		t := s.ks.LockAll(0)
		for db := 0; db < s.ks.Databases(); db++ {
			n := t.DBSize(db)
			if n == 0 {
				continue
			}
			exp, avg := t.ExpiresInfo(db)
			kv("db"+strconv.Itoa(db), fmt.Sprintf("keys=%d,expires=%d,avg_ttl=%d", n, exp, avg))
		}
		t.Unlock()
	case "commandstats":
		b.WriteString("# Commandstats\r\n")
		var cmds []*Command
		for _, cmd := range s.table {
			if cmd.Sub != nil {
				for _, sub := range cmd.Sub {
					cmds = append(cmds, sub)
				}
			} else {
				cmds = append(cmds, cmd)
			}
		}
		sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
		for _, cmd := range cmds {
			calls := cmd.calls.Load()
			rej, failed := cmd.rejectedCalls.Load(), cmd.failedCalls.Load()
			if calls == 0 && rej == 0 && failed == 0 {
				continue
			}
			usec := cmd.usec.Load()
			per := 0.0
			if calls > 0 {
				per = float64(usec) / float64(calls)
			}
			kv("cmdstat_"+cmd.Name, fmt.Sprintf("calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d",
				calls, usec, per, rej, failed))
		}
	case "latencystats":
		b.WriteString("# Latencystats\r\n")
	}
}

func charsToString(a []int8) string {
	var b []byte
	for _, c := range a {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// errorStats counts error replies by their first word (INFO errorstats).
type errorStats struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (e *errorStats) add(reply []byte) {
	// reply starts with '-'; the code is up to the first space.
	end := 1
	for end < len(reply) && reply[end] != ' ' && reply[end] != '\r' {
		end++
	}
	code := string(reply[1:end])
	if len(code) > 32 {
		code = code[:32]
	}
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string]uint64{}
	}
	if len(e.m) < 128 || e.m[code] > 0 {
		e.m[code]++
	}
	e.mu.Unlock()
}

func (e *errorStats) reset() {
	e.mu.Lock()
	e.m = nil
	e.mu.Unlock()
}

type kvCount struct {
	k string
	v uint64
}

func (e *errorStats) snapshot() []kvCount {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []kvCount
	for k, v := range e.m {
		out = append(out, kvCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].k < out[j].k })
	return out
}

// rateSampler computes instantaneous_ops_per_sec and kbps as Redis does:
// the average over the last 16 samples taken every 100 ms.
type rateSampler struct {
	mu                       sync.Mutex
	lastT                    time.Time
	lastOps, lastIn, lastOut uint64
	ops, in, out             [16]float64
	idx                      int
}

func (r *rateSampler) sample(ops, in, out uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if !r.lastT.IsZero() {
		dt := now.Sub(r.lastT).Seconds()
		if dt > 0 {
			r.ops[r.idx] = float64(ops-r.lastOps) / dt
			r.in[r.idx] = float64(in-r.lastIn) / dt
			r.out[r.idx] = float64(out-r.lastOut) / dt
			r.idx = (r.idx + 1) % len(r.ops)
		}
	}
	r.lastT, r.lastOps, r.lastIn, r.lastOut = now, ops, in, out
}

func (r *rateSampler) current() (ops int64, in, out float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var so, si, sx float64
	for i := range r.ops {
		so += r.ops[i]
		si += r.in[i]
		sx += r.out[i]
	}
	n := float64(len(r.ops))
	return int64(so/n + 0.5), si / n, sx / n
}
