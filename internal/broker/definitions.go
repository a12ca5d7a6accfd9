package broker

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"
)

// definitions.json holds the durable topology, in the shape of RabbitMQ's
// definitions export (users, vhosts, permissions, exchanges, queues,
// bindings) with two additions: argument values carry their AMQP type
// ({"type":"signedint","value":5}) so equivalence checks still hold after a
// restart, and each durable queue carries its message-store id. The file is
// replaced atomically: written to a temporary name, fsynced, renamed, and
// the directory fsynced.
type definitions struct {
	Version     int          `json:"ferry_definitions_version"`
	NextStoreID uint64       `json:"ferry_next_store_id"`
	Users       []defUser    `json:"users"`
	VHosts      []defVHost   `json:"vhosts"`
	Permissions []defPerm    `json:"permissions"`
	Exchanges   []defExch    `json:"exchanges"`
	Queues      []defQueue   `json:"queues"`
	Bindings    []defBinding `json:"bindings"`
}

type defUser struct {
	Name             string   `json:"name"`
	PasswordHash     string   `json:"password_hash"`
	HashingAlgorithm string   `json:"hashing_algorithm"`
	Tags             []string `json:"tags"`
}

type defVHost struct {
	Name string `json:"name"`
}

type defPerm struct {
	User      string `json:"user"`
	VHost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

type defExch struct {
	Name       string         `json:"name"`
	VHost      string         `json:"vhost"`
	Type       string         `json:"type"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Internal   bool           `json:"internal"`
	Arguments  map[string]any `json:"arguments"`
}

type defQueue struct {
	Name       string         `json:"name"`
	VHost      string         `json:"vhost"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Arguments  map[string]any `json:"arguments"`
	StoreID    uint64         `json:"ferry_store_id"`
}

type defBinding struct {
	Source          string         `json:"source"`
	VHost           string         `json:"vhost"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destination_type"`
	RoutingKey      string         `json:"routing_key"`
	Arguments       map[string]any `json:"arguments"`
}

const definitionsFile = "definitions.json"

func (b *Broker) saveDefinitionsLogged() {
	if err := b.saveDefinitions(); err != nil {
		b.log.Error("broker: cannot save definitions", "err", err)
	}
}

// saveDefinitions writes the durable topology. It is called after every
// durable change, before the change is acknowledged to the client.
func (b *Broker) saveDefinitions() error {
	if b.cfg.Dir == "" {
		return nil
	}
	b.defsMu.Lock()
	defer b.defsMu.Unlock()
	d := b.snapshotDefinitions()
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(b.cfg.Dir, definitionsFile), append(data, '\n'))
}

func (b *Broker) snapshotDefinitions() *definitions {
	d := &definitions{Version: 1, NextStoreID: atomic.LoadUint64(&b.nextStoreID)}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, u := range b.users {
		d.Users = append(d.Users, defUser{Name: u.Name, PasswordHash: u.PasswordHash(),
			HashingAlgorithm: "rabbit_password_hashing_sha256", Tags: slices.Clone(u.Tags)})
	}
	for _, p := range b.perms {
		d.Permissions = append(d.Permissions, defPerm{p.User, p.VHost, p.Configure, p.Write, p.Read})
	}
	for _, vh := range b.vhosts {
		d.VHosts = append(d.VHosts, defVHost{vh.name})
		vh.mu.RLock()
		for _, x := range vh.exchanges {
			if x.durable && !isPredeclared(x.name) {
				d.Exchanges = append(d.Exchanges, defExch{x.name, vh.name, x.kind.String(), x.durable, x.autoDelete, x.internal, encodeTable(x.args)})
			}
			for _, bd := range x.bindings {
				if bd.durable() {
					d.Bindings = append(d.Bindings, bd.def())
				}
			}
		}
		for _, q := range vh.queues {
			if q.durable {
				d.Queues = append(d.Queues, defQueue{q.name, vh.name, q.durable, q.autoDelete, encodeTable(q.args), q.storeID})
			}
		}
		vh.mu.RUnlock()
	}
	sortDefs(d)
	return d
}

func (bd *binding) def() defBinding {
	out := defBinding{Source: bd.src.name, VHost: bd.src.vh.name, RoutingKey: bd.key, Arguments: encodeTable(bd.args)}
	if bd.dst.q != nil {
		out.Destination, out.DestinationType = bd.dst.q.name, "queue"
	} else {
		out.Destination, out.DestinationType = bd.dst.x.name, "exchange"
	}
	return out
}

func isPredeclared(name string) bool {
	for _, p := range predeclared {
		if p.name == name {
			return true
		}
	}
	return false
}

func sortDefs(d *definitions) {
	slices.SortFunc(d.Users, func(a, b defUser) int { return cmpStr(a.Name, b.Name) })
	slices.SortFunc(d.VHosts, func(a, b defVHost) int { return cmpStr(a.Name, b.Name) })
	slices.SortFunc(d.Permissions, func(a, b defPerm) int { return cmpStr(a.VHost+"\x00"+a.User, b.VHost+"\x00"+b.User) })
	slices.SortFunc(d.Exchanges, func(a, b defExch) int { return cmpStr(a.VHost+"\x00"+a.Name, b.VHost+"\x00"+b.Name) })
	slices.SortFunc(d.Queues, func(a, b defQueue) int { return cmpStr(a.VHost+"\x00"+a.Name, b.VHost+"\x00"+b.Name) })
	slices.SortFunc(d.Bindings, func(a, b defBinding) int {
		return cmpStr(a.VHost+"\x00"+a.Source+"\x00"+a.Destination+"\x00"+a.RoutingKey,
			b.VHost+"\x00"+b.Source+"\x00"+b.Destination+"\x00"+b.RoutingKey)
	})
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// loadDefinitions reads definitions.json; it reports false when there is
// none yet.
func (b *Broker) loadDefinitions() (bool, error) {
	path := filepath.Join(b.cfg.Dir, definitionsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, errf("%w", err)
	}
	var d definitions
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep 64-bit integers exact
	if err := dec.Decode(&d); err != nil {
		return false, errf("%s: %w", path, err)
	}
	if err := b.applyDefinitions(&d); err != nil {
		return false, errf("%s: %w", path, err)
	}
	return true, nil
}

func (b *Broker) applyDefinitions(d *definitions) error {
	b.nextStoreID = max(d.NextStoreID, 1)
	for _, v := range d.VHosts {
		if _, err := b.addVHost(v.Name); err != nil {
			return err
		}
	}
	for _, u := range d.Users {
		if u.HashingAlgorithm != "" && u.HashingAlgorithm != "rabbit_password_hashing_sha256" {
			return fmt.Errorf("user %q: unsupported hashing algorithm %q", u.Name, u.HashingAlgorithm)
		}
		hash, err := decodeHash(u.PasswordHash)
		if err != nil {
			return fmt.Errorf("user %q: %w", u.Name, err)
		}
		b.users[u.Name] = &User{Name: u.Name, hash: hash, Tags: u.Tags}
	}
	for _, p := range d.Permissions {
		perm, err := newPermission(p.User, p.VHost, p.Configure, p.Write, p.Read)
		if err != nil {
			return err
		}
		b.perms[permKey{p.User, p.VHost}] = perm
	}
	for _, e := range d.Exchanges {
		vh := b.vhosts[e.VHost]
		kind, ok := parseKind(e.Type)
		if vh == nil || !ok {
			return fmt.Errorf("exchange %q: bad vhost %q or type %q", e.Name, e.VHost, e.Type)
		}
		args, err := decodeTable(e.Arguments)
		if err != nil {
			return fmt.Errorf("exchange %q: %w", e.Name, err)
		}
		vh.exchanges[e.Name] = newExchange(vh, e.Name, kind, true, e.AutoDelete, e.Internal, args)
	}
	for _, qd := range d.Queues {
		vh := b.vhosts[qd.VHost]
		if vh == nil {
			return fmt.Errorf("queue %q: no vhost %q", qd.Name, qd.VHost)
		}
		args, err := decodeTable(qd.Arguments)
		if err != nil {
			return fmt.Errorf("queue %q: %w", qd.Name, err)
		}
		q := newQueue(vh, qd.Name, true, false, qd.AutoDelete, nil, args)
		q.storeID = qd.StoreID
		if q.storeID == 0 || q.storeID >= b.nextStoreID {
			if q.storeID == 0 {
				q.storeID = b.nextStoreID
			}
			b.nextStoreID = q.storeID + 1
		}
		vh.queues[qd.Name] = q
	}
	for _, bd := range d.Bindings {
		vh := b.vhosts[bd.VHost]
		if vh == nil {
			return fmt.Errorf("binding: no vhost %q", bd.VHost)
		}
		src := vh.exchanges[bd.Source]
		var dst dest
		if bd.DestinationType == "exchange" {
			dst.x = vh.exchanges[bd.Destination]
		} else {
			dst.q = vh.queues[bd.Destination]
		}
		if src == nil || (dst.q == nil && dst.x == nil) {
			b.log.Warn("broker: skipping binding to a missing exchange or queue", "source", bd.Source, "destination", bd.Destination)
			continue
		}
		args, err := decodeTable(bd.Arguments)
		if err != nil {
			return fmt.Errorf("binding %s -> %s: %w", bd.Source, bd.Destination, err)
		}
		if _, _, e := vh.addBindingLocked(src, dst, bd.RoutingKey, args); e != nil {
			return e
		}
	}
	return nil
}

// writeFileAtomic replaces path with data: temp file, fsync, rename,
// directory fsync.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errf("%w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return errf("%w", err)
	}
	name := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(name)
		return errf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return errf("write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return errf("%w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return errf("%w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return errf("fsync %s: %w", dir, err)
	}
	return nil
}

// encodeTable turns a field table into JSON with each value's AMQP type.
func encodeTable(t Table) map[string]any {
	out := make(map[string]any, len(t))
	for k, v := range t {
		out[k] = encodeValue(v)
	}
	return out
}

func encodeValue(v any) map[string]any {
	tn := typeName(v)
	var val any
	switch x := v.(type) {
	case []byte:
		val = base64.StdEncoding.EncodeToString(x)
	case time.Time:
		val = x.Unix()
	case []any:
		arr := make([]any, len(x))
		for i, e := range x {
			arr[i] = encodeValue(e)
		}
		val = arr
	case map[string]any:
		val = encodeTable(x)
	case float64:
		val = jsonFloat(x)
	case float32:
		val = jsonFloat(float64(x))
	default:
		if tn == "decimal" {
			var d Decimal
			fmt.Sscanf(fmt.Sprint(v), "{%d %d}", &d.Scale, &d.Value)
			val = map[string]any{"scale": d.Scale, "value": d.Value}
		} else if _, ok := v.(bool); !ok && !isPlainJSON(v) {
			// A type the broker does not know: keep its text rather
			// than fail the whole save.
			tn, val = "longstr", fmt.Sprint(v)
		} else {
			val = v
		}
	}
	return map[string]any{"type": tn, "value": val}
}

// isPlainJSON reports whether v is an AMQP value encodeValue passes to
// JSON as it is (strings, integers, bools, nil).
func isPlainJSON(v any) bool {
	if _, ok := toInt(v); ok {
		return true
	}
	switch v.(type) {
	case string, bool, nil:
		return true
	}
	return false
}

// jsonFloat keeps NaN and infinities (which JSON cannot hold) as 0; they
// cannot be meaningful queue arguments.
func jsonFloat(f float64) float64 {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0
	}
	return f
}

func decodeTable(m map[string]any) (Table, error) {
	t := make(Table, len(m))
	for k, v := range m {
		dv, err := decodeValue(v)
		if err != nil {
			return nil, fmt.Errorf("argument %q: %w", k, err)
		}
		t[k] = dv
	}
	return t, nil
}

func decodeValue(v any) (any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("untyped value %v", v)
	}
	tn, _ := obj["type"].(string)
	val := obj["value"]
	switch tn {
	case "longstr":
		s, ok := val.(string)
		if !ok {
			return nil, fmt.Errorf("longstr value %v", val)
		}
		return s, nil
	case "binary":
		s, _ := val.(string)
		return base64.StdEncoding.DecodeString(s)
	case "bool":
		bv, ok := val.(bool)
		if !ok {
			return nil, fmt.Errorf("bool value %v", val)
		}
		return bv, nil
	case "void":
		return nil, nil
	case "array":
		arr, ok := val.([]any)
		if !ok {
			return nil, fmt.Errorf("array value %v", val)
		}
		out := make([]any, len(arr))
		for i, e := range arr {
			d, err := decodeValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = d
		}
		return out, nil
	case "table":
		m, ok := val.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("table value %v", val)
		}
		return decodeTable(m)
	case "decimal":
		m, _ := val.(map[string]any)
		s, _ := m["scale"].(json.Number)
		v, _ := m["value"].(json.Number)
		si, err1 := s.Int64()
		vi, err2 := v.Int64()
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("decimal value %v", val)
		}
		return Decimal{Scale: uint8(si), Value: int32(vi)}, nil
	}
	n, ok := val.(json.Number)
	if !ok {
		return nil, fmt.Errorf("%s value %v is not a number", tn, val)
	}
	switch tn {
	case "float", "double":
		f, err := n.Float64()
		if err != nil {
			return nil, err
		}
		if tn == "float" {
			return float32(f), nil
		}
		return f, nil
	}
	i, err := n.Int64()
	if err != nil {
		return nil, err
	}
	switch tn {
	case "byte":
		return int8(i), nil
	case "unsignedbyte":
		return uint8(i), nil
	case "short":
		return int16(i), nil
	case "unsignedshort":
		return uint16(i), nil
	case "signedint":
		return int32(i), nil
	case "unsignedint":
		return uint32(i), nil
	case "long":
		return i, nil
	case "timestamp":
		return time.Unix(i, 0), nil
	}
	return nil, fmt.Errorf("unknown type %q", tn)
}
