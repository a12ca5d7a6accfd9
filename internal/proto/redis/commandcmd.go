package redis

import (
	"sort"
	"strings"

	"ferry/internal/glob"
)

// COMMAND and its subcommands: the table clients read to learn arity,
// flags and key positions (cluster clients route by them) and, with DOCS,
// redis-cli's hints.

var _ = registerCommands(
	container("command",
		cmd("count", cmdCommandCount),
		cmd("info", cmdCommandInfo),
		cmd("docs", cmdCommandDocs),
		cmd("list", cmdCommandList),
		cmd("getkeys", func(c *Conn, a [][]byte) { c.commandGetKeys(a, false) }),
		cmd("getkeysandflags", func(c *Conn, a [][]byte) { c.commandGetKeys(a, true) }),
		cmd("help", helpFor("COMMAND", "(no subcommand)", "    Return details about all Redis commands.", "COUNT", "    Return the total number of commands in this Redis server.", "LIST", "    Return a list of all commands in this Redis server.", "INFO [<command-name> ...]", "    Return details about multiple Redis commands.", "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.", "GETKEYS <full-command>", "    Return the keys from a full Redis command.", "GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full Redis command.")),
	),
)

// COMMAND with no subcommand lists everything; the container's own Run
// handles that case (resolve only reaches it with no arguments).
func init() {
	for _, fam := range commandFamilies {
		for _, c := range fam {
			if c.Name == "command" {
				c.Run = cmdCommandAll
			}
		}
	}
}

func (s *Server) sortedCommands() []*Command {
	cmds := make([]*Command, 0, len(s.table))
	for _, c := range s.table {
		cmds = append(cmds, c)
	}
	sortCommands(cmds)
	return cmds
}

func sortCommands(cmds []*Command) {
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
}

func cmdCommandAll(c *Conn, args [][]byte) {
	cmds := c.srv.sortedCommands()
	c.out.Array(len(cmds))
	for _, cmd := range cmds {
		c.writeCommandInfo(cmd)
	}
}

func cmdCommandCount(c *Conn, args [][]byte) { c.out.Int(int64(len(c.srv.table))) }

func cmdCommandInfo(c *Conn, args [][]byte) {
	if len(args) == 2 {
		cmdCommandAll(c, args)
		return
	}
	c.out.Array(len(args) - 2)
	for _, name := range args[2:] {
		cmd := c.srv.lookupFullName(string(name))
		if cmd == nil {
			c.out.NullArray()
			continue
		}
		c.writeCommandInfo(cmd)
	}
}

// lookupFullName finds "get" or "client|list".
func (s *Server) lookupFullName(name string) *Command {
	name = strings.ToLower(name)
	parent, sub, isSub := strings.Cut(name, "|")
	cmd := s.table[parent]
	if cmd == nil || !isSub {
		return cmd
	}
	return cmd.Sub[sub]
}

// writeCommandInfo writes COMMAND INFO's entry for cmd: name, arity,
// flags, first key, last key, step, ACL categories, tips, key specs,
// subcommands.
func (c *Conn) writeCommandInfo(cmd *Command) {
	m := commandMetaFor(cmd.Name)
	c.out.Array(10)
	c.out.BulkString(cmd.Name)
	c.out.Int(int64(cmd.Arity))
	var flags []string
	for _, f := range flagNames {
		if cmd.Flags&f.f != 0 {
			flags = append(flags, f.name)
		}
	}
	c.out.Set(len(flags))
	for _, f := range flags {
		c.out.Simple(f)
	}
	c.out.Int(int64(cmd.First))
	c.out.Int(int64(cmd.Last))
	c.out.Int(int64(cmd.Step))
	cats := m.aclCategories()
	c.out.Set(len(cats))
	for _, cat := range cats {
		c.out.Simple(cat)
	}
	tips := m.tips()
	c.out.Set(len(tips))
	for _, tip := range tips {
		c.out.BulkString(tip)
	}
	m.writeKeySpecs(c)
	subs := make([]*Command, 0, len(cmd.Sub))
	for _, s := range cmd.Sub {
		subs = append(subs, s)
	}
	sortCommands(subs)
	c.out.Array(len(subs))
	for _, s := range subs {
		c.writeCommandInfo(s)
	}
}

func cmdCommandDocs(c *Conn, args [][]byte) {
	var cmds []*Command
	if len(args) == 2 {
		cmds = c.srv.sortedCommands()
	} else {
		for _, name := range args[2:] {
			if cmd := c.srv.lookupFullName(string(name)); cmd != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	c.out.Map(len(cmds))
	for _, cmd := range cmds {
		c.out.BulkString(cmd.Name)
		commandMetaFor(cmd.Name).writeDocs(c, cmd)
	}
}

func cmdCommandList(c *Conn, args [][]byte) {
	var filter func(*Command) bool
	if len(args) > 2 {
		if len(args) != 5 || !equalFold(args[2], "filterby") {
			c.out.Error(errSyntax)
			return
		}
		val := args[4]
		switch {
		case equalFold(args[3], "module"):
			filter = func(*Command) bool { return false }
		case equalFold(args[3], "aclcat"):
			cat := strings.TrimPrefix(lowerName(string(val)), "@")
			filter = func(cmd *Command) bool {
				for _, x := range commandMetaFor(cmd.Name).aclCategories() {
					if x == cat {
						return true
					}
				}
				return false
			}
		case equalFold(args[3], "pattern"):
			filter = func(cmd *Command) bool { return glob.MatchFold(val, []byte(cmd.Name)) }
		default:
			c.out.Error(errSyntax)
			return
		}
	}
	var names []string
	for _, cmd := range c.srv.sortedCommands() {
		if filter == nil || filter(cmd) {
			names = append(names, cmd.Name)
		}
		for _, sub := range cmd.Sub {
			if filter == nil || filter(sub) {
				names = append(names, sub.Name)
			}
		}
	}
	sort.Strings(names)
	c.out.Array(len(names))
	for _, n := range names {
		c.out.BulkString(n)
	}
}

func (c *Conn) commandGetKeys(args [][]byte, withFlags bool) {
	full := args[2:]
	cmd := c.srv.lookupCommand(full[0])
	if cmd == nil {
		c.out.Error("ERR Invalid command specified")
		return
	}
	if cmd.Sub != nil && len(full) > 1 {
		if sub := cmd.Sub[lowerName(string(full[1]))]; sub != nil {
			cmd = sub
		}
	}
	if (cmd.Arity > 0 && len(full) != cmd.Arity) || len(full) < -cmd.Arity {
		c.out.Error("ERR Invalid number of arguments specified for command")
		return
	}
	keys := keysOf(cmd, full)
	if len(keys) == 0 {
		c.out.Error("ERR The command has no key arguments")
		return
	}
	c.out.Array(len(keys))
	for _, k := range keys {
		if withFlags {
			c.out.Array(2)
			c.out.Bulk(k)
			flags := commandMetaFor(cmd.Name).keyFlags()
			c.out.Set(len(flags))
			for _, f := range flags {
				c.out.Simple(f)
			}
			continue
		}
		c.out.Bulk(k)
	}
}
