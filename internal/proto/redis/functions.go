package redis

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"ferry/internal/glob"
	"ferry/internal/persist/rdb"
	"ferry/internal/script"
)

// Functions: FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/STATS/KILL and
// FCALL, FCALL_RO (Redis 7.0 functions.c). Libraries live in the script
// engine; the commands that change them are propagated to the AOF as they
// were sent, and snapshots carry them through the hooks at the end of this
// file.

var _ = registerCommands(
	&Command{Name: "fcall", Run: func(c *Conn, a [][]byte) { c.fcall(a, false) }, Keys: numKeysAt(2)},
	&Command{Name: "fcall_ro", Run: func(c *Conn, a [][]byte) { c.fcall(a, true) }, Keys: numKeysAt(2)},
	container("function",
		cmd("load", cmdFunctionLoad),
		cmd("delete", cmdFunctionDelete),
		cmd("flush", cmdFunctionFlush),
		cmd("list", cmdFunctionList),
		cmd("dump", cmdFunctionDump),
		cmd("restore", cmdFunctionRestore),
		cmd("stats", cmdFunctionStats),
		cmd("kill", func(c *Conn, _ [][]byte) { c.killScript(false) }),
		cmd("help", helpFor("FUNCTION",
			"LOAD [REPLACE] <FUNCTION CODE>",
			"    Create a new library with the given library name and code.",
			"DELETE <LIBRARY NAME>",
			"    Delete the given library.",
			"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
			"    Return general information on all the libraries:",
			"    * Library name",
			"    * The engine used to run the Library",
			"    * Library description",
			"    * Functions list",
			"    * Library code (if WITHCODE is given)",
			"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
			"STATS",
			"    Return information about the current function running:",
			"    * Function name",
			"    * Command used to run the function",
			"    * Duration in MS that the function is running",
			"    If no function is running, return nil",
			"    In addition, returns a list of available engines.",
			"KILL",
			"    Kill the current running function.",
			"FLUSH [ASYNC|SYNC]",
			"    Delete all the libraries.",
			"    When called without the optional mode argument, the behavior is determined by the",
			"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
			"    * ASYNC: Asynchronously flush the libraries.",
			"    * SYNC: Synchronously flush the libraries.",
			"DUMP",
			"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
			"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
			"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
			"    control how to handle existing libraries (default APPEND):",
			"    * FLUSH: delete all existing libraries.",
			"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
			"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
			"      libraries with the new libraries (notice that even on this option there is a chance of failure",
			"      in case of functions name collision with another library).")),
	),
)

// fcall runs FCALL and FCALL_RO.
func (c *Conn) fcall(args [][]byte, ro bool) {
	eng := c.srv.scripts.eng
	fn := eng.Function(args[1])
	if fn == nil {
		c.out.Error("ERR Function not found")
		return
	}
	numkeys, ok := parseInt(args[2])
	if !ok {
		c.out.Error("ERR Bad number of keys provided")
		return
	}
	if numkeys > int64(len(args)-3) {
		c.out.Error(errKeysTooMany)
		return
	}
	if numkeys < 0 {
		c.out.Error(errKeysNegative)
		return
	}
	keys, argv := args[3:3+numkeys], args[3+numkeys:]
	c.runScript(args, fn.Flags, ro, func(run *script.Run, h script.Host) {
		eng.CallFunction(fn, run, keys, argv, h, &c.out)
	})
}

// changeFunctions runs a change to the libraries with the whole keyspace
// held (no script runs meanwhile) and propagates the command on success.
func (c *Conn) changeFunctions(args [][]byte, change func() error) error {
	t := c.lockAll()
	err := change()
	if err == nil {
		c.propagateCommand(args)
	}
	c.unlock(t)
	return err
}

// propagateCommand logs a command that changed no key (FUNCTION LOAD ...)
// as it was sent, inside the running transaction's MULTI if any.
func (c *Conn) propagateCommand(args [][]byte) {
	p := c.srv.prop
	if p == nil || c.loading {
		return
	}
	cp := make([][]byte, len(args))
	for i, a := range args {
		cp[i] = append([]byte(nil), a...)
	}
	if c.execTxn != nil && !c.execLogged {
		p.Append(c.db, [][]byte{[]byte("MULTI")})
		c.execLogged = true
	}
	c.logOffset = p.Append(c.db, cp)
}

func cmdFunctionLoad(c *Conn, args [][]byte) {
	replace := false
	i := 2
	for ; i < len(args)-1; i++ {
		if !equalFold(args[i], "replace") {
			c.out.Error("ERR Unknown option given: " + string(args[i]))
			return
		}
		replace = true
	}
	if i >= len(args) {
		c.out.Error("ERR Function code is missing")
		return
	}
	var name string
	err := c.changeFunctions(args, func() error {
		var err error
		name, err = c.srv.scripts.eng.LoadLibrary(string(args[i]), replace)
		return err
	})
	if err != nil {
		c.out.Error(err.Error())
		return
	}
	c.out.BulkString(name)
}

func cmdFunctionDelete(c *Conn, args [][]byte) {
	err := c.changeFunctions(args, func() error { return c.srv.scripts.eng.DeleteLibrary(string(args[2])) })
	if err != nil {
		c.out.Error(err.Error())
		return
	}
	c.out.OK()
}

func cmdFunctionFlush(c *Conn, args [][]byte) {
	if len(args) > 3 || len(args) == 3 && !equalFold(args[2], "sync") && !equalFold(args[2], "async") {
		c.out.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
		return
	}
	c.changeFunctions(args, func() error { c.srv.scripts.eng.FlushLibraries(); return nil })
	c.out.OK()
}

func cmdFunctionList(c *Conn, args [][]byte) {
	withCode := false
	var pattern []byte
	hasPattern := false
	for i := 2; i < len(args); i++ {
		switch {
		case !withCode && equalFold(args[i], "withcode"):
			withCode = true
		case !hasPattern && equalFold(args[i], "libraryname"):
			if i >= len(args)-1 {
				c.out.Error("ERR library name argument was not given")
				return
			}
			i++
			pattern, hasPattern = args[i], true
		default:
			c.out.Error("ERR Unknown argument " + string(args[i]))
			return
		}
	}
	var libs []*script.Library
	for _, l := range c.srv.scripts.eng.Libraries() {
		if hasPattern && !glob.MatchFold(pattern, []byte(l.Name)) {
			continue
		}
		libs = append(libs, l)
	}
	c.out.Array(len(libs))
	for _, l := range libs {
		if withCode {
			c.out.Map(4)
		} else {
			c.out.Map(3)
		}
		c.out.BulkString("library_name")
		c.out.BulkString(l.Name)
		c.out.BulkString("engine")
		c.out.BulkString("LUA")
		c.out.BulkString("functions")
		c.out.Array(len(l.Funcs))
		for _, f := range l.Funcs {
			c.out.Map(3)
			c.out.BulkString("name")
			c.out.BulkString(f.Name)
			c.out.BulkString("description")
			if f.HasDesc {
				c.out.BulkString(f.Desc)
			} else {
				c.out.Null()
			}
			c.out.BulkString("flags")
			names := f.Flags.Names()
			c.out.Set(len(names))
			for _, n := range names {
				c.out.Simple(n)
			}
		}
		if withCode {
			c.out.BulkString("library_code")
			c.out.BulkString(l.Code)
		}
	}
}

func cmdFunctionStats(c *Conn, args [][]byte) {
	eng := c.srv.scripts.eng
	r := eng.Running()
	if r != nil && r.Eval {
		c.out.Error(script.BusyEval)
		return
	}
	c.out.Map(2)
	c.out.BulkString("running_script")
	if r == nil {
		c.out.Null()
	} else {
		c.out.Map(3)
		c.out.BulkString("name")
		c.out.BulkString(r.Name)
		c.out.BulkString("command")
		c.out.Array(len(r.Command))
		for _, a := range r.Command {
			c.out.Bulk(a)
		}
		c.out.BulkString("duration_ms")
		c.out.Int(time.Since(r.Start).Milliseconds())
	}
	libs, funcs := eng.FunctionCounts()
	c.out.BulkString("engines")
	c.out.Map(1)
	c.out.BulkString("LUA")
	c.out.Map(2)
	c.out.BulkString("libraries_count")
	c.out.Int(int64(libs))
	c.out.BulkString("functions_count")
	c.out.Int(int64(funcs))
}

func cmdFunctionDump(c *Conn, args [][]byte) {
	payload, err := FunctionsPayload(c.srv.scripts.eng.LibraryCodes())
	if err != nil {
		c.out.Error("ERR " + err.Error())
		return
	}
	c.out.Bulk(payload)
}

func cmdFunctionRestore(c *Conn, args [][]byte) {
	if len(args) > 4 {
		c.out.Error("ERR syntax error")
		return
	}
	policy := script.RestoreAppend
	if len(args) == 4 {
		switch {
		case equalFold(args[3], "append"):
		case equalFold(args[3], "replace"):
			policy = script.RestoreReplace
		case equalFold(args[3], "flush"):
			policy = script.RestoreFlush
		default:
			c.out.Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
			return
		}
	}
	codes, err := ParseFunctionsPayload(args[2])
	if err != nil {
		c.out.Error(err.Error())
		return
	}
	err = c.changeFunctions(args, func() error { return c.srv.scripts.eng.RestoreLibraries(codes, policy) })
	if err != nil {
		c.out.Error(err.Error())
		return
	}
	c.out.OK()
}

// FunctionsPayload serializes libraries as FUNCTION DUMP does: one
// FUNCTION2 record (opcode 245 and the code as an RDB string) per library,
// then the RDB version (2 bytes, little endian) and a CRC64 of all that
// (8 bytes, little endian).
func FunctionsPayload(codes []string) ([]byte, error) {
	// The records are cut out of an RDB stream the rdb package writes, so
	// the strings are encoded (and LZF-compressed) exactly as in a file.
	opts := &rdb.WriterOptions{CTime: time.Unix(0, 0)}
	var head, full bytes.Buffer
	w := rdb.NewWriter(&head, opts)
	if err := w.Close(); err != nil {
		return nil, err
	}
	w = rdb.NewWriter(&full, opts)
	for _, code := range codes {
		if err := w.WriteFunction([]byte(code)); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	const trailer = 9 // EOF opcode and checksum
	records := full.Bytes()[head.Len()-trailer : full.Len()-trailer]
	out := append([]byte(nil), records...)
	out = append(out, byte(rdb.Version), byte(rdb.Version>>8))
	sum := rdb.CRC64(out)
	for i := 0; i < 8; i++ {
		out = append(out, byte(sum>>(8*i)))
	}
	return out, nil
}

// ParseFunctionsPayload reads a FUNCTION DUMP payload back into library
// codes, with FUNCTION RESTORE's errors.
func ParseFunctionsPayload(p []byte) ([]string, error) {
	n := len(p)
	if n < 10 {
		return nil, rdb.ErrDumpPayload
	}
	ver := int(p[n-10]) | int(p[n-9])<<8
	var sum uint64
	for i := 0; i < 8; i++ {
		sum |= uint64(p[n-8+i]) << (8 * i)
	}
	if ver > rdb.Version || rdb.CRC64(p[:n-8]) != sum {
		return nil, rdb.ErrDumpPayload
	}
	body := p[:n-10]
	// Read the records with the rdb reader, as the body of a file.
	file := append([]byte("REDIS"), []byte(padVersion(ver))...)
	file = append(file, body...)
	file = append(file, 0xFF)
	fileSum := rdb.CRC64(file)
	for i := 0; i < 8; i++ {
		file = append(file, byte(fileSum>>(8*i)))
	}
	r := rdb.NewReader(bytes.NewReader(file))
	var codes []string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return codes, nil
		}
		if err != nil {
			if strings.Contains(err.Error(), "opcode") {
				return nil, errors.New("ERR given type is not a function")
			}
			return nil, errors.New("ERR failed loading the given functions payload")
		}
		if rec.Type != rdb.RecordFunction {
			return nil, errors.New("ERR given type is not a function")
		}
		codes = append(codes, string(rec.FunctionCode))
	}
}

func padVersion(v int) string {
	s := strconv.Itoa(v)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}

// Functions returns the code of every loaded library, in load order, for
// snapshots: an RDB file stores each as a FUNCTION2 record (opcode 245)
// before the databases.
func (s *Server) Functions() []string { return s.scripts.eng.LibraryCodes() }

// LoadFunctions loads libraries read from a snapshot (RDB FUNCTION2
// records, or an AOF preamble), replacing libraries of the same name.
func (s *Server) LoadFunctions(codes []string) error {
	return s.scripts.eng.RestoreLibraries(codes, script.RestoreReplace)
}
