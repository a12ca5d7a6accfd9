package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestAccessDirectives: the broker access directives parse as documented
// in docs/dev/admin.md, accumulate when repeated and reject bad lines.
func TestAccessDirectives(t *testing.T) {
	c := Default()
	conf := `
amqp-vhost /prod
amqp-vhost other
amqp-user app s3cret management,monitoring
amqp-user ops pw
amqp-permissions app /prod ^app\. .* ^$
amqp-loopback-users ""
amqp-default-user admin
admin-addr 127.0.0.1:0
`
	if err := c.Load(strings.NewReader(conf), "t.conf"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"/prod", "other"}; !reflect.DeepEqual(c.AMQP.VHosts, want) {
		t.Errorf("vhosts %q", c.AMQP.VHosts)
	}
	if want := []AMQPUser{{"app", "s3cret", []string{"management", "monitoring"}}, {"ops", "pw", nil}}; !reflect.DeepEqual(c.AMQP.Users, want) {
		t.Errorf("users %+v", c.AMQP.Users)
	}
	if want := []AMQPPermission{{"app", "/prod", `^app\.`, ".*", "^$"}}; !reflect.DeepEqual(c.AMQP.Permissions, want) {
		t.Errorf("permissions %+v", c.AMQP.Permissions)
	}
	if len(c.AMQP.LoopbackUsers) != 0 || c.AMQP.DefaultUser != "admin" {
		t.Errorf("loopback %q default user %q", c.AMQP.LoopbackUsers, c.AMQP.DefaultUser)
	}
	if c.Admin.Addr != "127.0.0.1:0" || !c.Admin.Explicit {
		t.Errorf("admin %+v", c.Admin)
	}
	if v, _ := c.Get("amqp-user"); strings.Contains(v, "s3cret") {
		t.Errorf("Get shows the password: %q", v)
	}
	d := Default()
	if d.Admin.Addr != "127.0.0.1:15672" || d.Admin.Explicit {
		t.Errorf("default admin %+v", d.Admin)
	}
	if err := d.Set("admin-addr", "no"); err != nil || d.Admin.Addr != "" {
		t.Errorf("admin-addr no: %v %+v", err, d.Admin)
	}
	for _, bad := range [][2]string{
		{"amqp-user", "onlyname"},
		{"amqp-user", "a b c d"},
		{"amqp-permissions", "u / .* .*"},
		{"amqp-vhost", " "},
		{"admin-addr", "15672"},
	} {
		c := Default()
		if err := c.Set(bad[0], bad[1]); err == nil {
			t.Errorf("%s %q accepted", bad[0], bad[1])
		}
	}
}
