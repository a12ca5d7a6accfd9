package redis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"ferry/internal/keyspace"
)

func TestSetCommands(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		runCollCases(t, ctx, rdb, setCases)
	})
}

var setCases = []collCase{
	// SADD / SREM / SCARD / SISMEMBER / SMISMEMBER / SMEMBERS (a set in RESP3)
	{cmd: `SADD s 1 2 3`, want: `3`},
	{cmd: `SADD s 3 4`, want: `1`},
	{cmd: `SADD s 4`, want: `0`},
	{cmd: `SADD t 2 3 4 x`, want: `4`},
	{cmd: `SADD u 3 x y`, want: `3`},
	{cmd: `SCARD s`, want: `4`},
	{cmd: `SCARD nokey`, want: `0`},
	{cmd: `SISMEMBER s 1`, want: `1`},
	{cmd: `SISMEMBER s 01`, want: `0`},
	{cmd: `SISMEMBER s 9`, want: `0`},
	{cmd: `SISMEMBER t x`, want: `1`},
	{cmd: `SISMEMBER nokey a`, want: `0`},
	{cmd: `SMISMEMBER s 1 9 2`, want: `[1 0 1]`},
	{cmd: `SMISMEMBER nokey a b`, want: `[0 0]`},
	{cmd: `SMEMBERS s`, want: `[1 2 3 4]`},
	{cmd: `SMEMBERS t`, want: `[2 3 4 x]`, sorted: true},
	{cmd: `SMEMBERS nokey`, want: `[]`},
	{cmd: `SREM s 9`, want: `0`},
	{cmd: `SREM nokey a`, want: `0`},
	{cmd: `SADD e 1`, want: `1`},
	{cmd: `SREM e 1 2`, want: `1`},
	{cmd: `EXISTS e`, want: `0`},
	// SINTER / SINTERCARD / SINTERSTORE
	{cmd: `SINTER s t`, want: `[2 3 4]`, sorted: true},
	{cmd: `SINTER t u`, want: `[3 x]`, sorted: true},
	{cmd: `SINTER s t u`, want: `[3]`},
	{cmd: `SINTER s nokey`, want: `[]`},
	{cmd: `SINTER nokey s`, want: `[]`},
	{cmd: `SINTER s`, want: `[1 2 3 4]`},
	{cmd: `SINTER s s`, want: `[1 2 3 4]`},
	{cmd: `SINTERCARD 2 s t`, want: `3`},
	{cmd: `SINTERCARD 3 s t u`, want: `1`},
	{cmd: `SINTERCARD 1 nokey`, want: `0`},
	{cmd: `SINTERCARD 2 s t LIMIT 1`, want: `1`},
	{cmd: `SINTERCARD 2 s t LIMIT 0`, want: `3`},
	{cmd: `SINTERCARD 2 s t LIMIT 100`, want: `3`},
	{cmd: `SINTERCARD 2 s t LIMIT 1 LIMIT 0`, want: `3`},
	{cmd: `SINTERCARD 0 s`, want: `ERR numkeys should be greater than 0`},
	{cmd: `SINTERCARD -1 s`, want: `ERR numkeys should be greater than 0`},
	{cmd: `SINTERCARD x s`, want: `ERR numkeys should be greater than 0`},
	{cmd: `SINTERCARD 3 s t`, want: `ERR Number of keys can't be greater than number of args`},
	{cmd: `SINTERCARD 2 s t LIMIT -1`, want: `ERR LIMIT can't be negative`},
	{cmd: `SINTERCARD 2 s t LIMIT x`, want: `ERR LIMIT can't be negative`},
	{cmd: `SINTERCARD 2 s t LIMIT`, want: `ERR syntax error`},
	{cmd: `SINTERCARD 2 s t FOO 1`, want: `ERR syntax error`},
	{cmd: `SINTERCARD 1 s t`, want: `ERR syntax error`},
	{cmd: `SINTERSTORE d s t`, want: `3`},
	{cmd: `SMEMBERS d`, want: `[2 3 4]`},
	{cmd: `SINTERSTORE d s nokey`, want: `0`},
	{cmd: `EXISTS d`, want: `0`},
	{cmd: `SINTERSTORE d nokey`, want: `0`},
	{cmd: `EXISTS d`, want: `0`},
	{cmd: `SINTERSTORE s s`, want: `4`},
	{cmd: `SMEMBERS s`, want: `[1 2 3 4]`},
	// SUNION / SUNIONSTORE
	{cmd: `SUNION s t`, want: `[1 2 3 4 x]`, sorted: true},
	{cmd: `SUNION s nokey u`, want: `[1 2 3 4 x y]`, sorted: true},
	{cmd: `SUNION nokey`, want: `[]`},
	{cmd: `SUNIONSTORE d s nokey`, want: `4`},
	{cmd: `SMEMBERS d`, want: `[1 2 3 4]`},
	{cmd: `SUNIONSTORE d nokey`, want: `0`},
	{cmd: `EXISTS d`, want: `0`},
	// SDIFF / SDIFFSTORE
	{cmd: `SDIFF s t`, want: `[1]`},
	{cmd: `SDIFF t s`, want: `[x]`, sorted: true},
	{cmd: `SDIFF s nokey`, want: `[1 2 3 4]`},
	{cmd: `SDIFF nokey s`, want: `[]`},
	{cmd: `SDIFF s s`, want: `[]`},
	{cmd: `SDIFF s t s`, want: `[]`},
	{cmd: `SDIFF u s nokey`, want: `[x y]`, sorted: true},
	{cmd: `SDIFFSTORE d u s`, want: `2`},
	{cmd: `SMEMBERS d`, want: `[x y]`, sorted: true},
	{cmd: `SDIFFSTORE d s s`, want: `0`},
	{cmd: `EXISTS d`, want: `0`},
	{cmd: `SDIFFSTORE d nokey s`, want: `0`},
	// STORE replaces any type and drops the TTL
	{cmd: `SET str v EX 100`, want: `OK`},
	{cmd: `SINTERSTORE str s t`, want: `3`},
	{cmd: `TYPE str`, want: `set`},
	{cmd: `TTL str`, want: `-1`},
	{cmd: `SET str v`, want: `OK`},
	// SMOVE
	{cmd: `SADD m1 a b`, want: `2`},
	{cmd: `SMOVE m1 m2 a`, want: `1`},
	{cmd: `SMEMBERS m2`, want: `[a]`},
	{cmd: `SMOVE m1 m2 nope`, want: `0`},
	{cmd: `SMOVE m1 m1 b`, want: `1`},
	{cmd: `SMOVE m1 m1 nope`, want: `0`},
	{cmd: `SMOVE m1 m2 b`, want: `1`},
	{cmd: `EXISTS m1`, want: `0`},
	{cmd: `SMOVE nokey m2 a`, want: `0`},
	{cmd: `SMOVE nokey str a`, want: `0`},
	{cmd: `SMOVE m2 str a`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SMOVE str m2 a`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	// SPOP / SRANDMEMBER (single-member sets are deterministic)
	{cmd: `SADD one 7`, want: `1`},
	{cmd: `SRANDMEMBER one`, want: `7`},
	{cmd: `SRANDMEMBER one 1`, want: `[7]`},
	{cmd: `SRANDMEMBER one 5`, want: `[7]`},
	{cmd: `SRANDMEMBER one -3`, want: `[7 7 7]`},
	{cmd: `SRANDMEMBER one 0`, want: `[]`},
	{cmd: `SRANDMEMBER nokey`, want: `(nil)`},
	{cmd: `SRANDMEMBER nokey 3`, want: `[]`},
	{cmd: `SRANDMEMBER nokey -3`, want: `[]`},
	{cmd: `SRANDMEMBER u 10`, want: `[3 x y]`, sorted: true},
	{cmd: `SRANDMEMBER one 1 2`, want: `ERR syntax error`},
	{cmd: `SRANDMEMBER one x`, want: `ERR value is not an integer or out of range`},
	{cmd: `SRANDMEMBER one -9223372036854775808`, want: `ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807`},
	{cmd: `SPOP one 0`, want: `[]`},
	{cmd: `SPOP one -1`, want: `ERR value is out of range, must be positive`},
	{cmd: `SPOP one x`, want: `ERR value is out of range, must be positive`},
	{cmd: `SPOP one 1 2`, want: `ERR syntax error`},
	{cmd: `SPOP one`, want: `7`},
	{cmd: `EXISTS one`, want: `0`},
	{cmd: `SPOP nokey`, want: `(nil)`},
	{cmd: `SPOP nokey 3`, want: `[]`},
	{cmd: `SADD one 7`, want: `1`},
	{cmd: `SPOP one 3`, want: `[7]`},
	{cmd: `EXISTS one`, want: `0`},
	{cmd: `SPOP u 10`, want: `[3 x y]`, sorted: true},
	{cmd: `EXISTS u`, want: `0`},
	// SSCAN on an intset: everything at once, cursor 0
	{cmd: `SSCAN s 0`, want: `[0 [1 2 3 4]]`},
	{cmd: `SSCAN s 42`, want: `[0 [1 2 3 4]]`},
	{cmd: `SSCAN s 0 MATCH 3*`, want: `[0 [3]]`},
	{cmd: `SSCAN s 0 COUNT 1 MATCH *`, want: `[0 [1 2 3 4]]`},
	{cmd: `SSCAN nokey 0`, want: `[0 []]`},
	{cmd: `SSCAN nokey 0 BADOPTION`, want: `[0 []]`},
	{cmd: `SSCAN s x`, want: `ERR invalid cursor`},
	{cmd: `SSCAN s 0 COUNT 0`, want: `ERR syntax error`},
	{cmd: `SSCAN s 0 COUNT x`, want: `ERR value is not an integer or out of range`},
	{cmd: `SSCAN s 0 MATCH`, want: `ERR syntax error`},
	{cmd: `SSCAN s 0 TYPE set`, want: `ERR syntax error`},
	// WRONGTYPE
	{cmd: `SADD str a`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SREM str a`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SCARD str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SISMEMBER str a`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SMISMEMBER str a`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SMEMBERS str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SPOP str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SPOP str 0`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SRANDMEMBER str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SRANDMEMBER str 1`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SINTER s str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SINTER nokey str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SINTERCARD 2 nokey str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SINTERSTORE d s str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SUNION str nokey`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SUNIONSTORE d s str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SDIFF nokey str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SDIFF str s`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SDIFFSTORE d s str`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SSCAN str 0`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SSCAN str 0 BADOPTION`, want: `WRONGTYPE Operation against a key holding the wrong kind of value`},
	{cmd: `SSCAN str x`, want: `ERR invalid cursor`},
	{cmd: `SRANDMEMBER str x`, want: `ERR value is not an integer or out of range`},
	{cmd: `SPOP str x`, want: `ERR value is out of range, must be positive`},
}

func TestSetClient(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		check := func(got, want any) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
		sorted := func(s []string) []string { slices.Sort(s); return s }
		check(rdb.SAdd(ctx, "s", "a", "b", "c", 1).Val(), 4)
		check(rdb.SAdd(ctx, "t", "b", "c", "d").Val(), 3)
		check(rdb.SCard(ctx, "s").Val(), 4)
		check(rdb.SIsMember(ctx, "s", "a").Val(), true)
		check(rdb.SIsMember(ctx, "s", "z").Val(), false)
		check(rdb.SMIsMember(ctx, "s", "a", "z", 1).Val(), []bool{true, false, true})
		check(sorted(rdb.SMembers(ctx, "s").Val()), []string{"1", "a", "b", "c"})
		check(len(rdb.SMembersMap(ctx, "s").Val()), 4)
		check(sorted(rdb.SInter(ctx, "s", "t").Val()), []string{"b", "c"})
		check(rdb.SInterCard(ctx, 0, "s", "t").Val(), 2)
		check(rdb.SInterCard(ctx, 1, "s", "t").Val(), 1)
		check(rdb.SInterStore(ctx, "i", "s", "t").Val(), 2)
		check(sorted(rdb.SUnion(ctx, "s", "t").Val()), []string{"1", "a", "b", "c", "d"})
		check(rdb.SUnionStore(ctx, "u", "s", "t").Val(), 5)
		check(sorted(rdb.SDiff(ctx, "s", "t").Val()), []string{"1", "a"})
		check(rdb.SDiffStore(ctx, "d", "s", "t").Val(), 2)
		check(sorted(rdb.SMembers(ctx, "d").Val()), []string{"1", "a"})
		check(rdb.SMove(ctx, "s", "t", "a").Val(), true)
		check(rdb.SMove(ctx, "s", "t", "a").Val(), false)
		check(rdb.SRem(ctx, "t", "a", "zz").Val(), 1)
		check(len(rdb.SRandMemberN(ctx, "u", 3).Val()), 3)
		check(len(rdb.SRandMemberN(ctx, "u", -8).Val()), 8)
		check(rdb.SIsMember(ctx, "u", rdb.SRandMember(ctx, "u").Val()).Val(), true)
		popped := rdb.SPopN(ctx, "u", 2).Val()
		check(len(popped), 2)
		check(rdb.SCard(ctx, "u").Val(), 3)
		check(rdb.SIsMember(ctx, "u", popped[0]).Val(), false)
		check(rdb.SIsMember(ctx, "u", rdb.SPop(ctx, "u").Val()).Val(), false)
		check(len(rdb.SPopN(ctx, "u", 10).Val()), 2)
		check(rdb.Exists(ctx, "u").Val(), 0)
		check(rdb.SPop(ctx, "u").Err(), goredis.Nil)
		keys, cursor, err := rdb.SScan(ctx, "s", 0, "", 0).Result()
		check(fmt.Sprint(sorted(keys), cursor, err), "[1 b c] 0 <nil>")
		check(rdb.SInterCard(ctx, -1, "s").Err(), "ERR LIMIT can't be negative")
		rdb.Set(ctx, "str", "x", 0)
		check(rdb.SAdd(ctx, "str", "a").Err(), "WRONGTYPE Operation against a key holding the wrong kind of value")
	})
}

func TestSetEncoding(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	enc := func(key, want string) {
		t.Helper()
		if got := rdb.ObjectEncoding(ctx, key).Val(); got != want {
			t.Fatalf("OBJECT ENCODING %s = %q, want %q", key, got, want)
		}
	}
	for i := 0; i < 512; i++ {
		rdb.SAdd(ctx, "ints", i)
	}
	enc("ints", "intset")
	rdb.SAdd(ctx, "ints", 512) // the 513th integer
	enc("ints", "hashtable")
	rdb.SRem(ctx, "ints", 512, 511)
	enc("ints", "hashtable") // no conversion back
	if n := rdb.SCard(ctx, "ints").Val(); n != 511 || !rdb.SIsMember(ctx, "ints", 7).Val() {
		t.Fatalf("after conversion: SCARD %d", n)
	}

	rdb.SAdd(ctx, "mixed", 1, 2, -9223372036854775808, 9223372036854775807)
	enc("mixed", "intset")
	rdb.SAdd(ctx, "mixed", "x") // a non-integer member
	enc("mixed", "hashtable")
	for _, m := range []string{"01", "+1", " 1", "1.0", "9223372036854775808", "0x1"} {
		key := "nonint" + m
		rdb.SAdd(ctx, key, m) // not integers in canonical form
		enc(key, "hashtable")
		if got := rdb.SMembers(ctx, key).Val(); len(got) != 1 || got[0] != m {
			t.Fatalf("member %q came back as %q", m, got)
		}
	}
	if !rdb.SIsMember(ctx, "mixed", "-9223372036854775808").Val() || rdb.SIsMember(ctx, "mixed", "01").Val() {
		t.Fatal("SISMEMBER after conversion")
	}

	// Results of the STORE forms and SMOVE's new destination take the
	// encoding their members call for.
	rdb.SAdd(ctx, "a", 1, 2, 3, "x")
	rdb.SAdd(ctx, "b", 2, 3, "x")
	rdb.SInterStore(ctx, "i", "a", "b")
	enc("i", "hashtable")
	rdb.SRem(ctx, "b", "x")
	rdb.SInterStore(ctx, "i", "a", "b")
	enc("i", "intset")
	rdb.SDiffStore(ctx, "d", "a", "b")
	enc("d", "hashtable")
	rdb.SUnionStore(ctx, "u", "b", "ints")
	enc("u", "intset")
	rdb.SMove(ctx, "a", "m", 1)
	enc("m", "intset")
	rdb.SMove(ctx, "a", "m2", "x")
	enc("m2", "hashtable")

	rdb.ConfigSet(ctx, "set-max-intset-entries", "2")
	rdb.SAdd(ctx, "c", 1, 2)
	enc("c", "intset")
	rdb.SAdd(ctx, "c", 3)
	enc("c", "hashtable")
}

func TestSetScanLarge(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 3)
	const n = 3000
	for _, key := range []string{"ints", "strs"} {
		for i := 0; i < n; i += 500 {
			members := make([]any, 0, 500)
			for j := i; j < i+500; j++ {
				if key == "ints" {
					members = append(members, j)
				} else {
					members = append(members, fmt.Sprint("m", j))
				}
			}
			rdb.SAdd(ctx, key, members...)
		}
		if enc := rdb.ObjectEncoding(ctx, key).Val(); enc != "hashtable" {
			t.Fatalf("%s encoding %s", key, enc)
		}
		for _, count := range []int64{0, 7, 10000} {
			seen := map[string]bool{}
			var cursor uint64
			for calls := 0; ; calls++ {
				members, next, err := rdb.SScan(ctx, key, cursor, "", count).Result()
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range members {
					seen[m] = true
				}
				if cursor = next; cursor == 0 {
					break
				}
				if calls > 10*n {
					t.Fatal("SSCAN does not terminate")
				}
			}
			if len(seen) != n {
				t.Fatalf("SSCAN %s COUNT %d saw %d of %d", key, count, len(seen), n)
			}
		}
	}
	matched := 0
	for it := rdb.SScan(ctx, "ints", 0, "*7", 50).Iterator(); it.Next(ctx); {
		if v := it.Val(); v[len(v)-1] != '7' {
			t.Fatalf("MATCH *7 gave %q", v)
		}
		matched++
	}
	if matched != n/10 {
		t.Fatalf("MATCH *7 gave %d members", matched)
	}
	// A small intset is returned whole with cursor 0 whatever the cursor.
	rdb.SAdd(ctx, "small", 3, 1, 2)
	if m, c, _ := rdb.SScan(ctx, "small", 12345, "", 1).Result(); fmt.Sprint(m, c) != "[1 2 3] 0" {
		t.Fatalf("SSCAN on an intset: %v %d", m, c)
	}
}

func TestSetRandomAndPop(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	for _, tc := range []struct {
		key  string
		size int
		str  bool
	}{{"intset", 20, false}, {"table", 500, true}} {
		members := make([]any, tc.size)
		for i := range members {
			if tc.str {
				members[i] = fmt.Sprint("m", i)
			} else {
				members[i] = i * 3
			}
		}
		rdb.SAdd(ctx, tc.key, members...)
		for _, count := range []int64{1, 2, int64(tc.size) / 2, int64(tc.size) - 1, int64(tc.size), int64(tc.size) + 5, -1, -3 * int64(tc.size)} {
			got := rdb.SRandMemberN(ctx, tc.key, count).Val()
			want := min(count, int64(tc.size))
			if count < 0 {
				want = -count
			}
			if int64(len(got)) != want {
				t.Fatalf("SRANDMEMBER %s %d: %d members", tc.key, count, len(got))
			}
			distinct := map[string]bool{}
			for _, m := range got {
				distinct[m] = true
			}
			if count > 0 && len(distinct) != len(got) {
				t.Fatalf("SRANDMEMBER %s %d repeated members", tc.key, count)
			}
			if count == -3*int64(tc.size) && len(distinct) < tc.size/2 {
				t.Fatalf("SRANDMEMBER %s %d: only %d distinct", tc.key, count, len(distinct))
			}
			for m := range distinct {
				if !rdb.SIsMember(ctx, tc.key, m).Val() {
					t.Fatalf("SRANDMEMBER gave a non-member %q", m)
				}
			}
		}
		// SPOP with a count removes what it returns, all distinct.
		all := map[string]bool{}
		for len(all) < tc.size {
			n := rdb.SCard(ctx, tc.key).Val()
			got := rdb.SPopN(ctx, tc.key, 7).Val()
			if int64(len(got)) != min(7, n) {
				t.Fatalf("SPOP %s 7 with %d left: %d members", tc.key, n, len(got))
			}
			for _, m := range got {
				if all[m] || rdb.SIsMember(ctx, tc.key, m).Val() {
					t.Fatalf("SPOP returned %q twice or left it", m)
				}
				all[m] = true
			}
		}
		if rdb.Exists(ctx, tc.key).Val() != 0 {
			t.Fatalf("%s not deleted when emptied", tc.key)
		}
	}
}

// TestSetAlgebra checks SINTER, SUNION, SDIFF, SINTERCARD and the STORE
// forms against sets computed here, over shapes that take each of SDIFF's
// two algorithms and both encodings.
func TestSetAlgebra(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 3)
	r := rand.New(rand.NewPCG(1, 2))
	model := map[string]map[string]bool{}
	fill := func(key string, n, universe int, ints bool) {
		m := map[string]bool{}
		var args []any
		for len(m) < n {
			v := strconv.Itoa(r.IntN(universe))
			if !ints && r.IntN(2) == 0 {
				v = "s" + v
			}
			if !m[v] {
				m[v] = true
				args = append(args, v)
			}
		}
		rdb.Del(ctx, key)
		for i := 0; i < len(args); i += 1000 {
			rdb.SAdd(ctx, key, args[i:min(i+1000, len(args))]...)
		}
		model[key] = m
	}
	op := func(kind string, keys []string) []string {
		var out []string
		first := model[keys[0]]
		for v := range first {
			keep := true
			for _, k := range keys[1:] {
				if kind == "inter" && !model[k][v] || kind == "diff" && model[k][v] {
					keep = false
				}
			}
			if keep {
				out = append(out, v)
			}
		}
		if kind == "union" {
			u := map[string]bool{}
			for _, k := range keys {
				for v := range model[k] {
					u[v] = true
				}
			}
			out = out[:0]
			for v := range u {
				out = append(out, v)
			}
		}
		sort.Strings(out)
		return out
	}
	sorted := func(s []string) []string { sort.Strings(s); return s }
	for round := 0; round < 20; round++ {
		fill("small", 1+r.IntN(30), 100, round%2 == 0)
		fill("big", 600+r.IntN(2000), 3000, round%3 == 0)
		fill("mid", 100+r.IntN(200), 300, false)
		model["nokey"] = map[string]bool{}
		for _, keys := range [][]string{
			{"small", "big"}, {"big", "small"}, {"big", "small", "mid"}, {"mid", "big", "small"},
			{"big", "mid"}, {"small"}, {"big", "big"}, {"small", "nokey"}, {"nokey", "small"},
		} {
			want := op("inter", keys)
			if got := sorted(rdb.SInter(ctx, keys...).Val()); !slices.Equal(got, want) {
				t.Fatalf("SINTER %v: %d members, want %d", keys, len(got), len(want))
			}
			if n := rdb.SInterCard(ctx, 0, keys...).Val(); n != int64(len(want)) {
				t.Fatalf("SINTERCARD %v = %d, want %d", keys, n, len(want))
			}
			if n := rdb.SInterCard(ctx, 5, keys...).Val(); n != min(5, int64(len(want))) {
				t.Fatalf("SINTERCARD %v LIMIT 5 = %d", keys, n)
			}
			if n := rdb.SInterStore(ctx, "dst", keys...).Val(); n != int64(len(want)) || !slices.Equal(sorted(rdb.SMembers(ctx, "dst").Val()), want) {
				t.Fatalf("SINTERSTORE %v", keys)
			}
			want = op("union", keys)
			if got := sorted(rdb.SUnion(ctx, keys...).Val()); !slices.Equal(got, want) {
				t.Fatalf("SUNION %v: %d members, want %d", keys, len(got), len(want))
			}
			if n := rdb.SUnionStore(ctx, "dst", keys...).Val(); n != int64(len(want)) || !slices.Equal(sorted(rdb.SMembers(ctx, "dst").Val()), want) {
				t.Fatalf("SUNIONSTORE %v", keys)
			}
			want = op("diff", keys)
			if keys[0] == "big" && keys[1] == "big" {
				want = nil
			}
			if got := sorted(rdb.SDiff(ctx, keys...).Val()); !slices.Equal(got, want) {
				t.Fatalf("SDIFF %v: %d members, want %d", keys, len(got), len(want))
			}
			if n := rdb.SDiffStore(ctx, "dst", keys...).Val(); n != int64(len(want)) || !slices.Equal(sorted(rdb.SMembers(ctx, "dst").Val()), want) {
				t.Fatalf("SDIFFSTORE %v", keys)
			}
			if len(want) == 0 && rdb.Exists(ctx, "dst").Val() != 0 {
				t.Fatalf("SDIFFSTORE %v left an empty destination", keys)
			}
		}
	}
	// A STORE whose destination is also a source.
	rdb.Del(ctx, "x", "y")
	rdb.SAdd(ctx, "x", 1, 2, 3)
	rdb.SAdd(ctx, "y", 2, 3, 4)
	if n := rdb.SDiffStore(ctx, "x", "x", "y").Val(); n != 1 || fmt.Sprint(rdb.SMembers(ctx, "x").Val()) != "[1]" {
		t.Fatalf("SDIFFSTORE x x y = %d, %v", n, rdb.SMembers(ctx, "x").Val())
	}
}

// TestSetWire checks exact replies, reply types included, in both
// protocols (taken from redis-server 7.0.15): SMEMBERS, SINTER, SUNION,
// SDIFF and SPOP with a count are sets in RESP3, SRANDMEMBER is an array.
func TestSetWire(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	common := []string{
		"SADD s 1 2 3\r\n", ":3\r\n",
		"SADD t 2 3 4\r\n", ":3\r\n",
		"SISMEMBER s 1\r\n", ":1\r\n",
		"SMISMEMBER s 1 9\r\n", "*2\r\n:1\r\n:0\r\n",
		"SRANDMEMBER nokey 2\r\n", "*0\r\n",
		"SADD one x\r\n", ":1\r\n",
		"SRANDMEMBER one 2\r\n", "*1\r\n$1\r\nx\r\n",
		"SRANDMEMBER one -2\r\n", "*2\r\n$1\r\nx\r\n$1\r\nx\r\n",
		"SSCAN s 0\r\n", "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
		"SINTERCARD 2 s t\r\n", ":2\r\n",
	}
	resp2 := []string{
		"SMEMBERS s\r\n", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
		"SMEMBERS nokey\r\n", "*0\r\n",
		"SINTER s t\r\n", "*2\r\n$1\r\n2\r\n$1\r\n3\r\n",
		"SINTER s nokey\r\n", "*0\r\n",
		"SUNION s t\r\n", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
		"SDIFF s t\r\n", "*1\r\n$1\r\n1\r\n",
		"SDIFF nokey s\r\n", "*0\r\n",
		"SRANDMEMBER nokey\r\n", "$-1\r\n",
		"SPOP nokey\r\n", "$-1\r\n",
		"SPOP nokey 2\r\n", "*0\r\n",
		"SPOP s 0\r\n", "*0\r\n",
		"SPOP one 2\r\n", "*1\r\n$1\r\nx\r\n",
	}
	resp3 := []string{
		"SMEMBERS s\r\n", "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
		"SMEMBERS nokey\r\n", "~0\r\n",
		"SINTER s t\r\n", "~2\r\n$1\r\n2\r\n$1\r\n3\r\n",
		"SINTER s nokey\r\n", "~0\r\n",
		"SUNION s t\r\n", "~4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
		"SDIFF s t\r\n", "~1\r\n$1\r\n1\r\n",
		"SDIFF nokey s\r\n", "~0\r\n",
		"SRANDMEMBER nokey\r\n", "_\r\n",
		"SPOP nokey\r\n", "_\r\n",
		"SPOP nokey 2\r\n", "~0\r\n",
		"SPOP s 0\r\n", "~0\r\n",
		"SPOP one 2\r\n", "~1\r\n$1\r\nx\r\n",
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

func TestSetNotifications(t *testing.T) {
	got := collectEvents(t, func(ctx context.Context, rdb *goredis.Client) {
		rdb.SAdd(ctx, "s", 1, 2, 3)
		rdb.SAdd(ctx, "s", 1) // nothing added: no event
		rdb.SRem(ctx, "s", 9)
		rdb.SRem(ctx, "s", 1)
		rdb.SPop(ctx, "s")
		rdb.SPopN(ctx, "s", 0)
		rdb.SPopN(ctx, "s", 5) // "spop", then "del" as it empties
		rdb.SAdd(ctx, "s", 1, 2, 3)
		rdb.SAdd(ctx, "t", 3)
		rdb.SMove(ctx, "s", "t", 1)
		rdb.SMove(ctx, "s", "t", 3) // already in t: only the removal
		rdb.SMove(ctx, "t", "t", 3)
		rdb.SMove(ctx, "s", "t", "nope")
		rdb.SMove(ctx, "s", "u", 2) // empties s, creates u
		rdb.SInterStore(ctx, "d", "t", "u")
		rdb.SAdd(ctx, "d", "x")
		rdb.SInterStore(ctx, "d", "t", "u") // empty result deletes d
		rdb.SUnionStore(ctx, "d", "t", "u")
		rdb.SDiffStore(ctx, "d", "t", "t")
		rdb.SDiffStore(ctx, "d", "t", "u")
		rdb.SInterStore(ctx, "nod", "nokey")
		rdb.SInterStore(ctx, "d", "t")
	})
	want := []string{
		"sadd s", "srem s", "spop s", "spop s", "del s",
		"sadd s", "sadd t", "srem s", "sadd t", "srem s", "srem s", "del s", "sadd u",
		"sadd d", "del d", "sunionstore d", "del d", "sdiffstore d", "sinterstore d",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
}

func TestSetInterCardKeys(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	keys := rdb.CommandGetKeys(ctx, "SINTERCARD", "2", "a", "b", "LIMIT", "1").Val()
	if fmt.Sprint(keys) != "[a b]" {
		t.Fatalf("COMMAND GETKEYS SINTERCARD: %v", keys)
	}
	rdb.SAdd(ctx, "a", 1, 2)
	rdb.SAdd(ctx, "b", 2, 3)
	cmds, err := rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.SInterCard(ctx, 0, "a", "b")
		p.SInterStore(ctx, "c", "a", "b")
		p.SMove(ctx, "a", "b", 1)
		p.SUnion(ctx, "a", "b", "c")
		return nil
	})
	if err != nil || fmt.Sprint(cmds[0].(*goredis.IntCmd).Val(), cmds[1].(*goredis.IntCmd).Val(), cmds[2].(*goredis.BoolCmd).Val(), cmds[3].(*goredis.StringSliceCmd).Val()) != "1 1 true [1 2 3]" {
		t.Fatalf("MULTI: %v %v", cmds, err)
	}
}
