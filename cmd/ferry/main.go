// Command ferry runs the Ferry server: memcached, Redis and AMQP front ends
// over shared engines in one process.
//
//	ferry [--directive value ...]      every front end, embedded defaults
//	ferry memcached [memcached flags]  the memcached front end only
//	ferry redis-server [redis.conf] [--option value ...]  the Redis front end only
//	ferry amqp [--port 5672] [--dir ./data] [--option value ...]  the AMQP broker only
//	ferry ctl [--node host:port] [-u user] [-p password] COMMAND ...  rabbitmqctl-style admin tool
//	ferry version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"ferry/internal/config"
	"ferry/internal/proto/memcache"
	"ferry/internal/server"
)

// errUsage marks a command-line mistake (exit status 64, EX_USAGE).
var errUsage = errors.New("usage")

// errHelpShown means help or version was printed and nothing is to run.
var errHelpShown = errors.New("help shown")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var cfg config.Config
	var check bool
	var err error
	role := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		role = args[0]
		args = args[1:]
	}
	switch role {
	case "":
		cfg, check, err = parseFerryArgs(args, stdout)
	case "memcached":
		cfg, err = parseMemcachedArgs(args, stdout)
	case "redis-server":
		cfg, err = parseRedisServerArgs(args, stdout)
	case "amqp":
		cfg, err = parseAMQPArgs(args, stdout)
	case "ctl":
		return runCtl(args, os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "ferry %s (memcached %s protocol)\n", server.Version, memcache.CompatVersion)
		return 0
	case "help":
		printFerryHelp(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "ferry: unknown command %q (try: ferry --help)\n", role)
		return 64
	}
	switch {
	case errors.Is(err, errHelpShown):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "ferry: %v\n", err)
		if errors.Is(err, errUsage) {
			return 64
		}
		return 1
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "ferry: invalid configuration:\n%v\n", err)
		return 1
	}
	if check {
		fmt.Fprintln(stdout, "configuration OK")
		return 0
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel(cfg.LogLevel)}))
	srv, err := server.New(cfg, server.Options{Logger: log, VerboseOut: stderr})
	if err != nil {
		fmt.Fprintf(stderr, "ferry: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "ferry: %v\n", err)
		return 1
	}
	return 0
}

func logLevel(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// parseFerryArgs reads `ferry` flags: --config FILE, --check-config,
// --help, --version and --<directive> VALUE (or --<directive>=VALUE) for
// every configuration directive. Precedence: defaults, file, environment,
// flags.
func parseFerryArgs(args []string, stdout io.Writer) (config.Config, bool, error) {
	cfg := config.Default()
	type kv struct{ k, v string }
	var sets []kv
	var file string
	check := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			if i == 0 && file == "" && !strings.HasPrefix(a, "-") {
				file = a // like redis-server, a leading argument is the config file
				continue
			}
			return cfg, false, fmt.Errorf("%w: unexpected argument %q", errUsage, a)
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		switch name {
		case "help":
			printFerryHelp(stdout)
			return cfg, false, errHelpShown
		case "version":
			fmt.Fprintf(stdout, "ferry %s\n", server.Version)
			return cfg, false, errHelpShown
		case "check-config":
			check = true
			continue
		}
		if !hasVal {
			if i+1 == len(args) {
				return cfg, false, fmt.Errorf("%w: --%s needs a value", errUsage, name)
			}
			i++
			val = args[i]
		}
		if name == "config" {
			file = val
			continue
		}
		if _, ok := cfg.Get(name); !ok {
			return cfg, false, fmt.Errorf("%w: unknown option --%s (see ferry --help)", errUsage, name)
		}
		sets = append(sets, kv{name, val})
	}
	if file != "" {
		if err := cfg.LoadFile(file); err != nil {
			return cfg, false, err
		}
	}
	if err := cfg.LoadEnv(os.Environ()); err != nil {
		return cfg, false, err
	}
	for _, s := range sets {
		if err := cfg.Set(s.k, s.v); err != nil {
			return cfg, false, fmt.Errorf("%w: --%v", errUsage, err)
		}
	}
	return cfg, check, nil
}

func printFerryHelp(w io.Writer) {
	def := config.Default()
	fmt.Fprintf(w, `ferry %s: memcached, Redis and AMQP front ends over shared engines, in one process.

Usage:
  ferry [CONFIG-FILE] [--config FILE] [--DIRECTIVE VALUE ...]   run every front end
  ferry memcached [memcached's flags]                            memcached only (ferry memcached -h)
  ferry redis-server [redis.conf] [--option value ...]           Redis only (ferry redis-server -h)
  ferry amqp [--port 5672] [--dir ./data] [--option value ...]   AMQP 0-9-1 broker only (ferry amqp -h)
  ferry ctl [--node HOST:PORT] [-u USER] [-p PASS] COMMAND ...   rabbitmqctl-style administration (ferry ctl help)
  ferry version

Options (each is also a config-file directive and a FERRY_<NAME> environment variable):
  --config FILE      read directives from FILE ("name value" lines, redis.conf syntax)
  --check-config     validate the configuration and exit
`, server.Version)
	for _, d := range config.Directives() {
		v := d.Get(&def)
		if v == "" {
			v = `""`
		}
		fmt.Fprintf(w, "  --%-38s %s (default %s)\n", d.Name+" VALUE", d.Usage, v)
	}
}
