package redis

import (
	"bytes"
	"context"
	"fmt"
	"math/bits"
	"math/rand"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"ferry/internal/keyspace"
	"ferry/internal/testutil"
)

// bitCase is one command of a stateful conversation and its reply as
// fmt.Sprint prints go-redis's value (or the error text). want3 is the
// RESP3 reply when it differs.
type bitCase struct {
	args  []any
	want  string
	want3 string
}

func bc(want string, args ...any) bitCase { return bitCase{args: args, want: want} }

// putList stores a non-string value under key, for WRONGTYPE checks.
func putList(ts *testServer, key string) {
	t := ts.ks.Lock(0, []byte(key))
	t.SetObject([]byte(key), keyspace.TypeList, []string{"x"}, 16)
	t.Unlock()
}

func replyString(cmd *goredis.Cmd) string {
	v, err := cmd.Result()
	if err != nil {
		return err.Error()
	}
	return fmt.Sprint(v)
}

// runBitCases runs cases in order against a fresh server per protocol, with
// "l" holding a list.
func runBitCases(t *testing.T, cases []bitCase) {
	t.Helper()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			ts := startServer(t, Config{}, keyspace.Config{})
			rdb := clientFor(t, ts, proto)
			putList(ts, "l")
			ctx := context.Background()
			for _, tc := range cases {
				want := tc.want
				if proto == 3 && tc.want3 != "" {
					want = tc.want3
				}
				if got := replyString(rdb.Do(ctx, tc.args...)); got != want {
					t.Errorf("%v:\n got %q\nwant %q", tc.args, got, want)
				}
			}
		})
	}
}

func TestBitSetGet(t *testing.T) {
	runBitCases(t, []bitCase{
		bc("0", "SETBIT", "k", 7, 1),
		bc("\x01", "GET", "k"),
		bc("1", "SETBIT", "k", 7, 0),
		bc("0", "SETBIT", "k", 7, 0),
		bc("0", "SETBIT", "k", 23, 1),
		bc("\x00\x00\x01", "GET", "k"),
		bc("1", "GETBIT", "k", 23),
		bc("0", "GETBIT", "k", 22),
		bc("0", "GETBIT", "k", 4294967295), // past the end reads 0
		bc("0", "GETBIT", "missing", 0),
		bc("0", "EXISTS", "missing"),
		bc("OK", "SET", "a", "a"), // 0x61
		bc("1", "GETBIT", "a", 1),
		bc("0", "GETBIT", "a", 0),
		bc("1", "GETBIT", "a", 7),
		bc("0", "SETBIT", "a", 6, 1),
		bc("c", "GET", "a"),
		// Errors: offset first, then value, then type.
		bc(errBitOffset, "SETBIT", "k", -1, 1),
		bc(errBitOffset, "SETBIT", "k", 4294967296, 1),
		bc(errBitOffset, "SETBIT", "k", "x", 1),
		bc(errBitOffset, "SETBIT", "k", "#1", 1),
		bc(errBitOffset, "GETBIT", "k", -1),
		bc(errBitOffset, "GETBIT", "k", 4294967296),
		bc(errBitOffset, "GETBIT", "k", "01"),
		bc("ERR bit is not an integer or out of range", "SETBIT", "k", 0, 2),
		bc("ERR bit is not an integer or out of range", "SETBIT", "k", 0, -1),
		bc("ERR bit is not an integer or out of range", "SETBIT", "k", 0, "x"),
		bc("ERR bit is not an integer or out of range", "SETBIT", "l", 0, 2),
		bc(errBitOffset, "SETBIT", "l", -1, 1),
		bc(errWrongType, "SETBIT", "l", 0, 1),
		bc(errWrongType, "GETBIT", "l", 0),
		bc("ERR wrong number of arguments for 'setbit' command", "SETBIT", "k", 0),
		bc("ERR wrong number of arguments for 'getbit' command", "GETBIT", "k"),
	})
}

func TestBitCount(t *testing.T) {
	runBitCases(t, []bitCase{
		bc("OK", "SET", "k", "foobar"),
		bc("26", "BITCOUNT", "k"),
		bc("4", "BITCOUNT", "k", 0, 0),
		bc("6", "BITCOUNT", "k", 1, 1),
		bc("12", "BITCOUNT", "k", 1, 2),
		bc("26", "BITCOUNT", "k", 0, -1),
		bc("4", "BITCOUNT", "k", -1, -1),
		bc("26", "BITCOUNT", "k", -100, 100),
		bc("0", "BITCOUNT", "k", 4, 2),
		bc("0", "BITCOUNT", "k", 10, 20),
		bc("4", "BITCOUNT", "k", 0, 0, "BYTE"),
		bc("17", "BITCOUNT", "k", 5, 30, "BIT"),
		bc("26", "BITCOUNT", "k", 0, -1, "bit"),
		bc("1", "BITCOUNT", "k", 1, 1, "BIT"),
		bc("0", "BITCOUNT", "k", 0, 0, "BIT"),
		bc("4", "BITCOUNT", "k", -8, -1, "BIT"),
		bc("0", "BITCOUNT", "k", -1, -1, "BIT"),
		bc("0", "BITCOUNT", "k", 9, 8, "BIT"),
		bc("0", "BITCOUNT", "k", -1, -2),
		bc("0", "BITCOUNT", "k", -1, -2, "bogus"), // the empty negative range is checked first
		bc(errSyntax, "BITCOUNT", "k", 0, -1, "bogus"),
		bc(errSyntax, "BITCOUNT", "k", 1),
		bc(errSyntax, "BITCOUNT", "k", 1, 2, "BIT", "x"),
		bc(errNotInteger, "BITCOUNT", "k", "a", 1),
		bc(errNotInteger, "BITCOUNT", "k", 1, "b"),
		// A missing key is looked up first: 0, whatever the arguments.
		bc("0", "BITCOUNT", "missing"),
		bc("0", "BITCOUNT", "missing", "x"),
		bc("0", "BITCOUNT", "missing", 0, -1, "bogus"),
		bc("OK", "SET", "e", ""),
		bc("0", "BITCOUNT", "e"),
		bc("0", "BITCOUNT", "e", 0, -1, "BIT"),
		bc(errWrongType, "BITCOUNT", "l"),
		bc(errWrongType, "BITCOUNT", "l", "x"),
		bc("ERR wrong number of arguments for 'bitcount' command", "BITCOUNT"),
	})
}

func TestBitPos(t *testing.T) {
	runBitCases(t, []bitCase{
		bc("OK", "SET", "k", "\xff\xf0\x00"),
		bc("12", "BITPOS", "k", 0),
		bc("0", "BITPOS", "k", 1),
		bc("16", "BITPOS", "k", 0, 2),
		bc("-1", "BITPOS", "k", 1, 2),
		bc("12", "BITPOS", "k", 0, 0, -1),
		bc("8", "BITPOS", "k", 1, 1, -1),
		bc("16", "BITPOS", "k", 0, -1),
		bc("7", "BITPOS", "k", 1, 7, 15, "BIT"),
		bc("12", "BITPOS", "k", 0, 7, 15, "BIT"),
		bc("-1", "BITPOS", "k", 0, 7, 11, "BIT"),
		bc("-1", "BITPOS", "k", 1, 12, -1, "BIT"),
		bc("23", "BITPOS", "k", 0, -1, -1, "bit"),
		bc("12", "BITPOS", "k", 0, 0, -1, "byte"),
		bc("-1", "BITPOS", "k", 1, 3),   // start past the end
		bc("-1", "BITPOS", "k", 0, 100), // even when looking for 0
		bc("-1", "BITPOS", "k", 1, -1, -2),
		// All ones: no end means zero padding on the right; an end means -1.
		bc("OK", "SET", "ones", "\xff\xff"),
		bc("16", "BITPOS", "ones", 0),
		bc("16", "BITPOS", "ones", 0, 1),
		bc("-1", "BITPOS", "ones", 0, 0, -1),
		bc("-1", "BITPOS", "ones", 0, 0, 15, "BIT"),
		bc("OK", "SET", "zeros", "\x00\x00"),
		bc("-1", "BITPOS", "zeros", 1),
		bc("0", "BITPOS", "zeros", 0),
		bc("OK", "SET", "e", ""),
		bc("-1", "BITPOS", "e", 0),
		bc("-1", "BITPOS", "e", 1),
		// A missing key is all zeros, before the range is parsed.
		bc("0", "BITPOS", "missing", 0),
		bc("-1", "BITPOS", "missing", 1),
		bc("0", "BITPOS", "missing", 0, "x"),
		bc("ERR The bit argument must be 1 or 0.", "BITPOS", "missing", 2),
		bc("ERR The bit argument must be 1 or 0.", "BITPOS", "l", -1),
		bc(errNotInteger, "BITPOS", "k", "x"),
		bc(errNotInteger, "BITPOS", "k", 0, "x"),
		bc(errNotInteger, "BITPOS", "k", 0, 0, "x"),
		bc(errSyntax, "BITPOS", "k", 0, 0, 1, "bogus"),
		bc(errSyntax, "BITPOS", "k", 0, 0, "x", "bogus"), // the unit is checked before the end
		bc(errNotInteger, "BITPOS", "k", 0, "x", 1, "bogus"),
		bc(errSyntax, "BITPOS", "k", 0, 0, 1, "BIT", "x"),
		bc(errWrongType, "BITPOS", "l", 1),
		bc("ERR wrong number of arguments for 'bitpos' command", "BITPOS", "k"),
	})
}

func TestBitOp(t *testing.T) {
	runBitCases(t, []bitCase{
		bc("OK", "MSET", "a", "\x0f\xf0\xaa", "b", "\xff\x0f"),
		bc("3", "BITOP", "AND", "d", "a", "b"),
		bc("\x0f\x00\x00", "GET", "d"),
		bc("3", "BITOP", "or", "d", "a", "b"),
		bc("\xff\xff\xaa", "GET", "d"),
		bc("3", "BITOP", "Xor", "d", "a", "b"),
		bc("\xf0\xff\xaa", "GET", "d"),
		bc("3", "BITOP", "XOR", "d", "a", "a", "a"),
		bc("\x0f\xf0\xaa", "GET", "d"),
		bc("3", "BITOP", "NOT", "d", "a"),
		bc("\xf0\x0f\x55", "GET", "d"),
		bc("3", "BITOP", "AND", "d", "a", "missing"),
		bc("\x00\x00\x00", "GET", "d"),
		bc("3", "BITOP", "OR", "d", "missing", "a"),
		bc("\x0f\xf0\xaa", "GET", "d"),
		bc("3", "BITOP", "AND", "a", "a", "d"), // destination among the sources
		bc("\x0f\xf0\xaa", "GET", "a"),
		// An empty result deletes the destination, of any type.
		bc("0", "BITOP", "OR", "d", "missing", "missing2"),
		bc("0", "EXISTS", "d"),
		bc("OK", "SET", "e", ""),
		bc("0", "BITOP", "NOT", "e2", "e"),
		bc("0", "EXISTS", "e2"),
		bc("OK", "SET", "t", "x", "EX", 100),
		bc("3", "BITOP", "OR", "t", "a"),
		bc("-1", "TTL", "t"), // the destination is replaced, TTL and all
		bc(errSyntax, "BITOP", "NAND", "d", "a"),
		bc(errSyntax, "BITOP", "NAND", "d", "l"),
		bc("ERR BITOP NOT must be called with a single source key.", "BITOP", "NOT", "d", "a", "b"),
		bc(errWrongType, "BITOP", "AND", "d", "a", "l"),
		bc(errWrongType, "BITOP", "NOT", "d", "l"),
		bc("3", "BITOP", "OR", "l", "a"), // a non-string destination is overwritten
		bc("string", "TYPE", "l"),
		bc("ERR wrong number of arguments for 'bitop' command", "BITOP", "AND", "d"),
	})
}

func TestBitField(t *testing.T) {
	runBitCases(t, []bitCase{
		bc("[]", "BITFIELD", "k"),
		bc("[]", "BITFIELD", "k", "OVERFLOW", "SAT"),
		bc("[0 0]", "BITFIELD", "k", "GET", "u8", 0, "GET", "i64", "#3"),
		bc("0", "EXISTS", "k"),                         // reads create nothing
		bc("[0]", "BITFIELD", "k", "SET", "u8", 0, -1), // WRAP: -1 is 255
		bc("\xff", "GET", "k"),
		bc("[-1 255 15 1]", "BITFIELD", "k", "GET", "i8", 0, "GET", "u8", 0, "GET", "u4", 4, "GET", "u1", 7),
		bc("[255 -1 127 128]", "BITFIELD", "k", "OVERFLOW", "SAT", "SET", "u8", 0, -1, "SET", "i8", 0, 200, "SET", "i8", 0, -200, "GET", "u8", 0),
		bc("[<nil> 129]", "BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "u8", 0, 256, "INCRBY", "u8", 0, 1),
		bc("[1 2 3 0]", "BITFIELD", "w", "INCRBY", "u2", 0, 1, "INCRBY", "u2", 0, 1, "INCRBY", "u2", 0, 1, "INCRBY", "u2", 0, 1),
		bc("[3 3 0 0]", "BITFIELD", "w", "OVERFLOW", "SAT", "INCRBY", "u2", 0, 5, "INCRBY", "u2", 0, 1, "INCRBY", "u2", 0, -7, "INCRBY", "u2", 0, -1),
		bc("[<nil> <nil> 3]", "BITFIELD", "w", "OVERFLOW", "FAIL", "INCRBY", "u2", 0, 4, "INCRBY", "u2", 0, -1, "INCRBY", "u2", 0, 3),
		bc("[0 7 -8 7 -8]", "BITFIELD", "s", "SET", "i4", 0, -8, "INCRBY", "i4", 0, -1, "INCRBY", "i4", 0, 1, "OVERFLOW", "SAT", "INCRBY", "i4", 0, 100, "INCRBY", "i4", 0, -100),
		// i64 and u63 edges.
		bc("[0 -9223372036854775808 9223372036854775807]", "BITFIELD", "b",
			"SET", "i64", 0, "-9223372036854775808", "GET", "i64", 0, "INCRBY", "i64", 0, -1),
		bc("[9223372036854775807 <nil> -9223372036854775808 9223372036854775807]", "BITFIELD", "b",
			"OVERFLOW", "SAT", "INCRBY", "i64", 0, 1, "OVERFLOW", "FAIL", "INCRBY", "i64", 0, 1,
			"OVERFLOW", "WRAP", "INCRBY", "i64", 0, 1, "INCRBY", "i64", 0, -1),
		bc("[0 9223372036854775807 9223372036854775806]", "BITFIELD", "u",
			"SET", "u63", 0, -1, "GET", "u63", 0, "INCRBY", "u63", 0, "9223372036854775807"),
		// '#' offsets count in units of the type's width.
		bc("[0 0]", "BITFIELD", "h", "SET", "u8", "#1", 65, "SET", "i4", "#1", 4),
		bc("\x04A", "GET", "h"),
		bc("[65 4 0]", "BITFIELD", "h", "GET", "u8", "#1", "GET", "i4", "#1", "GET", "u8", "#2"),
		// Fields spanning byte boundaries and past the end.
		bc("[0 2730 0]", "BITFIELD", "x", "SET", "u12", 3, 2730, "GET", "u12", 3, "GET", "u63", 100),
		bc("\x15T", "GET", "x"),
		// A write the FAIL policy refuses still pads the string.
		bc("[<nil>]", "BITFIELD", "new", "OVERFLOW", "FAIL", "INCRBY", "u2", 100, 5),
		bc("13", "STRLEN", "new"),
		// Parse errors come before the key is looked at.
		bc(errBitfieldType, "BITFIELD", "k", "GET", "u64", 0),
		bc(errBitfieldType, "BITFIELD", "k", "GET", "i65", 0),
		bc(errBitfieldType, "BITFIELD", "k", "GET", "i0", 0),
		bc(errBitfieldType, "BITFIELD", "k", "GET", "I8", 0),
		bc(errBitfieldType, "BITFIELD", "k", "GET", "u", 0),
		bc(errBitfieldType, "BITFIELD", "k", "GET", "", 0),
		bc(errBitfieldType, "BITFIELD", "l", "SET", "x8", 0, 1),
		bc(errBitOffset, "BITFIELD", "k", "GET", "i8", -1),
		bc(errBitOffset, "BITFIELD", "k", "GET", "i8", "#-1"),
		bc(errBitOffset, "BITFIELD", "k", "GET", "i8", "##1"),
		bc(errBitOffset, "BITFIELD", "k", "GET", "i8", "#"),
		bc(errBitOffset, "BITFIELD", "k", "GET", "i8", 4294967296),
		bc(errBitOffset, "BITFIELD", "k", "GET", "i8", "#536870912"),
		bc("[0]", "BITFIELD", "k", "GET", "i8", 4294967295),
		bc("[0]", "BITFIELD", "k", "GET", "i8", "#536870911"),
		bc("[-127]", "BITFIELD", "k", "GET", "i8", "#2305843009213693952"), // wraps to 0, as C's long long
		bc(errNotInteger, "BITFIELD", "k", "SET", "u8", 0, "x"),
		bc(errNotInteger, "BITFIELD", "k", "INCRBY", "u8", 0, "1.5"),
		bc("ERR Invalid OVERFLOW type specified", "BITFIELD", "k", "OVERFLOW", "foo"),
		bc(errSyntax, "BITFIELD", "k", "OVERFLOW"),
		bc(errSyntax, "BITFIELD", "k", "GET", "u8"),
		bc(errSyntax, "BITFIELD", "k", "SET", "u8", 0),
		bc(errSyntax, "BITFIELD", "k", "INCRBY", "u8", 0),
		bc(errSyntax, "BITFIELD", "k", "FOO"),
		bc(errWrongType, "BITFIELD", "l", "GET", "u8", 0),
		bc(errWrongType, "BITFIELD", "l", "SET", "u8", 0, 1),
		bc(errWrongType, "BITFIELD", "l"),
		// BITFIELD_RO
		bc("[129 -127]", "BITFIELD_RO", "k", "GET", "u8", 0, "GET", "i8", 0),
		bc("[]", "BITFIELD_RO", "k"),
		bc("[]", "BITFIELD_RO", "k", "OVERFLOW", "SAT"),
		bc("ERR BITFIELD_RO only supports the GET subcommand", "BITFIELD_RO", "k", "GET", "u8", 0, "SET", "u8", 0, 1),
		bc("ERR BITFIELD_RO only supports the GET subcommand", "BITFIELD_RO", "l", "INCRBY", "u8", 0, 1),
		bc(errNotInteger, "BITFIELD_RO", "k", "SET", "u8", 0, "x"),
		bc(errWrongType, "BITFIELD_RO", "l", "GET", "u8", 0),
		bc("ERR wrong number of arguments for 'bitfield_ro' command", "BITFIELD_RO"),
	})
}

func TestLCS(t *testing.T) {
	runBitCases(t, []bitCase{
		bc("OK", "MSET", "key1", "ohmytext", "key2", "mynewtext"),
		bc("mytext", "LCS", "key1", "key2"),
		bc("6", "LCS", "key1", "key2", "LEN"),
		{args: []any{"LCS", "key1", "key2", "IDX"},
			want:  "[matches [[[4 7] [5 8]] [[2 3] [0 1]]] len 6]",
			want3: "map[len:6 matches:[[[4 7] [5 8]] [[2 3] [0 1]]]]"},
		{args: []any{"LCS", "key1", "key2", "IDX", "MINMATCHLEN", 4, "WITHMATCHLEN"},
			want:  "[matches [[[4 7] [5 8] 4]] len 6]",
			want3: "map[len:6 matches:[[[4 7] [5 8] 4]]]"},
		{args: []any{"LCS", "key1", "key2", "idx", "withmatchlen", "minmatchlen", -3},
			want:  "[matches [[[4 7] [5 8] 4] [[2 3] [0 1] 2]] len 6]",
			want3: "map[len:6 matches:[[[4 7] [5 8] 4] [[2 3] [0 1] 2]]]"},
		bc("mytext", "LCS", "key1", "key2", "WITHMATCHLEN", "MINMATCHLEN", 3),
		bc("6", "LCS", "key1", "key2", "LEN", "WITHMATCHLEN"),
		bc("", "LCS", "key1", "missing"),
		bc("0", "LCS", "missing", "missing", "LEN"),
		{args: []any{"LCS", "missing", "key1", "IDX"},
			want:  "[matches [] len 0]",
			want3: "map[len:0 matches:[]]"},
		bc("ohmytext", "LCS", "key1", "key1"),
		bc("ERR If you want both the length and indexes, please just use IDX.", "LCS", "key1", "key2", "LEN", "IDX"),
		bc(errSyntax, "LCS", "key1", "key2", "FOO"),
		bc(errSyntax, "LCS", "key1", "key2", "MINMATCHLEN"),
		bc(errNotInteger, "LCS", "key1", "key2", "MINMATCHLEN", "x"),
		bc("ERR The specified keys must contain string values", "LCS", "key1", "l"),
		bc("ERR The specified keys must contain string values", "LCS", "l", "key1", "FOO"),
		bc("ERR wrong number of arguments for 'lcs' command", "LCS", "key1"),
	})
}

// TestBitRawReplies checks exact bytes where RESP2 and RESP3 differ: nulls
// in BITFIELD and LCS IDX's map.
func TestBitRawReplies(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	conv(t, ts.addr,
		"SET k1 ohmytext\r\n", "+OK\r\n",
		"SET k2 mynewtext\r\n", "+OK\r\n",
		"BITFIELD bf OVERFLOW FAIL INCRBY u2 0 4 GET u2 0\r\n", "*2\r\n$-1\r\n:0\r\n",
		"LCS k1 k2 IDX MINMATCHLEN 3 WITHMATCHLEN\r\n",
		"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n",
		"LCS k1 k2\r\n", "$6\r\nmytext\r\n",
		"SETBIT k1 0 1\r\n", ":0\r\n",
		"BITPOS k1 1\r\n", ":0\r\n",
	)
	c3 := testutil.Dial(t, ts.addr)
	c3.Send("HELLO 3\r\n")
	for l := c3.Line(); l != "*0"; l = c3.Line() { // the reply ends with modules: an empty array
	}
	for _, x := range []struct{ in, want string }{
		{"BITFIELD bf OVERFLOW FAIL INCRBY u2 0 4 GET u2 0\r\n", "*2\r\n_\r\n:0\r\n"},
		{"LCS k1 k2 IDX MINMATCHLEN 3 WITHMATCHLEN\r\n",
			"%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"},
		{"LCS k1 missing IDX\r\n", "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"},
		{"BITFIELD_RO missing GET i8 0\r\n", "*1\r\n:0\r\n"},
		{"BITCOUNT k1 0 -1 BIT\r\n", ":36\r\n"},
	} {
		c3.Send(x.in)
		c3.Expect(x.want)
	}
}

// TestBitClientAPI goes through go-redis's typed bitmap and LCS helpers,
// which parse the replies themselves.
func TestBitClientAPI(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		check := func(got, want any) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
		check(rdb.SetBit(ctx, "b", 10, 1).Val(), 0)
		check(rdb.GetBit(ctx, "b", 10).Val(), 1)
		check(rdb.BitCount(ctx, "b", nil).Val(), 1)
		check(rdb.BitCount(ctx, "b", &goredis.BitCount{Start: 9, End: 10, Unit: goredis.BitCountIndexBit}).Val(), 1)
		check(rdb.BitCount(ctx, "b", &goredis.BitCount{Start: 0, End: 0}).Val(), 0)
		check(rdb.BitPos(ctx, "b", 1).Val(), 10)
		check(rdb.BitPos(ctx, "b", 0, 1).Val(), 8)
		check(rdb.BitPosSpan(ctx, "b", 1, 11, -1, "bit").Val(), -1)
		rdb.Set(ctx, "x", "\x0f", 0)
		check(rdb.BitOpAnd(ctx, "d", "b", "x").Val(), 2)
		check(rdb.BitOpOr(ctx, "d", "b", "x").Val(), 2)
		check(rdb.Get(ctx, "d").Val(), "\x0f\x20")
		check(rdb.BitOpXor(ctx, "d", "x", "x").Val(), 1)
		check(rdb.BitOpNot(ctx, "d", "x").Val(), 1)
		check(rdb.Get(ctx, "d").Val(), "\xf0")
		check(rdb.BitField(ctx, "f", "SET", "i8", 0, 100, "INCRBY", "i8", 0, 100, "GET", "u8", 0).Val(), []int64{0, -56, 200})
		check(rdb.BitFieldRO(ctx, "f", "u8", 0, "i4", 0).Val(), []int64{200, -4})
		// go-redis reads FAIL's nil element as 0.
		check(rdb.BitField(ctx, "f", "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 100).Val(), []int64{0})
		rdb.MSet(ctx, "k1", "ohmytext", "k2", "mynewtext")
		check(rdb.LCS(ctx, &goredis.LCSQuery{Key1: "k1", Key2: "k2"}).Val().MatchString, "mytext")
		check(rdb.LCS(ctx, &goredis.LCSQuery{Key1: "k1", Key2: "k2", Len: true}).Val().Len, 6)
		m, err := rdb.LCS(ctx, &goredis.LCSQuery{Key1: "k1", Key2: "k2", Idx: true, WithMatchLen: true}).Result()
		check(err, nil)
		check(m.Len, 6)
		check(fmt.Sprintf("%+v", m.Matches), "[{Key1:{Start:4 End:7} Key2:{Start:5 End:8} MatchLen:4} {Key1:{Start:2 End:3} Key2:{Start:0 End:1} MatchLen:2}]")
	})
}

// TestBitWrites checks what bit writes do to the key around them: TTLs,
// WATCH, keyspace notifications, and the proto-max-bulk-len limit.
func TestBitWrites(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 3)
	check := func(got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// SETBIT and BITFIELD keep the TTL.
	rdb.Set(ctx, "t", "abc", time.Hour)
	check(rdb.SetBit(ctx, "t", 100, 1).Val(), 0)
	check(rdb.BitField(ctx, "t", "SET", "u8", "#20", 1).Val(), []int64{0})
	if ttl := rdb.TTL(ctx, "t").Val(); ttl <= 0 {
		t.Fatalf("TTL lost: %v", ttl)
	}

	// WATCH: a write that changes nothing leaves the transaction alone.
	watched := func(key string, write ...any) bool {
		t.Helper()
		aborted := false
		err := rdb.Watch(ctx, func(tx *goredis.Tx) error {
			if err := tx.Do(ctx, write...).Err(); err != nil && err != goredis.Nil {
				t.Fatal(err)
			}
			_, err := tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				p.Ping(ctx)
				return nil
			})
			if err == goredis.TxFailedErr {
				aborted = true
				return nil
			}
			return err
		}, key)
		check(err, nil)
		return aborted
	}
	rdb.Set(ctx, "w", "a", 0) // 0x61
	check(watched("w", "SETBIT", "w", 0, 0), false)
	check(watched("w", "SETBIT", "w", 0, 1), true)
	check(watched("w", "SETBIT", "w", 100, 0), true) // grows the string
	check(watched("w", "BITFIELD", "w", "SET", "u8", 0, 0xe1), false)
	check(watched("w", "BITFIELD", "w", "INCRBY", "u8", 0, 0), false)
	check(watched("w", "BITFIELD", "w", "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 100), false)
	check(watched("w", "BITFIELD", "w", "INCRBY", "u8", 0, 1), true)
	check(watched("w", "BITFIELD", "w", "GET", "u8", 0), false)
	check(watched("w", "BITOP", "OR", "w", "w"), true)
	check(watched("w", "BITOP", "OR", "nokey", "w"), false)

	// Keyspace notifications.
	check(rdb.ConfigSet(ctx, "notify-keyspace-events", "E$g").Err(), nil)
	sub := rdb.PSubscribe(ctx, "__keyevent@0__:*")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	rdb.SetBit(ctx, "n", 1, 1)
	rdb.SetBit(ctx, "n", 1, 1) // no change, no event
	rdb.BitField(ctx, "n", "INCRBY", "u8", 0, 1)
	rdb.BitOpNot(ctx, "n2", "n")
	rdb.BitOpAnd(ctx, "n2", "missing")
	var events []string
	for range 4 {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, strings.TrimPrefix(msg.Channel, "__keyevent@0__:")+" "+msg.Payload)
	}
	check(events, []string{"setbit n", "setbit n", "set n2", "del n2"})

	// The offset limit follows proto-max-bulk-len.
	check(rdb.ConfigSet(ctx, "proto-max-bulk-len", "1mb").Err(), nil)
	check(rdb.SetBit(ctx, "m", 8<<20, 1).Err(), errBitOffset)
	check(rdb.SetBit(ctx, "m", 8<<20-1, 1).Val(), 0)
	check(rdb.StrLen(ctx, "m").Val(), 1<<20)
	// A field may end past the limit, as in Redis.
	check(rdb.BitField(ctx, "m", "SET", "i64", 8<<20-1, -1).Val(), []int64{-1 << 63})
	check(rdb.StrLen(ctx, "m").Val(), 1<<20+8)
	check(rdb.BitCount(ctx, "m", nil).Val(), 64)
	check(rdb.BitPos(ctx, "m", 1).Val(), 8<<20-1)
	check(rdb.BitPos(ctx, "m", 0, -9).Val(), (1<<20-1)*8)
	check(rdb.BitPos(ctx, "m", 0, -8).Val(), 8<<20+63) // the string's last bit, past the field
	check(rdb.BitPosSpan(ctx, "m", 1, -1, -1, "byte").Val(), 8<<20+56)
	check(rdb.BitPosSpan(ctx, "m", 0, -63, -2, "bit").Val(), -1)

	// Inside MULTI/EXEC, with the transaction's locks.
	cmds, err := rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.SetBit(ctx, "tx", 3, 1)
		p.BitCount(ctx, "tx", nil)
		p.BitOpNot(ctx, "tx2", "tx")
		p.Do(ctx, "LCS", "tx", "tx2", "LEN")
		return nil
	})
	check(err, nil)
	check(cmds[1].(*goredis.IntCmd).Val(), 1)
	check(cmds[3].(*goredis.Cmd).Val(), 0)
}

// lcsReference is the textbook LCS table and Redis's walk back, to check
// the bit-parallel table against: it returns the LCS and IDX's ranges.
func lcsReference(a, b []byte, minLen int) (string, [][5]int) {
	w := len(b) + 1
	dp := make([]int, (len(a)+1)*w)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				dp[i*w+j] = dp[(i-1)*w+j-1] + 1
			} else {
				dp[i*w+j] = max(dp[(i-1)*w+j], dp[i*w+j-1])
			}
		}
	}
	var lcs []byte
	var ranges [][5]int
	cur := [4]int{-1}
	flush := func() {
		if cur[0] >= 0 && (minLen == 0 || cur[1]-cur[0]+1 >= minLen) {
			ranges = append(ranges, [5]int{cur[0], cur[1], cur[2], cur[3], cur[1] - cur[0] + 1})
		}
		cur[0] = -1
	}
	i, j := len(a), len(b)
	for i > 0 && j > 0 {
		if a[i-1] == b[j-1] {
			lcs = append(lcs, a[i-1])
			if cur[0] < 0 {
				cur = [4]int{i - 1, i - 1, j - 1, j - 1}
			} else {
				cur[0], cur[2] = i-1, j-1
			}
			i, j = i-1, j-1
			if i == 0 || j == 0 {
				flush()
			}
			continue
		}
		if dp[(i-1)*w+j] > dp[i*w+j-1] {
			i--
		} else {
			j--
		}
		flush()
	}
	for l, r := 0, len(lcs)-1; l < r; l, r = l+1, r-1 {
		lcs[l], lcs[r] = lcs[r], lcs[l]
	}
	return string(lcs), ranges
}

// TestLCSRandom compares LCS, LEN and IDX with lcsReference on random
// strings long enough to carry across several 64-bit words.
func TestLCSRandom(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	r := rand.New(rand.NewSource(1))
	for n := 0; n < 150; n++ {
		alpha := "acgtxyz"[:1+r.Intn(7)]
		mk := func() []byte {
			b := make([]byte, r.Intn([]int{5, 70, 300}[r.Intn(3)]))
			for i := range b {
				b[i] = alpha[r.Intn(len(alpha))]
			}
			return b
		}
		a, b := mk(), mk()
		minLen := r.Intn(4)
		rdb.MSet(ctx, "a", a, "b", b)
		lcs, ranges := lcsReference(a, b, minLen)
		if got := rdb.Do(ctx, "LCS", "a", "b").Val(); got != lcs {
			t.Fatalf("LCS %q %q = %q, want %q", a, b, got, lcs)
		}
		if got := rdb.Do(ctx, "LCS", "a", "b", "LEN").Val(); got != int64(len(lcs)) {
			t.Fatalf("LCS LEN %q %q = %v, want %d", a, b, got, len(lcs))
		}
		var want strings.Builder
		fmt.Fprint(&want, "[matches [")
		for k, m := range ranges {
			if k > 0 {
				want.WriteString(" ")
			}
			fmt.Fprintf(&want, "[[%d %d] [%d %d] %d]", m[0], m[1], m[2], m[3], m[4])
		}
		fmt.Fprintf(&want, "] len %d]", len(lcs))
		got := replyString(rdb.Do(ctx, "LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", minLen))
		if got != want.String() {
			t.Fatalf("LCS IDX %q %q minlen %d:\n got %s\nwant %s", a, b, minLen, got, want.String())
		}
	}
}

// TestBitModel compares BITCOUNT and BITPOS over random strings and ranges
// with a bit-by-bit model of Redis's rules, to exercise the word-at-a-time
// paths (long runs of equal bytes, unaligned edges).
func TestBitModel(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	r := rand.New(rand.NewSource(2))
	bitAt := func(v []byte, i int64) int64 { return int64(v[i>>3]>>(7-i&7)) & 1 }
	for n := 0; n < 400; n++ {
		v := make([]byte, r.Intn([]int{3, 40, 3000}[r.Intn(3)]))
		fill := byte(0)
		if r.Intn(2) == 0 {
			fill = 0xff
		}
		for i := range v {
			v[i] = fill
		}
		for k := r.Intn(4); k > 0 && len(v) > 0; k-- {
			v[r.Intn(len(v))] = byte(r.Intn(256))
		}
		rdb.Set(ctx, "v", v, 0)
		isBit := r.Intn(2) == 0
		unit, size := "BYTE", int64(len(v))
		if isBit {
			unit, size = "BIT", size*8
		}
		span := size + 10
		start, end := r.Int63n(2*span+1)-span, r.Int63n(2*span+1)-span
		// The model: the range in bits, clamped as Redis does.
		s, e := clampRange(start, end, size)
		if !isBit {
			s, e = s*8, e*8+7
		}
		empty := start < 0 && end < 0 && start > end
		var count int64
		if !empty {
			for i := s; i <= e; i++ {
				count += bitAt(v, i)
			}
		}
		if got := rdb.BitCount(ctx, "v", &goredis.BitCount{Start: start, End: end, Unit: unit}).Val(); got != count {
			t.Fatalf("BITCOUNT %x %d %d %s = %d, want %d", v, start, end, unit, got, count)
		}
		for bit := int64(0); bit <= 1; bit++ {
			pos := int64(-1)
			for i := s; i <= e; i++ {
				if bitAt(v, i) == bit {
					pos = i
					break
				}
			}
			if got := rdb.BitPosSpan(ctx, "v", int8(bit), start, end, strings.ToLower(unit)).Val(); got != pos {
				t.Fatalf("BITPOS %x %d %d %d %s = %d, want %d", v, bit, start, end, unit, got, pos)
			}
			// Without an end, a 0 is found past the string's end.
			s2, e2 := clampRange(start, int64(len(v))-1, int64(len(v)))
			pos = -1
			for i := s2 * 8; i <= e2*8+7; i++ {
				if bitAt(v, i) == bit {
					pos = i
					break
				}
			}
			if pos == -1 && bit == 0 && s2 <= e2 {
				pos = int64(len(v)) * 8
			}
			if got := rdb.BitPos(ctx, "v", bit, start).Val(); got != pos {
				t.Fatalf("BITPOS %x %d %d = %d, want %d", v, bit, start, got, pos)
			}
		}
	}
}

// TestBitfieldCodec checks getBitfield and setBitfield against a bit-by-bit
// model at every alignment and width.
func TestBitfieldCodec(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for n := 0; n < 20000; n++ {
		v := make([]byte, 1+r.Intn(20))
		r.Read(v)
		width := uint(1 + r.Intn(64))
		off := r.Int63n(int64(len(v))*8 + 16)
		var want uint64
		for i := off; i < off+int64(width); i++ {
			bit := uint64(0)
			if i>>3 < int64(len(v)) {
				bit = uint64(v[i>>3]>>(7-i&7)) & 1
			}
			want = want<<1 | bit
		}
		if got := getBitfield(v, off, width); got != want {
			t.Fatalf("getBitfield(%x, %d, %d) = %x, want %x", v, off, width, got, want)
		}
		if (off+int64(width)+7)>>3 > int64(len(v)) {
			continue
		}
		val := r.Uint64() & (^uint64(0) >> (64 - width))
		model := bytes.Clone(v)
		for k := uint(0); k < width; k++ {
			i := off + int64(k)
			m := byte(0x80) >> (i & 7)
			if val>>(width-1-k)&1 == 1 {
				model[i>>3] |= m
			} else {
				model[i>>3] &^= m
			}
		}
		setBitfield(v, off, width, val)
		if !bytes.Equal(v, model) {
			t.Fatalf("setBitfield(off %d, width %d, %x) = %x, want %x", off, width, val, v, model)
		}
	}
}

// TestBitHelpers checks popcount and the overflow rules on edge values.
func TestBitHelpers(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for n := 0; n < 200; n++ {
		v := make([]byte, r.Intn(100))
		r.Read(v)
		want := 0
		for _, x := range v {
			want += bits.OnesCount8(x)
		}
		if got := popcount(v); got != int64(want) {
			t.Fatalf("popcount(%x) = %d, want %d", v, got, want)
		}
	}
	for _, tt := range []struct {
		value, incr int64
		width       uint
		mode        uint8
		want        int64
		ovf         bool
	}{
		{127, 1, 8, bfWrap, -128, true},
		{127, 1, 8, bfSat, 127, true},
		{-128, -1, 8, bfWrap, 127, true},
		{-128, -1, 8, bfSat, -128, true},
		{5, -3, 8, bfSat, 2, false},
		{0, 0, 1, bfWrap, 0, false},
		{-1, 1, 1, bfWrap, 0, false},
		{-1, -1, 1, bfWrap, 0, true},
		{1 << 62, 1 << 62, 64, bfWrap, -1 << 63, true},
		{1 << 62, 1 << 62, 64, bfSat, 1<<63 - 1, true},
		{-1 << 63, -1, 64, bfSat, -1 << 63, true},
		{-1 << 63, 1<<63 - 1, 64, bfFail, -1, false},
		{300, 0, 8, bfWrap, 44, true}, // SET with a value out of range
		{300, 0, 8, bfSat, 127, true},
	} {
		got, ovf := signedOverflow(tt.value, tt.incr, tt.width, tt.mode)
		if got != tt.want || ovf != tt.ovf {
			t.Errorf("signedOverflow(%d, %d, i%d, %d) = %d, %v; want %d, %v", tt.value, tt.incr, tt.width, tt.mode, got, ovf, tt.want, tt.ovf)
		}
	}
	for _, tt := range []struct {
		value uint64
		incr  int64
		width uint
		mode  uint8
		want  uint64
		ovf   bool
	}{
		{255, 1, 8, bfWrap, 0, true},
		{255, 1, 8, bfSat, 255, true},
		{0, -1, 8, bfWrap, 255, true},
		{0, -1, 8, bfSat, 0, true},
		{10, -10, 8, bfSat, 0, false},
		{1<<63 - 1, 1<<63 - 1, 63, bfWrap, 1<<63 - 2, true},
		{1<<63 - 1, -1 << 63, 63, bfSat, 0, true},
		{^uint64(0), 0, 8, bfSat, 255, true}, // SET -1 saturates to the maximum
		{^uint64(0), 0, 8, bfWrap, 255, true},
	} {
		got, ovf := unsignedOverflow(tt.value, tt.incr, tt.width, tt.mode)
		if got != tt.want || ovf != tt.ovf {
			t.Errorf("unsignedOverflow(%d, %d, u%d, %d) = %d, %v; want %d, %v", tt.value, tt.incr, tt.width, tt.mode, got, ovf, tt.want, tt.ovf)
		}
	}
}

// TestBitSnapshot checks that in-place bit writes leave a snapshot's view
// of the value alone.
func TestBitSnapshot(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	rdb.Set(ctx, "a", "\x00\x00", 0)
	rdb.Set(ctx, "b", "\x00\x00", 0)
	snap := ts.ks.Snapshot()
	defer snap.Release()
	rdb.SetBit(ctx, "a", 0, 1)
	rdb.BitField(ctx, "b", "SET", "u8", 8, 255)
	rdb.SetBit(ctx, "a", 15, 1) // after the copy: in place again
	for _, it := range snap.Items {
		if string(it.Str) != "\x00\x00" {
			t.Errorf("snapshot sees %s = %q", it.Key, it.Str)
		}
	}
	if a, b := rdb.Get(ctx, "a").Val(), rdb.Get(ctx, "b").Val(); a != "\x80\x01" || b != "\x00\xff" {
		t.Errorf("a = %q, b = %q", a, b)
	}
}
