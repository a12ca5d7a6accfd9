"""Celery throughput on Ferry beside redis-server and rabbitmq-server.

Runs N small tasks (tasks.add) through one `celery worker -c 4` (four
prefork pool processes) on each transport configuration, against Ferry and
against the server a Celery user would otherwise run, and prints tasks per
second and the ratio Ferry / original. Not a test: figures go to
docs/benchmarks.md ("## Celery").

Usage (from the repository root; Debian's python3 has Celery):

  go build -o /tmp/ferry ./cmd/ferry
  /usr/bin/python3 test/e2e/testdata/celery/bench.py --ferry /tmp/ferry [--tasks 1000] [--rounds 3]

Configurations:
  redis        broker redis://, results redis://   Ferry vs redis-server
  amqp-rpc     broker amqp://,  results rpc://     Ferry vs rabbitmq-server
  amqp-redis   broker amqp://,  results redis://   Ferry alone vs rabbitmq-server + redis-server

Every server this script starts (Ferry; redis-server; a private RabbitMQ
node on free ports with its own Erlang port mapper, data and logs in a
temporary directory) is stopped by PID when it ends. Persistence is the
same on both sides of a comparison: Redis append-only file with
appendfsync everysec and no snapshots; AMQP durable queues and persistent
messages (Celery's defaults).

A run is timed from the first submit to the last result, with the worker
already warm; every result is checked. Rounds alternate Ferry and the
original; the medians are reported.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("%s exited with %s" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("%s did not listen on %d" % (what, port))


def stop(proc, timeout=30):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Ferry:
    name = "ferry"

    def __init__(self, binary, tmp):
        self.redis_port, self.amqp_port = free_port(), free_port()
        d = os.path.join(tmp, "ferry")
        os.makedirs(d)
        self.log = open(os.path.join(tmp, "ferry.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "--memcached", "no", "--admin-addr", "no", "--redis-addr", "127.0.0.1:%d" % self.redis_port,
             "--amqp-addr", "127.0.0.1:%d" % self.amqp_port, "--dir", d, "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec", "--loglevel", "warn"],
            stdout=self.log, stderr=self.log)
        wait_port(self.redis_port, self.proc, "ferry")
        wait_port(self.amqp_port, self.proc, "ferry")
        self.pids = [self.proc.pid]

    def stop(self):
        stop(self.proc)


class RedisServer:
    name = "redis-server"

    def __init__(self, tmp):
        self.port = free_port()
        d = os.path.join(tmp, "redis")
        os.makedirs(d)
        self.log = open(os.path.join(tmp, "redis.log"), "w")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", d,
             "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"],
            stdout=self.log, stderr=self.log)
        wait_port(self.port, self.proc, "redis-server")
        self.pids = [self.proc.pid]

    def stop(self):
        stop(self.proc)


class RabbitMQ:
    """A private node: rabbitmq-server's own script (not the Debian wrapper,
    which switches to the rabbitmq user), every port and directory ours."""
    name = "rabbitmq-server"

    def __init__(self, tmp):
        self.port, self.dist, self.epmd = free_port(), free_port(), free_port()
        d = os.path.join(tmp, "rabbitmq")
        os.makedirs(d)
        with open(os.path.join(d, "enabled_plugins"), "w") as f:
            f.write("[].\n")
        env = dict(os.environ,
                   HOME=d,  # the Erlang cookie
                   RABBITMQ_NODENAME="celerybench@localhost",
                   RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
                   RABBITMQ_NODE_PORT=str(self.port),
                   RABBITMQ_DIST_PORT=str(self.dist),
                   RABBITMQ_MNESIA_BASE=os.path.join(d, "mnesia"),
                   RABBITMQ_LOG_BASE=os.path.join(d, "log"),
                   RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(d, "enabled_plugins"),
                   RABBITMQ_CONFIG_FILE=os.path.join(d, "rabbitmq"),
                   RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
                   ERL_EPMD_PORT=str(self.epmd),
                   ERL_EPMD_ADDRESS="127.0.0.1")
        self.log = open(os.path.join(tmp, "rabbitmq.log"), "w")
        self.proc = subprocess.Popen(["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=env,
                                     stdout=self.log, stderr=self.log)
        wait_port(self.port, self.proc, "rabbitmq-server", timeout=120)
        # The port opens a moment before the default user exists.
        time.sleep(2)
        self.pids = children(self.proc.pid)  # the Erlang VM

    def stop(self):
        # The script's child is the Erlang VM; SIGTERM stops it cleanly.
        beams = children(self.proc.pid)
        for pid in beams:
            os.kill(pid, signal.SIGTERM)
        stop(self.proc, timeout=60)
        # The node started an Erlang port mapper on our private port: stop
        # that one (found by its listening port), not any other.
        for pid in listeners(self.epmd):
            os.kill(pid, signal.SIGTERM)


def cpu_seconds(pids):
    """User plus system CPU time the processes used so far (/proc/PID/stat)."""
    total = 0.0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def listeners(port):
    """PIDs of processes listening on 127.0.0.1:port (ss -ltnp)."""
    out = subprocess.run(["ss", "-ltnpH", "sport = :%d" % port], capture_output=True, text=True).stdout
    pids = set()
    for part in out.split("pid=")[1:]:
        pids.add(int(part.split(",")[0]))
    return sorted(pids)


def run_once(broker, backend, n, concurrency, tmp, pids):
    """Starts a warm worker, times n tasks through it, stops it. The
    servers' CPU time (pids) is measured over the whole run, worker start
    and stop included."""
    cpu0 = cpu_seconds(pids)
    env = dict(os.environ, FERRY_CELERY_BROKER=broker, FERRY_CELERY_BACKEND=backend,
               FERRY_CELERY_EVENTS="0", PYTHONDONTWRITEBYTECODE="1")
    wlog = open(os.path.join(tmp, "worker.log"), "a")
    worker = subprocess.Popen(
        [PY, "-m", "celery", "-A", "tasks", "worker", "-c", str(concurrency), "-n", "bench@localhost",
         "-Q", "celery", "--without-mingle", "--without-gossip", "--without-heartbeat",
         "--loglevel", "WARNING"],
        cwd=HERE, env=env, stdout=wlog, stderr=wlog, start_new_session=True)
    try:
        out = subprocess.run([PY, os.path.abspath(__file__), "client", str(n)], cwd=HERE, env=env,
                             capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            sys.exit("client failed (%s %s):\n%s%s" % (broker, backend, out.stdout, out.stderr))
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        stop(worker, timeout=60)
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    result["server_cpu_s"] = cpu_seconds(pids) - cpu0
    return result


def client(n):
    """The user's side: warm up, then n add.delay calls and their results."""
    sys.path.insert(0, HERE)
    import tasks
    from celery.result import ResultSet
    warm = [tasks.add.delay(i, 1) for i in range(20)]
    assert [r.get(timeout=120) for r in warm] == [i + 1 for i in range(20)]
    t0 = time.perf_counter()
    rs = [tasks.add.delay(i, i) for i in range(n)]
    t1 = time.perf_counter()
    # One wait for all (ResultSet joins natively where the backend can:
    # one subscription or reply queue instead of a poll per result).
    got = ResultSet(rs).get(timeout=600)
    t2 = time.perf_counter()
    bad = [i for i, v in enumerate(got) if v != 2 * i]
    assert not bad, "wrong results for %s" % bad[:10]
    print(json.dumps({"submit_s": t1 - t0, "total_s": t2 - t0, "tasks_per_s": n / (t2 - t0)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ferry", required=True, help="ferry binary (go build -o /tmp/ferry ./cmd/ferry)")
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=4, help="worker pool processes")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--configs", default="redis,amqp-rpc,amqp-redis")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="celerybench-")
    servers = []
    try:
        ferry = Ferry(a.ferry, tmp)
        servers.append(ferry)
        redis = RedisServer(tmp)
        servers.append(redis)
        rabbit = RabbitMQ(tmp)
        servers.append(rabbit)
        f_redis = "redis://127.0.0.1:%d" % ferry.redis_port
        f_amqp = "amqp://guest:guest@127.0.0.1:%d//" % ferry.amqp_port
        r_redis = "redis://127.0.0.1:%d" % redis.port
        r_amqp = "amqp://guest:guest@127.0.0.1:%d//" % rabbit.port
        configs = {
            "redis": ((f_redis + "/0", f_redis + "/1"), (r_redis + "/0", r_redis + "/1"), "redis-server 7.0",
                      redis.pids),
            "amqp-rpc": ((f_amqp, "rpc://"), (r_amqp, "rpc://"), "rabbitmq-server 3.10", rabbit.pids),
            "amqp-redis": ((f_amqp, f_redis + "/2"), (r_amqp, r_redis + "/2"),
                           "rabbitmq-server 3.10 + redis-server 7.0", rabbit.pids + redis.pids),
        }
        names = a.configs.split(",")
        results = {name: {"ferry": [], "orig": []} for name in names}
        for rnd in range(a.rounds):
            for name in names:
                fcfg, ocfg, _, opids = configs[name]
                # Alternate which side goes first from round to round.
                order = [("ferry", fcfg, ferry.pids), ("orig", ocfg, opids)]
                if rnd % 2:
                    order.reverse()
                for side, (broker, backend), pids in order:
                    r = run_once(broker, backend, a.tasks, a.concurrency, tmp, pids)
                    results[name][side].append(r)
                    print("round %d %-10s %-5s %7.1f tasks/s (submit %.2fs, total %.2fs, server CPU %.2fs)" % (
                        rnd + 1, name, side, r["tasks_per_s"], r["submit_s"], r["total_s"], r["server_cpu_s"]),
                        flush=True)
        print()
        print("%d tasks, celery worker -c %d, median of %d rounds" % (a.tasks, a.concurrency, a.rounds))
        print("| configuration | original | Ferry tasks/s | original tasks/s | ratio | Ferry server CPU s | original server CPU s |")
        print("|---|---|---|---|---|---|---|")
        for name in names:
            med = lambda side, k: statistics.median(r[k] for r in results[name][side])
            f, o = med("ferry", "tasks_per_s"), med("orig", "tasks_per_s")
            print("| %s | %s | %.0f | %.0f | %.2f× | %.2f | %.2f |" % (
                name, configs[name][2], f, o, f / o, med("ferry", "server_cpu_s"), med("orig", "server_cpu_s")))
    finally:
        for s in reversed(servers):
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        client(int(sys.argv[2]))
    else:
        main()
