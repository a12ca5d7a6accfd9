// Package admin is Ferry's admin HTTP front end: GET /metrics (Prometheus
// text, no authentication, as rabbitmq_prometheus and the Redis and
// memcached exporters), GET /healthz, and a JSON management API in the
// shape of RabbitMQ's management plugin (/api/overview, /api/users,
// /api/vhosts, /api/permissions, /api/queues, /api/exchanges,
// /api/bindings, /api/connections, /api/channels) that `ferry ctl` talks
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
	cfg Config
	mux *http.ServeMux
}

// New returns the admin handler for cfg.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Ready == nil {
		cfg.Ready = func() bool { return true }
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.routes()
	return h
}

// ServeHTTP dispatches a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET /metrics", h.metrics)
	m.HandleFunc("GET /healthz", h.healthz)
	m.HandleFunc("GET /{$}", h.index)

	// Any tag that grants management access may read its own identity
	// and the overview; everything else needs administrator.
	mgmt, adm := h.auth(false), h.auth(true)
	m.Handle("GET /api/overview", mgmt(h.overview))
	m.Handle("GET /api/whoami", mgmt(h.whoami))

	m.Handle("GET /api/users", adm(h.listUsers))
	m.Handle("GET /api/users/{user}", adm(h.getUser))
	m.Handle("PUT /api/users/{user}", adm(h.putUser))
	m.Handle("DELETE /api/users/{user}", adm(h.deleteUser))
	m.Handle("GET /api/users/{user}/permissions", adm(h.userPermissions))

	m.Handle("GET /api/vhosts", adm(h.listVHosts))
	m.Handle("GET /api/vhosts/{vhost}", adm(h.getVHost))
	m.Handle("PUT /api/vhosts/{vhost}", adm(h.putVHost))
	m.Handle("DELETE /api/vhosts/{vhost}", adm(h.deleteVHost))
	m.Handle("GET /api/vhosts/{vhost}/permissions", adm(h.vhostPermissions))

	m.Handle("GET /api/permissions", adm(h.listPermissions))
	m.Handle("GET /api/permissions/{vhost}/{user}", adm(h.getPermission))
	m.Handle("PUT /api/permissions/{vhost}/{user}", adm(h.putPermission))
	m.Handle("DELETE /api/permissions/{vhost}/{user}", adm(h.deletePermission))

	m.Handle("GET /api/queues", adm(h.listQueues))
	m.Handle("GET /api/queues/{vhost}", adm(h.listQueues))
	m.Handle("GET /api/queues/{vhost}/{name}", adm(h.getQueue))
	m.Handle("DELETE /api/queues/{vhost}/{name}", adm(h.deleteQueue))
	m.Handle("DELETE /api/queues/{vhost}/{name}/contents", adm(h.purgeQueue))

	m.Handle("GET /api/exchanges", adm(h.listExchanges))
	m.Handle("GET /api/exchanges/{vhost}", adm(h.listExchanges))
	m.Handle("GET /api/bindings", adm(h.listBindings))
	m.Handle("GET /api/bindings/{vhost}", adm(h.listBindings))
	m.Handle("GET /api/connections", adm(h.listConnections))
	m.Handle("DELETE /api/connections/{name}", adm(h.closeConnection))
	m.Handle("GET /api/channels", adm(h.listChannels))
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) { notFound(w) })
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
