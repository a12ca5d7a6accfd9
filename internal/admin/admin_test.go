package admin

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ferry/internal/broker"
	"ferry/internal/metrics"
)

func newBroker(t *testing.T) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.Config{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// serve runs the admin handler on a live loopback listener.
func serve(t *testing.T, b *broker.Broker) (*httptest.Server, *Handler) {
	t.Helper()
	h := New(Config{Version: "test", BrokerVersion: "3.10.8", Node: "ferry@test", Start: time.Now(), Broker: b,
		RedisInfo: func() string { return "# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:5\r\n" }})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, h
}

type apiStep struct {
	method, path, user, pass, body string
	status                         int
	want                           string // substring of the response body
}

func do(t *testing.T, base string, s apiStep) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if s.body != "" {
		rd = strings.NewReader(s.body)
	}
	req, err := http.NewRequest(s.method, base+s.path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if s.user != "" {
		req.SetBasicAuth(s.user, s.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Header
}

// TestAPIConversation walks the management API the way rabbitmqadmin and
// ferry ctl use it, checking status codes and bodies.
func TestAPIConversation(t *testing.T) {
	b := newBroker(t)
	srv, _ := serve(t, b)
	const g, gp = "guest", "guest"
	steps := []apiStep{
		{"GET", "/api/users", "", "", "", 401, `{"error":"not_authorised","reason":"Login failed"}`},
		{"GET", "/api/users", g, "wrong", "", 401, `"reason":"Login failed"`},
		{"GET", "/api/whoami", g, gp, "", 200, `{"name":"guest","tags":["administrator"]}`},
		{"GET", "/api/users", g, gp, "", 200, `"name":"guest","password_hash":"`},
		{"PUT", "/api/users/alice", g, gp, `{"password":"pw","tags":"monitoring"}`, 201, ""},
		{"PUT", "/api/users/alice", g, gp, `{"tags":["management"]}`, 204, ""},
		{"GET", "/api/users/alice", g, gp, "", 200, `"tags":["management"]`},
		{"GET", "/api/whoami", "alice", "pw", "", 200, `{"name":"alice","tags":["management"]}`},
		{"GET", "/api/users", "alice", "pw", "", 401, `"reason":"Not administrator user"`},
		{"PUT", "/api/users/carol", g, gp, `{"password":"pw"}`, 201, ""},
		{"GET", "/api/overview", "carol", "pw", "", 401, `"reason":"Not management user"`},
		{"GET", "/api/users/nobody", g, gp, "", 404, `{"error":"Object Not Found","reason":"Not Found"}`},
		{"DELETE", "/api/users/nobody", g, gp, "", 404, ""},
		{"PUT", "/api/users/bad", g, gp, `{"password_hash":"not-base64!"}`, 400, `"error":"bad_request"`},
		{"PUT", "/api/users/bad", g, gp, `{`, 400, `"error":"bad_request"`},

		{"PUT", "/api/vhosts/%2Fprod", g, gp, "", 201, ""},
		{"PUT", "/api/vhosts/%2Fprod", g, gp, "", 204, ""},
		{"GET", "/api/vhosts/%2F", g, gp, "", 200, `"name":"/"`},
		{"GET", "/api/vhosts", g, gp, "", 200, `"name":"/prod"`},
		{"GET", "/api/vhosts/none", g, gp, "", 404, ""},

		{"PUT", "/api/permissions/%2Fprod/alice", g, gp, `{"configure":"^a","write":".*","read":".*"}`, 201, ""},
		{"PUT", "/api/permissions/%2Fprod/alice", g, gp, `{"configure":"^b","write":".*","read":".*"}`, 204, ""},
		{"PUT", "/api/permissions/%2Fprod/alice", g, gp, `{"configure":"^b"}`, 400, "key_missing"},
		{"PUT", "/api/permissions/%2Fprod/alice", g, gp, `{"configure":"(","write":"","read":""}`, 400, "bad permission expression"},
		{"PUT", "/api/permissions/none/alice", g, gp, `{"configure":"","write":"","read":""}`, 404, ""},
		{"PUT", "/api/permissions/%2Fprod/nobody", g, gp, `{"configure":"","write":"","read":""}`, 404, ""},
		{"GET", "/api/permissions/%2Fprod/alice", g, gp, "", 200, `{"user":"alice","vhost":"/prod","configure":"^b","write":".*","read":".*"}`},
		{"GET", "/api/users/alice/permissions", g, gp, "", 200, `"vhost":"/prod"`},
		{"GET", "/api/vhosts/%2Fprod/permissions", g, gp, "", 200, `"user":"alice"`},
		{"GET", "/api/permissions", g, gp, "", 200, `"user":"guest","vhost":"/"`},
		{"DELETE", "/api/permissions/%2Fprod/alice", g, gp, "", 204, ""},
		{"DELETE", "/api/permissions/%2Fprod/alice", g, gp, "", 404, ""},

		{"GET", "/api/queues/none", g, gp, "", 404, ""},
		{"GET", "/api/queues/%2F", g, gp, "", 200, `[]`},
		{"GET", "/api/exchanges/%2F", g, gp, "", 200, `"name":"amq.topic","vhost":"/","type":"topic","durable":true`},
		{"DELETE", "/api/queues/%2F/none", g, gp, "", 404, ""},
		{"DELETE", "/api/queues/%2F/none/contents", g, gp, "", 404, ""},
		{"POST", "/api/users", g, gp, "", 405, "Method Not Allowed"},
		{"GET", "/api/nothing", g, gp, "", 404, "Not Found"},

		{"DELETE", "/api/users/alice", g, gp, "", 204, ""},
		{"DELETE", "/api/vhosts/%2Fprod", g, gp, "", 204, ""},
		{"DELETE", "/api/vhosts/%2Fprod", g, gp, "", 404, ""},
		{"GET", "/healthz", "", "", "", 200, "ok\n"},
	}
	for _, s := range steps {
		status, body, _ := do(t, srv.URL, s)
		if status != s.status || !strings.Contains(body, s.want) {
			t.Errorf("%s %s as %q: %d %q; want %d containing %q", s.method, s.path, s.user, status, body, s.status, s.want)
		}
	}
	if _, err := b.Authenticate("carol", "pw"); err != nil {
		t.Errorf("user created over the API cannot log in: %v", err)
	}
	if vs := b.VHosts(); len(vs) != 1 {
		t.Errorf("vhosts %v", vs)
	}
}

// TestAPIQueues: listings reflect the broker, delete and purge act on it
// and report the count; the implicit default-exchange binding is listed.
func TestAPIQueues(t *testing.T) {
	b := newBroker(t)
	srv, _ := serve(t, b)
	u, _ := b.Authenticate("guest", "guest")
	conn, err := b.Connect(u, "/", broker.ConnInfo{Name: "127.0.0.1:5555 -> 127.0.0.1:5672"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.OpenChannel(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(broker.QueueDeclare{Name: "jobs", Durable: true, Args: broker.Table{"x-max-length": int32(10)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(broker.QueueDeclare{Name: "other"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("jobs", "amq.direct", "rk", nil); err != nil {
		t.Fatal(err)
	}
	var queues []map[string]any
	_, body, _ := do(t, srv.URL, apiStep{method: "GET", path: "/api/queues", user: "guest", pass: "guest"})
	if err := json.Unmarshal([]byte(body), &queues); err != nil || len(queues) != 2 {
		t.Fatalf("queues %s (%v)", body, err)
	}
	if q := queues[0]; q["name"] != "jobs" || q["durable"] != true || q["arguments"].(map[string]any)["x-max-length"] != float64(10) {
		t.Errorf("queue %v", q)
	}
	_, body, _ = do(t, srv.URL, apiStep{method: "GET", path: "/api/bindings/%2F", user: "guest", pass: "guest"})
	for _, want := range []string{
		`{"source":"","vhost":"/","destination":"jobs","destination_type":"queue","routing_key":"jobs","arguments":{},"properties_key":"jobs"}`,
		`{"source":"amq.direct","vhost":"/","destination":"jobs","destination_type":"queue","routing_key":"rk","arguments":{},"properties_key":"rk"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("bindings %s lack %s", body, want)
		}
	}
	_, body, _ = do(t, srv.URL, apiStep{method: "GET", path: "/api/connections", user: "guest", pass: "guest"})
	if !strings.Contains(body, `"user":"guest","vhost":"/","channels":1,"peer_host":"127.0.0.1","peer_port":5555,"host":"127.0.0.1","port":5672`) {
		t.Errorf("connections %s", body)
	}
	_, body, _ = do(t, srv.URL, apiStep{method: "GET", path: "/api/overview", user: "guest", pass: "guest"})
	if !strings.Contains(body, `"object_totals":{"channels":1,"connections":1,"consumers":0,"exchanges":7,"queues":2}`) {
		t.Errorf("overview %s", body)
	}
	status, _, hdr := do(t, srv.URL, apiStep{method: "DELETE", path: "/api/queues/%2F/jobs/contents", user: "guest", pass: "guest"})
	if status != 204 || hdr.Get(MessageCountHeader) != "0" {
		t.Errorf("purge: %d %v", status, hdr)
	}
	status, _, hdr = do(t, srv.URL, apiStep{method: "DELETE", path: "/api/queues/%2F/jobs?if-empty=true", user: "guest", pass: "guest"})
	if status != 204 || hdr.Get(MessageCountHeader) != "0" {
		t.Errorf("delete: %d %v", status, hdr)
	}
	if qs, _ := b.Queues("/"); len(qs) != 1 || qs[0].Name != "other" {
		t.Errorf("queues after delete %+v", qs)
	}
}

// TestGuestLoopbackOnly: guest is refused from a non-loopback address,
// as RabbitMQ's loopback_users; other administrators are not.
func TestGuestLoopbackOnly(t *testing.T) {
	b := newBroker(t)
	if err := b.AddUser("admin", "pw", []string{"administrator"}); err != nil {
		t.Fatal(err)
	}
	_, h := serve(t, b)
	for _, tt := range []struct {
		user, remote string
		status       int
		want         string
	}{
		{"guest", "192.0.2.1:1234", 401, `{"error":"not_authorised","reason":"User can only log in via localhost"}`},
		{"guest", "127.0.0.1:1234", 200, `"name":"guest"`},
		{"guest", "[::1]:1234", 200, `"name":"guest"`},
		{"admin", "192.0.2.1:1234", 200, `"name":"admin"`},
	} {
		req := httptest.NewRequest("GET", "/api/whoami", nil)
		req.RemoteAddr = tt.remote
		pass := "guest"
		if tt.user == "admin" {
			pass = "pw"
		}
		req.SetBasicAuth(tt.user, pass)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s from %s: %d %q", tt.user, tt.remote, rec.Code, rec.Body.String())
		}
		if tt.status == 401 && rec.Header().Get("WWW-Authenticate") != `Basic realm="RabbitMQ Management"` {
			t.Errorf("no Basic challenge: %v", rec.Header())
		}
	}
}

// TestMetricsEndpoint: /metrics needs no credentials and parses strictly.
func TestMetricsEndpoint(t *testing.T) {
	b := newBroker(t)
	srv, _ := serve(t, b)
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	fams, err := metrics.ParseText(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ferry_build_info", "redis_up", "rabbitmq_queues", "go_goroutines", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if fams["memcached_up"] != nil {
		t.Error("memcached families without a memcached front end")
	}
}

// FuzzAPI feeds the router and the JSON body decoders arbitrary paths
// and bodies as an administrator: every answer is a well-formed status,
// never a panic, and guest keeps its administrator access.
func FuzzAPI(f *testing.F) {
	for _, s := range []struct{ method, path, body string }{
		{"PUT", "/api/users/x", `{"password":"p","tags":"a,b"}`},
		{"PUT", "/api/users/x", `{"password_hash":"AAAA","tags":["a"]}`},
		{"PUT", "/api/vhosts/%2Fv", ``},
		{"PUT", "/api/permissions/%2F/x", `{"configure":".*","write":"(","read":""}`},
		{"DELETE", "/api/queues/%2F/q/contents", ``},
		{"GET", "/api/bindings/%ZZ", ``},
		{"DELETE", "/api/users/guest", ``},
	} {
		f.Add(s.method, s.path, s.body)
	}
	b, err := broker.New(broker.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	defer b.Close()
	h := New(Config{Broker: b, Node: "ferry@fuzz", Start: time.Now()})
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#?") || method == "" || strings.ContainsAny(method, " \r\n\t/") {
			return
		}
		if strings.Contains(path, "/users/guest") || strings.HasPrefix(path, "/api/vhosts/%2F/") && method != "GET" {
			return // keep the fuzzing identity usable
		}
		req := httptest.NewRequest("GET", "/", strings.NewReader(body))
		req.Method = method
		req.URL.Path, req.URL.RawPath = "", ""
		u, err := req.URL.Parse(path)
		if err != nil {
			return
		}
		req.URL = u
		req.RemoteAddr = "127.0.0.1:1"
		req.SetBasicAuth("guest", "guest")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 503 {
			t.Fatalf("%s %s: status %d", method, path, rec.Code)
		}
	})
}
