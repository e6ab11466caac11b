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
from contextlib import nullcontext
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governor import create_app
from governor.clock import FakeClock
from governor.domain import ledger
from governor.domain.bands import age_now
from governor.domain.decision import Verification
from governor.domain.engine import decide, decide_heartbeat, reset_gap
from governor.errors import SessionEnded
from governor.service import admin, guardians, sessions, users
from governor.service import age as ages
from governor.service.sessions import fastways, seen, steps
from governor.store import sessions as session_store
from governor.store import users as user_store
from tests.conftest import BACKENDS, settings_for, shanghai

KID = "kid"
GRACE = timedelta(seconds=120)  # the default heartbeat grace


@pytest.fixture
def checked(monkeypatch):
    """Counts fast answers, and fails on any that differs from the full decision."""
    hits = []
    fast = fastways.advance

    def advance_and_check(tx, policy, user, acc, ends_at, now, purpose=None):
        answer = fast(tx, policy, user, acc, ends_at, now, purpose)
        if answer is not None:
            facts, use, _ = steps.gather(tx, policy, user, user.user_id, now, GRACE)
            full = decide_heartbeat(policy, facts, use, now, ends_at)
            assert answer == full, f"fast {answer}\nfull {full}"
            hits.append(now)
        return answer

    from_snapshot = seen.from_snapshot

    def status_and_check(policy, user, facts, use, now):
        answer = from_snapshot(policy, user, facts, use, now)
        if answer is not None:
            full = decide(policy, facts, use, now)
            assert answer == full, f"fast {answer}\nfull {full}"
            hits.append(now)
        return answer

    one_go = fastways.fast

    def one_go_and_check(svc, session_id, client, tx=None):
        def reading():  # SQLite: the heartbeat's own write transaction; PostgreSQL: what is stored
            return nullcontext(tx) if tx is not None else svc.db.hot_read()

        with reading() as r:
            before = session_store.get(r, session_id)
        answer = one_go(svc, session_id, client, tx)
        if answer is not None:  # written: decide in full from what is stored now, as the locked way does
            now = svc.clock.now()
            with reading() as r:
                user = user_store.lock_by_pk(r, before.user_pk)  # (a lock for one statement: a read)
                policy = svc.policy_at(user.policy_version)
                facts, use, _ = steps.gather(r, policy, user, user.user_id, now, GRACE, exclude=session_id)
            full = decide_heartbeat(policy, facts, use, now, before.ends_at)
            assert answer == full, f"fast {answer}\nfull {full}"
            hits.append(now)
        return answer

    in_one = fastways.in_one

    def in_one_and_check(svc, session_id, client):
        """The one-statement heartbeat books what the domain would (ledger.book on the state
        before) and answers what the full decision says."""
        days = fastways.days_around(svc.clock.now())
        with svc.db.hot_read() as tx:
            before = session_store.heartbeat_view(tx, session_id, client, days)
        answer = in_one(svc, session_id, client)
        if answer is not None:
            now = svc.clock.now()
            with svc.db.hot_read() as tx:
                after = session_store.heartbeat_view(tx, session_id, client, days)
                user = user_store.lock_by_pk(tx, after.user.pk)
                policy = svc.policy_at(user.policy_version)
                facts, use, _ = steps.gather(tx, policy, user, user.user_id, now, GRACE, exclude=session_id)
            full = decide_heartbeat(policy, facts, use, now, before.session.ends_at)
            assert answer == full, f"in one {answer}\nfull {full}"
            gap = ledger.covered_interval(before.session.last_seen_at, now, svc.grace, before.session.ends_at)
            booking = ledger.book(before.user.activity, gap, reset_gap(policy.bands[full.band]))
            ms = round((gap[1] - gap[0]) / timedelta(milliseconds=1))
            today = now.astimezone(policy.zone(None)).date()
            assert (after.user.activity, after.used[today]) == (booking.activity, before.used[today] + ms)
            assert (after.session.last_seen_at, after.session.counted_ms, after.session.ends_at) == \
                (now, before.session.counted_ms + ms, full.ends_at)
            hits.append(now)
        return answer

    any_status = sessions.status

    def any_status_and_check(svc, user_id, purpose=None):
        answer = any_status(svc, user_id, purpose)
        assert answer == full_status(svc, user_id, purpose)
        return answer

    monkeypatch.setattr(sessions, "status", any_status_and_check)
    def disagreement(*args):
        raise AssertionError(args[0] % args[1:])

    monkeypatch.setattr(fastways.log, "error", disagreement)  # the one-statement way and the domain's
    monkeypatch.setattr(fastways, "fast", one_go_and_check)
    monkeypatch.setattr(fastways, "in_one", in_one_and_check)
    monkeypatch.setattr(fastways, "advance", advance_and_check)
    monkeypatch.setattr(seen, "from_snapshot", status_and_check)
    return hits


def full_status(svc, user_id: str, purpose: str | None = None) -> sessions.Status:
    """A status from facts read now, and the full decision."""
    now = svc.clock.now()
    with svc.db.hot_read() as tx:
        user = user_store.get(tx, user_id)
        policy = svc.policy_at(user.policy_version if user is not None else user_store.policy_version(tx))
        facts, use, active = steps.gather(tx, policy, user, user_id, now, GRACE)
    return sessions.Status(decide(policy, facts, use, now, purpose=purpose), facts, len(active),
                           age_now(policy, facts, now))


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


def test_a_heartbeat_books_milliseconds_rounded_as_python_rounds(sqlite_template, tmp_path, checked, pg):
    """Gaps of a whole number of milliseconds and a half (ties go to the even one, as round()
    does), a microsecond either side, and the start's own instant: each way books the same."""
    svc, clock = _service(sqlite_template, tmp_path, "ms", shanghai(2026, 12, 2, 9, 0), pg)
    users.set_verification(svc, KID, Verification("verified", date(2014, 6, 15)), "t")
    sid = sessions.start(svc, KID, "t").session_id
    for micro in (0, 500, 1500, 499, 501, 2500, 999_999):
        clock.advance(seconds=59, microseconds=micro)
        assert sessions.heartbeat(svc, sid, "t").allowed
    clock.advance(seconds=59, microseconds=500)
    assert sessions.end(svc, sid, "t").duration_seconds == 8 * 59 + 1
    assert len(checked) >= 6
    _dispose(svc, pg)


def test_the_one_statement_heartbeat_only_where_it_is_exact(sqlite_template, tmp_path, checked, pg, monkeypatch):
    """The time left ending the session first, a late heartbeat past the grace, a second tab,
    the warning before the end, a session of a purpose: each heartbeat is checked (`checked`), and
    the one-statement way answers only the plain ones."""
    svc, clock = _service(sqlite_template, tmp_path, "cases", shanghai(2026, 12, 2, 9, 0), pg)
    answered = []
    in_one = fastways.in_one
    monkeypatch.setattr(fastways, "in_one", lambda *a: answered.append(in_one(*a)) or answered[-1])
    users.set_verification(svc, KID, Verification("verified", date(2014, 6, 15)), "t")
    admin.change_settings(svc, KID, admin.KEEP, 20, "admin")  # the time left ends it before the break
    sid = sessions.start(svc, KID, "t").session_id
    for _ in range(5):
        clock.advance(seconds=61)
        assert sessions.heartbeat(svc, sid, "t").ends_at == shanghai(2026, 12, 2, 9, 20)
    # on PostgreSQL, all but the first (this process had not seen the policy's version yet)
    assert [a is not None for a in answered] == [False] + [pg is not None] * 4
    clock.advance(seconds=300)  # late: only the grace counts, and the end moves
    late = sessions.heartbeat(svc, sid, "t")
    assert late.used_today == timedelta(seconds=5 * 61 + 120) and answered[-1] is None
    clock.advance(seconds=30)
    sessions.heartbeat(svc, sid, "t")
    clock.advance(seconds=20)
    second = sessions.start(svc, KID, "t").session_id  # after the first tab's last heartbeat
    clock.advance(seconds=30)
    sessions.heartbeat(svc, second, "t")
    assert answered[-1] is None  # its time does not extend the last booked interval
    for _ in range(3):
        clock.advance(seconds=50)
        sessions.heartbeat(svc, sid, "t")
        sessions.heartbeat(svc, second, "t")
    while sessions.heartbeat(svc, sid, "t").allowed:  # into the warning and past the end
        clock.advance(seconds=45)
    sessions.end(svc, second, "t")
    if pg:
        clock.advance(hours=3)
        admin.add_grant(svc, KID, 30, None, None, "admin")  # the day's 20 minutes are used up
        users.set_verification(svc, "kid2", Verification("verified", date(2014, 6, 15)), "t")
        plain = [sessions.start(svc, kid, "t").session_id for kid in (KID, "kid2")]
        for _ in range(2):
            clock.advance(seconds=60)
            assert [sessions.heartbeat(svc, s, "t").allowed for s in plain] == [True, True]
        assert None not in answered[-2:]
        policy, _ = admin.active_policy(svc)
        doc = {**policy.document}
        doc["bands"] = {**doc["bands"], "age_8_15": {**doc["bands"]["age_8_15"], "uncounted_minutes": {"learning": 20}}}
        admin.activate_policy(svc, doc, "admin")
        clock.advance(seconds=60)
        for s in plain:  # their stored decisions are the old policy's (the first teaches this process the new one)
            sessions.heartbeat(svc, s, "t")
            assert answered[-1] is None
            sessions.end(svc, s, "t")
        learning = sessions.start(svc, KID, "t", "learning").session_id
        before = len(answered)
        for _ in range(3):
            clock.advance(seconds=60)
            sessions.heartbeat(svc, learning, "t")
        assert answered[before:] == [None] * 3
    assert len(checked) >= 10
    _dispose(svc, pg)


_CHANGES = (  # what happens between heartbeats
    st.tuples(st.just("start"), st.integers(0, 1), st.integers(0, 600)),
    st.tuples(st.just("end"), st.integers(0, 1), st.integers(0, 120)),
    st.tuples(st.just("grant"), st.integers(5, 30), st.integers(0, 60)),
    st.tuples(st.just("lock"), st.integers(1, 20), st.integers(0, 60)),
    st.tuples(st.just("settings"), st.integers(10, 120), st.integers(0, 60)),
    st.tuples(st.just("verify"), st.integers(2008, 2020), st.integers(0, 60)),
    # section 8: a range whose youngest birthday at a band's boundary is the next local midnight
    st.tuples(st.just("signal"), st.sampled_from([7, 12, 13, 15, 17]), st.integers(0, 60)),
    st.tuples(st.just("consent"), st.integers(0, 1), st.integers(0, 60)),
    st.tuples(st.just("bands"), st.integers(0, 1), st.integers(0, 60)),  # policy-defined bands, with consent
)
US_BANDS = {"under_13": {"min_age": 0, "requires_parental_consent": True, "daily_limit_minutes": 50,
                         "continuous_limit_minutes": 30, "break_minutes": 15, "warn_before_minutes": 5},
            "age_13_15": {"min_age": 13, "daily_limit_minutes": 90, "allowed_hours": ["06:00-22:30"],
                          "warn_before_minutes": 5, "rest_reminder_minutes": 20},
            "age_16_17": {"min_age": 16, "rest_reminder_minutes": 45}, "adult": {},
            "unverified": {"daily_limit_minutes": 40, "requires_parental_consent": True}}
_BEAT = st.tuples(st.just("beat"), st.integers(0, 1), st.integers(0, 200))
STEPS = st.lists(st.one_of(
    _BEAT, _BEAT, _BEAT, _BEAT, _BEAT, _BEAT,  # mostly heartbeats, as in life
    st.tuples(st.just("status"), st.integers(0, 1), st.integers(0, 200)),
    st.tuples(st.just("beat"), st.integers(0, 1), st.sampled_from([-90, 3600, 4 * 3600, 9 * 3600])),
    *_CHANGES,
), min_size=20, max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, hour=st.sampled_from([6, 9, 13, 21, 23]), verified=st.booleans())
def test_fast_answers_equal_full_decisions(sqlite_template, tmp_path_factory, checked, pg, steps, hour, verified):
    """(At the end, `checked` holds some hundreds of fast answers, each equal to the full one.)"""
    svc, clock = _service(sqlite_template, tmp_path_factory.mktemp("fp"), "db", shanghai(2026, 12, 2, hour, 0), pg)
    _drive(svc, clock, steps, verified, pg)


_MINUTELY = st.tuples(st.just("beat"), st.just(0), st.integers(1, 130))
MINUTELY = st.lists(st.one_of(
    _MINUTELY, _MINUTELY, _MINUTELY, _MINUTELY, _MINUTELY, _MINUTELY, _MINUTELY, _MINUTELY,  # one tab, a minute apart
    st.tuples(st.just("beat"), st.just(1), st.integers(1, 130)),
    st.tuples(st.just("status"), st.integers(0, 1), st.integers(0, 60)),
    *_CHANGES,
), min_size=30, max_size=80)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=MINUTELY, hour=st.sampled_from([6, 9, 13, 21, 23]), micro=st.integers(0, 999_999))
def test_one_statement_heartbeats_equal_full_decisions(sqlite_template, tmp_path_factory, checked, pg_admin,
                                                       steps, hour, micro):
    """PostgreSQL's one-statement heartbeat (fastways.in_one) under heartbeats a minute or so
    apart, as in life, with the other changes in between; the clock off whole seconds."""
    start = shanghai(2026, 12, 2, hour, 0) + timedelta(microseconds=micro)  # (`checked` checks each answer)
    svc, clock = _service(sqlite_template, tmp_path_factory.mktemp("fp1"), "db", start, pg_admin)
    _drive(svc, clock, steps, True, pg_admin)
    # (that the one-statement way answers at all is held by test_the_one_statement_heartbeat_only_where_it_is_exact
    # here and test_in_one_property.py, each on its own: no test depends on another having run)


def _drive(svc, clock, steps, verified: bool, pg) -> None:
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
            elif kind == "signal":  # observed 364 days ago: the youngest turns arg + 1 at the next midnight
                ages.put_signal(svc, KID, "os_age_signal", ages.SignalIn(
                    arg, arg + 2, "other", "substantial", clock.now() - timedelta(days=364)), "t")
            elif kind == "consent":
                guardians.link(svc, KID, "mum", "t")
                ages.guardian_consent(svc, "mum", KID, bool(arg), "t")
            elif kind == "bands":
                base = admin.policy_document(*admin.active_policy(svc))
                doc = {k: base[k] for k in ("name", "timezone", "holidays")}
                admin.activate_policy(svc, {**doc, "bands": US_BANDS} if arg else
                                      {**doc, "bands": base["bands"] | {}}, "admin")
    finally:
        _dispose(svc, pg)
