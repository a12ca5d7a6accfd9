package memcache

import (
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"

	"ferry/internal/keyspace"
)

// Administrative commands of memcached 1.6 (protocol.txt "Slabs Reassign",
// "Slabs Automove", "LRU Tuning", "LRU_Crawler", "Statistics"). Ferry has no
// slab allocator, segmented LRU or crawler thread — memory is accounted per
// item and expired items are swept continuously — so the tuning commands
// validate their arguments as memcached does and have nothing to change.

// slabsCmd: "slabs reassign <src> <dst>" and "slabs automove <0|1|2>".
func (c *conn) slabsCmd(t [][]byte) {
	if len(t) < 3 {
		c.reply(msgError)
		return
	}
	switch string(t[1]) {
	case "reassign":
		if len(t) != 4 {
			c.reply(msgError)
			return
		}
		src, ok1 := parseInt(t[2])
		dst, ok2 := parseInt(t[3])
		switch {
		case !ok1 || !ok2:
			c.reply(msgBadFormat)
		case src == dst:
			c.reply("SAME src and dst class are identical")
		case (src != -1 && (src < 1 || src > int64(len(slabClasses)))) || dst < 1 || dst > int64(len(slabClasses)):
			c.reply("BADCLASS invalid src or dst class id")
		default:
			c.reply("OK") // memory is not partitioned by class: nothing to move
		}
	case "automove":
		if string(t[2]) == "ratio" {
			if len(t) != 4 {
				c.reply(msgError)
				return
			}
			if _, err := strconv.ParseFloat(string(t[3]), 64); err != nil {
				c.reply(msgBadFormat)
				return
			}
			c.reply("OK")
			return
		}
		n, ok := parseUint(t[2])
		switch {
		case !ok:
			c.reply(msgBadFormat)
		case n > 2:
			c.reply(msgError)
		default:
			c.reply("OK")
		}
	default:
		c.reply(msgError)
	}
}

// lruCmd: "lru tune <hot%> <warm%> <hot factor> <warm factor>", "lru mode
// flat|segmented", "lru temp_ttl <ttl>".
func (c *conn) lruCmd(t [][]byte) {
	if len(t) < 3 {
		c.reply(msgError)
		return
	}
	switch string(t[1]) {
	case "tune":
		if len(t) != 6 {
			c.reply(msgError)
			return
		}
		hot, ok1 := parseUint(t[2])
		warm, ok2 := parseUint(t[3])
		hf, err1 := strconv.ParseFloat(string(t[4]), 64)
		wf, err2 := strconv.ParseFloat(string(t[5]), 64)
		switch {
		case !ok1 || !ok2 || err1 != nil || err2 != nil:
			c.reply(msgError)
		case hot+warm > 80:
			c.reply("ERROR hot and warm pcts must not exceed 80")
		case hf <= 0 || wf <= 0:
			c.reply("ERROR hot/warm age factors must be greater than 0")
		default:
			c.reply("OK")
		}
	case "mode":
		if m := string(t[2]); m == "flat" || m == "segmented" {
			c.reply("OK")
		} else {
			c.reply(msgError)
		}
	case "temp_ttl":
		if _, ok := parseInt(t[2]); ok {
			c.reply("OK")
		} else {
			c.reply(msgError)
		}
	default:
		c.reply(msgError)
	}
}

// lruCrawlerCmd: "lru_crawler <enable|disable|sleep|tocrawl|crawl|metadump> …".
func (c *conn) lruCrawlerCmd(t [][]byte) {
	if len(t) < 2 {
		c.reply(msgError)
		return
	}
	switch string(t[1]) {
	case "enable", "disable":
		c.reply("OK")
	case "sleep":
		if len(t) != 3 {
			c.reply(msgError)
			return
		}
		if us, ok := parseUint(t[2]); !ok {
			c.reply(msgBadFormat)
		} else if us > 1000000 {
			c.reply("CLIENT_ERROR sleep must be one second or less")
		} else {
			c.reply("OK")
		}
	case "tocrawl":
		if len(t) != 3 {
			c.reply(msgError)
			return
		}
		if _, ok := parseUint(t[2]); ok {
			c.reply("OK")
		} else {
			c.reply(msgBadFormat)
		}
	case "crawl":
		if len(t) != 3 {
			c.reply(msgError)
			return
		}
		if _, ok := c.classFilter(t[2]); !ok {
			c.reply("BADCLASS invalid class id")
			return
		}
		c.reply("OK") // expired items are already swept continuously
	case "metadump":
		if len(t) != 3 {
			c.reply(msgError)
			return
		}
		c.metadump(t[2])
	default:
		c.reply(msgError)
	}
}

// classFilter parses "all", "hash" or a comma-separated list of class ids.
func (c *conn) classFilter(arg []byte) (func(class int) bool, bool) {
	s := string(arg)
	if s == "all" || s == "hash" {
		return func(int) bool { return true }, true
	}
	want := map[int]bool{}
	start := 0
	for i := 0; i <= len(arg); i++ {
		if i == len(arg) || arg[i] == ',' {
			n, ok := parseUint(arg[start:i])
			if !ok || n < 1 || n > uint64(len(slabClasses)) {
				return nil, false
			}
			want[int(n)] = true
			start = i + 1
		}
	}
	return func(class int) bool { return want[class] }, true
}

// metadump: "lru_crawler metadump <all|hash|ids>" lists every item's
// metadata, one LF-terminated line each, then END (as memcached).
func (c *conn) metadump(arg []byte) {
	keep, ok := c.classFilter(arg)
	if !ok {
		c.reply("BADCLASS invalid class id")
		return
	}
	nowMs := c.srv.ks.Clock().Now().UnixMilli()
	c.srv.ks.ForEach(c.srv.cfg.DB, func(e *keyspace.Entry, idleMs int64) bool {
		if e.Type() != keyspace.TypeString || !keep(entryClass(e)) {
			return true
		}
		c.out = append(c.out, "key="...)
		c.out = append(c.out, url.QueryEscape(string(e.Key()))...)
		exp := int64(-1) // metadump gives absolute times
		if e.Expire() != 0 {
			exp = e.Expire() / 1000
		}
		c.appendItemInfo(e, exp, (nowMs-idleMs)/1000)
		c.out = append(c.out, '\n')
		return true
	})
	c.out = append(c.out, "END\r\n"...)
}

// statsCachedump: "stats cachedump <class> <limit>" (limit 0 = all).
func (c *conn) statsCachedump(t [][]byte) {
	if len(t) < 4 {
		c.reply("CLIENT_ERROR bad command line")
		return
	}
	class, ok1 := parseUint(t[2])
	limit, ok2 := parseUint(t[3])
	if !ok1 || !ok2 {
		c.reply("CLIENT_ERROR bad command line")
		return
	}
	if class >= maxSlabClasses {
		c.reply("CLIENT_ERROR Illegal slab id")
		return
	}
	n := uint64(0)
	c.srv.ks.ForEach(c.srv.cfg.DB, func(e *keyspace.Entry, _ int64) bool {
		if e.Type() != keyspace.TypeString || entryClass(e) != int(class) {
			return true
		}
		c.out = append(c.out, "ITEM "...)
		c.out = append(c.out, e.Key()...)
		c.out = append(c.out, " ["...)
		c.out = strconv.AppendInt(c.out, int64(len(e.Value())), 10)
		c.out = append(c.out, " b; "...)
		c.out = strconv.AppendInt(c.out, e.Expire()/1000, 10)
		c.out = append(c.out, " s]\r\n"...)
		n++
		return limit == 0 || n < limit
	})
	c.out = append(c.out, "END\r\n"...)
}

// prefixStats counts requests per key prefix for "stats detail" (the part
// of a key before the first ':'). Counting is off until "stats detail on",
// so it costs one atomic load per request otherwise.
type prefixStats struct {
	enabled atomic.Bool
	mu      sync.Mutex
	order   []string
	m       map[string]*[4]uint64 // get, hit, set, del
}

const (
	prefixGet = iota
	prefixHit
	prefixSet
	prefixDel
)

func (p *prefixStats) record(key []byte, what int) {
	i := 0
	for i < len(key) && key[i] != ':' {
		i++
	}
	if i == len(key) {
		return // no prefix: memcached does not count it
	}
	p.mu.Lock()
	if p.m == nil {
		p.m = map[string]*[4]uint64{}
	}
	e := p.m[string(key[:i])]
	if e == nil {
		e = new([4]uint64)
		prefix := string(key[:i])
		p.m[prefix] = e
		p.order = append(p.order, prefix)
	}
	e[what]++
	p.mu.Unlock()
}

func (c *conn) statsDetail(t [][]byte) {
	p := &c.srv.detail
	if len(t) != 3 {
		c.reply("CLIENT_ERROR usage: stats detail on|off|dump")
		return
	}
	switch string(t[2]) {
	case "on":
		p.enabled.Store(true)
		c.reply("OK")
	case "off":
		p.enabled.Store(false)
		c.reply("OK")
	case "dump":
		p.mu.Lock()
		for _, prefix := range p.order {
			e := p.m[prefix]
			c.out = append(c.out, "PREFIX "...)
			c.out = append(c.out, prefix...)
			for i, name := range []string{" get ", " hit ", " set ", " del "} {
				c.out = append(c.out, name...)
				c.out = strconv.AppendUint(c.out, e[i], 10)
			}
			c.out = append(c.out, "\r\n"...)
		}
		p.mu.Unlock()
		c.out = append(c.out, "END\r\n"...)
	default:
		c.reply("CLIENT_ERROR usage: stats detail on|off|dump")
	}
}
