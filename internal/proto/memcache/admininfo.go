package memcache

import (
	"fmt"
	"strconv"
)

// Stats returns the fields of memcached's `stats` command as name, value
// pairs in memcached's order, for readers in the same process (the admin
// server's /api/ferry/memcached and the Prometheus metrics, which map them
// as memcached_exporter does). Counts still held by busy connections since
// their last batch are not yet included, as with a `stats` sent by another
// client. It is safe for concurrent use.
func (s *Server) Stats() [][2]string {
	out := make([][2]string, 0, 96)
	s.generalStats(func(name string, v any) {
		out = append(out, [2]string{name, statString(v)})
	})
	return out
}

// MaxConns returns the connection limit (-c).
func (s *Server) MaxConns() int { return s.cfg.MaxConns }

func statString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	return fmt.Sprint(v)
}
