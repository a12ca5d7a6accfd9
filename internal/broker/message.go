package broker

import (
	"strconv"
	"strings"
	"sync/atomic"

	"ferry/internal/persist/pagestore"
)

// Properties are the basic properties the broker itself must understand.
// The front end decodes them from the content header; everything else in
// the properties stays opaque inside Message.Props.
type Properties struct {
	DeliveryMode  uint8  // 2 = persistent
	Priority      uint8  // used by x-max-priority queues
	Expiration    string // per-message TTL in milliseconds, as a decimal string
	HasExpiration bool
	UserID        string // checked against the authenticated user
	HasUserID     bool
	// Headers are the message headers, used by headers-exchange routing,
	// CC/BCC routing keys and dead-lettering (x-death). Nil when absent.
	Headers Table
}

// PropsCodec re-encodes message properties when the broker must change
// them, so the broker needs no wire package. The front end supplies it.
// Implementations must be safe for concurrent use.
type PropsCodec interface {
	// Rewrite returns props (encoded as Message.Props) with the headers
	// field replaced by headers (removed when nil) and, when
	// dropExpiration is set, the expiration field removed. Every other
	// property is kept byte for byte.
	Rewrite(props []byte, headers Table, dropExpiration bool) ([]byte, error)
	// Decode reads back the properties the broker understands; it is used
	// when messages are recovered from disk.
	Decode(props []byte) (Properties, error)
}

// Message is one published message. The front end fills the exported
// fields and hands it to Channel.Publish; from then on the broker owns it
// and it is immutable: several queues may hold it and several consumers may
// be sent it at once, so nobody may modify it or its slices.
type Message struct {
	// Exchange and RoutingKey are as published (or as set by
	// dead-lettering); deliveries carry them.
	Exchange   string
	RoutingKey string
	// Props is the content header's property section as received:
	// property flags followed by the property list. The front end sends
	// it back out unchanged in deliveries.
	Props []byte
	// Body is the message body; the broker shares the slice, it never
	// copies it.
	Body []byte
	Properties

	refs      atomic.Int32  // queue entries (ready or unacked) holding it
	size      int64         // bytes counted in the broker's memory total
	storeID   uint64        // msgstore id when stored, else 0
	ttl       int64         // per-message TTL in ms, -1 when none
	published int64         // unix ms at publish (recovery recomputes TTLs from it)
	cc        []string      // CC routing keys (kept in the headers)
	bcc       []string      // BCC routing keys (stripped from the headers)
	pg        pagestore.Ref // where Props and Body are while paged out (paging.go)
	pgProps   uint32        // len(Props) while paged out
	pgDecode  bool          // Properties and cc to be decoded from Props when read back
}

// Persistent reports whether the message has delivery mode 2.
func (m *Message) Persistent() bool { return m.DeliveryMode == 2 }

// messageOverhead approximates the bookkeeping per message (Message
// struct, queue entry, index) for memory accounting.
const messageOverhead = 192

func (m *Message) computeSize() {
	m.size = int64(len(m.Body)+len(m.Props)+len(m.Exchange)+len(m.RoutingKey)) + messageOverhead
}

// parseExpiration parses the expiration property as rabbit_basic's
// parse_expiration does (string:to_integer, then check_expiry) and returns
// the TTL in ms, or the Erlang term RabbitMQ prints in its error.
func parseExpiration(s string) (int64, string) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, "no_integer"
	}
	n, err := strconv.ParseInt(s[:j], 10, 64)
	if err != nil { // beyond int64: certainly too big (or too negative)
		if s[0] == '-' {
			return 0, "{value_negative," + s[:j] + "}"
		}
		return 0, "{value_too_big," + strings.TrimPrefix(s[:j], "+") + "}"
	}
	if j < len(s) {
		return 0, `{leftover_string,"` + s[j:] + `"}`
	}
	if e := checkExpiry(n); e != "" {
		return 0, e
	}
	return n, ""
}

// headerRoutes returns the extra routing keys of the CC or BCC header
// (rabbit_basic:header_routes): the longstr elements of an array.
func headerRoutes(h Table, key string) ([]string, *Error) {
	v, ok := h[key]
	if !ok {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, newError(CodePreconditionFailed, `invalid message: {unacceptable_type_in_header,"%s",%s}`, key, typeName(v))
	}
	var out []string
	for _, e := range arr {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out, nil
}
