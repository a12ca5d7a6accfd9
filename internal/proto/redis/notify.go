package redis

import (
	"errors"
	"strconv"
	"strings"
	"sync/atomic"

	"ferry/internal/keyspace"
)

// Keyspace notifications (notify-keyspace-events): events published to
// __keyspace@<db>__:<key> (K) and __keyevent@<db>__:<event> (E) when
// commands change keys, and when keys expire or are evicted.

// Notification classes, as notify-keyspace-events letters.
const (
	notifyKeyspace uint32 = 1 << iota // K
	notifyKeyevent                    // E
	notifyGeneric                     // g
	notifyString                      // $
	notifyList                        // l
	notifySet                         // s
	notifyHash                        // h
	notifyZSet                        // z
	notifyExpired                     // x
	notifyEvicted                     // e
	notifyStream                      // t
	notifyKeyMiss                     // m
	notifyModule                      // d
	notifyNew                         // n
)

const notifyAll = notifyGeneric | notifyString | notifyList | notifySet | notifyHash |
	notifyZSet | notifyExpired | notifyEvicted | notifyStream | notifyModule

var notifyLetters = []struct {
	c    byte
	flag uint32
}{
	{'g', notifyGeneric}, {'$', notifyString}, {'l', notifyList}, {'s', notifySet},
	{'h', notifyHash}, {'z', notifyZSet}, {'x', notifyExpired}, {'e', notifyEvicted},
	{'t', notifyStream}, {'d', notifyModule}, {'K', notifyKeyspace}, {'E', notifyKeyevent},
	{'m', notifyKeyMiss}, {'n', notifyNew},
}

var errNotifyClass = errors.New("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")

func parseNotifyFlags(s string) (uint32, error) {
	var f uint32
	for i := 0; i < len(s); i++ {
		if s[i] == 'A' {
			f |= notifyAll
			continue
		}
		found := false
		for _, l := range notifyLetters {
			if l.c == s[i] {
				f |= l.flag
				found = true
			}
		}
		if !found {
			return 0, errNotifyClass
		}
	}
	return f, nil
}

// formatNotifyFlags writes the setting back as Redis 7.0.15's
// keyspaceEventsFlagsToString does: 'A' or the class letters, 'n' among
// the classes only when there is no 'A' (7.0 drops it after 'A'), then K,
// E and m.
func formatNotifyFlags(f uint32) string {
	var b strings.Builder
	if f&notifyAll == notifyAll {
		b.WriteByte('A')
	} else {
		for _, l := range notifyLetters[:10] {
			if f&l.flag != 0 {
				b.WriteByte(l.c)
			}
		}
		if f&notifyNew != 0 {
			b.WriteByte('n')
		}
	}
	for _, l := range notifyLetters[10:13] { // K, E, m
		if f&l.flag != 0 {
			b.WriteByte(l.c)
		}
	}
	return b.String()
}

// notifier holds the notify-keyspace-events setting.
type notifier struct {
	flags atomic.Uint32
}

// notify publishes a keyspace event for key in the client's database if the
// class is enabled. It costs one atomic load when notifications are off.
func (c *Conn) notify(class uint32, event string, key []byte) {
	c.srv.notifyDB(class, event, key, c.db)
}

func (s *Server) notifyDB(class uint32, event string, key []byte, db int) {
	f := s.notifications.flags.Load()
	if f&class == 0 || f&(notifyKeyspace|notifyKeyevent) == 0 {
		return
	}
	dbs := strconv.Itoa(db)
	if f&notifyKeyspace != 0 {
		ch := make([]byte, 0, 16+len(dbs)+len(key))
		ch = append(ch, "__keyspace@"...)
		ch = append(ch, dbs...)
		ch = append(ch, "__:"...)
		ch = append(ch, key...)
		s.hub.Publish(nil, ch, []byte(event))
	}
	if f&notifyKeyevent != 0 {
		ch := make([]byte, 0, 16+len(dbs)+len(event))
		ch = append(ch, "__keyevent@"...)
		ch = append(ch, dbs...)
		ch = append(ch, "__:"...)
		ch = append(ch, event...)
		s.hub.Publish(nil, ch, key)
	}
}

// KeyMiss publishes "keymiss" when a read finds no key
// (keyspace.MissObserver).
func (s *Server) KeyMiss(db int, key []byte) {
	s.notifyDB(notifyKeyMiss, "keymiss", key, db)
}

// KeyEvent publishes expired, evicted and new-key events the keyspace
// reports (keyspace.Observer).
func (s *Server) KeyEvent(kind keyspace.EventKind, db int, e *keyspace.Entry) {
	switch kind {
	case keyspace.EventExpired:
		s.notifyDB(notifyExpired, "expired", e.Key(), db)
	case keyspace.EventEvicted:
		s.notifyDB(notifyEvicted, "evicted", e.Key(), db)
	case keyspace.EventNew:
		s.notifyDB(notifyNew, "new", e.Key(), db)
	}
}
