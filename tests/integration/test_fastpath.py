"""The heartbeat's fast path (domain/fastpath.py) gives exactly the full decision.

Every time a heartbeat answers from the stored decision, the check below also gathers the facts
and runs the full `decide_heartbeat()` on the same connection, and the two must be equal. Both
fast ways are checked: `_fast` (one read, one write; lock-free on PostgreSQL) and `_advance` (the
locked way's). Every status, which may answer from what this process gathered before and from an
idle child's earlier decision (`fastpath.for_idle`), is checked against facts read afresh.
Random histories drive it, on SQLite and PostgreSQL: two tabs of one child,
heartbeats at random gaps (past the grace too), ends, clock steps back and far forward, grants,
locks, verifications and policy changes in between.
"""
from __future__ import annotations

import shutil
import uuid
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governor import create_app
from governor.clock import FakeClock
from governor.domain.engine import Verification, decide, decide_heartbeat
from governor.errors import SessionEnded
from governor.service import admin, guardians, sessions, users
from governor.store import sessions as session_store
from governor.store import users as user_store
from tests.conftest import BACKENDS, settings_for, shanghai

KID = "kid"


@pytest.fixture
def checked(monkeypatch):
    """Counts fast answers, and fails on any that differs from the full decision."""
    hits = []
    fast = sessions._advance

    def advance_and_check(tx, policy, user, acc, ends_at, now):
        answer = fast(tx, policy, user, acc, ends_at, now)
        if answer is not None:
            facts, use, _ = sessions._gather(tx, policy, user, user.user_id, now)
            full = decide_heartbeat(policy, facts, use, now, ends_at)
            assert answer == full, f"fast {answer}\nfull {full}"
            hits.append(now)
        return answer

    from_snapshot = sessions._status_from_snapshot

    def status_and_check(policy, user, facts, use, now):
        answer = from_snapshot(policy, user, facts, use, now)
        if answer is not None:
            full = decide(policy, facts, use, now)
            assert answer == full, f"fast {answer}\nfull {full}"
            hits.append(now)
        return answer

    one_go = sessions._fast

    def one_go_and_check(svc, session_id):
        with svc.db.hot_read() as tx:
            before = session_store.get(tx, session_id)
        answer = one_go(svc, session_id)
        if answer is not None:  # written: decide in full from what is stored now, as the locked way does
            now = svc.clock.now()
            with svc.db.hot_read() as tx:
                user = user_store.lock_by_pk(tx, before.user_pk)  # (a lock for one statement: a read)
                policy = svc.policy_at(user.policy_version)
                facts, use, _ = sessions._gather(tx, policy, user, user.user_id, now, exclude=session_id)
            full = decide_heartbeat(policy, facts, use, now, before.ends_at)
            assert answer == full, f"fast {answer}\nfull {full}"
            hits.append(now)
        return answer

    any_status = sessions.status

    def any_status_and_check(svc, user_id, purpose=None):
        answer = any_status(svc, user_id, purpose)
        assert answer == full_status(svc, user_id, purpose)
        return answer

    monkeypatch.setattr(sessions, "status", any_status_and_check)
    monkeypatch.setattr(sessions, "_fast", one_go_and_check)
    monkeypatch.setattr(sessions, "_advance", advance_and_check)
    monkeypatch.setattr(sessions, "_status_from_snapshot", status_and_check)
    return hits


def full_status(svc, user_id: str, purpose: str | None = None) -> sessions.Status:
    """A status from facts read now, and the full decision."""
    now = svc.clock.now()
    with svc.db.hot_read() as tx:
        user = user_store.get(tx, user_id)
        policy = svc.policy_at(user.policy_version if user is not None else user_store.policy_version(tx))
        facts, use, active = sessions._gather(tx, policy, user, user_id, now)
    return sessions.Status(decide(policy, facts, use, now, purpose=purpose), facts, len(active))


def beat_or_end(svc, tabs: list[str | None], tab: int, kind: str) -> None:
    """A heartbeat or an end of the tab's session, if it has one; a session that ends is gone."""
    if tabs[tab] is None:
        return
    try:
        if kind == "end":
            sessions.end(svc, tabs[tab], "t")
            tabs[tab] = None
        elif not sessions.heartbeat(svc, tabs[tab], "t").allowed:
            tabs[tab] = None
    except SessionEnded:
        tabs[tab] = None


def _service(sqlite_template, tmp_path, name: str, start, pg=None):
    """A service on a fresh database: a copy of the SQLite template, or with `pg` (the pg_admin
    fixture) a new PostgreSQL database from its template, dropped with `_dispose`."""
    if pg is None:
        path = tmp_path / f"{name}.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        engine, base, template = pg
        db = f"gov_fp_{uuid.uuid4().hex[:12]}"
        with engine.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
        url = base.set(database=db).render_as_string(hide_password=False)
    clock = FakeClock(start)
    app = create_app(settings_for(url), clock=clock)
    return app.extensions["governor"], clock


def _dispose(svc, pg=None) -> None:
    svc.db.dispose()
    if pg is not None:
        with pg[0].connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{svc.db.url.database}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def pg(request):
    """None for SQLite, the pg_admin fixture for PostgreSQL."""
    return None if request.param == "sqlite" else request.getfixturevalue("pg_admin")


def test_a_plain_session_is_answered_by_arithmetic(sqlite_template, tmp_path, checked, pg):
    svc, clock = _service(sqlite_template, tmp_path, "plain", shanghai(2026, 12, 2, 7, 0), pg)
    users.set_verification(svc, KID, Verification("verified", date(2014, 6, 15)), "t")
    sid = sessions.start(svc, KID, "t").session_id
    for _ in range(29):
        clock.advance(seconds=60)
        d = sessions.heartbeat(svc, sid, "t")
    assert d.allowed and d.used_today == timedelta(minutes=29)
    assert sessions.status(svc, KID).decision.used_today == timedelta(minutes=29)
    assert len(checked) >= 20  # all but the heartbeats inside the warning before the forced break
    _dispose(svc, pg)


def test_a_status_follows_every_change_made_by_another_instance(sqlite_template, tmp_path, pg):
    """A status reads only the user's row when it has seen that row before; changes made by
    another instance (another process, with its own memory) show at once all the same."""
    here, clock = _service(sqlite_template, tmp_path, "two", shanghai(2026, 12, 2, 9, 0), pg)
    there = create_app(settings_for(here.db.url.render_as_string(hide_password=False)),
                       clock=clock).extensions["governor"]
    users.set_verification(there, KID, Verification("verified", date(2014, 6, 15)), "t")

    def status_here(minutes: int) -> sessions.Status:
        clock.advance(seconds=minutes * 60)
        got = sessions.status(here, KID)
        assert got == full_status(here, KID)
        return got

    try:
        assert status_here(0).decision.remaining == timedelta(minutes=60)
        assert status_here(1) == full_status(here, KID) and here.statuses[KID].idle is not None  # from memory
        admin.add_grant(there, KID, 10, None, None, "admin")
        assert status_here(1).decision.remaining == timedelta(minutes=70)
        guardians.link(there, KID, "mum", "t")
        guardians.set_controls(there, "mum", KID, 20, ["10:00-10:30"], None, "app")
        assert status_here(1).decision.remaining == timedelta(minutes=20 + 10)  # 09:03, the grant counts
        assert status_here(5).decision.ends_at == shanghai(2026, 12, 2, 9, 38)  # moved by arithmetic
        assert status_here(48).decision.ends_at == shanghai(2026, 12, 2, 10, 0)  # the quiet hours
        assert status_here(0).decision.warnings[0].seconds_left == 240
        admin.lock(there, KID, None, None, "admin")
        assert status_here(1).decision.reason.value == "locked"
        admin.unlock(there, KID, None, "admin")
        guardians.unlink(there, KID, "mum", "t")
        sid = sessions.start(there, KID, "t").session_id
        assert status_here(0).active_sessions == 1
        clock.advance(seconds=60)
        sessions.heartbeat(there, sid, "t")
        assert status_here(1).decision.used_today == timedelta(minutes=1)
        sessions.end(there, sid, "t")
        assert status_here(1).active_sessions == 0
        admin.activate_policy(there, {**admin.active_policy(there)[0].document, "name": "tighter"}, "admin")
        assert status_here(1).decision.policy_name == "tighter"
    finally:
        there.db.dispose()
        _dispose(here, pg)


_BEAT = st.tuples(st.just("beat"), st.integers(0, 1), st.integers(0, 200))
STEPS = st.lists(st.one_of(
    _BEAT, _BEAT, _BEAT, _BEAT, _BEAT, _BEAT,  # mostly heartbeats, as in life
    st.tuples(st.just("status"), st.integers(0, 1), st.integers(0, 200)),
    st.tuples(st.just("beat"), st.integers(0, 1), st.sampled_from([-90, 3600, 4 * 3600, 9 * 3600])),
    st.tuples(st.just("start"), st.integers(0, 1), st.integers(0, 600)),
    st.tuples(st.just("end"), st.integers(0, 1), st.integers(0, 120)),
    st.tuples(st.just("grant"), st.integers(5, 30), st.integers(0, 60)),
    st.tuples(st.just("lock"), st.integers(1, 20), st.integers(0, 60)),
    st.tuples(st.just("settings"), st.integers(10, 120), st.integers(0, 60)),
    st.tuples(st.just("verify"), st.integers(2008, 2020), st.integers(0, 60)),
), min_size=20, max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, hour=st.sampled_from([6, 9, 13, 21, 23]), verified=st.booleans())
def test_fast_answers_equal_full_decisions(sqlite_template, tmp_path_factory, checked, pg, steps, hour, verified):
    """(At the end, `checked` holds some hundreds of fast answers, each equal to the full one.)"""
    svc, clock = _service(sqlite_template, tmp_path_factory.mktemp("fp"), "db", shanghai(2026, 12, 2, hour, 0), pg)
    if verified:
        users.set_verification(svc, KID, Verification("verified", date(2014, 6, 15)), "t")
    tabs: list[str | None] = [sessions.start(svc, KID, "t").session_id, None]
    try:
        for kind, arg, seconds in steps:
            clock.advance(seconds=seconds)
            if kind == "start":
                tabs[arg] = sessions.start(svc, KID, "t").session_id
            elif kind in ("beat", "end"):
                beat_or_end(svc, tabs, arg, kind)
            elif kind == "status":
                sessions.status(svc, KID)
            elif kind == "grant":
                admin.add_grant(svc, KID, arg, None, None, "admin")
            elif kind == "lock":
                admin.lock(svc, KID, clock.now() + timedelta(minutes=arg), None, "admin")
            elif kind == "settings":
                admin.change_settings(svc, KID, admin.KEEP, min(arg, 40), "admin")
            elif kind == "verify":
                users.set_verification(svc, KID, Verification("verified", date(arg, 3, 1)), "t")
    finally:
        _dispose(svc, pg)
