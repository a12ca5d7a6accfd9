package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/internal/config"
	"ferry/internal/server"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

func TestFormatValue(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, ""},
		{"x", "x"},
		{true, "true"},
		{float64(10), "10"},
		{1.5, "1.5"},
		{[]any{}, "[]"},
		{[]any{"administrator", "monitoring"}, "[administrator, monitoring]"},
		{map[string]any{}, "[]"},
		{map[string]any{"x-queue-mode": "lazy", "x-max-length": float64(10)}, `[{"x-max-length",10},{"x-queue-mode","lazy"}]`},
	}
	for _, tt := range tests {
		if got := formatValue(tt.in); got != tt.want {
			t.Errorf("formatValue(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNodeURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:15672", "http://127.0.0.1:15672"},
		{":15673", "http://127.0.0.1:15673"},
		{"http://h:1/", "http://h:1"},
		{"https://h:1/prefix", "https://h:1/prefix"},
		{"rabbit@host", ""},
	}
	for _, tt := range tests {
		got, err := nodeURL(tt.in)
		if (err != nil) != (tt.want == "") || got != tt.want {
			t.Errorf("nodeURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestCtlInProcess runs the commands the e2e test does not, against a
// live server in this process.
func TestCtlInProcess(t *testing.T) {
	cfg := config.Default()
	cfg.Memcached.Enabled, cfg.Redis.Enabled = false, false
	cfg.Persist.AppendOnly, cfg.Persist.Save = false, ""
	cfg.AMQP.Addr = "127.0.0.1:0"
	cfg.Set("admin-addr", "127.0.0.1:0")
	cfg.Dir = t.TempDir()
	srv, err := server.New(cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background()) }()
	defer func() { srv.Shutdown(); <-done }()
	<-srv.Ready()
	node := srv.Addr("admin").String()

	conn, err := amqp091.Dial("amqp://guest:guest@" + srv.Addr("amqp").String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	closed := conn.NotifyClose(make(chan *amqp091.Error, 1))
	ch, _ := conn.Channel()
	if _, err := ch.QueueDeclare("kept", true, false, false, false, amqp091.Table{"x-max-length": int32(3)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("work", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Qos(5, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume("work", "", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	connName := conn.LocalAddr().String() + " -> " + srv.Addr("amqp").String()

	ctl := func(stdin string, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := runCtl(append([]string{"--node", node}, args...), strings.NewReader(stdin), &out, &errb)
		return out.String(), errb.String(), code
	}
	tests := []struct {
		stdin   string
		args    []string
		stdout  string // exact, or a prefix when it ends in "…"
		code    int
		stderrs string
	}{
		{"pw-from-stdin\n", []string{"add_user", "bob"}, "Adding user \"bob\" ...\nDone.…", 0, ""},
		{"", []string{"change_password", "bob", "pw2"}, "Changing password for user \"bob\" ...\n", 0, ""},
		{"", []string{"change_password", "nobody", "pw2"}, "Changing password for user \"nobody\" ...\n", 67, "Error:\nUser \"nobody\" does not exist\n"},
		{"", []string{"set_user_tags", "bob", "monitoring"}, "Setting tags for user \"bob\" to [monitoring] ...\n", 0, ""},
		{"", []string{"-q", "list_users"}, "user\ttags\nbob\t[monitoring]\nguest\t[administrator]\n", 0, ""},
		{"", []string{"clear_password", "bob"}, "Clearing password for user \"bob\" ...\n", 0, ""},
		{"", []string{"set_permissions", "bob", ".*", ".*", ".*"}, "Setting permissions for user \"bob\" in vhost \"/\" ...\n", 0, ""},
		{"", []string{"clear_permissions", "bob"}, "Clearing permissions for user \"bob\" in vhost \"/\" ...\n", 0, ""},
		{"", []string{"-q", "list_permissions"}, "user\tconfigure\twrite\tread\nguest\t.*\t.*\t.*\n", 0, ""},
		{"", []string{"-q", "list_queues", "name", "consumers", "durable"}, "name\tconsumers\tdurable\nkept\t0\ttrue\nwork\t1\tfalse\n", 0, ""},
		{"", []string{"-s", "list_channels", "user", "consumer_count", "prefetch_count"}, "guest\t1\t5\n", 0, ""},
		{"", []string{"-s", "list_connections", "name", "user", "vhost", "channels"}, connName + "\tguest\t/\t1\n", 0, ""},
		{"", []string{"list_exchanges", "-p", "/", "--no-table-headers", "name"}, "Listing exchanges for vhost / ...\n\namq.direct\namq.fanout\namq.headers\namq.match\namq.rabbitmq.trace\namq.topic\n", 0, ""},
		{"", []string{"list_consumers", "queue_name", "channel_pid", "ack_required", "prefetch_count", "active", "activity_status", "arguments"},
			"Listing consumers in vhost / ...\nqueue_name\tchannel_pid\tack_required\tprefetch_count\tactive\tactivity_status\targuments\nwork\t" + connName + "\ttrue\t5\ttrue\tup\t[]\n", 0, ""},
		{"", []string{"list_consumers", "-p", "nowhere"}, "Listing consumers in vhost nowhere ...\n", 0, ""},
		{"", []string{"status"}, "Status of node ferry@…", 0, ""},
		{"", []string{"help", "set_permissions"}, "Usage\n\nferry ctl [--node <host:port>] [-u <user>] [-p <password>] [--quiet] set_permissions [--vhost <vhost>] <username> <conf> <write> <read>\n…", 0, ""},
		{"", []string{"-u", "guest", "--password", "wrong", "list_users"}, "Listing users ...\n", 77, "Error:\nAccess refused for user 'guest' by http://" + node + ": Login failed\n"},
		{"", []string{"-p", "/", "list_queues"}, "Timeout: 60.0 seconds ...\nListing queues for vhost / ...\n", 77, "Error:\nAccess refused for user 'guest' by http://" + node + ": Login failed\n(-p before the command is the password; give the vhost after it: ferry ctl list_queues -p VHOST)\n"},
		{"", []string{"close_connection", "nope", "bye"}, "Closing connection nope, reason: bye...\n", 70, "Error:\nConnection nope not found\n"},
		{"", []string{"close_connection", connName, "maintenance"}, "Closing connection " + connName + ", reason: maintenance...\n", 0, ""},
	}
	for _, tt := range tests {
		out, errs, code := ctl(tt.stdin, tt.args...)
		okOut := out == tt.stdout
		if p, ok := strings.CutSuffix(tt.stdout, "…"); ok {
			okOut = strings.HasPrefix(out, p)
		}
		if !okOut || code != tt.code || errs != tt.stderrs {
			t.Errorf("ferry ctl %s:\n got %q %q %d\nwant %q %q %d", strings.Join(tt.args, " "), out, errs, code, tt.stdout, tt.stderrs, tt.code)
		}
	}
	// export_definitions: RabbitMQ's JSON, to stdout or a file.
	out, errs, code := ctl("", "export_definitions", "-")
	var defs struct {
		RabbitVersion string `json:"rabbit_version"`
		Users         []struct {
			Name         string `json:"name"`
			PasswordHash string `json:"password_hash"`
		}
		Queues []struct {
			Name      string
			Durable   bool
			Arguments map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &defs); err != nil || code != 0 || errs != "" {
		t.Fatalf("export_definitions -: %v %q %d\n%s", err, errs, code, out)
	}
	if defs.RabbitVersion == "" || len(defs.Queues) != 1 || defs.Queues[0].Name != "kept" ||
		defs.Queues[0].Arguments["x-max-length"] != float64(3) || len(defs.Users) != 2 || defs.Users[1].Name != "guest" || defs.Users[1].PasswordHash == "" {
		t.Errorf("definitions %+v", defs)
	}
	file := filepath.Join(t.TempDir(), "defs.json")
	if out, errs, code := ctl("", "export_definitions", file); code != 0 || errs != "" ||
		out != "Exporting definitions in JSON to a file at \""+file+"\" ...\n" {
		t.Errorf("export_definitions FILE: %q %q %d", out, errs, code)
	}
	if data, err := os.ReadFile(file); err != nil || !strings.Contains(string(data), `"name": "kept"`) {
		t.Errorf("exported file: %v %s", err, data)
	}

	select {
	case e := <-closed:
		if e == nil || e.Code != 320 || e.Reason != "CONNECTION_FORCED - maintenance" {
			t.Errorf("close_connection: %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Error("close_connection did not close the connection")
	}
}
