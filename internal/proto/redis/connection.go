package redis

import (
	"crypto/subtle"
	"strconv"
	"strings"
	"time"
)

// Connection commands: PING ECHO HELLO AUTH SELECT QUIT RESET CLIENT.

var _ = registerCommands(
	cmd("ping", cmdPing),
	cmd("echo", cmdEcho),
	cmd("hello", cmdHello),
	cmd("auth", cmdAuth),
	cmd("select", cmdSelect),
	cmd("quit", cmdQuit),
	cmd("reset", cmdReset),
	container("client",
		cmd("id", cmdClientID),
		cmd("setname", cmdClientSetName),
		cmd("getname", cmdClientGetName),
		cmd("list", cmdClientList),
		cmd("info", cmdClientInfo),
		cmd("kill", cmdClientKill),
		cmd("setinfo", cmdClientSetInfo),
		cmd("reply", cmdClientReply),
		cmd("pause", cmdClientPause),
		cmd("unpause", cmdClientUnpause),
		cmd("no-evict", cmdClientNoEvict),
		cmd("no-touch", cmdClientNoTouch),
		cmd("getredir", func(c *Conn, _ [][]byte) { c.out.Int(-1) }),
		cmd("unblock", cmdClientUnblock),
		cmd("help", cmdClientHelp),
	),
)

func cmdPing(c *Conn, args [][]byte) {
	if len(args) > 2 {
		c.out.Error(errArgs(c.srv.table["ping"]))
		return
	}
	if c.subs.n.Load() > 0 && c.out.Proto == 2 {
		// A subscribed RESP2 client gets PING's answer shaped as a message.
		c.out.Array(2)
		c.out.BulkString("pong")
		if len(args) > 1 {
			c.out.Bulk(args[1])
		} else {
			c.out.BulkString("")
		}
		return
	}
	switch len(args) {
	case 1:
		c.out.Simple("PONG")
	case 2:
		c.out.Bulk(args[1])
	default:
		c.out.Error(errArgs(c.srv.table["ping"]))
	}
}

func cmdEcho(c *Conn, args [][]byte) { c.out.Bulk(args[1]) }

func (s *Server) requirePass() string {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return s.cfg.RequirePass
}

// checkAuth validates a user/password pair against the default user, the
// only user Ferry has (requirepass, as Redis without ACL files).
func (c *Conn) checkAuth(user, pass []byte) bool {
	want := c.srv.requirePass()
	if !equalFold(user, "default") && string(user) != "default" {
		return false
	}
	if want == "" {
		return true // the default user has nopass
	}
	return subtle.ConstantTimeCompare(pass, []byte(want)) == 1
}

func cmdAuth(c *Conn, args [][]byte) {
	var user, pass []byte
	switch len(args) {
	case 2:
		if c.srv.requirePass() == "" {
			c.out.Error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
			return
		}
		user, pass = []byte("default"), args[1]
	case 3:
		user, pass = args[1], args[2]
	default:
		c.out.Error(errSyntax)
		return
	}
	if !c.checkAuth(user, pass) {
		c.out.Error(errWrongPass)
		return
	}
	c.authed = true
	c.out.OK()
}

func cmdHello(c *Conn, args [][]byte) {
	ver := int64(0)
	i := 1
	if len(args) > 1 {
		v, ok := parseInt(args[1])
		if !ok {
			c.out.Error("ERR Protocol version is not an integer or out of range")
			return
		}
		if v < 2 || v > 3 {
			c.out.Error("NOPROTO unsupported protocol version")
			return
		}
		ver = v
		i = 2
	}
	var name []byte
	setName := false
	for ; i < len(args); i++ {
		more := len(args) - i - 1
		switch {
		case equalFold(args[i], "auth") && more >= 2:
			if !c.checkAuth(args[i+1], args[i+2]) {
				c.out.Error(errWrongPass)
				return
			}
			c.authed = true
			i += 2
		case equalFold(args[i], "setname") && more >= 1:
			name, setName = args[i+1], true
			i++
		default:
			c.out.Error("ERR Syntax error in HELLO option '" + clip(args[i]) + "'")
			return
		}
	}
	if !c.authed {
		c.out.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if setName {
		if !validClientName(name) {
			c.out.Error("ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		c.infoMu.Lock()
		c.name = string(name)
		c.infoMu.Unlock()
	}
	if ver != 0 {
		c.out.Proto = int(ver)
		c.proto.Store(int32(ver))
	}
	c.out.Map(7)
	c.out.BulkString("server")
	c.out.BulkString("redis")
	c.out.BulkString("version")
	c.out.BulkString(CompatVersion)
	c.out.BulkString("proto")
	c.out.Int(int64(c.out.Proto))
	c.out.BulkString("id")
	c.out.Int(int64(c.id))
	c.out.BulkString("mode")
	c.out.BulkString("standalone")
	c.out.BulkString("role")
	c.out.BulkString("master")
	c.out.BulkString("modules")
	c.out.Array(0)
}

func cmdSelect(c *Conn, args [][]byte) {
	db, ok := c.dbIndexArg(args[1])
	if !ok {
		return
	}
	c.selectDB(db)
	c.out.OK()
}

func cmdQuit(c *Conn, args [][]byte) {
	c.out.OK()
	c.closing = true
}

func cmdReset(c *Conn, args [][]byte) {
	c.multi = nil
	c.unwatchAll()
	c.selectDB(0)
	c.out.Proto = 2
	c.proto.Store(2)
	c.reply = replyOn
	c.infoMu.Lock()
	c.name, c.noEvict = "", false
	c.infoMu.Unlock()
	c.authed = c.srv.requirePass() == ""
	c.srv.resetPubSub(c)
	c.out.Simple("RESET")
}

func validClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func cmdClientID(c *Conn, args [][]byte) { c.out.Int(int64(c.id)) }

func cmdClientSetName(c *Conn, args [][]byte) {
	if !validClientName(args[2]) {
		c.out.Error("ERR Client names cannot contain spaces, newlines or special characters.")
		return
	}
	c.infoMu.Lock()
	c.name = string(args[2])
	c.infoMu.Unlock()
	c.out.OK()
}

func cmdClientGetName(c *Conn, args [][]byte) {
	c.infoMu.Lock()
	name := c.name
	c.infoMu.Unlock()
	if name == "" {
		c.out.Null()
		return
	}
	c.out.BulkString(name)
}

func cmdClientSetInfo(c *Conn, args [][]byte) {
	val := string(args[3])
	for _, ch := range args[3] {
		if ch < '!' || ch > '~' {
			c.out.Error("ERR " + strings.ToUpper(string(args[2])) + " cannot contain spaces, newlines or special characters.")
			return
		}
	}
	c.infoMu.Lock()
	defer c.infoMu.Unlock()
	switch {
	case equalFold(args[2], "lib-name"):
		c.libName = val
	case equalFold(args[2], "lib-ver"):
		c.libVer = val
	default:
		c.out.Error("ERR Unrecognized option '" + clip(args[2]) + "'")
		return
	}
	c.out.OK()
}

// clientLine formats one CLIENT LIST line as Redis 7.0 does.
func (s *Server) clientLine(c *Conn, now time.Time) string {
	c.infoMu.Lock()
	name, libName, libVer, noEvict := c.name, c.libName, c.libVer, c.noEvict
	c.infoMu.Unlock()
	cmdName := "NULL"
	if cmd := c.lastCmd.Load(); cmd != nil {
		cmdName = cmd.Name
	}
	flags := ""
	if c.multi != nil {
		flags += "x"
	}
	if noEvict {
		flags += "e"
	}
	if c.subscriptions() > 0 {
		flags += "P"
	}
	if flags == "" {
		flags = "N"
	}
	multi := -1
	if m := c.multi; m != nil {
		multi = len(m.cmds)
	}
	sub, psub, ssub := c.subCounts()
	var b strings.Builder
	b.WriteString("id=" + strconv.FormatUint(c.id, 10))
	b.WriteString(" addr=" + c.nc.RemoteAddr().String())
	b.WriteString(" laddr=" + c.nc.LocalAddr().String())
	b.WriteString(" fd=" + strconv.FormatUint(c.id+7, 10))
	b.WriteString(" name=" + name)
	b.WriteString(" age=" + strconv.FormatInt(int64(now.Sub(c.created)/time.Second), 10))
	b.WriteString(" idle=" + strconv.FormatInt((now.UnixMilli()-c.lastActive.Load())/1000, 10))
	b.WriteString(" flags=" + flags)
	b.WriteString(" db=" + strconv.Itoa(int(c.curDB.Load())))
	b.WriteString(" sub=" + strconv.Itoa(sub) + " psub=" + strconv.Itoa(psub) + " ssub=" + strconv.Itoa(ssub))
	b.WriteString(" multi=" + strconv.Itoa(multi))
	b.WriteString(" qbuf=" + strconv.FormatInt(c.qbuf.Load(), 10) + " qbuf-free=0")
	b.WriteString(" argv-mem=0 multi-mem=0 rbs=" + strconv.Itoa(readBufSize) + " rbp=0")
	b.WriteString(" obl=0 oll=0 omem=" + strconv.FormatInt(c.omem.Load(), 10))
	b.WriteString(" tot-mem=" + strconv.Itoa(readBufSize+outBufSize))
	b.WriteString(" events=r cmd=" + cmdName + " user=default redir=-1")
	b.WriteString(" resp=" + strconv.Itoa(int(c.proto.Load())))
	b.WriteString(" lib-name=" + libName + " lib-ver=" + libVer)
	return b.String()
}

func cmdClientList(c *Conn, args [][]byte) {
	var ids map[uint64]bool
	typ := ""
	for i := 2; i < len(args); i++ {
		switch {
		case equalFold(args[i], "type") && i+1 < len(args):
			typ = strings.ToLower(string(args[i+1]))
			if typ != "normal" && typ != "master" && typ != "replica" && typ != "slave" && typ != "pubsub" {
				c.out.Error("ERR Unknown client type '" + clip(args[i+1]) + "'")
				return
			}
			i++
		case equalFold(args[i], "id") && i+1 < len(args):
			ids = map[uint64]bool{}
			for i++; i < len(args); i++ {
				id, err := strconv.ParseUint(string(args[i]), 10, 64)
				if err != nil || id == 0 {
					c.out.Error("ERR Invalid client ID")
					return
				}
				ids[id] = true
			}
		default:
			c.out.Error(errSyntax)
			return
		}
	}
	var b strings.Builder
	now := time.Now()
	c.srv.eachClient(func(o *Conn) {
		if ids != nil && !ids[o.id] {
			return
		}
		isPubSub := o.subscriptions() > 0
		switch typ {
		case "normal":
			if isPubSub {
				return
			}
		case "pubsub":
			if !isPubSub {
				return
			}
		case "master", "replica", "slave":
			return
		}
		b.WriteString(c.srv.clientLine(o, now))
		b.WriteByte('\n')
	})
	c.out.Verbatim("txt", b.String())
}

func cmdClientInfo(c *Conn, args [][]byte) {
	c.out.Verbatim("txt", c.srv.clientLine(c, time.Now())+"\n")
}

func cmdClientKill(c *Conn, args [][]byte) {
	// Old form: CLIENT KILL addr:port.
	if len(args) == 3 {
		n := c.srv.killClients(c, func(o *Conn) bool { return o.nc.RemoteAddr().String() == string(args[2]) }, false)
		if n == 0 {
			c.out.Error("ERR No such client")
			return
		}
		c.out.OK()
		return
	}
	if len(args)%2 != 0 {
		c.out.Error(errSyntax)
		return
	}
	var filters []func(*Conn) bool
	skipMe := true
	for i := 2; i < len(args); i += 2 {
		val := string(args[i+1])
		switch {
		case equalFold(args[i], "id"):
			id, err := strconv.ParseUint(val, 10, 64)
			if err != nil || id == 0 {
				c.out.Error("ERR client-id should be greater than 0")
				return
			}
			filters = append(filters, func(o *Conn) bool { return o.id == id })
		case equalFold(args[i], "addr"):
			filters = append(filters, func(o *Conn) bool { return o.nc.RemoteAddr().String() == val })
		case equalFold(args[i], "laddr"):
			filters = append(filters, func(o *Conn) bool { return o.nc.LocalAddr().String() == val })
		case equalFold(args[i], "user"):
			filters = append(filters, func(*Conn) bool { return val == "default" })
		case equalFold(args[i], "type"):
			t := strings.ToLower(val)
			switch t {
			case "normal":
				filters = append(filters, func(o *Conn) bool { return o.subscriptions() == 0 })
			case "pubsub":
				filters = append(filters, func(o *Conn) bool { return o.subscriptions() > 0 })
			case "master", "replica", "slave":
				filters = append(filters, func(*Conn) bool { return false })
			default:
				c.out.Error("ERR Unknown client type '" + val + "'")
				return
			}
		case equalFold(args[i], "skipme"):
			switch strings.ToLower(val) {
			case "yes":
				skipMe = true
			case "no":
				skipMe = false
			default:
				c.out.Error(errSyntax)
				return
			}
		case equalFold(args[i], "maxage"):
			age, ok := parseInt(args[i+1])
			if !ok {
				c.out.Error(errNotInteger)
				return
			}
			filters = append(filters, func(o *Conn) bool { return time.Since(o.created) >= time.Duration(age)*time.Second })
		default:
			c.out.Error(errSyntax)
			return
		}
	}
	n := c.srv.killClients(c, func(o *Conn) bool {
		for _, f := range filters {
			if !f(o) {
				return false
			}
		}
		return true
	}, skipMe)
	c.out.Int(int64(n))
}

// killClients closes every client match selects and returns how many.
// Killing itself, a client first gets its pending replies.
func (s *Server) killClients(me *Conn, match func(*Conn) bool, skipMe bool) int {
	n := 0
	s.eachClient(func(o *Conn) {
		if !match(o) || (skipMe && o == me) {
			return
		}
		n++
		if o == me {
			me.closing = true
			return
		}
		o.nc.Kill()
	})
	return n
}

func cmdClientReply(c *Conn, args [][]byte) {
	switch {
	case equalFold(args[2], "on"):
		c.reply = replyOn
		c.out.OK()
	case equalFold(args[2], "off"):
		c.reply = replyOff
	case equalFold(args[2], "skip"):
		if c.reply == replyOn {
			c.reply = replySkipArm
		}
	default:
		c.out.Error(errSyntax)
	}
}

func cmdClientNoEvict(c *Conn, args [][]byte) {
	on := equalFold(args[2], "on")
	if !on && !equalFold(args[2], "off") {
		c.out.Error(errSyntax)
		return
	}
	c.infoMu.Lock()
	c.noEvict = on
	c.infoMu.Unlock()
	c.out.OK()
}

func cmdClientNoTouch(c *Conn, args [][]byte) {
	if !equalFold(args[2], "on") && !equalFold(args[2], "off") {
		c.out.Error(errSyntax)
		return
	}
	c.out.OK()
}

func cmdClientHelp(c *Conn, args [][]byte) {
	lines := []string{
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETNAME", "    Return the name of the current connection.",
		"ID", "    Return the ID of the current connection.",
		"INFO", "    Return information about the current client connection.",
		"KILL <ip:port>", "    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME, MAXAGE.",
		"LIST [options ...]", "    Return information about client connections. Options: TYPE, ID.",
		"UNPAUSE", "    Stop the current client pause, resuming traffic.",
		"PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
		"REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
		"SETNAME <name>", "    Assign the name <name> to the current connection.",
		"SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
		"NO-EVICT (ON|OFF)", "    Protect the current client connection from eviction.",
		"HELP", "    Prints this help.",
	}
	c.out.Array(len(lines))
	for _, l := range lines {
		c.out.Simple(l)
	}
}
