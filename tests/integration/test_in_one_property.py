"""PostgreSQL's one-statement heartbeat (store/sessions.heartbeat_in_one) against the domain, on
the same random states.

Random histories (heartbeats of two tabs, ends, starts, grants, a zone of the user's own, a new
policy, a new verification) make the states; at each, probes at random instants run the statement
in a transaction that is rolled back, and work out from the state read before it what the domain
says: the fast-path rule (fastpath.eligible) on the statement's case, the booking (ledger.book)
and the decision (fastpath.advance). The statement answers exactly when the domain does, books
what the domain books and ends the session when the domain's decision says; else it writes
nothing.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governor.domain import fastpath, ledger
from governor.domain.decision import Verification
from governor.domain.engine import reset_gap
from governor.errors import SessionEnded
from governor.service import admin, sessions, users
from governor.service.sessions import fastways
from governor.store import sessions as session_store
from governor.store import users as user_store
from governor.store.sql import Tx
from tests.conftest import shanghai
from tests.integration.test_fastpath import KID, _dispose, _service

MS = timedelta(milliseconds=1)


@contextmanager
def rolled_back(svc):
    """A transaction on a connection of its own, rolled back at the end: what runs in it leaves
    the database as it was."""
    url = svc.db.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        try:
            yield Tx(conn.cursor(), True)
        finally:
            conn.rollback()


def the_domain(before, policy, now: datetime, grace: timedelta, today: date, midnight: datetime):
    """What the domain answers for a heartbeat at `now` in the statement's case, from the state
    read before it: (decision, activity, day's milliseconds, milliseconds booked), or None."""
    user, s = before.user, before.session
    interval = ledger.covered_interval(s.last_seen_at, now, grace, s.ends_at)
    recent = user.activity.recent
    case = (interval == (s.last_seen_at, now) and s.last_seen_at < now and s.ended_at is None
            and user.timezone is None and user.marked == "[]" and today in before.used
            and s.last_seen_at >= midnight and user.activity.last_active == s.last_seen_at
            and 1 <= len(recent) <= 8 and recent[-1][1] == s.last_seen_at)
    snap = fastpath.load(user.outlook, policy.zone(None))
    rule = dict(facts_version=user.facts_version, policy_version=policy.version, booked_from=s.last_seen_at,
                session_ends_at=s.ends_at, now=now, purpose=s.purpose)
    if not case or not fastpath.eligible(snap, streak_kept=True, **rule):
        return None
    gap = reset_gap(policy.bands[snap.decision.band])
    booking = ledger.book(user.activity, interval, gap)
    ms = round((now - s.last_seen_at) / MS)
    decision = fastpath.advance(snap, streak_kept=ledger.run_goes_on(user.activity, booking.activity, now, gap),
                                used_today=timedelta(milliseconds=before.used[today] + ms), **rule)
    return decision and (decision, booking.activity, before.used[today] + ms, ms)


def probe(svc, session_id: str, now: datetime) -> bool:
    """The statement and the domain at `now` on the state as it is; whether the statement answered."""
    with svc.db.hot_read() as tx:
        version = user_store.policy_version(tx)
    policy = svc.policy_at(version)
    tz = policy.zone(None)
    today = now.astimezone(tz).date()
    midnight = datetime.combine(today, time(0), tzinfo=tz)
    days = fastways.days_around(now)
    with rolled_back(svc) as tx:
        before = session_store.heartbeat_view(tx, session_id, "t", days)
        done = session_store.heartbeat_in_one(tx, session_id, "t", now, svc.grace, midnight, today, version)
        after = session_store.heartbeat_view(tx, session_id, "t", days)
    expected = the_domain(before, policy, now, svc.grace, today, midnight)
    if done is None:
        assert expected is None, f"the statement declined at {now}; the domain answers {expected}"
        assert (after.user.activity, after.session, after.used) == (before.user.activity, before.session, before.used)
        return False
    assert expected is not None, f"the statement answered at {now}; the domain declines"
    decision, activity, used_ms, ms = expected
    assert (done.ends_at, done.used_ms, done.booked_from, done.ends_before) == \
        (decision.ends_at, used_ms, before.session.last_seen_at, before.session.ends_at)
    assert (after.user.activity, after.used[today]) == (activity, used_ms)
    assert (after.session.last_seen_at, after.session.counted_ms, after.session.ends_at) == \
        (now, before.session.counted_ms + ms, decision.ends_at)
    return True


_BEAT = st.tuples(st.just("beat"), st.integers(0, 1), st.integers(1, 130))
_BEAT0 = st.tuples(st.just("beat"), st.just(0), st.integers(1, 130))
STEP = st.one_of(
    _BEAT0, _BEAT0, _BEAT0, _BEAT0, _BEAT0, _BEAT, _BEAT, _BEAT,  # mostly heartbeats a minute or so apart
    st.tuples(st.just("beat"), st.integers(0, 1), st.sampled_from([-90, 3600, 4 * 3600])),
    st.tuples(st.just("start"), st.integers(0, 1), st.integers(0, 600)),
    st.tuples(st.just("end"), st.integers(0, 1), st.integers(0, 120)),
    st.tuples(st.just("run_up"), st.integers(1, 119), st.integers(0, 60)),
    st.tuples(st.just("grant"), st.integers(5, 30), st.integers(0, 60)),
    st.tuples(st.just("zone"), st.integers(0, 1), st.integers(0, 60)),
    st.tuples(st.just("policy"), st.integers(0, 1), st.integers(0, 60)),
    st.tuples(st.just("verify"), st.integers(2008, 2020), st.integers(0, 60)),
)
# instants to probe after a step: before the last heartbeat, at it, within and past the grace
PROBES = st.lists(st.one_of(st.integers(-30, 200), st.sampled_from([0, 120, 121, 1800])), min_size=1, max_size=3)


def stored(svc, session_id: str, now: datetime):
    """The session's heartbeat view and its user's stored decision (None when there is none)."""
    with svc.db.hot_read() as tx:
        view = session_store.heartbeat_view(tx, session_id, "t", fastways.days_around(now))
    if view is None:
        return None, None
    return view, fastpath.load(view.user.outlook, svc.policy_at(view.user.policy_version).zone(None))


def instants(svc, session_id: str, now: datetime, offsets: list[int]) -> list[datetime]:
    """`now` moved by each offset, and the state's edges: the stored decision's `valid_until`, the
    session's end and the end of its grace, each a microsecond before and at it."""
    view, snap = stored(svc, session_id, now)
    out = [now + timedelta(seconds=o) for o in offsets]
    if view is None:
        return out
    edges = [view.session.last_seen_at + svc.grace, view.session.ends_at, snap and snap.decision.outlook.valid_until]
    return out + [t + d for t in edges if t is not None for d in (-timedelta(microseconds=1), timedelta(0))]


def run_up(svc, clock, session_id: str, before: int) -> None:
    """Heartbeats a minute apart up to `before` seconds ahead of the stored decision's valid_until,
    the last one there: the state from which a heartbeat crosses it."""
    for _ in range(90):
        _, snap = stored(svc, session_id, clock.now())
        if snap is None:
            return
        gap = min(snap.decision.outlook.valid_until - timedelta(seconds=before) - clock.now(), timedelta(minutes=1))
        if gap <= timedelta(0):
            return
        clock.advance(seconds=gap.total_seconds())
        if not sessions.heartbeat(svc, session_id, "t").allowed:
            return


def apply(svc, clock, tabs: list[str | None], kind: str, arg: int) -> None:
    if kind == "start":
        tabs[arg] = sessions.start(svc, KID, "t").session_id
    elif kind in ("beat", "end") and tabs[arg] is not None:
        try:
            if kind == "end":
                sessions.end(svc, tabs[arg], "t")
            elif sessions.heartbeat(svc, tabs[arg], "t").allowed:
                return
        except SessionEnded:
            pass
        tabs[arg] = None
    elif kind == "run_up" and tabs[0] is not None:
        run_up(svc, clock, tabs[0], arg)
    elif kind == "grant":
        admin.add_grant(svc, KID, arg, None, None, "admin")
    elif kind == "zone":
        admin.change_settings(svc, KID, "America/New_York" if arg else None, admin.KEEP, "admin")
    elif kind == "policy":
        document = admin.active_policy(svc)[0].document
        admin.activate_policy(svc, {**document, "name": f"{document['name'][:40]}-{arg}"}, "admin")
    elif kind == "verify":
        users.set_verification(svc, KID, Verification("verified", date(arg, 3, 1)), "t")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(STEP, PROBES), min_size=5, max_size=30), hour=st.sampled_from([6, 9, 13, 21, 23]),
       micro=st.integers(0, 999_999))
def test_the_one_statement_heartbeat_is_the_domain_on_random_states(sqlite_template, tmp_path_factory, pg_admin,
                                                                     steps, hour, micro):
    svc, clock = _service(sqlite_template, tmp_path_factory.mktemp("in1"), "db",
                          shanghai(2026, 12, 2, hour, 0) + timedelta(microseconds=micro), pg_admin)
    try:
        users.set_verification(svc, KID, Verification("verified", date(2014, 6, 15)), "t")
        tabs: list[str | None] = [sessions.start(svc, KID, "t").session_id, None]
        for (kind, arg, seconds), offsets in steps:
            clock.advance(seconds=seconds)
            before = list(tabs)
            apply(svc, clock, tabs, kind, arg)
            for sid in {*before, *tabs} - {None}:  # the running sessions, and one that just ended
                for t in instants(svc, sid, clock.now(), offsets):
                    probe(svc, sid, t)
    finally:
        _dispose(svc, pg_admin)


def test_the_probe_sees_the_statement_answer_a_minutely_session(sqlite_template, tmp_path, pg_admin):
    """(Guards the property above against testing nothing: on a plain session beating once a
    minute the statement answers, and the domain with it.)"""
    svc, clock = _service(sqlite_template, tmp_path, "minutely", shanghai(2026, 12, 2, 9, 0), pg_admin)
    try:
        users.set_verification(svc, KID, Verification("verified", date(2014, 6, 15)), "t")
        sid = sessions.start(svc, KID, "t").session_id
        answered = []
        for _ in range(10):
            clock.advance(seconds=60)
            answered.append(probe(svc, sid, clock.now()))
            sessions.heartbeat(svc, sid, "t")
        assert answered[0] is False and all(answered[1:])  # the start stored no decision to move on from
        assert probe(svc, sid, clock.now() + timedelta(seconds=121)) is False  # past the grace
    finally:
        _dispose(svc, pg_admin)
