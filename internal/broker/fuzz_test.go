package broker

import (
	"testing"
)

// FuzzDecodeHead feeds arbitrary bytes to the stored-message head decoder:
// it must never panic, and what it accepts must re-encode identically.
func FuzzDecodeHead(f *testing.F) {
	m := &Message{Exchange: "x", RoutingKey: "k", Props: []byte("props"), published: 12345,
		Properties: Properties{DeliveryMode: 2, Priority: 3, Expiration: "100", HasExpiration: true}}
	f.Add(encodeHead(nil, m))
	f.Add(encodeHead(nil, &Message{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeHead(b)
		if err != nil {
			return
		}
		again := encodeHead(nil, m)
		m2, err := decodeHead(again)
		if err != nil || m2.Exchange != m.Exchange || m2.RoutingKey != m.RoutingKey || string(m2.Props) != string(m.Props) ||
			m2.Expiration != m.Expiration || m2.HasExpiration != m.HasExpiration || m2.published != m.published ||
			m2.Priority != m.Priority || m2.DeliveryMode != m.DeliveryMode {
			t.Fatalf("round trip changed the head: %+v vs %+v (%v)", m, m2, err)
		}
	})
}

// FuzzParseExpiration checks the expiration parser never panics and agrees
// with itself on what it accepts.
func FuzzParseExpiration(f *testing.F) {
	for _, s := range []string{"", "0", "100", "-1", "+5", "5x", "99999999999999999999", "4294967295"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, e := parseExpiration(s)
		if e == "" && (n < 0 || n > maxExpiry) {
			t.Fatalf("accepted %q as %d", s, n)
		}
	})
}
