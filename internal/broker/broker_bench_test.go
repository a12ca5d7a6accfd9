package broker

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// nullSink accepts everything and remembers only the last delivery tag.
type nullSink struct {
	lastTag   atomic.Uint64
	delivered atomic.Uint64
	confirmed atomic.Uint64
	confirmCh chan uint64
}

func (s *nullSink) Deliver(d *Delivery) bool {
	s.lastTag.Store(d.DeliveryTag)
	s.delivered.Add(1)
	return true
}
func (s *nullSink) Return(*Message, uint16, string) {}
func (s *nullSink) Confirm(seq uint64, multiple, nack bool) {
	s.confirmed.Store(seq)
	if s.confirmCh != nil {
		select {
		case s.confirmCh <- seq:
		default:
		}
	}
}
func (s *nullSink) ConsumeOk(string) {}
func (s *nullSink) Cancel(string)    {}

func benchBroker(b *testing.B, dir string) (*Broker, func(Sink) *Channel) {
	br, err := New(Config{Dir: dir, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	u, _ := br.Authenticate("guest", "guest")
	conn, err := br.Connect(u, "/", ConnInfo{})
	if err != nil {
		b.Fatal(err)
	}
	return br, func(s Sink) *Channel {
		ch, err := conn.OpenChannel(s)
		if err != nil {
			b.Fatal(err)
		}
		return ch
	}
}

var benchBody = make([]byte, 16)

// BenchmarkPublishDeliverAck is the broker's share of one transient
// message through one queue to one consumer: publish (routed by the
// default exchange, delivered straight to the waiting consumer) and ack.
// The Message allocation is the front end's, included because it is
// unavoidable.
func BenchmarkPublishDeliverAck(b *testing.B) {
	_, open := benchBroker(b, "")
	sink := &nullSink{}
	ch := open(sink)
	if _, err := ch.QueueDeclare(QueueDeclare{Name: "q"}); err != nil {
		b.Fatal(err)
	}
	if _, err := ch.Consume(ConsumeArgs{Queue: "q"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		m := &Message{RoutingKey: "q", Body: benchBody}
		if err := ch.Publish(m, false, false); err != nil {
			b.Fatal(err)
		}
		if err := ch.Ack(sink.lastTag.Load(), false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishDeliverAckParallel runs publisher and consumer on
// separate goroutines (as two connections would), the consumer acking
// every delivery with prefetch 100.
func BenchmarkPublishDeliverAckParallel(b *testing.B) {
	_, open := benchBroker(b, "")
	pub := open(&nullSink{})
	csink := &countingSink{tags: make(chan uint64, 1024)}
	cons := open(csink)
	if _, err := pub.QueueDeclare(QueueDeclare{Name: "q"}); err != nil {
		b.Fatal(err)
	}
	cons.Qos(0, 100, false)
	if _, err := cons.Consume(ConsumeArgs{Queue: "q"}); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; n < b.N; n++ {
			tag := <-csink.tags
			cons.Ack(tag, false)
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		pub.Publish(&Message{RoutingKey: "q", Body: benchBody}, false, false)
	}
	wg.Wait()
}

// countingSink hands delivery tags to a consumer goroutine.
type countingSink struct {
	nullSink
	tags chan uint64
}

func (s *countingSink) Deliver(d *Delivery) bool {
	s.tags <- d.DeliveryTag
	return true
}

// BenchmarkFanout8 publishes to a fanout exchange bound to 8 queues, each
// with a no-ack consumer.
func BenchmarkFanout8(b *testing.B) {
	_, open := benchBroker(b, "")
	sink := &nullSink{}
	ch := open(sink)
	for i := 0; i < 8; i++ {
		name := fmt.Sprintf("f%d", i)
		ch.QueueDeclare(QueueDeclare{Name: name})
		ch.QueueBind(name, "amq.fanout", "", nil)
		if _, err := ch.Consume(ConsumeArgs{Queue: name, NoAck: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	done := reportCPU(b)
	for i := 0; i < b.N; i++ {
		ch.Publish(&Message{Exchange: "amq.fanout", Body: benchBody}, false, false)
	}
	b.StopTimer()
	done()
	if sink.delivered.Load() != uint64(8*b.N) {
		b.Fatalf("delivered %d of %d", sink.delivered.Load(), 8*b.N)
	}
}

// BenchmarkTopic10kBindings publishes through a topic exchange holding
// 10,000 bindings (1,000 queues × 10 patterns) to no-ack consumers.
func BenchmarkTopic10kBindings(b *testing.B) {
	_, open := benchBroker(b, "")
	sink := &nullSink{}
	ch := open(sink)
	regions := []string{"eu", "us", "asia", "sa"}
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("t%d", i)
		ch.QueueDeclare(QueueDeclare{Name: name})
		ch.Consume(ConsumeArgs{Queue: name, NoAck: true})
		for k := 0; k < 10; k++ {
			var p string
			switch k {
			case 0:
				p = fmt.Sprintf("quote.%s.*.sym%d", regions[i%4], i)
			case 1:
				p = fmt.Sprintf("#.sym%d.%d", i, k)
			default:
				p = fmt.Sprintf("quote.%s.x%d.sym%d", regions[(i+k)%4], k, i)
			}
			if err := ch.QueueBind(name, "amq.topic", p, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprintf("quote.%s.x%d.sym%d", regions[(i*7)%4], i%10, i*13)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		ch.Publish(&Message{Exchange: "amq.topic", RoutingKey: keys[i%len(keys)], Body: benchBody}, false, false)
	}
}

// BenchmarkPersistentConfirm is persistent publishing with confirms to a
// durable queue: 8 publisher channels, each keeping up to 64 publishes
// unconfirmed, with a consumer acking everything (so the store reclaims
// segments). Reports messages and fsyncs per second.
func BenchmarkPersistentConfirm(b *testing.B) {
	br, open := benchBroker(b, b.TempDir())
	setup := open(&nullSink{})
	if _, err := setup.QueueDeclare(QueueDeclare{Name: "dq", Durable: true}); err != nil {
		b.Fatal(err)
	}
	csink := &countingSink{tags: make(chan uint64, 4096)}
	cons := open(csink)
	cons.Qos(0, 1000, false)
	if _, err := cons.Consume(ConsumeArgs{Queue: "dq"}); err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 1024)
	const publishers, window = 8, 64
	var consumed sync.WaitGroup
	consumed.Add(1)
	go func() {
		defer consumed.Done()
		for n := 0; n < b.N; n++ {
			cons.Ack(<-csink.tags, false)
		}
	}()
	f0 := br.Stats().Store.Fsyncs
	start := time.Now()
	b.ResetTimer()
	defer reportCPU(b)()
	var wg sync.WaitGroup
	per := b.N / publishers
	for p := 0; p < publishers; p++ {
		n := per
		if p == 0 {
			n += b.N % publishers
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sink := &nullSink{confirmCh: make(chan uint64, 1)}
			ch := open(sink)
			ch.ConfirmSelect()
			for i := 1; i <= n; i++ {
				for uint64(i)-sink.confirmed.Load() > window {
					<-sink.confirmCh
				}
				m := &Message{RoutingKey: "dq", Body: body, Properties: Properties{DeliveryMode: 2}}
				if err := ch.Publish(m, false, false); err != nil {
					b.Error(err)
					return
				}
			}
			for sink.confirmed.Load() < uint64(n) {
				select {
				case <-sink.confirmCh:
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
	}
	wg.Wait()
	consumed.Wait()
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/el, "msgs/s")
	b.ReportMetric(float64(br.Stats().Store.Fsyncs-f0)/el, "fsyncs/s")
}
