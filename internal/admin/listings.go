package admin

import (
	"cmp"
	"errors"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"ferry/internal/broker"
)

// This file holds the read-only listings (/api/queues, exchanges,
// bindings, connections, channels, overview) and the two queue actions
// (delete, purge), in the management plugin's JSON field names.

// vhostsOf returns the vhosts a listing covers: the {vhost} path value,
// or every vhost. ok is false (and 404 written) for a missing vhost.
func (h *Handler) vhostsOf(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	if vh := r.PathValue("vhost"); vh != "" {
		if !h.vhostExists(vh) {
			notFound(w)
			return nil, false
		}
		return []string{vh}, true
	}
	return h.cfg.Broker.VHosts(), true
}

type queueJSON struct {
	Name                   string         `json:"name"`
	VHost                  string         `json:"vhost"`
	Type                   string         `json:"type"`
	State                  string         `json:"state"`
	Node                   string         `json:"node"`
	Durable                bool           `json:"durable"`
	AutoDelete             bool           `json:"auto_delete"`
	Exclusive              bool           `json:"exclusive"`
	Arguments              map[string]any `json:"arguments"`
	Messages               int            `json:"messages"`
	MessagesReady          int            `json:"messages_ready"`
	MessagesUnacknowledged int            `json:"messages_unacknowledged"`
	MessageBytesReady      int64          `json:"message_bytes_ready"`
	Consumers              int            `json:"consumers"`
	MessageStats           messageStats   `json:"message_stats"`
}

type messageStats struct {
	Publish          uint64 `json:"publish"`
	DeliverGet       uint64 `json:"deliver_get"`
	Ack              uint64 `json:"ack"`
	Confirm          uint64 `json:"confirm,omitempty"`
	ReturnUnroutable uint64 `json:"return_unroutable,omitempty"`
}

func (h *Handler) queueJSON(q broker.QueueInfo) queueJSON {
	return queueJSON{
		Name: q.Name, VHost: q.VHost, Type: "classic", State: "running", Node: h.cfg.Node,
		Durable: q.Durable, AutoDelete: q.AutoDelete, Exclusive: q.Exclusive, Arguments: args(q.Arguments),
		Messages: q.Messages + q.MessagesUnacked, MessagesReady: q.Messages, MessagesUnacknowledged: q.MessagesUnacked,
		MessageBytesReady: q.MessageBytes, Consumers: q.Consumers,
		MessageStats: messageStats{Publish: q.Published, DeliverGet: q.Delivered, Ack: q.Acked},
	}
}

// args gives argument tables as JSON objects ({} rather than null).
func args(t broker.Table) map[string]any {
	if t == nil {
		return map[string]any{}
	}
	return t
}

func (h *Handler) listQueues(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	vhs, ok := h.vhostsOf(w, r)
	if !ok {
		return
	}
	out := []queueJSON{}
	for _, vh := range vhs {
		qs, _ := h.cfg.Broker.Queues(vh)
		for _, q := range qs {
			out = append(out, h.queueJSON(q))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) findQueue(vhost, name string) (broker.QueueInfo, bool) {
	qs, err := h.cfg.Broker.Queues(vhost)
	if err != nil {
		return broker.QueueInfo{}, false
	}
	for _, q := range qs {
		if q.Name == name {
			return q, true
		}
	}
	return broker.QueueInfo{}, false
}

func (h *Handler) getQueue(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	q, ok := h.findQueue(r.PathValue("vhost"), r.PathValue("name"))
	if !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, h.queueJSON(q))
}

// queueError maps the broker's queue errors: NOT_FOUND → 404, a failed
// if-unused/if-empty → 400 with the reply text.
func queueError(w http.ResponseWriter, err error) {
	var be *broker.Error
	if errors.As(err, &be) && be.Code == broker.CodeNotFound {
		notFound(w)
		return
	}
	badRequest(w, err.Error())
}

// MessageCountHeader carries the number of ready messages a queue delete
// or purge dropped (the management API answers 204 with no body; `ferry
// ctl` prints the count as rabbitmqctl does).
const MessageCountHeader = "X-Ferry-Message-Count"

func (h *Handler) deleteQueue(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	q := r.URL.Query()
	n, err := h.cfg.Broker.DeleteQueue(r.PathValue("vhost"), r.PathValue("name"),
		q.Get("if-unused") == "true", q.Get("if-empty") == "true")
	if err != nil {
		queueError(w, err)
		return
	}
	w.Header().Set(MessageCountHeader, strconv.FormatUint(uint64(n), 10))
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) purgeQueue(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	n, err := h.cfg.Broker.PurgeQueue(r.PathValue("vhost"), r.PathValue("name"))
	if err != nil {
		queueError(w, err)
		return
	}
	w.Header().Set(MessageCountHeader, strconv.FormatUint(uint64(n), 10))
	w.WriteHeader(http.StatusNoContent)
}

type exchangeJSON struct {
	Name       string         `json:"name"`
	VHost      string         `json:"vhost"`
	Type       string         `json:"type"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Internal   bool           `json:"internal"`
	Arguments  map[string]any `json:"arguments"`
}

func (h *Handler) listExchanges(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	vhs, ok := h.vhostsOf(w, r)
	if !ok {
		return
	}
	out := []exchangeJSON{}
	for _, vh := range vhs {
		xs, _ := h.cfg.Broker.Exchanges(vh)
		for _, x := range xs {
			out = append(out, exchangeJSON{x.Name, x.VHost, x.Type, x.Durable, x.AutoDelete, x.Internal, args(x.Arguments)})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type bindingJSON struct {
	Source          string         `json:"source"`
	VHost           string         `json:"vhost"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destination_type"`
	RoutingKey      string         `json:"routing_key"`
	Arguments       map[string]any `json:"arguments"`
	PropertiesKey   string         `json:"properties_key"`
}

// listBindings lists each queue's implicit binding to the default
// exchange first, as RabbitMQ does, then the declared bindings.
func (h *Handler) listBindings(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	vhs, ok := h.vhostsOf(w, r)
	if !ok {
		return
	}
	out := []bindingJSON{}
	for _, vh := range vhs {
		qs, _ := h.cfg.Broker.Queues(vh)
		for _, q := range qs {
			out = append(out, bindingJSON{"", vh, q.Name, "queue", q.Name, map[string]any{}, q.Name})
		}
		bs, _ := h.cfg.Broker.Bindings(vh)
		for _, b := range bs {
			pk := b.RoutingKey
			if pk == "" {
				pk = "~"
			}
			out = append(out, bindingJSON{b.Source, b.VHost, b.Destination, b.DestinationType, b.RoutingKey, args(b.Arguments), pk})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type connectionJSON struct {
	Name     string `json:"name"`
	Node     string `json:"node"`
	User     string `json:"user"`
	VHost    string `json:"vhost"`
	Channels int    `json:"channels"`
	PeerHost string `json:"peer_host"`
	PeerPort int    `json:"peer_port"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	State    string `json:"state"`
	Protocol string `json:"protocol"`
	Type     string `json:"type"`
	// ID identifies the connection for DELETE /api/connections/{id}
	// (Ferry accepts the name too).
	ID uint64 `json:"ferry_id"`
}

// splitEndpoints reads a ConnInfo.Name ("peer -> local").
func splitEndpoints(name string) (peerHost string, peerPort int, host string, port int) {
	peer, local, _ := strings.Cut(name, " -> ")
	ph, pp, _ := net.SplitHostPort(peer)
	lh, lp, _ := net.SplitHostPort(local)
	peerPort, _ = strconv.Atoi(pp)
	port, _ = strconv.Atoi(lp)
	return ph, peerPort, lh, port
}

func (h *Handler) listConnections(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	out := []connectionJSON{}
	for _, c := range h.cfg.Broker.Connections() {
		ph, pp, lh, lp := splitEndpoints(c.Name)
		out = append(out, connectionJSON{Name: c.Name, Node: h.cfg.Node, User: c.User, VHost: c.VHost, Channels: c.Channels,
			PeerHost: ph, PeerPort: pp, Host: lh, Port: lp, State: "running", Protocol: "AMQP 0-9-1", Type: "network", ID: c.ID})
	}
	slices.SortFunc(out, func(a, b connectionJSON) int { return cmp.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) closeConnection(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	name := r.PathValue("name")
	reason := r.Header.Get("X-Reason")
	if reason == "" {
		reason = "Closed via management plugin"
	}
	for _, c := range h.cfg.Broker.Connections() {
		if c.Name == name || strconv.FormatUint(c.ID, 10) == name {
			if h.cfg.Broker.CloseConnection(c.ID, reason) {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
	}
	notFound(w)
}

type channelJSON struct {
	Name                   string       `json:"name"`
	Node                   string       `json:"node"`
	User                   string       `json:"user"`
	VHost                  string       `json:"vhost"`
	Consumers              int          `json:"consumer_count"`
	MessagesUnacknowledged int          `json:"messages_unacknowledged"`
	PrefetchCount          uint16       `json:"prefetch_count"`
	GlobalPrefetchCount    uint32       `json:"global_prefetch_count"`
	Transactional          bool         `json:"transactional"`
	State                  string       `json:"state"`
	ConnectionName         string       `json:"connection_name"`
	MessageStats           messageStats `json:"message_stats"`
}

func (h *Handler) listChannels(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	out := []channelJSON{}
	seq := map[uint64]int{}
	for _, c := range h.cfg.Broker.Channels() {
		seq[c.ConnectionID]++
		out = append(out, channelJSON{
			Name: c.Connection + " (" + strconv.Itoa(seq[c.ConnectionID]) + ")", Node: h.cfg.Node,
			User: c.User, VHost: c.VHost, Consumers: c.Consumers, MessagesUnacknowledged: c.Unacked,
			PrefetchCount: c.Prefetch, GlobalPrefetchCount: c.GlobalPrefetch, Transactional: c.Transactional,
			State: "running", ConnectionName: c.Connection,
			MessageStats: messageStats{Publish: c.Published, DeliverGet: c.Delivered, Ack: c.Acked},
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	b := h.cfg.Broker
	st := b.Stats()
	var queues, consumers, exchanges, ready, unacked int
	for _, vh := range b.VHosts() {
		qs, _ := b.Queues(vh)
		for _, q := range qs {
			queues++
			consumers += q.Consumers
			ready += q.Messages
			unacked += q.MessagesUnacked
		}
		xs, _ := b.Exchanges(vh)
		exchanges += len(xs)
	}
	listeners := []Listener{}
	if h.cfg.Listeners != nil {
		listeners = h.cfg.Listeners()
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"management_version": h.cfg.BrokerVersion,
		"rabbitmq_version":   h.cfg.BrokerVersion,
		"product_name":       "Ferry",
		"product_version":    h.cfg.Version,
		"node":               h.cfg.Node,
		"cluster_name":       h.cfg.Node,
		"object_totals": map[string]int{
			"connections": st.Connections, "channels": len(b.Channels()),
			"exchanges": exchanges, "queues": queues, "consumers": consumers,
		},
		"queue_totals": map[string]int{
			"messages": ready + unacked, "messages_ready": ready, "messages_unacknowledged": unacked,
		},
		"message_stats": messageStats{Publish: st.Published, DeliverGet: st.Delivered, Ack: st.Acked,
			Confirm: st.Confirmed, ReturnUnroutable: st.Returned},
		"listeners": listeners,
		"ferry": map[string]any{
			"os_pid":                os.Getpid(),
			"uptime_seconds":        int64(h.since().Seconds()),
			"ready":                 h.cfg.Ready(),
			"memory_alarm":          st.MemoryAlarm,
			"message_memory_bytes":  st.Memory,
			"memory_high_watermark": b.MemoryHighWatermark(),
			"msgstore_segments":     st.Store.Segments,
			"msgstore_bytes":        st.Store.Bytes,
		},
	})
}

type consumerJSON struct {
	Queue          queueRef       `json:"queue"`
	ConsumerTag    string         `json:"consumer_tag"`
	ChannelDetails channelRef     `json:"channel_details"`
	AckRequired    bool           `json:"ack_required"`
	Exclusive      bool           `json:"exclusive"`
	PrefetchCount  uint32         `json:"prefetch_count"`
	Priority       int64          `json:"priority"`
	Active         bool           `json:"active"`
	ActivityStatus string         `json:"activity_status"`
	Arguments      map[string]any `json:"arguments"`
}

type queueRef struct {
	Name  string `json:"name"`
	VHost string `json:"vhost"`
}

type channelRef struct {
	ConnectionName string `json:"connection_name"`
	PeerHost       string `json:"peer_host"`
	PeerPort       int    `json:"peer_port"`
	Node           string `json:"node"`
}

func (h *Handler) listConsumers(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	vh := r.PathValue("vhost")
	if vh != "" && !h.vhostExists(vh) {
		notFound(w)
		return
	}
	out := []consumerJSON{}
	for _, c := range h.cfg.Broker.Consumers(vh) {
		ph, pp, _, _ := splitEndpoints(c.Connection)
		status := "up"
		if !c.Active {
			status = "waiting"
		}
		out = append(out, consumerJSON{
			Queue: queueRef{c.Queue, c.VHost}, ConsumerTag: c.Tag,
			ChannelDetails: channelRef{c.Connection, ph, pp, h.cfg.Node},
			AckRequired:    c.AckRequired, Exclusive: c.Exclusive, PrefetchCount: c.Prefetch, Priority: c.Priority,
			Active: c.Active, ActivityStatus: status, Arguments: args(c.Arguments),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// definitions serves GET /api/definitions: RabbitMQ's definitions export
// (durable topology, users with password hashes, permissions).
func (h *Handler) definitions(w http.ResponseWriter, r *http.Request, _ *broker.User) {
	d := h.cfg.Broker.ExportDefinitions()
	writeJSON(w, http.StatusOK, map[string]any{
		"rabbit_version":    h.cfg.BrokerVersion,
		"rabbitmq_version":  h.cfg.BrokerVersion,
		"product_name":      "Ferry",
		"product_version":   h.cfg.Version,
		"users":             d.Users,
		"vhosts":            d.VHosts,
		"permissions":       d.Permissions,
		"topic_permissions": []any{},
		"parameters":        []any{},
		"global_parameters": []any{},
		"policies":          []any{},
		"queues":            d.Queues,
		"exchanges":         d.Exchanges,
		"bindings":          d.Bindings,
	})
}
