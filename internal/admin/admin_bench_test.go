package admin

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"ferry/internal/broker"
)

// BenchmarkMetricsScrape renders /metrics for a broker with 1000 queues
// (8 samples each) plus the process and Go families: the cost of one
// Prometheus scrape.
func BenchmarkMetricsScrape(b *testing.B) {
	br, err := broker.New(broker.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	u, _ := br.Authenticate("guest", "guest")
	conn, err := br.Connect(u, "/", broker.ConnInfo{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	ch, err := conn.OpenChannel(nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		if _, err := ch.QueueDeclare(broker.QueueDeclare{Name: fmt.Sprintf("queue-%04d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	h := New(Config{Broker: br, Node: "ferry@bench", Start: time.Now()})
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		b.SetBytes(int64(rec.Body.Len()))
	}
}
