package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"ferry/internal/config"
	"ferry/internal/proto/redis"
)

// parseRedisServerArgs reads redis-server's command line: an optional
// config file (redis.conf syntax; "-" reads standard input) followed by
// "--option value ..." pairs, each the same as a config file line.
func parseRedisServerArgs(args []string, stdout io.Writer) (config.Config, error) {
	cfg := config.Default()
	cfg.Memcached.Enabled = false
	cfg.AMQP.Enabled = false
	cfg.Admin.Addr = "" // redis-server opens no HTTP port
	cfg.Policy = "noeviction"
	cfg.Persist.AppendOnly = false // redis-server's defaults: snapshots only
	if len(args) == 1 && (args[0] == "-v" || args[0] == "--version") {
		fmt.Fprintf(stdout, "Redis server v=%s sha=00000000:0 malloc=go bits=64 build=ferry\n", redis.CompatVersion)
		return cfg, errHelpShown
	}
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stdout, `Usage: ferry redis-server [/path/to/redis.conf] [options] [-]
       ferry redis-server - (read config from stdin)
       ferry redis-server -v or --version
       ferry redis-server -h or --help

Examples:
       ferry redis-server (run the server with default conf)
       ferry redis-server /etc/redis/6379.conf
       ferry redis-server --port 7777
       ferry redis-server /etc/myredis.conf --loglevel verbose -
       ferry redis-server --maxmemory 100mb --maxmemory-policy allkeys-lru
`)
		return cfg, errHelpShown
	}
	st := &directiveState{defaultSave: true}
	var lines []string // config lines, in order: file first, then options
	i := 0
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
		path := args[0]
		i = 1
		var r io.Reader
		if path == "-" {
			r = os.Stdin
		} else {
			f, err := os.Open(path)
			if err != nil {
				return cfg, fmt.Errorf("Fatal error, can't open config file '%s': %v", path, err)
			}
			defer f.Close()
			r = f
			abs, _ := absPath(path)
			cfg.Redis.ConfigFile = abs
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		if err := sc.Err(); err != nil {
			return cfg, err
		}
	}
	for i < len(args) {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			return cfg, fmt.Errorf("%w: unexpected argument %q", errUsage, a)
		}
		line := a[2:]
		for i++; i < len(args) && !strings.HasPrefix(args[i], "--"); i++ {
			line += " " + quoteArg(args[i])
		}
		lines = append(lines, line)
	}
	for n, line := range lines {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		argv, err := config.SplitArgs(t)
		if err != nil || len(argv) == 0 {
			return cfg, configFileError(n+1, line, "Unbalanced quotes in configuration line")
		}
		if err := applyRedisDirective(&cfg, st, strings.ToLower(argv[0]), argv[1:]); err != nil {
			return cfg, configFileError(n+1, line, err.Error())
		}
	}
	return cfg, nil
}

func configFileError(n int, line, msg string) error {
	return fmt.Errorf("\n*** FATAL CONFIG FILE ERROR (Redis %s) ***\nReading the configuration file, at line %d\n>>> '%s'\n%s",
		redis.CompatVersion, n, line, msg)
}

func quoteArg(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"'\\") {
		return strconv.Quote(s)
	}
	return s
}

func absPath(p string) (string, error) {
	if strings.HasPrefix(p, "/") {
		return p, nil
	}
	wd, err := os.Getwd()
	return wd + "/" + p, err
}

// applyRedisDirective maps one redis.conf directive onto the configuration:
// listener and engine settings to their Ferry fields, the rest to Redis
// parameters checked when the server starts.
// directiveState is what reading a redis.conf must remember across lines.
type directiveState struct {
	defaultSave bool // save points are still the defaults: the first save line replaces them
}

func applyRedisDirective(cfg *config.Config, st *directiveState, name string, vals []string) error {
	one := func() (string, error) {
		if len(vals) != 1 {
			return "", fmt.Errorf("wrong number of arguments")
		}
		return vals[0], nil
	}
	host, port, _ := net.SplitHostPort(cfg.Redis.Addr)
	switch name {
	case "port":
		v, err := one()
		if err != nil {
			return err
		}
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("Invalid port")
		}
		cfg.Redis.Addr = net.JoinHostPort(host, v)
	case "bind":
		var hosts []string
		for _, h := range vals {
			hosts = append(hosts, strings.TrimPrefix(h, "-"))
		}
		if len(hosts) == 0 {
			return fmt.Errorf("wrong number of arguments")
		}
		cfg.Redis.Addr = net.JoinHostPort(strings.Join(hosts, ","), port)
	case "requirepass", "maxclients", "timeout", "maxmemory", "maxmemory-policy", "databases", "dir",
		"appendonly", "appendfsync", "appendfilename", "appenddirname", "dbfilename", "rdbcompression",
		"rdbchecksum", "aof-load-truncated", "aof-use-rdb-preamble", "auto-aof-rewrite-percentage",
		"auto-aof-rewrite-min-size", "stop-writes-on-bgsave-error", "redis-event-loops":
		v, err := one()
		if err != nil {
			return err
		}
		return cfg.Set(name, v)
	case "save":
		// save "" disables; several save lines accumulate, as in redis.conf.
		v := strings.Join(vals, " ")
		if len(vals) == 1 && vals[0] == "" {
			st.defaultSave = false
			return cfg.Set("save", "")
		}
		if cfg.Persist.Save != "" && !st.defaultSave {
			v = cfg.Persist.Save + " " + v
		}
		st.defaultSave = false
		return cfg.Set("save", v)
	case "loglevel":
		v, err := one()
		if err != nil {
			return err
		}
		switch strings.ToLower(v) {
		case "debug", "verbose":
			cfg.LogLevel = "debug"
		case "notice":
			cfg.LogLevel = "info"
		case "warning", "nothing":
			cfg.LogLevel = "warn"
		default:
			return fmt.Errorf("argument(s) must be one of the following: debug, verbose, notice, warning, nothing")
		}
	case "daemonize":
		v, err := one()
		if err != nil {
			return err
		}
		if strings.EqualFold(v, "yes") {
			return fmt.Errorf("daemonize is not supported: run ferry under a service manager")
		}
	case "logfile", "pidfile", "unixsocket", "unixsocketperm", "supervised", "always-show-logo", "set-proc-title", "proc-title-template":
		// process-level settings the service manager handles for Ferry
	default:
		cfg.Redis.Params = append(cfg.Redis.Params, [2]string{name, strings.Join(vals, " ")})
	}
	return nil
}
