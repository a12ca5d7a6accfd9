package amqp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"ferry/internal/broker"
	"ferry/internal/netsrv"
	"ferry/internal/proto/amqp/wire"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// testServer is a live AMQP listener on 127.0.0.1:0 over a fresh broker.
type testServer struct {
	srv  *Server
	b    *broker.Broker
	ln   *netsrv.Server
	addr string
}

// url returns the AMQP URL for user/password guest.
func (ts *testServer) url() string { return "amqp://guest:guest@" + ts.addr + "/" }

type serverOpt func(*Config, *broker.Config)

func withBrokerDir(dir string) serverOpt {
	return func(_ *Config, bc *broker.Config) { bc.Dir = dir }
}

func startServer(t testing.TB, opts ...serverOpt) *testServer {
	t.Helper()
	cfg := Config{AuthFailureDelay: 50 * time.Millisecond, Logger: testLogger(t)}
	bcfg := broker.Config{Codec: PropsCodec{}, Logger: cfg.Logger}
	for _, o := range opts {
		o(&cfg, &bcfg)
	}
	ts := &testServer{}
	prevAlarm := bcfg.OnMemoryAlarm
	bcfg.OnMemoryAlarm = func(on bool) {
		if prevAlarm != nil {
			prevAlarm(on)
		}
		if ts.srv != nil {
			ts.srv.MemoryAlarm(on)
		}
	}
	b, err := broker.New(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.b = b
	ts.srv = New(b, cfg)
	ln, err := netsrv.Listen(netsrv.Config{Name: "amqp", Addr: "127.0.0.1:0", Logger: cfg.Logger}, ts.srv)
	if err != nil {
		t.Fatal(err)
	}
	ts.ln = ln
	ts.addr = ln.Addr().String()
	go ln.Serve()
	t.Cleanup(func() {
		ln.Close(5 * time.Second)
		b.Close()
	})
	return ts
}

// testLogger sends logs to the test log (shown on failure only).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// dial opens an amqp091-go connection and closes it at cleanup.
func dial(t testing.TB, ts *testServer) *amqp091.Connection {
	t.Helper()
	c, err := amqp091.DialConfig(ts.url(), amqp091.Config{Heartbeat: 10 * time.Second, Locale: "en_US"})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// channel opens a channel on a new connection.
func openChannel(t testing.TB, ts *testServer) (*amqp091.Connection, *amqp091.Channel) {
	t.Helper()
	c := dial(t, ts)
	ch, err := c.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	return c, ch
}

// recv waits for one delivery.
func recv(t testing.TB, d <-chan amqp091.Delivery) amqp091.Delivery {
	t.Helper()
	select {
	case m, ok := <-d:
		if !ok {
			t.Fatal("delivery channel closed")
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a delivery")
	}
	return amqp091.Delivery{}
}

// noDelivery checks that nothing arrives for a moment.
func noDelivery(t testing.TB, d <-chan amqp091.Delivery) {
	t.Helper()
	select {
	case m := <-d:
		t.Fatalf("unexpected delivery %q", m.Body)
	case <-time.After(100 * time.Millisecond):
	}
}

// amqpErr extracts the *amqp091.Error from err.
func amqpErr(t testing.TB, err error) *amqp091.Error {
	t.Helper()
	e, ok := err.(*amqp091.Error)
	if !ok {
		t.Fatalf("error %v (%T) is not an *amqp091.Error", err, err)
	}
	return e
}

// rawConn is a hand-driven client for protocol violations: it speaks bytes
// and reads frames.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(t testing.TB, ts *testServer) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (rc *rawConn) send(b []byte) {
	rc.t.Helper()
	if _, err := rc.nc.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

func (rc *rawConn) method(ch uint16, m wire.Method) {
	rc.t.Helper()
	rc.send(wire.AppendMethodFrame(nil, ch, m))
}

// frame reads one frame; io errors fail the test.
func (rc *rawConn) frame() (typ uint8, ch uint16, payload []byte) {
	rc.t.Helper()
	typ, ch, payload, err := rc.tryFrame()
	if err != nil {
		rc.t.Fatalf("reading a frame: %v", err)
	}
	return typ, ch, payload
}

func (rc *rawConn) tryFrame() (typ uint8, ch uint16, payload []byte, err error) {
	var h [7]byte
	if _, err = io.ReadFull(rc.r, h[:]); err != nil {
		return
	}
	size := binary.BigEndian.Uint32(h[3:])
	buf := make([]byte, size+1)
	if _, err = io.ReadFull(rc.r, buf); err != nil {
		return
	}
	if buf[size] != wire.FrameEnd {
		rc.t.Fatalf("bad frame end %d", buf[size])
	}
	return h[0], binary.BigEndian.Uint16(h[1:]), buf[:size], nil
}

// readMethod reads frames until a method frame (skipping heartbeats) and
// decodes it.
func (rc *rawConn) readMethod() (uint16, wire.Method) {
	rc.t.Helper()
	for {
		typ, ch, p := rc.frame()
		if typ == wire.FrameHeartbeat {
			continue
		}
		if typ != wire.FrameMethod {
			rc.t.Fatalf("frame type %d, want a method", typ)
		}
		k := wire.MethodKey(binary.BigEndian.Uint32(p))
		m, err := wire.DecodeMethod(k.ClassID(), k.MethodID(), p[4:])
		if err != nil {
			rc.t.Fatalf("decode %v: %v", k, err)
		}
		return ch, m
	}
}

// expectEOF checks that the server closes the socket.
func (rc *rawConn) expectEOF() {
	rc.t.Helper()
	for {
		typ, _, _, err := rc.tryFrame()
		if err != nil {
			return
		}
		if typ != wire.FrameHeartbeat {
			rc.t.Fatalf("frame type %d before the socket closed", typ)
		}
	}
}

// handshake performs the client handshake (PLAIN guest/guest) with the
// given tune-ok, then opens vhost "/".
func (rc *rawConn) handshake(tune wire.ConnectionTuneOk, caps wire.Table) {
	rc.t.Helper()
	rc.send(wire.ProtocolHeader)
	if _, m := rc.readMethod(); m.Key() != wire.KeyConnectionStart {
		rc.t.Fatalf("got %v, want connection.start", m.Key())
	}
	props := wire.Table{}
	if caps != nil {
		props["capabilities"] = caps
	}
	rc.method(0, &wire.ConnectionStartOk{ClientProperties: props, Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
	if _, m := rc.readMethod(); m.Key() != wire.KeyConnectionTune {
		rc.t.Fatalf("got %v, want connection.tune", m.Key())
	}
	rc.method(0, &tune)
	rc.method(0, &wire.ConnectionOpen{VirtualHost: "/"})
	if _, m := rc.readMethod(); m.Key() != wire.KeyConnectionOpenOk {
		rc.t.Fatalf("got %v, want connection.open-ok", m.Key())
	}
}

// openRaw performs the handshake without heartbeats and opens channel 1.
func openRaw(t testing.TB, ts *testServer) *rawConn {
	rc := dialRaw(t, ts)
	rc.handshake(wire.ConnectionTuneOk{ChannelMax: 2047, FrameMax: 131072}, nil)
	rc.method(1, &wire.ChannelOpen{})
	if ch, m := rc.readMethod(); ch != 1 || m.Key() != wire.KeyChannelOpenOk {
		t.Fatalf("got %v on %d, want channel.open-ok", m.Key(), ch)
	}
	return rc
}

// expectConnClose reads until connection.close and checks its code and
// text, then answers close-ok.
func (rc *rawConn) expectConnClose(code uint16, text string, key wire.MethodKey) {
	rc.t.Helper()
	for {
		ch, m := rc.readMethod()
		cl, ok := m.(*wire.ConnectionClose)
		if !ok {
			continue
		}
		if ch != 0 || cl.ReplyCode != code || cl.ReplyText != text || wire.Key(cl.ClassID, cl.MethodID) != key {
			rc.t.Fatalf("connection.close %d %q %v, want %d %q %v", cl.ReplyCode, cl.ReplyText,
				wire.Key(cl.ClassID, cl.MethodID), code, text, key)
		}
		rc.method(0, &wire.ConnectionCloseOk{})
		return
	}
}

// expectChanClose reads until channel.close on ch and checks it.
func (rc *rawConn) expectChanClose(id uint16, code uint16, text string, key wire.MethodKey) {
	rc.t.Helper()
	for {
		ch, m := rc.readMethod()
		cl, ok := m.(*wire.ChannelClose)
		if !ok {
			continue
		}
		if ch != id || cl.ReplyCode != code || cl.ReplyText != text || wire.Key(cl.ClassID, cl.MethodID) != key {
			rc.t.Fatalf("channel.close on %d: %d %q %v, want on %d: %d %q %v", ch, cl.ReplyCode, cl.ReplyText,
				wire.Key(cl.ClassID, cl.MethodID), id, code, text, key)
		}
		return
	}
}
