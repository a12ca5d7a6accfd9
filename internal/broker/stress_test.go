package broker

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"
)

// tagSink feeds delivery tags to the goroutine owning the channel.
type tagSink struct {
	nullSink
	mu   sync.Mutex
	tags []uint64
}

func (s *tagSink) Deliver(d *Delivery) bool {
	s.mu.Lock()
	if !d.Get {
		s.tags = append(s.tags, d.DeliveryTag)
	}
	s.mu.Unlock()
	return true
}

func (s *tagSink) take() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tags
	s.tags = nil
	return t
}

// TestConcurrentStress runs publishers, consumers that ack, nack, requeue
// and cancel, channel closes and queue churn at once (under -race), then
// checks nothing deadlocked and every message is accounted for: the
// memory total returns to zero once the queues are deleted.
func TestConcurrentStress(t *testing.T) {
	b := newTestBroker(t, t.TempDir())
	defer b.Close()
	setup := envFor(t, b)
	setup.must(setup.ch.ExchangeDeclare(ExchangeDeclare{Name: "fx", Type: "fanout"}))
	setup.must(setup.ch.ExchangeDeclare(ExchangeDeclare{Name: "dlx", Type: "fanout"}))
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("s%d", i)
		_, err := setup.ch.QueueDeclare(QueueDeclare{Name: name, Durable: i%2 == 0,
			Args: Table{"x-dead-letter-exchange": "dlx", "x-max-length": int32(500), "x-message-ttl": int32(200)}})
		setup.must(err)
		setup.must(setup.ch.QueueBind(name, "fx", "", nil))
	}
	setup.declare("dead", Table{"x-max-length": int32(100)})
	setup.must(setup.ch.QueueBind("dead", "dlx", "", nil))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := 0; p < 3; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			e := envFor(t, b)
			if p == 0 {
				e.ch.ConfirmSelect()
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					e.conn.Close()
					return
				default:
				}
				m := msgWith("fx", "", "x", Properties{DeliveryMode: uint8(1 + i%2), Priority: uint8(i % 3)})
				if err := e.ch.Publish(m, i%5 == 0, false); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}(p)
	}
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(c)))
			for round := 0; ; round++ {
				select {
				case <-stop:
					return
				default:
				}
				u, _ := b.Authenticate("guest", "guest")
				conn, _ := b.Connect(u, "/", ConnInfo{})
				sink := &tagSink{}
				ch, _ := conn.OpenChannel(sink)
				ch.Qos(0, uint16(1+r.Intn(20)), r.Intn(2) == 0)
				q := fmt.Sprintf("s%d", r.Intn(4))
				tag, err := ch.Consume(ConsumeArgs{Queue: q, NoAck: r.Intn(4) == 0})
				if err != nil {
					t.Error(err)
					return
				}
				deadline := time.Now().Add(time.Duration(5+r.Intn(20)) * time.Millisecond)
				for time.Now().Before(deadline) {
					for _, tg := range sink.take() {
						switch r.Intn(6) {
						case 0:
							ch.Nack(tg, false, true)
						case 1:
							ch.Reject(tg, false)
						case 2:
							// leave unacked: requeued at close
						default:
							ch.Ack(tg, false)
						}
					}
					if r.Intn(10) == 0 {
						ch.Get("dead", true)
					}
					time.Sleep(time.Millisecond)
				}
				if r.Intn(2) == 0 {
					ch.Cancel(tag)
				}
				conn.Close()
			}
		}(c)
	}
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("deadlock: workers did not stop")
	}
	st := b.Stats()
	t.Logf("published %d delivered %d acked %d dead-lettered %d, memory %d", st.Published, st.Delivered, st.Acked, st.DeadLettered, st.Memory)
	for _, q := range []string{"s0", "s1", "s2", "s3", "dead"} {
		if _, err := setup.ch.QueueDelete(q, false, false); err != nil {
			t.Fatal(err)
		}
	}
	if m := b.Memory(); m != 0 {
		t.Fatalf("memory %d after deleting every queue", m)
	}
	if err := b.store.Sync(); err != nil {
		t.Fatal(err)
	}
	if n := b.Stats().Store.LiveMessages; n != 0 {
		t.Fatalf("store holds %d messages after deleting every queue", n)
	}
}
