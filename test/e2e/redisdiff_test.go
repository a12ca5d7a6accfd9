package e2e

// Differential testing against the real redis-server: random command
// sequences over a small keyspace (so types collide, keys vanish and
// arguments go wrong) are sent to both servers and every reply is compared
// byte for byte, after sorting the replies Redis itself leaves unordered.
// It finds what hand-written expectations miss: option combinations, error
// precedence, edge cases of ranges and counts.

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawReply is one RESP reply: its exact bytes and, for aggregates, its parts.
type rawReply struct {
	raw   string
	kind  byte
	parts []rawReply
}

func readRaw(r *bufio.Reader) (rawReply, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return rawReply{}, err
	}
	if len(line) < 3 {
		return rawReply{}, fmt.Errorf("short line %q", line)
	}
	rep := rawReply{raw: line, kind: line[0]}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '$', '=', '!':
		n, _ := strconv.Atoi(body)
		if n >= 0 {
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(r, buf); err != nil {
				return rep, err
			}
			rep.raw += string(buf)
		}
	case '*', '~', '>', '%', '|':
		n, _ := strconv.Atoi(body)
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			p, err := readRaw(r)
			if err != nil {
				return rep, err
			}
			rep.parts = append(rep.parts, p)
			rep.raw += p.raw
		}
	}
	return rep, nil
}

// sorted returns the reply with its elements (or element groups of size
// group) in byte order, for replies whose order Redis leaves undefined.
func (r rawReply) sorted(group int) string {
	if len(r.parts) == 0 || r.kind == '$' {
		return r.raw
	}
	var items []string
	for i := 0; i+group <= len(r.parts); i += group {
		var s string
		for _, p := range r.parts[i : i+group] {
			s += p.raw
		}
		items = append(items, s)
	}
	sort.Strings(items)
	head := r.raw[:strings.Index(r.raw, "\r\n")+2]
	return head + strings.Join(items, "")
}

// diffGen draws random commands.
type diffGen struct{ r *rand.Rand }

func (g diffGen) pick(s ...string) string { return s[g.r.Intn(len(s))] }
func (g diffGen) key() string             { return "k" + strconv.Itoa(g.r.Intn(6)) }
func (g diffGen) member() string {
	return g.pick("a", "b", "c", "d", "e", "f", "1", "2", "10", "-3", "3.5", "", "long-member-name-xyz")
}
func (g diffGen) intArg() string {
	return g.pick("0", "1", "2", "3", "-1", "-2", "5", "10", "-10", "100", "x", "1.5",
		"9223372036854775807", "-9223372036854775808", "99999999999999999999")
}
func (g diffGen) floatArg() string {
	return g.pick("0", "1", "1.5", "-2.5", "3", "10", "inf", "-inf", "+inf", "1e3", "x", "0.1", "nan")
}
func (g diffGen) index() string { return g.pick("0", "1", "2", "-1", "-2", "3", "10", "-10", "x") }
func (g diffGen) score() string {
	return g.pick("0", "1", "2", "2.5", "-1", "10", "(1", "(2", "-inf", "+inf", "inf", "x", "(x")
}
func (g diffGen) lex() string { return g.pick("-", "+", "[a", "(a", "[c", "(d", "[f", "a", "[", "(") }

// n draws k calls of f.
func (g diffGen) n(k int, f func() string) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = f()
	}
	return out
}

func args(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			out = append(out, v)
		case []string:
			out = append(out, v...)
		}
	}
	return out
}

// opt returns s with probability p percent, else nothing.
func (g diffGen) opt(p int, s ...any) []string {
	if g.r.Intn(100) < p {
		return args(s...)
	}
	return nil
}

// diffFamilies maps a family to its command generators. Commands whose
// reply is random (SPOP, SRANDMEMBER, RANDOMKEY …) are left out or drawn
// with arguments that make them deterministic.
var diffFamilies = map[string][]func(g diffGen) []string{
	"strings": {
		func(g diffGen) []string {
			return args("SET", g.key(), g.member(), g.opt(20, "NX"), g.opt(20, "XX"), g.opt(15, "GET"),
				g.opt(15, "EX", g.pick("100", "0", "-1", "x")), g.opt(10, "KEEPTTL"), g.opt(5, "PX", "100000"))
			// Times stay far from expiring during a run: the two servers'
			// clocks are not the same instant.
		},
		func(g diffGen) []string { return args("GET", g.key()) },
		func(g diffGen) []string { return args("GETSET", g.key(), g.member()) },
		func(g diffGen) []string { return args("GETDEL", g.key()) },
		func(g diffGen) []string {
			return args("GETEX", g.key(), g.opt(30, g.pick("EX", "PX", "EXAT", "PERSIST"), g.pick("100000", "0", "x", "99999999999")))
		},
		func(g diffGen) []string { return args("APPEND", g.key(), g.member()) },
		func(g diffGen) []string { return args("STRLEN", g.key()) },
		func(g diffGen) []string { return args("GETRANGE", g.key(), g.index(), g.index()) },
		func(g diffGen) []string {
			return args("SETRANGE", g.key(), g.pick("0", "1", "3", "-1", "x"), g.member())
		},
		func(g diffGen) []string { return args(g.pick("INCR", "DECR"), g.key()) },
		func(g diffGen) []string { return args(g.pick("INCRBY", "DECRBY"), g.key(), g.intArg()) },
		func(g diffGen) []string { return args("INCRBYFLOAT", g.key(), g.floatArg()) },
		func(g diffGen) []string {
			return args(g.pick("MSET", "MSETNX"), g.key(), g.member(), g.opt(70, g.key(), g.member()))
		},
		func(g diffGen) []string { return args("MGET", g.key(), g.key(), g.key()) },
		func(g diffGen) []string { return args("SETNX", g.key(), g.member()) },
		func(g diffGen) []string {
			return args(g.pick("SETEX", "PSETEX"), g.key(), g.pick("100000", "0", "-5", "x"), g.member())
		},
		func(g diffGen) []string {
			return args("LCS", g.key(), g.key(), g.opt(30, "LEN"), g.opt(30, "IDX"), g.opt(20, "MINMATCHLEN", g.pick("0", "1", "2")), g.opt(20, "WITHMATCHLEN"))
		},
	},
	"keys": {
		func(g diffGen) []string { return args("DEL", g.key(), g.opt(50, g.key())) },
		func(g diffGen) []string { return args("EXISTS", g.key(), g.key()) },
		func(g diffGen) []string { return args("TYPE", g.key()) },
		func(g diffGen) []string {
			return args(g.pick("EXPIRE", "PEXPIRE"), g.key(), g.pick("100000", "200000", "500000", "-1", "0", "x"), g.opt(40, g.pick("NX", "XX", "GT", "LT", "nx", "bogus")))
		},
		func(g diffGen) []string { return args("PERSIST", g.key()) },
		func(g diffGen) []string { return args("TTL", g.key()) },
		func(g diffGen) []string { return args(g.pick("RENAME", "RENAMENX"), g.key(), g.key()) },
		func(g diffGen) []string {
			return args("COPY", g.key(), g.key(), g.opt(40, "REPLACE"), g.opt(10, "DB", g.pick("0", "1", "x")))
		},
		func(g diffGen) []string { return args("TOUCH", g.key(), g.key()) },
		func(g diffGen) []string { return args("OBJECT", "ENCODING", g.key()) },
		func(g diffGen) []string { return args("DBSIZE") },
		func(g diffGen) []string { return args("KEYS", g.pick("*", "k[0-2]", "k?", "x*")) },
		func(g diffGen) []string { return args("SET", g.key(), g.member()) },
		func(g diffGen) []string { return args("RPUSH", g.key(), g.member()) },
		func(g diffGen) []string { return args("SADD", g.key(), g.member()) },
		func(g diffGen) []string { return args("HSET", g.key(), g.member(), g.member()) },
		func(g diffGen) []string { return args("ZADD", g.key(), g.pick("1", "2"), g.member()) },
		func(g diffGen) []string {
			return args("SELECT", g.pick("0", "1", "0", "1", "x", "16", "-1", "99999999999"))
		},
		func(g diffGen) []string { return args("MOVE", g.key(), g.pick("0", "1", "x", "16", "99999999999")) },
		func(g diffGen) []string { return args("SWAPDB", g.pick("0", "1", "x"), g.pick("0", "1", "99")) },
		func(g diffGen) []string { return args(g.pick("PING", "ECHO"), g.opt(70, g.member())) },
		func(g diffGen) []string {
			return args(g.pick("SORT", "SORT_RO"), g.key(), g.opt(30, "LIMIT", g.index(), g.index()), g.opt(40, "ALPHA"), g.opt(30, g.pick("ASC", "DESC")))
		},
	},
	"tx": {
		func(g diffGen) []string { return args("MULTI") },
		func(g diffGen) []string { return args("EXEC") },
		func(g diffGen) []string { return args(g.pick("DISCARD", "UNWATCH")) },
		func(g diffGen) []string { return args("WATCH", g.key(), g.opt(30, g.key())) },
		func(g diffGen) []string { return args("SET", g.key(), g.member()) },
		func(g diffGen) []string { return args("GET", g.key()) },
		func(g diffGen) []string { return args("INCR", g.key()) },
		func(g diffGen) []string { return args("RPUSH", g.key(), g.member()) },
		func(g diffGen) []string { return args("LPOP", g.key()) },
		func(g diffGen) []string { return args("DEL", g.key()) },
		func(g diffGen) []string { return args("EXPIRE", g.key(), g.pick("100000", "0", "x")) },
		func(g diffGen) []string { return args(g.pick("GET", "SET", "INCR", "LPUSH"), g.opt(30, g.key())) }, // arity errors queue EXECABORT
		func(g diffGen) []string { return args("NOSUCHCOMMAND", g.key()) },
		func(g diffGen) []string { return args("SELECT", g.pick("1", "0"), g.opt(20, "0")) },
		func(g diffGen) []string { return args("BLPOP", g.key(), "0.01") }, // does not block inside MULTI
	},
	"lists": {
		func(g diffGen) []string {
			return args(g.pick("LPUSH", "RPUSH", "LPUSHX", "RPUSHX"), g.key(), g.n(1+g.r.Intn(3), g.member))
		},
		func(g diffGen) []string { return args(g.pick("LPOP", "RPOP"), g.key(), g.opt(40, g.index())) },
		func(g diffGen) []string { return args("LLEN", g.key()) },
		func(g diffGen) []string { return args("LRANGE", g.key(), g.index(), g.index()) },
		func(g diffGen) []string { return args("LINDEX", g.key(), g.index()) },
		func(g diffGen) []string { return args("LSET", g.key(), g.index(), g.member()) },
		func(g diffGen) []string {
			return args("LINSERT", g.key(), g.pick("BEFORE", "AFTER", "bogus"), g.member(), g.member())
		},
		func(g diffGen) []string { return args("LREM", g.key(), g.index(), g.member()) },
		func(g diffGen) []string { return args("LTRIM", g.key(), g.index(), g.index()) },
		func(g diffGen) []string {
			return args("LPOS", g.key(), g.member(), g.opt(30, "RANK", g.index()), g.opt(30, "COUNT", g.index()), g.opt(20, "MAXLEN", g.index()))
		},
		func(g diffGen) []string {
			return args("LMOVE", g.key(), g.key(), g.pick("LEFT", "RIGHT"), g.pick("LEFT", "RIGHT", "UP"))
		},
		func(g diffGen) []string { return args("RPOPLPUSH", g.key(), g.key()) },
		func(g diffGen) []string {
			return args("LMPOP", g.pick("1", "2", "0", "x"), g.key(), g.key(), g.pick("LEFT", "RIGHT", "MID"), g.opt(40, "COUNT", g.index()))
		},
		func(g diffGen) []string { return args(g.pick("BLPOP", "BRPOP"), g.key(), g.key(), "0.01") },
		func(g diffGen) []string { return args("SET", g.key(), g.member()) },
	},
	"hashes": {
		func(g diffGen) []string {
			return args(g.pick("HSET", "HMSET"), g.key(), g.member(), g.member(), g.opt(50, g.member(), g.member()))
		},
		func(g diffGen) []string { return args("HSETNX", g.key(), g.member(), g.member()) },
		func(g diffGen) []string { return args("HGET", g.key(), g.member()) },
		func(g diffGen) []string { return args("HMGET", g.key(), g.member(), g.member()) },
		func(g diffGen) []string { return args("HDEL", g.key(), g.member(), g.opt(50, g.member())) },
		func(g diffGen) []string { return args(g.pick("HEXISTS", "HSTRLEN"), g.key(), g.member()) },
		func(g diffGen) []string { return args("HLEN", g.key()) },
		func(g diffGen) []string { return args(g.pick("HKEYS", "HVALS", "HGETALL"), g.key()) },
		func(g diffGen) []string { return args("HINCRBY", g.key(), g.member(), g.intArg()) },
		func(g diffGen) []string { return args("HINCRBYFLOAT", g.key(), g.member(), g.floatArg()) },
		func(g diffGen) []string {
			return args("HRANDFIELD", g.key(), g.opt(40, g.pick("100", "-0", "0", "x")), g.opt(0, "WITHVALUES"))
		},
		func(g diffGen) []string { return args("SET", g.key(), g.member()) },
	},
	"sets": {
		func(g diffGen) []string { return args("SADD", g.key(), g.n(1+g.r.Intn(3), g.member)) },
		func(g diffGen) []string { return args("SREM", g.key(), g.member(), g.opt(50, g.member())) },
		func(g diffGen) []string { return args("SMEMBERS", g.key()) },
		func(g diffGen) []string { return args("SISMEMBER", g.key(), g.member()) },
		func(g diffGen) []string { return args("SMISMEMBER", g.key(), g.member(), g.member()) },
		func(g diffGen) []string { return args("SCARD", g.key()) },
		func(g diffGen) []string { return args("SMOVE", g.key(), g.key(), g.member()) },
		func(g diffGen) []string {
			return args(g.pick("SINTER", "SUNION", "SDIFF"), g.key(), g.key(), g.opt(30, g.key()))
		},
		func(g diffGen) []string {
			return args(g.pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), g.key(), g.key(), g.key())
		},
		func(g diffGen) []string {
			return args("SINTERCARD", g.pick("1", "2", "0", "x"), g.key(), g.key(), g.opt(30, "LIMIT", g.index()))
		},
		func(g diffGen) []string { return args("SRANDMEMBER", g.key(), g.opt(50, g.pick("100", "0", "x"))) },
		func(g diffGen) []string { return args("SPOP", g.key(), g.pick("100", "0", "x", "-1")) }, // all or nothing: states stay equal,
		func(g diffGen) []string { return args("SET", g.key(), g.member()) },
	},
	"zsets": {
		func(g diffGen) []string {
			return args("ZADD", g.key(), g.opt(15, g.pick("NX", "XX")), g.opt(15, g.pick("GT", "LT")), g.opt(15, "CH"), g.opt(10, "INCR"),
				g.floatArg(), g.member(), g.opt(40, g.floatArg(), g.member()))
		},
		func(g diffGen) []string { return args("ZINCRBY", g.key(), g.floatArg(), g.member()) },
		func(g diffGen) []string { return args("ZREM", g.key(), g.member(), g.opt(50, g.member())) },
		func(g diffGen) []string { return args("ZCARD", g.key()) },
		func(g diffGen) []string { return args("ZCOUNT", g.key(), g.score(), g.score()) },
		func(g diffGen) []string { return args("ZLEXCOUNT", g.key(), g.lex(), g.lex()) },
		func(g diffGen) []string { return args("ZSCORE", g.key(), g.member()) },
		func(g diffGen) []string { return args("ZMSCORE", g.key(), g.member(), g.member()) },
		func(g diffGen) []string { return args(g.pick("ZRANK", "ZREVRANK"), g.key(), g.member()) },
		func(g diffGen) []string {
			return args("ZRANGE", g.key(), g.index(), g.index(), g.opt(20, "REV"), g.opt(30, "WITHSCORES"))
		},
		func(g diffGen) []string {
			return args("ZRANGE", g.key(), g.score(), g.score(), "BYSCORE", g.opt(20, "REV"), g.opt(30, "LIMIT", g.index(), g.index()), g.opt(30, "WITHSCORES"))
		},
		func(g diffGen) []string {
			return args("ZRANGE", g.key(), g.lex(), g.lex(), "BYLEX", g.opt(20, "REV"), g.opt(30, "LIMIT", g.index(), g.index()))
		},
		func(g diffGen) []string {
			return args(g.pick("ZRANGEBYSCORE", "ZREVRANGEBYSCORE"), g.key(), g.score(), g.score(), g.opt(30, "WITHSCORES"), g.opt(30, "LIMIT", g.index(), g.index()))
		},
		func(g diffGen) []string {
			return args(g.pick("ZRANGEBYLEX", "ZREVRANGEBYLEX"), g.key(), g.lex(), g.lex(), g.opt(30, "LIMIT", g.index(), g.index()))
		},
		func(g diffGen) []string { return args("ZRANGESTORE", g.key(), g.key(), g.index(), g.index()) },
		func(g diffGen) []string { return args("ZREMRANGEBYRANK", g.key(), g.index(), g.index()) },
		func(g diffGen) []string { return args("ZREMRANGEBYSCORE", g.key(), g.score(), g.score()) },
		func(g diffGen) []string { return args("ZREMRANGEBYLEX", g.key(), g.lex(), g.lex()) },
		func(g diffGen) []string { return args(g.pick("ZPOPMIN", "ZPOPMAX"), g.key(), g.opt(50, g.index())) },
		func(g diffGen) []string {
			return args("ZMPOP", g.pick("1", "2", "0"), g.key(), g.key(), g.pick("MIN", "MAX", "MID"), g.opt(40, "COUNT", g.index()))
		},
		func(g diffGen) []string {
			return args(g.pick("ZUNION", "ZINTER", "ZDIFF"), "2", g.key(), g.key(), g.opt(30, "WITHSCORES"))
		},
		func(g diffGen) []string {
			return args(g.pick("ZUNIONSTORE", "ZINTERSTORE"), g.key(), "2", g.key(), g.key(), g.opt(30, "WEIGHTS", g.floatArg(), g.floatArg()),
				g.opt(30, "AGGREGATE", g.pick("SUM", "MIN", "MAX", "AVG")))
		},
		func(g diffGen) []string { return args("ZDIFFSTORE", g.key(), "2", g.key(), g.key()) },
		func(g diffGen) []string {
			return args("ZINTERCARD", "2", g.key(), g.key(), g.opt(30, "LIMIT", g.index()))
		},
		func(g diffGen) []string { return args("SET", g.key(), g.member()) },
	},
	"bits": {
		func(g diffGen) []string {
			return args("SETBIT", g.key(), g.pick("0", "1", "7", "8", "100", "-1", "x"), g.pick("0", "1", "2"))
		},
		func(g diffGen) []string { return args("GETBIT", g.key(), g.pick("0", "1", "7", "8", "100", "-1")) },
		func(g diffGen) []string {
			return args("BITCOUNT", g.key(), g.opt(60, g.index(), g.index(), g.opt(40, g.pick("BYTE", "BIT"))))
		},
		func(g diffGen) []string {
			return args("BITPOS", g.key(), g.pick("0", "1", "2"), g.opt(60, g.index(), g.opt(60, g.index(), g.opt(40, g.pick("BYTE", "BIT")))))
		},
		func(g diffGen) []string {
			return args("BITOP", g.pick("AND", "OR", "XOR", "NOT"), g.key(), g.key(), g.opt(50, g.key()))
		},
		func(g diffGen) []string {
			return args("BITFIELD", g.key(), g.pick("GET", "SET", "INCRBY"), g.pick("u8", "i8", "u4", "i16", "u63", "i64", "u64", "x"),
				g.pick("0", "1", "#1", "7", "x"), g.opt(70, g.intArg()), g.opt(20, "OVERFLOW", g.pick("WRAP", "SAT", "FAIL")))
		},
		func(g diffGen) []string { return args("SET", g.key(), g.member()) },
		func(g diffGen) []string { return args("APPEND", g.key(), "\xff\x00\x0f") },
	},
}

// unordered lists the commands whose reply order Redis does not define,
// with the element group size to sort by.
var unordered = map[string]int{"SMEMBERS": 1, "SINTER": 1, "SUNION": 1, "SDIFF": 1, "KEYS": 1,
	"HKEYS": 1, "HVALS": 1, "HGETALL": 2, "SPOP": 1, "SRANDMEMBER": 1, "HRANDFIELD": 1}

// randomReply lists commands whose reply content is random: only the
// reply shape (type and length) is compared.
var randomReply = map[string]bool{"SPOP": true, "SRANDMEMBER": true, "HRANDFIELD": true}

func TestRedisDifferential(t *testing.T) {
	if isRedisReference() {
		t.Skip("compares Ferry with redis-server")
	}
	requireCommand(t, "redis-server")
	ops := 1500
	if s := os.Getenv("FERRY_DIFF_OPS"); s != "" {
		ops, _ = strconv.Atoi(s)
	}
	seed := time.Now().UnixNano()
	if s := os.Getenv("FERRY_DIFF_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	real := startRealRedis(t)
	ferry := startRedis(t, "--save", "", "--appendonly", "no")
	families := make([]string, 0, len(diffFamilies))
	for f := range diffFamilies {
		families = append(families, f)
	}
	sort.Strings(families)
	for _, fam := range families {
		for _, proto := range []string{"2", "3"} {
			fam, proto := fam, proto
			t.Run(fam+"/resp"+proto, func(t *testing.T) {
				runDiff(t, real.Addr, ferry.Addr, fam, proto, seed, ops)
			})
		}
	}
}

type diffConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialDiff(t *testing.T, addr string) *diffConn {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &diffConn{c: c, r: bufio.NewReader(c)}
}

func (d *diffConn) do(args []string) (rawReply, error) {
	d.c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(d.c, command(args...)); err != nil {
		return rawReply{}, err
	}
	return readRaw(d.r)
}

// state returns the type and encoding of every key the generators use, in
// one pipelined round trip, so a divergence shows at the command causing it.
func (d *diffConn) state() (string, error) {
	var req strings.Builder
	for i := 0; i < 6; i++ {
		k := "k" + strconv.Itoa(i)
		req.WriteString(command("TYPE", k))
		req.WriteString(command("OBJECT", "ENCODING", k))
	}
	d.c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(d.c, req.String()); err != nil {
		return "", err
	}
	var out strings.Builder
	for i := 0; i < 12; i++ {
		r, err := readRaw(d.r)
		if err != nil {
			return "", err
		}
		if i%2 == 0 {
			fmt.Fprintf(&out, "k%d:", i/2)
		}
		out.WriteString(strings.TrimSpace(strings.TrimLeft(strings.ReplaceAll(r.raw, "\r\n", " "), "+$")))
		out.WriteString(" ")
	}
	return out.String(), nil
}

// dump describes every key's type and content, for a mismatch report.
func (d *diffConn) dump() string {
	var out strings.Builder
	for i := 0; i < 6; i++ {
		k := "k" + strconv.Itoa(i)
		r, err := d.do([]string{"TYPE", k})
		if err != nil {
			return err.Error()
		}
		typ := strings.TrimSpace(strings.TrimLeft(r.raw, "+"))
		var cmd []string
		switch typ {
		case "string":
			cmd = []string{"GET", k}
		case "list":
			cmd = []string{"LRANGE", k, "0", "-1"}
		case "set":
			cmd = []string{"SMEMBERS", k}
		case "hash":
			cmd = []string{"HGETALL", k}
		case "zset":
			cmd = []string{"ZRANGE", k, "0", "-1", "WITHSCORES"}
		default:
			continue
		}
		v, err := d.do(cmd)
		if err != nil {
			return err.Error()
		}
		fmt.Fprintf(&out, "\n  %s %s: %q", k, typ, v.raw)
	}
	return out.String()
}

func runDiff(t *testing.T, realAddr, ferryAddr, fam, proto string, seed int64, ops int) {
	gens := diffFamilies[fam]
	g := diffGen{r: rand.New(rand.NewSource(seed + int64(len(fam))*7919 + int64(proto[0])))}
	a, b := dialDiff(t, realAddr), dialDiff(t, ferryAddr)
	for _, c := range [][]string{{"HELLO", proto}, {"FLUSHALL"}} {
		if _, err := a.do(c); err != nil {
			t.Fatal(err)
		}
		if _, err := b.do(c); err != nil {
			t.Fatal(err)
		}
	}
	var history []string
	mismatches := 0
	for i := 0; i < ops; i++ {
		cmd := gens[g.r.Intn(len(gens))](g)
		history = append(history, strings.Join(quoteAll(cmd), " "))
		ra, err := a.do(cmd)
		if err != nil {
			t.Fatalf("redis-server: %v after %q", err, cmd)
		}
		rb, err := b.do(cmd)
		if err != nil {
			from := max(0, len(history)-20)
			t.Fatalf("ferry: %v after %q (FERRY_DIFF_SEED=%d reproduces)\n recent commands:\n  %s",
				err, cmd, seed, strings.Join(history[from:], "\n  "))
		}
		name := strings.ToUpper(cmd[0])
		wa, wb := ra.raw, rb.raw
		if n, ok := unordered[name]; ok {
			if proto == "3" && name == "HGETALL" {
				n = 2
			}
			wa, wb = ra.sorted(n), rb.sorted(n)
		}
		if randomReply[name] && ra.kind != '-' {
			wa, wb = fmt.Sprintf("%c%d", ra.kind, len(ra.parts)), fmt.Sprintf("%c%d", rb.kind, len(rb.parts))
		}
		if name == "TTL" && ra.kind == ':' && rb.kind == ':' {
			x, _ := strconv.Atoi(strings.TrimSpace(wa[1:]))
			y, _ := strconv.Atoi(strings.TrimSpace(wb[1:]))
			if x-y <= 1 && y-x <= 1 {
				wb = wa
			}
		}
		if wa == wb {
			sa, err := a.state()
			if err != nil {
				t.Fatal(err)
			}
			sb, err := b.state()
			if err != nil {
				t.Fatal(err)
			}
			if sa != sb {
				wa, wb = "state "+sa, "state "+sb
			}
		}
		if wa != wb {
			mismatches++
			from := len(history) - 12
			if from < 0 {
				from = 0
			}
			t.Errorf("seed %d op %d: %s\n redis: %q\n ferry: %q\n recent commands:\n  %s\n keys in redis-server afterwards:%s",
				seed, i, history[len(history)-1], wa, wb, strings.Join(history[from:], "\n  "), a.dump())
			if mismatches >= 5 {
				t.Fatalf("stopping after %d mismatches (FERRY_DIFF_SEED=%d reproduces)", mismatches, seed)
			}
			// Resynchronise so one difference does not cascade.
			for _, c := range [][]string{{"FLUSHALL"}} {
				a.do(c)
				b.do(c)
			}
		}
	}
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strconv.Quote(a)
	}
	return out
}
