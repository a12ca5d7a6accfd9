package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseMemcachedArgs(t *testing.T) {
	tests := []struct {
		args    []string
		check   func(t *testing.T, addr string, maxmem int64, verbosity, conns, item int, evictions bool, user string)
		wantErr bool
	}{
		{[]string{"-p", "11311", "-m", "128m", "-u", "root", "-vv"}, func(t *testing.T, addr string, mm int64, v, _, _ int, ev bool, u string) {
			if addr != "127.0.0.1:11311" || mm != 128<<20 || v != 2 || u != "root" || ev {
				t.Errorf("addr=%s mm=%d v=%d user=%s", addr, mm, v, u)
			}
		}, false},
		{[]string{"-p11312", "-m64", "-c", "10", "-I", "2m", "-M", "-t", "8", "-U", "0", "-l", "0.0.0.0"},
			func(t *testing.T, addr string, mm int64, _, conns, item int, ev bool, _ string) {
				if addr != "0.0.0.0:11312" || mm != 64<<20 || conns != 10 || item != 2<<20 || !ev {
					t.Errorf("addr=%s mm=%d conns=%d item=%d ev=%v", addr, mm, conns, item, ev)
				}
			}, false},
		{[]string{"--port=1", "--memory-limit", "1g", "--conn-limit=5", "-vvv"},
			func(t *testing.T, addr string, mm int64, v, conns, _ int, _ bool, _ string) {
				if addr != "127.0.0.1:1" || mm != 1<<30 || conns != 5 || v != 3 {
					t.Errorf("addr=%s mm=%d conns=%d v=%d", addr, mm, conns, v)
				}
			}, false},
		{[]string{"-l", "127.0.0.1,::1"}, func(t *testing.T, addr string, _ int64, _, _, _ int, _ bool, _ string) {
			if addr != "[127.0.0.1,::1]:11211" {
				t.Errorf("addr=%s", addr)
			}
		}, false},
		{[]string{"-Z"}, nil, true},
		{[]string{"-p"}, nil, true},
		{[]string{"-I", "10"}, nil, true},
		{[]string{"--bogus"}, nil, true},
		{[]string{"-m", "1"}, nil, true}, // the 1 MB item limit would exceed half of it
		{[]string{"-m", "1", "-I", "512k"}, func(t *testing.T, _ string, mm int64, _, _, item int, _ bool, _ string) {
			if mm != 1<<20 || item != 512<<10 {
				t.Errorf("mm=%d item=%d", mm, item)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cfg, err := parseMemcachedArgs(tt.args, &bytes.Buffer{})
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
			m := cfg.Memcached
			tt.check(t, m.Addr, cfg.MaxMemory, m.Verbosity, m.MaxConns, m.MaxItemSize, m.EvictionsDisabled, cfg.User)
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "--memcached-addr") {
		t.Fatalf("ferry --help: code %d, output %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"memcached", "-h"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "-p, --port") {
		t.Fatalf("ferry memcached -h: code %d, output %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"memcached", "-V"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "memcached 1.6") {
		t.Fatalf("ferry memcached -V: %q", out.String())
	}
	if code := run([]string{"memcached", "-Q"}, &out, &errb); code != 64 {
		t.Fatalf("bad flag exit code %d", code)
	}
	if code := run([]string{"--memcached-addr", "bad", "--check-config"}, &out, &errb); code != 1 {
		t.Fatalf("invalid config exit code %d", code)
	}
	out.Reset()
	if code := run([]string{"--check-config"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "OK") {
		t.Fatalf("check-config: %d %q", code, out.String())
	}
}
