package e2e

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// ferryBroker starts the binary with only the AMQP broker and the admin
// listener, keeping its state in dir.
func ferryBroker(t *testing.T, dir string) *Proc {
	t.Helper()
	return startFerry(t, []string{"amqp", "admin"}, "--memcached", "no", "--redis", "no",
		"--amqp-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--appendonly", "no", "--save", "", "--dir", dir)
}

// ctlResult is one `ferry ctl` run.
type ctlResult struct {
	stdout, stderr string
	code           int
}

// runCtl runs `ferry ctl` against p's admin listener with extra global
// options first (credentials) and the command after.
func runCtl(t *testing.T, p *Proc, global []string, args ...string) ctlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	argv := append([]string{"ctl", "--node", p.Addrs["admin"]}, global...)
	cmd := exec.CommandContext(ctx, ferryBin, append(argv, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("ferry ctl %v: %v", args, err)
	}
	return ctlResult{out.String(), errb.String(), code}
}

// TestCtlManagesAccess: users, vhosts and permissions made with `ferry
// ctl` are what AMQP clients (pika) get: the new user logs in to the vhost
// it was given, is refused a queue outside its configure pattern and a
// vhost without permissions with RabbitMQ's texts, and everything
// survives a restart. Output, errors and exit codes are rabbitmqctl's.
func TestCtlManagesAccess(t *testing.T) {
	dir := t.TempDir()
	p := ferryBroker(t, dir)
	steps := []struct {
		args           []string
		stdout, stderr string
		code           int
	}{
		{[]string{"add_user", "alice", "s3cret"}, "Adding user \"alice\" ...\nDone. Don't forget to grant the user permissions to some virtual hosts! See 'ferry ctl help set_permissions' to learn more.\n", "", 0},
		{[]string{"add_user", "alice", "again"}, "Adding user \"alice\" ...\n", "Error:\nUser \"alice\" already exists\n", 70},
		{[]string{"add_vhost", "/prod"}, "Adding vhost \"/prod\" ...\n", "", 0},
		{[]string{"add_vhost", "other"}, "Adding vhost \"other\" ...\n", "", 0},
		{[]string{"set_permissions", "-p", "/prod", "alice", `^app\.`, ".*", ".*"}, "Setting permissions for user \"alice\" in vhost \"/prod\" ...\n", "", 0},
		{[]string{"set_permissions", "-p", "nowhere", "alice", ".*", ".*", ".*"}, "Setting permissions for user \"alice\" in vhost \"nowhere\" ...\n", "Error:\nVirtual host nowhere does not exist\n", 69},
		{[]string{"set_permissions", "-p", "/prod", "bob", ".*", ".*", ".*"}, "Setting permissions for user \"bob\" in vhost \"/prod\" ...\n", "Error:\nUser bob does not exist\n", 67},
		{[]string{"list_permissions", "-p", "/prod"}, "Listing permissions for vhost \"/prod\" ...\nuser\tconfigure\twrite\tread\nalice\t^app\\.\t.*\t.*\n", "", 0},
		{[]string{"-q", "list_users"}, "user\ttags\nalice\t[]\nguest\t[administrator]\n", "", 0},
		{[]string{"-s", "list_vhosts"}, "/\n/prod\nother\n", "", 0},
		{[]string{"delete_user", "bob"}, "Deleting user \"bob\" ...\n", "Error:\nUser \"bob\" does not exist\n", 67},
		{[]string{"delete_vhost", "nowhere"}, "Deleting vhost \"nowhere\" ...\n", "Virtual host 'nowhere' does not exist\n", 65},
		{[]string{"delete_queue", "-p", "/prod", "nothing"}, "Deleting queue 'nothing' on vhost '/prod' ...\n", "Error:\nQueue not found\n", 64},
	}
	for _, s := range steps {
		r := runCtl(t, p, nil, s.args...)
		if r.stdout != s.stdout || r.stderr != s.stderr || r.code != s.code {
			t.Errorf("ferry ctl %s:\n stdout %q\n stderr %q\n exit %d\nwant\n stdout %q\n stderr %q\n exit %d",
				strings.Join(s.args, " "), r.stdout, r.stderr, r.code, s.stdout, s.stderr, s.code)
		}
	}

	amqpPort := p.Addrs["amqp"][strings.LastIndex(p.Addrs["amqp"], ":")+1:]
	out := python(t, `
import sys, pika
port = int(sys.argv[1])
cred = pika.PlainCredentials('alice', 's3cret')
c = pika.BlockingConnection(pika.ConnectionParameters(port=port, virtual_host='/prod', credentials=cred))
ch = c.channel()
ch.queue_declare('app.jobs', durable=True)
ch.basic_publish('', 'app.jobs', b'job-1', pika.BasicProperties(delivery_mode=2))
print('declared app.jobs')
try:
    ch.queue_declare('billing')
except pika.exceptions.ChannelClosedByBroker as e:
    print('refused', e.reply_code, e.reply_text)
c.close()
try:
    pika.BlockingConnection(pika.ConnectionParameters(port=port, virtual_host='other', credentials=cred))
    print('other: connected')
except pika.exceptions.AMQPConnectionError as e:
    print('other:', type(e).__name__, e)
try:
    pika.BlockingConnection(pika.ConnectionParameters(port=port, virtual_host='/prod',
        credentials=pika.PlainCredentials('alice', 'wrong')))
    print('wrong password: connected')
except pika.exceptions.AMQPConnectionError as e:
    print('wrong password:', type(e).__name__)
`, amqpPort)
	for _, want := range []string{
		"declared app.jobs\n",
		"refused 403 ACCESS_REFUSED - access to queue 'billing' in vhost '/prod' refused for user 'alice'\n",
		"other: ProbableAccessDeniedError ConnectionClosedByBroker: (530) \"NOT_ALLOWED - access to vhost 'other' refused for user 'alice'\"\n",
		"wrong password: ProbableAuthenticationError\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pika output lacks %q:\n%s", want, out)
		}
	}

	// What pika did shows in the listings.
	if r := runCtl(t, p, nil, "list_queues", "-p", "/prod", "name", "messages", "durable"); r.code != 0 ||
		r.stdout != "Timeout: 60.0 seconds ...\nListing queues for vhost /prod ...\nname\tmessages\tdurable\napp.jobs\t1\ttrue\n" {
		t.Errorf("list_queues: %q %q %d", r.stdout, r.stderr, r.code)
	}
	// alice has no administrator tag: the admin API turns her away.
	if r := runCtl(t, p, []string{"-u", "alice", "-p", "s3cret"}, "list_users"); r.code != 77 ||
		!strings.Contains(r.stderr, "Not management user") {
		t.Errorf("list_users as alice: %q %q %d", r.stdout, r.stderr, r.code)
	}
	if r := runCtl(t, p, nil, "set_user_tags", "alice", "administrator"); r.code != 0 {
		t.Fatalf("set_user_tags: %q %q %d", r.stdout, r.stderr, r.code)
	}
	if r := runCtl(t, p, []string{"-u", "alice", "-p", "s3cret"}, "-q", "list_user_permissions", "alice"); r.code != 0 ||
		r.stdout != "vhost\tconfigure\twrite\tread\n/prod\t^app\\.\t.*\t.*\n" {
		t.Errorf("list_user_permissions as alice: %q %q %d", r.stdout, r.stderr, r.code)
	}

	// Durable: after a restart on the same directory alice logs in, her
	// permissions and the persistent message are there.
	p.Stop(t)
	p2 := ferryBroker(t, dir)
	if r := runCtl(t, p2, nil, "-q", "list_permissions", "-p", "/prod"); r.stdout != "user\tconfigure\twrite\tread\nalice\t^app\\.\t.*\t.*\n" {
		t.Errorf("permissions after restart: %q %q %d", r.stdout, r.stderr, r.code)
	}
	amqpPort = p2.Addrs["amqp"][strings.LastIndex(p2.Addrs["amqp"], ":")+1:]
	out = python(t, `
import sys, pika
c = pika.BlockingConnection(pika.ConnectionParameters(port=int(sys.argv[1]), virtual_host='/prod',
    credentials=pika.PlainCredentials('alice', 's3cret')))
m = c.channel().basic_get('app.jobs', auto_ack=True)
print('got', m[2])
c.close()
`, amqpPort)
	if !strings.Contains(out, "got b'job-1'") {
		t.Errorf("after restart: %s", out)
	}

	// delete_user closes her connections and refuses new ones.
	if r := runCtl(t, p2, nil, "delete_user", "alice"); r.code != 0 || r.stdout != "Deleting user \"alice\" ...\n" {
		t.Errorf("delete_user: %q %q %d", r.stdout, r.stderr, r.code)
	}
}

// TestCtlUsageAndUnreachable: argument mistakes are usage errors (64)
// and a node that does not answer is EX_UNAVAILABLE (69), as rabbitmqctl.
func TestCtlUsageAndUnreachable(t *testing.T) {
	p := &Proc{Addrs: map[string]string{"admin": "127.0.0.1:1"}}
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"add_user"}, 64, "Error (argument validation): not enough arguments."},
		{[]string{"delete_vhost", "a", "b"}, 64, "Error (argument validation): too many arguments."},
		{[]string{"list_queues", "bogus"}, 64, "Error (argument validation): Info key(s) bogus are not supported"},
		{[]string{"no_such_command"}, 64, "Command 'no_such_command' not found."},
		{[]string{"list_users"}, 69, "Error: unable to perform an operation on node '127.0.0.1:1'."},
	}
	for _, tt := range tests {
		r := runCtl(t, p, nil, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("ferry ctl %v: exit %d, stderr %q; want exit %d and %q", tt.args, r.code, r.stderr, tt.code, tt.stderr)
		}
	}
}
