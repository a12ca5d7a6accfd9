package redis

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"ferry/internal/keyspace"
)

// setting is one CONFIG GET/SET parameter.
type setting struct {
	name     string
	aliases  []string
	get      func() string
	set      func(v string) error // nil: read-only (immutable) at runtime
	memory   bool                 // value is a memory amount (CONFIG GET prints bytes)
	isInt    bool
	setupVal string // value as loaded, for CONFIG REWRITE
}

// settings is the CONFIG parameter table. Values live where they take
// effect (keyspace, server config, collection thresholds); the table only
// knows how to read and write them.
type settings struct {
	mu     sync.Mutex
	byName map[string]*setting
	list   []*setting
	extra  map[string]string // accepted parameters Ferry stores but does not act on
}

// Thresholds holds the collection encoding limits (hash-max-listpack-*,
// set-max-intset-entries, zset-max-listpack-*, list-max-listpack-size).
type thresholds struct {
	hashEntries, hashValue int
	setIntset              int
	zsetEntries, zsetValue int
	listSize               int
	listCompress           int
}

func newSettings(s *Server) *settings {
	st := &settings{byName: map[string]*setting{}, extra: map[string]string{}}
	s.limits = thresholds{hashEntries: 512, hashValue: 64, setIntset: 512, zsetEntries: 128, zsetValue: 64, listSize: -2}
	intVar := func(name string, p *int, min, max int, aliases ...string) {
		st.add(&setting{name: name, aliases: aliases, isInt: true,
			get: func() string { s.cfgMu.RLock(); defer s.cfgMu.RUnlock(); return strconv.Itoa(*p) },
			set: func(v string) error {
				n, err := strconv.Atoi(v)
				if err != nil {
					return errors.New("argument couldn't be parsed into an integer")
				}
				if n < min || n > max {
					return fmt.Errorf("argument must be between %d and %d inclusive", min, max)
				}
				s.cfgMu.Lock()
				*p = n
				s.publishConfig()
				s.cfgMu.Unlock()
				return nil
			}})
	}
	cfg := &s.cfg
	st.add(&setting{name: "maxmemory", memory: true,
		get: func() string { return strconv.FormatInt(s.ks.MaxMemory(), 10) },
		set: func(v string) error {
			n, err := parseMemory(v)
			if err != nil {
				return err
			}
			s.ks.SetMaxMemory(n)
			return nil
		}})
	st.add(&setting{name: "maxmemory-policy",
		get: func() string { return s.ks.Policy().String() },
		set: func(v string) error {
			p, err := keyspace.ParsePolicy(strings.ToLower(v))
			if err != nil {
				return errors.New("argument(s) must be one of the following: volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction")
			}
			s.ks.SetPolicy(p)
			return nil
		}})
	st.add(&setting{name: "requirepass",
		get: func() string { return s.requirePass() },
		set: func(v string) error {
			s.cfgMu.Lock()
			s.cfg.RequirePass = v
			s.publishConfig()
			s.cfgMu.Unlock()
			return nil
		}})
	st.add(&setting{name: "lfu-log-factor", isInt: true,
		get: func() string { f, _ := s.ks.LFUParams(); return strconv.Itoa(f) },
		set: func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return errors.New("argument must be between 0 and 2147483647 inclusive")
			}
			_, d := s.ks.LFUParams()
			s.ks.SetLFUParams(n, d)
			return nil
		}})
	st.add(&setting{name: "lfu-decay-time", isInt: true,
		get: func() string { _, d := s.ks.LFUParams(); return strconv.Itoa(d) },
		set: func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return errors.New("argument must be between 0 and 2147483647 inclusive")
			}
			f, _ := s.ks.LFUParams()
			s.ks.SetLFUParams(f, n)
			return nil
		}})
	intVar("timeout", &cfg.Timeout, 0, 1<<31-1)
	intVar("maxclients", &cfg.MaxClients, 1, 1<<31-1)
	intVar("hz", &cfg.HZ, 1, 500)
	intVar("hash-max-listpack-entries", &s.limits.hashEntries, 0, 1<<31-1, "hash-max-ziplist-entries")
	intVar("hash-max-listpack-value", &s.limits.hashValue, 0, 1<<31-1, "hash-max-ziplist-value")
	intVar("set-max-intset-entries", &s.limits.setIntset, 0, 1<<31-1)
	intVar("zset-max-listpack-entries", &s.limits.zsetEntries, 0, 1<<31-1, "zset-max-ziplist-entries")
	intVar("zset-max-listpack-value", &s.limits.zsetValue, 0, 1<<31-1, "zset-max-ziplist-value")
	intVar("list-max-listpack-size", &s.limits.listSize, -5, 1<<31-1, "list-max-ziplist-size")
	intVar("list-compress-depth", &s.limits.listCompress, 0, 1<<31-1)
	lockedInt := func(name string, mu *sync.Mutex, p *int, min int) {
		st.add(&setting{name: name, isInt: true,
			get: func() string { mu.Lock(); defer mu.Unlock(); return strconv.Itoa(*p) },
			set: func(v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < min {
					return errors.New("argument couldn't be parsed into an integer")
				}
				mu.Lock()
				*p = n
				mu.Unlock()
				s.slow.publish()
				return nil
			}})
	}
	lockedInt("slowlog-log-slower-than", &s.slow.mu, &s.slow.slowerThan, -1)
	lockedInt("slowlog-max-len", &s.slow.mu, &s.slow.maxLen, 0)
	st.add(&setting{name: "proto-max-bulk-len", memory: true,
		get: func() string { return strconv.FormatInt(s.config().Limits.MaxBulkLen, 10) },
		set: func(v string) error {
			n, err := parseMemory(v)
			if err != nil {
				return err
			}
			if n < 1<<20 {
				return errors.New("argument must be between 1048576 and 9223372036854775807 inclusive")
			}
			s.cfgMu.Lock()
			s.cfg.Limits.MaxBulkLen = n
			s.publishConfig()
			s.cfgMu.Unlock()
			return nil
		}})
	st.add(&setting{name: "client-query-buffer-limit", memory: true,
		get: func() string { return strconv.FormatInt(s.config().QueryBufferLimit, 10) },
		set: func(v string) error {
			n, err := parseMemory(v)
			if err != nil {
				return err
			}
			if n < 1<<20 {
				return errors.New("argument must be between 1048576 and 9223372036854775807 inclusive")
			}
			s.cfgMu.Lock()
			s.cfg.QueryBufferLimit = n
			s.publishConfig()
			s.cfgMu.Unlock()
			return nil
		}})
	st.add(&setting{name: "notify-keyspace-events",
		get: func() string { return formatNotifyFlags(s.notifications.flags.Load()) },
		set: func(v string) error {
			f, err := parseNotifyFlags(v)
			if err != nil {
				return err
			}
			s.notifications.flags.Store(f)
			return nil
		}})
	st.add(&setting{name: "client-output-buffer-limit",
		get: func() string {
			h, so, sec := s.pubsubLimits()
			return "normal 0 0 0 slave 268435456 67108864 60 pubsub " + strconv.FormatInt(h, 10) + " " +
				strconv.FormatInt(so, 10) + " " + strconv.FormatInt(sec, 10)
		},
		set: s.parseOutputLimit})
	readOnly := func(name string, get func() string) {
		st.add(&setting{name: name, get: get})
	}
	readOnly("port", func() string { return strconv.Itoa(s.config().Port) })
	readOnly("bind", func() string { return s.config().Bind })
	readOnly("databases", func() string { return strconv.Itoa(s.ks.Databases()) })
	readOnly("daemonize", func() string { return "no" })
	readOnly("cluster-enabled", func() string { return "no" })
	// Parameters clients and tools commonly read or set, which Ferry keeps
	// as given: they have no effect yet, or the mechanism differs.
	for name, def := range map[string]string{
		"save": "3600 1 300 100 60 10000", "appendonly": "no", "appendfsync": "everysec",
		"dir": "./data", "dbfilename": "dump.rdb", "appendfilename": "appendonly.aof",
		"protected-mode": "yes", "loglevel": "notice",
		"logfile": "", "tcp-keepalive": "300", "maxmemory-samples": "5",
		"activerehashing": "yes", "lazyfree-lazy-eviction": "no", "lazyfree-lazy-expire": "no",
		"lazyfree-lazy-server-del": "no", "lazyfree-lazy-user-del": "no", "lazyfree-lazy-user-flush": "no",
		"replica-read-only": "yes", "slave-read-only": "yes", "stop-writes-on-bgsave-error": "yes",
		"rdbcompression": "yes", "rdbchecksum": "yes", "latency-monitor-threshold": "0",
		"busy-reply-threshold": "5000", "lua-time-limit": "5000", "active-expire-effort": "1",
		"maxmemory-eviction-tenacity": "10", "tcp-backlog": "511", "unixsocket": "",
		"client-output-buffer-limit":  "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
		"auto-aof-rewrite-percentage": "100", "auto-aof-rewrite-min-size": "67108864",
		"aof-load-truncated": "yes", "supervised": "no", "io-threads": "1", "enable-debug-command": "no",
	} {
		st.extra[name] = def
	}
	return st
}

func (st *settings) add(x *setting) {
	st.byName[x.name] = x
	for _, a := range x.aliases {
		st.byName[a] = x
	}
	st.list = append(st.list, x)
}

// get returns name/value pairs of every parameter matching a glob.
func (st *settings) match(pattern string) [][2]string {
	st.mu.Lock()
	defer st.mu.Unlock()
	pattern = strings.ToLower(pattern)
	var out [][2]string
	seen := map[string]bool{}
	try := func(name string, val func() string) {
		if seen[name] {
			return
		}
		if ok, _ := path.Match(pattern, name); ok || pattern == name {
			seen[name] = true
			out = append(out, [2]string{name, val()})
		}
	}
	for name, x := range st.byName {
		x := x
		try(name, x.get)
	}
	for name, v := range st.extra {
		v := v
		try(name, func() string { return v })
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// set assigns parameters atomically: all are validated first.
func (st *settings) set(pairs [][2]string) (string, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	seen := map[string]bool{}
	for _, p := range pairs {
		name := strings.ToLower(p[0])
		x := st.byName[name]
		_, isExtra := st.extra[name]
		if x == nil && !isExtra {
			return p[0], errUnknownParam
		}
		if x != nil && x.set == nil {
			return p[0], errImmutable
		}
		if seen[name] {
			return p[0], errDuplicateParam
		}
		seen[name] = true
	}
	for _, p := range pairs {
		name := strings.ToLower(p[0])
		if x := st.byName[name]; x != nil {
			if err := x.set(p[1]); err != nil {
				return p[0], err
			}
			continue
		}
		st.extra[name] = p[1]
	}
	return "", nil
}

// ApplyParams sets startup parameters from the configuration (redis.conf
// lines), failing on unknown ones as Redis refuses a bad config file.
func (s *Server) ApplyParams(params [][2]string) error {
	for _, p := range params {
		if name, err := s.conf.set([][2]string{p}); err != nil {
			if err == errUnknownParam {
				return fmt.Errorf("redis: bad directive %q", name)
			}
			return fmt.Errorf("redis: %s: %v", name, err)
		}
	}
	return nil
}

// Extra returns a stored parameter Ferry keeps but does not act on.
func (st *settings) Extra(name string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.extra[name]
}

func splitFields(s string) []string { return strings.Fields(s) }

var (
	errWrongArgs    = errors.New("Wrong number of arguments in buffer limit configuration.")
	errInvalidClass = errors.New("Invalid client class specified in buffer limit configuration.")
)

var (
	errUnknownParam   = errors.New("unknown")
	errImmutable      = errors.New("can't set immutable config")
	errDuplicateParam = errors.New("duplicate parameter")
)

// parseMemory reads a redis.conf memory amount (1gb = 2^30, 1g = 10^9).
func parseMemory(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	mul := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}, {"b", 1}} {
		if strings.HasSuffix(s, u.suf) {
			s, mul = strings.TrimSuffix(s, u.suf), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("argument must be a memory value")
	}
	return n * mul, nil
}
