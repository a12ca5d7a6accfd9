"""redis-py 4.3.4 Pub/Sub the way the tutorials use it.

Usage:
  redis_pubsub.py PORT subscribe CHANNEL...   subscriber: p.subscribe, for m in p.listen()
  redis_pubsub.py PORT psubscribe PATTERN...  the same with p.psubscribe
  redis_pubsub.py PORT publish CHANNEL:COUNT... publisher loop
  redis_pubsub.py PORT sections [SECTION...]  in-process checks

A subscriber prints every message listen() yields as one JSON line, in
order; after the confirmation of its last subscription it prints "READY"
(the Go test publishes only after that line), and it ends after a message
whose data is "STOP", printing "BYE".

The publisher publishes COUNT messages "CHANNEL-i" to each CHANNEL in turn,
prints one line per channel "CHANNEL n1 n2 ..." with the receiver counts
PUBLISH returned, then "BYE".

The sections mode prints "PASS name" or "FAIL name: error" (then the
traceback, each line prefixed "  | ") per section and "DONE" last.
"""

import json
import sys
import threading
import time
import traceback

import redis

PORT = int(sys.argv[1])


def client(**kw):
    return redis.Redis(host="127.0.0.1", port=PORT, socket_timeout=10, **kw)


def show(m):
    def s(v):
        return v.decode("utf-8", "backslashreplace") if isinstance(v, bytes) else v
    return json.dumps({k: s(v) for k, v in m.items()}, sort_keys=True)


def subscriber(kind, names):
    r = client()
    p = r.pubsub()
    if kind == "subscribe":
        p.subscribe(*names)
    else:
        p.psubscribe(*names)
    confirmed = 0
    for m in p.listen():
        print(show(m), flush=True)
        if m["type"] in ("subscribe", "psubscribe"):
            confirmed += 1
            if confirmed == len(names):
                print("READY", flush=True)
        elif m["data"] == b"STOP":
            break
    p.close()
    print("BYE", flush=True)


def publisher(specs):
    r = client()
    plan = []
    for spec in specs:
        channel, count = spec.rsplit(":", 1)
        plan.append((channel, int(count)))
    counts = {c: [] for c, _ in plan}
    for i in range(max(n for _, n in plan)):
        for channel, n in plan:
            if i < n:
                counts[channel].append(r.publish(channel, f"{channel}-{i}"))
    for channel, _ in plan:
        print(channel, *counts[channel], flush=True)
    print("BYE", flush=True)


def wait_message(p, timeout=5.0, **kw):
    """get_message polling, as the docs show, until something arrives."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = p.get_message(timeout=0.1, **kw)
        if m is not None:
            return m
    raise AssertionError("no message within %.1fs" % timeout)


def section_several_channels():
    r = client()
    p = r.pubsub()
    p.subscribe("a", "b", "c")
    confirmations = [wait_message(p) for _ in range(3)]
    assert [(m["type"], m["channel"], m["data"]) for m in confirmations] == [
        ("subscribe", b"a", 1), ("subscribe", b"b", 2), ("subscribe", b"c", 3)], confirmations
    assert r.publish("b", "to b") == 1
    assert r.publish("a", "to a") == 1
    assert r.publish("nobody", "lost") == 0
    assert r.publish("c", b"bin\r\n\x00\xff") == 1
    got = [wait_message(p) for _ in range(3)]
    assert [(m["type"], m["channel"], m["data"]) for m in got] == [
        ("message", b"b", b"to b"), ("message", b"a", b"to a"), ("message", b"c", b"bin\r\n\x00\xff")], got
    assert p.get_message(timeout=0.2) is None
    # A second subscriber on the same channel: PUBLISH counts both.
    p2 = client().pubsub(ignore_subscribe_messages=True)
    p2.subscribe("a")
    p2.get_message(timeout=1)  # reads (and drops) the confirmation
    assert r.publish("a", "both") == 2
    assert wait_message(p)["data"] == b"both"
    assert wait_message(p2)["data"] == b"both"
    # Unsubscribing one channel reports the remaining count.
    p.unsubscribe("a")
    m = wait_message(p)
    assert (m["type"], m["channel"], m["data"]) == ("unsubscribe", b"a", 2), m
    assert r.publish("a", "only p2") == 1
    p.unsubscribe()
    rest = [wait_message(p) for _ in range(2)]
    assert [m["type"] for m in rest] == ["unsubscribe"] * 2, rest
    assert sorted(m["channel"] for m in rest) == [b"b", b"c"], rest
    assert [m["data"] for m in rest] == [1, 0], rest
    p.close()
    p2.close()


def section_psubscribe():
    r = client()
    p = r.pubsub()
    p.psubscribe("news.*")
    m = wait_message(p)
    assert (m["type"], m["pattern"], m["channel"], m["data"]) == ("psubscribe", None, b"news.*", 1), m
    assert r.publish("news.tech", "Go 2.0") == 1
    assert r.publish("news", "no dot") == 0
    assert r.publish("weather", "rain") == 0
    m = wait_message(p)
    assert m == {"type": "pmessage", "pattern": b"news.*", "channel": b"news.tech", "data": b"Go 2.0"}, m
    assert p.get_message(timeout=0.2) is None
    # A channel and a pattern that both match deliver twice.
    p.subscribe("news.tech")
    wait_message(p)
    assert r.publish("news.tech", "twice") == 2
    kinds = sorted(wait_message(p)["type"] for _ in range(2))
    assert kinds == ["message", "pmessage"], kinds
    # Glob features: ?, [..], escapes.
    p.punsubscribe("news.*")
    wait_message(p)
    p.psubscribe("h?llo", "h[ae]y", r"lit\*")
    for _ in range(3):
        wait_message(p)
    assert r.publish("hello", "1") == 1
    assert r.publish("hxllo", "2") == 1
    assert r.publish("hey", "3") == 1
    assert r.publish("hoy", "4") == 0
    assert r.publish("lit*", "5") == 1
    assert r.publish("litx", "6") == 0
    got = [wait_message(p)["data"] for _ in range(4)]
    assert got == [b"1", b"2", b"3", b"5"], got
    assert r.pubsub_numpat() == 3
    p.close()


def section_get_message_timeout():
    r = client()
    p = r.pubsub()
    # Before subscribing there is nothing to wait for.
    assert p.get_message(timeout=0.1) is None
    p.subscribe("quiet")
    m = p.get_message(timeout=1)
    assert m["type"] == "subscribe", m
    start = time.monotonic()
    assert p.get_message(timeout=0.5) is None
    elapsed = time.monotonic() - start
    assert 0.4 <= elapsed < 2, elapsed

    def later():
        time.sleep(0.3)
        r.publish("quiet", "finally")

    t = threading.Thread(target=later)
    t.start()
    m = p.get_message(timeout=5)
    t.join()
    assert m is not None and m["data"] == b"finally", m
    # ignore_subscribe_messages hides the confirmation.
    p2 = r.pubsub(ignore_subscribe_messages=True)
    p2.subscribe("quiet")
    assert p2.get_message(timeout=0.5) is None
    assert r.publish("quiet", "x") == 2
    assert wait_message(p2)["data"] == b"x"
    # PING in subscribed mode answers with a pong message.
    p.ping()
    got = wait_message(p)
    if got["type"] == "message":  # the "x" published above, then the pong
        got = wait_message(p)
    assert got["type"] == "pong" and got["data"] == b"", got
    p.close()
    p2.close()


def section_run_in_thread():
    r = client()
    got, pgot = [], []
    done = threading.Event()

    def handler(m):
        got.append(m["data"])
        if len(got) == 50:
            done.set()

    def phandler(m):
        pgot.append((m["channel"], m["data"]))

    p = r.pubsub()
    p.subscribe(**{"alerts": handler})
    p.psubscribe(**{"alerts.*": phandler})
    thread = p.run_in_thread(sleep_time=0.01)
    try:
        deadline = time.monotonic() + 5
        while r.pubsub_numsub("alerts") != [(b"alerts", 1)] or r.pubsub_numpat() != 1:
            assert time.monotonic() < deadline, "subscriptions not seen by the server"
            time.sleep(0.01)
        for i in range(50):
            assert r.publish("alerts", f"alert {i}") == 1
        assert r.publish("alerts.disk", "full") == 1
        assert done.wait(5), f"handler got {len(got)} of 50 messages"
        deadline = time.monotonic() + 5
        while not pgot and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        thread.stop()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert got == [f"alert {i}".encode() for i in range(50)], got
    assert pgot == [(b"alerts.disk", b"full")], pgot


def section_introspection():
    r = client()
    p1, p2 = r.pubsub(), r.pubsub()
    p1.subscribe("room:1", "room:2")
    p2.subscribe("room:2", "lobby")
    p2.psubscribe("room:*")
    for p, n in ((p1, 2), (p2, 3)):
        for _ in range(n):
            wait_message(p)
    assert sorted(r.pubsub_channels()) == [b"lobby", b"room:1", b"room:2"]
    assert sorted(r.pubsub_channels("room:*")) == [b"room:1", b"room:2"]
    assert r.pubsub_numsub("room:1", "room:2", "nobody") == [(b"room:1", 1), (b"room:2", 2), (b"nobody", 0)]
    assert r.pubsub_numpat() == 1
    assert r.publish("room:2", "hi") == 3  # two subscribers and one pattern
    p1.close()
    p2.close()
    deadline = time.monotonic() + 5
    while r.pubsub_channels() != [] or r.pubsub_numpat() != 0:
        assert time.monotonic() < deadline, "closed subscribers still listed"
        time.sleep(0.02)


def section_decode_responses():
    r = client(decode_responses=True)
    p = r.pubsub()
    p.subscribe("uni")
    m = wait_message(p)
    assert m == {"type": "subscribe", "pattern": None, "channel": "uni", "data": 1}, m
    assert r.publish("uni", "héllo ☃") == 1
    m = wait_message(p)
    assert m == {"type": "message", "pattern": None, "channel": "uni", "data": "héllo ☃"}, m
    p.close()


def script_traceback(e):
    """The traceback's frames in this script only (not redis-py's)."""
    lines = []
    for f in traceback.extract_tb(e.__traceback__):
        if f.filename == __file__:
            lines.append(f"line {f.lineno}, in {f.name}: {f.line}")
    return lines


SECTIONS = {name[len("section_"):]: fn for name, fn in globals().items()
            if name.startswith("section_")}


def sections(names):
    for name in names or list(SECTIONS):
        try:
            SECTIONS[name]()
            print(f"PASS {name}", flush=True)
        except Exception as e:  # report and go on with the next section
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            for line in script_traceback(e):
                print(f"  | {line}", flush=True)
    print("DONE", flush=True)


def main():
    mode, args = sys.argv[2], sys.argv[3:]
    if mode in ("subscribe", "psubscribe"):
        subscriber(mode, args)
    elif mode == "publish":
        publisher(args)
    elif mode == "sections":
        sections(args)
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
