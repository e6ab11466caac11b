"""Two sweepers at once (two instances' schedulers) close each stale session once."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from governor import jobs
from governor.service.context import Services
from governor.store.database import Database
from governor.store.tables import AuditEvent, ChatSession


def test_two_sweepers_close_each_stale_session_once(client, clock, token, db_url, svc):
    fe = token("sessions")
    for i in range(12):
        assert client.post("/v1/sessions", json={"user_id": f"u{i}"}, headers=fe).status_code == 201
    clock.advance(minutes=10)  # silent far past the 120 s grace
    instances = [Services(Database(db_url), clock, svc.settings) for _ in range(2)]
    results, barrier = [], threading.Barrier(2)

    def run(instance):
        barrier.wait()
        results.append(jobs.sweep(instance))

    threads = [threading.Thread(target=run, args=(i,)) for i in instances]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(r or 0 for r in results) == 12
    with svc.db.read() as s:
        reasons = s.execute(select(ChatSession.end_reason, func.count()).group_by(ChatSession.end_reason)).all()
        ended = s.execute(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "session.ended")).scalar()
    assert reasons == [("timeout", 12)] and ended == 12
    r = client.get("/v1/users/u0/usage", headers=token("audit"))
    assert r.json["days"][-1]["seconds"] == 120  # up to the grace, not the ten minutes
    assert all(jobs.sweep(i) in (0, None) for i in instances)  # idempotent: nothing left to close
    for i in instances:
        i.db.dispose()
