package pubsub

import (
	"fmt"
	"sync"
	"testing"
)

type rec struct {
	mu  sync.Mutex
	got []string
}

func (r *rec) Deliver(kind Kind, pattern, channel, message []byte) {
	r.mu.Lock()
	r.got = append(r.got, fmt.Sprintf("%d|%s|%s|%s", kind, pattern, channel, message))
	r.mu.Unlock()
}

func TestPublishRouting(t *testing.T) {
	h := NewHub()
	a, b := &rec{}, &rec{}
	h.Subscribe(a, "news.art")
	h.PSubscribe(a, "news.*")
	h.PSubscribe(b, "n?ws.[a-c]*")
	h.SSubscribe(b, "shard")
	if n := h.Publish([]byte("news.art"), []byte("hi")); n != 3 {
		t.Fatalf("Publish reached %d, want 3 (channel + two patterns)", n)
	}
	if n := h.Publish([]byte("other"), []byte("x")); n != 0 {
		t.Fatalf("Publish to nobody reached %d", n)
	}
	if n := h.SPublish([]byte("shard"), []byte("s")); n != 1 {
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
				h.Publish([]byte(ch), []byte("m"))
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
