package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"ferry/internal/config"
)

func TestParseAMQPArgs(t *testing.T) {
	tests := []struct {
		args    []string
		check   func(t *testing.T, c config.Config)
		wantErr bool
	}{
		{nil, func(t *testing.T, c config.Config) {
			if !c.AMQP.Enabled || c.AMQP.Addr != "127.0.0.1:5672" || c.Memcached.Enabled || c.Redis.Enabled ||
				c.AMQP.Heartbeat != 60 || c.AMQP.ChannelMax != 2047 || c.AMQP.FrameMax != 131072 || c.Dir != "./data" {
				t.Errorf("defaults: %+v", c.AMQP)
			}
		}, false},
		{[]string{"--port", "0", "--dir", "/tmp/x", "--bind", "::1", "--heartbeat=5"}, func(t *testing.T, c config.Config) {
			if c.AMQP.Addr != "[::1]:0" || c.Dir != "/tmp/x" || c.AMQP.Heartbeat != 5 {
				t.Errorf("got addr %s dir %s heartbeat %d", c.AMQP.Addr, c.Dir, c.AMQP.Heartbeat)
			}
		}, false},
		{[]string{"--channel-max", "10", "--frame-max", "8192", "--max-message-size", "1mb", "--max-connections", "3",
			"--handshake-timeout", "500", "--vm-memory-high-watermark", "2gb"}, func(t *testing.T, c config.Config) {
			a := c.AMQP
			if a.ChannelMax != 10 || a.FrameMax != 8192 || a.MaxMessageSize != 1<<20 || a.MaxConnections != 3 ||
				a.HandshakeTimeout != 500 || a.MemoryHighWatermark != "2gb" {
				t.Errorf("got %+v", a)
			}
		}, false},
		{[]string{"--port", "x"}, nil, true},
		{[]string{"--bogus", "1"}, nil, true},
		{[]string{"--heartbeat"}, nil, true},
		{[]string{"stray"}, nil, true},
		{[]string{"--vm-memory-high-watermark", "1.5"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cfg, err := parseAMQPArgs(tt.args, &bytes.Buffer{})
			if tt.wantErr {
				if !errors.Is(err, errUsage) {
					t.Fatalf("err = %v, want usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestAMQPHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"amqp", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "--heartbeat") ||
		!strings.Contains(out.String(), "--port") {
		t.Fatalf("ferry amqp --help: code %d, output %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "ferry amqp") ||
		!strings.Contains(out.String(), "--amqp-addr") {
		t.Fatalf("ferry --help lacks amqp: %q", out.String())
	}
	if code := run([]string{"--amqp-frame-max", "100", "--check-config"}, &out, &errb); code != 1 {
		t.Fatalf("invalid frame max: exit %d", code)
	}
}
