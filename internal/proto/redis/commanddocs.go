package redis

import "strings"

// The command metadata (commands.json: Redis 7.0's arity, flags, key
// specs, ACL categories, tips and argument trees) feeds the command table
// and COMMAND INFO / DOCS.

var commandMeta = func() map[string]*CommandMeta {
	m, err := LoadCommandMeta()
	if err != nil {
		panic("redis: command metadata: " + err.Error())
	}
	return m
}()

// metaFor returns the metadata of "get" or "client|list", or nil.
func metaFor(name string) *CommandMeta {
	parent, _, isSub := strings.Cut(name, "|")
	m := commandMeta[parent]
	if m == nil || !isSub {
		return m
	}
	return m.Subcommands[name]
}

// docsView is the metadata of one command, possibly missing.
type docsView struct{ m *CommandMeta }

func commandMetaFor(name string) docsView { return docsView{metaFor(name)} }

func (d docsView) aclCategories() []string {
	if d.m == nil {
		return nil
	}
	out := make([]string, len(d.m.ACLCategories))
	for i, c := range d.m.ACLCategories {
		out[i] = "@" + strings.TrimPrefix(c, "@")
	}
	return out
}

func (d docsView) tips() []string {
	if d.m == nil {
		return nil
	}
	return d.m.Tips
}

// keyFlags are the flags of the command's first key spec (COMMAND
// GETKEYSANDFLAGS).
func (d docsView) keyFlags() []string {
	if d.m == nil || len(d.m.KeySpecs) == 0 {
		return nil
	}
	return d.m.KeySpecs[0].Flags
}

// writeKeySpecs writes COMMAND INFO's key specifications.
func (d docsView) writeKeySpecs(c *Conn) {
	if d.m == nil {
		c.out.Array(0)
		return
	}
	c.out.Array(len(d.m.KeySpecs))
	for _, ks := range d.m.KeySpecs {
		n := 3
		if ks.Notes != "" {
			n++
		}
		c.out.Map(n)
		if ks.Notes != "" {
			c.out.BulkString("notes")
			c.out.BulkString(ks.Notes)
		}
		c.out.BulkString("flags")
		c.out.Set(len(ks.Flags))
		for _, f := range ks.Flags {
			c.out.Simple(f)
		}
		c.out.BulkString("begin_search")
		c.out.Map(2)
		c.out.BulkString("type")
		c.out.BulkString(ks.BeginSearch.Type)
		c.out.BulkString("spec")
		switch ks.BeginSearch.Type {
		case "index":
			c.out.Map(1)
			c.out.BulkString("index")
			c.out.Int(int64(ks.BeginSearch.Index))
		case "keyword":
			c.out.Map(2)
			c.out.BulkString("keyword")
			c.out.BulkString(ks.BeginSearch.Keyword)
			c.out.BulkString("startfrom")
			c.out.Int(int64(ks.BeginSearch.StartFrom))
		default:
			c.out.Map(0)
		}
		c.out.BulkString("find_keys")
		c.out.Map(2)
		c.out.BulkString("type")
		c.out.BulkString(ks.FindKeys.Type)
		c.out.BulkString("spec")
		switch ks.FindKeys.Type {
		case "range":
			c.out.Map(3)
			c.out.BulkString("lastkey")
			c.out.Int(int64(ks.FindKeys.LastKey))
			c.out.BulkString("keystep")
			c.out.Int(int64(ks.FindKeys.KeyStep))
			c.out.BulkString("limit")
			c.out.Int(int64(ks.FindKeys.Limit))
		case "keynum":
			c.out.Map(3)
			c.out.BulkString("keynumidx")
			c.out.Int(int64(ks.FindKeys.KeyNumIdx))
			c.out.BulkString("firstkey")
			c.out.Int(int64(ks.FindKeys.FirstKey))
			c.out.BulkString("keystep")
			c.out.Int(int64(ks.FindKeys.KeyStep))
		default:
			c.out.Map(0)
		}
	}
}

// writeDocs writes COMMAND DOCS's map for one command, in Redis's field
// order.
func (d docsView) writeDocs(c *Conn, cmd *Command) {
	m := d.m
	if m == nil {
		c.out.Map(0)
		return
	}
	n := 3
	for _, present := range []bool{m.Complexity != "", len(m.DocFlags) > 0, m.DeprecatedSince != "",
		m.ReplacedBy != "", len(m.History) > 0, len(m.Arguments) > 0, len(cmd.Sub) > 0} {
		if present {
			n++
		}
	}
	c.out.Map(n)
	c.out.BulkString("summary")
	c.out.BulkString(m.Summary)
	c.out.BulkString("since")
	c.out.BulkString(m.Since)
	c.out.BulkString("group")
	c.out.BulkString(m.Group)
	if m.Complexity != "" {
		c.out.BulkString("complexity")
		c.out.BulkString(m.Complexity)
	}
	if len(m.DocFlags) > 0 {
		c.out.BulkString("doc_flags")
		c.out.Set(len(m.DocFlags))
		for _, f := range m.DocFlags {
			c.out.Simple(f)
		}
	}
	if m.DeprecatedSince != "" {
		c.out.BulkString("deprecated_since")
		c.out.BulkString(m.DeprecatedSince)
	}
	if m.ReplacedBy != "" {
		c.out.BulkString("replaced_by")
		c.out.BulkString(m.ReplacedBy)
	}
	if len(m.History) > 0 {
		c.out.BulkString("history")
		c.out.Set(len(m.History))
		for _, h := range m.History {
			c.out.Array(2)
			c.out.BulkString(h.Version)
			c.out.BulkString(h.Note)
		}
	}
	if len(m.Arguments) > 0 {
		c.out.BulkString("arguments")
		writeArgs(c, m.Arguments)
	}
	if len(cmd.Sub) > 0 {
		c.out.BulkString("subcommands")
		subs := make([]*Command, 0, len(cmd.Sub))
		for _, s := range cmd.Sub {
			subs = append(subs, s)
		}
		sortCommands(subs)
		c.out.Map(len(subs))
		for _, s := range subs {
			c.out.BulkString(s.Name)
			commandMetaFor(s.Name).writeDocs(c, s)
		}
	}
}

func writeArgs(c *Conn, args []*ArgMeta) {
	c.out.Array(len(args))
	for _, a := range args {
		n := 2
		for _, present := range []bool{a.DisplayText != "", a.KeySpecIndex >= 0, a.Token != "",
			a.Since != "", a.DeprecatedSince != "", len(a.Flags) > 0, len(a.Arguments) > 0} {
			if present {
				n++
			}
		}
		c.out.Map(n)
		c.out.BulkString("name")
		c.out.BulkString(a.Name)
		c.out.BulkString("type")
		c.out.BulkString(a.Type)
		if a.DisplayText != "" {
			c.out.BulkString("display_text")
			c.out.BulkString(a.DisplayText)
		}
		if a.KeySpecIndex >= 0 {
			c.out.BulkString("key_spec_index")
			c.out.Int(int64(a.KeySpecIndex))
		}
		if a.Token != "" {
			c.out.BulkString("token")
			c.out.BulkString(a.Token)
		}
		if a.Since != "" {
			c.out.BulkString("since")
			c.out.BulkString(a.Since)
		}
		if a.DeprecatedSince != "" {
			c.out.BulkString("deprecated_since")
			c.out.BulkString(a.DeprecatedSince)
		}
		if len(a.Flags) > 0 {
			c.out.BulkString("flags")
			c.out.Set(len(a.Flags))
			for _, f := range a.Flags {
				c.out.Simple(f)
			}
		}
		if len(a.Arguments) > 0 {
			c.out.BulkString("arguments")
			writeArgs(c, a.Arguments)
		}
	}
}
