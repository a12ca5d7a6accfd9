package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/config"
	"ferry/internal/metrics"

	amqp091 "github.com/rabbitmq/amqp091-go"
	goredis "github.com/redis/go-redis/v9"
)

// startWithAdmin runs every front end and the admin listener on
// 127.0.0.1:0 with cfg adjusted by tweak.
func startWithAdmin(t *testing.T, dir string, tweak func(*config.Config)) *Server {
	s, _ := startStoppable(t, dir, tweak)
	return s
}

// startStoppable is startWithAdmin that also returns a function stopping
// the server and waiting for Run to return (also run at cleanup).
func startStoppable(t *testing.T, dir string, tweak func(*config.Config)) (*Server, func()) {
	t.Helper()
	cfg := config.Default()
	cfg.Memcached.Addr = "127.0.0.1:0"
	cfg.Redis.Addr = "127.0.0.1:0"
	cfg.AMQP.Addr = "127.0.0.1:0"
	if err := cfg.Set("admin-addr", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	cfg.Persist.AppendOnly = false
	cfg.Persist.Save = ""
	cfg.Dir = dir
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), VerboseOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			s.Shutdown()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("not ready")
	}
	return s, stop
}

// scrape fetches /metrics and parses it with the strict parser.
func scrape(t *testing.T, s *Server) map[string]*metrics.ParsedFamily {
	t.Helper()
	resp, err := http.Get("http://" + s.Addr("admin").String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	fams, err := metrics.ParseText(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

func value(t *testing.T, fams map[string]*metrics.ParsedFamily, name string, labels ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s", name)
	}
	v, ok := f.Get(labels...)
	if !ok {
		t.Fatalf("no sample %s%v", name, labels)
	}
	return v
}

// TestAdminMetricsFollowTraffic: real clients of each protocol move the
// figures /metrics reports, by exactly what they did.
func TestAdminMetricsFollowTraffic(t *testing.T) {
	s := startWithAdmin(t, t.TempDir(), nil)
	before := scrape(t, s)
	if v := value(t, before, "ferry_ready"); v != 1 {
		t.Fatalf("ferry_ready = %v", v)
	}

	// Redis: 25 SETs, 10 GET hits, 5 misses through go-redis.
	ctx := context.Background()
	rc := goredis.NewClient(&goredis.Options{Addr: s.Addr("redis").String(), Protocol: 2})
	defer rc.Close()
	for i := range 25 {
		if err := rc.Set(ctx, fmt.Sprintf("k%d", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 15 {
		key := fmt.Sprintf("k%d", i)
		if i >= 10 {
			key = fmt.Sprintf("missing%d", i)
		}
		rc.Get(ctx, key)
	}

	// memcached: 7 sets and 3 get hits over the text protocol.
	mc, err := net.Dial("tcp", s.Addr("memcached").String())
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	mc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(mc)
	for i := range 7 {
		fmt.Fprintf(mc, "set mc%d 0 0 1\r\nx\r\n", i)
		if l, _ := br.ReadString('\n'); l != "STORED\r\n" {
			t.Fatalf("set: %q", l)
		}
	}
	for i := range 3 {
		fmt.Fprintf(mc, "get mc%d\r\n", i)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if l == "END\r\n" {
				break
			}
		}
	}

	// AMQP: 12 messages published to q, 4 consumed and acked, a consumer
	// and a connection left open.
	conn, err := amqp091.Dial("amqp://guest:guest@" + s.Addr("amqp").String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for range 12 {
		if err := ch.PublishWithContext(ctx, "", "q", false, false, amqp091.Publishing{Body: []byte("0123456789")}); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		var m amqp091.Delivery
		var ok bool
		for deadline := time.Now().Add(10 * time.Second); !ok && time.Now().Before(deadline); {
			if m, ok, err = ch.Get("q", false); err != nil {
				t.Fatal(err)
			}
		}
		if !ok {
			t.Fatal("basic.get found nothing")
		}
		m.Ack(false)
	}
	ch2, _ := conn.Channel()
	if _, err := ch2.QueueDeclare("idle", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch2.Consume("idle", "", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}

	var after map[string]*metrics.ParsedFamily
	// Acks and publishes are counted asynchronously by the channel: poll.
	for deadline := time.Now().Add(10 * time.Second); ; {
		after = scrape(t, s)
		if f := after["rabbitmq_global_messages_acknowledged_total"]; f != nil {
			if v, _ := f.Get("protocol", "amqp091"); v == 4 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("acks not counted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	delta := func(name string, labels ...string) float64 {
		t.Helper()
		var b float64
		if f := before[name]; f != nil {
			b, _ = f.Get(labels...)
		}
		return value(t, after, name, labels...) - b
	}
	tests := []struct {
		name   string
		labels []string
		delta  bool
		want   float64
	}{
		{"redis_commands_total", []string{"cmd", "set"}, true, 25},
		{"redis_commands_total", []string{"cmd", "get"}, true, 15},
		// One keyspace: memcached's 3 get hits count as well.
		{"redis_keyspace_hits_total", nil, true, 10 + 3},
		{"redis_keyspace_misses_total", nil, true, 5},
		{"redis_db_keys", []string{"db", "db0"}, false, 25 + 7},
		{"redis_connected_clients", nil, false, 1},
		{"memcached_commands_total", []string{"command", "set", "status", "hit"}, true, 7},
		{"memcached_commands_total", []string{"command", "get", "status", "hit"}, true, 3},
		{"memcached_current_items", nil, false, 25 + 7},
		{"rabbitmq_connections", nil, false, 1},
		{"rabbitmq_channels", nil, false, 2},
		{"rabbitmq_consumers", nil, false, 1},
		{"rabbitmq_queues", nil, false, 2},
		{"rabbitmq_queue_messages_ready", []string{"vhost", "/", "queue", "q"}, false, 8},
		{"rabbitmq_queue_messages_ready_bytes", []string{"vhost", "/", "queue", "q"}, false, 80},
		{"rabbitmq_queue_messages_published_total", []string{"vhost", "/", "queue", "q"}, false, 12},
		{"rabbitmq_queue_consumers", []string{"vhost", "/", "queue", "idle"}, false, 1},
		{"rabbitmq_global_messages_received_total", []string{"protocol", "amqp091"}, true, 12},
		{"rabbitmq_global_messages_delivered_total", []string{"protocol", "amqp091"}, true, 4},
	}
	for _, tt := range tests {
		var got float64
		if tt.delta {
			got = delta(tt.name, tt.labels...)
		} else {
			got = value(t, after, tt.name, tt.labels...)
		}
		if got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if v := value(t, after, "process_resident_memory_bytes"); v <= 0 {
		t.Errorf("process_resident_memory_bytes = %v", v)
	}
}

// TestAdminHealthzAndDisabled: /healthz answers ok once loaded; with the
// broker off the API says so (503) while /metrics still works; admin-addr
// no binds nothing.
func TestAdminHealthzAndDisabled(t *testing.T) {
	s := startWithAdmin(t, t.TempDir(), func(c *config.Config) { c.AMQP.Enabled = false })
	base := "http://" + s.Addr("admin").String()
	for _, tt := range []struct{ path, want string }{
		{"/healthz", "200 ok\n"},
		{"/api/overview", `503 {"error":"not_available","reason":"the AMQP broker is disabled (amqp no)"}` + "\n"},
	} {
		resp, err := http.Get(base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := fmt.Sprintf("%d %s", resp.StatusCode, body); got != tt.want {
			t.Errorf("GET %s = %q, want %q", tt.path, got, tt.want)
		}
	}
	fams := scrape(t, s)
	if fams["rabbitmq_connections"] != nil || fams["redis_up"] == nil {
		t.Errorf("families with the broker off: rabbitmq_connections %v, redis_up %v", fams["rabbitmq_connections"] != nil, fams["redis_up"] != nil)
	}

	off := startWithAdmin(t, t.TempDir(), func(c *config.Config) { c.Set("admin-addr", "no") })
	if off.Addr("admin") != nil {
		t.Fatal("admin-addr no still listens")
	}
}

// TestAdminExplicitAddrMustBind: an admin-addr the user set that is in
// use fails startup; the built-in default only warns.
func TestAdminExplicitAddrMustBind(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := config.Default()
	cfg.Memcached.Enabled, cfg.Redis.Enabled, cfg.AMQP.Enabled = false, false, false
	cfg.Persist.AppendOnly, cfg.Persist.Save, cfg.Dir = false, "", t.TempDir()
	cfg.Set("admin-addr", ln.Addr().String())
	if _, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err == nil || !strings.Contains(err.Error(), "admin: listen") {
		t.Fatalf("New with a busy admin-addr: %v", err)
	}
	cfg.Admin = config.Admin{Addr: ln.Addr().String()} // as the default: not explicit
	s, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("default admin address in use: %v", err)
	}
	if s.Addr("admin") != nil {
		t.Fatal("admin listener without an address")
	}
	s.closeAll()
}

// TestAMQPAccessFromConfig: amqp-vhost, amqp-user and amqp-permissions
// lines create what they name; it stays after a restart without them
// (the broker's definitions store), and a listed user is reset to the
// file's password at the next start.
func TestAMQPAccessFromConfig(t *testing.T) {
	dir := t.TempDir()
	conf := `
amqp-vhost /prod
amqp-user alice s3cret management,monitoring
amqp-permissions alice /prod ^app\. .* .*
`
	var cfgFile config.Config
	s, stop := startStoppable(t, dir, func(c *config.Config) {
		if err := c.Load(strings.NewReader(conf), "test.conf"); err != nil {
			t.Fatal(err)
		}
		cfgFile = *c
	})
	b := s.Broker()
	users := map[string]string{}
	for _, u := range b.Users() {
		users[u.Name] = strings.Join(u.Tags, ",")
	}
	if users["alice"] != "management,monitoring" || users["guest"] != "administrator" {
		t.Fatalf("users %v", users)
	}
	ps := b.Permissions("/prod")
	if len(ps) != 1 || ps[0].User != "alice" || ps[0].Configure != `^app\.` || ps[0].Write != ".*" {
		t.Fatalf("permissions %+v", ps)
	}
	conn, err := amqp091.Dial("amqp://alice:s3cret@" + s.Addr("amqp").String() + "/%2Fprod")
	if err != nil {
		t.Fatalf("alice into /prod: %v", err)
	}
	conn.Close()
	if err := b.ChangePassword("alice", "changed"); err != nil {
		t.Fatal(err)
	}
	stop()

	// Restarted without the lines: still there, with the changed password.
	s2, stop2 := startStoppable(t, dir, nil)
	if _, err := s2.Broker().Authenticate("alice", "changed"); err != nil {
		t.Fatalf("alice after a restart: %v", err)
	}
	if len(s2.Broker().Permissions("/prod")) != 1 {
		t.Fatal("permissions lost at restart")
	}
	stop2()

	// Restarted with the lines again: the file's password wins.
	s3 := startWithAdmin(t, dir, func(c *config.Config) { c.AMQP = cfgFile.AMQP; c.AMQP.Addr = "127.0.0.1:0" })
	if _, err := s3.Broker().Authenticate("alice", "s3cret"); err != nil {
		t.Fatalf("file password not reapplied: %v", err)
	}
}
