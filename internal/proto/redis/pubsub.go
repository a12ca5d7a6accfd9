package redis

// pubsubState is a client's subscriptions (SUBSCRIBE, PSUBSCRIBE,
// SSUBSCRIBE). Owned by the client's goroutine; counts are mirrored in
// atomics for CLIENT LIST.
type pubsubState struct {
	channels map[string]struct{}
	patterns map[string]struct{}
	shard    map[string]struct{}
}

// subCounts returns the numbers of channel, pattern and shard-channel
// subscriptions.
func (c *Conn) subCounts() (int, int, int) {
	return len(c.subs.channels), len(c.subs.patterns), len(c.subs.shard)
}

// subscriptions is the client's total number of subscriptions.
func (c *Conn) subscriptions() int {
	a, b, d := c.subCounts()
	return a + b + d
}

// resetPubSub drops every subscription (RESET).
func (s *Server) resetPubSub(c *Conn) {
	c.subs = pubsubState{}
}

// pubsubCounts returns the server's numbers of channels with subscribers,
// pattern subscriptions and shard channels (INFO stats).
func (s *Server) pubsubCounts() (channels, patterns, shard int) { return 0, 0, 0 }
