package persist_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// refRedis starts /usr/bin/redis-server (7.0, installed by the test
// script) on a free loopback port in dir, with extra options, and stops it
// by its PID when the test ends.
func refRedis(t testing.TB, dir string, extra ...string) *redis.Client {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server 7.0 is required (scripts/test installs it)")
	}
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--daemonize", "no", "--logfile", ""}, extra...)
		cmd := exec.Command(bin, args...)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), Protocol: 2})
		deadline := time.Now().Add(15 * time.Second)
		for {
			err := c.Ping(context.Background()).Err()
			if err == nil {
				t.Cleanup(func() {
					c.Close()
					cmd.Process.Kill()
					<-done
				})
				return c
			}
			select {
			case <-done:
			default:
				if time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
					continue
				}
			}
			c.Close()
			cmd.Process.Kill()
			<-done
			if strings.Contains(out.String(), "Address already in use") && attempt < 5 {
				break
			}
			t.Fatalf("redis-server did not start: %v\n%s", err, out)
		}
	}
}

// infoNames lists an INFO section's field names in order.
func infoNames(t testing.TB, c *redis.Client) []string {
	t.Helper()
	s, err := c.Info(context.Background(), "persistence").Result()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(s, "\r\n") {
		if k, _, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			names = append(names, k)
		}
	}
	return names
}

// TestInfoPersistenceFields: INFO persistence has redis-server 7.0.15's
// fields in its order, with the AOF on and off.
func TestInfoPersistenceFields(t *testing.T) {
	for _, aof := range []bool{false, true} {
		t.Run(fmt.Sprint("appendonly=", aof), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.AppendOnly = aof
			n := startNode(t, cfg)
			ref := refRedis(t, t.TempDir(), "--appendonly", map[bool]string{true: "yes", false: "no"}[aof])
			want, got := infoNames(t, ref), infoNames(t, n.client())
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("INFO persistence fields\n got %v\nwant %v", got, want)
			}
		})
	}
}

// loadingFields are the fields redis-server 7.0.15 appends to INFO
// persistence while it loads (checked by polling a redis-server loading a
// 100 MB dump.rdb).
var loadingFields = []string{"loading_start_time", "loading_total_bytes", "loading_rdb_used_mem",
	"loading_loaded_bytes", "loading_loaded_perc", "loading_eta_seconds"}

// TestLoadingReplies: while the dataset loads, Redis commands get -LOADING
// (INFO answers, with the loading fields), memcached commands
// a SERVER_ERROR; once loaded, everything is served. The snapshot comes
// through a FIFO so the test decides when loading ends.
func TestLoadingReplies(t *testing.T) {
	// A snapshot to feed in.
	cfg := testConfig(t)
	cfg.AppendOnly = false
	src := startNode(t, cfg)
	populate(t, src)
	want := dump(src.ks)
	if err := src.client().Save(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	src.stop(false)
	data, err := os.ReadFile(filepath.Join(cfg.Dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}

	cfg2 := testConfig(t)
	cfg2.AppendOnly = false
	fifo := filepath.Join(cfg2.Dir, "dump.rdb")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	n := buildNode(t, cfg2)
	loaded := make(chan error, 1)
	go func() {
		err := n.m.Load()
		if err == nil {
			err = n.m.Start()
		}
		loaded <- err
	}()
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	c := n.client()
	ctx := context.Background()
	if err := c.Get(ctx, "str").Err(); err == nil || err.Error() != "LOADING Redis is loading the dataset in memory" {
		t.Errorf("GET while loading: %v", err)
	}
	if err := c.Set(ctx, "x", "y", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "LOADING ") {
		t.Errorf("SET while loading: %v", err)
	}
	// As redis-server 7.0: PING too; INFO, SELECT, LASTSAVE answer.
	if err := c.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "LOADING ") {
		t.Errorf("PING while loading: %v", err)
	}
	if err := c.LastSave(ctx).Err(); err != nil {
		t.Errorf("LASTSAVE while loading: %v", err)
	}
	if v := infoField(t, c, "loading"); v != "1" {
		t.Errorf("loading:%s while loading", v)
	}
	names := infoNames(t, c)
	if tail := names[len(names)-len(loadingFields):]; strings.Join(tail, " ") != strings.Join(loadingFields, " ") {
		t.Errorf("INFO persistence while loading ends with %v, want %v", tail, loadingFields)
	}
	if v := infoField(t, c, "loading_total_bytes"); v != "0" {
		// A FIFO has no size: Ferry cannot know the total.
		t.Logf("loading_total_bytes:%s", v)
	}
	mc := n.mcConn()
	mc.Send("get str\r\nset k 0 0 1\r\nv\r\n")
	for i := 0; i < 2; i++ {
		if line := mc.Line(); !strings.HasPrefix(line, "SERVER_ERROR ") || !strings.Contains(line, "loading") {
			t.Errorf("memcached while loading: %q", line)
		}
	}
	if _, err := w.Write(data[len(data)/2:]); err != nil {
		t.Fatal(err)
	}
	w.Close()
	select {
	case err := <-loaded:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("loading did not finish")
	}
	sameDump(t, dump(n.ks), want)
	if err := c.Get(ctx, "str").Err(); err != nil {
		t.Errorf("GET after loading: %v", err)
	}
	if v := infoField(t, c, "loading"); v != "0" {
		t.Errorf("loading:%s after loading", v)
	}
	if v := infoField(t, c, "rdb_last_load_keys_loaded"); v != strconv.Itoa(len(want)) {
		t.Errorf("rdb_last_load_keys_loaded:%s, want %d", v, len(want))
	}
	_ = bufio.NewReader
}

// TestNotServedBeforeStart: from the moment the listeners accept until the
// dataset is loaded and the AOF open, writes are refused with -LOADING; a
// write accepted in between would be overwritten by the load or missing
// from the log.
func TestNotServedBeforeStart(t *testing.T) {
	cfg := testConfig(t)
	n := buildNode(t, cfg)
	c := n.client()
	ctx := context.Background()
	if err := c.Set(ctx, "early", "v", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "LOADING ") {
		t.Fatalf("SET before Load: %v", err)
	}
	if err := n.m.Load(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "early", "v", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "LOADING ") {
		t.Fatalf("SET between Load and Start: %v", err)
	}
	if err := n.m.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	n = n.restart()
	if v := n.client().Get(ctx, "k").Val(); v != "v" {
		t.Fatalf("the first write after Start was not logged: %q", v)
	}
}
