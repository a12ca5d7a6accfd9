package redis

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// metaWanted lists the commands (and, after a colon, the subcommands) the
// table must describe.
var metaWanted = []string{
	"ping", "echo", "hello", "auth", "select", "quit", "reset",
	"client:id,setname,getname,list,info,kill,setinfo,reply,pause,unpause,no-evict,no-touch,tracking,caching,getredir,trackinginfo,unblock,help",
	"command:count,info,docs,list,getkeys,getkeysandflags,help",
	"info", "config:get,set,resetstat,rewrite,help",
	"dbsize", "time", "lastsave", "save", "bgsave", "bgrewriteaof", "shutdown",
	"memory:usage,stats,doctor,malloc-stats,purge,help",
	"slowlog:get,len,reset,help",
	"latency:latest,history,reset,doctor,graph,histogram,help",
	"monitor", "debug", "flushdb", "flushall", "swapdb", "lolwut", "role",
	"replicaof", "slaveof", "wait", "failover",
	"acl:whoami,users,list,cat,getuser,setuser,deluser,genpass,log,save,load,dryrun,help",
	"get", "set", "setnx", "setex", "psetex", "mget", "mset", "msetnx", "getset",
	"getdel", "getex", "append", "strlen", "getrange", "substr", "setrange",
	"incr", "decr", "incrby", "decrby", "incrbyfloat", "lcs", "setbit", "getbit",
	"bitcount", "bitpos", "bitop", "bitfield", "bitfield_ro",
	"del", "unlink", "exists", "type", "expire", "pexpire", "expireat",
	"pexpireat", "expiretime", "pexpiretime", "ttl", "pttl", "persist", "rename",
	"renamenx", "copy", "move", "keys", "scan", "randomkey",
	"object:encoding,freq,idletime,refcount,help",
	"touch", "dump", "restore", "sort", "sort_ro",
	"hset", "hsetnx", "hget", "hmget", "hmset", "hdel", "hexists", "hlen",
	"hstrlen", "hkeys", "hvals", "hgetall", "hincrby", "hincrbyfloat",
	"hrandfield", "hscan",
	"lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lrange",
	"lindex", "lset", "linsert", "lrem", "ltrim", "lpos", "lmove", "rpoplpush",
	"lmpop", "blpop", "brpop", "blmove", "brpoplpush", "blmpop",
	"sadd", "srem", "smembers", "sismember", "smismember", "scard", "spop",
	"srandmember", "smove", "sinter", "sintercard", "sinterstore", "sunion",
	"sunionstore", "sdiff", "sdiffstore", "sscan",
	"zadd", "zincrby", "zrem", "zcard", "zcount", "zlexcount", "zscore",
	"zmscore", "zrank", "zrevrank", "zrange", "zrangestore", "zrevrange",
	"zrangebyscore", "zrevrangebyscore", "zrangebylex", "zrevrangebylex",
	"zremrangebyrank", "zremrangebyscore", "zremrangebylex", "zpopmin",
	"zpopmax", "bzpopmin", "bzpopmax", "zmpop", "bzmpop", "zunion", "zinter",
	"zdiff", "zunionstore", "zinterstore", "zdiffstore", "zintercard",
	"zrandmember", "zscan",
	"multi", "exec", "discard", "watch", "unwatch",
	"subscribe", "unsubscribe", "psubscribe", "punsubscribe", "publish",
	"ssubscribe", "sunsubscribe", "spublish",
	"pubsub:channels,numsub,numpat,shardchannels,shardnumsub,help",
	"eval", "evalsha", "eval_ro", "evalsha_ro",
	"script:load,exists,flush,kill,help,debug",
	"fcall", "fcall_ro",
	"function:load,list,delete,flush,dump,restore,stats,kill,help",
}

func metaSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, x := range strings.Fields(s) {
		m[x] = true
	}
	return m
}

var (
	metaGroups = metaSet("string generic list set sorted-set hash bitmap pubsub transactions " +
		"connection server scripting hyperloglog geo stream cluster")
	metaCmdFlags = metaSet("write readonly denyoom admin pubsub noscript blocking loading stale " +
		"skip_monitor skip_slowlog fast no_auth may_replicate sentinel only_sentinel " +
		"no_mandatory_keys no_async_loading no_multi movablekeys allow_busy")
	metaACLCats = metaSet("@keyspace @read @write @set @sortedset @list @hash @string @bitmap " +
		"@hyperloglog @geo @stream @pubsub @admin @fast @slow @blocking @dangerous @connection " +
		"@transaction @scripting")
	metaArgTypes    = metaSet("string integer double key pattern unix-time pure-token oneof block")
	metaArgFlags    = metaSet("optional multiple multiple_token")
	metaKSAccess    = metaSet("RW RO OW RM")
	metaKSFlags     = metaSet("RW RO OW RM access update insert delete not_key incomplete variable_flags")
	metaDocFlags    = metaSet("deprecated syscmd")
	metaTipRe       = regexp.MustCompile(`^(nondeterministic_output|nondeterministic_output_order|request_policy:(all_nodes|all_shards|multi_shard|special)|response_policy:(one_succeeded|all_succeeded|agg_logical_and|agg_logical_or|agg_min|agg_max|agg_sum|special))$`)
	metaVersionRe   = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	metaCmdNameRe   = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	metaSubNameRe   = regexp.MustCompile(`^[a-z][a-z0-9_-]*\|[a-z][a-z0-9_-]*$`)
	metaRedis70Only = "7.0.15"

	// Redis 7.0 gives these non-container commands an empty flag set.
	metaNoFlags = metaSet("memory|doctor memory|malloc-stats memory|purge memory|stats")
)

func loadMetaForTest(t *testing.T) map[string]*CommandMeta {
	t.Helper()
	table, err := LoadCommandMeta()
	if err != nil {
		t.Fatalf("LoadCommandMeta: %v", err)
	}
	return table
}

// metaAll returns every command and subcommand, sorted by name.
func metaAll(table map[string]*CommandMeta) []*CommandMeta {
	var all []*CommandMeta
	for _, c := range table {
		all = append(all, c)
		for _, s := range c.Subcommands {
			all = append(all, s)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}

func TestCommandMetaCoverage(t *testing.T) {
	table := loadMetaForTest(t)
	want := map[string]bool{}
	for _, w := range metaWanted {
		name, subs, _ := strings.Cut(w, ":")
		want[name] = true
		c := table[name]
		if c == nil {
			t.Errorf("missing command %q", name)
			continue
		}
		if subs == "" {
			if c.IsContainer() {
				t.Errorf("%s: unexpected subcommands %v", name, c.SubcommandNames())
			}
			continue
		}
		wantSubs := strings.Split(subs, ",")
		for _, s := range wantSubs {
			if c.Subcommands[name+"|"+s] == nil {
				t.Errorf("missing subcommand %s|%s", name, s)
			}
		}
		if len(c.Subcommands) != len(wantSubs) {
			t.Errorf("%s: %d subcommands, want %d: %v", name, len(c.Subcommands), len(wantSubs), c.SubcommandNames())
		}
	}
	for name := range table {
		if !want[name] {
			t.Errorf("unexpected command %q", name)
		}
	}
	// COMMAND COUNT of Redis 7.0.15 restricted to this set.
	if len(table) != 200 {
		t.Errorf("%d commands, want 200", len(table))
	}
}

func TestCommandMetaInvariants(t *testing.T) {
	table := loadMetaForTest(t)
	for _, c := range metaAll(table) {
		checkCommandMeta(t, c)
	}
}

func checkCommandMeta(t *testing.T, c *CommandMeta) {
	t.Helper()
	name := c.Name
	errf := func(format string, args ...any) {
		t.Helper()
		t.Errorf(name+": "+format, args...)
	}

	// Naming and nesting.
	if c.Parent == nil {
		if !metaCmdNameRe.MatchString(name) || c.Container != "" {
			errf("bad top-level name/container %q", c.Container)
		}
	} else {
		if !metaSubNameRe.MatchString(name) || !strings.HasPrefix(name, c.Parent.Name+"|") || c.Container != c.Parent.Name {
			errf("subcommand not named container|sub (container %q)", c.Container)
		}
		if c.Parent.Subcommands[name] != c {
			errf("not registered under its parent")
		}
		if c.Group != c.Parent.Group {
			errf("group %q differs from container's %q", c.Group, c.Parent.Group)
		}
		if c.Arity == 1 || c.Arity == -1 {
			errf("subcommand arity %d does not count the subcommand name", c.Arity)
		}
	}
	if c.IsContainer() {
		// A container takes a subcommand (arity -2, no flags), except
		// COMMAND, which also runs on its own (arity -1).
		if c.Arity != -2 && c.Arity != -1 || c.Arity == -2 && len(c.Flags) != 0 {
			errf("container arity %d with flags %v", c.Arity, c.Flags)
		}
		if c.FirstKey != 0 || len(c.KeySpecs) != 0 || len(c.Arguments) != 0 {
			errf("container with keys or arguments")
		}
	}

	// Required descriptive fields.
	if c.Arity == 0 {
		errf("arity is 0")
	}
	if !metaGroups[c.Group] {
		errf("bad group %q", c.Group)
	}
	if !metaVersionRe.MatchString(c.Since) {
		errf("bad since %q", c.Since)
	}
	if c.IntroducedAfter(metaRedis70Only) && name != "client|setinfo" && name != "client|no-touch" {
		errf("since %s is later than Redis %s", c.Since, metaRedis70Only)
	}
	if strings.TrimSpace(c.Summary) == "" || strings.Contains(c.Summary, "\n") {
		errf("bad summary %q", c.Summary)
	}
	if c.Complexity == "" && name != "monitor" && name != "lolwut" {
		errf("no complexity")
	}

	// Flags.
	if c.Flags == nil {
		errf("flags missing")
	}
	if len(c.Flags) == 0 && !c.IsContainer() && !metaNoFlags[name] {
		errf("no flags")
	}
	checkMetaList(t, name, "flag", c.Flags, metaCmdFlags)
	if c.HasFlag("readonly") && c.HasFlag("write") {
		errf("both readonly and write")
	}

	// ACL categories, and the categories Redis derives from flags.
	checkMetaList(t, name, "ACL category", c.ACLCategories, metaACLCats)
	if c.HasACLCategory("fast") == c.HasACLCategory("slow") {
		errf("must be exactly one of @fast/@slow: %v", c.ACLCategories)
	}
	if c.HasFlag("fast") != c.HasACLCategory("fast") {
		errf("fast flag and @fast disagree")
	}
	for flag, cat := range map[string]string{"write": "@write", "admin": "@admin", "pubsub": "@pubsub", "blocking": "@blocking"} {
		if c.HasFlag(flag) && !c.HasACLCategory(cat) {
			errf("flag %s without %s", flag, cat)
		}
	}
	if c.HasFlag("admin") && !c.HasACLCategory("dangerous") {
		errf("admin without @dangerous")
	}
	if c.HasFlag("readonly") && !c.HasACLCategory("scripting") && !c.HasACLCategory("read") {
		errf("readonly without @read")
	}

	// Tips.
	if c.Tips == nil {
		errf("tips missing")
	}
	for _, tip := range c.Tips {
		if !metaTipRe.MatchString(tip) {
			errf("bad tip %q", tip)
		}
	}

	// Documentation flags and deprecation.
	checkMetaList(t, name, "doc flag", c.DocFlags, metaDocFlags)
	deprecated := metaContains(c.DocFlags, "deprecated")
	if deprecated != (c.DeprecatedSince != "") || deprecated != (c.ReplacedBy != "") {
		errf("deprecated doc flag, deprecated_since and replaced_by disagree")
	}
	if c.DeprecatedSince != "" && (!metaVersionRe.MatchString(c.DeprecatedSince) || metaVersionLess(c.DeprecatedSince, c.Since)) {
		errf("bad deprecated_since %q", c.DeprecatedSince)
	}
	for i, h := range c.History {
		// (Redis dates one ZREVRANGEBYSCORE change before the command's
		// own since, so history is not checked against since.)
		if !metaVersionRe.MatchString(h.Version) || h.Note == "" {
			errf("bad history entry %+v", h)
		}
		if i > 0 && metaVersionLess(h.Version, c.History[i-1].Version) {
			errf("history out of order at %s", h.Version)
		}
	}

	checkMetaKeys(t, c)

	// Argument tree.
	if c.Arguments == nil {
		errf("arguments missing")
	}
	referenced := make([]bool, len(c.KeySpecs))
	for _, a := range c.Arguments {
		checkMetaArg(t, c, a, "", referenced)
	}
	for i, ks := range c.KeySpecs {
		if !referenced[i] && !metaContains(ks.Flags, "not_key") {
			errf("key spec %d is not referenced by any argument", i)
		}
	}
	if c.Arity > 0 {
		// A command of fixed arity has no optional or repeated top-level
		// arguments, and they add up to the arity.
		for _, a := range c.Arguments {
			if a.Optional() || a.Multiple() {
				errf("fixed arity %d but argument %q is optional/multiple", c.Arity, a.Name)
			}
		}
		if need := metaMinArgs(c); need != c.Arity {
			errf("arguments need %d words, arity says %d", need, c.Arity)
		}
	} else if need := metaMinArgs(c); len(c.Arguments) > 0 && need > -c.Arity {
		// Redis's minimum may exceed what the tree requires (COMMAND
		// GETKEYS wants at least one argument after the command), never
		// the reverse.
		errf("arguments need %d words, arity says at least %d", need, -c.Arity)
	}
}

func checkMetaList(t *testing.T, name, what string, list []string, allowed map[string]bool) {
	t.Helper()
	seen := map[string]bool{}
	for _, x := range list {
		if !allowed[x] {
			t.Errorf("%s: unknown %s %q", name, what, x)
		}
		if seen[x] {
			t.Errorf("%s: duplicate %s %q", name, what, x)
		}
		seen[x] = true
	}
}

// checkMetaKeys checks key specs and the legacy key range against arity and
// against each other.
func checkMetaKeys(t *testing.T, c *CommandMeta) {
	t.Helper()
	name := c.Name
	errf := func(format string, args ...any) {
		t.Helper()
		t.Errorf(name+": "+format, args...)
	}
	n := c.Arity
	if n < 0 {
		n = -n
	}
	// Legacy range.
	switch {
	case c.FirstKey < 0 || c.Step < 0:
		errf("negative first_key/step %d/%d", c.FirstKey, c.Step)
	case c.FirstKey == 0:
		if c.LastKey != 0 || c.Step != 0 {
			errf("no first key but last_key %d step %d", c.LastKey, c.Step)
		}
	default:
		if c.Step < 1 {
			errf("step %d", c.Step)
		}
		// Keys may all be optional (SUNSUBSCRIBE), so with a minimum
		// arity the first key may sit just past the mandatory words.
		if c.FirstKey >= n && c.Arity > 0 || c.FirstKey > n {
			errf("first_key %d beyond arity %d", c.FirstKey, c.Arity)
		}
		if c.LastKey >= 0 && c.LastKey < c.FirstKey {
			errf("last_key %d before first_key %d", c.LastKey, c.FirstKey)
		}
		if c.Arity > 0 && c.LastKey >= c.Arity {
			errf("last_key %d beyond arity %d", c.LastKey, c.Arity)
		}
		if c.Arity > 0 && c.LastKey < 0 {
			errf("negative last_key with fixed arity")
		}
		if c.LastKey < 0 && n+c.LastKey < c.FirstKey-1 {
			// With the minimum number of words the key range may be
			// empty but must not end before it starts.
			errf("last_key %d inconsistent with arity %d and first_key %d", c.LastKey, c.Arity, c.FirstKey)
		}
	}

	// Key specs.
	if c.KeySpecs == nil {
		errf("key_specs missing")
	}
	movable := false
	for i, ks := range c.KeySpecs {
		checkMetaList(t, name, "key spec flag", ks.Flags, metaKSFlags)
		access := 0
		for _, f := range ks.Flags {
			if metaKSAccess[f] {
				access++
			}
		}
		if metaContains(ks.Flags, "not_key") {
			if access != 0 {
				errf("key spec %d: not_key with %v", i, ks.Flags)
			}
		} else if access != 1 {
			errf("key spec %d: want exactly one of RW/RO/OW/RM, have %v", i, ks.Flags)
		}
		bs, fk := ks.BeginSearch, ks.FindKeys
		switch bs.Type {
		case "index":
			if bs.Index < 1 || bs.Index >= n && c.Arity > 0 || bs.Index > n {
				errf("key spec %d: begin index %d outside arity %d", i, bs.Index, c.Arity)
			}
			if bs.Keyword != "" || bs.StartFrom != 0 {
				errf("key spec %d: index spec with keyword fields", i)
			}
		case "keyword":
			if bs.Keyword == "" || bs.StartFrom == 0 || bs.Index != 0 {
				errf("key spec %d: bad keyword spec %+v", i, bs)
			}
			movable = true
		case "unknown":
			if bs != (BeginSearch{Type: "unknown"}) {
				errf("key spec %d: unknown begin_search with fields", i)
			}
			movable = true
		default:
			errf("key spec %d: begin_search type %q", i, bs.Type)
		}
		switch fk.Type {
		case "range":
			if fk.KeyStep < 1 || fk.Limit < 0 || fk.KeyNumIdx != 0 || fk.FirstKey != 0 {
				errf("key spec %d: bad range %+v", i, fk)
			}
		case "keynum":
			if fk.KeyNumIdx < 0 || fk.FirstKey <= fk.KeyNumIdx || fk.KeyStep < 1 || fk.LastKey != 0 || fk.Limit != 0 {
				errf("key spec %d: bad keynum %+v", i, fk)
			}
			movable = true
		case "unknown":
			if fk != (FindKeys{Type: "unknown"}) {
				errf("key spec %d: unknown find_keys with fields", i)
			}
			movable = true
		default:
			errf("key spec %d: find_keys type %q", i, fk.Type)
		}
		if bs.Type == "unknown" && fk.Type != "unknown" {
			errf("key spec %d: unknown begin_search with known find_keys", i)
		}
		if metaContains(ks.Flags, "incomplete") {
			movable = true
		}
	}
	if movable && !c.HasFlag("movablekeys") {
		errf("key specs are not plain ranges but movablekeys is missing")
	}
	if c.HasFlag("movablekeys") && len(c.KeySpecs) == 0 {
		errf("movablekeys without key specs")
	}
	if len(c.KeySpecs) == 0 && c.FirstKey != 0 {
		errf("key range without key specs")
	}

	// The legacy range is what Redis derives from the key specs: the
	// union of consecutive plain (index, range, step 1) specs, or the
	// only spec when there is exactly one index+range spec.
	first, last, step := metaLegacyRange(c.KeySpecs)
	if first != c.FirstKey || last != c.LastKey || step != c.Step {
		errf("first/last/step %d/%d/%d, key specs give %d/%d/%d", c.FirstKey, c.LastKey, c.Step, first, last, step)
	}
}

// metaLegacyRange derives COMMAND INFO's (first_key, last_key, step) from
// key specs the way Redis 7.0 does.
func metaLegacyRange(specs []KeySpec) (first, last, step int) {
	plain := func(ks KeySpec) bool { return ks.BeginSearch.Type == "index" && ks.FindKeys.Type == "range" }
	abs := func(ks KeySpec) int { // absolute last key (negative: from the end)
		if ks.FindKeys.LastKey < 0 {
			return ks.FindKeys.LastKey
		}
		return ks.BeginSearch.Index + ks.FindKeys.LastKey
	}
	if len(specs) == 0 {
		return 0, 0, 0
	}
	if len(specs) == 1 && plain(specs[0]) {
		return specs[0].BeginSearch.Index, abs(specs[0]), specs[0].FindKeys.KeyStep
	}
	first, last = -1, 0
	prevLast := 0
	for _, ks := range specs {
		if !plain(ks) || ks.FindKeys.KeyStep != 1 || prevLast != 0 && prevLast != ks.BeginSearch.Index-1 {
			continue
		}
		if first < 0 || ks.BeginSearch.Index < first {
			first = ks.BeginSearch.Index
		}
		// A negative last key ("up to the end") dominates any positive one.
		if l := abs(ks); last >= 0 && (l < 0 || l > last) {
			last = l
		}
		prevLast = last
	}
	if first < 0 {
		return 0, 0, 0
	}
	return first, last, 1
}

// metaMinArgs counts the words (command name included) the argument tree
// requires at a minimum.
func metaMinArgs(c *CommandMeta) int {
	n := 1
	if c.Parent != nil {
		n = 2
	}
	for _, a := range c.Arguments {
		n += metaArgMin(a)
	}
	return n
}

func metaArgMin(a *ArgMeta) int {
	if a.Optional() {
		return 0
	}
	n := 0
	if a.Token != "" {
		n = 1
	}
	switch a.Type {
	case "pure-token":
		return n
	case "block":
		for _, s := range a.Arguments {
			n += metaArgMin(s)
		}
		return n
	case "oneof":
		best := -1
		for _, s := range a.Arguments {
			if m := metaArgMin(s); best < 0 || m < best {
				best = m
			}
		}
		return n + best
	}
	return n + 1
}

func checkMetaArg(t *testing.T, c *CommandMeta, a *ArgMeta, path string, referenced []bool) {
	t.Helper()
	path += "/" + a.Name
	errf := func(format string, args ...any) {
		t.Helper()
		t.Errorf(c.Name+" "+path+": "+format, args...)
	}
	if a.Name == "" {
		errf("argument without name")
	}
	if !metaArgTypes[a.Type] {
		errf("bad type %q", a.Type)
	}
	checkMetaList(t, c.Name+" "+path, "argument flag", a.Flags, metaArgFlags)
	if a.HasFlag("multiple_token") && !a.Multiple() {
		errf("multiple_token without multiple")
	}
	if a.HasFlag("multiple_token") && a.Token == "" {
		errf("multiple_token without token")
	}
	if a.Type == "pure-token" && a.Token == "" {
		errf("pure-token without token")
	}
	if a.Token != "" && strings.ContainsAny(a.Token, " \t") {
		errf("token %q has blanks", a.Token)
	}
	switch a.Type {
	case "oneof", "block":
		if len(a.Arguments) == 0 || a.Type == "oneof" && len(a.Arguments) < 2 {
			errf("%s with %d nested arguments", a.Type, len(a.Arguments))
		}
	default:
		if len(a.Arguments) != 0 {
			errf("%s with nested arguments", a.Type)
		}
	}
	switch {
	case a.Type == "key":
		if a.KeySpecIndex < 0 || a.KeySpecIndex >= len(c.KeySpecs) {
			errf("key_spec_index %d, command has %d key specs", a.KeySpecIndex, len(c.KeySpecs))
		} else {
			referenced[a.KeySpecIndex] = true
		}
	case a.Type == "pattern" && a.KeySpecIndex >= 0:
		// SORT's BY/GET patterns name keys.
		if a.KeySpecIndex >= len(c.KeySpecs) {
			errf("key_spec_index %d, command has %d key specs", a.KeySpecIndex, len(c.KeySpecs))
		} else {
			referenced[a.KeySpecIndex] = true
		}
	default:
		if a.KeySpecIndex != -1 {
			errf("key_spec_index %d on a %s argument", a.KeySpecIndex, a.Type)
		}
	}
	if a.Since != "" && (!metaVersionRe.MatchString(a.Since) || metaVersionLess(a.Since, c.Since)) {
		errf("bad since %q", a.Since)
	}
	if a.DeprecatedSince != "" && !metaVersionRe.MatchString(a.DeprecatedSince) {
		errf("bad deprecated_since %q", a.DeprecatedSince)
	}
	for _, s := range a.Arguments {
		checkMetaArg(t, c, s, path, referenced)
	}
}

// TestCommandMetaSpotChecks pins a few well-known entries.
func TestCommandMetaSpotChecks(t *testing.T) {
	table := loadMetaForTest(t)
	find := func(name string) *CommandMeta {
		t.Helper()
		if i := strings.IndexByte(name, '|'); i >= 0 {
			if p := table[name[:i]]; p != nil && p.Subcommands[name] != nil {
				return p.Subcommands[name]
			}
		} else if table[name] != nil {
			return table[name]
		}
		t.Fatalf("no %s", name)
		return nil
	}
	type info struct {
		arity             int
		flags             string
		first, last, step int
		acl, group, since string
	}
	for name, w := range map[string]info{
		"get":          {2, "readonly fast", 1, 1, 1, "@read @string @fast", "string", "1.0.0"},
		"set":          {-3, "write denyoom", 1, 1, 1, "@write @string @slow", "string", "1.0.0"},
		"mset":         {-3, "write denyoom", 1, -1, 2, "@write @string @slow", "string", "1.0.1"},
		"del":          {-2, "write", 1, -1, 1, "@keyspace @write @slow", "generic", "1.0.0"},
		"blpop":        {-3, "write noscript blocking", 1, -2, 1, "@write @list @slow @blocking", "list", "2.0.0"},
		"zunionstore":  {-4, "write denyoom movablekeys", 1, 1, 1, "@write @sortedset @slow", "sorted-set", "2.0.0"},
		"eval":         {-3, "noscript stale skip_monitor no_mandatory_keys movablekeys", 0, 0, 0, "@slow @scripting", "scripting", "2.6.0"},
		"client|list":  {-2, "admin noscript loading stale", 0, 0, 0, "@admin @slow @dangerous @connection", "connection", "2.4.0"},
		"memory|usage": {-3, "readonly", 2, 2, 1, "@read @slow", "server", "4.0.0"},
		"command|info": {-2, "loading stale", 0, 0, 0, "@slow @connection", "server", "2.8.13"},
		"ping":         {-1, "fast", 0, 0, 0, "@fast @connection", "connection", "1.0.0"},
	} {
		c := find(name)
		got := info{c.Arity, strings.Join(c.Flags, " "), c.FirstKey, c.LastKey, c.Step,
			strings.Join(c.ACLCategories, " "), c.Group, c.Since}
		if got != w {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, w)
		}
	}

	if c := find("getset"); c.DeprecatedSince != "6.2.0" || !metaContains(c.DocFlags, "deprecated") {
		t.Errorf("getset not deprecated since 6.2.0: %+v", c)
	}
	if c := find("client|setinfo"); !c.IntroducedAfter("7.0.15") || c.Arity != 4 {
		t.Errorf("client|setinfo: since %s arity %d", c.Since, c.Arity)
	}
	if c := find("keys"); strings.Join(c.Tips, " ") != "request_policy:all_shards nondeterministic_output_order" {
		t.Errorf("keys tips %v", c.Tips)
	}
	ks := find("zunionstore").KeySpecs
	if len(ks) != 2 || ks[1].BeginSearch != (BeginSearch{Type: "index", Index: 2}) ||
		ks[1].FindKeys != (FindKeys{Type: "keynum", KeyNumIdx: 0, FirstKey: 1, KeyStep: 1}) {
		t.Errorf("zunionstore key specs %+v", ks)
	}
	if a := find("get").Arguments; len(a) != 1 || a[0].Type != "key" || a[0].KeySpecIndex != 0 {
		t.Errorf("get arguments %+v", a)
	}
	if a := find("set").Arguments[1]; a.Name != "value" || a.KeySpecIndex != -1 {
		t.Errorf("set value argument %+v", a)
	}
}

// TestCommandMetaArgJSON checks that key_spec_index survives a round trip and
// stays absent for non-key arguments.
func TestCommandMetaArgJSON(t *testing.T) {
	table := loadMetaForTest(t)
	b, err := json.Marshal(table["set"].Arguments)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), "key_spec_index") != 1 {
		t.Errorf("marshalled SET arguments: %s", b)
	}
	var back []*ArgMeta
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back[0].KeySpecIndex != 0 || back[1].KeySpecIndex != -1 || len(back) != len(table["set"].Arguments) {
		t.Errorf("round trip: %s", b)
	}
}

func TestCommandMetaFreshCopies(t *testing.T) {
	a, b := loadMetaForTest(t), loadMetaForTest(t)
	a["get"].Arity = 99
	if b["get"].Arity != 2 {
		t.Error("LoadCommandMeta results share state")
	}
	if p := b["client"].Subcommands["client|list"].Parent; p != b["client"] {
		t.Error("subcommand Parent not set")
	}
}
