package broker

import (
	"crypto/rand"
	"encoding/base64"
)

// genName returns prefix + "-" + 22 characters of URL-safe base64 (16
// random bytes), the shape of RabbitMQ's rabbit_guid:binary(gen_secure(),
// Prefix): "amq.gen-…" for server-named queues, "amq.ctag-…" for
// consumer tags.
func genName(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + "-" + base64.RawURLEncoding.EncodeToString(b[:])
}
