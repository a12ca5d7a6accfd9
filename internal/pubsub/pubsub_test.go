package pubsub

import (
	"fmt"
	"sync"
	"testing"
)

type rec struct {
	mu      sync.Mutex
	got     []string
	queued  int // delivered, not yet flushed
	flushed int
}

func (r *rec) Deliver(m *Message) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("%d|%s|%s|%s", m.Kind, m.Pattern, m.Channel, m.Payload))
	r.queued++
	return r.queued == 1
}

func (r *rec) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushed += r.queued
	r.queued = 0
}

func TestPublishRouting(t *testing.T) {
	h := NewHub()
	a, b := &rec{}, &rec{}
	h.Subscribe(a, "news.art")
	h.PSubscribe(a, "news.*")
	h.PSubscribe(b, "n?ws.[a-c]*")
	h.SSubscribe(b, "shard")
	if n := h.Publish(nil, []byte("news.art"), []byte("hi")); n != 3 {
		t.Fatalf("Publish reached %d, want 3 (channel + two patterns)", n)
	}
	if n := h.Publish(nil, []byte("other"), []byte("x")); n != 0 {
		t.Fatalf("Publish to nobody reached %d", n)
	}
	if n := h.SPublish(nil, []byte("shard"), []byte("s")); n != 1 {
		t.Fatalf("SPublish reached %d", n)
	}
	if len(a.got) != 2 || len(b.got) != 2 {
		t.Fatalf("a=%v b=%v", a.got, b.got)
	}
	ch, pat, sh := h.Counts()
	if ch != 1 || pat != 2 || sh != 1 || h.NumPat() != 2 || h.NumSub("news.art", false) != 1 {
		t.Fatalf("counts %d %d %d", ch, pat, sh)
	}
	// A second subscriber of a pattern does not add a pattern (Redis 7.0).
	h.PSubscribe(b, "news.*")
	if h.NumPat() != 2 {
		t.Fatalf("NumPat %d after a second subscriber of news.*, want 2", h.NumPat())
	}
	h.PUnsubscribe(b, "news.*")
	if got := h.Channels([]byte("news*"), false); len(got) != 1 || got[0] != "news.art" {
		t.Fatalf("Channels %v", got)
	}
	h.Unsubscribe(a, "news.art")
	h.PUnsubscribe(a, "news.*")
	h.PUnsubscribe(b, "n?ws.[a-c]*")
	h.SUnsubscribe(b, "shard")
	if ch, pat, sh := h.Counts(); ch+pat+sh != 0 || h.HasSubscribers() {
		t.Fatalf("leftovers %d %d %d", ch, pat, sh)
	}
}

func TestConcurrentChurn(t *testing.T) {
	h := NewHub()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			s := &rec{}
			for i := 0; i < 500; i++ {
				ch := fmt.Sprintf("c%d", i%37)
				h.Subscribe(s, ch)
				h.PSubscribe(s, "c1*")
				h.Publish(nil, []byte(ch), []byte("m"))
				h.Unsubscribe(s, ch)
				h.PUnsubscribe(s, "c1*")
			}
		}(g)
	}
	wg.Wait()
	if ch, pat, sh := h.Counts(); ch+pat+sh != 0 {
		t.Fatalf("leak: %d %d %d", ch, pat, sh)
	}
}

// TestBatchFlushesOncePerSubscriber: with a publisher's Batch, every
// subscriber is flushed once at the end of the batch, not per message;
// without one, before Publish returns.
func TestBatchFlushesOncePerSubscriber(t *testing.T) {
	h := NewHub()
	a, b := &rec{}, &rec{}
	h.Subscribe(a, "c")
	h.PSubscribe(a, "c*")
	h.Subscribe(b, "c")
	var batch Batch
	for i := 0; i < 10; i++ {
		if n := h.Publish(&batch, []byte("c"), []byte("m")); n != 3 {
			t.Fatalf("Publish reached %d", n)
		}
	}
	if a.flushed != 0 || b.flushed != 0 || len(batch.pending) != 2 || !batch.Pending() {
		t.Fatalf("before Flush: a %d b %d flushed, %d pending", a.flushed, b.flushed, len(batch.pending))
	}
	batch.Flush()
	if a.flushed != 20 || b.flushed != 10 || batch.Pending() {
		t.Fatalf("after Flush: a %d b %d flushed", a.flushed, b.flushed)
	}
	h.Publish(nil, []byte("c"), []byte("m"))
	if a.flushed != 22 || b.flushed != 11 {
		t.Fatalf("unbatched publish: a %d b %d flushed", a.flushed, b.flushed)
	}
	if len(a.got) != 22 || a.got[0] != "0||c|m" || a.got[1] != "1|c*|c|m" {
		t.Fatalf("a got %q", a.got[:2])
	}
}
