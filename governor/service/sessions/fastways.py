"""A heartbeat that only moves the user's stored decision on (domain/fastpath.py), without the
user's lock: on PostgreSQL commonly one statement (`in_one`), else one read and one compare-and-set
write (`fast`); and the locked way's move of the stored decision (`advance`)."""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone

from governor.domain import fastpath, ledger
from governor.domain.decision import Decision
from governor.domain.engine import reset_gap
from governor.domain.policy import Policy
from governor.service.context import Services
from governor.service.sessions import steps
from governor.store import sessions, usage
from governor.store.sql import Tx
from governor.store.users import UserRow

log = logging.getLogger(__name__)
MS = timedelta(milliseconds=1)
UTC = timezone.utc


def in_one(svc: Services, session_id: str, client: str) -> Decision | None:
    """PostgreSQL: the commonest heartbeat (a session that booked the user's latest use goes on,
    inside its stored decision's validity, on the policy zone's today, for a user without a zone
    of their own) in one statement (store/sessions.heartbeat_in_one), which does what `fast`
    would do in two; the answer is the stored decision moved on, as there. None when it is not
    that case: nothing was written. The policy version is the latest this process has seen."""
    version = svc.policy_seen
    if svc.db.sqlite or version is None:
        return None
    policy = svc.policy_at(version)
    tz = steps.zone(policy, None)
    now = svc.clock.now()
    today = now.astimezone(tz).date()
    with svc.db.hot_cas() as tx:
        done = sessions.heartbeat_in_one(tx, session_id, client, now, svc.grace,
                                         datetime.combine(today, time(0), tzinfo=tz), today, version)
    if done is None:
        return None
    decision = fastpath.advance(
        fastpath.load(done.outlook, tz), facts_version=done.facts_version, policy_version=version,
        booked_from=done.booked_from, streak_kept=True, session_ends_at=done.ends_before,
        used_today=timedelta(milliseconds=done.used_ms), now=now)
    if decision is None or decision.ends_at != done.ends_at:  # a bug: the statement and the domain disagree
        log.error("heartbeat %s: the one-statement way and fastpath.advance disagree (%s, %s)",
                  session_id, decision and decision.ends_at, done.ends_at)
        return None  # the time is booked; the next way books nothing more and decides
    return decision


def fast(svc: Services, session_id: str, client: str, tx: Tx | None = None) -> Decision | None:
    """A heartbeat that only moves the session's stored decision on (domain/fastpath.py): one
    read, the booking worked out here, one write (store/sessions.save_heartbeat). None when it
    needs more (no stored decision, a purpose or uncounted marks, a booking that is not all on
    today's booked row, a fact or a version changed, many intervals to prune, a user's row
    changed since the read): the full way. On PostgreSQL (no `tx`) the read takes no lock and the
    write is a compare-and-set; on SQLite both run in the caller's write transaction `tx`, the
    only writer, which goes on the full way when this gives up."""
    if tx is not None:
        moved = moved_on(svc, tx, session_id, client)
        if moved is not None:
            sessions.save_heartbeat(tx, *moved[1:])
        return moved and moved[0]
    with svc.db.hot_read() as tx:
        moved = moved_on(svc, tx, session_id, client)
    if moved is None:
        return None
    with svc.db.hot_cas() as tx:
        return moved[0] if sessions.save_heartbeat(tx, *moved[1:]) else None


def moved_on(svc: Services, tx: Tx, session_id: str,
             client: str) -> tuple[Decision, sessions.HeartbeatView, date, int] | None:
    """`fast`'s read and working out: the decision, the view read, and the milliseconds booked
    on `today`, which the view's objects now hold; None when the fast way does not apply: the
    rule (fastpath.eligible), or a booking this write cannot make (uncounted time to mark, days
    other than today's booked row, many intervals to prune)."""
    view = sessions.heartbeat_view(tx, session_id, client, days_around(svc.clock.now()))
    if view is None:
        return None
    user, session = view.user, view.session
    svc.policy_seen = user.policy_version
    if session.ended_at is not None or user.marked != "[]":
        return None
    policy = svc.policy_at(user.policy_version)
    now = svc.clock.now()
    interval = ledger.covered_interval(session.last_seen_at, now, svc.grace, session.ends_at)
    if interval is None:
        return None
    tz = steps.zone(policy, user)
    snap = fastpath.load(user.outlook, tz)
    rule = dict(facts_version=user.facts_version, policy_version=policy.version, booked_from=interval[0],
                session_ends_at=session.ends_at, now=now, purpose=session.purpose)
    if not fastpath.eligible(snap, streak_kept=True, **rule):  # the rule on what is known before booking
        return None
    # The snapshot's band is today's: it holds until midnight (a birthday) or a new verification.
    gap = reset_gap(policy.bands[snap.decision.band])
    booking = ledger.book(user.activity, interval, gap)  # other sessions' credit can only keep a run going on
    today = now.astimezone(tz).date()
    booked = [(day, round(t / MS)) for piece in booking.pieces for day, t in ledger.split_by_day(piece, tz)]
    if any(day != today for day, _ in booked) or today not in view.used or len(booking.activity.recent) > 8:
        return None
    ms = sum(n for _, n in booked)
    decision = fastpath.advance(snap, streak_kept=ledger.run_goes_on(user.activity, booking.activity, now, gap),
                                used_today=timedelta(milliseconds=view.used[today] + ms), **rule)
    if decision is None:
        return None
    user.activity = booking.activity  # pruned the full way: intervals kept longer overlap nothing new
    session.counted_ms += round((interval[1] - interval[0]) / MS)
    session.last_seen_at, session.ends_at = now, decision.ends_at
    return decision, view, today, ms


def days_around(now: datetime) -> tuple[date, date, date]:
    """The three dates one of which is today wherever the user lives."""
    d = now.astimezone(UTC).date()
    return d - timedelta(days=1), d, d + timedelta(days=1)


def advance(tx: Tx, policy: Policy, user: UserRow, acc: steps.Accrual, ends_at: datetime | None,
            now: datetime, purpose: str | None = None) -> Decision | None:
    """The locked way's: the stored decision moved on by the time just booked, when the rule
    (fastpath.eligible) allows."""
    snap = fastpath.load(user.outlook, steps.zone(policy, user))
    rule = dict(facts_version=user.facts_version, policy_version=policy.version, booked_from=acc.booked_from,
                streak_kept=acc.streak_kept, session_ends_at=ends_at, now=now, purpose=purpose)
    if not fastpath.eligible(snap, **rule):
        return None
    today = steps.local_day(now, policy, user)
    used = acc.used.get(today)
    if used is None:
        used = usage.add(tx, user.pk, today)
    return fastpath.advance(snap, used_today=used, **rule)
