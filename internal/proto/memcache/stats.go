package memcache

import (
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"time"

	"ferry/internal/keyspace"
	"ferry/internal/netsrv"
)

// statsCmd: "stats [settings|items|slabs|sizes|conns|reset|detail ...]"
// (protocol.txt "Statistics"). Field names and order are memcached 1.6's,
// so tools that scrape them keep working.
func (c *conn) statsCmd(t [][]byte) {
	if len(t) == 1 {
		c.statsGeneral()
		return
	}
	switch string(t[1]) {
	case "settings":
		c.statsSettings()
	case "items":
		c.statsItems()
	case "slabs":
		c.statsSlabs()
	case "sizes":
		c.statsSizes()
	case "conns":
		c.statsConns()
	case "reset":
		c.srv.counts.reset()
		c.srv.classes.reset()
		c.srv.ks.ResetStats()
		c.reply("RESET")
		return
	case "detail":
		c.statsDetail(t)
	case "cachedump":
		c.statsCachedump(t)
	case "sizes_enable":
		c.stat("sizes_status", "enabled") // sizes are always available
	case "sizes_disable":
		c.stat("sizes_status", "disabled")
	case "extstore":
		c.statsEnd()
	default:
		c.reply(msgError)
	}
}

func (c *conn) stat(name string, v any) {
	c.out = append(c.out, "STAT "...)
	c.out = append(c.out, name...)
	c.out = append(c.out, ' ')
	switch x := v.(type) {
	case string:
		c.out = append(c.out, x...)
	case int:
		c.out = strconv.AppendInt(c.out, int64(x), 10)
	case int64:
		c.out = strconv.AppendInt(c.out, x, 10)
	case uint64:
		c.out = strconv.AppendUint(c.out, x, 10)
	default:
		c.out = fmt.Append(c.out, x)
	}
	c.out = append(c.out, "\r\n"...)
}

func (c *conn) statsEnd() { c.out = append(c.out, "END\r\n"...) }

func (c *conn) statsGeneral() {
	s := c.srv
	s.counts.fold(&c.counts) // include this connection's own counts
	s.classes.fold(&c.classCounts)
	s.generalStats(c.stat)
	c.statsEnd()
}

// generalStats produces the fields of a bare `stats` in memcached's order;
// the stats command and Server.Stats (the admin server) share it.
func (s *Server) generalStats(stat func(name string, v any)) {
	now := s.ks.Clock().Now()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var cs struct{ cur, total, rejected uint64 }
	if p := s.conns.Load(); p != nil {
		st := (*p).Stats()
		cs.cur, cs.total, cs.rejected = uint64(st.Current), st.Total, st.Rejected
	}
	ksStats := s.ks.Stats()
	buckets, rehashing := s.ks.TableStats()
	n := func(x counter) uint64 { return s.counts.get(x) }
	stat("pid", s.cfg.PID)
	stat("uptime", int64(now.Sub(s.started)/time.Second))
	stat("time", now.Unix())
	stat("version", CompatVersion)
	stat("libevent", runtime.Version())
	stat("pointer_size", 64)
	stat("rusage_user", fmt.Sprintf("%d.%06d", ru.Utime.Sec, ru.Utime.Usec))
	stat("rusage_system", fmt.Sprintf("%d.%06d", ru.Stime.Sec, ru.Stime.Usec))
	stat("max_connections", s.cfg.MaxConns)
	stat("curr_connections", cs.cur)
	stat("total_connections", cs.total)
	stat("rejected_connections", cs.rejected)
	stat("connection_structures", cs.cur)
	stat("response_obj_oom", 0)
	stat("response_obj_count", 0)
	stat("response_obj_bytes", 0)
	stat("read_buf_count", cs.cur)
	stat("read_buf_bytes", cs.cur*readBufSize)
	stat("read_buf_bytes_free", 0)
	stat("read_buf_oom", 0)
	stat("reserved_fds", 0)
	stat("cmd_get", n(cmdGet))
	stat("cmd_set", n(cmdSet))
	stat("cmd_flush", n(cmdFlush))
	stat("cmd_touch", n(cmdTouch))
	stat("cmd_meta", n(cmdMeta))
	stat("get_hits", n(getHits))
	stat("get_misses", n(getMisses))
	stat("get_expired", n(getExpired))
	stat("get_flushed", n(getFlushed))
	stat("delete_misses", n(deleteMisses))
	stat("delete_hits", n(deleteHits))
	stat("incr_misses", n(incrMisses))
	stat("incr_hits", n(incrHits))
	stat("decr_misses", n(decrMisses))
	stat("decr_hits", n(decrHits))
	stat("cas_misses", n(casMisses))
	stat("cas_hits", n(casHits))
	stat("cas_badval", n(casBadval))
	stat("touch_hits", n(touchHits))
	stat("touch_misses", n(touchMisses))
	stat("store_too_large", n(storeTooLarge))
	stat("store_no_memory", n(storeNoMemory))
	stat("auth_cmds", n(authCmds))
	stat("auth_errors", n(authErrors))
	stat("bytes_read", n(bytesRead))
	stat("bytes_written", n(bytesWritten))
	stat("limit_maxbytes", s.ks.MaxMemory())
	stat("accepting_conns", 1)
	stat("listen_disabled_num", 0)
	stat("time_in_listen_disabled_us", 0)
	stat("threads", s.cfg.Threads)
	stat("conn_yields", 0)
	stat("hash_power_level", bits.Len64(uint64(max(buckets, 1)))-1)
	stat("hash_bytes", buckets*8)
	stat("hash_is_expanding", boolInt(rehashing))
	for _, name := range []string{"slab_reassign_rescues", "slab_reassign_chunk_rescues",
		"slab_reassign_evictions_nomem", "slab_reassign_inline_reclaim", "slab_reassign_busy_items",
		"slab_reassign_busy_deletes", "slab_reassign_running", "slabs_moved", "lru_crawler_running",
		"lru_crawler_starts", "lru_maintainer_juggles", "malloc_fails", "log_worker_dropped",
		"log_worker_written", "log_watcher_skipped", "log_watcher_sent", "log_watchers",
		"unexpected_napi_ids", "round_robin_fallback"} {
		stat(name, 0) // mechanisms memcached has and Ferry does not need
	}
	stat("bytes", s.ks.Used())
	stat("curr_items", s.ks.DBSize(s.cfg.DB))
	stat("total_items", n(totalItems))
	stat("slab_global_page_pool", 0)
	stat("expired_unfetched", 0)
	stat("evicted_unfetched", 0)
	stat("evicted_active", 0)
	stat("evictions", ksStats.Evicted)
	stat("reclaimed", ksStats.Expired)
	stat("crawler_reclaimed", 0)
	stat("crawler_items_checked", 0)
	stat("lrutail_reflocked", 0)
	stat("moves_to_cold", 0)
	stat("moves_to_warm", 0)
	stat("moves_within_lru", 0)
	stat("direct_reclaims", 0)
	stat("lru_bumps_dropped", 0)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (c *conn) statsSettings() {
	s := c.srv
	evicting := s.ks.Policy() != keyspace.NoEviction
	c.stat("maxbytes", s.ks.MaxMemory())
	c.stat("maxconns", s.cfg.MaxConns)
	c.stat("tcpport", s.cfg.TCPPort)
	c.stat("udpport", s.cfg.UDPPort)
	c.stat("inter", nullIfEmpty(s.cfg.Interface))
	c.stat("verbosity", int(s.verbosity.Load()))
	c.stat("oldest", 0)
	c.stat("evictions", onOff(evicting))
	c.stat("domain_socket", "NULL")
	c.stat("umask", 700)
	c.stat("shutdown_command", yesNo(s.cfg.ShutdownEnabled))
	c.stat("growth_factor", "1.25")
	c.stat("chunk_size", 48)
	c.stat("num_threads", s.cfg.Threads)
	c.stat("num_threads_per_udp", s.cfg.Threads)
	c.stat("stat_key_prefix", ":")
	c.stat("detail_enabled", yesNo(s.detail.enabled.Load()))
	c.stat("reqs_per_event", 20)
	c.stat("cas_enabled", "yes")
	c.stat("tcp_backlog", 1024)
	c.stat("binding_protocol", "ascii")
	c.stat("auth_enabled_sasl", "no")
	c.stat("auth_enabled_ascii", "no")
	c.stat("item_size_max", s.cfg.Limits.MaxItemSize)
	c.stat("maxconns_fast", "yes")
	c.stat("hashpower_init", 0)
	c.stat("slab_reassign", "no")
	c.stat("slab_automove", 0)
	c.stat("slab_automove_ratio", "0.80")
	c.stat("slab_automove_window", 30)
	c.stat("slab_chunk_max", slabChunkMax)
	c.stat("lru_crawler", "no")
	c.stat("lru_crawler_sleep", 100)
	c.stat("lru_crawler_tocrawl", 0)
	c.stat("tail_repair_time", 0)
	c.stat("flush_enabled", "yes")
	c.stat("dump_enabled", "yes")
	c.stat("hash_algorithm", "maphash")
	c.stat("lru_maintainer_thread", "no")
	c.stat("lru_segmented", "no")
	c.stat("hot_lru_pct", 20)
	c.stat("warm_lru_pct", 40)
	c.stat("hot_max_factor", "0.20")
	c.stat("warm_max_factor", "2.00")
	c.stat("temp_lru", "no")
	c.stat("temporary_ttl", 61)
	c.stat("idle_timeout", 0)
	c.stat("watcher_logbuf_size", 262144)
	c.stat("worker_logbuf_size", 65536)
	c.stat("read_buf_mem_limit", 0)
	c.stat("track_sizes", "yes")
	c.stat("inline_ascii_response", "no")
	c.stat("ssl_enabled", "no")
	c.statsEnd()
}

func nullIfEmpty(s string) string {
	if s == "" {
		return "NULL"
	}
	return s
}

// classUsage is what iterating the items tells about one slab class.
type classUsage struct {
	number    uint64
	requested uint64
	maxIdleMs int64
}

func (c *conn) classUsage() []classUsage {
	usage := make([]classUsage, len(slabClasses)+1)
	c.srv.ks.ForEach(c.srv.cfg.DB, func(e *keyspace.Entry, idleMs int64) bool {
		if e.Type() != keyspace.TypeString {
			return true
		}
		n := entrySize(e)
		u := &usage[slabClass(n)]
		u.number++
		u.requested += uint64(n)
		u.maxIdleMs = max(u.maxIdleMs, idleMs)
		return true
	})
	return usage
}

func (c *conn) statsItems() {
	s := c.srv
	s.classes.fold(&c.classCounts)
	for class, u := range c.classUsage() {
		if u.number == 0 {
			continue
		}
		p := "items:" + strconv.Itoa(class) + ":"
		c.stat(p+"number", u.number)
		c.stat(p+"number_hot", 0)
		c.stat(p+"number_warm", 0)
		c.stat(p+"number_cold", u.number)
		c.stat(p+"age_hot", 0)
		c.stat(p+"age_warm", 0)
		c.stat(p+"age", u.maxIdleMs/1000)
		c.stat(p+"mem_requested", u.requested)
		c.stat(p+"evicted", s.classes.evicted[class].Load())
		c.stat(p+"evicted_nonzero", s.classes.evictedNonzero[class].Load())
		c.stat(p+"evicted_time", 0)
		c.stat(p+"outofmemory", s.classes.outOfMemory[class].Load())
		c.stat(p+"tailrepairs", 0)
		c.stat(p+"reclaimed", s.classes.reclaimed[class].Load())
		for _, name := range []string{"expired_unfetched", "evicted_unfetched", "evicted_active",
			"crawler_reclaimed", "crawler_items_checked", "lrutail_reflocked", "moves_to_cold",
			"moves_to_warm", "moves_within_lru", "direct_reclaims", "hits_to_hot", "hits_to_warm"} {
			c.stat(p+name, 0)
		}
		c.stat(p+"hits_to_cold", s.classes.c[class][slabGetHits].Load())
		c.stat(p+"hits_to_temp", 0)
	}
	c.statsEnd()
}

func (c *conn) statsSlabs() {
	s := c.srv
	s.classes.fold(&c.classCounts)
	active := 0
	var malloced uint64
	for class, u := range c.classUsage() {
		if u.number == 0 {
			continue
		}
		active++
		size := slabClasses[class-1]
		perPage := uint64(slabPageSize / size)
		pages := (u.number + perPage - 1) / perPage
		malloced += pages * slabPageSize
		p := strconv.Itoa(class) + ":"
		c.stat(p+"chunk_size", size)
		c.stat(p+"chunks_per_page", perPage)
		c.stat(p+"total_pages", pages)
		c.stat(p+"total_chunks", pages*perPage)
		c.stat(p+"used_chunks", u.number)
		c.stat(p+"free_chunks", pages*perPage-u.number)
		c.stat(p+"free_chunks_end", 0)
		for i, name := range slabCounterNames {
			c.stat(p+name, s.classes.c[class][i].Load())
		}
	}
	c.stat("active_slabs", active)
	c.stat("total_malloced", malloced)
	c.statsEnd()
}

// statsSizes reports item counts by 32-byte size bucket, as memcached does
// when size tracking is on.
func (c *conn) statsSizes() {
	counts := map[int]uint64{}
	var keys []int
	c.srv.ks.ForEach(c.srv.cfg.DB, func(e *keyspace.Entry, _ int64) bool {
		if e.Type() == keyspace.TypeString {
			b := (entrySize(e) + 31) / 32 * 32
			if counts[b] == 0 {
				keys = append(keys, b)
			}
			counts[b]++
		}
		return true
	})
	slices.Sort(keys)
	for _, k := range keys {
		c.stat(strconv.Itoa(k), counts[k])
	}
	c.statsEnd()
}

// statsConns lists the open connections ("stats conns").
func (c *conn) statsConns() {
	p := c.srv.conns.Load()
	if p == nil {
		c.statsEnd()
		return
	}
	(*p).Each(func(nc *netsrv.Conn) {
		id := strconv.FormatUint(nc.ID, 10) + ":"
		c.stat(id+"addr", "tcp:"+nc.RemoteAddr().String())
		c.stat(id+"listen_addr", "tcp:"+nc.LocalAddr().String())
		c.stat(id+"state", "conn_parse_cmd")
	})
	c.statsEnd()
}
