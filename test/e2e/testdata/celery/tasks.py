"""Celery tasks for Ferry's end-to-end tests (test/e2e/celery_test.go).

The app is configured the way a user configures one — a broker URL and a
result backend URL — read from the environment so that the same module runs
against Ferry, redis-server and rabbitmq-server:

  FERRY_CELERY_BROKER    broker_url (redis://… or amqp://…)
  FERRY_CELERY_BACKEND   result_backend (redis://… or rpc://)
  FERRY_CELERY_DIR       directory of the side-effect log (see record)
  FERRY_CELERY_ACKS_LATE "1": task_acks_late with one prefetched task
  FERRY_CELERY_VISIBILITY seconds of the Redis transport's visibility timeout
  FERRY_CELERY_CONFIRM   "1": publisher confirms on the AMQP transport
  FERRY_CELERY_EVENTS    "0": no task events (benchmarks; default on)

Tasks write what they do to a side-effect log outside the server under
test, so that "ran exactly once" is checked independently of the broker.
"""

import os
import time

from celery import Celery
from kombu import Exchange, Queue

app = Celery("tasks")

_transport_options = {}
if os.environ.get("FERRY_CELERY_VISIBILITY"):
    _transport_options["visibility_timeout"] = int(os.environ["FERRY_CELERY_VISIBILITY"])
if os.environ.get("FERRY_CELERY_CONFIRM") == "1":
    _transport_options["confirm_publish"] = True

app.conf.update(
    broker_url=os.environ.get("FERRY_CELERY_BROKER", "redis://127.0.0.1:6379/0"),
    result_backend=os.environ.get("FERRY_CELERY_BACKEND", "redis://127.0.0.1:6379/1"),
    broker_transport_options=_transport_options,
    broker_connection_retry_on_startup=True,
    task_default_queue="celery",
    task_queues=[
        Queue("celery", Exchange("celery", type="direct"), routing_key="celery"),
        Queue("special", Exchange("special", type="direct"), routing_key="special"),
    ],
    task_routes={"tasks.where_special": {"queue": "special"}},
    task_send_sent_event=os.environ.get("FERRY_CELERY_EVENTS") != "0",
    result_expires=3600,
    worker_hijack_root_logger=False,
    worker_redirect_stdouts=False,
    worker_send_task_events=os.environ.get("FERRY_CELERY_EVENTS") != "0",
    worker_prefetch_multiplier=int(os.environ.get("FERRY_CELERY_PREFETCH", "4")),
    worker_lost_wait=5,
)
if os.environ.get("FERRY_CELERY_ACKS_LATE") == "1":
    app.conf.task_acks_late = True
    app.conf.worker_prefetch_multiplier = 1


def record(tag, what="ran"):
    """Appends "tag what pid time" to the side-effect log (one write, so
    concurrent workers never interleave within a line)."""
    d = os.environ.get("FERRY_CELERY_DIR")
    if not d:
        return
    line = "%s %s %d %.6f\n" % (tag, what, os.getpid(), time.time())
    fd = os.open(os.path.join(d, "effects.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@app.task
def add(x, y):
    return x + y


@app.task
def mul(x, y):
    return x * y


@app.task
def xsum(numbers):
    return sum(numbers)


@app.task
def effect(tag, value):
    """Records tag and returns value: the side effect proves execution."""
    record(tag)
    return value


@app.task
def stamp(tag):
    """Records tag and returns when it ran (for countdown and eta)."""
    record(tag)
    return time.time()


@app.task(bind=True, max_retries=5)
def flaky(self, tag, failures):
    """Fails failures times, retrying each time a second later, then
    returns how many retries it took."""
    record(tag, "try")
    if self.request.retries < failures:
        raise self.retry(countdown=1, exc=RuntimeError("planned failure"))
    return self.request.retries


@app.task(rate_limit="4/s")
def limited(tag):
    record(tag)
    return time.time()


@app.task(bind=True)
def where(self):
    """Returns the worker's node name and the queue the task came from."""
    return [self.request.hostname, (self.request.delivery_info or {}).get("routing_key")]


@app.task(bind=True)
def where_special(self):
    """Routed to the "special" queue by task_routes."""
    return [self.request.hostname, (self.request.delivery_info or {}).get("routing_key")]


@app.task
def slow(tag, seconds):
    """Records its start and end around a sleep: a worker killed in the
    middle leaves a start without an end."""
    record(tag, "start")
    time.sleep(seconds)
    record(tag, "done")
    return tag
