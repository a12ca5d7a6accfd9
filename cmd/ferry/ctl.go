package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// `ferry ctl` is rabbitmqctl for Ferry: the same command names, arguments,
// informational lines, tab-separated tables with a header line, error
// texts and exit codes, but it talks to the admin HTTP API (/api/...) of a
// running Ferry instead of Erlang distribution. Options before the command
// are global (-n node, -u/-p credentials, -q, -s); after it, -p is the
// vhost as in rabbitmqctl.

// Exit codes, as rabbitmqctl uses them (sysexits.h).
const (
	exitOK          = 0
	exitUsage       = 64 // EX_USAGE
	exitDataErr     = 65 // EX_DATAERR
	exitNoUser      = 67 // EX_NOUSER
	exitUnavailable = 69 // EX_UNAVAILABLE
	exitSoftware    = 70 // EX_SOFTWARE
	exitNoPerm      = 77 // EX_NOPERM
)

// ctlDefaultNode is where `ferry ctl` looks for the admin listener.
const ctlDefaultNode = "127.0.0.1:15672"

// ctl is one invocation's state.
type ctl struct {
	base           string // http://host:port
	node           string // as given, for messages
	user, pass     string
	quiet, silent  bool
	noHeaders      bool
	timeout        time.Duration
	stdin          io.Reader
	stdout, stderr io.Writer
	client         *http.Client
	argv           []string    // all arguments, for usage errors
	header         http.Header // extra request headers (X-Reason)
	globalPass     bool        // the password came from -p before the command
}

// ctlCommand is one subcommand: its usage line, arity and action.
type ctlCommand struct {
	usage   string // after the command name
	minArgs int
	maxArgs int // -1: any
	vhost   bool
	run     func(c *ctl, vhost string, args []string, flags map[string]bool) int
	help    string
}

var ctlCommands map[string]ctlCommand

func init() {
	ctlCommands = map[string]ctlCommand{
		"add_user":              {"<username> <password>", 1, 2, false, (*ctl).addUser, "Creates a new user in the internal database. This user will have no permissions for any virtual hosts by default."},
		"delete_user":           {"<username>", 1, 1, false, (*ctl).deleteUser, "Removes a user from the internal database."},
		"change_password":       {"<username> <password>", 1, 2, false, (*ctl).changePassword, "Changes the user password"},
		"clear_password":        {"<username>", 1, 1, false, (*ctl).clearPassword, "Clears (resets) password and disables password login for a user"},
		"list_users":            {"", 0, 0, false, (*ctl).listUsers, "List user names and tags"},
		"set_user_tags":         {"<username> <tag> [...]", 1, -1, false, (*ctl).setUserTags, "Sets user tags"},
		"add_vhost":             {"<vhost>", 1, 1, false, (*ctl).addVHost, "Creates a virtual host"},
		"delete_vhost":          {"<vhost>", 1, 1, false, (*ctl).deleteVHost, "Deletes a virtual host"},
		"list_vhosts":           {"[<column> ...]", 0, -1, false, (*ctl).listVHosts, "Lists virtual hosts"},
		"set_permissions":       {"[--vhost <vhost>] <username> <conf> <write> <read>", 4, 4, true, (*ctl).setPermissions, "Sets user permissions for a vhost"},
		"clear_permissions":     {"[--vhost <vhost>] <username>", 1, 1, true, (*ctl).clearPermissions, "Revokes user permissions for a vhost"},
		"list_permissions":      {"[--vhost <vhost>]", 0, 0, true, (*ctl).listPermissions, "Lists user permissions in a virtual host"},
		"list_user_permissions": {"<username>", 1, 1, false, (*ctl).listUserPermissions, "Lists permissions of a user across all virtual hosts"},
		"list_queues":           {"[--vhost <vhost>] [<column> ...]", 0, -1, true, (*ctl).listQueues, "Lists queues and their properties"},
		"list_exchanges":        {"[--vhost <vhost>] [<column> ...]", 0, -1, true, (*ctl).listExchanges, "Lists exchanges"},
		"list_bindings":         {"[--vhost <vhost>] [<column> ...]", 0, -1, true, (*ctl).listBindings, "Lists all bindings on a vhost"},
		"list_connections":      {"[<column> ...]", 0, -1, false, (*ctl).listConnections, "Lists AMQP 0.9.1 connections for the node"},
		"list_channels":         {"[<column> ...]", 0, -1, false, (*ctl).listChannels, "Lists all channels in the node"},
		"list_consumers":        {"[--vhost <vhost>] [<column> ...]", 0, -1, true, (*ctl).listConsumers, "Lists all consumers for a vhost"},
		"purge_queue":           {"[--vhost <vhost>] <queue>", 1, 1, true, (*ctl).purgeQueue, "Purges a queue (removes all messages in it)"},
		"delete_queue":          {"[--vhost <vhost>] <queue> [--if-empty|-e] [--if-unused|-u]", 1, 1, true, (*ctl).deleteQueue, "Deletes a queue"},
		"close_connection":      {"<connection name> <explanation>", 2, 2, false, (*ctl).closeConnection, "Instructs the broker to close the connection with the given name"},
		"status":                {"", 0, 0, false, (*ctl).status, "Displays status of a node"},
		"export_definitions":    {"<file_path | \"-\">", 1, 1, false, (*ctl).exportDefinitions, "Exports definitions in JSON"},
	}
}

// runCtl is `ferry ctl ARGS`; it returns the exit status.
func runCtl(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &ctl{node: os.Getenv("FERRY_ADMIN_ADDR"), user: "guest", pass: "guest", timeout: 60 * time.Second,
		stdin: stdin, stdout: stdout, stderr: stderr, argv: args}
	if c.node == "" {
		c.node = ctlDefaultNode
	}
	if v := os.Getenv("FERRY_CTL_USER"); v != "" {
		c.user = v
	}
	if v, ok := os.LookupEnv("FERRY_CTL_PASSWORD"); ok {
		c.pass = v
	}
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		name, val, hasVal := strings.Cut(args[i], "=")
		takes := map[string]bool{"-n": true, "--node": true, "--admin-addr": true, "-u": true, "--username": true,
			"-p": true, "--password": true, "-t": true, "--timeout": true}
		if takes[name] && !hasVal {
			if i+1 == len(args) {
				return c.usageError(fmt.Sprintf("option %s needs a value", name), "")
			}
			i++
			val = args[i]
		}
		switch name {
		case "-n", "--node", "--admin-addr":
			c.node = val
		case "-u", "--username":
			c.user = val
		case "-p", "--password":
			c.pass, c.globalPass = val, name == "-p"
		case "-t", "--timeout":
			secs, err := strconv.ParseFloat(val, 64)
			if err != nil || secs <= 0 {
				return c.usageError(fmt.Sprintf("invalid timeout %q", val), "")
			}
			c.timeout = time.Duration(secs * float64(time.Second))
		case "-q", "--quiet":
			c.quiet = true
		case "-s", "--silent":
			c.quiet, c.silent = true, true
		case "--no-table-headers":
			c.noHeaders = true
		case "-h", "--help":
			c.printHelp(stdout)
			return exitOK
		default:
			return c.usageError(fmt.Sprintf("unknown option %s", name), "")
		}
	}
	if i == len(args) {
		c.printHelp(stdout)
		return exitUsage
	}
	name, rest := args[i], args[i+1:]
	if name == "help" {
		if len(rest) > 0 {
			if cmd, ok := ctlCommands[rest[0]]; ok {
				fmt.Fprintf(stdout, "Usage\n\nferry ctl [--node <host:port>] [-u <user>] [-p <password>] [--quiet] %s %s\n\n%s\n", rest[0], cmd.usage, cmd.help)
				return exitOK
			}
		}
		c.printHelp(stdout)
		return exitOK
	}
	cmd, ok := ctlCommands[name]
	if !ok {
		fmt.Fprintf(stderr, "\nCommand '%s' not found. \n\n", name)
		c.printHelp(stderr)
		return exitUsage
	}
	// Command options: -p/--vhost and the delete_queue flags, anywhere.
	vhost := "/"
	flags := map[string]bool{}
	var pos []string
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		n, v, hasVal := strings.Cut(a, "=")
		switch {
		case cmd.vhost && (n == "-p" || n == "--vhost"):
			if !hasVal {
				if j+1 == len(rest) {
					return c.usageError("option --vhost needs a value", name)
				}
				j++
				v = rest[j]
			}
			vhost = v
		case name == "delete_queue" && (a == "-e" || a == "--if-empty"):
			flags["if-empty"] = true
		case name == "delete_queue" && (a == "-u" || a == "--if-unused"):
			flags["if-unused"] = true
		case a == "--no-table-headers":
			c.noHeaders = true
		case a == "-q" || a == "--quiet":
			c.quiet = true
		case a == "-s" || a == "--silent":
			c.quiet, c.silent = true, true
		case strings.HasPrefix(a, "-") && a != "-":
			return c.usageError(fmt.Sprintf("unrecognized option %s", a), name)
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) < cmd.minArgs {
		return c.usageError("not enough arguments.", name)
	}
	if cmd.maxArgs >= 0 && len(pos) > cmd.maxArgs {
		return c.usageError("too many arguments.", name)
	}
	base, err := nodeURL(c.node)
	if err != nil {
		return c.usageError(err.Error(), "")
	}
	c.base = base
	c.client = &http.Client{Timeout: c.timeout}
	return cmd.run(c, vhost, pos, flags)
}

// nodeURL turns --node (host:port, :port or http://host:port) into the
// admin listener's base URL.
func nodeURL(node string) (string, error) {
	if strings.HasPrefix(node, "http://") || strings.HasPrefix(node, "https://") {
		u, err := url.Parse(node)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("invalid node %q", node)
		}
		return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
	}
	if strings.HasPrefix(node, ":") {
		node = "127.0.0.1" + node
	}
	if !strings.Contains(node, ":") {
		return "", fmt.Errorf("invalid node %q: want the admin listener's host:port (admin-addr)", node)
	}
	return "http://" + node, nil
}

func (c *ctl) usageError(msg, command string) int {
	fmt.Fprintf(c.stderr, "Error (argument validation): %s\nArguments given:\n\t%s\n\nUsage\n\n", msg, strings.Join(c.argv, " "))
	if cmd, ok := ctlCommands[command]; ok {
		fmt.Fprintf(c.stderr, "ferry ctl [--node <host:port>] [-u <user>] [-p <password>] [--quiet] %s %s\n", command, cmd.usage)
	} else {
		fmt.Fprintln(c.stderr, "ferry ctl [--node <host:port>] [-u <user>] [-p <password>] [--quiet] <command> [<command options>]")
	}
	return exitUsage
}

func (c *ctl) printHelp(w io.Writer) {
	fmt.Fprintf(w, `Usage

ferry ctl [--node <host:port>] [-u <user>] [-p <password>] [--timeout <seconds>] [--quiet] <command> [<command options>]

Talks to a running Ferry's admin listener (admin-addr, default %s; or
$FERRY_ADMIN_ADDR) as a broker user with the administrator tag (default
guest/guest, which works from loopback only; or $FERRY_CTL_USER and
$FERRY_CTL_PASSWORD).

Available commands:

`, ctlDefaultNode)
	names := make([]string, 0, len(ctlCommands))
	for n := range ctlCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "   %-29s %s\n", n, ctlCommands[n].help)
	}
	fmt.Fprintln(w, "\nUse 'ferry ctl help <command>' to learn more about a specific command")
}

// info prints an informational line unless --quiet.
func (c *ctl) info(format string, args ...any) {
	if !c.quiet {
		fmt.Fprintf(c.stdout, format+"\n", args...)
	}
}

// fail prints rabbitmqctl's "Error:" block and returns code.
func (c *ctl) fail(code int, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "Error:\n"+format+"\n", args...)
	return code
}

// apiResponse is one answer of the admin API.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// call sends a request; body is JSON-encoded when not nil. A 401 or a
// transport error has already been reported when err is returned.
func (c *ctl) call(method, path string, body any) (*apiResponse, int) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, c.fail(exitSoftware, "%v", err)
		}
		rd = strings.NewReader(string(data))
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, c.fail(exitSoftware, "%v", err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.SetBasicAuth(c.user, c.pass)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		fmt.Fprintf(c.stderr, `Error: unable to perform an operation on node '%s'. Please see diagnostics information and suggestions below.

Most common reasons for this are:

 * Target node is unreachable (e.g. due to hostname resolution, TCP connection or firewall issues)
 * Target node is not running
 * Its admin listener is off or elsewhere (admin-addr; point ferry ctl at it with --node)

DIAGNOSTICS
===========

attempted to contact: %s/api

%v
`, c.node, c.base, err)
		return nil, exitUnavailable
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, c.fail(exitUnavailable, "reading the reply of %s: %v", c.base, err)
	}
	r := &apiResponse{status: resp.StatusCode, header: resp.Header, body: data}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		if c.globalPass {
			// rabbitmqctl takes -p VHOST anywhere; here -p before the
			// command is the password, a likely mix-up.
			return nil, c.fail(exitNoPerm, "Access refused for user '%s' by %s: %s\n(-p before the command is the password; give the vhost after it: ferry ctl list_queues -p VHOST)", c.user, c.base, apiReason(data))
		}
		return nil, c.fail(exitNoPerm, "Access refused for user '%s' by %s: %s", c.user, c.base, apiReason(data))
	case http.StatusServiceUnavailable:
		return nil, c.fail(exitUnavailable, "%s", apiReason(data))
	}
	return r, 0
}

// apiReason extracts the "reason" of an error body.
func apiReason(data []byte) string {
	var e struct{ Error, Reason string }
	if json.Unmarshal(data, &e) == nil && e.Reason != "" {
		return e.Reason
	}
	return strings.TrimSpace(string(data))
}

// unexpected reports an answer a command has no case for.
func (c *ctl) unexpected(r *apiResponse) int {
	return c.fail(exitSoftware, "%s", apiReason(r.body))
}

func esc(s string) string { return url.PathEscape(s) }

// get fetches path into v; ok is false after an error has been reported
// (code is the exit status). A 404 is returned as status for the caller.
func (c *ctl) get(path string, v any) (status int, code int) {
	r, code := c.call("GET", path, nil)
	if r == nil {
		return 0, code
	}
	if r.status == http.StatusOK {
		if err := json.Unmarshal(r.body, v); err != nil {
			return 0, c.fail(exitSoftware, "bad reply from %s%s: %v", c.base, path, err)
		}
	}
	return r.status, 0
}

func (c *ctl) userExists(name string) (bool, int) {
	var u map[string]any
	st, code := c.get("/api/users/"+esc(name), &u)
	if code != 0 {
		return false, code
	}
	return st == http.StatusOK, 0
}

func (c *ctl) vhostExists(name string) (bool, int) {
	var v map[string]any
	st, code := c.get("/api/vhosts/"+esc(name), &v)
	if code != 0 {
		return false, code
	}
	return st == http.StatusOK, 0
}

// password returns args[1], or reads a line from standard input (as
// rabbitmqctl does when the password is left out).
func (c *ctl) password(args []string) (string, bool) {
	if len(args) > 1 {
		return args[1], true
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", false
	}
	return strings.TrimRight(line, "\r\n"), true
}

func (c *ctl) addUser(_ string, args []string, _ map[string]bool) int {
	name := args[0]
	c.info(`Adding user "%s" ...`, name)
	pw, ok := c.password(args)
	if !ok {
		return c.fail(exitUsage, "no password given (as an argument or on standard input)")
	}
	exists, code := c.userExists(name)
	if code != 0 {
		return code
	}
	if exists {
		return c.fail(exitSoftware, `User "%s" already exists`, name)
	}
	r, code := c.call("PUT", "/api/users/"+esc(name), map[string]any{"password": pw, "tags": ""})
	if r == nil {
		return code
	}
	if r.status != http.StatusCreated && r.status != http.StatusNoContent {
		return c.unexpected(r)
	}
	c.info("Done. Don't forget to grant the user permissions to some virtual hosts! See 'ferry ctl help set_permissions' to learn more.")
	return exitOK
}

// updateUser PUTs body onto an existing user.
func (c *ctl) updateUser(name string, body map[string]any) int {
	exists, code := c.userExists(name)
	if code != 0 {
		return code
	}
	if !exists {
		return c.fail(exitNoUser, `User "%s" does not exist`, name)
	}
	r, code := c.call("PUT", "/api/users/"+esc(name), body)
	if r == nil {
		return code
	}
	if r.status != http.StatusNoContent && r.status != http.StatusCreated {
		return c.unexpected(r)
	}
	return exitOK
}

func (c *ctl) deleteUser(_ string, args []string, _ map[string]bool) int {
	c.info(`Deleting user "%s" ...`, args[0])
	r, code := c.call("DELETE", "/api/users/"+esc(args[0]), nil)
	if r == nil {
		return code
	}
	switch r.status {
	case http.StatusNoContent:
		return exitOK
	case http.StatusNotFound:
		return c.fail(exitNoUser, `User "%s" does not exist`, args[0])
	}
	return c.unexpected(r)
}

func (c *ctl) changePassword(_ string, args []string, _ map[string]bool) int {
	c.info(`Changing password for user "%s" ...`, args[0])
	pw, ok := c.password(args)
	if !ok {
		return c.fail(exitUsage, "no password given (as an argument or on standard input)")
	}
	return c.updateUser(args[0], map[string]any{"password": pw})
}

func (c *ctl) clearPassword(_ string, args []string, _ map[string]bool) int {
	c.info(`Clearing password for user "%s" ...`, args[0])
	return c.updateUser(args[0], map[string]any{"password_hash": ""})
}

func (c *ctl) setUserTags(_ string, args []string, _ map[string]bool) int {
	tags := args[1:]
	c.info(`Setting tags for user "%s" to [%s] ...`, args[0], strings.Join(tags, ", "))
	if tags == nil {
		tags = []string{}
	}
	return c.updateUser(args[0], map[string]any{"tags": tags})
}

func (c *ctl) addVHost(_ string, args []string, _ map[string]bool) int {
	c.info(`Adding vhost "%s" ...`, args[0])
	r, code := c.call("PUT", "/api/vhosts/"+esc(args[0]), map[string]any{})
	if r == nil {
		return code
	}
	if r.status != http.StatusCreated && r.status != http.StatusNoContent {
		return c.unexpected(r)
	}
	return exitOK
}

func (c *ctl) deleteVHost(_ string, args []string, _ map[string]bool) int {
	c.info(`Deleting vhost "%s" ...`, args[0])
	r, code := c.call("DELETE", "/api/vhosts/"+esc(args[0]), nil)
	if r == nil {
		return code
	}
	switch r.status {
	case http.StatusNoContent:
		return exitOK
	case http.StatusNotFound:
		fmt.Fprintf(c.stderr, "Virtual host '%s' does not exist\n", args[0])
		return exitDataErr
	}
	return c.unexpected(r)
}

func (c *ctl) setPermissions(vhost string, args []string, _ map[string]bool) int {
	user := args[0]
	c.info(`Setting permissions for user "%s" in vhost "%s" ...`, user, vhost)
	if code := c.checkUserAndVHost(user, vhost); code >= 0 {
		return code
	}
	r, code := c.call("PUT", "/api/permissions/"+esc(vhost)+"/"+esc(user),
		map[string]string{"configure": args[1], "write": args[2], "read": args[3]})
	if r == nil {
		return code
	}
	if r.status != http.StatusCreated && r.status != http.StatusNoContent {
		return c.unexpected(r)
	}
	return exitOK
}

// checkUserAndVHost reports a missing vhost or user as rabbitmqctl's
// permission commands do; it returns -1 when both exist.
func (c *ctl) checkUserAndVHost(user, vhost string) int {
	ok, code := c.vhostExists(vhost)
	if code != 0 {
		return code
	}
	if !ok {
		return c.fail(exitUnavailable, "Virtual host %s does not exist", vhost)
	}
	ok, code = c.userExists(user)
	if code != 0 {
		return code
	}
	if !ok {
		return c.fail(exitNoUser, "User %s does not exist", user)
	}
	return -1
}

func (c *ctl) clearPermissions(vhost string, args []string, _ map[string]bool) int {
	user := args[0]
	c.info(`Clearing permissions for user "%s" in vhost "%s" ...`, user, vhost)
	if code := c.checkUserAndVHost(user, vhost); code >= 0 {
		return code
	}
	r, code := c.call("DELETE", "/api/permissions/"+esc(vhost)+"/"+esc(user), nil)
	if r == nil {
		return code
	}
	// Clearing permissions that were never set is not an error.
	if r.status != http.StatusNoContent && r.status != http.StatusNotFound {
		return c.unexpected(r)
	}
	return exitOK
}

// row is one object of a listing.
type row = map[string]any

// column renders one field of a row as rabbitmqctl prints it.
type column struct {
	name string
	get  func(row) string
}

func field(key string) func(row) string {
	return func(r row) string { return formatValue(r[key]) }
}

// formatValue prints JSON values as rabbitmqctl prints Erlang terms:
// booleans as true/false, tables as [{"key",value}], lists as [a, b].
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = "{" + strconv.Quote(k) + "," + formatTerm(x[k]) + "}"
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v)
}

// formatTerm is formatValue inside a table: strings quoted.
func formatTerm(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return formatValue(v)
}

// columns picks the chosen columns (defaults when none are named);
// unknown names are a usage error, as rabbitmqctl's "Info key(s) x are
// not supported", reported before anything is printed. code is -1 when
// all are known.
func (c *ctl) columns(command string, all []column, defaults, chosen []string) ([]column, int) {
	if len(chosen) == 0 {
		chosen = defaults
	}
	var cols []column
	var bad []string
	for _, name := range chosen {
		found := false
		for _, col := range all {
			if col.name == name {
				cols, found = append(cols, col), true
				break
			}
		}
		if !found {
			bad = append(bad, name)
		}
	}
	if len(bad) > 0 {
		return nil, c.usageError(fmt.Sprintf("Info key(s) %s are not supported", strings.Join(bad, ",")), command)
	}
	return cols, -1
}

// table prints rows under cols: a header line (unless --silent or
// --no-table-headers), then one tab-separated line per row; nothing at
// all when there are no rows, as rabbitmqctl.
func (c *ctl) table(rows []row, cols []column) int {
	if len(rows) == 0 {
		return exitOK
	}
	w := bufio.NewWriter(c.stdout)
	defer w.Flush()
	if !c.silent && !c.noHeaders {
		for i, col := range cols {
			if i > 0 {
				w.WriteByte('\t')
			}
			w.WriteString(col.name)
		}
		w.WriteByte('\n')
	}
	for _, r := range rows {
		for i, col := range cols {
			if i > 0 {
				w.WriteByte('\t')
			}
			w.WriteString(col.get(r))
		}
		w.WriteByte('\n')
	}
	return exitOK
}

func none(row) string { return "" }

// The columns each listing offers (rabbitmqctl's info keys that Ferry
// has), by the API fields they show.
var (
	userColumns  = []column{{"user", field("name")}, {"tags", field("tags")}}
	vhostColumns = []column{{"name", field("name")}, {"description", field("description")}, {"tags", field("tags")},
		{"tracing", field("tracing")}, {"default_queue_type", field("default_queue_type")}, {"messages", field("messages")}}
	permissionColumns = []column{{"user", field("user")}, {"vhost", field("vhost")},
		{"configure", field("configure")}, {"write", field("write")}, {"read", field("read")}}
	queueColumns = []column{{"name", field("name")}, {"durable", field("durable")}, {"auto_delete", field("auto_delete")},
		{"arguments", field("arguments")}, {"exclusive", field("exclusive")}, {"messages", field("messages")},
		{"messages_ready", field("messages_ready")}, {"messages_unacknowledged", field("messages_unacknowledged")},
		{"message_bytes_ready", field("message_bytes_ready")}, {"consumers", field("consumers")},
		{"state", field("state")}, {"type", field("type")}, {"vhost", field("vhost")}, {"policy", none}}
	exchangeColumns = []column{{"name", field("name")}, {"type", field("type")}, {"durable", field("durable")},
		{"auto_delete", field("auto_delete")}, {"internal", field("internal")}, {"arguments", field("arguments")},
		{"vhost", field("vhost")}, {"policy", none}}
	bindingColumns = []column{{"source_name", field("source")}, {"source_kind", func(row) string { return "exchange" }},
		{"destination_name", field("destination")}, {"destination_kind", field("destination_type")},
		{"routing_key", field("routing_key")}, {"arguments", field("arguments")}, {"vhost", field("vhost")}}
	connectionColumns = []column{{"name", field("name")}, {"user", field("user")}, {"vhost", field("vhost")},
		{"channels", field("channels")}, {"peer_host", field("peer_host")}, {"peer_port", field("peer_port")},
		{"host", field("host")}, {"port", field("port")}, {"state", field("state")},
		{"protocol", func(row) string { return "{0,9,1}" }}, {"type", field("type")}, {"node", field("node")}}
	channelColumns = []column{{"name", field("name")}, {"connection", field("connection_name")}, {"user", field("user")},
		{"vhost", field("vhost")}, {"transactional", field("transactional")}, {"consumer_count", field("consumer_count")},
		{"messages_unacknowledged", field("messages_unacknowledged")}, {"prefetch_count", field("prefetch_count")},
		{"global_prefetch_count", field("global_prefetch_count")}, {"state", field("state")}}
)

// list is the common shape of the listing commands: pick the columns,
// print the informational lines, fetch path, print the table. A 404
// (missing vhost or user) goes to onMissing.
func (c *ctl) list(command, path string, all []column, defaults, chosen []string, onMissing func() int, infos ...string) int {
	cols, code := c.columns(command, all, defaults, chosen)
	if code >= 0 {
		return code
	}
	for _, l := range infos {
		c.info("%s", l)
	}
	var rows []row
	st, code := c.get(path, &rows)
	if code != 0 {
		return code
	}
	if st == http.StatusNotFound {
		if onMissing != nil {
			return onMissing()
		}
		return exitOK // rabbitmqctl lists nothing for a missing vhost
	}
	if st != http.StatusOK {
		return c.fail(exitSoftware, "unexpected status %d from %s%s", st, c.base, path)
	}
	return c.table(rows, cols)
}

func (c *ctl) listUsers(_ string, _ []string, _ map[string]bool) int {
	return c.list("list_users", "/api/users", userColumns, []string{"user", "tags"}, nil, nil, "Listing users ...")
}

func (c *ctl) listVHosts(_ string, args []string, _ map[string]bool) int {
	return c.list("list_vhosts", "/api/vhosts", vhostColumns, []string{"name"}, args, nil, "Listing vhosts ...")
}

func (c *ctl) listPermissions(vhost string, _ []string, _ map[string]bool) int {
	return c.list("list_permissions", "/api/vhosts/"+esc(vhost)+"/permissions", permissionColumns,
		[]string{"user", "configure", "write", "read"}, nil, func() int {
			fmt.Fprintf(c.stderr, "Virtual host '%s' does not exist\n", vhost)
			return exitDataErr
		}, fmt.Sprintf(`Listing permissions for vhost "%s" ...`, vhost))
}

func (c *ctl) listUserPermissions(_ string, args []string, _ map[string]bool) int {
	return c.list("list_user_permissions", "/api/users/"+esc(args[0])+"/permissions", permissionColumns,
		[]string{"vhost", "configure", "write", "read"}, nil, func() int {
			return c.fail(exitNoUser, `User "%s" does not exist`, args[0])
		}, fmt.Sprintf(`Listing permissions for user "%s" ...`, args[0]))
}

func (c *ctl) listQueues(vhost string, args []string, _ map[string]bool) int {
	return c.list("list_queues", "/api/queues/"+esc(vhost), queueColumns, []string{"name", "messages"}, args, nil,
		fmt.Sprintf("Timeout: %.1f seconds ...", c.timeout.Seconds()), fmt.Sprintf("Listing queues for vhost %s ...", vhost))
}

func (c *ctl) listExchanges(vhost string, args []string, _ map[string]bool) int {
	return c.list("list_exchanges", "/api/exchanges/"+esc(vhost), exchangeColumns, []string{"name", "type"}, args, nil,
		fmt.Sprintf("Listing exchanges for vhost %s ...", vhost))
}

func (c *ctl) listBindings(vhost string, args []string, _ map[string]bool) int {
	return c.list("list_bindings", "/api/bindings/"+esc(vhost), bindingColumns,
		[]string{"source_name", "source_kind", "destination_name", "destination_kind", "routing_key", "arguments"}, args, nil,
		fmt.Sprintf("Listing bindings for vhost %s...", vhost))
}

func (c *ctl) listConnections(_ string, args []string, _ map[string]bool) int {
	return c.list("list_connections", "/api/connections", connectionColumns,
		[]string{"user", "peer_host", "peer_port", "state"}, args, nil, "Listing connections ...")
}

// consumerColumns shows the consumer's connection where rabbitmqctl
// shows its channel's Erlang pid.
var consumerColumns = []column{
	{"queue_name", func(r row) string { return formatValue(sub(r, "queue")["name"]) }},
	{"channel_pid", func(r row) string { return formatValue(sub(r, "channel_details")["connection_name"]) }},
	{"consumer_tag", field("consumer_tag")}, {"ack_required", field("ack_required")},
	{"prefetch_count", field("prefetch_count")}, {"active", field("active")},
	{"activity_status", field("activity_status")}, {"arguments", field("arguments")},
	{"exclusive", field("exclusive")}, {"priority", field("priority")},
}

// sub returns a nested object of a row (empty when absent).
func sub(r row, key string) map[string]any {
	m, _ := r[key].(map[string]any)
	return m
}

func (c *ctl) listConsumers(vhost string, args []string, _ map[string]bool) int {
	return c.list("list_consumers", "/api/consumers/"+esc(vhost), consumerColumns,
		[]string{"queue_name", "channel_pid", "consumer_tag", "ack_required", "prefetch_count", "active", "activity_status", "arguments"},
		args, nil, fmt.Sprintf("Listing consumers in vhost %s ...", vhost))
}

func (c *ctl) listChannels(_ string, args []string, _ map[string]bool) int {
	return c.list("list_channels", "/api/channels", channelColumns,
		[]string{"name", "user", "consumer_count", "messages_unacknowledged"}, args, nil, "Listing channels ...")
}

func (c *ctl) purgeQueue(vhost string, args []string, _ map[string]bool) int {
	c.info("Purging queue '%s' in vhost '%s' ...", args[0], vhost)
	r, code := c.call("DELETE", "/api/queues/"+esc(vhost)+"/"+esc(args[0])+"/contents", nil)
	if r == nil {
		return code
	}
	switch r.status {
	case http.StatusNoContent:
		return exitOK
	case http.StatusNotFound:
		return c.fail(exitUnavailable, "not_found")
	}
	return c.unexpected(r)
}

func (c *ctl) deleteQueue(vhost string, args []string, flags map[string]bool) int {
	c.info("Deleting queue '%s' on vhost '%s' ...", args[0], vhost)
	q := url.Values{}
	for _, f := range []string{"if-empty", "if-unused"} {
		if flags[f] {
			q.Set(f, "true")
		}
	}
	path := "/api/queues/" + esc(vhost) + "/" + esc(args[0])
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	r, code := c.call("DELETE", path, nil)
	if r == nil {
		return code
	}
	switch r.status {
	case http.StatusNoContent:
		n := r.header.Get("X-Ferry-Message-Count")
		if n == "" {
			n = "0"
		}
		fmt.Fprintf(c.stdout, "Queue was successfully deleted with %s ready messages\n", n)
		return exitOK
	case http.StatusNotFound:
		return c.fail(exitUsage, "Queue not found")
	case http.StatusBadRequest:
		reason := apiReason(r.body)
		switch {
		case strings.HasSuffix(reason, " in use"):
			return c.fail(exitUsage, "Queue is in use")
		case strings.HasSuffix(reason, " not empty"):
			return c.fail(exitUsage, "Queue is not empty")
		}
	}
	return c.unexpected(r)
}

func (c *ctl) closeConnection(_ string, args []string, _ map[string]bool) int {
	c.info("Closing connection %s, reason: %s...", args[0], args[1])
	req := "/api/connections/" + esc(args[0])
	c.header = http.Header{"X-Reason": {args[1]}}
	r, code := c.call("DELETE", req, nil)
	if r == nil {
		return code
	}
	switch r.status {
	case http.StatusNoContent:
		return exitOK
	case http.StatusNotFound:
		return c.fail(exitSoftware, "Connection %s not found", args[0])
	}
	return c.unexpected(r)
}

func (c *ctl) status(_ string, _ []string, _ map[string]bool) int {
	var o struct {
		RabbitMQVersion string `json:"rabbitmq_version"`
		ProductName     string `json:"product_name"`
		ProductVersion  string `json:"product_version"`
		Node            string `json:"node"`
		ObjectTotals    struct {
			Connections, Channels, Exchanges, Queues, Consumers int
		} `json:"object_totals"`
		QueueTotals struct {
			Messages       int `json:"messages"`
			Ready          int `json:"messages_ready"`
			Unacknowledged int `json:"messages_unacknowledged"`
		} `json:"queue_totals"`
		Listeners []struct {
			Protocol string `json:"protocol"`
			IP       string `json:"ip_address"`
			Port     int    `json:"port"`
		} `json:"listeners"`
		Ferry struct {
			PID       int   `json:"os_pid"`
			Uptime    int64 `json:"uptime_seconds"`
			Ready     bool  `json:"ready"`
			Alarm     bool  `json:"memory_alarm"`
			Memory    int64 `json:"message_memory_bytes"`
			Watermark int64 `json:"memory_high_watermark"`
		} `json:"ferry"`
	}
	if _, code := c.get("/api/overview", &o); code != 0 {
		return code
	}
	var vhosts []row
	if _, code := c.get("/api/vhosts", &vhosts); code != 0 {
		return code
	}
	c.info("Status of node %s ...", o.Node)
	w := c.stdout
	fmt.Fprintf(w, "Runtime\n\nOS PID: %d\nOS: Linux\nUptime (seconds): %d\nRabbitMQ version: %s\nNode name: %s\nProduct name: %s\nProduct version: %s\nDataset loaded: %v\n",
		o.Ferry.PID, o.Ferry.Uptime, o.RabbitMQVersion, o.Node, o.ProductName, o.ProductVersion, o.Ferry.Ready)
	fmt.Fprint(w, "\nAlarms\n\n")
	if o.Ferry.Alarm {
		fmt.Fprintf(w, "Memory alarm on node %s\n", o.Node)
	} else {
		fmt.Fprint(w, "(none)\n")
	}
	fmt.Fprintf(w, "\nMemory\n\nMessage memory used: %d bytes\n", o.Ferry.Memory)
	if o.Ferry.Watermark > 0 {
		fmt.Fprintf(w, "Memory high watermark: %d bytes\n", o.Ferry.Watermark)
	} else {
		fmt.Fprint(w, "Memory high watermark: none\n")
	}
	fmt.Fprint(w, "\nListeners\n\n")
	sort.Slice(o.Listeners, func(i, j int) bool { return o.Listeners[i].Port < o.Listeners[j].Port })
	for _, l := range o.Listeners {
		fmt.Fprintf(w, "Interface: %s, port: %d, protocol: %s, purpose: %s\n", l.IP, l.Port, l.Protocol, listenerPurpose(l.Protocol))
	}
	fmt.Fprintf(w, "\nTotals\n\nConnection count: %d\nQueue count: %d\nVirtual host count: %d\n",
		o.ObjectTotals.Connections, o.ObjectTotals.Queues, len(vhosts))
	return exitOK
}

func listenerPurpose(proto string) string {
	switch proto {
	case "amqp":
		return "AMQP 0-9-1"
	case "admin":
		return "HTTP API and Prometheus metrics"
	case "redis":
		return "Redis RESP2/RESP3"
	case "memcached":
		return "memcached text and meta protocol"
	case "memcached-udp":
		return "memcached over UDP"
	}
	return proto
}

// exportDefinitions writes GET /api/definitions to a file, or to standard
// output for "-", as rabbitmqctl export_definitions does.
func (c *ctl) exportDefinitions(_ string, args []string, _ map[string]bool) int {
	path := args[0]
	if path != "-" {
		c.info(`Exporting definitions in JSON to a file at "%s" ...`, path)
	}
	r, code := c.call("GET", "/api/definitions", nil)
	if r == nil {
		return code
	}
	if r.status != http.StatusOK {
		return c.unexpected(r)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, r.body, "", "  "); err != nil {
		return c.fail(exitSoftware, "bad reply from %s/api/definitions: %v", c.base, err)
	}
	if path == "-" {
		c.stdout.Write(pretty.Bytes())
		return exitOK
	}
	if err := os.WriteFile(path, pretty.Bytes(), 0o600); err != nil {
		return c.fail(exitDataErr, "%v", err)
	}
	return exitOK
}
