"""Lua scripting through the Python clients users run: redis-py 4.3.4's
register_script and Lock, and kombu 5.2.4's Redis transport, whose restore
of unacknowledged messages takes a redis-py Lock (released by a script sent
with EVALSHA, loaded with SCRIPT LOAD after NOSCRIPT).

Usage: redis_scripting.py PORT [SECTION...]

Prints "PASS name" or "FAIL name: error" (then the traceback, each line
prefixed "  | ") per section and "DONE" last.
"""

import sys
import threading
import time
import traceback

import redis
from redis.exceptions import LockError, LockNotOwnedError, NoScriptError, ResponseError

PORT = int(sys.argv[1])


def client(**kw):
    return redis.Redis(host="127.0.0.1", port=PORT, socket_timeout=10, **kw)


def commandstats(r):
    """Calls per command, from INFO commandstats."""
    out = {}
    for name, v in r.info("commandstats").items():
        out[name[len("cmdstat_"):]] = v["calls"]
    return out


def section_register_script():
    r = client()
    r.flushall()
    r.script_flush()
    incr = r.register_script("""
        local n = redis.call('INCRBY', KEYS[1], ARGV[1])
        redis.call('EXPIRE', KEYS[1], ARGV[2])
        return {n, redis.call('TTL', KEYS[1]), KEYS[1], tonumber(ARGV[1]) * 1.5}
    """)
    assert r.script_exists(incr.sha) == [False]
    # The first call gets NOSCRIPT for EVALSHA, loads, and runs it.
    got = incr(keys=["counter"], args=[2, 60])
    assert got == [2, 60, b"counter", 3], got
    assert r.script_exists(incr.sha) == [True]
    got = incr(keys=["counter"], args=[5, 60])
    assert got == [7, 60, b"counter", 7], got
    # After SCRIPT FLUSH the client finds out and loads it again.
    r.script_flush()
    got = incr(keys=["counter"], args=[1, 60])
    assert got[0] == 8, got
    with r.pipeline() as p:
        incr(keys=["counter"], args=[1, 60], client=p)
        p.get("counter")
        res = p.execute()
    assert res[0][0] == 9 and res[1] == b"9", res
    # Errors come back as ResponseError with Redis's text.
    bad = r.register_script("return redis.call('INCR', KEYS[1])")
    r.set("str", "abc")
    try:
        bad(keys=["str"])
        raise AssertionError("no error")
    except ResponseError as e:
        msg = str(e)
        assert msg.startswith("value is not an integer or out of range script: " + bad.sha) or \
            msg.startswith("ERR value is not an integer or out of range script: "), msg
        assert msg.endswith(", on @user_script:1."), msg
    try:
        r.evalsha("0" * 40, 0)
        raise AssertionError("no error")
    except NoScriptError as e:
        assert str(e) == "No matching script. Please use EVAL.", str(e)
    # Replies convert as Redis converts them: status, error tables, nil
    # ends an array, floats truncate, booleans.
    conv = r.register_script("return {redis.status_reply('FINE'), 3.99, true, false, 'x', nil, 'hidden'}")
    assert conv() == [b"FINE", 3, 1, None, b"x"], conv()
    assert r.eval("return cjson.encode({a={1,2,3}})", 0) == b'{"a":[1,2,3]}'
    assert r.eval("return cmsgpack.unpack(cmsgpack.pack({1,'two'}))[2]", 0) == b"two"
    assert r.eval("return bit.band(0xff, 0x0f)", 0) == 15
    assert r.eval("return struct.unpack('>I2', struct.pack('>I2', 513))", 0) == 513
    assert r.eval("return redis.sha1hex('')", 0) == b"da39a3ee5e6b4b0d3255bfef95601890afd80709"


def section_lock_basics():
    a, b = client(), client()
    a.delete("res")
    la = a.lock("res", timeout=5)
    lb = b.lock("res", timeout=5, blocking_timeout=0.2)
    assert la.acquire(blocking=False)
    assert la.owned() and la.locked()
    assert not lb.acquire(), "second client acquired a held lock"
    assert not lb.owned()
    # extend adds to the TTL (LUA_EXTEND_SCRIPT); replace_ttl sets it.
    assert la.extend(10)
    ttl = a.pttl("res")
    assert 13000 < ttl <= 15000, ttl
    assert la.extend(2, replace_ttl=True)
    ttl = a.pttl("res")
    assert 1000 < ttl <= 2000, ttl
    assert la.reacquire()
    ttl = a.pttl("res")
    assert 4000 < ttl <= 5000, ttl
    # Another owner cannot release or extend.
    try:
        lb.release()
        raise AssertionError("released a lock not acquired")
    except LockError:
        pass
    la.release()
    assert not a.exists("res")
    try:
        la.release()
        raise AssertionError("released twice")
    except LockError:
        pass
    assert lb.acquire()
    lb.release()


def section_lock_timeout():
    a, b = client(), client()
    a.delete("exp")
    la = a.lock("exp", timeout=0.3)
    assert la.acquire()
    time.sleep(0.6)
    # The lock expired: another client takes it, and the first one's
    # release and extend are refused by the scripts.
    lb = b.lock("exp", timeout=5)
    assert lb.acquire(blocking=False)
    # (extend first: a failed release forgets the token.)
    try:
        la.extend(5)
        raise AssertionError("extended an expired lock")
    except LockNotOwnedError:
        pass
    try:
        la.release()
        raise AssertionError("released an expired lock")
    except LockNotOwnedError:
        pass
    assert b.get("exp") == lb.local.token
    lb.release()


def section_lock_contention():
    """Threads on separate connections serialize a read-modify-write
    through the lock, with blocking acquires."""
    setup = client()
    setup.delete("shared", "mutex")
    errors = []
    per, workers = 15, 4

    def worker():
        r = client()
        try:
            for _ in range(per):
                lock = r.lock("mutex", timeout=10, sleep=0.005, blocking_timeout=30)
                if not lock.acquire():
                    errors.append("acquire timed out")
                    return
                try:
                    v = int(r.get("shared") or 0)
                    time.sleep(0.001)
                    r.set("shared", v + 1)
                finally:
                    lock.release()
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert int(setup.get("shared")) == per * workers, setup.get("shared")
    assert not setup.exists("mutex")

    # One client blocks until the holder releases.
    holder = client().lock("mutex", timeout=10)
    assert holder.acquire()
    got = {}

    def waiter():
        start = time.monotonic()
        l = client().lock("mutex", timeout=10, sleep=0.01, blocking_timeout=10)
        got["ok"] = l.acquire()
        got["waited"] = time.monotonic() - start
        if got["ok"]:
            l.release()

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.3)
    assert "ok" not in got, got
    holder.release()
    t.join(15)
    assert got.get("ok") is True and got["waited"] >= 0.25, got


def section_kombu_restore():
    """kombu's Redis transport restores a message not acknowledged within
    the visibility timeout; it does so holding its restore lock
    (kombu.transport.redis.Mutex → redis-py Lock, released by EVALSHA of
    LUA_RELEASE_SCRIPT after SCRIPT LOAD)."""
    import kombu
    from kombu.transport.redis import Mutex, MutexHeld

    r = client()
    r.flushall()
    r.script_flush()
    before = commandstats(r)
    url = "redis://127.0.0.1:%d/0" % PORT
    with kombu.Connection(url, transport_options={"visibility_timeout": 1}) as conn:
        q = conn.SimpleQueue("restore-test")
        q.put({"n": 1})
        m = q.get(timeout=5)
        assert m.payload == {"n": 1}
        # Not acknowledged: the message waits in unacked.
        assert r.hlen("unacked") == 1, r.hlen("unacked")
        time.sleep(1.5)
        qos = q.consumer.channel.qos
        qos.restore_visible(num=10, interval=1)
        assert r.hlen("unacked") == 0, r.hlen("unacked")
        assert not r.exists("unacked_mutex"), "restore lock not released"
        m2 = q.get(timeout=5)
        assert m2.payload == {"n": 1}
        assert m2.delivery_info.get("redelivered") or m2.headers is not None
        m2.ack()
        q.close()
    after = commandstats(r)
    # The lock's release went through the script cache.
    for cmd in ("evalsha",):
        assert after.get(cmd, 0) > before.get(cmd, 0), (cmd, before, after)
    assert after.get("script|load", 0) + after.get("script", 0) > \
        before.get("script|load", 0) + before.get("script", 0), (before, after)

    # The mutex itself, from two clients, as restore_visible uses it.
    a, b = client(), client()
    with Mutex(a, "unacked_mutex", 300):
        assert a.ttl("unacked_mutex") > 290
        try:
            with Mutex(b, "unacked_mutex", 300):
                raise AssertionError("second holder")
        except MutexHeld:
            pass
    assert not a.exists("unacked_mutex")
    with Mutex(b, "unacked_mutex", 300):
        pass
    assert not a.exists("unacked_mutex")


SECTIONS = [
    ("register_script", section_register_script),
    ("lock_basics", section_lock_basics),
    ("lock_timeout", section_lock_timeout),
    ("lock_contention", section_lock_contention),
    ("kombu_restore", section_kombu_restore),
]


def main():
    want = set(sys.argv[2:])
    for name, fn in SECTIONS:
        if want and name not in want:
            continue
        try:
            fn()
            print("PASS", name, flush=True)
        except Exception as e:  # noqa: BLE001 - reported to the Go test
            print("FAIL %s: %r" % (name, e), flush=True)
            for line in traceback.format_exc().splitlines():
                print("  |", line, flush=True)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
