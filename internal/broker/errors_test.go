package broker

import (
	"testing"
)

// TestErrorTexts checks every refusal's reply code and RabbitMQ's exact
// reply text.
func TestErrorTexts(t *testing.T) {
	e := newEnv(t)
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "dx", Type: "direct"}))
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "durx", Type: "direct", Durable: true, Args: Table{"alternate-exchange": "ae"}}))
	e.must(e.ch.ExchangeDeclare(ExchangeDeclare{Name: "ix", Type: "fanout", Internal: true}))
	e.declare("q", Table{"x-message-ttl": int32(1000)})
	e.declare("plain", nil)
	e.must(e.ch.QueueBind("plain", "dx", "k", nil))
	e.publish("", "plain", "x")
	e.declare("full", nil)
	e.publish("", "full", "x")
	_, err := e.ch.QueueDeclare(QueueDeclare{Name: "excl", Exclusive: true})
	e.must(err)
	other := envFor(t, e.b)
	_, err = other.ch.QueueDeclare(QueueDeclare{Name: "theirs", Exclusive: true})
	other.must(err)
	_, err = other.ch.Consume(ConsumeArgs{Queue: "plain", Tag: "solo", Exclusive: true})
	other.must(err)

	locked := "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'theirs' in vhost '/'. " +
		"It could be originally declared on another connection or the exclusive property value does not match that of the original declaration."
	tests := []struct {
		name string
		do   func() error
		code uint16
		text string
	}{
		{"exchange unknown type", func() error { return e.ch.ExchangeDeclare(ExchangeDeclare{Name: "x", Type: "foo"}) },
			503, "COMMAND_INVALID - unknown exchange type 'foo'"},
		{"declare default exchange", func() error { return e.ch.ExchangeDeclare(ExchangeDeclare{Name: "", Type: "direct"}) },
			403, "ACCESS_REFUSED - operation not permitted on the default exchange"},
		{"passive default exchange", func() error { return e.ch.ExchangeDeclare(ExchangeDeclare{Name: "", Passive: true}) },
			403, "ACCESS_REFUSED - operation not permitted on the default exchange"},
		{"exchange reserved prefix", func() error { return e.ch.ExchangeDeclare(ExchangeDeclare{Name: "amq.mine", Type: "direct"}) },
			403, "ACCESS_REFUSED - exchange name 'amq.mine' contains reserved prefix 'amq.*'"},
		{"redeclare amq.direct is fine", func() error {
			return e.ch.ExchangeDeclare(ExchangeDeclare{Name: "amq.direct", Type: "direct", Durable: true})
		}, 0, ""},
		{"exchange passive missing", func() error { return e.ch.ExchangeDeclare(ExchangeDeclare{Name: "nope", Passive: true}) },
			404, "NOT_FOUND - no exchange 'nope' in vhost '/'"},
		{"exchange inequivalent type", func() error { return e.ch.ExchangeDeclare(ExchangeDeclare{Name: "dx", Type: "fanout"}) },
			406, "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'dx' in vhost '/': received 'fanout' but current is 'direct'"},
		{"exchange inequivalent durable", func() error {
			return e.ch.ExchangeDeclare(ExchangeDeclare{Name: "dx", Type: "direct", Durable: true})
		}, 406, "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'dx' in vhost '/': received 'true' but current is 'false'"},
		{"exchange inequivalent auto_delete", func() error {
			return e.ch.ExchangeDeclare(ExchangeDeclare{Name: "dx", Type: "direct", AutoDelete: true})
		}, 406, "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for exchange 'dx' in vhost '/': received 'true' but current is 'false'"},
		{"exchange inequivalent internal", func() error {
			return e.ch.ExchangeDeclare(ExchangeDeclare{Name: "dx", Type: "direct", Internal: true})
		}, 406, "PRECONDITION_FAILED - inequivalent arg 'internal' for exchange 'dx' in vhost '/': received 'true' but current is 'false'"},
		{"exchange inequivalent AE missing", func() error {
			return e.ch.ExchangeDeclare(ExchangeDeclare{Name: "durx", Type: "direct", Durable: true})
		}, 406, "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'durx' in vhost '/': received none but current is the value 'ae' of type 'longstr'"},
		{"exchange AE bad type", func() error {
			return e.ch.ExchangeDeclare(ExchangeDeclare{Name: "new", Type: "direct", Args: Table{"alternate-exchange": int32(1)}})
		}, 406, "PRECONDITION_FAILED - invalid type 'signedint' for arg 'alternate-exchange' in exchange 'new' in vhost '/'"},
		{"delete default exchange", func() error { return e.ch.ExchangeDelete("", false) },
			403, "ACCESS_REFUSED - operation not permitted on the default exchange"},
		{"delete system exchange", func() error { return e.ch.ExchangeDelete("amq.direct", false) },
			403, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed"},
		{"delete exchange in use", func() error { return e.ch.ExchangeDelete("dx", true) },
			406, "PRECONDITION_FAILED - exchange 'dx' in vhost '/' in use"},
		{"delete missing exchange", func() error { return e.ch.ExchangeDelete("ghost", false) }, 0, ""},
		{"queue reserved prefix", func() error { _, err := e.ch.QueueDeclare(QueueDeclare{Name: "amq.q"}); return err },
			403, "ACCESS_REFUSED - queue name 'amq.q' contains reserved prefix 'amq.*'"},
		{"queue passive missing", func() error { _, err := e.ch.QueueDeclare(QueueDeclare{Name: "nq", Passive: true}); return err },
			404, "NOT_FOUND - no queue 'nq' in vhost '/'"},
		{"queue inequivalent durable", func() error { _, err := e.ch.QueueDeclare(QueueDeclare{Name: "plain", Durable: true}); return err },
			406, "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'plain' in vhost '/': received 'true' but current is 'false'"},
		{"queue inequivalent auto_delete", func() error {
			_, err := e.ch.QueueDeclare(QueueDeclare{Name: "plain", AutoDelete: true})
			return err
		}, 406, "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue 'plain' in vhost '/': received 'true' but current is 'false'"},
		{"queue inequivalent arg value", func() error {
			_, err := e.ch.QueueDeclare(QueueDeclare{Name: "q", Args: Table{"x-message-ttl": int32(2000)}})
			return err
		}, 406, "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received the value '2000' of type 'signedint' but current is the value '1000' of type 'signedint'"},
		{"queue inequivalent arg missing", func() error { _, err := e.ch.QueueDeclare(QueueDeclare{Name: "q"}); return err },
			406, "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received none but current is the value '1000' of type 'signedint'"},
		{"queue equivalent across int types", func() error {
			_, err := e.ch.QueueDeclare(QueueDeclare{Name: "q", Args: Table{"x-message-ttl": int64(1000)}})
			return err
		}, 0, ""},
		{"queue arg not in equivalence list is ignored", func() error {
			_, err := e.ch.QueueDeclare(QueueDeclare{Name: "plain", Args: Table{"x-custom": "y"}})
			return err
		}, 0, ""},
		{"queue redeclared exclusive", func() error { _, err := e.ch.QueueDeclare(QueueDeclare{Name: "plain", Exclusive: true}); return err },
			405, "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'plain' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration."},
		{"exclusive redeclared non-exclusive", func() error { _, err := e.ch.QueueDeclare(QueueDeclare{Name: "excl"}); return err },
			405, "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'excl' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration."},
		{"other connection's exclusive: declare", func() error {
			_, err := e.ch.QueueDeclare(QueueDeclare{Name: "theirs", Exclusive: true})
			return err
		}, 405, locked},
		{"other connection's exclusive: passive", func() error {
			_, err := e.ch.QueueDeclare(QueueDeclare{Name: "theirs", Passive: true})
			return err
		}, 405, locked},
		{"other connection's exclusive: consume", func() error { _, err := e.ch.Consume(ConsumeArgs{Queue: "theirs"}); return err },
			405, locked},
		{"other connection's exclusive: get", func() error { _, err := e.ch.Get("theirs", false); return err }, 405, locked},
		{"other connection's exclusive: purge", func() error { _, err := e.ch.QueuePurge("theirs"); return err }, 405, locked},
		{"other connection's exclusive: delete", func() error { _, err := e.ch.QueueDelete("theirs", false, false); return err },
			405, locked},
		{"other connection's exclusive: bind", func() error { return e.ch.QueueBind("theirs", "dx", "k", nil) }, 405, locked},
		{"delete queue in use", func() error { _, err := e.ch.QueueDelete("plain", true, false); return err },
			406, "PRECONDITION_FAILED - queue 'plain' in vhost '/' in use"},
		{"delete queue not empty", func() error { _, err := e.ch.QueueDelete("full", false, true); return err },
			406, "PRECONDITION_FAILED - queue 'full' in vhost '/' not empty"},
		{"delete missing queue", func() error { _, err := e.ch.QueueDelete("ghost", false, false); return err }, 0, ""},
		{"bind missing exchange", func() error { return e.ch.QueueBind("plain", "nx", "k", nil) },
			404, "NOT_FOUND - no exchange 'nx' in vhost '/'"},
		{"bind missing queue", func() error { return e.ch.QueueBind("nq", "dx", "k", nil) },
			404, "NOT_FOUND - no queue 'nq' in vhost '/'"},
		{"bind both missing names the exchange", func() error { return e.ch.QueueBind("nq", "nx", "k", nil) },
			404, "NOT_FOUND - no exchange 'nx' in vhost '/'"},
		{"bind default exchange", func() error { return e.ch.QueueBind("plain", "", "k", nil) },
			403, "ACCESS_REFUSED - operation not permitted on the default exchange"},
		{"e2e bind to default exchange", func() error { return e.ch.ExchangeBind("", "dx", "k", nil) },
			403, "ACCESS_REFUSED - operation not permitted on the default exchange"},
		{"e2e bind missing destination", func() error { return e.ch.ExchangeBind("nx", "dx", "k", nil) },
			404, "NOT_FOUND - no exchange 'nx' in vhost '/'"},
		{"unbind missing is fine", func() error { return e.ch.QueueUnbind("nq", "nx", "k", nil) }, 0, ""},
		{"headers bad x-match", func() error { return e.ch.QueueBind("plain", "amq.headers", "", Table{"x-match": "some"}) },
			406, `PRECONDITION_FAILED - Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x`},
		{"headers x-match type", func() error { return e.ch.QueueBind("plain", "amq.headers", "", Table{"x-match": int32(1)}) },
			406, "PRECONDITION_FAILED - Invalid x-match field type signedint (value 1); expected longstr"},
		{"publish missing exchange", func() error { return e.ch.Publish(msg("nx", "k", "b"), false, false) },
			404, "NOT_FOUND - no exchange 'nx' in vhost '/'"},
		{"publish internal", func() error { return e.ch.Publish(msg("ix", "k", "b"), false, false) },
			403, "ACCESS_REFUSED - cannot publish to internal exchange 'ix' in vhost '/'"},
		{"publish immediate", func() error { return e.ch.Publish(msg("", "k", "b"), false, true) },
			540, "NOT_IMPLEMENTED - immediate=true"},
		{"expiration not a number", func() error {
			return e.ch.Publish(msgWith("", "k", "b", Properties{Expiration: "abc", HasExpiration: true}), false, false)
		}, 406, "PRECONDITION_FAILED - invalid expiration 'abc': no_integer"},
		{"expiration empty", func() error {
			return e.ch.Publish(msgWith("", "k", "b", Properties{HasExpiration: true}), false, false)
		}, 406, "PRECONDITION_FAILED - invalid expiration '': no_integer"},
		{"expiration negative", func() error {
			return e.ch.Publish(msgWith("", "k", "b", Properties{Expiration: "-5", HasExpiration: true}), false, false)
		}, 406, "PRECONDITION_FAILED - invalid expiration '-5': {value_negative,-5}"},
		{"expiration leftover", func() error {
			return e.ch.Publish(msgWith("", "k", "b", Properties{Expiration: "10s", HasExpiration: true}), false, false)
		}, 406, `PRECONDITION_FAILED - invalid expiration '10s': {leftover_string,"s"}`},
		{"expiration too big", func() error {
			return e.ch.Publish(msgWith("", "k", "b", Properties{Expiration: "4294967296", HasExpiration: true}), false, false)
		}, 406, "PRECONDITION_FAILED - invalid expiration '4294967296': {value_too_big,4294967296}"},
		{"user_id mismatch", func() error {
			return e.ch.Publish(msgWith("", "k", "b", Properties{UserID: "bob", HasUserID: true}), false, false)
		}, 406, "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'"},
		{"user_id match", func() error {
			return e.ch.Publish(msgWith("", "k", "b", Properties{UserID: "guest", HasUserID: true}), false, false)
		}, 0, ""},
		{"CC not an array", func() error {
			return e.ch.Publish(msgWith("", "k", "b", Properties{Headers: Table{"CC": "x"}}), false, false)
		}, 406, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}`},
		{"consume missing queue", func() error { _, err := e.ch.Consume(ConsumeArgs{Queue: "nq"}); return err },
			404, "NOT_FOUND - no queue 'nq' in vhost '/'"},
		{"consume exclusive use", func() error { _, err := e.ch.Consume(ConsumeArgs{Queue: "plain"}); return err },
			403, "ACCESS_REFUSED - queue 'plain' in vhost '/' in exclusive use"},
		{"consume bad x-priority", func() error {
			_, err := e.ch.Consume(ConsumeArgs{Queue: "q", Args: Table{"x-priority": "high"}})
			return err
		}, 406, `PRECONDITION_FAILED - invalid arg 'x-priority' for queue 'q' in vhost '/': "expected integer, got longstr"`},
		{"qos prefetch_size", func() error { return e.ch.Qos(1024, 0, false) },
			540, "NOT_IMPLEMENTED - prefetch_size!=0 (1024)"},
		{"ack unknown tag", func() error { return e.ch.Ack(99, false) },
			406, "PRECONDITION_FAILED - unknown delivery tag 99"},
		{"ack tag 0", func() error { return e.ch.Ack(0, false) },
			406, "PRECONDITION_FAILED - unknown delivery tag 0"},
		{"ack all with nothing outstanding", func() error { return e.ch.Ack(0, true) }, 0, ""},
		{"nack unknown multiple", func() error { return e.ch.Nack(7, true, true) },
			406, "PRECONDITION_FAILED - unknown delivery tag 7"},
		{"recover requeue=false", func() error { return e.ch.Recover(false) },
			540, "NOT_IMPLEMENTED - requeue=false"},
		{"commit without tx", func() error { return e.ch.TxCommit() },
			406, "PRECONDITION_FAILED - channel is not transactional"},
		{"rollback without tx", func() error { return e.ch.TxRollback() },
			406, "PRECONDITION_FAILED - channel is not transactional"},
		{"flow off", func() error { return e.ch.Flow(false) }, 540, "NOT_IMPLEMENTED - active=false"},
		{"get with no previous queue", func() error {
			ch, _ := e.newChannel()
			_, err := ch.Get("", false)
			return err
		}, 404, "NOT_FOUND - no previously declared queue"},
		{"reply-to passive missing", func() error {
			_, err := e.ch.QueueDeclare(QueueDeclare{Name: "amq.rabbitmq.reply-to.nope", Passive: true})
			return err
		}, 404, "NOT_FOUND - no queue 'amq.rabbitmq.reply-to.nope' in vhost '/'"},
		{"reply consumer must be no-ack", func() error {
			_, err := e.ch.Consume(ConsumeArgs{Queue: "amq.rabbitmq.reply-to"})
			return err
		}, 406, "PRECONDITION_FAILED - reply consumer cannot acknowledge"},
		{"reply-to without consumer", func() error { _, err := e.ch.ReplyTo(); return err },
			406, "PRECONDITION_FAILED - fast reply consumer does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			wantErr(t, err, tt.code, tt.text)
		})
	}
}

func TestConsumerTagReuseAndConfirmTx(t *testing.T) {
	e := newEnv(t)
	e.declare("q", nil)
	_, err := e.ch.Consume(ConsumeArgs{Queue: "q", Tag: "c1"})
	e.must(err)
	_, err = e.ch.Consume(ConsumeArgs{Queue: "q", Tag: "c1"})
	wantErr(t, err, 530, "NOT_ALLOWED - attempt to reuse consumer tag 'c1'")
	var be *Error
	if !asError(err, &be) || !be.ConnectionLevel() {
		t.Fatal("NOT_ALLOWED must be a connection error")
	}
	e.must(e.ch.ConfirmSelect())
	wantErr(t, e.ch.TxSelect(), 406, "PRECONDITION_FAILED - cannot switch from confirm to tx mode")
	ch, _ := e.newChannel()
	e.must(ch.TxSelect())
	wantErr(t, ch.ConfirmSelect(), 406, "PRECONDITION_FAILED - cannot switch from tx to confirm mode")
	// A second reply consumer on the same channel.
	_, err = ch.Consume(ConsumeArgs{Queue: "amq.rabbitmq.reply-to", NoAck: true})
	e.must(err)
	_, err = ch.Consume(ConsumeArgs{Queue: "amq.rabbitmq.reply-to", NoAck: true})
	wantErr(t, err, 406, "PRECONDITION_FAILED - reply consumer already set")
}

// TestQueueArgumentValidation covers rabbit_amqqueue's argument checks.
func TestQueueArgumentValidation(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		key  string
		val  any
		want string // after "invalid arg '<key>' for queue 'q' in vhost '/': "
		also Table
	}{
		{"x-expires", int32(0), "{value_zero,0}", nil},
		{"x-expires", int32(-1), "{value_negative,-1}", nil},
		{"x-expires", "10", `"expected integer, got longstr"`, nil},
		{"x-expires", int64(4294967296), "{value_too_big,4294967296}", nil},
		{"x-message-ttl", int32(-5), "{value_negative,-5}", nil},
		{"x-message-ttl", 1.5, `"expected integer, got double"`, nil},
		{"x-dead-letter-routing-key", "rk", "routing_key_but_no_dlx_defined", nil},
		{"x-dead-letter-routing-key", true, "{unacceptable_type,bool}", Table{"x-dead-letter-exchange": "dlx"}},
		{"x-max-length", int32(-1), "{value_negative,-1}", nil},
		{"x-max-length-bytes", "big", `"expected integer, got longstr"`, nil},
		{"x-max-priority", int32(256), "{max_value_exceeded,256}", nil},
		{"x-max-priority", int32(-1), "{value_negative,-1}", nil},
		{"x-overflow", "drop-tail", "invalid_overflow", nil},
		{"x-overflow", int32(1), "{unacceptable_type,signedint}", nil},
		{"x-queue-mode", "fast", `"unsupported queue mode 'fast'"`, nil},
		{"x-single-active-consumer", "yes", "{unacceptable_type,longstr}", nil},
		{"x-queue-type", "quorum", `"unsupported queue type 'quorum'"`, nil},
		{"x-max-age", "10x", "invalid_max_age", nil},
	}
	for _, tt := range tests {
		args := Table{tt.key: tt.val}
		for k, v := range tt.also {
			args[k] = v
		}
		_, err := e.ch.QueueDeclare(QueueDeclare{Name: "q", Args: args})
		wantErr(t, err, 406, "PRECONDITION_FAILED - invalid arg '"+tt.key+"' for queue 'q' in vhost '/': "+tt.want)
	}
	// The dead-letter exchange's type is checked by the channel first.
	_, err := e.ch.QueueDeclare(QueueDeclare{Name: "q", Args: Table{"x-dead-letter-exchange": int32(1)}})
	wantErr(t, err, 406, "PRECONDITION_FAILED - invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue 'q' in vhost '/'")
	for _, ok := range []Table{
		{"x-max-priority": uint8(10)}, {"x-overflow": "reject-publish-dlx"}, {"x-queue-mode": "lazy"},
		{"x-queue-type": "classic"}, {"x-single-active-consumer": true}, {"x-max-age": "7D"},
	} {
		name := genName("ok")
		if _, err := e.ch.QueueDeclare(QueueDeclare{Name: name, Args: ok}); err != nil {
			t.Errorf("args %v refused: %v", ok, err)
		}
	}
	// x-queue-type classic need not be repeated.
	_, err = e.ch.QueueDeclare(QueueDeclare{Name: "cq", Args: Table{"x-queue-type": "classic"}})
	e.must(err)
	_, err = e.ch.QueueDeclare(QueueDeclare{Name: "cq"})
	e.must(err)
}
