package redis

// Command metadata table
//
// commands.json (embedded below) describes the Redis 7.0 commands Ferry
// exposes, as Redis 7.0.15 reports them through COMMAND, COMMAND INFO and
// COMMAND DOCS, so that COMMAND, COMMAND INFO/DOCS/COUNT/LIST and
// GETKEYS[ANDFLAGS] can be answered from one table (cluster-aware clients
// read key positions from COMMAND; redis-cli 7.0+ builds help and hints
// from DOCS).
//
// Facts (arity, flags, key positions, key specs, ACL categories, tips, group,
// since, complexity, argument trees, deprecation) are those of Redis 7.0.15.
// The prose (summary, history notes, key-spec notes, replaced_by) is Ferry's
// own wording. Two entries are later additions the table carries on purpose:
// CLIENT SETINFO and CLIENT NO-TOUCH (since 7.2.0, as Redis 7.2 defines
// them); IntroducedAfter("7.0.15") tells them apart.
//
// Schema (schema_version 1):
//
//	{
//	  "schema_version": 1,
//	  "redis_version":  "7.0.15",           // release the facts come from
//	  "commands": {                         // keyed by lower-case name
//	    "<name>": <command>, ...
//	  }
//	}
//
// <command> (top-level commands and subcommands alike):
//
//	name            lower-case name; a subcommand is "container|sub"
//	                (e.g. "client|list"), as COMMAND INFO prints it
//	container       subcommands only: the container's name ("client")
//	group           COMMAND DOCS group: string, generic, list, set,
//	                sorted-set, hash, bitmap, pubsub, transactions,
//	                connection, server, scripting, hyperloglog, geo,
//	                stream, cluster
//	since           Redis version that introduced the command ("x.y.z")
//	summary         one-line description (Ferry's wording)
//	complexity      time complexity as Redis documents it; absent for the
//	                few commands Redis gives none (MONITOR, LOLWUT)
//	arity           Redis convention, counting the command name (for a
//	                subcommand also the container): n > 0 exactly n
//	                arguments, n < 0 at least -n
//	flags           COMMAND INFO flags, in COMMAND INFO order: write,
//	                readonly, denyoom, admin, pubsub, noscript, blocking,
//	                loading, stale, skip_monitor, skip_slowlog, fast,
//	                no_auth, no_mandatory_keys, no_async_loading,
//	                no_multi, movablekeys, allow_busy. Redis keeps
//	                may_replicate, sentinel and only_sentinel internal
//	                (COMMAND INFO never prints them), so the table has
//	                none. Empty for most containers and for MEMORY
//	                DOCTOR/MALLOC-STATS/PURGE/STATS, as in Redis.
//	first_key, last_key, step
//	                legacy key range of COMMAND INFO (0 0 0 when there is
//	                none; a negative last_key counts from the end)
//	acl_categories  e.g. ["@write", "@string", "@slow"], in Redis order
//	tips            command tips: nondeterministic_output,
//	                nondeterministic_output_order, request_policy:<p>,
//	                response_policy:<p>
//	key_specs       list of key specs (below); an argument's
//	                key_spec_index points into it
//	doc_flags       COMMAND DOCS doc flags: "deprecated", "syscmd"
//	deprecated_since, replaced_by
//	                for deprecated commands
//	history         [{"version": "x.y.z", "note": "..."}], the changes
//	                COMMAND DOCS lists
//	arguments       argument tree (below), in command-line order
//	subcommands     containers only: {"<container>|<sub>": <command>, ...}
//
// <key spec>:
//
//	flags           RW/RO/OW/RM plus access/update/insert/delete,
//	                not_key, incomplete, variable_flags
//	notes           optional remark
//	begin_search    {"type": "index", "index": <argv position>}
//	                {"type": "keyword", "keyword": "<KW>", "startfrom": <i>}
//	                {"type": "unknown"}
//	find_keys       {"type": "range", "lastkey": <n>, "keystep": <n>, "limit": <n>}
//	                {"type": "keynum", "keynumidx": <n>, "firstkey": <n>, "keystep": <n>}
//	                {"type": "unknown"}
//
// The begin_search/find_keys fields mean what COMMAND INFO prints under
// "spec" for the same type.
//
// <argument>:
//
//	name            argument name (COMMAND DOCS "name")
//	type            string, integer, double, key, pattern, unix-time,
//	                pure-token, oneof, block
//	display_text    optional; Redis 7.0 defines none, so the table has
//	                none and users fall back to name
//	token           literal keyword preceding the value (required for
//	                pure-token)
//	flags           optional, multiple, multiple_token
//	key_spec_index  index into key_specs; present for every key argument
//	                (and SORT's BY/GET patterns); ArgMeta.KeySpecIndex is
//	                -1 when absent
//	since           version that added the argument, if later than the
//	                command
//	deprecated_since
//	                version that deprecated the argument
//	arguments       nested arguments of a oneof or block

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

//go:embed commands.json
var commandMetaJSON []byte

// CommandMetaSchemaVersion is the schema_version commands.json must carry.
const CommandMetaSchemaVersion = 1

// CommandMetaRedisVersion is the Redis release whose metadata the table holds.
const CommandMetaRedisVersion = "7.0.15"

// CommandMeta describes one command or subcommand.
type CommandMeta struct {
	Name            string                  `json:"name"`
	Container       string                  `json:"container,omitempty"`
	Group           string                  `json:"group"`
	Since           string                  `json:"since"`
	Summary         string                  `json:"summary"`
	Complexity      string                  `json:"complexity,omitempty"`
	Arity           int                     `json:"arity"`
	Flags           []string                `json:"flags"`
	FirstKey        int                     `json:"first_key"`
	LastKey         int                     `json:"last_key"`
	Step            int                     `json:"step"`
	ACLCategories   []string                `json:"acl_categories"`
	Tips            []string                `json:"tips"`
	KeySpecs        []KeySpec               `json:"key_specs"`
	DocFlags        []string                `json:"doc_flags,omitempty"`
	DeprecatedSince string                  `json:"deprecated_since,omitempty"`
	ReplacedBy      string                  `json:"replaced_by,omitempty"`
	History         []HistoryEntry          `json:"history,omitempty"`
	Arguments       []*ArgMeta              `json:"arguments"`
	Subcommands     map[string]*CommandMeta `json:"subcommands,omitempty"`

	// Parent is the container of a subcommand (nil for top-level commands);
	// set by LoadCommandMeta.
	Parent *CommandMeta `json:"-"`
}

// KeySpec is one key specification, as COMMAND INFO reports it.
type KeySpec struct {
	Flags       []string    `json:"flags"`
	Notes       string      `json:"notes,omitempty"`
	BeginSearch BeginSearch `json:"begin_search"`
	FindKeys    FindKeys    `json:"find_keys"`
}

// BeginSearch says where the search for a key spec's keys starts.
// Type "index": at argv[Index]. Type "keyword": after the first occurrence of
// Keyword, searching from argv[StartFrom] (negative: from the end, backwards).
// Type "unknown": the keys cannot be located from the spec.
type BeginSearch struct {
	Type      string `json:"type"`
	Index     int    `json:"index,omitempty"`
	Keyword   string `json:"keyword,omitempty"`
	StartFrom int    `json:"startfrom,omitempty"`
}

// FindKeys says which arguments, from the begin_search point, are keys.
// Type "range": LastKey (relative to the start; negative counts from the end
// of argv), every KeyStep-th argument, Limit (0: none). Type "keynum": the
// count is at start+KeyNumIdx, the first key at start+FirstKey, then every
// KeyStep-th argument. Type "unknown": not expressible.
type FindKeys struct {
	Type      string `json:"type"`
	LastKey   int    `json:"lastkey"`
	KeyStep   int    `json:"keystep"`
	Limit     int    `json:"limit"`
	KeyNumIdx int    `json:"keynumidx"`
	FirstKey  int    `json:"firstkey"`
}

// HistoryEntry is one change listed in a command's COMMAND DOCS history.
type HistoryEntry struct {
	Version string `json:"version"`
	Note    string `json:"note"`
}

// ArgMeta is one node of a command's argument tree.
type ArgMeta struct {
	Name            string     `json:"name"`
	Type            string     `json:"type"`
	DisplayText     string     `json:"display_text,omitempty"`
	Token           string     `json:"token,omitempty"`
	Flags           []string   `json:"flags,omitempty"`
	KeySpecIndex    int        `json:"key_spec_index"` // -1: none
	Since           string     `json:"since,omitempty"`
	DeprecatedSince string     `json:"deprecated_since,omitempty"`
	Arguments       []*ArgMeta `json:"arguments,omitempty"`
}

type argMetaJSON ArgMeta

// UnmarshalJSON decodes an argument, setting KeySpecIndex to -1 when the
// JSON has no key_spec_index.
func (a *ArgMeta) UnmarshalJSON(b []byte) error {
	aux := struct {
		*argMetaJSON
		KeySpecIndex *int `json:"key_spec_index"`
	}{argMetaJSON: (*argMetaJSON)(a)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	a.KeySpecIndex = -1
	if aux.KeySpecIndex != nil {
		a.KeySpecIndex = *aux.KeySpecIndex
	}
	return nil
}

// MarshalJSON encodes an argument, leaving out key_spec_index when it is -1.
func (a *ArgMeta) MarshalJSON() ([]byte, error) {
	aux := struct {
		*argMetaJSON
		KeySpecIndex *int `json:"key_spec_index,omitempty"`
	}{argMetaJSON: (*argMetaJSON)(a)}
	if a.KeySpecIndex >= 0 {
		i := a.KeySpecIndex
		aux.KeySpecIndex = &i
	}
	return json.Marshal(aux)
}

// HasFlag reports whether the argument carries flag f (optional, multiple,
// multiple_token).
func (a *ArgMeta) HasFlag(f string) bool { return metaContains(a.Flags, f) }

// Optional reports whether the argument may be left out.
func (a *ArgMeta) Optional() bool { return a.HasFlag("optional") }

// Multiple reports whether the argument may repeat.
func (a *ArgMeta) Multiple() bool { return a.HasFlag("multiple") }

// HasFlag reports whether COMMAND INFO lists flag f for the command.
func (c *CommandMeta) HasFlag(f string) bool { return metaContains(c.Flags, f) }

// HasACLCategory reports whether the command is in ACL category cat
// (with or without the leading '@').
func (c *CommandMeta) HasACLCategory(cat string) bool {
	if !strings.HasPrefix(cat, "@") {
		cat = "@" + cat
	}
	return metaContains(c.ACLCategories, cat)
}

// IsContainer reports whether the command has subcommands.
func (c *CommandMeta) IsContainer() bool { return len(c.Subcommands) > 0 }

// SubcommandNames returns the full names ("client|list", ...) of the
// subcommands, sorted.
func (c *CommandMeta) SubcommandNames() []string {
	names := make([]string, 0, len(c.Subcommands))
	for n := range c.Subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IntroducedAfter reports whether the command appeared in a Redis release
// later than version (e.g. IntroducedAfter("7.0.15") is true for the 7.2
// subcommands CLIENT SETINFO and CLIENT NO-TOUCH).
func (c *CommandMeta) IntroducedAfter(version string) bool {
	return metaVersionLess(version, c.Since)
}

// LoadCommandMeta decodes the embedded table. The map is keyed by lower-case
// top-level command name; subcommands hang off their container's
// Subcommands, keyed "container|sub", with Parent set. Each call returns a
// fresh copy that the caller may modify.
func LoadCommandMeta() (map[string]*CommandMeta, error) {
	var top struct {
		SchemaVersion int                     `json:"schema_version"`
		RedisVersion  string                  `json:"redis_version"`
		Commands      map[string]*CommandMeta `json:"commands"`
	}
	if err := json.Unmarshal(commandMetaJSON, &top); err != nil {
		return nil, fmt.Errorf("commands.json: %w", err)
	}
	if top.SchemaVersion != CommandMetaSchemaVersion {
		return nil, fmt.Errorf("commands.json: schema_version %d, want %d", top.SchemaVersion, CommandMetaSchemaVersion)
	}
	if top.RedisVersion != CommandMetaRedisVersion {
		return nil, fmt.Errorf("commands.json: redis_version %q, want %q", top.RedisVersion, CommandMetaRedisVersion)
	}
	if len(top.Commands) == 0 {
		return nil, fmt.Errorf("commands.json: no commands")
	}
	for key, c := range top.Commands {
		if c == nil || c.Name != key || key != strings.ToLower(key) || strings.Contains(key, "|") || c.Container != "" {
			return nil, fmt.Errorf("commands.json: bad top-level entry %q", key)
		}
		for skey, s := range c.Subcommands {
			if s == nil || s.Name != skey || skey != strings.ToLower(skey) ||
				!strings.HasPrefix(skey, key+"|") || len(skey) == len(key)+1 ||
				strings.Count(skey, "|") != 1 || s.Container != key || len(s.Subcommands) != 0 {
				return nil, fmt.Errorf("commands.json: bad subcommand %q of %q", skey, key)
			}
			s.Parent = c
		}
	}
	return top.Commands, nil
}

func metaContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// metaVersionLess compares dotted numeric versions ("6.2.0" < "7.0.15").
func metaVersionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
