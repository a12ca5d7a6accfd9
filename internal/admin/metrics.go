package admin

import (
	"io"
	"net/http"
	"time"

	"ferry/internal/metrics"
)

// metrics serves GET /metrics: every enabled part of Ferry rendered in
// the Prometheus text format under the established exporters' names
// (see internal/metrics and docs/dev/admin.md). No authentication, as
// rabbitmq_prometheus and the exporters.
func (h *Handler) metrics(w http.ResponseWriter, r *http.Request) {
	mw := metrics.NewWriter()
	now := time.Now()
	metrics.WriteFerry(mw, h.cfg.Version, h.cfg.Ready(), h.cfg.Start)
	metrics.WriteProcess(mw, h.cfg.Start)
	if h.cfg.RedisInfo != nil {
		metrics.WriteRedis(mw, h.cfg.RedisInfo(), now)
	}
	if h.cfg.MemcachedStats != nil {
		stats, maxConns := h.cfg.MemcachedStats()
		metrics.WriteMemcached(mw, stats, maxConns)
	}
	if b := h.cfg.Broker; b != nil {
		metrics.WriteBroker(mw, h.brokerSnapshot())
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	mw.WriteTo(w)
}

// brokerSnapshot copies the broker's counters into metrics' plain struct.
func (h *Handler) brokerSnapshot() *metrics.Broker {
	b := h.cfg.Broker
	st := b.Stats()
	mb := &metrics.Broker{
		Version: h.cfg.BrokerVersion, Node: h.cfg.Node,
		Connections: st.Connections, Channels: len(b.Channels()),
		Published: st.Published, Delivered: st.Delivered, Acked: st.Acked,
		Confirmed: st.Confirmed, Returned: st.Returned, DeadLettered: st.DeadLettered,
		Memory: st.Memory, MemoryLimit: b.MemoryHighWatermark(), MemoryAlarm: st.MemoryAlarm,
		RSS: metrics.ResidentMemory(),
		Store: metrics.Store{
			Segments: st.Store.Segments, Bytes: st.Store.Bytes,
			LiveMessages: st.Store.LiveMessages, LiveBytes: st.Store.LiveBytes,
			Appends: st.Store.Appends, Fsyncs: st.Store.Fsyncs,
		},
	}
	for _, vh := range b.VHosts() {
		qs, _ := b.Queues(vh)
		for _, q := range qs {
			mb.Consumers += q.Consumers
			mb.Queues = append(mb.Queues, metrics.Queue{
				VHost: q.VHost, Name: q.Name, Ready: q.Messages, Unacked: q.MessagesUnacked,
				Consumers: q.Consumers, ReadyBytes: q.MessageBytes,
				Published: q.Published, Delivered: q.Delivered, Acked: q.Acked,
			})
		}
	}
	return mb
}

// healthz answers 200 "ok" once the dataset is loaded, 503 "loading"
// before (for load balancers and orchestrators).
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !h.cfg.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "loading\n")
		return
	}
	io.WriteString(w, "ok\n")
}

// index lists the endpoints.
func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "Ferry "+h.cfg.Version+" admin\n\n"+
		"GET /metrics   Prometheus metrics (redis_*, memcached_*, rabbitmq_*, process_*, go_*, ferry_*)\n"+
		"GET /healthz   200 once the dataset is loaded\n"+
		"/api/...       management API in the shape of RabbitMQ's (basic auth, administrator tag); see `ferry ctl help`\n")
}

func (h *Handler) since() time.Duration { return time.Since(h.cfg.Start) }
