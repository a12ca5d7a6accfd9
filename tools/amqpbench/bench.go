package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// scenario is one load shape.
type scenario struct {
	name               string
	size               int // body bytes (the first 8 carry the send time)
	pubs, cons, queues int
	n                  int // messages published in all
	persistent, fanout bool
	window, prefetch   int
	timeout            time.Duration
}

// result is what one scenario measured against one broker.
type result struct {
	name      string
	delivered int
	elapsed   time.Duration
	p50, p99  time.Duration
}

func (r result) rate() float64 { return float64(r.delivered) / r.elapsed.Seconds() }

func (r result) String() string {
	return fmt.Sprintf("%-14s %9d deliveries in %6.2fs: %9.0f msg/s  p50 %8v  p99 %8v",
		r.name, r.delivered, r.elapsed.Seconds(), r.rate(), r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond))
}

func queueName(i int) string { return fmt.Sprintf("amqpbench-%d", i) }

const fanoutExchange = "amqpbench-fanout"

// setup declares the scenario's queues (and exchange), empty.
func setup(url string, sc scenario) error {
	c, err := amqp091.Dial(url)
	if err != nil {
		return err
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		return err
	}
	if sc.fanout {
		if err := ch.ExchangeDeclare(fanoutExchange, "fanout", false, false, false, false, nil); err != nil {
			return err
		}
	}
	for i := range sc.queues {
		q := queueName(i)
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			return err
		}
		if _, err := ch.QueueDeclare(q, sc.persistent, false, false, false, nil); err != nil {
			return err
		}
		if sc.fanout {
			if err := ch.QueueBind(q, "", fanoutExchange, false, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// teardown deletes what setup declared.
func teardown(url string, sc scenario) {
	c, err := amqp091.Dial(url)
	if err != nil {
		return
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		return
	}
	for i := range sc.queues {
		ch.QueueDelete(queueName(i), false, false, false)
	}
	if sc.fanout {
		ch.ExchangeDelete(fanoutExchange, false, false)
	}
}

// run measures one scenario against the broker at url.
func run(url string, sc scenario) (result, error) {
	if err := setup(url, sc); err != nil {
		return result{}, fmt.Errorf("setup: %w", err)
	}
	defer teardown(url, sc)
	copies := 1
	if sc.fanout {
		copies = sc.queues
	}
	want := sc.n * copies
	// window bounds what is in flight: a publisher puts a token per copy
	// before publishing, each delivery takes one out, so latency measures
	// the broker rather than a backlog.
	window := make(chan struct{}, sc.window*sc.pubs*copies)
	ctx, cancel := context.WithTimeout(context.Background(), sc.timeout)
	defer cancel()

	var conns []*amqp091.Connection
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	open := func() (*amqp091.Channel, error) {
		c, err := amqp091.Dial(url)
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
		return c.Channel()
	}

	var delivered atomic.Int64
	allDone := make(chan struct{})
	var doneOnce sync.Once
	lats := make([][]int64, sc.cons)
	var wg sync.WaitGroup
	errc := make(chan error, sc.pubs+sc.cons)
	for i := range sc.cons {
		ch, err := open()
		if err != nil {
			return result{}, err
		}
		manual := sc.persistent
		if manual {
			if err := ch.Qos(sc.prefetch, 0, false); err != nil {
				return result{}, err
			}
		}
		d, err := ch.Consume(queueName(i%sc.queues), "", !manual, false, false, false, nil)
		if err != nil {
			return result{}, err
		}
		lats[i] = make([]int64, 0, want/sc.cons+sc.window)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			n := 0
			for {
				select {
				case m, ok := <-d:
					if !ok {
						return
					}
					now := time.Now().UnixNano()
					lats[i] = append(lats[i], now-int64(binary.LittleEndian.Uint64(m.Body)))
					<-window
					n++
					if manual && n%16 == 0 {
						if err := m.Ack(true); err != nil {
							errc <- err
							return
						}
					}
					if delivered.Add(1) == int64(want) {
						doneOnce.Do(func() { close(allDone) })
					}
				case <-allDone:
					return
				case <-ctx.Done():
					return
				}
			}
		}(i)
	}

	start := time.Now()
	for p := range sc.pubs {
		ch, err := open()
		if err != nil {
			return result{}, err
		}
		var confirms chan amqp091.Confirmation
		if sc.persistent {
			if err := ch.Confirm(false); err != nil {
				return result{}, err
			}
			confirms = ch.NotifyPublish(make(chan amqp091.Confirmation, sc.window+1))
		}
		count := sc.n / sc.pubs
		if p < sc.n%sc.pubs {
			count++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := publishLoop(ctx, ch, sc, count, copies, window, confirms); err != nil {
				errc <- err
			}
		}()
	}

	var err error
	select {
	case <-allDone:
	case err = <-errc:
	case <-ctx.Done():
		err = fmt.Errorf("timed out with %d of %d delivered", delivered.Load(), want)
	}
	elapsed := time.Since(start)
	cancel()
	// Consumers blocked on a token-less window and publishers blocked on
	// the window end with ctx; closing connections ends the rest.
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	wg.Wait()
	if err != nil {
		return result{}, err
	}
	var all []int64
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return time.Duration(all[int(p*float64(len(all)-1))]) }
	return result{name: sc.name, delivered: int(delivered.Load()), elapsed: elapsed, p50: pct(0.50), p99: pct(0.99)}, nil
}

// publishLoop publishes count messages, each preceded by its window
// tokens; with confirms, at most sc.window await their ack.
func publishLoop(ctx context.Context, ch *amqp091.Channel, sc scenario, count, copies int, window chan struct{}, confirms chan amqp091.Confirmation) error {
	body := make([]byte, sc.size)
	exchange, key := "", queueName(0)
	if sc.fanout {
		exchange, key = fanoutExchange, ""
	}
	mode := amqp091.Transient
	if sc.persistent {
		mode = amqp091.Persistent
	}
	outstanding := 0
	awaitConfirm := func() error {
		select {
		case c, ok := <-confirms:
			if !ok {
				return errors.New("channel closed while waiting for confirms")
			}
			if !c.Ack {
				return fmt.Errorf("publish %d nacked", c.DeliveryTag)
			}
			outstanding--
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for range count {
		for range copies {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
		}
		if confirms != nil && outstanding >= sc.window {
			if err := awaitConfirm(); err != nil {
				return err
			}
		}
		binary.LittleEndian.PutUint64(body, uint64(time.Now().UnixNano()))
		if err := ch.PublishWithContext(ctx, exchange, key, false, false,
			amqp091.Publishing{DeliveryMode: mode, Body: body}); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		outstanding++
	}
	for confirms != nil && outstanding > 0 {
		if err := awaitConfirm(); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// fillForMemory publishes n transient messages of size bytes to one queue
// with no consumer, waiting until the broker reports them all queued.
func fillForMemory(url string, n, size int) error {
	sc := scenario{queues: 1}
	if err := setup(url, sc); err != nil {
		return err
	}
	c, err := amqp091.Dial(url)
	if err != nil {
		return err
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return err
	}
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 2048))
	body := make([]byte, size)
	outstanding := 0
	for i := range n {
		binary.LittleEndian.PutUint64(body, uint64(i))
		if err := ch.PublishWithContext(context.Background(), "", queueName(0), false, false, amqp091.Publishing{Body: body}); err != nil {
			return err
		}
		outstanding++
		for outstanding >= 1024 {
			if cf := <-confirms; !cf.Ack {
				return errors.New("nacked")
			}
			outstanding--
		}
	}
	for ; outstanding > 0; outstanding-- {
		<-confirms
	}
	q, err := ch.QueueDeclarePassive(queueName(0), false, false, false, false, nil)
	if err != nil {
		return err
	}
	if q.Messages != n {
		return fmt.Errorf("%d messages queued, want %d", q.Messages, n)
	}
	return nil
}
