package broker

import "testing"

func TestPasswordHashAndChannels(t *testing.T) {
	b := newTestBroker(t, t.TempDir())
	defer b.Close()
	if err := b.AddUser("alice", "pw1", []string{"management"}); err != nil {
		t.Fatal(err)
	}
	h1, ok := b.UserPasswordHash("alice")
	if !ok || h1 == "" {
		t.Fatalf("hash %q %v", h1, ok)
	}
	if _, ok := b.UserPasswordHash("nobody"); ok {
		t.Fatal("hash of a missing user")
	}
	// Another user's hash moved over logs in with that user's password.
	if err := b.AddUser("bob", "pw2", nil); err != nil {
		t.Fatal(err)
	}
	h2, _ := b.UserPasswordHash("bob")
	if err := b.SetPasswordHash("alice", h2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate("alice", "pw2"); err != nil {
		t.Fatalf("login with the moved hash: %v", err)
	}
	if _, err := b.Authenticate("alice", "pw1"); err == nil {
		t.Fatal("old password still accepted")
	}
	if err := b.SetPasswordHash("alice", "not base64!"); err == nil {
		t.Fatal("bad hash accepted")
	}
	if err := b.SetPasswordHash("nobody", h2); err == nil {
		t.Fatal("hash set on a missing user")
	}
	if err := b.SetPasswordHash("alice", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate("alice", "pw2"); err == nil {
		t.Fatal("cleared password still accepted")
	}

	u, _ := b.Authenticate("guest", "guest")
	conn, err := b.Connect(u, "/", ConnInfo{Name: "127.0.0.1:1 -> 127.0.0.1:5672"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch1, _ := conn.OpenChannel(newSink())
	ch2, _ := conn.OpenChannel(newSink())
	if err := ch1.Qos(0, 10, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ch1.QueueDeclare(QueueDeclare{Name: "q"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch1.Consume(ConsumeArgs{Queue: "q"}); err != nil {
		t.Fatal(err)
	}
	if err := ch2.Publish(msg("", "q", "hello"), false, false); err != nil {
		t.Fatal(err)
	}
	if err := ch2.TxSelect(); err != nil {
		t.Fatal(err)
	}
	infos := b.Channels()
	if len(infos) != 2 {
		t.Fatalf("channels %+v", infos)
	}
	var consuming, publishing *ChannelInfo
	for i := range infos {
		if infos[i].Consumers == 1 {
			consuming = &infos[i]
		} else {
			publishing = &infos[i]
		}
	}
	if consuming == nil || publishing == nil {
		t.Fatalf("channels %+v", infos)
	}
	if consuming.Prefetch != 10 || consuming.Unacked != 1 || consuming.Delivered != 1 || consuming.User != "guest" ||
		consuming.VHost != "/" || consuming.Connection != "127.0.0.1:1 -> 127.0.0.1:5672" {
		t.Errorf("consuming channel %+v", *consuming)
	}
	if publishing.Published != 1 || !publishing.Transactional {
		t.Errorf("publishing channel %+v", *publishing)
	}
	ch2.Close()
	if n := len(b.Channels()); n != 1 {
		t.Fatalf("%d channels after a close", n)
	}
}

// TestAdminQueueActions: administrators purge and delete queues with
// queue.delete's conditions and RabbitMQ's texts, see consumers (the
// waiting ones of a single-active-consumer queue marked), and close
// connections.
func TestAdminQueueActions(t *testing.T) {
	e := newEnv(t)
	e.declare("sac", Table{"x-single-active-consumer": true})
	e.declare("plain", nil)
	e.publish("", "plain", "a")
	e.publish("", "plain", "b")
	ch2, _ := e.newChannel()
	for _, ch := range []*Channel{e.ch, ch2} {
		if _, err := ch.Consume(ConsumeArgs{Queue: "sac", Tag: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	cs := e.b.Consumers("")
	if len(cs) != 2 || !cs[0].Active || cs[1].Active || cs[0].Queue != "sac" || !cs[0].AckRequired || cs[0].Connection != t.Name() {
		t.Fatalf("consumers %+v", cs)
	}
	if cs := e.b.Consumers("nowhere"); len(cs) != 0 {
		t.Fatalf("consumers of a missing vhost %+v", cs)
	}

	tests := []struct {
		name              string
		vhost, queue      string
		ifUnused, ifEmpty bool
		want              string
		n                 uint32
	}{
		{"in use", "/", "sac", true, false, "PRECONDITION_FAILED - queue 'sac' in vhost '/' in use", 0},
		{"not empty", "/", "plain", false, true, "PRECONDITION_FAILED - queue 'plain' in vhost '/' not empty", 0},
		{"missing queue", "/", "none", false, false, "NOT_FOUND - no queue 'none' in vhost '/'", 0},
		{"missing vhost", "v", "q", false, false, "NOT_FOUND - no vhost 'v'", 0},
		{"deleted", "/", "plain", false, false, "", 2},
	}
	for _, tt := range tests {
		n, err := e.b.DeleteQueue(tt.vhost, tt.queue, tt.ifUnused, tt.ifEmpty)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want || n != tt.n {
			t.Errorf("%s: %d %q, want %d %q", tt.name, n, got, tt.n, tt.want)
		}
	}
	e.publish("", "sac", "x") // delivered to the active consumer: not ready
	e.declare("p2", nil)
	e.publish("", "p2", "y")
	if n, err := e.b.PurgeQueue("/", "p2"); n != 1 || err != nil {
		t.Errorf("purge: %d %v", n, err)
	}
	if _, err := e.b.PurgeQueue("/", "none"); err == nil || err.Error() != "NOT_FOUND - no queue 'none' in vhost '/'" {
		t.Errorf("purge of a missing queue: %v", err)
	}
	id := e.b.Connections()[0].ID
	if e.b.CloseConnection(id+100, "x") {
		t.Error("closed a connection that does not exist")
	}
	if !e.b.CloseConnection(id, "maintenance") || len(e.b.Connections()) != 0 {
		t.Errorf("close_connection: %+v", e.b.Connections())
	}
}
