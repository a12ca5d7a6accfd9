package redis

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"ferry/internal/keyspace"
	"ferry/internal/testutil"
)

// collCase is one step of a command table run in order against one
// server. The expected replies were taken from redis-server 7.0.15.
type collCase struct {
	cmd    string   // space-separated arguments
	argv   []string // instead of cmd, when arguments hold spaces or are empty
	want   string   // reply as collRender prints it
	want3  string   // the RESP3 reply when it differs (maps, nested pairs)
	sorted bool     // the order of elements is unspecified
}

// runCollCases runs cases through go-redis's generic Do, so the reply
// types (map vs array, null) are checked as the client decodes them.
func runCollCases(t *testing.T, ctx context.Context, rdb *goredis.Client, cases []collCase) {
	t.Helper()
	for i, tc := range cases {
		argv := tc.argv
		if argv == nil {
			argv = strings.Fields(tc.cmd)
		}
		args := make([]any, len(argv))
		for j, a := range argv {
			args[j] = a
		}
		v, err := rdb.Do(ctx, args...).Result()
		got := collRender(v, err, tc.sorted)
		want := tc.want
		if tc.want3 != "" && rdb.Options().Protocol == 3 {
			want = tc.want3
		}
		if got != want {
			t.Errorf("step %d %q:\n got %s\nwant %s", i, argv, got, want)
		}
	}
}

// collRender prints a reply decoded by go-redis: errors by their text,
// nulls as (nil), arrays and sets as [a b], maps as {k:v} sorted by key.
func collRender(v any, err error, sorted bool) string {
	switch {
	case err == goredis.Nil:
		return "(nil)"
	case err != nil:
		return err.Error()
	}
	return renderValue(v, sorted)
}

func renderValue(v any, sorted bool) string {
	switch x := v.(type) {
	case nil:
		return "(nil)"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = renderValue(e, sorted)
		}
		if sorted {
			slices.Sort(parts)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[any]any:
		parts := make([]string, 0, len(x))
		for k, e := range x {
			parts = append(parts, renderValue(k, sorted)+":"+renderValue(e, sorted))
		}
		slices.Sort(parts)
		return "{" + strings.Join(parts, " ") + "}"
	}
	return fmt.Sprint(v)
}

// wireConn dials ts and switches to proto (HELLO 3 for RESP3).
func wireConn(t *testing.T, ts *testServer, proto int) *testutil.Conn {
	t.Helper()
	c := testutil.Dial(t, ts.addr)
	if proto == 3 {
		c.Send("HELLO 3\r\n")
		for c.Line() != "*0" { // the reply ends with the empty modules array
		}
	}
	return c
}

// collectEvents subscribes to every keyevent notification, runs fn, and
// returns the "event key" pairs published meanwhile.
func collectEvents(t *testing.T, fn func(ctx context.Context, rdb *goredis.Client)) []string {
	t.Helper()
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	if err := rdb.ConfigSet(ctx, "notify-keyspace-events", "KEA").Err(); err != nil {
		t.Fatal(err)
	}
	ps := clientFor(t, ts, 2).PSubscribe(ctx, "__keyevent@0__:*")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	fn(ctx, rdb)
	rdb.Set(ctx, "end-of-events", "x", 0)
	var got []string
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := ps.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		if m.Payload == "end-of-events" {
			return got
		}
		got = append(got, strings.TrimPrefix(m.Channel, "__keyevent@0__:")+" "+m.Payload)
	}
}

func TestHashCommands(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		runCollCases(t, ctx, rdb, hashCases)
	})
}

var hashCases = []collCase{
	// HSET / HMSET / HSETNX
	{cmd: `HSET h a 1 b 2`, want: `2`},
	{cmd: `HSET h a 10 c 3`, want: `1`},
	{cmd: `HSET h a`, want: `ERR wrong number of arguments for 'hset' command`},
	{cmd: `HSET h a 1 b`, want: `ERR wrong number of arguments for 'hset' command`},
	{cmd: `HMSET h a 1 b`, want: `ERR wrong number of arguments for 'hmset' command`},
	{cmd: `HMSET h d 4 e 5`, want: `OK`},
	{cmd: `HSETNX h a x`, want: `0`},
	{cmd: `HSETNX h f 6`, want: `1`},
	{cmd: `HSETNX h2 only one`, want: `1`},
	{argv: []string{`HSET`, `h`, `empty`, ``}, want: `1`},
	{cmd: `HGET h empty`, want: ``},
	{cmd: `HSTRLEN h empty`, want: `0`},
	// HGET / HMGET / HEXISTS / HLEN / HSTRLEN
	{cmd: `HGET h a`, want: `10`},
	{cmd: `HGET h nofield`, want: `(nil)`},
	{cmd: `HGET nokey a`, want: `(nil)`},
	{cmd: `HMGET h a nofield c`, want: `[10 (nil) 3]`},
	{cmd: `HMGET nokey a b`, want: `[(nil) (nil)]`},
	{cmd: `HEXISTS h a`, want: `1`},
	{cmd: `HEXISTS h nofield`, want: `0`},
	{cmd: `HEXISTS nokey a`, want: `0`},
	{cmd: `HLEN h`, want: `7`},
	{cmd: `HLEN nokey`, want: `0`},
	{cmd: `HSTRLEN h a`, want: `2`},
	{cmd: `HSTRLEN h nofield`, want: `0`},
	{cmd: `HSTRLEN nokey a`, want: `0`},
	// HKEYS / HVALS / HGETALL (a map in RESP3), listpack keeps insertion order
	{cmd: `HKEYS h`, want: `[a b c d e f empty]`},
	{cmd: `HVALS h`, want: `[10 2 3 4 5 6 ]`},
	{cmd: `HGETALL h2`, want: `[only one]`, want3: `{only:one}`},
	{cmd: `HGETALL nokey`, want: `[]`, want3: `{}`},
	{cmd: `HKEYS nokey`, want: `[]`},
	{cmd: `HVALS nokey`, want: `[]`},
	// HDEL, and an emptied hash is deleted
	{cmd: `HDEL h a nofield c`, want: `2`},
	{cmd: `HDEL h nofield`, want: `0`},
	{cmd: `HDEL nokey a`, want: `0`},
	{cmd: `HDEL h2 only`, want: `1`},
	{cmd: `EXISTS h2`, want: `0`},
	// HINCRBY
	{cmd: `HINCRBY n i 5`, want: `5`},
	{cmd: `HINCRBY n i -7`, want: `-2`},
	{cmd: `HINCRBY n i x`, want: `ERR value is not an integer or out of range`},
	{cmd: `HINCRBY n i 9223372036854775808`, want: `ERR value is not an integer or out of range`},
	{cmd: `HINCRBY n max 9223372036854775807`, want: `9223372036854775807`},
	{cmd: `HINCRBY n max 1`, want: `ERR increment or decrement would overflow`},
	{cmd: `HINCRBY n min -9223372036854775808`, want: `-9223372036854775808`},
	{cmd: `HINCRBY n min -1`, want: `ERR increment or decrement would overflow`},
	{argv: []string{`HSET`, `n`, `s`, `abc`, `lz`, `01`, `plus`, `+1`, `fl`, `1.5`, `sp`, ` 1`}, want: `5`},
	{cmd: `HINCRBY n s 1`, want: `ERR hash value is not an integer`},
	{cmd: `HINCRBY n lz 1`, want: `ERR hash value is not an integer`},
	{cmd: `HINCRBY n plus 1`, want: `ERR hash value is not an integer`},
	{cmd: `HINCRBY n fl 1`, want: `ERR hash value is not an integer`},
	{cmd: `HINCRBY n sp 1`, want: `ERR hash value is not an integer`},
	// HINCRBYFLOAT: long double arithmetic, formatted as INCRBYFLOAT
	{cmd: `HINCRBYFLOAT f a 0.1`, want: `0.1`},
	{cmd: `HINCRBYFLOAT f a 0.2`, want: `0.3`},
	{cmd: `HINCRBYFLOAT f a -0.3`, want: `0`},
	{cmd: `HINCRBYFLOAT f b 5.0e3`, want: `5000`},
	{cmd: `HINCRBY f b 1`, want: `5001`},
	{cmd: `HINCRBYFLOAT f c 10.5`, want: `10.5`},
	{cmd: `HINCRBYFLOAT f c -10.5`, want: `0`},
	{cmd: `HINCRBYFLOAT f d 3.333333333333333333333333`, want: `3.33333333333333333`},
	{cmd: `HINCRBYFLOAT f e -123456789.123456789`, want: `-123456789.12345678899873747`},
	{cmd: `HINCRBYFLOAT f g 1.7976931348623157e308`, want: `179769313486231569995921046774104434048386446944329178485314420765176628523124396354701868608387085564428793419425520689308708363451136055357897278026477617073498977686288394835618163294045594434929537447290627480669417384648879122776218333598953852832103282504751611691208117720159985926376802466863339536384`},
	{cmd: `HINCRBYFLOAT f g 1.7976931348623157e308`, want: `359538626972463139991842093548208868096772893888658356970628841530353257046248792709403737216774171128857586838851041378617416726902272110715794556052955234146997955372576789671236326588091188869859074894581254961338834769297758245552436667197907705664206565009503223382416235440319971852753604933726679072768`},
	{cmd: `HINCRBYFLOAT f h 0x10`, want: `16`},
	{cmd: `HINCRBYFLOAT f h -0x1.8p1`, want: `13`},
	{cmd: `HINCRBYFLOAT f i +1.5`, want: `1.5`},
	{cmd: `HINCRBYFLOAT f j .5`, want: `0.5`},
	{cmd: `HINCRBYFLOAT f k 5.`, want: `5`},
	{cmd: `HINCRBYFLOAT f l -0`, want: `0`},
	{cmd: `HINCRBYFLOAT f m 1e-4940`, want: `0`},
	{cmd: `HINCRBYFLOAT f z abc`, want: `ERR value is not a valid float`},
	{cmd: `HINCRBYFLOAT f z 1e`, want: `ERR value is not a valid float`},
	{cmd: `HINCRBYFLOAT f z nan`, want: `ERR value is not a valid float`},
	{cmd: `HINCRBYFLOAT f z 1_0`, want: `ERR value is not a valid float`},
	{argv: []string{`HINCRBYFLOAT`, `f`, `z`, ` 1`}, want: `ERR value is not a valid float`},
	{argv: []string{`HINCRBYFLOAT`, `f`, `z`, `1 `}, want: `ERR value is not a valid float`},
	{argv: []string{`HINCRBYFLOAT`, `f`, `z`, ``}, want: `ERR value is not a valid float`},
	{cmd: `HINCRBYFLOAT f z 1e5000`, want: `ERR value is not a valid float`},
	{cmd: `HINCRBYFLOAT f z 1e-5000`, want: `ERR value is not a valid float`},
	{cmd: `HINCRBYFLOAT f z inf`, want: `ERR value is NaN or Infinity`},
	{cmd: `HINCRBYFLOAT f z -Infinity`, want: `ERR value is NaN or Infinity`},
	{cmd: `HSET f s abc inf inf lz 01 plus +1`, want: `4`},
	{cmd: `HINCRBYFLOAT f s 1`, want: `ERR hash value is not a float`},
	{cmd: `HINCRBYFLOAT f inf 1`, want: `ERR increment would produce NaN or Infinity`},
	{cmd: `HINCRBYFLOAT f lz 1`, want: `2`},
	{cmd: `HINCRBYFLOAT f plus 1`, want: `2`},
	{cmd: `EXISTS f z`, want: `1`},
	// HRANDFIELD
	{cmd: `HSET one f v`, want: `1`},
	{cmd: `HRANDFIELD one`, want: `f`},
	{cmd: `HRANDFIELD one 1`, want: `[f]`},
	{cmd: `HRANDFIELD one 5`, want: `[f]`},
	{cmd: `HRANDFIELD one -3`, want: `[f f f]`},
	{cmd: `HRANDFIELD one 1 WITHVALUES`, want: `[f v]`, want3: `[[f v]]`},
	{cmd: `HRANDFIELD one -2 withvalues`, want: `[f v f v]`, want3: `[[f v] [f v]]`},
	{cmd: `HRANDFIELD one 0`, want: `[]`},
	{cmd: `HRANDFIELD one 0 WITHVALUES`, want: `[]`},
	{cmd: `HRANDFIELD nokey`, want: `(nil)`},
	{cmd: `HRANDFIELD nokey 3`, want: `[]`},
	{cmd: `HRANDFIELD nokey -3 WITHVALUES`, want: `[]`},
	{cmd: `HRANDFIELD h 100`, want: `[b d e empty f]`, sorted: true},
	{cmd: `HRANDFIELD h 100 WITHVALUES`, want: `[ 2 4 5 6 b d e empty f]`, want3: `[[ empty] [2 b] [4 d] [5 e] [6 f]]`, sorted: true},
	{cmd: `HRANDFIELD one 1 foo`, want: `ERR syntax error`},
	{cmd: `HRANDFIELD one 1 WITHVALUES foo`, want: `ERR syntax error`},
	{cmd: `HRANDFIELD one x`, want: `ERR value is not an integer or out of range`},
	{cmd: `HRANDFIELD one -9223372036854775808`, want: `ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807`},
	{cmd: `HRANDFIELD one -9223372036854775807 WITHVALUES`, want: `ERR value is out of range`},
	{cmd: `HRANDFIELD one 4611686018427387904 WITHVALUES`, want: `ERR value is out of range`},
	{cmd: `HRANDFIELD one -4611686018427387904 WITHVALUES`, want: `ERR value is out of range`},
	// HSCAN on a listpack: everything at once, cursor 0
	{cmd: `HSCAN one 0`, want: `[0 [f v]]`},
	{cmd: `HSCAN one 123`, want: `[0 [f v]]`},
	{cmd: `HSCAN h 0 MATCH b*`, want: `[0 [b 2]]`},
	{cmd: `HSCAN h 0 MATCH nomatch*`, want: `[0 []]`},
	{cmd: `HSCAN h 0 COUNT 1 MATCH * COUNT 2`, want: `[0 [b 2 d 4 e 5 f 6 empty ]]`},
	{cmd: `HSCAN nokey 0`, want: `[0 []]`},
	{cmd: `HSCAN nokey 0 BADOPTION`, want: `[0 []]`},
	{cmd: `HSCAN one x`, want: `ERR invalid cursor`},
	{cmd: `HSCAN one -1x`, want: `ERR invalid cursor`},
	{cmd: `HSCAN one 18446744073709551616`, want: `ERR invalid cursor`},
	{cmd: `HSCAN one 0 COUNT 0`, want: `ERR syntax error`},
	{cmd: `HSCAN one 0 COUNT -1`, want: `ERR syntax error`},
	{cmd: `HSCAN one 0 COUNT x`, want: `ERR value is not an integer or out of range`},
	{cmd: `HSCAN one 0 MATCH`, want: `ERR syntax error`},
	{cmd: `HSCAN one 0 TYPE hash`, want: `ERR syntax error`},
	{cmd: `HSCAN one 0 NOVALUES`, want: `ERR syntax error`},
	// WRONGTYPE
	{cmd: `SET str v`, want: `OK`},
	{cmd: `HSET str a 1`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HMSET str a 1`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HSETNX str a 1`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HGET str a`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HMGET str a`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HDEL str a`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HEXISTS str a`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HLEN str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HSTRLEN str a`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HKEYS str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HVALS str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HGETALL str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HINCRBY str a 1`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HINCRBYFLOAT str a 1`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HRANDFIELD str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HRANDFIELD str 1`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HSCAN str 0`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HSCAN str 0 BADOPTION`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `HSCAN str x`, want: `ERR invalid cursor`},
	{cmd: `HRANDFIELD str x`, want: `ERR value is not an integer or out of range`},
	{cmd: `HINCRBY str a x`, want: `ERR value is not an integer or out of range`},
	{cmd: `HINCRBYFLOAT str a x`, want: `ERR value is not a valid float`},
}

func TestHashClient(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		check := func(got, want any) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
		check(rdb.HSet(ctx, "h", "a", "1", "b", "2").Val(), 2)
		check(rdb.HSet(ctx, "h", "c", "3").Val(), 1)
		check(rdb.HMSet(ctx, "h", "d", "4").Val(), true)
		check(rdb.HSetNX(ctx, "h", "a", "x").Val(), false)
		check(rdb.HSetNX(ctx, "h", "e", "5").Val(), true)
		check(rdb.HGet(ctx, "h", "a").Val(), "1")
		check(rdb.HGet(ctx, "h", "zz").Err(), goredis.Nil)
		check(rdb.HMGet(ctx, "h", "a", "zz", "e").Val(), []any{"1", nil, "5"})
		check(rdb.HGetAll(ctx, "h").Val(), map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"})
		check(rdb.HGetAll(ctx, "nokey").Val(), map[string]string{})
		check(rdb.HKeys(ctx, "h").Val(), []string{"a", "b", "c", "d", "e"})
		check(rdb.HVals(ctx, "h").Val(), []string{"1", "2", "3", "4", "5"})
		check(rdb.HLen(ctx, "h").Val(), 5)
		check(rdb.HExists(ctx, "h", "a").Val(), true)
		check(rdb.HExists(ctx, "h", "zz").Val(), false)
		check(rdb.HStrLen(ctx, "h", "a").Val(), 1)
		check(rdb.HIncrBy(ctx, "h", "a", 10).Val(), 11)
		check(rdb.HIncrByFloat(ctx, "h", "f", 2.5).Val(), 2.5)
		check(rdb.HIncrByFloat(ctx, "h", "f", 0.1).Val(), 2.6)
		check(rdb.HGet(ctx, "h", "f").Val(), "2.6")
		check(rdb.HIncrByFloat(ctx, "h", "b", 1e300).Err(), "<nil>")
		check(rdb.HIncrBy(ctx, "h", "b", 1).Err(), "ERR hash value is not an integer")
		check(len(rdb.HRandField(ctx, "h", 1).Val()), 1)
		all := rdb.HGetAll(ctx, "h").Val()
		for _, count := range []int{3, 100, -20} {
			kvs := rdb.HRandFieldWithValues(ctx, "h", count).Val()
			want := min(count, len(all))
			if count < 0 {
				want = -count
			}
			if len(kvs) != want {
				t.Fatalf("HRANDFIELD %d WITHVALUES gave %d pairs", count, len(kvs))
			}
			for _, kv := range kvs {
				if v, ok := all[kv.Key]; !ok || v != kv.Value {
					t.Fatalf("HRANDFIELD pair %v not in %v", kv, all)
				}
			}
		}
		// "b" holds a 300-digit value, so the hash is a hashtable: like
		// Redis, one call returns about COUNT (10) elements, fields and
		// values both counted. A full iteration returns every pair.
		var kv []string
		for cursor, n := uint64(0), 0; ; n++ {
			page, next, err := rdb.HScan(ctx, "h", cursor, "", 0).Result()
			check(err, nil)
			kv, cursor = append(kv, page...), next
			if cursor == 0 || n > 100 {
				break
			}
		}
		check(len(kv), 2*len(all))
		matched := map[string]string{}
		for cursor, n := uint64(0), 0; ; n++ {
			page, next, err := rdb.HScan(ctx, "h", cursor, "[ac]", 0).Result()
			check(err, nil)
			for i := 0; i+1 < len(page); i += 2 {
				matched[page[i]] = page[i+1]
			}
			if cursor = next; cursor == 0 || n > 100 {
				break
			}
		}
		check(len(matched) == 2 && matched["a"] == "11", true)
		check(rdb.HDel(ctx, "h", "a", "b", "zz").Val(), 2)
		check(rdb.HLen(ctx, "h").Val(), 4)
		check(rdb.Del(ctx, "h").Val(), 1)
		rdb.Set(ctx, "str", "x", 0)
		check(rdb.HGetAll(ctx, "str").Err(), "WRONGTYPE Operation against a key holding the wrong kind of value")
		check(rdb.Type(ctx, "str").Val(), "string")
	})
}

// TestHashIncrByFloatRange checks long double range and precision against
// redis-server 7.0.15's results.
func TestHashIncrByFloatRange(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	rdb.HSet(ctx, "f", "big", "1e4000")
	v, err := rdb.Do(ctx, "HINCRBYFLOAT", "f", "big", "1e4932").Text()
	if err != nil || len(v) != 4933 || !strings.HasPrefix(v, "10000000000000000000060189493879638913238377742545331147737850413525") {
		t.Fatalf("HINCRBYFLOAT to 1e4932: %d digits %.70s %v", len(v), v, err)
	}
	if err := rdb.Do(ctx, "HINCRBYFLOAT", "f", "big", "1e4932").Err(); err == nil || err.Error() != "ERR increment would produce NaN or Infinity" {
		t.Fatalf("past long double range: %v", err)
	}
	if got := rdb.HGet(ctx, "f", "big").Val(); got != v {
		t.Fatal("value changed by a failed HINCRBYFLOAT")
	}
	v, err = rdb.Do(ctx, "HINCRBYFLOAT", "f", "x", "1e400").Text()
	if err != nil || len(v) != 401 || !strings.HasPrefix(v, "1000000000000000000028188068394758651458645343362905203862591069353968553400862986") {
		t.Fatalf("HINCRBYFLOAT 1e400: %.90s %v", v, err)
	}
}

func TestHashEncoding(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	enc := func(key, want string) {
		t.Helper()
		if got := rdb.ObjectEncoding(ctx, key).Val(); got != want {
			t.Fatalf("OBJECT ENCODING %s = %q, want %q", key, got, want)
		}
	}
	// redis-server 7.0.15's default hash-max-listpack-entries is 512.
	for i := 0; i < 512; i++ {
		rdb.HSet(ctx, "h", fmt.Sprint("f", i), "v")
	}
	enc("h", "listpack")
	rdb.HSet(ctx, "h", "f512", "v") // the 513th field
	enc("h", "hashtable")
	rdb.HDel(ctx, "h", "f512", "f511")
	enc("h", "hashtable") // no conversion back
	if n := len(rdb.HGetAll(ctx, "h").Val()); n != 511 {
		t.Fatalf("HGETALL after conversion: %d fields", n)
	}

	v64, v65 := strings.Repeat("v", 64), strings.Repeat("v", 65)
	rdb.HSet(ctx, "v", "a", v64)
	enc("v", "listpack")
	rdb.HSet(ctx, "v", "a", v65) // a 65-byte value, even overwriting
	enc("v", "hashtable")
	if rdb.HGet(ctx, "v", "a").Val() != v65 {
		t.Fatal("value lost in conversion")
	}
	rdb.HSet(ctx, "k", v65, "1") // a 65-byte field
	enc("k", "hashtable")
	rdb.HSetNX(ctx, "nx", "a", v65)
	enc("nx", "hashtable")
	rdb.HIncrBy(ctx, "incr", v65, 1)
	enc("incr", "hashtable")
	rdb.HIncrByFloat(ctx, "incrf", v65, 1.5)
	enc("incrf", "hashtable")

	// The thresholds are configurable and apply to new changes.
	rdb.ConfigSet(ctx, "hash-max-listpack-entries", "2")
	rdb.ConfigSet(ctx, "hash-max-listpack-value", "3")
	rdb.HSet(ctx, "c", "a", "1", "b", "2")
	enc("c", "listpack")
	rdb.HSet(ctx, "c", "c", "3")
	enc("c", "hashtable")
	rdb.HSet(ctx, "c2", "a", "1234")
	enc("c2", "hashtable")
	rdb.ConfigSet(ctx, "hash-max-listpack-entries", "0")
	rdb.HSet(ctx, "c3", "a", "1")
	enc("c3", "hashtable")
}

func TestHashScanLarge(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 3)
	const n = 2000
	for i := 0; i < n; i += 100 {
		pairs := make([]any, 0, 200)
		for j := i; j < i+100; j++ {
			pairs = append(pairs, fmt.Sprint("f", j), fmt.Sprint("v", j))
		}
		rdb.HSet(ctx, "big", pairs...)
	}
	if enc := rdb.ObjectEncoding(ctx, "big").Val(); enc != "hashtable" {
		t.Fatalf("encoding %s", enc)
	}
	scan := func(match string, count int64) (map[string]string, int) {
		t.Helper()
		seen := map[string]string{}
		var cursor uint64
		calls := 0
		for {
			kv, next, err := rdb.HScan(ctx, "big", cursor, match, count).Result()
			if err != nil || len(kv)%2 != 0 {
				t.Fatalf("HSCAN: %v %v", kv, err)
			}
			for i := 0; i < len(kv); i += 2 {
				seen[kv[i]] = kv[i+1]
			}
			calls++
			if cursor = next; cursor == 0 {
				return seen, calls
			}
			if calls > 10*n {
				t.Fatal("HSCAN does not terminate")
			}
		}
	}
	calls := map[int64]int{}
	for _, count := range []int64{0, 1, 10, 1000} {
		seen, c := scan("", count)
		calls[count] = c
		if len(seen) != n {
			t.Fatalf("COUNT %d: saw %d of %d fields", count, len(seen), n)
		}
		for f, v := range seen {
			if "v"+f[1:] != v {
				t.Fatalf("field %s has value %s", f, v)
			}
		}
	}
	if calls[1000] >= calls[10] || calls[10] >= calls[1] {
		t.Fatalf("COUNT has no effect: calls per COUNT %v", calls)
	}
	if seen, _ := scan("f1*", 50); len(seen) != 1111 {
		t.Fatalf("MATCH f1*: %d fields", len(seen))
	}

	// go-redis's iterator.
	items := 0
	for it := rdb.HScan(ctx, "big", 0, "", 100).Iterator(); it.Next(ctx); {
		items++
	}
	if items != 2*n {
		t.Fatalf("iterator gave %d items", items)
	}

	// Fields present for the whole scan are returned even if the hash
	// shrinks and grows between calls.
	seen := map[string]bool{}
	var cursor uint64
	for round := 0; ; round++ {
		kv, next, err := rdb.HScan(ctx, "big", cursor, "", 20).Result()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(kv); i += 2 {
			seen[kv[i]] = true
		}
		switch round {
		case 3:
			for i := 1000; i < n; i++ {
				rdb.HDel(ctx, "big", fmt.Sprint("f", i))
			}
		case 6:
			for i := n; i < 3*n; i++ {
				rdb.HSet(ctx, "big", fmt.Sprint("f", i), "new")
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	for i := 0; i < 1000; i++ {
		if !seen[fmt.Sprint("f", i)] {
			t.Fatalf("f%d missed while the hash changed", i)
		}
	}
}

func TestHashRandField(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	for _, size := range []int{5, 300} { // listpack, hashtable
		key := fmt.Sprint("h", size)
		for i := 0; i < size; i++ {
			rdb.HSet(ctx, key, fmt.Sprint("f", i), fmt.Sprint("v", i))
		}
		for _, count := range []int{1, 3, size - 1, size, size + 10, -1, -7, -3 * size} {
			fields := rdb.HRandField(ctx, key, count).Val()
			want := min(count, size)
			if count < 0 {
				want = -count
			}
			if len(fields) != want {
				t.Fatalf("HRANDFIELD %s %d: %d fields", key, count, len(fields))
			}
			distinct := map[string]bool{}
			for _, f := range fields {
				if !rdb.HExists(ctx, key, f).Val() {
					t.Fatalf("HRANDFIELD gave unknown field %q", f)
				}
				distinct[f] = true
			}
			if count > 0 && len(distinct) != len(fields) {
				t.Fatalf("HRANDFIELD %s %d repeated a field: %v", key, count, fields)
			}
		}
		// A negative count samples with repetition: over many fields
		// of a 5-field hash, every field shows up.
		if size == 5 {
			distinct := map[string]bool{}
			for _, f := range rdb.HRandField(ctx, key, -200).Val() {
				distinct[f] = true
			}
			if len(distinct) != 5 {
				t.Fatalf("HRANDFIELD -200 covered only %v", distinct)
			}
		}
		single := map[string]bool{}
		for i := 0; i < 20*size; i++ {
			single[rdb.Do(ctx, "HRANDFIELD", key).Val().(string)] = true
		}
		if len(single) < size*9/10 {
			t.Fatalf("HRANDFIELD %s without count is not random: %d distinct", key, len(single))
		}
	}
}

// TestHashWire checks exact replies, reply types included, in both
// protocols (taken from redis-server 7.0.15).
func TestHashWire(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	common := []string{
		"HSET h a 1 b 2\r\n", ":2\r\n",
		"HKEYS h\r\n", "*2\r\n$1\r\na\r\n$1\r\nb\r\n",
		"HVALS h\r\n", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n",
		"HRANDFIELD h 0\r\n", "*0\r\n",
		"HRANDFIELD nokey 2 WITHVALUES\r\n", "*0\r\n",
		"HSCAN h 0\r\n", "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
		"HEXISTS h a\r\n", ":1\r\n",
		"HINCRBYFLOAT h f 1.5\r\n", "$3\r\n1.5\r\n",
		"HSTRLEN h a\r\n", ":1\r\n",
		"HDEL h b f\r\n", ":2\r\n",
		"HRANDFIELD h -2\r\n", "*2\r\n$1\r\na\r\n$1\r\na\r\n",
	}
	resp2 := []string{
		"HGETALL h\r\n", "*2\r\n$1\r\na\r\n$1\r\n1\r\n",
		"HGETALL nokey\r\n", "*0\r\n",
		"HMGET h a x\r\n", "*2\r\n$1\r\n1\r\n$-1\r\n",
		"HGET h x\r\n", "$-1\r\n",
		"HRANDFIELD nokey\r\n", "$-1\r\n",
		"HRANDFIELD h 2 WITHVALUES\r\n", "*2\r\n$1\r\na\r\n$1\r\n1\r\n",
		"HRANDFIELD h -2 WITHVALUES\r\n", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n",
	}
	resp3 := []string{
		"HGETALL h\r\n", "%1\r\n$1\r\na\r\n$1\r\n1\r\n",
		"HGETALL nokey\r\n", "%0\r\n",
		"HMGET h a x\r\n", "*2\r\n$1\r\n1\r\n_\r\n",
		"HGET h x\r\n", "_\r\n",
		"HRANDFIELD nokey\r\n", "_\r\n",
		"HRANDFIELD h 2 WITHVALUES\r\n", "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
		"HRANDFIELD h -2 WITHVALUES\r\n", "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
	}
	for proto, pairs := range map[int][]string{2: resp2, 3: resp3} {
		c := wireConn(t, ts, proto)
		c.Send("FLUSHALL\r\n")
		c.Expect("+OK\r\n")
		for _, seq := range [][]string{common, pairs} {
			for i := 0; i < len(seq); i += 2 {
				c.Send(seq[i])
				c.Expect(seq[i+1])
			}
		}
	}
}

func TestHashNotifications(t *testing.T) {
	got := collectEvents(t, func(ctx context.Context, rdb *goredis.Client) {
		rdb.HSet(ctx, "h", "a", "1", "b", "2")
		rdb.HSet(ctx, "h", "a", "1") // an update still notifies
		rdb.HSetNX(ctx, "h", "a", "1")
		rdb.HSetNX(ctx, "h", "c", "1")
		rdb.HMSet(ctx, "h", "d", "1")
		rdb.HDel(ctx, "h", "zz")
		rdb.HDel(ctx, "h", "a")
		rdb.HIncrBy(ctx, "h", "n", 1)
		rdb.HIncrByFloat(ctx, "h", "n", 1.5)
		rdb.HIncrBy(ctx, "h", "n", 1) // fails: not an integer
		rdb.HDel(ctx, "h", "b", "c", "d", "n")
	})
	want := []string{"hset h", "hset h", "hset h", "hset h", "hdel h", "hincrby h", "hincrbyfloat h", "hdel h", "del h"}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
}

// TestHashSetTransactions runs the shapes kombu (Celery's Redis transport)
// uses: unacked messages in a hash and bindings in a set, written in
// MULTI/EXEC and pipelines, and a WATCH that only real changes break.
func TestHashSetTransactions(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		cmds, err := rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.HSet(ctx, "unacked", "tag1", `{"body":"x"}`)
			p.SAdd(ctx, "_kombu.binding.celery", "celery\x06\x16\x06\x16celery")
			p.SMembers(ctx, "_kombu.binding.celery")
			p.HGet(ctx, "unacked", "tag1")
			p.Do(ctx, "SINTERCARD", "1", "_kombu.binding.celery")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintln(cmds[2].(*goredis.StringSliceCmd).Val(), cmds[3].(*goredis.StringCmd).Val(), cmds[4].(*goredis.Cmd).Val())
		if got != "[celery\x06\x16\x06\x16celery] {\"body\":\"x\"} 1\n" {
			t.Fatalf("MULTI replies %q", got)
		}
		p := rdb.Pipeline()
		for i := 0; i < 100; i++ {
			p.HSet(ctx, "unacked", fmt.Sprint("t", i), "m")
		}
		for i := 0; i < 100; i += 2 {
			p.HDel(ctx, "unacked", fmt.Sprint("t", i))
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if n := rdb.HLen(ctx, "unacked").Val(); n != 51 {
			t.Fatalf("HLEN after pipeline: %d", n)
		}

		// WATCH: no-op writes do not touch the key, real ones do.
		for _, tc := range []struct {
			key   string
			write func() error
			abort bool
		}{
			{"_kombu.binding.celery", func() error { return rdb.SAdd(ctx, "_kombu.binding.celery", "celery\x06\x16\x06\x16celery").Err() }, false},
			{"_kombu.binding.celery", func() error { return rdb.SRem(ctx, "_kombu.binding.celery", "nope").Err() }, false},
			{"unacked", func() error { return rdb.HDel(ctx, "unacked", "nope").Err() }, false},
			{"unacked", func() error { return rdb.HSetNX(ctx, "unacked", "t1", "m").Err() }, false},
			{"unacked", func() error { return rdb.HSet(ctx, "unacked", "t1", "m").Err() }, true},
			{"_kombu.binding.celery", func() error { return rdb.SAdd(ctx, "_kombu.binding.celery", "other").Err() }, true},
			{"dst", func() error { return rdb.SInterStore(ctx, "dst", "_kombu.binding.celery").Err() }, true},
		} {
			err := rdb.Watch(ctx, func(tx *goredis.Tx) error {
				if err := tc.write(); err != nil {
					return err
				}
				_, err := tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
					p.Ping(ctx)
					return nil
				})
				return err
			}, tc.key)
			if aborted := err == goredis.TxFailedErr; aborted != tc.abort || (err != nil && !aborted) {
				t.Fatalf("WATCH %s: err %v, want abort %v", tc.key, err, tc.abort)
			}
		}
	})
}
