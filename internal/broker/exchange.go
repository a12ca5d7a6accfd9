package broker

import (
	"slices"
	"strings"

	"ferry/internal/broker/topic"
)

type exchangeKind uint8

const (
	kindDirect exchangeKind = iota
	kindFanout
	kindTopic
	kindHeaders
)

var kindNames = [...]string{"direct", "fanout", "topic", "headers"}

func (k exchangeKind) String() string { return kindNames[k] }

func parseKind(s string) (exchangeKind, bool) {
	for i, n := range kindNames {
		if n == s {
			return exchangeKind(i), true
		}
	}
	return 0, false
}

// dest is a binding's destination: a queue or an exchange.
type dest struct {
	q *Queue
	x *Exchange
}

func (d dest) durable() bool {
	if d.q != nil {
		return d.q.durable
	}
	return d.x.durable
}

// binding is one binding. Its identity is (source, destination, key,
// arguments), as in RabbitMQ.
type binding struct {
	src     *Exchange
	dst     dest
	key     string
	args    Table
	argsKey string
	hm      headersMatch // headers exchanges only
}

func (b *binding) durable() bool { return b.src.durable && b.dst.durable() }

type bindingKey struct {
	dst  dest
	key  string
	args string
}

type routeKey struct {
	key string
	dst dest
}

// Exchange is an exchange in a vhost. Its immutable fields are set at
// declaration; the binding tables are guarded by the vhost's mu (routing
// holds it for reading, binding changes for writing).
type Exchange struct {
	vh         *VHost
	name       string
	kind       exchangeKind
	durable    bool
	autoDelete bool
	internal   bool
	args       Table
	alternate  string // "" when none (the default exchange cannot be an AE target by declaration)
	hasAE      bool

	bindings map[bindingKey]*binding // outgoing
	inbound  map[*binding]struct{}   // exchange-to-exchange bindings into this one
	routes   map[routeKey]int        // how many bindings share each (key, dest) route
	direct   map[string][]dest
	fanout   []dest
	topic    topic.Trie[dest]
	headers  []*binding
	deleted  bool
}

// Name returns the exchange name.
func (x *Exchange) Name() string { return x.name }

func newExchange(vh *VHost, name string, kind exchangeKind, durable, autoDelete, internal bool, args Table) *Exchange {
	x := &Exchange{
		vh: vh, name: name, kind: kind, durable: durable, autoDelete: autoDelete, internal: internal, args: args,
		bindings: map[bindingKey]*binding{}, inbound: map[*binding]struct{}{}, routes: map[routeKey]int{},
	}
	if ae, ok := args["alternate-exchange"].(string); ok {
		x.alternate, x.hasAE = ae, true
	}
	if kind == kindDirect {
		x.direct = map[string][]dest{}
	}
	return x
}

func (x *Exchange) addRoute(key string, d dest) {
	if x.kind == kindFanout {
		key = ""
	}
	rk := routeKey{key, d}
	x.routes[rk]++
	if x.routes[rk] > 1 {
		return
	}
	switch x.kind {
	case kindDirect:
		x.direct[key] = append(x.direct[key], d)
	case kindFanout:
		x.fanout = append(x.fanout, d)
	case kindTopic:
		x.topic.Add(key, d)
	}
}

func (x *Exchange) removeRoute(key string, d dest) {
	if x.kind == kindFanout {
		key = ""
	}
	rk := routeKey{key, d}
	if x.routes[rk]--; x.routes[rk] > 0 {
		return
	}
	delete(x.routes, rk)
	switch x.kind {
	case kindDirect:
		ds := x.direct[key]
		if i := slices.Index(ds, d); i >= 0 {
			ds = slices.Delete(ds, i, i+1)
		}
		if len(ds) == 0 {
			delete(x.direct, key)
		} else {
			x.direct[key] = ds
		}
	case kindFanout:
		if i := slices.Index(x.fanout, d); i >= 0 {
			x.fanout = slices.Delete(x.fanout, i, i+1)
		}
	case kindTopic:
		x.topic.Remove(key, d)
	}
}

// match appends the destinations x's type routes to for routing key rk
// (plus CC/BCC keys) and headers h.
func (x *Exchange) match(ds []dest, rk string, extra []string, h Table) []dest {
	switch x.kind {
	case kindDirect:
		ds = append(ds, x.direct[rk]...)
		for _, k := range extra {
			ds = append(ds, x.direct[k]...)
		}
	case kindFanout:
		ds = append(ds, x.fanout...)
	case kindTopic:
		ds = x.topic.Match(ds, rk)
		for _, k := range extra {
			ds = x.topic.Match(ds, k)
		}
	case kindHeaders:
		for _, b := range x.headers {
			if b.hm.matches(h) {
				ds = append(ds, b.dst)
			}
		}
	}
	return ds
}

// routeScratch is reusable routing state; each channel owns one.
type routeScratch struct {
	xs   []*Exchange
	ds   []dest
	qs   []*Queue
	seen map[*Queue]struct{}
}

// routeLocked appends to sc.qs the queues a message published to x with
// routing key rk (and CC/BCC keys extra) and headers h reaches, following
// exchange-to-exchange bindings and alternate exchanges breadth-first and
// visiting each exchange once, as rabbit_exchange:route does. An
// exchange's alternate is used when its own type routing found nothing.
// The caller holds vh.mu for reading.
func (vh *VHost) routeLocked(x *Exchange, rk string, extra []string, h Table, sc *routeScratch) {
	sc.qs = sc.qs[:0]
	if x.name == "" {
		vh.routeDefault(rk, extra, sc)
		return
	}
	sc.xs = append(sc.xs[:0], x)
	for i := 0; i < len(sc.xs); i++ {
		ex := sc.xs[i]
		if ex.name == "" {
			vh.routeDefault(rk, extra, sc)
			continue
		}
		sc.ds = ex.match(sc.ds[:0], rk, extra, h)
		if len(sc.ds) == 0 && ex.hasAE {
			if ae := vh.exchanges[ex.alternate]; ae != nil {
				sc.ds = append(sc.ds, dest{x: ae})
			}
		}
		for _, d := range sc.ds {
			if d.q != nil {
				sc.qs = append(sc.qs, d.q)
			} else if !slices.Contains(sc.xs, d.x) {
				sc.xs = append(sc.xs, d.x)
			}
		}
	}
	clear(sc.ds)
	clear(sc.xs)
	sc.dedup()
}

// routeDefault routes through the default exchange: every queue is bound
// to it under its own name.
func (vh *VHost) routeDefault(rk string, extra []string, sc *routeScratch) {
	if q := vh.queues[rk]; q != nil {
		sc.qs = append(sc.qs, q)
	}
	for _, k := range extra {
		if q := vh.queues[k]; q != nil {
			sc.qs = append(sc.qs, q)
		}
	}
	if len(extra) > 0 {
		sc.dedup()
	}
}

// dedup removes duplicate queues from sc.qs, keeping first occurrences.
func (sc *routeScratch) dedup() {
	qs := sc.qs
	if len(qs) < 2 {
		return
	}
	if len(qs) <= 16 {
		out := qs[:0]
		for i, q := range qs {
			if !slices.Contains(qs[:i], q) {
				out = append(out, q)
			}
		}
		clear(qs[len(out):])
		sc.qs = out
		return
	}
	if sc.seen == nil {
		sc.seen = map[*Queue]struct{}{}
	}
	out := qs[:0]
	for _, q := range qs {
		if _, dup := sc.seen[q]; !dup {
			sc.seen[q] = struct{}{}
			out = append(out, q)
		}
	}
	clear(qs[len(out):])
	clear(sc.seen)
	sc.qs = out
}

// headersMatch is a parsed headers-exchange binding
// (rabbit_exchange_type_headers).
type headersMatch struct {
	any     bool
	pattern []headerPattern
}

type headerPattern struct {
	key  string
	val  any
	void bool // a void value matches presence alone
}

// parseHeadersBinding parses x-match and the pattern of a headers binding,
// or returns RabbitMQ's binding_invalid error.
func parseHeadersBinding(args Table) (headersMatch, *Error) {
	var hm headersMatch
	withX := false
	if v, ok := args["x-match"]; ok {
		s, isStr := v.(string)
		if !isStr {
			return hm, newError(CodePreconditionFailed, "Invalid x-match field type %s (value %s); expected longstr",
				typeName(v), erlTerm(v))
		}
		switch s {
		case "all":
		case "any":
			hm.any = true
		case "all-with-x":
			withX = true
		case "any-with-x":
			hm.any, withX = true, true
		default:
			return hm, newError(CodePreconditionFailed,
				"Invalid x-match field value %s; expected all, any, all-with-x, or any-with-x", erlTerm(s))
		}
	}
	for k, v := range args {
		if k == "x-match" || (!withX && strings.HasPrefix(k, "x-")) {
			continue
		}
		hm.pattern = append(hm.pattern, headerPattern{key: k, val: v, void: v == nil})
	}
	slices.SortFunc(hm.pattern, func(a, b headerPattern) int { return strings.Compare(a.key, b.key) })
	return hm, nil
}

// matches reports whether message headers h satisfy the binding: with
// x-match=all every pattern key must be present with an equal value (a
// void pattern value needs presence only; no keys matches everything);
// with any, at least one must.
func (hm *headersMatch) matches(h Table) bool {
	if hm.any {
		for _, p := range hm.pattern {
			v, ok := h[p.key]
			if ok && (p.void || valuesEqual(p.val, v)) {
				return true
			}
		}
		return false
	}
	for _, p := range hm.pattern {
		v, ok := h[p.key]
		if !ok || !(p.void || valuesEqual(p.val, v)) {
			return false
		}
	}
	return true
}
