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
