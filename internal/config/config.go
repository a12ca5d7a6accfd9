// Package config holds Ferry's one configuration struct and the ways to
// fill it: embedded defaults, then a file of "directive value" lines (the
// redis.conf syntax), then FERRY_* environment variables, then command-line
// flags; Validate checks the result. Every setting is a named directive, so
// the same name works in all four places. It imports only the standard
// library.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Config is the whole server configuration.
type Config struct {
	Bind string // default listen host for front ends given only a port
	Dir  string // data directory
	User string // drop root privileges to this user after binding

	Memcached Memcached
	Redis     Redis
	AMQP      AMQP
	Admin     Admin

	Persist Persist

	MaxMemory int64  // bytes the keyspace may use; 0 = unlimited
	Policy    string // maxmemory-policy
	Databases int

	LogLevel string // debug, info, warn, error
}

// Memcached configures the memcached front end.
type Memcached struct {
	Enabled           bool
	Addr              string // host:port
	UDPPort           int    // 0 = off
	MaxConns          int
	MaxItemSize       int
	Threads           int
	Verbosity         int
	EvictionsDisabled bool
	ShutdownEnabled   bool // memcached -A
}

// Persist configures persistence, with redis.conf's option names.
type Persist struct {
	AppendOnly               bool
	AppendFsync              string
	AppendFilename           string
	AppendDirname            string
	DBFilename               string
	Save                     string // "3600 1 300 100 60 10000", "" = no snapshots
	RDBCompression           bool
	RDBChecksum              bool
	AOFLoadTruncated         bool
	AOFUseRDBPreamble        bool
	AutoAOFRewritePercentage int
	AutoAOFRewriteMinSize    int64
	StopWritesOnBgsaveError  bool
}

// Redis configures the Redis front end.
type Redis struct {
	Enabled     bool
	Addr        string // host:port
	RequirePass string
	MaxClients  int
	Timeout     int // idle client timeout, seconds (0 = none)
	// EventLoops is how many event loops serve Redis clients (Linux);
	// 0 gives every client a goroutine of its own, -1 one loop per two
	// CPUs.
	EventLoops int
	// Params are further redis.conf parameters (hash-max-listpack-entries,
	// slowlog-max-len, ...) applied as CONFIG SET at startup.
	Params [][2]string
	// ConfigFile is the redis.conf given to `ferry redis-server`, for
	// CONFIG REWRITE and INFO.
	ConfigFile string
}

// AMQP configures the AMQP 0-9-1 front end and its broker, with
// RabbitMQ's defaults. The broker keeps its definitions and message store
// under <Dir>/amqp.
type AMQP struct {
	Enabled          bool
	Addr             string // host:port
	ChannelMax       int    // channel_max proposed to clients (2047)
	FrameMax         int    // frame_max proposed to clients (131072)
	Heartbeat        int    // heartbeat timeout proposed to clients, seconds (60; 0 = none)
	MaxMessageSize   int64  // largest message body (128 MiB, max 512 MiB)
	MaxConnections   int    // 0 = unlimited
	HandshakeTimeout int    // milliseconds from accept to connection.open (10000)
	// MemoryHighWatermark is RabbitMQ's vm_memory_high_watermark: a
	// fraction of the machine's memory ("0.4") or an absolute size
	// ("2gb"); message memory above it blocks publishers.
	MemoryHighWatermark string
	// MemoryPagingRatio is RabbitMQ's vm_memory_high_watermark_paging_ratio:
	// above this fraction of the high watermark, queues page message
	// bodies to disk (0 = never; above 1, the watermark blocks first).
	MemoryPagingRatio float64
	// DefaultUser, DefaultPass and DefaultVHost are RabbitMQ's
	// default_user, default_pass and default_vhost: created (the user as
	// administrator with full permissions) when the broker starts with no
	// definitions.
	DefaultUser, DefaultPass, DefaultVHost string
	// LoopbackUsers may connect (AMQP and admin API) only from loopback
	// addresses, as RabbitMQ's loopback_users (default guest).
	LoopbackUsers []string
	// Users, VHosts and Permissions are declared by amqp-user, amqp-vhost
	// and amqp-permissions lines; they are applied at every start on top
	// of the broker's saved definitions (created, or reset to what the
	// file says) and so are durable.
	Users       []AMQPUser
	VHosts      []string
	Permissions []AMQPPermission
}

// AMQPUser is one amqp-user line: a broker user with password and tags.
type AMQPUser struct {
	Name, Password string
	Tags           []string
}

// AMQPPermission is one amqp-permissions line.
type AMQPPermission struct {
	User, VHost, Configure, Write, Read string
}

// Admin configures the admin HTTP listener: /metrics, the management
// API (/api/...) and /healthz.
type Admin struct {
	Addr string // host:port; "" = off
	// Explicit is set when admin-addr was given (file, environment, flag):
	// failing to bind it is then an error. The built-in default only
	// warns, so several Ferry processes on one machine (tests) still
	// start.
	Explicit bool
}

// Default returns the embedded defaults: every front end on its standard
// port on the loopback interface.
func Default() Config {
	return Config{
		Bind:      "127.0.0.1",
		Dir:       "./data",
		Policy:    "noeviction",
		Databases: 16,
		LogLevel:  "info",
		Memcached: Memcached{
			Enabled:     true,
			Addr:        "127.0.0.1:11211",
			MaxConns:    1024,
			MaxItemSize: 1 << 20,
			Threads:     4,
		},
		Redis: Redis{
			Enabled:    true,
			Addr:       "127.0.0.1:6379",
			MaxClients: 10000,
			EventLoops: -1,
		},
		AMQP: AMQP{
			Enabled:             true,
			Addr:                "127.0.0.1:5672",
			ChannelMax:          2047,
			FrameMax:            131072,
			Heartbeat:           60,
			MaxMessageSize:      128 << 20,
			HandshakeTimeout:    10000,
			MemoryHighWatermark: "0.4",
			MemoryPagingRatio:   0.5,
			DefaultUser:         "guest",
			DefaultPass:         "guest",
			DefaultVHost:        "/",
			LoopbackUsers:       []string{"guest"},
		},
		Admin: Admin{Addr: "127.0.0.1:15672"},
		Persist: Persist{
			AppendOnly:               true,
			AppendFsync:              "everysec",
			AppendFilename:           "appendonly.aof",
			AppendDirname:            "appendonlydir",
			DBFilename:               "dump.rdb",
			Save:                     "3600 1 300 100 60 10000",
			RDBCompression:           true,
			RDBChecksum:              true,
			AOFLoadTruncated:         true,
			AOFUseRDBPreamble:        true,
			AutoAOFRewritePercentage: 100,
			AutoAOFRewriteMinSize:    64 << 20,
			StopWritesOnBgsaveError:  true,
		},
	}
}

// Directive is one named setting.
type Directive struct {
	Name  string
	Usage string
	Set   func(c *Config, v string) error
	Get   func(c *Config) string
}

// directives lists every setting by name.
var directives = []Directive{
	{"bind", "default host for listeners", func(c *Config, v string) error {
		c.Bind = v
		return nil
	}, func(c *Config) string { return c.Bind }},
	{"dir", "data directory", func(c *Config, v string) error {
		c.Dir = v
		return nil
	}, func(c *Config) string { return c.Dir }},
	{"user", "user to run as (when started as root)", func(c *Config, v string) error {
		c.User = v
		return nil
	}, func(c *Config) string { return c.User }},
	{"maxmemory", "memory limit for data, e.g. 100mb (0 = none)", func(c *Config, v string) error {
		n, err := ParseMemory(v)
		c.MaxMemory = n
		return err
	}, func(c *Config) string { return strconv.FormatInt(c.MaxMemory, 10) }},
	{"maxmemory-policy", "eviction policy at the limit", func(c *Config, v string) error {
		c.Policy = strings.ToLower(v)
		return nil
	}, func(c *Config) string { return c.Policy }},
	{"databases", "number of databases", intSetter(func(c *Config) *int { return &c.Databases }),
		func(c *Config) string { return strconv.Itoa(c.Databases) }},
	{"loglevel", "log level: debug, info, warn, error", func(c *Config, v string) error {
		c.LogLevel = strings.ToLower(v)
		return nil
	}, func(c *Config) string { return c.LogLevel }},
	{"memcached", "serve the memcached protocol (yes/no)", boolSetter(func(c *Config) *bool { return &c.Memcached.Enabled }),
		func(c *Config) string { return yesNo(c.Memcached.Enabled) }},
	{"memcached-addr", "memcached listen address host:port", func(c *Config, v string) error {
		c.Memcached.Addr = v
		return nil
	}, func(c *Config) string { return c.Memcached.Addr }},
	{"memcached-maxconns", "memcached connection limit", intSetter(func(c *Config) *int { return &c.Memcached.MaxConns }),
		func(c *Config) string { return strconv.Itoa(c.Memcached.MaxConns) }},
	{"memcached-max-item-size", "largest memcached value, e.g. 1m", func(c *Config, v string) error {
		n, err := ParseMemory(v)
		c.Memcached.MaxItemSize = int(n)
		return err
	}, func(c *Config) string { return strconv.Itoa(c.Memcached.MaxItemSize) }},
	{"memcached-verbosity", "memcached verbose logging level (0-3)", intSetter(func(c *Config) *int { return &c.Memcached.Verbosity }),
		func(c *Config) string { return strconv.Itoa(c.Memcached.Verbosity) }},
	{"memcached-udp-port", "memcached UDP port (0 = off)", intSetter(func(c *Config) *int { return &c.Memcached.UDPPort }),
		func(c *Config) string { return strconv.Itoa(c.Memcached.UDPPort) }},
	{"appendonly", "keep an append-only file (yes/no)", boolSetter(func(c *Config) *bool { return &c.Persist.AppendOnly }),
		func(c *Config) string { return yesNo(c.Persist.AppendOnly) }},
	{"appendfsync", "fsync policy of the append-only file: always, everysec, no", func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "always", "everysec", "no":
			c.Persist.AppendFsync = strings.ToLower(v)
			return nil
		}
		return fmt.Errorf("must be always, everysec or no: %q", v)
	}, func(c *Config) string { return c.Persist.AppendFsync }},
	{"appendfilename", "name of the append-only files", func(c *Config, v string) error {
		c.Persist.AppendFilename = v
		return nil
	}, func(c *Config) string { return c.Persist.AppendFilename }},
	{"appenddirname", "directory of the append-only files (under dir)", func(c *Config, v string) error {
		c.Persist.AppendDirname = v
		return nil
	}, func(c *Config) string { return c.Persist.AppendDirname }},
	{"dbfilename", "snapshot file name (under dir)", func(c *Config, v string) error {
		c.Persist.DBFilename = v
		return nil
	}, func(c *Config) string { return c.Persist.DBFilename }},
	{"save", `snapshot points "<seconds> <changes> ..." ("" = none)`, func(c *Config, v string) error {
		f := strings.Fields(v)
		if len(f)%2 != 0 {
			return fmt.Errorf("invalid save parameters %q", v)
		}
		for _, x := range f {
			if _, err := strconv.ParseUint(x, 10, 63); err != nil {
				return fmt.Errorf("invalid save parameters %q", v)
			}
		}
		c.Persist.Save = strings.Join(f, " ")
		return nil
	}, func(c *Config) string { return c.Persist.Save }},
	{"rdbcompression", "compress strings in snapshots (yes/no)", boolSetter(func(c *Config) *bool { return &c.Persist.RDBCompression }),
		func(c *Config) string { return yesNo(c.Persist.RDBCompression) }},
	{"rdbchecksum", "checksum snapshots (yes/no)", boolSetter(func(c *Config) *bool { return &c.Persist.RDBChecksum }),
		func(c *Config) string { return yesNo(c.Persist.RDBChecksum) }},
	{"aof-load-truncated", "load an append-only file with a torn tail (yes/no)", boolSetter(func(c *Config) *bool { return &c.Persist.AOFLoadTruncated }),
		func(c *Config) string { return yesNo(c.Persist.AOFLoadTruncated) }},
	{"aof-use-rdb-preamble", "write rewritten AOF bases as RDB (yes/no)", boolSetter(func(c *Config) *bool { return &c.Persist.AOFUseRDBPreamble }),
		func(c *Config) string { return yesNo(c.Persist.AOFUseRDBPreamble) }},
	{"auto-aof-rewrite-percentage", "rewrite the AOF when it grew by this percentage", intSetter(func(c *Config) *int { return &c.Persist.AutoAOFRewritePercentage }),
		func(c *Config) string { return strconv.Itoa(c.Persist.AutoAOFRewritePercentage) }},
	{"auto-aof-rewrite-min-size", "smallest AOF to rewrite automatically", func(c *Config, v string) error {
		n, err := ParseMemory(v)
		c.Persist.AutoAOFRewriteMinSize = n
		return err
	}, func(c *Config) string { return strconv.FormatInt(c.Persist.AutoAOFRewriteMinSize, 10) }},
	{"stop-writes-on-bgsave-error", "refuse writes after a failed snapshot (yes/no)", boolSetter(func(c *Config) *bool { return &c.Persist.StopWritesOnBgsaveError }),
		func(c *Config) string { return yesNo(c.Persist.StopWritesOnBgsaveError) }},
	{"redis", "serve the Redis protocol (yes/no)", boolSetter(func(c *Config) *bool { return &c.Redis.Enabled }),
		func(c *Config) string { return yesNo(c.Redis.Enabled) }},
	{"redis-addr", "Redis listen address host:port", func(c *Config, v string) error {
		c.Redis.Addr = v
		return nil
	}, func(c *Config) string { return c.Redis.Addr }},
	{"requirepass", "Redis password of the default user", func(c *Config, v string) error {
		c.Redis.RequirePass = v
		return nil
	}, func(c *Config) string { return c.Redis.RequirePass }},
	{"maxclients", "Redis connection limit", intSetter(func(c *Config) *int { return &c.Redis.MaxClients }),
		func(c *Config) string { return strconv.Itoa(c.Redis.MaxClients) }},
	{"timeout", "close Redis clients idle this many seconds (0 = never)", intSetter(func(c *Config) *int { return &c.Redis.Timeout }),
		func(c *Config) string { return strconv.Itoa(c.Redis.Timeout) }},
	{"redis-event-loops", "event loops serving Redis clients (-1 = one per two CPUs, 0 = a goroutine per client)", intSetter(func(c *Config) *int { return &c.Redis.EventLoops }),
		func(c *Config) string { return strconv.Itoa(c.Redis.EventLoops) }},
	{"amqp", "serve the AMQP 0-9-1 protocol (yes/no)", boolSetter(func(c *Config) *bool { return &c.AMQP.Enabled }),
		func(c *Config) string { return yesNo(c.AMQP.Enabled) }},
	{"amqp-addr", "AMQP listen address host:port", func(c *Config, v string) error {
		c.AMQP.Addr = v
		return nil
	}, func(c *Config) string { return c.AMQP.Addr }},
	{"amqp-channel-max", "AMQP channel_max offered to clients", intSetter(func(c *Config) *int { return &c.AMQP.ChannelMax }),
		func(c *Config) string { return strconv.Itoa(c.AMQP.ChannelMax) }},
	{"amqp-frame-max", "AMQP frame_max offered to clients (4096 or more)", intSetter(func(c *Config) *int { return &c.AMQP.FrameMax }),
		func(c *Config) string { return strconv.Itoa(c.AMQP.FrameMax) }},
	{"amqp-heartbeat", "AMQP heartbeat timeout offered to clients, seconds (0 = none)", intSetter(func(c *Config) *int { return &c.AMQP.Heartbeat }),
		func(c *Config) string { return strconv.Itoa(c.AMQP.Heartbeat) }},
	{"amqp-max-message-size", "largest AMQP message body, e.g. 128mb (at most 512mb)", func(c *Config, v string) error {
		n, err := ParseMemory(v)
		c.AMQP.MaxMessageSize = n
		return err
	}, func(c *Config) string { return strconv.FormatInt(c.AMQP.MaxMessageSize, 10) }},
	{"amqp-max-connections", "AMQP connection limit (0 = none)", intSetter(func(c *Config) *int { return &c.AMQP.MaxConnections }),
		func(c *Config) string { return strconv.Itoa(c.AMQP.MaxConnections) }},
	{"amqp-handshake-timeout", "milliseconds an AMQP client has to open its connection", intSetter(func(c *Config) *int { return &c.AMQP.HandshakeTimeout }),
		func(c *Config) string { return strconv.Itoa(c.AMQP.HandshakeTimeout) }},
	{"amqp-memory-high-watermark", "broker memory that blocks publishers: fraction of RAM (0.4) or size (2gb); 0 = never", func(c *Config, v string) error {
		if _, _, err := ParseWatermark(v); err != nil {
			return err
		}
		c.AMQP.MemoryHighWatermark = strings.TrimSpace(v)
		return nil
	}, func(c *Config) string { return c.AMQP.MemoryHighWatermark }},
	{"amqp-memory-paging-ratio", "fraction of the memory high watermark above which queues page messages to disk (0.5); 0 = never", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || f != f {
			return fmt.Errorf("invalid paging ratio %q (a number such as 0.5)", v)
		}
		c.AMQP.MemoryPagingRatio = f
		return nil
	}, func(c *Config) string { return strconv.FormatFloat(c.AMQP.MemoryPagingRatio, 'g', -1, 64) }},
	{"amqp-default-user", "broker user created when there are no definitions yet (RabbitMQ's default_user)", func(c *Config, v string) error {
		c.AMQP.DefaultUser = v
		return nil
	}, func(c *Config) string { return c.AMQP.DefaultUser }},
	{"amqp-default-pass", "password of amqp-default-user", func(c *Config, v string) error {
		c.AMQP.DefaultPass = v
		return nil
	}, func(c *Config) string { return c.AMQP.DefaultPass }},
	{"amqp-default-vhost", "vhost created when there are no definitions yet", func(c *Config, v string) error {
		c.AMQP.DefaultVHost = v
		return nil
	}, func(c *Config) string { return c.AMQP.DefaultVHost }},
	{"amqp-loopback-users", `users allowed only from loopback, comma-separated ("" = none)`, func(c *Config, v string) error {
		c.AMQP.LoopbackUsers = splitList(v)
		return nil
	}, func(c *Config) string { return strings.Join(c.AMQP.LoopbackUsers, ",") }},
	{"amqp-user", "broker user: NAME PASSWORD [TAG,...] (repeatable; applied at every start)", func(c *Config, v string) error {
		f := strings.Fields(v)
		if len(f) < 2 || len(f) > 3 {
			return fmt.Errorf("want NAME PASSWORD [TAG,...], got %q", v)
		}
		u := AMQPUser{Name: f[0], Password: f[1]}
		if len(f) == 3 {
			u.Tags = splitList(f[2])
		}
		c.AMQP.Users = append(c.AMQP.Users, u)
		return nil
	}, func(c *Config) string {
		var out []string
		for _, u := range c.AMQP.Users {
			out = append(out, u.Name+" ***** "+strings.Join(u.Tags, ","))
		}
		return strings.Join(out, "; ")
	}},
	{"amqp-vhost", "broker vhost NAME (repeatable; created at start when missing)", func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if v == "" {
			return errors.New("want a vhost name")
		}
		c.AMQP.VHosts = append(c.AMQP.VHosts, v)
		return nil
	}, func(c *Config) string { return strings.Join(c.AMQP.VHosts, "; ") }},
	{"amqp-permissions", "USER VHOST CONFIGURE WRITE READ regular expressions (repeatable; ^$ for none)", func(c *Config, v string) error {
		f := strings.Fields(v)
		if len(f) != 5 {
			return fmt.Errorf("want USER VHOST CONFIGURE WRITE READ, got %q", v)
		}
		c.AMQP.Permissions = append(c.AMQP.Permissions, AMQPPermission{f[0], f[1], f[2], f[3], f[4]})
		return nil
	}, func(c *Config) string {
		var out []string
		for _, p := range c.AMQP.Permissions {
			out = append(out, strings.Join([]string{p.User, p.VHost, p.Configure, p.Write, p.Read}, " "))
		}
		return strings.Join(out, "; ")
	}},
	{"admin-addr", `admin HTTP listener (/metrics, /api, /healthz) host:port ("no" = off)`, func(c *Config, v string) error {
		v = strings.TrimSpace(v)
		if strings.EqualFold(v, "no") || v == "" {
			v = ""
		} else if _, _, err := net.SplitHostPort(v); err != nil {
			return fmt.Errorf("want host:port or no: %w", err)
		}
		c.Admin.Addr, c.Admin.Explicit = v, true
		return nil
	}, func(c *Config) string {
		if c.Admin.Addr == "" {
			return "no"
		}
		return c.Admin.Addr
	}},
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ParseWatermark reads a memory high watermark as RabbitMQ's
// vm_memory_high_watermark: a fraction of the machine's memory below 1
// ("0.4", relative) or an absolute size with the units ParseMemory reads.
func ParseWatermark(s string) (fraction float64, bytes int64, err error) {
	s = strings.TrimSpace(s)
	if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && strings.ContainsAny(s, ".") {
		if f < 0 || f >= 1 {
			return 0, 0, fmt.Errorf("relative watermark %q must be at least 0 and below 1", s)
		}
		return f, 0, nil
	}
	n, err := ParseMemory(s)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid watermark %q (a fraction such as 0.4 or a size such as 2gb)", s)
	}
	return 0, n, nil
}

// Directives returns every directive, sorted by name.
func Directives() []Directive {
	d := append([]Directive(nil), directives...)
	sort.Slice(d, func(i, j int) bool { return d[i].Name < d[j].Name })
	return d
}

func lookup(name string) (Directive, bool) {
	name = strings.ToLower(name)
	for _, d := range directives {
		if d.Name == name {
			return d, true
		}
	}
	return Directive{}, false
}

// Set assigns a directive by name.
func (c *Config) Set(name, value string) error {
	d, ok := lookup(name)
	if !ok {
		return fmt.Errorf("unknown directive %q", name)
	}
	if err := d.Set(c, value); err != nil {
		return fmt.Errorf("%s: %w", d.Name, err)
	}
	return nil
}

// Get reads a directive by name.
func (c *Config) Get(name string) (string, bool) {
	d, ok := lookup(name)
	if !ok {
		return "", false
	}
	return d.Get(c), true
}

// Load reads "directive value" lines (redis.conf syntax: '#' comments,
// double-quoted values) from r; name is used in error messages.
func (c *Config) Load(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		args, err := SplitArgs(line)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if len(args) < 2 {
			return fmt.Errorf("%s:%d: %q needs a value", name, n, args[0])
		}
		if err := c.Set(args[0], strings.Join(args[1:], " ")); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	return sc.Err()
}

// LoadFile reads a configuration file.
func (c *Config) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return c.Load(f, path)
}

// LoadEnv applies FERRY_<DIRECTIVE> variables (upper case, '-' as '_').
func (c *Config) LoadEnv(environ []string) error {
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "FERRY_") {
			continue
		}
		name := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(k, "FERRY_")), "_", "-")
		if _, known := lookup(name); !known {
			continue
		}
		if err := c.Set(name, v); err != nil {
			return fmt.Errorf("environment %s: %w", k, err)
		}
	}
	return nil
}

// Validate checks the configuration as a whole.
func (c *Config) Validate() error {
	var errs []error
	if c.Memcached.Enabled {
		if _, _, err := net.SplitHostPort(c.Memcached.Addr); err != nil {
			errs = append(errs, fmt.Errorf("memcached-addr: %w", err))
		}
		if c.Memcached.MaxItemSize < 1024 || c.Memcached.MaxItemSize > 1<<30 {
			errs = append(errs, errors.New("memcached-max-item-size: must be between 1k and 1g"))
		}
		if c.Memcached.MaxConns < 0 {
			errs = append(errs, errors.New("memcached-maxconns: must not be negative"))
		}
	}
	if c.Redis.Enabled {
		if _, _, err := net.SplitHostPort(c.Redis.Addr); err != nil {
			errs = append(errs, fmt.Errorf("redis-addr: %w", err))
		}
		if c.Redis.EventLoops < -1 {
			errs = append(errs, errors.New("redis-event-loops: must be -1 (one per two CPUs), 0 (a goroutine per client) or a number of loops"))
		}
		if c.Redis.MaxClients < 1 {
			errs = append(errs, errors.New("maxclients: must be at least 1"))
		}
	}
	if c.AMQP.Enabled {
		a := c.AMQP
		if _, _, err := net.SplitHostPort(a.Addr); err != nil {
			errs = append(errs, fmt.Errorf("amqp-addr: %w", err))
		}
		if a.ChannelMax < 0 || a.ChannelMax > 65535 {
			errs = append(errs, errors.New("amqp-channel-max: must be between 0 and 65535"))
		}
		if a.FrameMax < 4096 || a.FrameMax > 1<<30 {
			errs = append(errs, errors.New("amqp-frame-max: must be between 4096 and 1073741824"))
		}
		if a.Heartbeat < 0 || a.Heartbeat > 65535 {
			errs = append(errs, errors.New("amqp-heartbeat: must be between 0 and 65535"))
		}
		if a.MaxMessageSize < 1 || a.MaxMessageSize > 512<<20 {
			errs = append(errs, errors.New("amqp-max-message-size: must be between 1 and 512mb"))
		}
		if a.MaxConnections < 0 {
			errs = append(errs, errors.New("amqp-max-connections: must not be negative"))
		}
		if a.HandshakeTimeout < 1 {
			errs = append(errs, errors.New("amqp-handshake-timeout: must be positive"))
		}
		if _, _, err := ParseWatermark(a.MemoryHighWatermark); err != nil {
			errs = append(errs, fmt.Errorf("amqp-memory-high-watermark: %w", err))
		}
		if !(a.MemoryPagingRatio >= 0) {
			errs = append(errs, errors.New("amqp-memory-paging-ratio: must not be negative"))
		}
	}
	if c.Databases < 1 || c.Databases > 256 {
		errs = append(errs, errors.New("databases: must be between 1 and 256"))
	}
	if c.MaxMemory < 0 {
		errs = append(errs, errors.New("maxmemory: must not be negative"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("loglevel: unknown level %q", c.LogLevel))
	}
	return errors.Join(errs...)
}

// ParseMemory parses a byte size as redis.conf does: a number with an
// optional unit (k/kb/m/mb/g/gb; "k" is 1000, "kb" 1024, and so on).
func ParseMemory(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	mul := int64(1)
	for _, u := range []struct {
		suffix string
		mul    int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mul = strings.TrimSuffix(s, u.suffix), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid memory size %q", s)
	}
	return n * mul, nil
}

// SplitArgs splits a line into arguments as redis.conf does: spaces
// separate, double quotes group (with \n, \", \\ and \xHH escapes), single
// quotes group literally.
func SplitArgs(line string) ([]string, error) {
	var args []string
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) {
			return args, nil
		}
		var b strings.Builder
		switch line[i] {
		case '"':
			i++
			for {
				if i == len(line) {
					return nil, errors.New("unbalanced quotes")
				}
				ch := line[i]
				if ch == '"' {
					i++
					break
				}
				if ch == '\\' && i+1 < len(line) {
					i++
					switch line[i] {
					case 'n':
						ch = '\n'
					case 'r':
						ch = '\r'
					case 't':
						ch = '\t'
					case 'x':
						if i+2 < len(line) {
							if v, err := strconv.ParseUint(line[i+1:i+3], 16, 8); err == nil {
								ch = byte(v)
								i += 2
								break
							}
						}
						ch = 'x'
					default:
						ch = line[i]
					}
				}
				b.WriteByte(ch)
				i++
			}
		case '\'':
			i++
			for {
				if i == len(line) {
					return nil, errors.New("unbalanced quotes")
				}
				if line[i] == '\'' {
					i++
					break
				}
				b.WriteByte(line[i])
				i++
			}
		default:
			for i < len(line) && line[i] != ' ' && line[i] != '\t' {
				b.WriteByte(line[i])
				i++
			}
		}
		if i < len(line) && line[i] != ' ' && line[i] != '\t' {
			return nil, errors.New("closing quote must be followed by a space")
		}
		args = append(args, b.String())
	}
}

func intSetter(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		*field(c) = n
		return nil
	}
}

func boolSetter(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "yes", "true", "on", "1":
			*field(c) = true
		case "no", "false", "off", "0":
			*field(c) = false
		default:
			return fmt.Errorf("not yes/no: %q", v)
		}
		return nil
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
