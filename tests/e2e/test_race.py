"""Accrual is atomic per user (DESIGN 3): heartbeats raced on three sessions of one user, from
16 threads, through two gunicorn worker processes, neither lose nor double-count a millisecond.

The server runs on the OS clock, so nothing here sleeps or guesses times: the expected usage is
computed from the times the server itself recorded. An adult has no limit, so no session ends
early, and heartbeats come far more often than the 120 s grace, so the three overlapping
sessions cover exactly [first start, last end] and the user's booked time must be that span.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select

from governor.clock import SystemClock
from governor.security.tokens import Authenticator
from governor.store.tables import AuditEvent, ChatSession, UsageDay, User
from tests.conftest import SECRET
from tests.e2e.conftest import call

pytestmark = pytest.mark.slow

USER = "race-adult"
SESSIONS = 3
THREADS = 16
HEARTBEATS = 300
RACE_TIMEOUT = 60  # seconds for all of them; they take a few


def mint(scope: str) -> str:
    return Authenticator(SECRET, "governor", "governor", 0).mint("race-test", scope.split(), 600,
                                                                SystemClock().now())


def test_raced_heartbeats_book_the_union_of_the_sessions_exactly(server, db_url):
    fe = mint("sessions")
    status, verified = call("PUT", f"{server.url}/v1/users/{USER}/age-verification", mint("age"),
                            {"status": "verified", "birth_date": "1990-01-01", "method": "id-document",
                             "assurance": "high"})
    assert status == 200 and verified["band"] == "adult", verified

    ids = []
    for _ in range(SESSIONS):
        status, started = call("POST", f"{server.url}/v1/sessions", fe, {"user_id": USER})
        assert status == 201 and started["allowed"], started
        ids.append(started["session_id"])

    def heartbeat(i: int) -> tuple[int, dict]:
        return call("POST", f"{server.url}/v1/sessions/{ids[i % SESSIONS]}/heartbeat", fe, timeout=20)

    pool = ThreadPoolExecutor(THREADS)
    try:
        beats = [pool.submit(heartbeat, i) for i in range(HEARTBEATS)]
        _, late = wait(beats, timeout=RACE_TIMEOUT)
        assert not late, f"{len(late)} heartbeats unanswered after {RACE_TIMEOUT}s\n{server.output()}"
    finally:
        pool.shutdown(cancel_futures=True)
    answers = [b.result() for b in beats]
    refused = [(s, a) for s, a in answers if s != 200 or not a["allowed"]]
    assert not refused, f"{len(refused)} of {HEARTBEATS} heartbeats failed, e.g. {refused[:3]}\n{server.output()}"

    for sid in ids:
        status, ended = call("POST", f"{server.url}/v1/sessions/{sid}/end", fe)
        assert status == 200 and ended["end_reason"] == "client", ended

    engine = create_engine(db_url)
    try:
        with engine.connect() as c:
            user = c.execute(select(User.pk, User.pseudonym).where(User.user_id == USER)).one()
            rows = c.execute(select(ChatSession.started_at, ChatSession.ended_at, ChatSession.counted_ms)
                             .where(ChatSession.user_pk == user.pk)).all()
            days = c.execute(select(UsageDay.used_ms, UsageDay.sessions).where(UsageDay.user_pk == user.pk)).all()
            events = dict(c.execute(select(AuditEvent.action, func.count()).where(AuditEvent.chain == user.pseudonym)
                                    .group_by(AuditEvent.action)).all())
    finally:
        engine.dispose()

    assert len(rows) == SESSIONS and all(r.ended_at is not None for r in rows)
    union_ms = (max(r.ended_at for r in rows) - min(r.started_at for r in rows)) / timedelta(milliseconds=1)
    booked_ms = sum(d.used_ms for d in days)
    # Each accrual (heartbeat or end) books at most one new piece of the union (plus one per local
    # midnight crossed), rounded to the millisecond: that rounding is all the slack there is. An
    # unserialised accrual books overlaps twice, which here is hundreds of ms or whole seconds.
    bookings = HEARTBEATS + SESSIONS + len(days)
    assert abs(booked_ms - union_ms) <= 0.5 * bookings, (booked_ms, union_ms)
    assert sum(d.sessions for d in days) == SESSIONS
    for r in rows:  # each session counted its own span, no more, no less
        own_ms = (r.ended_at - r.started_at) / timedelta(milliseconds=1)
        assert abs(r.counted_ms - own_ms) <= 0.5 * (HEARTBEATS + 1), (r.counted_ms, own_ms)
    assert events == {"session.started": SESSIONS, "session.ended": SESSIONS, "verification.changed": 1}
