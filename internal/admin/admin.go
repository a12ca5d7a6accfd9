// Package admin is Ferry's admin HTTP front end: GET /metrics (Prometheus
// text, no authentication, as rabbitmq_prometheus and the Redis and
// memcached exporters), GET /healthz, and a JSON management API in the
// shape of RabbitMQ's management plugin (/api/overview, /api/users,
// /api/vhosts, /api/permissions, /api/queues, /api/exchanges,
// /api/bindings, /api/connections, /api/channels, /api/consumers) that `ferry ctl` talks
// to. The API authenticates with HTTP basic auth against the broker's
// users; writes and listings need the administrator tag.
//
// It imports metrics and the broker engine (for the broker's types and
// its management methods); the Redis and memcached front ends are read
// through plain functions in Config, so it imports no other front end.
package admin

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ferry/internal/broker"
)

// Config is what the admin front end reads. Nil functions and a nil
// Broker mean that part of Ferry is off: its metrics are left out and the
// API answers 503.
type Config struct {
	Version       string // Ferry's version
	BrokerVersion string // the RabbitMQ version the broker answers as
	Node          string // node name in listings ("ferry@host")
	Start         time.Time
	Ready         func() bool // dataset loaded
	Broker        *broker.Broker
	// RedisInfo returns the text of INFO everything.
	RedisInfo func() string
	// MemcachedStats returns memcached's `stats` pairs and its connection
	// limit.
	MemcachedStats func() ([][2]string, int)
	// Listeners lists the bound front ends for /api/overview.
	Listeners func() []Listener
	Logger    *slog.Logger
}

// Listener is one bound front end, as /api/overview lists them.
type Listener struct {
	Protocol string `json:"protocol"`
	IPAddr   string `json:"ip_address"`
	Port     int    `json:"port"`
	Node     string `json:"node"`
}

// Handler serves the admin endpoints. It is safe for concurrent use.
type Handler struct {
	cfg    Config
	routes []route
}

// route is one "METHOD /path/{param}" pattern. Ferry routes itself rather
// than with http.ServeMux because the management API names the default
// vhost "/" as the path segment %2F, which ServeMux cleans away.
type route struct {
	method string
	segs   []string
	h      http.Handler
}

// New returns the admin handler for cfg.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Ready == nil {
		cfg.Ready = func() bool { return true }
	}
	h := &Handler{cfg: cfg}
	h.addRoutes()
	return h
}

// ServeHTTP dispatches a request: the escaped path is split at '/', each
// segment unescaped and matched against the routes; {name} segments
// become r.PathValue(name). A path that matches with another method gets
// 405, anything else 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			badRequest(w, "malformed path")
			return
		}
		parts[i] = u
	}
	var allow []string
	for _, rt := range h.routes {
		if len(rt.segs) != len(parts) {
			continue
		}
		match := true
		for i, s := range rt.segs {
			if !strings.HasPrefix(s, "{") && s != parts[i] {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if rt.method != r.Method && !(rt.method == "GET" && r.Method == "HEAD") {
			allow = append(allow, rt.method)
			continue
		}
		for i, s := range rt.segs {
			if strings.HasPrefix(s, "{") {
				r.SetPathValue(strings.Trim(s, "{}"), parts[i])
			}
		}
		rt.h.ServeHTTP(w, r)
		return
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", r.Method+" is not allowed here")
		return
	}
	notFound(w)
}

// handle adds a route for a "METHOD /path/{param}" pattern.
func (h *Handler) handle(pattern string, hd http.Handler) {
	method, path, _ := strings.Cut(pattern, " ")
	h.routes = append(h.routes, route{method, strings.Split(strings.TrimPrefix(path, "/"), "/"), hd})
}

func (h *Handler) addRoutes() {
	m := h
	m.handle("GET /metrics", http.HandlerFunc(h.metrics))
	m.handle("GET /healthz", http.HandlerFunc(h.healthz))
	m.handle("GET /", http.HandlerFunc(h.index))

	// Any tag that grants management access may read its own identity
	// and the overview; everything else needs administrator.
	mgmt, adm := h.auth(false), h.auth(true)
	m.handle("GET /api/overview", mgmt(h.overview))
	m.handle("GET /api/whoami", mgmt(h.whoami))

	m.handle("GET /api/users", adm(h.listUsers))
	m.handle("GET /api/users/{user}", adm(h.getUser))
	m.handle("PUT /api/users/{user}", adm(h.putUser))
	m.handle("DELETE /api/users/{user}", adm(h.deleteUser))
	m.handle("GET /api/users/{user}/permissions", adm(h.userPermissions))

	m.handle("GET /api/vhosts", adm(h.listVHosts))
	m.handle("GET /api/vhosts/{vhost}", adm(h.getVHost))
	m.handle("PUT /api/vhosts/{vhost}", adm(h.putVHost))
	m.handle("DELETE /api/vhosts/{vhost}", adm(h.deleteVHost))
	m.handle("GET /api/vhosts/{vhost}/permissions", adm(h.vhostPermissions))

	m.handle("GET /api/permissions", adm(h.listPermissions))
	m.handle("GET /api/permissions/{vhost}/{user}", adm(h.getPermission))
	m.handle("PUT /api/permissions/{vhost}/{user}", adm(h.putPermission))
	m.handle("DELETE /api/permissions/{vhost}/{user}", adm(h.deletePermission))

	m.handle("GET /api/queues", adm(h.listQueues))
	m.handle("GET /api/queues/{vhost}", adm(h.listQueues))
	m.handle("GET /api/queues/{vhost}/{name}", adm(h.getQueue))
	m.handle("DELETE /api/queues/{vhost}/{name}", adm(h.deleteQueue))
	m.handle("DELETE /api/queues/{vhost}/{name}/contents", adm(h.purgeQueue))

	m.handle("GET /api/exchanges", adm(h.listExchanges))
	m.handle("GET /api/exchanges/{vhost}", adm(h.listExchanges))
	m.handle("GET /api/bindings", adm(h.listBindings))
	m.handle("GET /api/bindings/{vhost}", adm(h.listBindings))
	m.handle("GET /api/connections", adm(h.listConnections))
	m.handle("DELETE /api/connections/{name}", adm(h.closeConnection))
	m.handle("GET /api/channels", adm(h.listChannels))
	m.handle("GET /api/consumers", adm(h.listConsumers))
	m.handle("GET /api/definitions", adm(h.definitions))
	m.handle("GET /api/consumers/{vhost}", adm(h.listConsumers))
}

// managementTags are the user tags that open the management API at all
// (RabbitMQ's management, policymaker, monitoring and administrator).
var managementTags = []string{"administrator", "monitoring", "policymaker", "management"}

type userKey struct{}

// auth wraps an API handler with HTTP basic authentication against the
// broker's users, as the management plugin does: the user must log in
// with a password, from loopback if it is a loopback-only user (guest),
// and carry a management tag (administrator when admin is set).
func (h *Handler) auth(admin bool) func(func(http.ResponseWriter, *http.Request, *broker.User)) http.Handler {
	return func(next func(http.ResponseWriter, *http.Request, *broker.User)) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b := h.cfg.Broker
			if b == nil {
				writeError(w, http.StatusServiceUnavailable, "not_available", "the AMQP broker is disabled (amqp no)")
				return
			}
			name, pass, ok := r.BasicAuth()
			if !ok {
				unauthorised(w, "Login failed")
				return
			}
			u, err := b.Authenticate(name, pass)
			if err != nil {
				unauthorised(w, "Login failed")
				return
			}
			if b.LoopbackOnly(name) && !fromLoopback(r) {
				unauthorised(w, "User can only log in via localhost")
				return
			}
			allowed := false
			for _, t := range managementTags {
				allowed = allowed || u.HasTag(t)
			}
			if !allowed {
				unauthorised(w, "Not management user")
				return
			}
			if admin && !u.HasTag("administrator") {
				unauthorised(w, "Not administrator user")
				return
			}
			next(w, r, u)
		})
	}
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// unauthorised answers 401 with the management plugin's body and the
// Basic challenge.
func unauthorised(w http.ResponseWriter, reason string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="RabbitMQ Management"`)
	writeError(w, http.StatusUnauthorized, "not_authorised", reason)
}

// notFound is the management plugin's 404.
func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "Object Not Found", "Not Found")
}

func badRequest(w http.ResponseWriter, reason string) {
	writeError(w, http.StatusBadRequest, "bad_request", reason)
}

func writeError(w http.ResponseWriter, status int, kind, reason string) {
	writeJSON(w, status, map[string]string{"error": kind, "reason": reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(map[string]string{"error": "internal_error", "reason": err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	w.Write(data)
	w.Write([]byte("\n"))
}

// readJSON decodes a request body of at most 1 MiB into v.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	return dec.Decode(v)
}
