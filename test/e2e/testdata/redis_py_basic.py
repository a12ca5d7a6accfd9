"""redis-py 4.3.4 against a Redis server, the way its tutorials use it.

Usage: redis_py_basic.py PORT [SECTION ...]

Runs the named sections (all of them when none is named), each on a flushed
server. For every section it prints one line, "PASS name" or "FAIL name:
error" followed by the traceback with each line prefixed "  | ", and it
prints "DONE" last. The Go test (redis_test.go) reports each section as a
subtest and requires DONE, so a script that stops early cannot pass.
Sections are independent, so a command family that is missing fails only
its own section.
"""

import sys
import threading
import time
import traceback

import redis

PORT = int(sys.argv[1])


def client(**kw):
    return redis.Redis(host="127.0.0.1", port=PORT, socket_timeout=10, **kw)


def expect_error(fn, *want):
    """Calls fn, requires a redis.ResponseError containing every want."""
    try:
        got = fn()
    except redis.ResponseError as e:
        for w in want:
            assert w in str(e), f"error {str(e)!r} lacks {w!r}"
        return e
    raise AssertionError(f"no error, got {got!r}, want one with {want!r}")


def section_strings():
    # The two spellings from the README and the older tutorials.
    r = client()
    sr = redis.StrictRedis(host="localhost", port=PORT, db=0)
    assert r.ping() is True
    assert r.set("foo", "bar") is True
    assert r.get("foo") == b"bar"
    assert sr.get("foo") == b"bar"
    assert r.get("missing") is None
    d = client(decode_responses=True)
    assert d.get("foo") == "bar"
    assert d.set("unicode", "héllo wörld ☃") is True
    assert d.get("unicode") == "héllo wörld ☃"
    assert r.get("unicode") == "héllo wörld ☃".encode()
    binary = bytes(range(256)) * 4
    assert r.set("bin", binary)
    assert r.get("bin") == binary
    assert r.strlen("bin") == 1024
    # Options of SET that the docs show.
    assert r.set("nx", "1", nx=True) is True
    assert r.set("nx", "2", nx=True) is None
    assert r.get("nx") == b"1"
    assert r.set("xx", "1", xx=True) is None
    assert r.exists("xx") == 0
    assert r.set("nx", "3", xx=True) is True
    assert r.set("nx", "4", get=True) == b"3"
    assert r.getset("nx", "5") == b"4"
    assert r.setnx("nx", "6") is False
    assert r.append("foo", "baz") == 6
    assert r.get("foo") == b"barbaz"
    assert r.getrange("foo", 1, 3) == b"arb"
    assert r.delete("foo", "nx", "nothing") == 2
    assert r.exists("foo", "bin", "unicode") == 2
    assert r.type("bin") == b"string"
    assert r.type("nothing") == b"none"
    # Values survive a rename and other databases are separate.
    assert r.rename("bin", "bin2") is True
    assert r.get("bin2") == binary
    r1 = client(db=1)
    assert r1.get("bin2") is None
    r1.set("only-in-1", "x")
    assert r.get("only-in-1") is None
    assert r1.dbsize() == 1
    r1.flushdb()
    assert r.echo("hello") == b"hello"
    assert sorted(r.keys("*")) == [b"bin2", b"unicode"]
    assert r.randomkey() in (b"bin2", b"unicode")


def section_pipeline():
    r = client()
    # transaction=True (the default) wraps the batch in MULTI/EXEC.
    with r.pipeline() as pipe:
        pipe.set("p:a", "1").incr("p:a").incrby("p:a", 10).get("p:a")
        assert pipe.execute() == [True, 2, 12, b"12"]
    # transaction=False sends the same commands without MULTI/EXEC.
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"p:{i}", i)
    assert pipe.execute() == [True] * 1000
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.get(f"p:{i}")
    assert pipe.execute() == [str(i).encode() for i in range(1000)]
    # A command that fails at run time inside MULTI: the others still run,
    # and execute(raise_on_error=False) hands back the error in its place.
    for transaction in (True, False):
        r.set("p:s", "text")
        pipe = r.pipeline(transaction=transaction)
        pipe.set("p:t", "1").incr("p:s").incr("p:t")
        res = pipe.execute(raise_on_error=False)
        assert res[0] is True and res[2] == 2, res
        assert isinstance(res[1], redis.ResponseError), res
        assert "not an integer" in str(res[1]), res
        pipe = r.pipeline(transaction=transaction)
        pipe.incr("p:s")
        try:
            pipe.execute()
            raise AssertionError("execute did not raise")
        except redis.ResponseError as e:
            assert "not an integer" in str(e), e
    # A command rejected while queued (wrong arity) aborts the whole
    # transaction with EXECABORT.
    pipe = r.pipeline()
    pipe.set("p:never", "1")
    pipe.execute_command("SET", "p:only-key")
    try:
        pipe.execute()
        raise AssertionError("execute did not raise")
    except redis.ResponseError as e:
        assert "wrong number of arguments" in str(e) or "EXECABORT" in str(e), e
    assert r.exists("p:never") == 0


def section_transaction():
    r = client()
    other = client()
    r.set("counter", 10)

    # The tutorial's check-and-set: WATCH, read, MULTI, write, EXEC.
    def incr_twice(pipe):
        value = int(pipe.get("counter"))
        pipe.multi()
        pipe.set("counter", value * 2)
        pipe.get("counter")

    assert r.transaction(incr_twice, "counter") == [True, b"20"]

    # A write from another connection between WATCH and EXEC makes EXEC fail;
    # r.transaction retries until it goes through.
    calls = []

    def racing(pipe):
        calls.append(1)
        value = int(pipe.get("counter"))
        if len(calls) == 1:
            other.set("counter", 100)
        pipe.multi()
        pipe.set("counter", value + 1)

    assert r.transaction(racing, "counter") == [True]
    assert len(calls) == 2, calls
    assert r.get("counter") == b"101"

    # The same by hand: the failing WATCH raises WatchError and changes nothing.
    with r.pipeline() as pipe:
        pipe.watch("counter", "other-key")
        assert pipe.get("counter") == b"101"  # immediate mode after WATCH
        other.incr("counter")
        pipe.multi()
        pipe.set("counter", 0)
        try:
            pipe.execute()
            raise AssertionError("EXEC succeeded after the watched key changed")
        except redis.WatchError:
            pass
    assert r.get("counter") == b"102"

    # Expiring or deleting a watched key also aborts; touching an unwatched
    # key does not.
    with r.pipeline() as pipe:
        pipe.watch("counter")
        other.set("unrelated", 1)
        pipe.multi()
        pipe.incr("counter")
        assert pipe.execute() == [103]
    with r.pipeline() as pipe:
        pipe.watch("counter")
        other.delete("counter")
        pipe.multi()
        pipe.set("counter", 1)
        try:
            pipe.execute()
            raise AssertionError("EXEC succeeded after the watched key was deleted")
        except redis.WatchError:
            pass
    assert r.exists("counter") == 0
    # UNWATCH (pipe.reset) clears the watch.
    with r.pipeline() as pipe:
        pipe.watch("counter")
        pipe.unwatch()
        other.set("counter", 5)
        pipe.multi()
        pipe.incr("counter")
        assert pipe.execute() == [6]


def section_scan():
    r = client()
    n = 3000
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"user:{i}", i)
        if i % 3 == 0:
            pipe.set(f"session:{i}", i)
    pipe.execute()
    users = {f"user:{i}".encode() for i in range(n)}
    assert r.dbsize() == n + n // 3
    got = list(r.scan_iter(match="user:*", count=100))
    assert set(got) == users, len(set(got))
    assert len(got) >= n
    assert set(r.scan_iter(match="session:*")) == {f"session:{i}".encode() for i in range(0, n, 3)}
    assert len(set(r.scan_iter(count=1000))) == n + n // 3
    assert list(r.scan_iter(match="nomatch:*")) == []
    assert set(r.scan_iter(match="user:1?")) == {f"user:{i}".encode() for i in range(10, 20)}
    # By hand: COUNT 100 pages through the keys; the cursor ends at 0.
    cursor, pages, seen = 0, 0, set()
    while True:
        cursor, keys = r.scan(cursor=cursor, match="user:*", count=100)
        pages += 1
        seen.update(keys)
        if cursor == 0:
            break
        assert pages < 10 * n, "SCAN does not terminate"
    assert seen == users
    assert pages > 1, "SCAN COUNT 100 returned 3000 keys in one page"
    # TYPE filter.
    assert set(r.scan_iter(match="user:*", _type="string")) == users


def section_expire():
    r = client()
    assert r.set("ttl", "v", ex=100)
    assert 99 <= r.ttl("ttl") <= 100
    assert 99000 <= r.pttl("ttl") <= 100000
    assert r.persist("ttl") is True
    assert r.ttl("ttl") == -1
    assert r.ttl("missing") == -2
    assert r.pttl("missing") == -2
    assert r.expire("ttl", 50) is True
    assert 49 <= r.ttl("ttl") <= 50
    assert r.expire("missing", 50) is False
    assert r.expireat("ttl", int(time.time()) + 1000) is True
    assert 998 <= r.ttl("ttl") <= 1000
    assert r.setex("short", 1, "v") is True
    assert r.psetex("shorter", 300, "v") is True
    assert r.set("px", "v", px=300) is True
    assert r.get("px") == b"v"
    time.sleep(0.5)
    assert r.get("px") is None
    assert r.exists("shorter", "px") == 0
    assert r.exists("short") == 1
    time.sleep(0.8)
    assert r.get("short") is None
    # A plain SET clears the TTL; KEEPTTL keeps it.
    r.set("k", "1", ex=100)
    r.set("k", "2")
    assert r.ttl("k") == -1
    r.set("k", "1", ex=100)
    r.set("k", "2", keepttl=True)
    assert 99 <= r.ttl("k") <= 100
    assert r.getex("k", persist=True) == b"2"
    assert r.ttl("k") == -1
    # A non-positive EXPIRE deletes the key.
    assert r.expire("k", -1) is True
    assert r.exists("k") == 0


def section_counters():
    r = client()
    assert r.incr("hits") == 1
    assert r.incr("hits") == 2
    assert r.incrby("hits", 10) == 12
    assert r.decr("hits") == 11
    assert r.decrby("hits", 5) == 6
    assert r.get("hits") == b"6"
    assert r.incrbyfloat("price", 10.5) == 10.5
    assert r.incrbyfloat("price", 0.1) == 10.6
    assert r.get("price") == b"10.6"
    assert r.incrbyfloat("price", -5) == 5.6
    r.set("n", "5.0e3")
    assert r.incrbyfloat("n", 200) == 5200
    assert r.get("n") == b"5200"
    r.set("text", "abc")
    expect_error(lambda: r.incr("text"), "value is not an integer or out of range")
    expect_error(lambda: r.incrbyfloat("text", 1), "value is not a valid float")
    r.set("big", str(2**63 - 1))
    expect_error(lambda: r.incr("big"), "increment or decrement would overflow")


def section_mset():
    r = client()
    assert r.mset({"k1": "v1", "k2": "v2", "k3": b"\x00\xff"}) is True
    assert r.mget("k1", "k2", "k3", "k4") == [b"v1", b"v2", b"\x00\xff", None]
    assert r.mget(["k1", "k2"]) == [b"v1", b"v2"]
    assert r.msetnx({"k4": "v4", "k1": "x"}) is False
    assert r.get("k4") is None
    assert r.msetnx({"k4": "v4", "k5": "v5"}) is True
    assert r.mget("k4", "k5") == [b"v4", b"v5"]
    d = client(decode_responses=True)
    assert d.mget("k1", "nope") == ["v1", None]


def section_hashes():
    r = client()
    d = client(decode_responses=True)
    assert r.hset("user:1", mapping={"name": "Ada", "lang": "en", "visits": 1}) == 3
    assert r.hset("user:1", "lang", "fr") == 0
    assert r.hget("user:1", "name") == b"Ada"
    assert r.hget("user:1", "none") is None
    assert d.hgetall("user:1") == {"name": "Ada", "lang": "fr", "visits": "1"}
    assert r.hgetall("missing") == {}
    assert r.hincrby("user:1", "visits", 5) == 6
    assert r.hincrbyfloat("user:1", "score", 1.5) == 1.5
    assert r.hmget("user:1", ["name", "none", "visits"]) == [b"Ada", None, b"6"]
    assert r.hlen("user:1") == 4
    assert r.hexists("user:1", "name") is True
    assert sorted(r.hkeys("user:1")) == [b"lang", b"name", b"score", b"visits"]
    assert sorted(d.hvals("user:1")) == ["1.5", "6", "Ada", "fr"]
    assert r.hsetnx("user:1", "name", "Bob") == 0
    assert r.hdel("user:1", "name", "none") == 1
    assert r.type("user:1") == b"hash"
    # Big hash, walked with HSCAN.
    r.hset("big", mapping={f"f{i}": i for i in range(1000)})
    assert dict(d.hscan_iter("big")) == {f"f{i}": str(i) for i in range(1000)}
    r.set("str", "x")
    expect_error(lambda: r.hget("str", "f"), "WRONGTYPE")


def section_lists():
    r = client()
    assert r.lpush("queue", "a", "b") == 2
    assert r.rpush("queue", "c", "d") == 4
    assert r.lrange("queue", 0, -1) == [b"b", b"a", b"c", b"d"]
    assert r.lrange("queue", 1, 2) == [b"a", b"c"]
    assert r.llen("queue") == 4
    assert r.lindex("queue", -1) == b"d"
    assert r.lpop("queue") == b"b"
    assert r.rpop("queue") == b"d"
    assert r.lpop("queue", 5) == [b"a", b"c"]
    assert r.exists("queue") == 0
    assert r.lpop("queue") is None
    # BLPOP on an empty list times out after about its timeout.
    start = time.monotonic()
    assert r.blpop("empty", timeout=1) is None
    elapsed = time.monotonic() - start
    assert 0.9 <= elapsed < 3, elapsed
    # BLPOP on a list with data returns at once, from the first non-empty key.
    r.rpush("jobs2", "j")
    assert r.blpop(["jobs1", "jobs2"], timeout=1) == (b"jobs2", b"j")
    # BLPOP waiting while another client pushes.
    pusher = client()

    def push_later():
        time.sleep(0.3)
        pusher.rpush("jobs", "job-1")

    t = threading.Thread(target=push_later)
    t.start()
    start = time.monotonic()
    assert r.blpop("jobs", timeout=5) == (b"jobs", b"job-1")
    assert time.monotonic() - start < 3
    t.join()
    assert r.brpop("jobs", timeout=1) is None
    r.rpush("l", *range(10))
    assert r.ltrim("l", 2, 4) is True
    assert r.lrange("l", 0, -1) == [b"2", b"3", b"4"]
    assert r.lrem("l", 0, "3") == 1
    assert r.lset("l", 0, "x") is True
    assert r.lrange("l", 0, -1) == [b"x", b"4"]
    assert r.rpoplpush("l", "l2") == b"4"
    assert r.lmove("l", "l2", "LEFT", "RIGHT") == b"x"
    assert r.lrange("l2", 0, -1) == [b"4", b"x"]
    assert r.type("l2") == b"list"


def section_sets():
    r = client()
    assert r.sadd("s1", "a", "b", "c") == 3
    assert r.sadd("s1", "a") == 0
    assert r.sadd("s2", "b", "c", "d") == 3
    assert r.smembers("s1") == {b"a", b"b", b"c"}
    assert r.smembers("missing") == set()
    assert r.sinter("s1", "s2") == {b"b", b"c"}
    assert r.sunion("s1", "s2") == {b"a", b"b", b"c", b"d"}
    assert r.sdiff("s1", "s2") == {b"a"}
    assert r.sinterstore("s3", ["s1", "s2"]) == 2
    assert r.smembers("s3") == {b"b", b"c"}
    assert r.sismember("s1", "a") is True
    assert r.sismember("s1", "z") is False
    assert r.scard("s1") == 3
    assert r.srem("s1", "a", "z") == 1
    assert r.spop("s3") in (b"b", b"c")
    assert r.type("s2") == b"set"
    r.sadd("ints", *range(600))
    assert r.scard("ints") == 600
    assert set(r.sscan_iter("ints")) == {str(i).encode() for i in range(600)}


def section_zsets():
    r = client()
    d = client(decode_responses=True)
    assert r.zadd("board", {"alice": 10, "bob": 20, "carol": 15}) == 3
    assert r.zadd("board", {"alice": 12}) == 0
    assert r.zrange("board", 0, -1) == [b"alice", b"carol", b"bob"]
    assert d.zrange("board", 0, -1, withscores=True) == [("alice", 12.0), ("carol", 15.0), ("bob", 20.0)]
    assert r.zrevrange("board", 0, 0, withscores=True) == [(b"bob", 20.0)]
    assert r.zrangebyscore("board", 11, 16) == [b"alice", b"carol"]
    assert r.zrangebyscore("board", "(12", "+inf", withscores=True) == [(b"carol", 15.0), (b"bob", 20.0)]
    assert r.zrangebyscore("board", "-inf", "+inf", start=1, num=1) == [b"carol"]
    assert r.zincrby("board", 10, "alice") == 22.0
    assert r.zincrby("board", 0.5, "dave") == 0.5
    assert r.zscore("board", "alice") == 22.0
    assert r.zscore("board", "nobody") is None
    assert r.zrank("board", "alice") == 3
    assert r.zrevrank("board", "alice") == 0
    assert r.zcard("board") == 4
    assert r.zcount("board", 10, 20) == 2
    assert r.zrem("board", "dave") == 1
    assert r.zadd("board", {"bob": 1}, nx=True) == 0
    assert r.zadd("board", {"erin": 1}, xx=True) == 0
    assert r.zadd("board", {"bob": 25}, ch=True) == 1
    assert r.type("board") == b"zset"


def section_info():
    r = client()
    r.set("a", 1)
    r.set("b", 2, ex=1000)
    info = r.info()
    for key in ("redis_version", "redis_mode", "os", "arch_bits", "process_id",
                "tcp_port", "uptime_in_seconds", "connected_clients", "used_memory",
                "used_memory_human", "maxmemory", "maxmemory_policy", "loading",
                "rdb_changes_since_last_save", "aof_enabled", "total_connections_received",
                "total_commands_processed", "keyspace_hits", "keyspace_misses",
                "expired_keys", "evicted_keys", "role", "connected_slaves",
                "used_cpu_sys", "used_cpu_user"):
        assert key in info, f"INFO lacks {key}"
    assert isinstance(info["redis_version"], str), info["redis_version"]
    assert info["redis_version"].count(".") == 2
    assert info["role"] == "master"
    assert info["redis_mode"] == "standalone"
    assert isinstance(info["connected_clients"], int) and info["connected_clients"] >= 1
    assert isinstance(info["used_memory"], int) and info["used_memory"] > 0
    assert info["db0"]["keys"] == 2 and info["db0"]["expires"] == 1, info["db0"]
    assert 0 <= info["db0"]["avg_ttl"] <= 1000000, info["db0"]  # 0 until Redis samples it
    assert info["aof_enabled"] == 0
    # One section at a time, and "all"/"everything".
    server = r.info("server")
    assert "redis_version" in server and "used_memory" not in server
    assert "used_memory" in r.info("memory")
    keyspace = r.info("keyspace")
    assert list(keyspace) == ["db0"], keyspace
    assert (keyspace["db0"]["keys"], keyspace["db0"]["expires"]) == (2, 1), keyspace
    assert "redis_version" in r.info("all")
    assert "cmdstat_set" in r.info("commandstats")
    # The raw text: sections in Redis's order, CRLF line ends.
    raw = client(decode_responses=True)
    raw.set_response_callback("INFO", lambda resp, **kw: resp)
    text = raw.info()
    headers = [l for l in text.split("\r\n") if l.startswith("#")]
    want = ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats",
            "# Replication", "# CPU", "# Modules", "# Errorstats", "# Cluster", "# Keyspace"]
    assert headers == want, headers
    assert "\n" not in text.replace("\r\n", "")


def section_config():
    r = client(decode_responses=True)
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    assert r.config_set("maxmemory", "100mb") is True
    assert r.config_get("maxmemory") == {"maxmemory": "104857600"}
    assert r.config_set("maxmemory-policy", "allkeys-lru") is True
    got = r.config_get("maxmemory*")
    assert got["maxmemory-policy"] == "allkeys-lru", got
    assert "maxmemory-samples" in got, got
    assert r.config_set("maxmemory", 0) is True
    assert r.config_set("maxmemory-policy", "noeviction") is True
    assert "databases" in r.config_get()
    assert r.config_get("databases") == {"databases": "16"}
    expect_error(lambda: r.config_set("no-such-option", "1"), "Unknown option or number of arguments for CONFIG SET")
    expect_error(lambda: r.config_set("maxmemory", "lots"),
                 "CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value")
    assert r.config_get("no-such-option") == {}
    assert r.config_resetstat() is True


def section_client():
    r = client(decode_responses=True)
    other = client(decode_responses=True)
    other.ping()
    assert r.client_getname() is None
    assert r.client_setname("worker-1") is True
    assert r.client_getname() == "worker-1"
    my_id = r.client_id()
    assert isinstance(my_id, int)
    clients = r.client_list()
    assert len(clients) >= 2, clients
    me = [c for c in clients if c["name"] == "worker-1"]
    assert len(me) == 1, clients
    assert me[0]["id"] == str(my_id), me
    for field in ("addr", "laddr", "fd", "age", "idle", "flags", "db", "cmd"):
        assert field in me[0], (field, me[0])
    assert me[0]["cmd"] == "client|list", me[0]
    assert r.client_list(_type="normal")
    assert [c["id"] for c in r.client_list(client_id=[str(my_id)])] == [str(my_id)]
    info = r.client_info()
    assert info["name"] == "worker-1" and info["id"] == my_id, info
    expect_error(lambda: r.client_setname("has space"), "Client names cannot contain spaces")
    # Killing the other connection by id; redis-py reconnects on next use.
    assert r.client_kill_filter(_id=other.client_id()) == 1
    assert other.ping() is True


def section_command():
    r = client()
    cmds = r.command()
    assert len(cmds) == r.command_count()
    for name in ("get", "set", "ping", "info", "config", "client", "publish", "multi"):
        assert name in cmds, name
    get = cmds["get"]
    assert get["arity"] == 2, get
    assert get["first_key_pos"] == 1 and get["last_key_pos"] == 1 and get["step_count"] == 1, get
    assert b"readonly" in [f.encode() if isinstance(f, str) else f for f in get["flags"]], get
    assert cmds["set"]["arity"] == -3
    assert r.command_getkeys("MSET", "a", "1", "b", "2") == ["a", "b"]
    # COMMAND INFO as Redis 7.0 sends it: flags, ACL categories, tips, key specs.
    assert r.execute_command("COMMAND INFO", "get") == [[
        b"get", 2, [b"readonly", b"fast"], 1, 1, 1, [b"@read", b"@string", b"@fast"], [],
        [[b"flags", [b"RO", b"access"],
          b"begin_search", [b"type", b"index", b"spec", [b"index", 1]],
          b"find_keys", [b"type", b"range", b"spec", [b"lastkey", 0, b"keystep", 1, b"limit", 0]]]],
        []]]
    assert b"get" in r.command_list()
    try:
        r.command_info()
        raise AssertionError("command_info should be NotImplementedError in redis-py 4.3.4")
    except NotImplementedError:
        pass


def script_traceback(e):
    """The traceback's frames in this script only (not redis-py's)."""
    lines = []
    for f in traceback.extract_tb(e.__traceback__):
        if f.filename == __file__:
            lines.append(f"line {f.lineno}, in {f.name}: {f.line}")
    return lines


SECTIONS = {name[len("section_"):]: fn for name, fn in globals().items()
            if name.startswith("section_")}


def main():
    names = sys.argv[2:] or list(SECTIONS)
    admin = client()
    for name in names:
        try:
            admin.flushall()
            SECTIONS[name]()
            print(f"PASS {name}", flush=True)
        except Exception as e:  # report and go on with the next section
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            for line in script_traceback(e):
                print(f"  | {line}", flush=True)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
