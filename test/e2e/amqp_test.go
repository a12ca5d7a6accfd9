package e2e

import (
	"strings"
	"testing"
)

// amqpFerry starts the binary with only the AMQP broker, keeping its state
// in dir, and returns it with its AMQP port.
func amqpFerry(t *testing.T, dir string) (*Proc, string) {
	t.Helper()
	p := startFerry(t, []string{"amqp"}, "--memcached", "no", "--redis", "no",
		"--amqp-addr", "127.0.0.1:0", "--appendonly", "no", "--save", "", "--dir", dir)
	addr := p.Addrs["amqp"]
	return p, addr[strings.LastIndex(addr, ":")+1:]
}

// checkOutput compares a script's output with the expected lines.
func checkOutput(t *testing.T, got, want string) {
	t.Helper()
	if strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}

// pikaTutorials is the RabbitMQ tutorials (1-6) written with pika's
// BlockingConnection, as their readers run them.
const pikaTutorials = `
import sys, threading, time, uuid, pika
port = int(sys.argv[1])
params = pika.ConnectionParameters(host='127.0.0.1', port=port, heartbeat=30)
conn = pika.BlockingConnection
out = print

# Tutorial 1: hello world.
c = conn(params); ch = c.channel()
ch.queue_declare(queue='hello')
ch.basic_publish(exchange='', routing_key='hello', body=b'Hello World!')
m, p, body = next(ch.consume('hello', auto_ack=True, inactivity_timeout=5))
out('hello', body.decode())
ch.cancel()

# Tutorial 2: work queue, durable, persistent, prefetch 1, manual ack, two workers.
ch.queue_declare(queue='task_queue', durable=True)
got = {'a': [], 'b': []}
ready = threading.Barrier(3)
def worker(name):
    wc = conn(params); wch = wc.channel()
    wch.basic_qos(prefetch_count=1)
    gen = wch.consume('task_queue', inactivity_timeout=1.5)
    ready.wait()
    for method, props, body in gen:
        if method is None:
            break
        time.sleep(0.02)  # the work
        got[name].append(body.decode())
        wch.basic_ack(delivery_tag=method.delivery_tag)
    wch.cancel(); wc.close()
ts = [threading.Thread(target=worker, args=(n,)) for n in 'ab']
for t in ts: t.start()
ready.wait()
for i in range(20):
    ch.basic_publish(exchange='', routing_key='task_queue', body=('task %02d' % i).encode(),
                     properties=pika.BasicProperties(delivery_mode=2))
for t in ts: t.join()
both = sorted(got['a'] + got['b'])
out('work', len(both), both == ['task %02d' % i for i in range(20)], len(got['a']) >= 5 and len(got['b']) >= 5)
out('work left', ch.queue_declare(queue='task_queue', durable=True, passive=True).method.message_count)

def drain(q):
    bodies = []
    while True:
        m, p, body = ch.basic_get(q, auto_ack=True)
        if m is None:
            return bodies
        bodies.append(body.decode())

# Tutorial 3: publish/subscribe over a fanout exchange.
ch.exchange_declare(exchange='logs', exchange_type='fanout')
qs = [ch.queue_declare(queue='', exclusive=True).method.queue for _ in range(2)]
for q in qs: ch.queue_bind(exchange='logs', queue=q)
for i in range(3): ch.basic_publish(exchange='logs', routing_key='', body=('log %d' % i).encode())
out('fanout', [drain(q) for q in qs])

# Tutorial 4: direct routing by severity.
ch.exchange_declare(exchange='direct_logs', exchange_type='direct')
qe = ch.queue_declare(queue='', exclusive=True).method.queue
qa = ch.queue_declare(queue='', exclusive=True).method.queue
ch.queue_bind(exchange='direct_logs', queue=qe, routing_key='error')
for sev in ('info', 'warning', 'error'): ch.queue_bind(exchange='direct_logs', queue=qa, routing_key=sev)
for sev in ('info', 'warning', 'error', 'debug'): ch.basic_publish(exchange='direct_logs', routing_key=sev, body=sev.encode())
out('direct', drain(qe), drain(qa))

# Tutorial 5: topic routing.
ch.exchange_declare(exchange='topic_logs', exchange_type='topic')
q1 = ch.queue_declare(queue='', exclusive=True).method.queue
q2 = ch.queue_declare(queue='', exclusive=True).method.queue
ch.queue_bind(exchange='topic_logs', queue=q1, routing_key='*.critical')
ch.queue_bind(exchange='topic_logs', queue=q2, routing_key='kern.*')
ch.queue_bind(exchange='topic_logs', queue=q2, routing_key='#.audit.#')
for k in ('kern.critical', 'kern.info', 'app.critical', 'app.info', 'x.audit.y.z', 'audit'):
    ch.basic_publish(exchange='topic_logs', routing_key=k, body=k.encode())
out('topic', drain(q1), drain(q2))

# Tutorial 6: RPC with reply_to and correlation_id; a server thread.
def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)
sc = conn(params); sch = sc.channel()
sch.queue_declare(queue='rpc_queue')
sch.basic_qos(prefetch_count=1)
def on_request(c_, method, props, body):
    c_.basic_publish(exchange='', routing_key=props.reply_to,
                     properties=pika.BasicProperties(correlation_id=props.correlation_id),
                     body=str(fib(int(body))).encode())
    c_.basic_ack(delivery_tag=method.delivery_tag)
sch.basic_consume(queue='rpc_queue', on_message_callback=on_request)
st = threading.Thread(target=sch.start_consuming); st.start()

class FibonacciRpcClient:
    def __init__(self, reply_queue=None):
        self.connection = conn(params)
        self.channel = self.connection.channel()
        if reply_queue is None:
            reply_queue = self.channel.queue_declare(queue='', exclusive=True).method.queue
        self.callback_queue = reply_queue
        self.channel.basic_consume(queue=reply_queue, on_message_callback=self.on_response, auto_ack=True)
    def on_response(self, ch_, method, props, body):
        if self.corr_id == props.correlation_id:
            self.response = int(body)
    def call(self, n):
        self.response = None
        self.corr_id = str(uuid.uuid4())
        self.channel.basic_publish(exchange='', routing_key='rpc_queue',
            properties=pika.BasicProperties(reply_to=self.callback_queue, correlation_id=self.corr_id),
            body=str(n).encode())
        deadline = time.time() + 10
        while self.response is None and time.time() < deadline:
            self.connection.process_data_events(time_limit=0.2)
        return self.response
rpc = FibonacciRpcClient()
out('rpc', [rpc.call(n) for n in (1, 10, 20)])
direct = FibonacciRpcClient('amq.rabbitmq.reply-to')
out('direct reply-to', [direct.call(n) for n in (2, 15)])
sc.add_callback_threadsafe(sch.stop_consuming)
st.join(10)
out('server stopped', not st.is_alive())
sc.close(); rpc.connection.close(); direct.connection.close(); c.close()
`

// TestPikaTutorials runs the RabbitMQ tutorials through pika's
// BlockingConnection: hello world, work queue with manual ack and
// prefetch, fanout, direct and topic routing, RPC with reply_to and
// correlation_id, and RPC over direct reply-to.
func TestPikaTutorials(t *testing.T) {
	_, port := amqpFerry(t, t.TempDir())
	checkOutput(t, python(t, pikaTutorials, port), `
hello Hello World!
work 20 True True
work left 0
fanout [['log 0', 'log 1', 'log 2'], ['log 0', 'log 1', 'log 2']]
direct ['error'] ['info', 'warning', 'error']
topic ['kern.critical', 'app.critical'] ['kern.critical', 'kern.info', 'x.audit.y.z', 'audit']
rpc [1, 55, 6765]
direct reply-to [1, 610]
server stopped True`)
}

// pikaSelect publishes with confirms and consumes with manual acks through
// pika's asynchronous SelectConnection.
const pikaSelect = `
import sys, pika
port = int(sys.argv[1])
N = 200
st = {'confirmed': 0, 'nacked': 0, 'got': [], 'redelivered': 0}

def on_open(conn):
    conn.channel(on_open_callback=on_channel)

def on_channel(ch):
    st['ch'] = ch
    ch.confirm_delivery(ack_nack_callback=on_confirm, callback=lambda _: ch.queue_declare(
        'select_q', durable=True, callback=on_declared))

def on_declared(_):
    st['ch'].basic_qos(prefetch_count=10, callback=on_qos)

def on_qos(_):
    st['ch'].basic_consume('select_q', on_message_callback=on_message)
    for i in range(N):
        st['ch'].basic_publish('', 'select_q', ('m%03d' % i).encode(), pika.BasicProperties(delivery_mode=2))

def on_confirm(frame):
    if frame.method.NAME == 'Basic.Ack':
        st['confirmed'] = max(st['confirmed'], frame.method.delivery_tag)
    else:
        st['nacked'] += 1
    maybe_done()

def on_message(ch, method, props, body):
    st['got'].append(body.decode())
    st['redelivered'] += method.redelivered
    ch.basic_ack(method.delivery_tag)
    maybe_done()

def maybe_done():
    if st['confirmed'] == N and len(st['got']) == N:
        conn.close()

conn = pika.SelectConnection(pika.ConnectionParameters(host='127.0.0.1', port=port),
                             on_open_callback=on_open,
                             on_close_callback=lambda c, reason: c.ioloop.stop())
conn.ioloop.call_later(30, conn.ioloop.stop)
conn.ioloop.start()
print('confirmed', st['confirmed'], 'nacked', st['nacked'])
print('consumed', len(st['got']), st['got'] == ['m%03d' % i for i in range(N)], 'redelivered', st['redelivered'])
`

// TestPikaSelectConnection drives the broker through pika's asynchronous
// connection: confirms for every persistent publish, in-order delivery.
func TestPikaSelectConnection(t *testing.T) {
	_, port := amqpFerry(t, t.TempDir())
	checkOutput(t, python(t, pikaSelect, port), `
confirmed 200 nacked 0
consumed 200 True redelivered 0`)
}

// kombuPatterns uses kombu (over py-amqp) as applications and Celery do:
// declared entities, JSON messages, topic routing, SimpleQueue, and RPC
// over direct reply-to with correlation ids.
const kombuPatterns = `
import sys, socket
from kombu import Connection, Exchange, Queue, Producer, Consumer
url = 'amqp://guest:guest@127.0.0.1:%s//' % sys.argv[1]
with Connection(url, heartbeat=10) as conn:
    conn.connect()
    print('transport', conn.transport.driver_type, conn.connected)
    # Topic routing with declared queues and JSON bodies.
    ex = Exchange('k_topic', type='topic', durable=False)
    qs = [Queue('k_crit', ex, routing_key='*.critical', durable=False),
          Queue('k_kern', ex, routing_key='kern.#', durable=False)]
    ch = conn.channel()
    for q in qs:
        q(ch).declare()
    prod = Producer(ch, exchange=ex)
    for k in ('kern.critical', 'kern.info', 'app.critical', 'app.info'):
        prod.publish({'key': k}, routing_key=k, serializer='json')
    seen = []
    def on_msg(body, msg):
        seen.append((msg.delivery_info['consumer_tag'], body['key']))
        msg.ack()
    for q in qs:
        Consumer(conn.channel(), [q], callbacks=[on_msg], accept=['json']).consume()
    while len(seen) < 4:
        conn.drain_events(timeout=5)
    by_queue = {}
    for tag, key in seen:
        by_queue.setdefault(tag, []).append(key)
    print('topic', sorted(sorted(v) for v in by_queue.values()))

    # SimpleQueue: the work queue pattern with explicit acks.
    sq = conn.SimpleQueue('k_simple')
    for i in range(5):
        sq.put({'n': i})
    ns = []
    for _ in range(5):
        m = sq.get(block=True, timeout=5)
        ns.append(m.payload['n'])
        m.ack()
    print('simple', ns, sq.qsize())
    sq.close()

    # RPC: a server consumer answers on reply_to with the correlation id;
    # the client waits on direct reply-to.
    rpc_q = Queue('k_rpc', durable=False)
    sch = conn.channel()
    def serve(body, msg):
        Producer(sch).publish({'result': body['n'] * 2}, exchange='', routing_key=msg.properties['reply_to'],
                              correlation_id=msg.properties['correlation_id'], serializer='json')
        msg.ack()
    server = Consumer(sch, [rpc_q], callbacks=[serve], accept=['json'])
    server.consume()
    cch = conn.channel()
    replies = []
    def on_reply(body, msg):
        replies.append((msg.properties['correlation_id'], body['result']))
    client = Consumer(cch, [Queue('amq.rabbitmq.reply-to', no_ack=True)], callbacks=[on_reply], accept=['json'], no_ack=True)
    client.consume()
    cprod = Producer(cch)
    for i in range(3):
        cprod.publish({'n': i}, exchange='', routing_key='k_rpc', reply_to='amq.rabbitmq.reply-to',
                      correlation_id='id-%d' % i, serializer='json')
        while len(replies) <= i:
            conn.drain_events(timeout=5)
    print('rpc', replies)
`

// TestKombuPatterns runs kombu (py-amqp transport): topic routing,
// SimpleQueue, RPC over direct reply-to.
func TestKombuPatterns(t *testing.T) {
	_, port := amqpFerry(t, t.TempDir())
	checkOutput(t, python(t, kombuPatterns, port), `
transport amqp True
topic [['app.critical', 'kern.critical'], ['kern.critical', 'kern.info']]
simple [0, 1, 2, 3, 4] 0
rpc [('id-0', 0), ('id-1', 2), ('id-2', 4)]`)
}
