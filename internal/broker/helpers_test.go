package broker

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// testCodec encodes properties as JSON, standing in for the wire codec.
type testCodec struct{}

type testProps struct {
	DeliveryMode uint8          `json:"dm,omitempty"`
	Priority     uint8          `json:"pr,omitempty"`
	Expiration   *string        `json:"exp,omitempty"`
	UserID       *string        `json:"uid,omitempty"`
	Headers      map[string]any `json:"h,omitempty"`
	ReplyTo      string         `json:"rt,omitempty"`
}

func encodeProps(p Properties) []byte {
	tp := testProps{DeliveryMode: p.DeliveryMode, Priority: p.Priority}
	if p.HasExpiration {
		tp.Expiration = &p.Expiration
	}
	if p.HasUserID {
		tp.UserID = &p.UserID
	}
	if p.Headers != nil {
		tp.Headers = encodeTable(p.Headers)
	}
	b, _ := json.Marshal(tp)
	return b
}

func (testCodec) Decode(props []byte) (Properties, error) {
	var tp testProps
	if err := json.Unmarshal(props, &tp); err != nil {
		return Properties{}, err
	}
	p := Properties{DeliveryMode: tp.DeliveryMode, Priority: tp.Priority}
	if tp.Expiration != nil {
		p.Expiration, p.HasExpiration = *tp.Expiration, true
	}
	if tp.UserID != nil {
		p.UserID, p.HasUserID = *tp.UserID, true
	}
	if tp.Headers != nil {
		// Round-trip through JSON numbers as definitions do.
		raw, _ := json.Marshal(tp.Headers)
		var m map[string]any
		dec := json.NewDecoder(bytesReader(raw))
		dec.UseNumber()
		dec.Decode(&m)
		h, err := decodeTable(m)
		if err != nil {
			return p, err
		}
		p.Headers = h
	}
	return p, nil
}

func (c testCodec) Rewrite(props []byte, headers Table, dropExpiration bool) ([]byte, error) {
	p, err := c.Decode(props)
	if err != nil {
		return nil, err
	}
	p.Headers = headers
	if dropExpiration {
		p.Expiration, p.HasExpiration = "", false
	}
	return encodeProps(p), nil
}

// event is one thing a recSink was told.
type event struct {
	kind     string // deliver, get, return, confirm, consume-ok, cancel
	d        Delivery
	seq      uint64
	multiple bool
	nack     bool
	tag      string
	code     uint16
	text     string
}

// recSink records everything sent to a channel.
type recSink struct {
	mu     sync.Mutex
	events []event
	limit  int // Deliver returns false once this many deliveries are held (0: no limit)
	held   int
	signal chan struct{}
}

func newSink() *recSink { return &recSink{signal: make(chan struct{}, 1)} }

func (s *recSink) add(e event) {
	s.events = append(s.events, e)
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *recSink) Deliver(d *Delivery) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := "deliver"
	if d.Get {
		k = "get"
	}
	s.add(event{kind: k, d: *d})
	s.held++
	return s.limit == 0 || s.held < s.limit
}

func (s *recSink) Return(m *Message, code uint16, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(event{kind: "return", d: Delivery{Exchange: m.Exchange, RoutingKey: m.RoutingKey, Body: m.Body, Message: m}, code: code, text: text})
}

func (s *recSink) Confirm(seq uint64, multiple, nack bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(event{kind: "confirm", seq: seq, multiple: multiple, nack: nack})
}

func (s *recSink) ConsumeOk(tag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(event{kind: "consume-ok", tag: tag})
}

func (s *recSink) Cancel(tag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(event{kind: "cancel", tag: tag})
}

// take returns and forgets the events recorded so far.
func (s *recSink) take() []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := s.events
	s.events = nil
	return ev
}

// deliveries returns the bodies of recorded deliver/get events (and
// forgets all events).
func (s *recSink) bodies() []string {
	var out []string
	for _, e := range s.take() {
		if e.kind == "deliver" || e.kind == "get" {
			out = append(out, string(e.d.Body))
		}
	}
	return out
}

// waitFor waits until pred holds over the recorded events.
func (s *recSink) waitFor(t *testing.T, what string, pred func([]event) bool) []event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		ok := pred(s.events)
		ev := append([]event(nil), s.events...)
		s.mu.Unlock()
		if ok {
			return ev
		}
		select {
		case <-s.signal:
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; events: %+v", what, ev)
		}
	}
}

func count(ev []event, kind string) int {
	n := 0
	for _, e := range ev {
		if e.kind == kind {
			n++
		}
	}
	return n
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestBroker(t testing.TB, dir string) *Broker {
	t.Helper()
	b, err := New(Config{Dir: dir, Codec: testCodec{}, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// env is a broker with one guest connection and channel.
type env struct {
	t    testing.TB
	b    *Broker
	conn *Conn
	ch   *Channel
	sink *recSink
}

func newEnv(t testing.TB) *env {
	t.Helper()
	b := newTestBroker(t, "")
	t.Cleanup(func() { b.Close() })
	return envFor(t, b)
}

func envFor(t testing.TB, b *Broker) *env {
	t.Helper()
	u, err := b.Authenticate("guest", "guest")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := b.Connect(u, "/", ConnInfo{Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	s := newSink()
	ch, err := conn.OpenChannel(s)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, b: b, conn: conn, ch: ch, sink: s}
}

// newChannel opens another channel on the same connection.
func (e *env) newChannel() (*Channel, *recSink) {
	s := newSink()
	ch, err := e.conn.OpenChannel(s)
	if err != nil {
		e.t.Fatal(err)
	}
	return ch, s
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) declare(name string, args Table) string {
	e.t.Helper()
	ok, err := e.ch.QueueDeclare(QueueDeclare{Name: name, Args: args})
	e.must(err)
	return ok.Name
}

func msg(exchange, key, body string) *Message {
	return &Message{Exchange: exchange, RoutingKey: key, Body: []byte(body), Props: encodeProps(Properties{})}
}

func msgWith(exchange, key, body string, p Properties) *Message {
	return &Message{Exchange: exchange, RoutingKey: key, Body: []byte(body), Props: encodeProps(p), Properties: p}
}

func (e *env) publish(exchange, key, body string) {
	e.t.Helper()
	e.must(e.ch.Publish(msg(exchange, key, body), false, false))
}

// wantErr checks err is a broker *Error with code and exact text.
func wantErr(t testing.TB, err error, code uint16, text string) {
	t.Helper()
	var be *Error
	if !errors.As(err, &be) {
		t.Fatalf("error = %v, want %d %q", err, code, text)
	}
	if be.Code != code || be.Text != text {
		t.Fatalf("error = %d %q\n want  %d %q", be.Code, be.Text, code, text)
	}
}

func (e *env) queueLen(name string) int {
	e.t.Helper()
	ok, err := e.ch.QueueDeclare(QueueDeclare{Name: name, Passive: true})
	e.must(err)
	return int(ok.Messages)
}

func bytesReader(b []byte) io.Reader { return &sliceReader{b: b} }

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func asError(err error, target **Error) bool { return errors.As(err, target) }
