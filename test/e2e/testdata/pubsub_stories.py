"""The issue's redis-py Pub/Sub stories, each a process of its own.

Usage:
  pubsub_stories.py PORT publisher CHANNEL   while True: r.publish(...)
  pubsub_stories.py PORT listener CHANNEL N  p.subscribe(...); for m in p.listen()
  pubsub_stories.py PORT notifications DB    keyspace events as a subscriber sees them

publisher: a radio station. StrictRedis().publish(CHANNEL, "message <i>")
in a `while True` loop, i = 0, 1, 2, ..., printing "<i> <receivers>" per
publish, every few milliseconds; it stops once the key "stop:<CHANNEL>"
exists and prints "BYE".

listener: Redis().pubsub(); p.subscribe(CHANNEL); prints each message
listen() yields as "<type> <channel> <data>" and stops after N "message"
entries, printing "WAITING"; then it keeps listening in place until the
message "late news" (which the test publishes after a pause), prints it,
then "BYE".

notifications: psubscribe("__key*__:*"), prints "READY" once confirmed, then
"<channel> <data>" for each event until an event for key "end" arrives.
"""

import sys
import time

import redis

PORT = int(sys.argv[1])


def publisher(channel):
    r = redis.StrictRedis(host="127.0.0.1", port=PORT, socket_timeout=10)
    i = 0
    while True:
        n = r.publish(channel, f"message {i}")
        print(i, n, flush=True)
        i += 1
        if i % 10 == 0 and r.exists(f"stop:{channel}"):
            break
        time.sleep(0.002)
    print("BYE", flush=True)


def show(m):
    d = m["data"]
    if isinstance(d, bytes):
        d = d.decode()
    return f'{m["type"]} {m["channel"].decode()} {d}'


def listener(channel, n):
    r = redis.Redis(host="127.0.0.1", port=PORT)
    p = r.pubsub()
    p.subscribe(channel)
    got = 0
    for m in p.listen():
        print(show(m), flush=True)
        if m["type"] == "message":
            got += 1
            if got == n:
                break
    print("WAITING", flush=True)
    # Waiting in place: listen() blocks until the message the test
    # publishes after a pause (the station may still be broadcasting).
    for m in p.listen():
        if m["data"] == b"late news":
            print(show(m), flush=True)
            break
    p.close()
    print("BYE", flush=True)


def notifications(db):
    r = redis.Redis(host="127.0.0.1", port=PORT, db=int(db), socket_timeout=20)
    p = r.pubsub()
    p.psubscribe("__key*__:*")
    for m in p.listen():
        if m["type"] == "psubscribe":
            print("READY", flush=True)
            continue
        print(m["channel"].decode(), m["data"].decode(), flush=True)
        if m["channel"].endswith(b":end") or m["data"] == b"end":
            if m["channel"].startswith(b"__keyevent"):
                break
    print("BYE", flush=True)


def main():
    mode, args = sys.argv[2], sys.argv[3:]
    if mode == "publisher":
        publisher(args[0])
    elif mode == "listener":
        listener(args[0], int(args[1]))
    elif mode == "notifications":
        notifications(args[0])
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
