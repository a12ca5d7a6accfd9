package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"ferry/internal/config"
	"ferry/internal/proto/amqp"
)

// amqpOption is one flag of `ferry amqp`. Each sets a configuration
// directive, so the same settings work in a config file (--config).
type amqpOption struct {
	name      string
	directive string // the config directive it sets ("" = handled here)
	arg       string
	usage     string
}

var amqpOptions = []amqpOption{
	{"port", "", "N", "TCP port to listen on (default 5672; 0 picks a free one)"},
	{"bind", "", "ADDR", "interface to listen on (default 127.0.0.1)"},
	{"dir", "dir", "DIR", "data directory; the broker keeps its definitions and messages in DIR/amqp (default ./data)"},
	{"heartbeat", "amqp-heartbeat", "SECS", "heartbeat timeout offered to clients (default 60; 0 = none)"},
	{"channel-max", "amqp-channel-max", "N", "channel_max offered to clients (default 2047)"},
	{"frame-max", "amqp-frame-max", "N", "frame_max offered to clients (default 131072, at least 4096)"},
	{"max-message-size", "amqp-max-message-size", "SIZE", "largest message body (default 128mb, at most 512mb)"},
	{"max-connections", "amqp-max-connections", "N", "connection limit (default 0 = none)"},
	{"handshake-timeout", "amqp-handshake-timeout", "MS", "milliseconds a client has to open its connection (default 10000)"},
	{"vm-memory-high-watermark", "amqp-memory-high-watermark", "V", "memory that blocks publishers: fraction of RAM or size (default 0.4)"},
	{"vm-memory-high-watermark-paging-ratio", "amqp-memory-paging-ratio", "R", "share of the watermark above which queues page messages to disk (default 0.5)"},
	{"loglevel", "loglevel", "LEVEL", "debug, info, warn or error (default info)"},
	{"user", "user", "NAME", "user to run as when started as root"},
	{"config", "", "FILE", "read ferry directives from FILE first (\"name value\" lines)"},
}

// amqpDefaults is `ferry` with only the broker: no memcached, no Redis,
// and no keyspace persistence files.
func amqpDefaults() config.Config {
	cfg := config.Default()
	cfg.Memcached.Enabled = false
	cfg.Redis.Enabled = false
	cfg.Persist.AppendOnly = false
	cfg.Persist.Save = ""
	return cfg
}

// parseAMQPArgs reads `ferry amqp` flags ("--port 5672", "--port=5672").
// Precedence: defaults, --config file, environment, flags.
func parseAMQPArgs(args []string, stdout io.Writer) (config.Config, error) {
	cfg := amqpDefaults()
	port, bind := "5672", "127.0.0.1"
	var file string
	type kv struct{ k, v string }
	var sets []kv
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "-h", "--help":
			printAMQPHelp(stdout)
			return cfg, errHelpShown
		case "-V", "--version":
			fmt.Fprintf(stdout, "ferry amqp (RabbitMQ %s compatible)\n", amqp.CompatVersion)
			return cfg, errHelpShown
		}
		if !strings.HasPrefix(a, "--") {
			return cfg, fmt.Errorf("%w: unexpected argument %q (see ferry amqp --help)", errUsage, a)
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		var opt *amqpOption
		for j := range amqpOptions {
			if amqpOptions[j].name == name {
				opt = &amqpOptions[j]
			}
		}
		if opt == nil {
			return cfg, fmt.Errorf("%w: unknown option --%s (see ferry amqp --help)", errUsage, name)
		}
		if !hasVal {
			if i+1 == len(args) {
				return cfg, fmt.Errorf("%w: --%s needs a value", errUsage, name)
			}
			i++
			val = args[i]
		}
		switch name {
		case "port":
			if _, err := strconv.ParseUint(val, 10, 16); err != nil {
				return cfg, fmt.Errorf("%w: invalid port %q", errUsage, val)
			}
			port = val
		case "bind":
			bind = strings.Trim(val, "[]")
		case "config":
			file = val
		default:
			sets = append(sets, kv{opt.directive, val})
		}
	}
	if file != "" {
		if err := cfg.LoadFile(file); err != nil {
			return cfg, err
		}
	}
	if err := cfg.LoadEnv(os.Environ()); err != nil {
		return cfg, err
	}
	for _, s := range sets {
		if err := cfg.Set(s.k, s.v); err != nil {
			return cfg, fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	cfg.AMQP.Enabled = true
	cfg.AMQP.Addr = net.JoinHostPort(bind, port)
	return cfg, nil
}

func printAMQPHelp(w io.Writer) {
	fmt.Fprintf(w, `ferry amqp: the AMQP 0-9-1 broker only (RabbitMQ %s compatible).

Usage: ferry amqp [--port 5672] [--dir ./data] [--bind ADDR] [--OPTION VALUE ...]

Clients connect as guest/guest (from loopback only) to vhost "/".

Options:
`, amqp.CompatVersion)
	for _, o := range amqpOptions {
		fmt.Fprintf(w, "  --%-34s %s\n", o.name+" "+o.arg, o.usage)
	}
}
