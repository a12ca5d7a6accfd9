package redis

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"ferry/internal/keyspace"
)

func TestSortCommands(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		runCollCases(t, ctx, rdb, sortCases)
	})
}

// sortCases run in order against one server; the replies are
// redis-server 7.0.15's.
var sortCases = []collCase{
	// numeric and ALPHA sorts, ASC and DESC
	{cmd: `RPUSH l 3 1 2 10 -1.5`, want: "5"},
	{cmd: `SORT l`, want: "[-1.5 1 2 3 10]"},
	{cmd: `SORT l ASC`, want: "[-1.5 1 2 3 10]"},
	{cmd: `SORT l DESC`, want: "[10 3 2 1 -1.5]"},
	{cmd: `SORT l ALPHA`, want: "[-1.5 1 10 2 3]"},
	{cmd: `SORT l ALPHA DESC`, want: "[3 2 10 1 -1.5]"},
	{cmd: `SORT l DESC ASC`, want: "[-1.5 1 2 3 10]"},
	// LIMIT offset count
	{cmd: `SORT l LIMIT 1 2`, want: "[1 2]"},
	{cmd: `SORT l LIMIT -5 2`, want: "[-1.5 1]"},
	{cmd: `SORT l LIMIT 1 -1`, want: "[1 2 3 10]"},
	{cmd: `SORT l LIMIT 10 2`, want: "[]"},
	{cmd: `SORT l LIMIT 1 0`, want: "[]"},
	{cmd: `SORT l LIMIT 4 9223372036854775807`, want: "[10]"},
	{cmd: `SORT l LIMIT 9223372036854775807 9223372036854775807`, want: "[]"},
	{cmd: `SORT l DESC LIMIT 0 2`, want: "[10 3]"},
	// BY pattern, GET patterns
	{cmd: `MSET w_3 1 w_1 3 w_2 2 w_10 0 o_3 three o_1 one`, want: "OK"},
	{cmd: `SORT l BY w_*`, want: "[-1.5 10 3 2 1]"},
	{cmd: `SORT l BY w_* DESC`, want: "[1 2 3 10 -1.5]"},
	{cmd: `SORT l BY w_* LIMIT 1 2`, want: "[10 3]"},
	{cmd: `SORT l BY w_* GET o_* GET #`, want: "[(nil) -1.5 (nil) 10 three 3 (nil) 2 one 1]"},
	{cmd: `SORT l BY w_* GET # GET w_* LIMIT 0 2`, want: "[-1.5 (nil) 10 0]"},
	{cmd: `SORT l GET o_*`, want: "[(nil) one (nil) three (nil)]"},
	{cmd: `SORT l GET fixed`, want: "[(nil) (nil) (nil) (nil) (nil)]"},
	{cmd: `SORT l GET #`, want: "[-1.5 1 2 3 10]"},
	{cmd: `SORT l BY w_* ALPHA`, want: "[-1.5 10 3 2 1]"},
	{cmd: `SORT l BY w_* ALPHA DESC`, want: "[1 2 3 10 -1.5]"},
	{cmd: `SORT l BY o_* ALPHA`, want: "[2 10 -1.5 1 3]"},
	{cmd: `SORT l BY o_*`, want: "ERR One or more scores can't be converted into double"},
	{cmd: `SORT l BY nokey_*`, want: "[-1.5 1 10 2 3]"},
	// BY nosort keeps the list's order
	{cmd: `SORT l BY nosort`, want: "[3 1 2 10 -1.5]"},
	{cmd: `SORT l BY nosort DESC`, want: "[-1.5 10 2 1 3]"},
	{cmd: `SORT l BY nosort LIMIT 1 2`, want: "[1 2]"},
	{cmd: `SORT l BY nosort DESC LIMIT 1 2`, want: "[10 2]"},
	{cmd: `SORT l BY nosort GET o_*`, want: "[three one (nil) (nil) (nil)]"},
	{cmd: `SORT l BY nosort BY w_*`, want: "[3 1 2 10 -1.5]"},
	// hash fields
	{cmd: `HSET h_1 f 5`, want: "1"},
	{cmd: `HSET h_2 f 1`, want: "1"},
	{cmd: `HSET h_3 g 7`, want: "1"},
	{cmd: `SORT l BY h_*->f`, want: "[-1.5 10 3 2 1]"},
	{cmd: `SORT l BY h_*->f DESC GET # GET h_*->f`, want: "[1 5 2 1 3 (nil) 10 (nil) -1.5 (nil)]"},
	{cmd: `SORT l GET h_*->g`, want: "[(nil) (nil) (nil) 7 (nil)]"},
	{cmd: `SORT l GET h_*->`, want: "[(nil) (nil) (nil) (nil) (nil)]"},
	{cmd: `SORT l BY w_*->f`, want: "[-1.5 1 10 2 3]"},
	// elements that are not numbers
	{cmd: `RPUSH bad 1 x 2`, want: "3"},
	{cmd: `SORT bad`, want: "ERR One or more scores can't be converted into double"},
	{cmd: `SORT bad ALPHA`, want: "[1 2 x]"},
	{argv: []string{"RPUSH", "n3", "", " 3", "0x10", "inf", "-inf"}, want: "5"},
	{cmd: `SORT n3`, want: "[-inf   3 0x10 inf]"},
	{argv: []string{"RPUSH", "n4", "3 ", "1"}, want: "2"},
	{cmd: `SORT n4`, want: "ERR One or more scores can't be converted into double"},
	{cmd: `RPUSH n5 nan 1`, want: "2"},
	{cmd: `SORT n5`, want: "ERR One or more scores can't be converted into double"},
	{cmd: `RPUSH eq 2 1 02 1.0 01`, want: "5"},
	{cmd: `SORT eq`, want: "[01 1 1.0 02 2]"},
	{cmd: `SORT eq DESC`, want: "[2 02 1.0 1 01]"},
	// sets and sorted sets
	{cmd: `SADD s 5 2 9`, want: "3"},
	{cmd: `SORT s`, want: "[2 5 9]"},
	{cmd: `SORT s DESC LIMIT 0 2`, want: "[9 5]"},
	{cmd: `SORT s BY nosort`, want: "[2 5 9]"},
	{cmd: `SADD s2 b c a 10`, want: "4"},
	{cmd: `SORT s2 ALPHA`, want: "[10 a b c]"},
	{cmd: `SORT s2 BY nosort STORE dst`, want: "4"},
	{cmd: `LRANGE dst 0 -1`, want: "[10 a b c]"},
	{cmd: `ZADD z 3 a 1 b 2 c`, want: "3"},
	{cmd: `SORT z BY nosort`, want: "[b c a]"},
	{cmd: `SORT z BY nosort DESC`, want: "[a c b]"},
	{cmd: `SORT z BY nosort DESC LIMIT 0 2`, want: "[a c]"},
	{cmd: `SORT z BY nosort LIMIT 1 5`, want: "[c a]"},
	{cmd: `SORT z ALPHA`, want: "[a b c]"},
	{cmd: `SORT z ALPHA DESC LIMIT 1 1`, want: "[b]"},
	{cmd: `SORT z`, want: "ERR One or more scores can't be converted into double"},
	{cmd: `ZADD zn 3 10 1 20 2 5`, want: "3"},
	{cmd: `SORT zn`, want: "[5 10 20]"},
	{cmd: `SORT zn BY nosort GET #`, want: "[20 5 10]"},
	// STORE
	{cmd: `SORT l STORE dst`, want: "5"},
	{cmd: `LRANGE dst 0 -1`, want: "[-1.5 1 2 3 10]"},
	{cmd: `TYPE dst`, want: "list"},
	{cmd: `SORT l BY nosort GET o_* STORE dst`, want: "5"},
	{cmd: `LRANGE dst 0 -1`, want: "[three one   ]"},
	{cmd: `SORT l GET # STORE dst GET nope_*`, want: "10"},
	{cmd: `LRANGE dst 0 -1`, want: "[-1.5  1  2  3  10 ]"},
	{cmd: `SORT bad STORE dst`, want: "ERR One or more scores can't be converted into double"},
	{cmd: `LRANGE dst 0 -1`, want: "[-1.5  1  2  3  10 ]"},
	{cmd: `SORT nokey STORE dst`, want: "0"},
	{cmd: `EXISTS dst`, want: "0"},
	{cmd: `SET strdst x`, want: "OK"},
	{cmd: `SORT l STORE strdst`, want: "5"},
	{cmd: `TYPE strdst`, want: "list"},
	{cmd: `SORT l BY w_* STORE w_1`, want: "5"},
	{cmd: `LRANGE w_1 0 -1`, want: "[-1.5 10 3 2 1]"},
	{cmd: `SORT l LIMIT 0 0 STORE l`, want: "0"},
	{cmd: `EXISTS l`, want: "0"},
	// SORT_RO
	{cmd: `RPUSH ro 2 1`, want: "2"},
	{cmd: `SORT_RO ro`, want: "[1 2]"},
	{cmd: `SORT_RO ro DESC GET # BY nosort`, want: "[1 2]"},
	{cmd: `SORT_RO ro STORE dst`, want: "ERR syntax error"},
	// missing keys and errors
	{cmd: `SORT nokey`, want: "[]"},
	{cmd: `SORT nokey BY w_* GET #`, want: "[]"},
	{cmd: `SET str x`, want: "OK"},
	{cmd: `SORT str`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `SORT str foo`, want: "ERR syntax error"},
	{cmd: `SORT ro foo`, want: "ERR syntax error"},
	{cmd: `SORT ro BY`, want: "ERR syntax error"},
	{cmd: `SORT ro GET`, want: "ERR syntax error"},
	{cmd: `SORT ro STORE`, want: "ERR syntax error"},
	{cmd: `SORT ro LIMIT 1`, want: "ERR syntax error"},
	{cmd: `SORT ro LIMIT x 1`, want: "ERR value is not an integer or out of range"},
	{cmd: `SORT ro LIMIT 1 x`, want: "ERR value is not an integer or out of range"},
	{cmd: `SORT`, want: "ERR wrong number of arguments for 'sort' command"},
	{cmd: `HSET hash a b`, want: "1"},
	{cmd: `SORT hash`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
}

// TestSortClient drives go-redis's SORT API: BY, GET, LIMIT, ALPHA, DESC,
// STORE and SORT_RO.
func TestSortClient(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		check := func(got, want any) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
		rdb.RPush(ctx, "ids", 3, 1, 2)
		rdb.MSet(ctx, "name_1", "one", "name_2", "two", "name_3", "three")
		rdb.HSet(ctx, "user_1", "age", 30)
		rdb.HSet(ctx, "user_2", "age", 20)
		rdb.HSet(ctx, "user_3", "age", 25)
		check(rdb.Sort(ctx, "ids", &goredis.Sort{}).Val(), []string{"1", "2", "3"})
		check(rdb.Sort(ctx, "ids", &goredis.Sort{Order: "DESC", Offset: 0, Count: 2}).Val(), []string{"3", "2"})
		check(rdb.Sort(ctx, "ids", &goredis.Sort{By: "user_*->age", Get: []string{"#", "name_*", "user_*->age"}}).Val(),
			[]string{"2", "two", "20", "3", "three", "25", "1", "one", "30"})
		check(rdb.Sort(ctx, "ids", &goredis.Sort{By: "name_*", Alpha: true, Get: []string{"name_*"}}).Val(), []string{"one", "three", "two"})
		check(rdb.Sort(ctx, "ids", &goredis.Sort{By: "nosort", Get: []string{"name_*"}}).Val(), []string{"three", "one", "two"})
		check(rdb.SortRO(ctx, "ids", &goredis.Sort{Order: "DESC"}).Val(), []string{"3", "2", "1"})
		check(rdb.SortStore(ctx, "ids", "sorted", &goredis.Sort{By: "user_*->age", Get: []string{"name_*"}}).Val(), 3)
		check(rdb.LRange(ctx, "sorted", 0, -1).Val(), []string{"two", "three", "one"})
		check(rdb.SortInterfaces(ctx, "ids", &goredis.Sort{Get: []string{"nokey_*"}}).Val(), []any{nil, nil, nil})
		rdb.ZAdd(ctx, "z", goredis.Z{Score: 1, Member: "b"}, goredis.Z{Score: 2, Member: "a"})
		check(rdb.Sort(ctx, "z", &goredis.Sort{Alpha: true}).Val(), []string{"a", "b"})
		check(rdb.Sort(ctx, "z", &goredis.Sort{By: "nosort"}).Val(), []string{"b", "a"})
		rdb.SAdd(ctx, "set", "c", "a", "b")
		check(rdb.Sort(ctx, "set", &goredis.Sort{Alpha: true, Order: "DESC"}).Val(), []string{"c", "b", "a"})
		check(rdb.Sort(ctx, "set", &goredis.Sort{}).Err(), "ERR One or more scores can't be converted into double")
	})
}

// TestSortStoreEvents checks SORT ... STORE's notifications: sortstore
// for a result, del when an empty result removes the destination.
func TestSortStoreEvents(t *testing.T) {
	got := collectEvents(t, func(ctx context.Context, rdb *goredis.Client) {
		rdb.Do(ctx, "RPUSH", "l", "2", "1")
		rdb.Do(ctx, "SORT", "l", "STORE", "dst")
		rdb.Do(ctx, "SORT", "l", "LIMIT", "0", "0", "STORE", "dst")
		rdb.Do(ctx, "SORT", "nokey", "STORE", "dst") // nothing to delete
	})
	want := []string{"rpush l", "sortstore dst", "del dst"}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
}

// TestSortKeys checks SORT's key positions (the sorted key and the last
// STORE destination) and that BY and GET patterns work inside MULTI and
// alongside concurrent writers (they lock every shard).
func TestSortKeys(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	for _, tc := range []struct {
		args []any
		want []string
	}{
		{[]any{"SORT", "src"}, []string{"src"}},
		{[]any{"SORT", "src", "BY", "w_*", "GET", "#", "LIMIT", "0", "1", "STORE", "dst"}, []string{"src", "dst"}},
		{[]any{"SORT", "src", "STORE", "a", "STORE", "b"}, []string{"src", "b"}},
		{[]any{"SORT", "src", "GET", "store", "STORE", "dst"}, []string{"src", "dst"}},
		{[]any{"SORT_RO", "src", "BY", "w_*"}, []string{"src"}},
	} {
		got, err := rdb.CommandGetKeys(ctx, tc.args...).Result()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("COMMAND GETKEYS %v = %v, %v; want %v", tc.args, got, err, tc.want)
		}
	}

	cmds, err := rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.RPush(ctx, "src", "1", "2", "3")
		p.MSet(ctx, "w_1", "30", "w_2", "10", "w_3", "20")
		p.Sort(ctx, "src", &goredis.Sort{By: "w_*", Get: []string{"#", "w_*"}})
		p.SortStore(ctx, "src", "dst", &goredis.Sort{By: "w_*", Order: "DESC"})
		p.LRange(ctx, "dst", 0, -1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := cmds[2].(*goredis.StringSliceCmd).Val(); !slices.Equal(got, []string{"2", "10", "3", "20", "1", "30"}) {
		t.Fatalf("SORT BY in MULTI: %v", got)
	}
	if got := cmds[4].(*goredis.StringSliceCmd).Val(); !slices.Equal(got, []string{"1", "3", "2"}) {
		t.Fatalf("SORT STORE in MULTI: %v", got)
	}

	// Writers change the weights while sorters read them: each SORT sees
	// a consistent snapshot (under -race, no data race).
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		c := clientFor(t, ts, 2+i%2)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if i%2 == 0 {
					c.MSet(ctx, "w_1", j, "w_2", -j, "w_3", 2*j)
					c.HSet(ctx, "h_1", "f", j)
					continue
				}
				got, err := c.Sort(ctx, "src", &goredis.Sort{By: "w_*", Get: []string{"#", "h_*->f"}}).Result()
				if err != nil || len(got) != 6 {
					t.Errorf("SORT: %v %v", got, err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
}
