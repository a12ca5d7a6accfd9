package broker

import (
	"sync"
	"testing"
)

// The two benchmarks below are the experiment behind the queue's
// concurrency design (docs/dev/amqp-broker.md): a message handed from a
// publisher goroutine to a consumer goroutine through a queue, and acked
// back, either under the queue's mutex by the callers' own goroutines (what
// Queue does) or by sending both to a goroutine that owns the queue (the
// Erlang-process shape of RabbitMQ, and of many Go brokers).

type modelQueue struct {
	mu    sync.Mutex
	ready deque[entry]
	tag   uint64
	unack int
}

// modelSink is the consumer connection's output buffer: appends never
// block, and the connection's goroutine takes the whole buffer at once.
type modelSink struct {
	mu   sync.Mutex
	buf  []uint64
	wake chan struct{}
}

func (s *modelSink) deliver(tag uint64) {
	s.mu.Lock()
	s.buf = append(s.buf, tag)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func BenchmarkDesignQueueMutex(b *testing.B) {
	q := &modelQueue{}
	sink := &modelSink{wake: make(chan struct{}, 1)}
	m := &Message{}
	done := make(chan struct{})
	go func() { // consumer: drains its buffer, acks under the queue lock
		var batch []uint64
		for n := 0; n < b.N; {
			<-sink.wake
			sink.mu.Lock()
			batch, sink.buf = sink.buf, batch[:0]
			sink.mu.Unlock()
			for range batch {
				q.mu.Lock()
				q.unack--
				q.mu.Unlock()
				n++
			}
		}
		close(done)
	}()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		q.mu.Lock()
		q.ready.pushBack(entry{m: m})
		q.ready.popFront()
		q.tag++
		q.unack++
		sink.deliver(q.tag)
		q.mu.Unlock()
	}
	<-done
}

func BenchmarkDesignQueueGoroutine(b *testing.B) {
	in := make(chan *Message, 1024)
	acks := make(chan uint64, 1024)
	out := make(chan uint64, 1024)
	done := make(chan struct{})
	go func() { // the queue's goroutine owns its state
		var ready deque[entry]
		var tag uint64
		unack := 0
		for got, acked := 0, 0; got < b.N || acked < b.N; {
			select {
			case m := <-in:
				got++
				ready.pushBack(entry{m: m})
				ready.popFront()
				tag++
				unack++
				out <- tag
			case <-acks:
				acked++
				unack--
			}
		}
		close(done)
	}()
	go func() { // consumer
		for n := 0; n < b.N; n++ {
			acks <- <-out
		}
	}()
	m := &Message{}
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		in <- m
	}
	<-done
}
