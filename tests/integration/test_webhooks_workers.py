"""The webhook worker's guarantees on both databases: a worker killed with SIGKILL in the middle
of a batch loses nothing (its claims are sent again when their lease ends), and two workers at
once send each delivery once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

from sqlalchemy import func, select

from governor.service.context import Services
from governor.service.webhooks import worker
from governor.store.database import Database
from governor.store.webhook_tables import WebhookDelivery
from tests.conftest import PROJECT_DIR
from tests.webhook_receiver import Receiver, app, receiver  # noqa: F401 (fixtures)

WORKER = """
import sys
from datetime import datetime
from governor.clock import FakeClock
from governor.service.context import Services
from governor.service.webhooks import worker
from governor.store.database import Database
from tests.conftest import settings_for
url, now = sys.argv[1], datetime.fromisoformat(sys.argv[2])
svc = Services(Database(url), FakeClock(now), settings_for(url, webhook_allow_hosts="127.0.0.1"))
worker.deliver_webhooks(svc)
"""


def _events(client, token, receiver, n: int) -> None:
    admin, age = token("admin"), token("age")
    assert client.put("/v1/admin/webhooks/parent-app", json={"url": receiver.url, "events": ["guardian.linked"]},
                      headers=admin).status_code == 200
    for i in range(n):
        assert client.put(f"/v1/users/kid{i}/guardians/mum", headers=age).status_code == 200


def _statuses(svc) -> dict[str, int]:
    with svc.db.read() as s:
        return dict(s.execute(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all())


def _wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_worker_killed_mid_batch_loses_nothing(client, token, svc, clock, db_url, receiver):
    _events(client, token, receiver, 12)
    receiver.hold.clear()  # the receiver takes the requests and does not answer yet
    proc = subprocess.Popen([sys.executable, "-c", WORKER, db_url, clock.now().isoformat()], cwd=PROJECT_DIR,
                            env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)})
    try:
        _wait_for(lambda: len(receiver.received) == worker.BATCH)  # a whole batch in flight
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=20) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    receiver.hold.set()
    assert _statuses(svc) == {"pending": 12}  # nothing recorded, nothing lost
    assert worker.deliver_webhooks(svc) == 12 - worker.BATCH  # the killed worker's claims wait for their lease
    clock.advance(seconds=worker.LEASE.total_seconds())
    assert worker.deliver_webhooks(svc) == worker.BATCH
    assert _statuses(svc) == {"delivered": 12}
    ids = Counter(h["webhook-id"] for h, _ in receiver.received)
    assert len(ids) == 12 and sum(ids.values()) == 12 + worker.BATCH  # at least once: the batch twice


def test_two_workers_send_each_delivery_once(client, token, svc, clock, db_url, receiver):
    """Both workers take part: the receiver holds its answers until each worker has a whole
    batch in flight at once, so neither can have sent the other's."""
    _events(client, token, receiver, 40)
    instances = [Services(Database(db_url), clock, svc.settings) for _ in range(2)]
    barrier, sent = threading.Barrier(2), {0: [], 1: []}

    def run(k):
        barrier.wait()
        while n := worker.run_batch(instances[k]):
            sent[k].append(n)

    receiver.hold.clear()
    threads = [threading.Thread(target=run, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    try:
        _wait_for(lambda: len(receiver.received) == 2 * worker.BATCH)  # one batch of each, in flight
    finally:
        receiver.hold.set()
    for t in threads:
        t.join(timeout=120)
    ids = Counter(h["webhook-id"] for h, _ in receiver.received)
    assert len(ids) == 40 and set(ids.values()) == {1}
    assert sent[0] and sent[1] and sum(sent[0]) + sum(sent[1]) == 40, sent
    assert _statuses(svc) == {"delivered": 40}
    for i in instances:
        i.db.dispose()
