package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"ferry/internal/config"
	"ferry/internal/proto/memcache"
)

// memcachedOption is one of memcached's command-line options.
type memcachedOption struct {
	short   byte
	long    string
	hasArg  bool
	usage   string
	handler func(o *memcachedOpts, arg string) error
}

// memcachedOpts collects options before they become a Config.
type memcachedOpts struct {
	cfg     config.Config
	port    string
	listen  string
	help    bool
	version bool
}

var memcachedOptions = []memcachedOption{
	{'p', "port", true, "TCP port to listen on (default: 11211)", func(o *memcachedOpts, a string) error {
		if _, err := strconv.ParseUint(a, 10, 16); err != nil {
			return fmt.Errorf("invalid port %q", a)
		}
		o.port = a
		return nil
	}},
	{'U', "udp-port", true, "UDP port to listen on (default: 0, off)", func(o *memcachedOpts, a string) error {
		n, err := strconv.ParseUint(a, 10, 16)
		if err != nil {
			return fmt.Errorf("invalid UDP port %q", a)
		}
		o.cfg.Memcached.UDPPort = int(n)
		return nil
	}},
	{'l', "listen", true, "interface to listen on (default: 127.0.0.1); comma-separated list allowed", func(o *memcachedOpts, a string) error {
		o.listen = a
		return nil
	}},
	{'u', "user", true, "assume identity of <username> (only when run as root)", func(o *memcachedOpts, a string) error {
		o.cfg.User = a
		return nil
	}},
	{'m', "memory-limit", true, "item memory in megabytes (default: 64); units k, m, g accepted", func(o *memcachedOpts, a string) error {
		n, err := parseMemcachedSize(a, 1<<20)
		if err != nil {
			return err
		}
		o.cfg.MaxMemory = n
		return nil
	}},
	{'M', "disable-evictions", false, "return error on memory exhausted instead of evicting", func(o *memcachedOpts, _ string) error {
		o.cfg.Memcached.EvictionsDisabled = true
		return nil
	}},
	{'c', "conn-limit", true, "max simultaneous connections (default: 1024)", func(o *memcachedOpts, a string) error {
		n, err := strconv.Atoi(a)
		if err != nil || n <= 0 {
			return fmt.Errorf("invalid connection limit %q", a)
		}
		o.cfg.Memcached.MaxConns = n
		return nil
	}},
	{'I', "max-item-size", true, "adjusts max item size (default: 1m, min: 1k, max: 1024m)", func(o *memcachedOpts, a string) error {
		n, err := parseMemcachedSize(a, 1)
		if err != nil {
			return err
		}
		if n < 1024 {
			return fmt.Errorf("item max size cannot be less than 1024 bytes")
		}
		if n > 1<<30 {
			return fmt.Errorf("cannot set item size limit higher than 1 gigabyte")
		}
		o.cfg.Memcached.MaxItemSize = int(n)
		return nil
	}},
	{'t', "threads", true, "number of threads to use (default: 4): Ferry runs that many event loops, at most one per CPU", func(o *memcachedOpts, a string) error {
		n, err := strconv.Atoi(a)
		if err != nil || n <= 0 {
			return fmt.Errorf("number of threads must be greater than 0")
		}
		o.cfg.Memcached.Threads = n
		return nil
	}},
	{'v', "verbose", false, "verbose (print errors/warnings while in event loop); -vv also prints client commands/responses", func(o *memcachedOpts, _ string) error {
		o.cfg.Memcached.Verbosity++
		return nil
	}},
	{'A', "enable-shutdown", false, "enable ascii \"shutdown\" command", func(o *memcachedOpts, _ string) error {
		o.cfg.Memcached.ShutdownEnabled = true
		return nil
	}},
	{'h', "help", false, "print this help and exit", func(o *memcachedOpts, _ string) error {
		o.help = true
		return nil
	}},
	{'V', "version", false, "print version and exit", func(o *memcachedOpts, _ string) error {
		o.version = true
		return nil
	}},
}

// parseMemcachedSize reads "64", "64m", "512k", "1g"; a bare number is in
// units of unit (megabytes for -m, bytes for -I).
func parseMemcachedSize(s string, unit int64) (int64, error) {
	mul := unit
	t := strings.ToLower(s)
	switch {
	case strings.HasSuffix(t, "k"):
		mul, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "m"):
		mul, t = 1<<20, t[:len(t)-1]
	case strings.HasSuffix(t, "g"):
		mul, t = 1<<30, t[:len(t)-1]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mul, nil
}

// memcachedDefaults is what `memcached` with no options does, but bound to
// the loopback interface unless -l says otherwise.
func memcachedDefaults() config.Config {
	cfg := config.Default()
	cfg.Redis.Enabled = false
	cfg.AMQP.Enabled = false
	cfg.Admin.Addr = ""            // memcached opens no HTTP port
	cfg.Persist.AppendOnly = false // memcached keeps nothing across restarts
	cfg.Persist.Save = ""
	cfg.MaxMemory = 64 << 20
	cfg.Policy = "allkeys-lru"
	return cfg
}

// parseMemcachedArgs reads memcached's own command line (getopt style:
// "-p 11211", "-p11211", "-vv", "--port=11211", "--port 11211").
func parseMemcachedArgs(args []string, stdout io.Writer) (config.Config, error) {
	o := &memcachedOpts{cfg: memcachedDefaults(), port: "11211", listen: "127.0.0.1"}
	find := func(short byte, long string) *memcachedOption {
		for i := range memcachedOptions {
			m := &memcachedOptions[i]
			if (short != 0 && m.short == short) || (long != "" && m.long == long) {
				return m
			}
		}
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			m := find(0, name)
			if m == nil {
				return o.cfg, fmt.Errorf("%w: unrecognized option '--%s'", errUsage, name)
			}
			if m.hasArg && !hasVal {
				if i+1 == len(args) {
					return o.cfg, fmt.Errorf("%w: option '--%s' requires an argument", errUsage, name)
				}
				i++
				val = args[i]
			}
			if err := m.handler(o, val); err != nil {
				return o.cfg, fmt.Errorf("%w: %v", errUsage, err)
			}
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				m := find(a[j], "")
				if m == nil {
					return o.cfg, fmt.Errorf("%w: invalid option -- '%c'", errUsage, a[j])
				}
				val := ""
				if m.hasArg {
					if j+1 < len(a) {
						val = a[j+1:]
					} else if i+1 < len(args) {
						i++
						val = args[i]
					} else {
						return o.cfg, fmt.Errorf("%w: option requires an argument -- '%c'", errUsage, a[j])
					}
					j = len(a)
				}
				if err := m.handler(o, val); err != nil {
					return o.cfg, fmt.Errorf("%w: %v", errUsage, err)
				}
			}
		default:
			return o.cfg, fmt.Errorf("%w: unexpected argument %q", errUsage, a)
		}
	}
	if o.help {
		printMemcachedHelp(stdout)
		return o.cfg, errHelpShown
	}
	if o.version {
		fmt.Fprintf(stdout, "memcached %s\n", memcache.CompatVersion)
		return o.cfg, errHelpShown
	}
	var hosts []string
	for _, h := range strings.Split(o.listen, ",") {
		hosts = append(hosts, strings.Trim(h, "[]"))
	}
	if int64(o.cfg.Memcached.MaxItemSize) > o.cfg.MaxMemory/2 {
		return o.cfg, fmt.Errorf("%w: Cannot set item size limit higher than 1/2 of memory max.", errUsage)
	}
	o.cfg.Memcached.Addr = net.JoinHostPort(strings.Join(hosts, ","), o.port)
	if o.cfg.Memcached.EvictionsDisabled {
		o.cfg.Policy = "noeviction"
	}
	return o.cfg, nil
}

func printMemcachedHelp(w io.Writer) {
	fmt.Fprintf(w, "memcached %s (ferry)\n", memcache.CompatVersion)
	for _, m := range memcachedOptions {
		arg := ""
		if m.hasArg {
			arg = "=<arg>"
		}
		fmt.Fprintf(w, "-%c, --%-24s %s\n", m.short, m.long+arg, m.usage)
	}
}
