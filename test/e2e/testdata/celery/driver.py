"""Scenario driver for Ferry's Celery end-to-end tests.

Usage: driver.py SCENARIO [ARGS...]   (configured by tasks.py's environment)

Each scenario does what a Celery user does — calls tasks, builds canvases,
sends broadcasts — against workers the Go test started, checks the outcome
with asserts and prints "ok SCENARIO" (or progress lines the Go test waits
for). A failed assert exits non-zero with its traceback.
"""

import datetime
import json
import os
import subprocess
import sys
import threading
import time

from celery import chain, chord, group
from celery.exceptions import TaskRevokedError

import tasks
from tasks import app

TIMEOUT = 60  # seconds for a result: generous, the machine is shared


def effects(tag=None, what=None):
    """Lines of the side-effect log, as (tag, what, pid, time) tuples."""
    path = os.path.join(os.environ["FERRY_CELERY_DIR"], "effects.log")
    out = []
    try:
        with open(path) as f:
            for line in f:
                t, w, pid, ts = line.split()
                if (tag is None or t == tag) and (what is None or w == what):
                    out.append((t, w, int(pid), float(ts)))
    except FileNotFoundError:
        pass
    return out


def rpc_backend():
    return app.conf.result_backend.startswith("rpc")


def celery_cli(*args):
    """Runs `python3 -m celery -A tasks ARGS` and returns its output."""
    p = subprocess.run([sys.executable, "-m", "celery", "-A", "tasks"] + list(args),
                       capture_output=True, text=True, timeout=120,
                       cwd=os.path.dirname(os.path.abspath(__file__)))
    assert p.returncode == 0, "celery %s: exit %d\n%s\n%s" % (args, p.returncode, p.stdout, p.stderr)
    return p.stdout


def basic(args):
    assert tasks.add.delay(2, 2).get(timeout=10) == 4


def countdown(args):
    """apply_async(countdown=2) and apply_async(eta=now+2s) run no earlier
    than asked (same machine, same clock) and not much later."""
    t0 = time.time()
    r1 = tasks.stamp.apply_async(("countdown",), countdown=2)
    eta = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
    r2 = tasks.stamp.apply_async(("eta",), eta=eta)
    ran1 = r1.get(timeout=TIMEOUT)
    ran2 = r2.get(timeout=TIMEOUT)
    assert 1.9 <= ran1 - t0 < 60, "countdown=2 ran after %.2fs" % (ran1 - t0)
    assert ran2 >= eta.timestamp() - 0.1 and ran2 - t0 < 60, "eta ran %.2fs after submit" % (ran2 - t0)
    assert len(effects("countdown")) == 1 and len(effects("eta")) == 1


def retry(args):
    """self.retry(countdown=1) twice, then success: three tries, a second apart."""
    assert tasks.flaky.delay("retry", 2).get(timeout=TIMEOUT) == 2
    tries = effects("retry", "try")
    assert len(tries) == 3, tries
    for a, b in zip(tries, tries[1:]):
        assert b[3] - a[3] >= 0.9, "retry came %.2fs after the failure" % (b[3] - a[3])


def canvas(args):
    assert chain(tasks.add.s(2, 2), tasks.add.s(4), tasks.mul.s(3))().get(timeout=TIMEOUT) == 24
    assert group(tasks.add.s(i, i) for i in range(10))().get(timeout=TIMEOUT) == [2 * i for i in range(10)]
    if rpc_backend():
        # Celery's rpc:// backend cannot run chords (results go to the caller
        # only, so no worker can see the header's results): Celery says so.
        try:
            chord(tasks.add.s(i, i) for i in range(3))(tasks.xsum.s())
            raise AssertionError("rpc:// ran a chord")
        except NotImplementedError:
            return
    assert chord(tasks.add.s(i, i) for i in range(10))(tasks.xsum.s()).get(timeout=TIMEOUT) == 90
    # A chord inside a chain, and a chord whose body is a chain.
    c = chain(tasks.add.s(1, 1), chord([tasks.add.s(1), tasks.add.s(2)], tasks.xsum.s()))
    assert c().get(timeout=TIMEOUT) == 7
    c = chord([tasks.add.s(1, 2), tasks.add.s(3, 4)], tasks.xsum.s() | tasks.mul.s(10))
    assert c().get(timeout=TIMEOUT) == 100


def routing(args):
    """The worker started with -Q special (args[1]) takes every task routed
    there; the one on the default queue (args[0]) takes the rest."""
    main, special = args
    rs = [tasks.where_special.delay() for _ in range(6)]
    rs += [tasks.where.apply_async(queue="special") for _ in range(2)]
    for r in rs:
        assert r.get(timeout=TIMEOUT) == [special, "special"], r.result
    for _ in range(4):
        assert tasks.where.delay().get(timeout=TIMEOUT) == [main, "celery"]


def ratelimit(args):
    """rate_limit="4/s": twelve tasks on one worker take about (12-1)/4 s.
    Celery's token bucket is not exact (tasks that arrive while it refills
    go early), so the bound is half of that."""
    rs = [tasks.limited.delay("limited") for _ in range(12)]
    times = sorted(r.get(timeout=TIMEOUT) for r in rs)
    span = times[-1] - times[0]
    assert span >= 1.4, "12 tasks at 4/s ran within %.2fs" % span


def revoke(args):
    """A revoked task waiting for its eta never runs; a running one revoked
    with terminate=True is killed; both report REVOKED."""
    main = args[0]
    t0 = time.time()
    waiting = tasks.effect.apply_async(("revoked", 1), countdown=15)
    waiting.revoke()
    # The worker holds the id as revoked before the eta. (On a loaded
    # machine a busy worker may read the broadcast seconds later.)
    while True:
        out = app.control.inspect(destination=[main], timeout=2).revoked() or {}
        if waiting.id in out.get(main, []):
            break
        assert time.time() < t0 + 13, "the worker did not learn of the revoke before the eta: %s" % out
    running = tasks.slow.delay("terminated", 60)
    deadline = time.time() + TIMEOUT
    while not effects("terminated", "start"):
        assert time.time() < deadline, "slow task never started"
        time.sleep(0.1)
    running.revoke(terminate=True)
    for r in (waiting, running):
        try:
            r.get(timeout=TIMEOUT)
            raise AssertionError("revoked task %s returned %r" % (r.id, r.result))
        except TaskRevokedError:
            pass
        assert r.state == "REVOKED", r.state
    assert not effects("revoked"), effects("revoked")
    assert not effects("terminated", "done")
    # Revoked ids are kept by every worker (query_task/revoked broadcast).
    out = app.control.inspect(timeout=3).revoked()
    assert out and all(waiting.id in ids and running.id in ids for ids in out.values()), out


def broadcast(args):
    """inspect ping reaches every worker; control commands change a
    running worker (pidbox: fanout exchange on AMQP, pub/sub on Redis).
    The command line is used where users use it; the rest goes through
    app.control, which is what the command line calls."""
    main, special = args
    out = celery_cli("inspect", "ping", "--timeout", "3")
    for w in (main, special):
        assert "%s: OK" % w in out, out
    out = celery_cli("control", "add_consumer", "extra", "-d", main, "--timeout", "3")
    assert "add consumer extra" in out, out
    assert tasks.where.apply_async(queue="extra").get(timeout=TIMEOUT) == [main, "extra"]
    ctl = app.control
    queues = ctl.inspect(destination=[main], timeout=3).active_queues()
    assert sorted(q["name"] for q in queues[main]) == ["celery", "extra"], queues
    out = ctl.cancel_consumer("extra", destination=[main], reply=True, timeout=3)
    assert out == [{main: {"ok": "no longer consuming from extra"}}], out
    out = ctl.rate_limit("tasks.mul", "100/s", destination=[main, special], reply=True, timeout=3)
    assert sorted(list(d)[0] for d in out) == sorted([main, special]), out
    assert all("new rate limit set successfully" in list(d.values())[0]["ok"] for d in out), out
    stats = ctl.inspect(destination=[main], timeout=3).stats()[main]
    assert stats["total"].get("tasks.where", 0) >= 1, stats["total"]
    registered = ctl.inspect(destination=[special], timeout=3).registered()[special]
    assert "tasks.add" in registered and "tasks.slow" in registered, registered
    out = ctl.ping(destination=[main, special], timeout=3)
    assert sorted(list(d)[0] for d in out) == sorted([main, special]), out


def events(args):
    """A monitor (app.events.Receiver) sees worker heartbeats and a task's
    whole life: sent, received, started, succeeded."""
    seen = []
    lock = threading.Condition()

    def on_event(ev):
        with lock:
            seen.append(ev)
            lock.notify_all()

    receivers = []

    def capture():
        # No timeout: events may be seconds apart (heartbeats every 2 s);
        # the receiver checks should_stop every second.
        with app.connection_for_read() as conn:
            recv = app.events.Receiver(conn, handlers={"*": on_event})
            receivers.append(recv)
            recv.capture(limit=None, timeout=None, wakeup=False)

    def wait_for(pred, what):
        deadline = time.time() + TIMEOUT
        with lock:
            while not any(pred(e) for e in seen):
                assert time.time() < deadline, "no %s event; saw %s" % (what, sorted({e["type"] for e in seen}))
                lock.wait(0.2)

    th = threading.Thread(target=capture, daemon=True)
    th.start()
    # Heartbeats come every 2 s: one proves the receiver's queue is bound.
    wait_for(lambda e: e["type"] == "worker-heartbeat", "worker-heartbeat")
    r = tasks.add.delay(20, 22)
    assert r.get(timeout=TIMEOUT) == 42
    for typ in ("task-sent", "task-received", "task-started", "task-succeeded"):
        wait_for(lambda e, typ=typ: e["type"] == typ and e.get("uuid") == r.id, typ)
    with lock:
        ok = [e for e in seen if e["type"] == "task-succeeded" and e.get("uuid") == r.id][0]
    assert ok["result"] == "42", ok
    receivers[0].should_stop = True
    th.join(10)


def events_dump(args):
    """`celery events --dump` prints worker heartbeats and task events."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "tasks", "events", "--dump"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=os.path.dirname(os.path.abspath(__file__)))
    lines = []
    cond = threading.Condition()

    def read():
        for line in proc.stdout:
            with cond:
                lines.append(line)
                cond.notify_all()

    def wait_for(pred, what):
        deadline = time.time() + 2 * TIMEOUT  # includes the command's start
        with cond:
            while not any(pred(l) for l in lines):
                assert time.time() < deadline, "no %s line; got:\n%s" % (what, "".join(lines))
                cond.wait(0.2)

    threading.Thread(target=read, daemon=True).start()
    try:
        # A heartbeat line proves the dumper's queue is bound.
        wait_for(lambda l: "heartbeat" in l, "heartbeat")
        r = tasks.mul.delay(6, 7)
        assert r.get(timeout=TIMEOUT) == 42
        wait_for(lambda l: "task succeeded" in l and r.id in l, "task succeeded")
    finally:
        proc.terminate()
        proc.wait(20)


def submit_slow(args):
    """Sends one slow task to queue "durable", says so, and waits for its
    result: the Go test kills the worker running it and starts another."""
    tag, seconds = args[0], float(args[1])
    r = tasks.slow.apply_async((tag, seconds), queue="durable")
    print("submitted", r.id, flush=True)
    assert r.get(timeout=120) == tag


def submit_many(args):
    """Sends n effect tasks (tags tag-0 … tag-n-1) to queue "durable" and
    writes their ids to the file args[2]."""
    tag, n, path = args[0], int(args[1]), args[2]
    ids = [tasks.effect.apply_async(("%s-%d" % (tag, i), i), queue="durable").id for i in range(n)]
    with open(path, "w") as f:
        json.dump(ids, f)
    print("submitted", n, flush=True)


def collect_many(args):
    """Waits until every task submit_many sent ran exactly once and, with a
    result backend that outlives the caller, returned its value."""
    tag, n, path = args[0], int(args[1]), args[2]
    with open(path) as f:
        ids = json.load(f)
    assert len(ids) == n
    if not rpc_backend():
        for i, tid in enumerate(ids):
            assert app.AsyncResult(tid).get(timeout=60) == i
    deadline = time.time() + 60
    while True:
        counts = {}
        for t, _, _, _ in effects():
            if t.startswith(tag + "-"):
                counts[t] = counts.get(t, 0) + 1
        if len(counts) == n or time.time() > deadline:
            break
        time.sleep(0.2)
    time.sleep(1)  # a duplicate delivery would show up now
    counts = {}
    for t, _, _, _ in effects():
        if t.startswith(tag + "-"):
            counts[t] = counts.get(t, 0) + 1
    missing = [i for i in range(n) if "%s-%d" % (tag, i) not in counts]
    twice = sorted(t for t, c in counts.items() if c != 1)
    assert not missing and not twice, "missing %s, ran more than once %s" % (missing, twice)


SCENARIOS = {f.__name__: f for f in (basic, countdown, retry, canvas, routing, ratelimit, revoke,
                                     broadcast, events, events_dump, submit_slow, submit_many,
                                     collect_many)}

if __name__ == "__main__":
    name = sys.argv[1]
    SCENARIOS[name](sys.argv[2:])
    print("ok", name, flush=True)
    # Skip the interpreter's teardown (joining Celery's result-consumer
    # threads and closing connections takes seconds on a loaded machine).
    os._exit(0)
