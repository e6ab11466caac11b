"""Two app instances on one PostgreSQL database (DESIGN 3, 6): `governor serve` and
`gunicorn app:app`, two workers each, under one faked clock. Fifty threads race starts,
heartbeats and ends for five users through both instances, round robin. The cap on concurrent
sessions holds across processes and instances, the two overlapping sessions of a user count as
their union, not their sum, and the audit log holds exactly one event per change, in intact
chains. And a scrape of /metrics adds up every worker of a `governor serve` instance.
"""
from __future__ import annotations

import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.e2e.cluster import T0, Cluster, covered, events, ledger, race, union_ms

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

USERS = [f"mi-user-{i}" for i in range(5)]
ATTEMPTS = 10  # starts per user: 50 in all, one per thread
CAP = 2  # max_concurrent_sessions of the unverified band in the test's policy
HEARTBEATS = 5  # per session and round, each from another thread
ENDS = 3  # per session


@pytest.fixture
def cluster(pg_admin, tmp_path):
    with Cluster(pg_admin, tmp_path) as c:
        c.instance("serve").start()
        c.instance("gunicorn").start()
        yield c


def test_two_instances_share_the_cap_the_union_and_the_audit_chains(cluster):
    a, b = cluster.instances
    fe, auditor = cluster.token("sessions"), cluster.token("audit", sub="e2e-auditor")
    pick = lambda i, n: (a, b)[(i // n) % 2]  # noqa: E731  (a key's attempts alternate instances)

    # T0: every user tries ATTEMPTS starts at once, through both instances.
    starts = race(lambda i=i: (USERS[i % len(USERS)],
                               pick(i, len(USERS)).call("POST", "/v1/sessions", fe, {"user_id": USERS[i % len(USERS)]}))
                  for i in range(len(USERS) * ATTEMPTS))
    sessions: dict[str, list[str]] = {u: [] for u in USERS}
    for user, r in starts:
        if r.status == 201:
            assert r.body["allowed"] is True and r.body["reason"] == "ok", r.body
            assert r.body["policy"]["name"] == "e2e-concurrency", r.body  # the test's policy is the active one
            sessions[user].append(r.body["session_id"])
        else:
            assert r.outcome[:3] == (403, False, "too_many_sessions"), r.body
    assert {u: len(ids) for u, ids in sessions.items()} == {u: CAP for u in USERS}
    ids = [sid for u in USERS for sid in sessions[u]]

    # T0+60 s, then T0+120 s: every session heartbeated HEARTBEATS times, from as many threads,
    # through both instances. Each answer shows the user's union so far, never a sum.
    for minute in (1, 2):
        cluster.clock.set(T0 + timedelta(minutes=minute))
        beats = race(lambda j=j: pick(j, len(ids)).call("POST", f"/v1/sessions/{ids[j % len(ids)]}/heartbeat", fe)
                     for j in range(len(ids) * HEARTBEATS))
        for r in beats:
            assert r.outcome == (200, True, "ok", 60 * minute), r.body

    # Still T0+120 s: every session ended ENDS times at once (idempotent), through both instances.
    ends = race(lambda j=j: pick(j, len(ids)).call("POST", f"/v1/sessions/{ids[j % len(ids)]}/end", fe)
                for j in range(len(ids) * ENDS))
    for r in ends:
        assert r.status == 200, (r.status, r.body)
        assert (r.body["end_reason"], r.body["duration_seconds"], r.body["used_today_seconds"]) == ("client", 120, 120)
    late = a.call("POST", f"/v1/sessions/{ids[0]}/heartbeat", fe)
    assert late.status == 409 and late.body["type"].endswith(":session-ended"), late.body

    # The ledger, as the API reports it and as the database holds it.
    day = T0.date().isoformat()
    db = ledger(cluster.db)
    for i, user in enumerate(USERS):
        usage = (a, b)[i % 2].get(f"/v1/users/{user}/usage?from={day}&to={day}", auditor)
        assert usage.status == 200, usage.body
        expected = [{"date": day, "seconds": 120, "uncounted_seconds": 0, "sessions": CAP}]
        assert usage.body["days"] == expected, usage.body
        rows = db.sessions[user]
        assert sorted(r.id for r in rows) == sorted(sessions[user])
        assert db.used_ms[(user, T0.date())] == union_ms(covered(r) for r in rows) == 120_000
        for r in rows:
            assert (r.started_at, r.ended_at, r.end_reason, r.counted_ms) == (T0, T0 + timedelta(minutes=2),
                                                                               "client", 120_000)

    # The audit log: exactly one event per change, and intact chains.
    everything = events(b, auditor)
    for user in USERS:
        mine = events((a, b)[USERS.index(user) % 2], auditor, user)
        assert Counter(e["action"] for e in mine) == {"session.started": CAP, "session.refused": ATTEMPTS - CAP,
                                                      "session.ended": CAP}, mine
        assert [e["seq"] for e in mine] == list(range(1, len(mine) + 1))
        assert all(e["user_id"] == user for e in mine)
        assert sorted(e["data"]["session_id"] for e in mine if e["action"] == "session.ended") == sorted(sessions[user])
        assert {e["reason"] for e in mine if e["action"] == "session.refused"} == {"too_many_sessions"}
    assert sum(e["action"].startswith("session.") for e in everything) == len(USERS) * (ATTEMPTS + CAP)
    for inst in (a, b):
        verified = inst.get("/v1/audit/verify", auditor)
        assert verified.status == 200 and verified.body == {"ok": True, "events_checked": len(everything)}, \
            verified.body


@pytest.fixture
def served(pg_admin, tmp_path):
    with Cluster(pg_admin, tmp_path) as c:
        yield c.instance("serve").start()


class HeldRequest:
    """A /healthz request whose headers are not finished: the sync worker that accepts it waits
    for them, so the instance's other worker takes whatever comes meanwhile."""

    def __init__(self, inst):
        self.sock = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
        self.sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: e2e\r\n")
        time.sleep(0.3)  # accepted by a worker by now

    def release(self) -> bytes:
        with self.sock:
            self.sock.sendall(b"Connection: close\r\n\r\n")
            return self.sock.recv(65536)


def healthz_count(scrape) -> float:
    assert scrape.status == 200, scrape.body
    return sum(float(line.rsplit(" ", 1)[1]) for line in scrape.body.splitlines()
               if line.startswith('governor_http_request_duration_seconds_count{endpoint="/healthz"'))


def test_metrics_of_a_served_instance_add_up_its_workers(served):
    """A scrape counts every request the instance served, whichever worker answers it. Held
    requests steer the work: twenty requests to one worker, then the scrape to the other."""
    first = HeldRequest(served)  # worker X waits on it
    for _ in range(20):  # all to worker Y
        assert served.get("/healthz").status == 200
    second = HeldRequest(served)  # worker Y waits on it
    with ThreadPoolExecutor(1) as pool:
        scrape = pool.submit(served.get, "/metrics")  # queued until a worker is free
        assert b" 200 " in first.release()  # X answers it, then takes the scrape
        count = healthz_count(scrape.result(timeout=20))
    assert b" 200 " in second.release()
    assert count >= 21, count
