package rdb

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"strings"
)

// catalogEntry is a key the tests write, with the encoding the Writer is
// expected to choose under default options and what Redis's OBJECT ENCODING
// reports once it has loaded the key.
type catalogEntry struct {
	Entry
	enc       Encoding
	redisEnc  string
	dumpSkip  bool // too large to bother RESTOREing one by one
	intString bool // a string Redis holds as an integer
}

// futureMs is a fixed expiry well in the future, so that Redis keeps the keys.
const futureMs = int64(4102444800123) // 2100-01-01T00:00:00.123Z

// catalog returns one key for every type and encoding the Writer produces,
// spread over several databases.
func catalog() []catalogEntry {
	rng := rand.New(rand.NewSource(42))
	var out []catalogEntry
	add := func(db int, key string, v Value, enc Encoding, redisEnc string) *catalogEntry {
		out = append(out, catalogEntry{Entry: Entry{DB: db, Key: []byte(key), Value: v}, enc: enc, redisEnc: redisEnc})
		return &out[len(out)-1]
	}

	// Strings: raw, every integer width, non-canonical integers, LZF.
	add(0, "s:empty", String(""), EncString, "embstr")
	add(0, "s:hello", String("hello world"), EncString, "embstr")
	add(0, "s:binary", String("\x00\xff\r\n\x01bin"), EncString, "embstr")
	for _, n := range []int64{0, 1, -1, 127, 128, -128, -129, 32767, 32768, -32768, -32769,
		2147483647, 2147483648, -2147483648, -2147483649, math.MaxInt64, math.MinInt64} {
		e := add(0, fmt.Sprintf("s:int:%d", n), String(fmt.Sprint(n)), EncString, "int")
		e.intString = true
	}
	for _, s := range []string{"007", "-0", "+1", " 1", "1.5", "99999999999999999999"} {
		add(0, "s:notint:"+s, String(s), EncString, "embstr")
	}
	add(0, "s:lzf", String(strings.Repeat("abcdefgh", 200)), EncString, "raw")
	add(0, "s:lzf21", String("aaaaaaaaaaaaaaaaaaaaa"), EncString, "embstr")
	add(0, "s:random", String(randBytes(rng, 1000)), EncString, "raw")
	add(0, "s:bigrandom", String(randBytes(rng, 300<<10)), EncString, "raw")
	add(0, "s:biglzf", String(bytes.Repeat([]byte("0123456789abcdef"), 200<<10)), EncString, "raw")
	withTTL := add(0, "s:ttl", String("expiring"), EncString, "embstr")
	withTTL.ExpireAt = futureMs

	// Lists: one node, many nodes, large elements, integers.
	add(0, "l:small", List(strs("a", "b", "c", "1", "-2", "300", "", "hello")), EncListQuicklist2, "quicklist")
	add(0, "l:ints", List(strs("0", "127", "128", "-4096", "4096", "32768", "-8388609", "2147483648", "9223372036854775807")), EncListQuicklist2, "quicklist")
	big := add(0, "l:big", List(rangeStrs("element-", 5000)), EncListQuicklist2, "quicklist")
	big.dumpSkip = false
	large := make(List, 5)
	for i := range large {
		large[i] = bytes.Repeat([]byte{byte('A' + i)}, 10000)
	}
	add(0, "l:largeelems", large, EncListQuicklist2, "quicklist")
	ttlList := add(0, "l:ttl", List(strs("x")), EncListQuicklist2, "quicklist")
	ttlList.ExpireAt = futureMs + 1

	// Sets: intsets of each width, hashtable sets.
	add(0, "set:int16", Set(strs("1", "2", "3", "-32768", "32767")), EncSetIntset, "intset")
	add(0, "set:int32", Set(strs("1", "70000", "-2147483648")), EncSetIntset, "intset")
	add(0, "set:int64", Set(strs("1", "9223372036854775807", "-9223372036854775808")), EncSetIntset, "intset")
	add(0, "set:strings", Set(strs("apple", "banana", "cherry", "1")), EncSet, "hashtable")
	add(0, "set:manyints", Set(rangeStrs("", 600)), EncSet, "hashtable")
	add(0, "set:noncanon", Set(strs("1", "01")), EncSet, "hashtable")

	// Sorted sets.
	add(0, "z:small", ZSet{
		{[]byte("a"), 1}, {[]byte("b"), -2}, {[]byte("c"), 1.5}, {[]byte("d"), math.Inf(1)},
		{[]byte("e"), math.Inf(-1)}, {[]byte("f"), 0}, {[]byte("g"), 1e300}, {[]byte("h"), -1e-300},
		{[]byte("i"), 0.1}, {[]byte("123"), 4503599627370496}, {[]byte("j"), 1},
	}, EncZSetListpack, "listpack")
	manyZ := make(ZSet, 200)
	for i := range manyZ {
		manyZ[i] = ZMember{[]byte(fmt.Sprintf("m%03d", i)), float64(i%17) / 3}
	}
	add(0, "z:many", manyZ, EncZSet2, "skiplist")
	add(0, "z:longmember", ZSet{{bytes.Repeat([]byte("m"), 65), 1}, {[]byte("x"), 2}}, EncZSet2, "skiplist")
	add(0, "z:edge64", ZSet{{bytes.Repeat([]byte("m"), 64), 1}}, EncZSetListpack, "listpack")

	// Hashes.
	add(0, "h:small", Hash{{[]byte("f1"), []byte("v1")}, {[]byte("n"), []byte("12345")}, {[]byte("empty"), []byte("")}},
		EncHashListpack, "listpack")
	mediumH := make(Hash, 300)
	for i := range mediumH {
		mediumH[i] = FieldValue{[]byte(fmt.Sprintf("f%d", i)), []byte(fmt.Sprint(i))}
	}
	add(0, "h:medium", mediumH, EncHashListpack, "listpack")
	manyH := make(Hash, 600)
	for i := range manyH {
		manyH[i] = FieldValue{[]byte(fmt.Sprintf("field%d", i)), []byte(fmt.Sprintf("value%d", i*i))}
	}
	add(0, "h:many", manyH, EncHash, "hashtable")
	add(0, "h:longvalue", Hash{{[]byte("f"), bytes.Repeat([]byte("v"), 65)}}, EncHash, "hashtable")
	add(0, "h:lzfvalue", Hash{{[]byte("f"), []byte(strings.Repeat("compress me ", 20))}, {[]byte("g"), []byte("1")}},
		EncHash, "hashtable")

	// Streams.
	add(0, "x:simple", &Stream{
		Entries: []StreamEntry{
			{ID: StreamID{1000, 0}, Fields: []FieldValue{{[]byte("a"), []byte("1")}, {[]byte("b"), []byte("two")}}},
			{ID: StreamID{1000, 1}, Fields: []FieldValue{{[]byte("a"), []byte("3")}, {[]byte("b"), []byte("four")}}},
			{ID: StreamID{1001, 0}, Fields: []FieldValue{{[]byte("other"), []byte("x")}}},
		},
		LastID: StreamID{1001, 0}, FirstID: StreamID{1000, 0}, EntriesAdded: 3,
	}, EncStreamListpacks2, "stream")
	many := &Stream{LastID: StreamID{5000, 0}, MaxDeletedID: StreamID{10, 5}, EntriesAdded: 400}
	for i := 0; i < 250; i++ {
		f := []FieldValue{{[]byte("n"), []byte(fmt.Sprint(i))}, {[]byte("payload"), []byte(strings.Repeat("p", i%40))}}
		if i%7 == 0 {
			f = append(f, FieldValue{[]byte("extra"), []byte("yes")})
		}
		many.Entries = append(many.Entries, StreamEntry{ID: StreamID{uint64(100 + i/3), uint64(i % 3)}, Fields: f})
	}
	many.FirstID = many.Entries[0].ID
	many.Groups = []StreamGroup{
		{
			Name: []byte("g1"), LastID: StreamID{101, 2}, EntriesRead: 6,
			Pending: []StreamPending{
				{ID: StreamID{100, 0}, DeliveryTime: 1700000000000, DeliveryCount: 1},
				{ID: StreamID{100, 1}, DeliveryTime: 1700000000001, DeliveryCount: 3},
				{ID: StreamID{101, 2}, DeliveryTime: 1700000000002, DeliveryCount: 2},
			},
			Consumers: []StreamConsumer{
				{Name: []byte("alice"), SeenTime: 1700000000100, ActiveTime: 1700000000100,
					Pending: []StreamID{{100, 0}, {101, 2}}},
				{Name: []byte("bob"), SeenTime: 1700000000200, ActiveTime: 1700000000200,
					Pending: []StreamID{{100, 1}}},
				{Name: []byte("idle"), SeenTime: 1700000000300, ActiveTime: 1700000000300},
			},
		},
		{Name: []byte("g2"), LastID: StreamID{0, 0}, EntriesRead: -1},
	}
	add(0, "x:many", many, EncStreamListpacks2, "stream")
	add(0, "x:empty", &Stream{LastID: StreamID{7, 7}, MaxDeletedID: StreamID{7, 7}, EntriesAdded: 3,
		Groups: []StreamGroup{{Name: []byte("g"), LastID: StreamID{7, 7}, EntriesRead: 3}}}, EncStreamListpacks2, "stream")

	// Other databases.
	add(1, "s:hello", String("db1"), EncString, "embstr")
	e := add(1, "h:small", Hash{{[]byte("a"), []byte("b")}}, EncHashListpack, "listpack")
	e.ExpireAt = futureMs + 2
	add(7, "l:small", List(strs("seven")), EncListQuicklist2, "quicklist")
	add(15, "set:int16", Set(strs("15")), EncSetIntset, "intset")
	return out
}
