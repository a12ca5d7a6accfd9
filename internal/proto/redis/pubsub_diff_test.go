package redis

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/internal/keyspace"
)

// Differential tests: the same Pub/Sub conversations against Ferry and the
// real redis-server 7.0.15, compared byte for byte.

// A refScript step is "<conn> <command...> [#<replies>] [!]": conn is the
// index of the client connection, #n reads n replies (default 1; #0 sends
// only), "!" records the replies without comparing them (server-specific
// content such as HELLO's), "^" compares the replies (or the elements of a
// single array reply) as a set: Redis delivers to several matching
// patterns, and lists channels, in its dicts' hash order; "%" is for an
// UNSUBSCRIBE without arguments, whose confirmations come in hash order:
// it compares the set of names and the sequence of counts. "<conn> ~" checks that nothing more arrives
// within a short while; "<conn> #n" alone reads n more replies.
type refScript []string

// refUnescape turns a step's escapes into bytes Fields would split on:
// \s space, \r, \n, \0; an argument that is just \e is empty.
var refUnescape = strings.NewReplacer(`\s`, " ", `\r`, "\r", `\n`, "\n", `\0`, "\x00")

// runRefScript runs a script against addr and returns one transcript line
// per step.
func runRefScript(t *testing.T, addr string, script refScript) []string {
	t.Helper()
	conns := map[int]*refConn{}
	var out []string
	for _, step := range script {
		f := strings.Fields(step)
		id, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatalf("bad step %q", step)
		}
		c := conns[id]
		if c == nil {
			c = refDial(t, addr)
			conns[id] = c
		}
		f = f[1:]
		n, compare, sorted, unsubAll := 1, true, false, false
		for len(f) > 0 && (f[len(f)-1] == "!" || f[len(f)-1] == "^" || f[len(f)-1] == "%") {
			switch f[len(f)-1] {
			case "!":
				compare = false
			case "^":
				sorted = true
			case "%":
				unsubAll = true
			}
			f = f[:len(f)-1]
		}
		if len(f) > 0 && strings.HasPrefix(f[len(f)-1], "#") {
			n, _ = strconv.Atoi(f[len(f)-1][1:])
			f = f[:len(f)-1]
		}
		var got []string
		switch {
		case len(f) == 1 && f[0] == "~":
			got = append(got, c.replyWithin(150*time.Millisecond))
		default:
			if len(f) > 0 {
				for i := range f {
					f[i] = refUnescape.Replace(f[i])
					if f[i] == "\\e" {
						f[i] = ""
					}
				}
				c.send(f...)
			}
			for i := 0; i < n; i++ {
				got = append(got, c.reply())
			}
		}
		if unsubAll {
			got = refUnsubAll(got)
		} else if sorted && len(got) == 1 {
			got[0] = refSortedArray(got[0])
		} else if sorted {
			sort.Strings(got)
		}
		line := step + " => " + strconv.Quote(strings.Join(got, ""))
		if !compare {
			line = step + " => (not compared)"
		}
		out = append(out, line)
	}
	return out
}

// refUnsubAll splits unsubscribe confirmations into their sorted names and
// their counts in order.
func refUnsubAll(replies []string) []string {
	var names, counts []string
	for _, r := range replies {
		f := strings.Fields(refMessage(r))
		if len(f) != 3 {
			return replies
		}
		names = append(names, f[1])
		counts = append(counts, f[2])
	}
	sort.Strings(names)
	return []string{fmt.Sprint(names, counts)}
}

// diffRefScript runs script on a fresh Ferry and a fresh redis-server and
// fails on the first step whose replies differ.
func diffRefScript(t *testing.T, script refScript) {
	t.Helper()
	ref := refRedis(t)
	ts := startServer(t, Config{}, keyspace.Config{})
	want := runRefScript(t, ref, script)
	got := runRefScript(t, ts.addr, script)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("step %d differs\nredis: %s\nferry: %s", i, want[i], got[i])
		}
	}
}

func TestPubSubDiff(t *testing.T) {
	tests := []struct {
		name   string
		script refScript
	}{
		{"resp2-subscribed-mode", refScript{
			"0 SUBSCRIBE a b #2",
			"0 GET x", "0 SET x 1", "0 CLIENT LIST", "0 CONFIG GET maxmemory", "0 ECHO hi", "0 MULTI",
			"0 PUBSUB NUMPAT", "0 PUBLISH a x", "0 HELLO 2", "0 SELECT 1", "0 AUTH x", "0 WATCH x",
			"0 PING", "0 PING hi", "0 PING a b",
			"0 PSUBSCRIBE p* #1", "0 SSUBSCRIBE s #1",
			"0 UNSUBSCRIBE #2 %", "0 GET x",
			"0 PUNSUBSCRIBE #1", "0 GET x", "0 PING",
			"0 SUNSUBSCRIBE #1", "0 GET x", "0 PING",
			"0 UNSUBSCRIBE", "0 PUNSUBSCRIBE", "0 SUNSUBSCRIBE", "0 GET x",
		}},
		{"resp2-shard-only", refScript{
			"0 SSUBSCRIBE s1 s2 #2", "0 GET x", "0 PING", "0 SUBSCRIBE c", "0 UNSUBSCRIBE c", "0 GET x",
			"0 SUNSUBSCRIBE s1", "0 GET x", "0 SUNSUBSCRIBE", "0 GET x",
		}},
		{"resp2-unsubscribe-when-not-subscribed", refScript{
			"0 UNSUBSCRIBE", "0 UNSUBSCRIBE a b #2", "0 PUNSUBSCRIBE", "0 PUNSUBSCRIBE a*", "0 SUNSUBSCRIBE",
			"0 SUNSUBSCRIBE a", "0 GET x", "0 PING",
		}},
		{"resp3-ordinary-commands-allowed", refScript{
			"0 HELLO 3 !", "0 SUBSCRIBE a b #2", "0 SET x 1", "0 GET x", "0 PING", "0 PING hi",
			"1 PUBLISH a m1", "0 #1", "0 GET x", "0 PSUBSCRIBE a* #1",
			"1 PUBLISH a m2", "0 #2", "0 SSUBSCRIBE s", "1 SPUBLISH s m3", "0 #1",
			"0 UNSUBSCRIBE #2 %", "0 PUNSUBSCRIBE", "0 SUNSUBSCRIBE", "0 UNSUBSCRIBE", "0 CLIENT INFO !",
		}},
		{"double-delivery", refScript{
			"0 SUBSCRIBE news.art", "0 PSUBSCRIBE news.* n*", "0 #1",
			"1 PUBLISH news.art hi", "0 #3 ^", "1 PUBLISH news.tech x", "0 #2 ^", "0 ~",
			"0 PSUBSCRIBE news.*", "1 PUBLISH news.art again", "0 #3 ^",
			"1 PUBSUB NUMPAT", "1 PUBSUB NUMSUB news.art news.tech", "1 PUBSUB CHANNELS ^", "1 PUBSUB CHANNELS news* ^",
		}},
		{"unsubscribe-all", refScript{
			"0 SUBSCRIBE a", "0 PSUBSCRIBE p1 p2 #2", "0 SSUBSCRIBE s1",
			"0 UNSUBSCRIBE", "0 PUNSUBSCRIBE #2 %", "1 PUBLISH a x", "1 PUBLISH p1 x", "1 SPUBLISH s1 x",
			"0 #1", "0 SUNSUBSCRIBE", "1 SPUBLISH s1 y", "0 ~",
			"1 PUBSUB NUMPAT", "1 PUBSUB CHANNELS", "1 PUBSUB SHARDCHANNELS",
		}},
		{"order-from-one-publisher", refScript{
			"0 SUBSCRIBE c", "0 PSUBSCRIBE c*",
			"1 PUBLISH c 1", "1 PUBLISH c 2", "1 PUBLISH cc 3", "1 PUBLISH c 4", "0 #7", "0 ~",
		}},
		{"multi-subscribe", refScript{
			"0 MULTI", "0 SUBSCRIBE a", "0 PSUBSCRIBE b*", "0 EXEC", "0 GET x", "1 PUBLISH a m", "0 #1",
		}},
		{"reset-leaves-subscribed-mode", refScript{
			"0 SUBSCRIBE a", "0 PSUBSCRIBE b*", "0 RESET", "0 GET x", "1 PUBLISH a x", "1 PUBSUB NUMPAT", "0 ~",
		}},
		{"pubsub-introspection", refScript{
			"0 SUBSCRIBE a b", "0 #1", "1 SUBSCRIBE b c #2", "2 SSUBSCRIBE s t #2", "3 PSUBSCRIBE x* y*", "3 #1",
			"4 PUBSUB CHANNELS ^", "4 PUBSUB CHANNELS [ab] ^", "4 PUBSUB CHANNELS * extra", "4 PUBSUB NUMSUB",
			"4 PUBSUB NUMSUB a b c d", "4 PUBSUB NUMPAT", "4 PUBSUB NUMPAT extra", "4 PUBSUB SHARDCHANNELS ^",
			"4 PUBSUB SHARDCHANNELS s* ^", "4 PUBSUB SHARDCHANNELS s extra", "4 PUBSUB SHARDNUMSUB s t u",
			"4 PUBSUB SHARDNUMSUB", "4 PUBSUB", "4 PUBSUB NOPE", "4 PUBSUB HELP",
			"4 SUBSCRIBE", "4 PUBLISH a", "4 SPUBLISH s", "4 PSUBSCRIBE", "4 SSUBSCRIBE",
			"4 HELLO 3 !", "4 PUBSUB NUMSUB a b", "4 PUBSUB SHARDNUMSUB s",
		}},
		{"resp3-pubsub-replies", refScript{
			"0 HELLO 3 !", "0 SUBSCRIBE a", "0 PSUBSCRIBE a*", "0 SSUBSCRIBE s",
			"1 PUBLISH a x", "0 #2 ^", "1 SPUBLISH s y", "0 #1", "0 UNSUBSCRIBE x", "0 PUNSUBSCRIBE", "0 SUNSUBSCRIBE",
			"0 UNSUBSCRIBE", "0 PING",
		}},
		{"publish-binary-and-empty", refScript{
			"0 PSUBSCRIBE * ** ?", "0 #2", "0 SUBSCRIBE \\s", "1 PUBLISH \\s sp", "0 #4 ^",
			"1 PUBLISH x \\r\\n\\0", "0 #3 ^", "1 PUBLISH \\e empty", "0 ~",
			"0 SUBSCRIBE \\e", "1 PUBLISH \\e m", "0 #1", "0 ~",
		}},
		{"numpat-counts-patterns", refScript{
			"0 PSUBSCRIBE a* b*", "0 #1", "1 PSUBSCRIBE a*", "2 PUBSUB NUMPAT", "1 PUNSUBSCRIBE", "2 PUBSUB NUMPAT",
			"0 PUNSUBSCRIBE a*", "2 PUBSUB NUMPAT",
		}},
		{"quit-while-subscribed", refScript{
			"0 SUBSCRIBE a", "0 QUIT", "0 ~", "1 PUBSUB NUMSUB a",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { diffRefScript(t, tt.script) })
	}
}

// globCases are patterns and channels whose matching the glob diff test
// checks against redis-server: every glob feature and its edge cases.
var (
	globPatterns = []string{
		"*", "**", "?", "??", "a*", "*a", "a*b", "a**b", "a?b", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo",
		"h[a-b]llo", "h[b-a]llo", "h[a-]llo", "h[-a]llo", "h[]llo", "h[]]llo", "h[^]llo", "[abc", "[^abc", "[a-",
		`h\*llo`, `h\?llo`, `h\[llo`, `\`, `a\`, `\\`, `[\]]`, `[\-]`, `[a\-z]`, `[\^a]`, `[^\]]`, `a[`, `a[]`,
		"[*]", "[?]", "*[", "*?", "*?*", "?*?", "a*[bc]", "[a-c][x-z]", "[z-a]", "[A-Z]", "[0-9]*",
		"news.*", "news.[!t]*", "*.*.*", "__key*__:*", "[[]", "[]-]", "x[^-a]y", "[^]", "[]", "",
	}
	globChannels = []string{
		"", "a", "b", "ab", "aab", "acb", "abc", "ba", "hello", "hallo", "hbllo", "hillo", "hllo", "heeello", "h]",
		"h*llo", "h?llo", "h[llo", "h]llo", "h-llo", "h^llo", "\\", "a\\", "]", "-", "^", "[", "*", "?",
		"c", "z", "Z", "M", "5x", "news.art", "news.tech", "news", "a.b.c", "a.b", "__keyspace@0__:k",
		"x-y", "xby", "x^y", "ad", "a[", "a[]", "az", "[]",
	}
)

// TestGlobDiff compares which channels each pattern matches, through
// PSUBSCRIBE + PUBLISH and through PUBSUB CHANNELS, with redis-server.
func TestGlobDiff(t *testing.T) {
	ref := refRedis(t)
	ts := startServer(t, Config{}, keyspace.Config{})
	run := func(addr string) (publish, channels []string) {
		sub, pub, lister := refDial(t, addr), refDial(t, addr), refDial(t, addr)
		lister.send(append([]string{"SUBSCRIBE"}, globChannels...)...)
		for range globChannels {
			lister.reply()
		}
		q := refDial(t, addr)
		for _, p := range globPatterns {
			sub.do("PSUBSCRIBE", p)
			var row []string
			for _, ch := range globChannels {
				// The lister's subscription counts one; the pattern the other.
				n := pub.do("PUBLISH", ch, "m")
				row = append(row, strings.TrimSpace(n))
				if n == ":2\r\n" {
					sub.reply()
				}
			}
			sub.do("PUNSUBSCRIBE", p)
			publish = append(publish, fmt.Sprintf("%q: %s", p, strings.Join(row, " ")))
			channels = append(channels, fmt.Sprintf("%q: %q", p, refSortedArray(q.do("PUBSUB", "CHANNELS", p))))
		}
		return publish, channels
	}
	wantPub, wantCh := run(ref)
	gotPub, gotCh := run(ts.addr)
	for i, p := range globPatterns {
		if gotPub[i] != wantPub[i] {
			t.Errorf("PUBLISH counts per channel %q\nredis: %s\nferry: %s", globChannels, wantPub[i], gotPub[i])
		}
		if gotCh[i] != wantCh[i] {
			t.Errorf("PUBSUB CHANNELS %q\nredis: %s\nferry: %s", p, wantCh[i], gotCh[i])
		}
	}
}
