"""pymemcache against a memcached server, the way its tutorials use it.

Usage: memcached_pymemcache.py PORT

Every check is an assert; the script prints "OK" last, and the Go test
requires that line, so a script that stops early cannot pass.
"""

import json
import socket
import sys
import time

from pymemcache.client.base import Client, PooledClient
from pymemcache.client.hash import HashClient
from pymemcache.exceptions import MemcacheClientError
from pymemcache import serde

PORT = int(sys.argv[1])
SERVER = ("127.0.0.1", PORT)


class JSONSerde:
    """The JSON serde from pymemcache's documentation: flag 2 marks JSON."""

    def serialize(self, key, value):
        if isinstance(value, str):
            return value.encode("utf-8"), 1
        return json.dumps(value).encode("utf-8"), 2

    def deserialize(self, key, value, flags):
        if flags == 1:
            return value.decode("utf-8")
        if flags == 2:
            return json.loads(value.decode("utf-8"))
        raise Exception("unknown serialization format")


class FlagsSerde:
    """Hands back (value, flags) so a test can see the flags on the wire."""

    def serialize(self, key, value):
        return value, 0

    def deserialize(self, key, value, flags):
        return value, flags


def raw(request, terminator=b"END\r\n"):
    """Sends request bytes on a fresh socket and reads until terminator."""
    with socket.create_connection(SERVER, timeout=5) as s:
        s.sendall(request)
        out = b""
        while not out.endswith(terminator):
            chunk = s.recv(65536)
            assert chunk, "connection closed after %r" % out
            out += chunk
        return out


def check(name, got, want):
    assert got == want, "%s: got %r, want %r" % (name, got, want)


c = Client(SERVER, connect_timeout=5, timeout=5)

# --- stats ------------------------------------------------------------------
# First, while the server is fresh: memcached reaps flushed items lazily, so
# curr_items after flush_all is not 0 there, but on a fresh server it is.
before = c.stats()
for k in (b"pid", b"uptime", b"curr_items", b"total_items", b"cmd_get", b"cmd_set",
          b"get_hits", b"get_misses", b"limit_maxbytes", b"curr_connections",
          b"bytes", b"evictions", b"version", b"threads"):
    assert k in before, "stats lacks %r: %r" % (k, sorted(before))
check("curr_items on a fresh server", before[b"curr_items"], 0)
check("limit_maxbytes", before[b"limit_maxbytes"], 64 * 1024 * 1024)
c.set("s1", b"a", noreply=False)
c.set("s2", b"b", noreply=False)
c.get("s1")
c.get("s2")
c.get("s-missing")
c.get_many(["s1", "s-missing2"])
after = c.stats()
check("curr_items", after[b"curr_items"], 2)
check("cmd_get delta", after[b"cmd_get"] - before[b"cmd_get"], 5)
check("get_hits delta", after[b"get_hits"] - before[b"get_hits"], 3)
check("get_misses delta", after[b"get_misses"] - before[b"get_misses"], 2)
check("cmd_set delta", after[b"cmd_set"] - before[b"cmd_set"], 2)
assert after[b"bytes"] > 0, after[b"bytes"]
settings = c.stats("settings")
check("settings maxbytes", settings[b"maxbytes"], 64 * 1024 * 1024)
check("settings item_size_max", settings[b"item_size_max"], 1024 * 1024)
check("settings maxconns", settings[b"maxconns"], 1024)
check("settings evictions", settings[b"evictions"], b"on")
items = c.stats("items")
assert items, "stats items is empty with 2 items stored"
numbers = [v for k, v in items.items() if k.startswith(b"items:") and k.endswith(b":number")]
check("stats items number", sum(numbers), 2)
slabs = c.stats("slabs")
for k in (b"active_slabs", b"total_malloced"):
    assert k in slabs, "stats slabs lacks %r: %r" % (k, sorted(slabs))
assert any(k.endswith(b":chunk_size") for k in slabs), sorted(slabs)

# --- bytes in, bytes out -------------------------------------------------
check("set", c.set("some_key", b"some value", noreply=False), True)
check("get", c.get("some_key"), b"some value")
check("get missing", c.get("missing_key"), None)
check("get default", c.get("missing_key", default=b"dflt"), b"dflt")
binary = bytes(range(256)) + b"\r\nEND\r\n"
check("set binary", c.set("bin", binary, noreply=False), True)
check("get binary", c.get("bin"), binary)
check("set empty", c.set("empty", b"", noreply=False), True)
check("get empty", c.get("empty"), b"")
check("set flags", c.set("flagged", b"v", flags=12345, noreply=False), True)
fc = Client(SERVER, serde=FlagsSerde(), connect_timeout=5, timeout=5)
check("flags", fc.get("flagged"), (b"v", 12345))
check("raw flags", raw(b"get flagged\r\n"), b"VALUE flagged 12345 1\r\nv\r\nEND\r\n")

# --- serdes: a dict comes back equal -----------------------------------
doc = {"name": "ferry", "ports": [11211, 6379], "nested": {"ok": True, "pi": 3.5}}
pc = Client(SERVER, serde=serde.pickle_serde, connect_timeout=5, timeout=5)
check("pickle set", pc.set("pickled", doc, noreply=False), True)
check("pickle get", pc.get("pickled"), doc)
check("pickle int", pc.set("pint", 42, noreply=False), True)
check("pickle int get", pc.get("pint"), 42)
check("pickle str", pc.set("pstr", "héllo", noreply=False), True)
check("pickle str get", pc.get("pstr"), "héllo")
jc = Client(SERVER, serde=JSONSerde(), connect_timeout=5, timeout=5)
check("json set", jc.set("jsoned", doc, noreply=False), True)
check("json get", jc.get("jsoned"), doc)
check("json flags", fc.get("jsoned"), (json.dumps(doc).encode(), 2))
check("json str", jc.set("jstr", "plain", noreply=False), True)
check("json str get", jc.get("jstr"), "plain")

# --- multi-key -------------------------------------------------------------
many = {"m1": b"one", "m2": b"two", "m3": b"three"}
check("set_many", c.set_many(many, noreply=False), [])
check("get_many", c.get_many(["m1", "m2", "m3", "m-missing"]), many)
check("get_many empty", c.get_many([]), {})
check("delete_many", c.delete_many(["m1", "m2"], noreply=False), True)
check("get_many after delete", c.get_many(["m1", "m2", "m3"]), {"m3": b"three"})

# --- add / replace / append / prepend -------------------------------------
check("add new", c.add("ar", b"first", noreply=False), True)
check("add existing", c.add("ar", b"second", noreply=False), False)
check("get after add", c.get("ar"), b"first")
check("replace existing", c.replace("ar", b"middle", noreply=False), True)
check("replace missing", c.replace("ar-missing", b"x", noreply=False), False)
check("get replace missing", c.get("ar-missing"), None)
check("append", c.append("ar", b">>", noreply=False), True)
check("prepend", c.prepend("ar", b"<<", noreply=False), True)
check("get after append/prepend", c.get("ar"), b"<<middle>>")
check("append missing", c.append("ap-missing", b"x", noreply=False), False)
check("prepend missing", c.prepend("ap-missing", b"x", noreply=False), False)
check("get ap missing", c.get("ap-missing"), None)
# append keeps the original flags (memcached ignores the new ones)
c.set("apflags", b"a", flags=7, noreply=False)
c.append("apflags", b"b", flags=9, noreply=False)
check("append keeps flags", fc.get("apflags"), (b"ab", 7))

# --- gets / cas -----------------------------------------------------------
c.set("cas_key", b"v1", noreply=False)
value, token = c.gets("cas_key")
check("gets value", value, b"v1")
assert token is not None and int(token) > 0, token
check("cas ok", c.cas("cas_key", b"v2", token), True)
check("get after cas", c.get("cas_key"), b"v2")
check("cas stale token", c.cas("cas_key", b"v3", token), False)
check("get after failing cas", c.get("cas_key"), b"v2")
value2, token2 = c.gets("cas_key")
assert token2 != token, (token, token2)
c.set("cas_key", b"v4", noreply=False)  # any write changes the token
check("cas after set", c.cas("cas_key", b"v5", token2), False)
check("cas missing", c.cas("cas-missing", b"x", b"1"), None)
check("gets missing", c.gets("cas-missing"), (None, None))
gm = c.gets_many(["cas_key", "some_key", "cas-missing"])
check("gets_many keys", sorted(gm), ["cas_key", "some_key"])
check("gets_many value", gm["cas_key"][0], b"v4")

# --- incr / decr ----------------------------------------------------------
c.set("counter", b"10", noreply=False)
check("incr", c.incr("counter", 5), 15)
check("decr", c.decr("counter", 3), 12)
check("decr below zero", c.decr("counter", 100), 0)
# protocol.txt: a decrement that shortens the number MAY leave it
# space-padded (memcached 1.6 does, in place), so compare without padding.
check("get after decr", c.get("counter").rstrip(b" "), b"0")
c.set("big", str(2**64 - 1).encode(), noreply=False)
check("incr wraps", c.incr("big", 1), 0)
c.set("big", str(2**64 - 2).encode(), noreply=False)
check("incr wraps past", c.incr("big", 5), 3)
check("incr missing", c.incr("incr-missing", 1), None)
check("decr missing", c.decr("incr-missing", 1), None)
c.set("word", b"hello", noreply=False)
try:
    c.incr("word", 1)
except MemcacheClientError as e:
    assert "non-numeric" in str(e), e
else:
    raise AssertionError("incr on non-numeric value did not raise")
try:
    c.decr("word", 1)
except MemcacheClientError as e:
    assert "non-numeric" in str(e), e
else:
    raise AssertionError("decr on non-numeric value did not raise")
check("non-numeric unchanged", c.get("word"), b"hello")
c.set("shrink", b"100", noreply=False)
check("decr shrink", c.decr("shrink", 99), 1)
check("get shrink", c.get("shrink").rstrip(b" "), b"1")

# --- delete / touch -------------------------------------------------------
c.set("del", b"x", noreply=False)
check("delete", c.delete("del", noreply=False), True)
check("delete missing", c.delete("del", noreply=False), False)
check("get deleted", c.get("del"), None)
c.set("touchy", b"t", expire=1, noreply=False)
check("touch", c.touch("touchy", 100, noreply=False), True)
check("touch missing", c.touch("touch-missing", 100, noreply=False), False)

# --- noreply variants: fire and forget, then read back --------------------
check("set noreply", c.set("nr", b"1", noreply=True), True)
c.add("nr-add", b"a", noreply=True)
c.replace("nr", b"2", noreply=True)
c.append("nr", b"3", noreply=True)
c.prepend("nr", b"0", noreply=True)
c.incr("nr-add-n", 1, noreply=True)  # missing key: nothing to read back
c.set("nr-n", b"50", noreply=True)
c.incr("nr-n", 5, noreply=True)
c.decr("nr-n", 3, noreply=True)
c.set("nr-del", b"x", noreply=True)
c.delete("nr-del", noreply=True)
c.touch("nr", 300, noreply=True)
c.set_many({"nr-m1": b"a", "nr-m2": b"b"}, noreply=True)
# A read on the same connection comes after every noreply write and would
# be mis-framed if any of them had produced a reply.
check("after noreply", c.get_many(["nr", "nr-add", "nr-n", "nr-del", "nr-m1", "nr-m2"]),
      {"nr": b"023", "nr-add": b"a", "nr-n": b"52", "nr-m1": b"a", "nr-m2": b"b"})
check("raw noreply", raw(b"set raw 0 0 1 noreply\r\nr\r\n"
                         b"add raw 0 0 1 noreply\r\nx\r\n"
                         b"incr raw 1 noreply\r\n"
                         b"delete raw-missing noreply\r\n"
                         b"touch raw 100 noreply\r\n"
                         b"get raw\r\n"),
      b"VALUE raw 0 1\r\nr\r\nEND\r\n")

# --- version ----------------------------------------------------------------
v = c.version()
assert isinstance(v, bytes) and v[:1].isdigit() and v.count(b".") >= 2, v

# --- flush_all ------------------------------------------------------------
check("flush_all", c.flush_all(noreply=False), True)
check("get after flush", c.get_many(["s1", "s2"]), {})
c.set("f", b"x", noreply=False)
check("flush_all noreply", c.flush_all(noreply=True), True)
check("get after flush noreply", c.get("f"), None)

# --- expiry -----------------------------------------------------------------
c.set("short", b"lived", expire=1, noreply=False)
c.set("long", b"lived", expire=100, noreply=False)
check("short before", c.get("short"), b"lived")
deadline = time.time() + 5
while c.get("short") is not None:
    assert time.time() < deadline, "key with expire=1 still there after 5 s"
    time.sleep(0.1)
check("long after", c.get("long"), b"lived")
# touch can also shorten a lifetime
c.set("touched", b"x", expire=100, noreply=False)
c.touch("touched", 1, noreply=False)
deadline = time.time() + 5
while c.get("touched") is not None:
    assert time.time() < deadline, "touched key still there after 5 s"
    time.sleep(0.1)

# --- PooledClient and HashClient -------------------------------------------
pool = PooledClient(SERVER, max_pool_size=4, connect_timeout=5, timeout=5)
check("pooled set", pool.set("pooled", b"p", noreply=False), True)
check("pooled get", pool.get("pooled"), b"p")
check("pooled via plain client", c.get("pooled"), b"p")
hc = HashClient([SERVER], connect_timeout=5, timeout=5)
check("hash set", hc.set("hashed", b"h", noreply=False), True)
check("hash get", hc.get("hashed"), b"h")
check("hash get_many", hc.get_many(["hashed", "pooled"]), {"hashed": b"h", "pooled": b"p"})
check("hash delete", hc.delete("hashed", noreply=False), True)
check("hash after delete", hc.get("hashed"), None)

c.close()
fc.close()
pc.close()
jc.close()
print("OK")
