"""Sessions: admission, heartbeats, ends and the sweeper, each one short transaction under the
user's lock: gather the facts, let the pure core decide, apply the result and its audit event.

These are the hot paths: they run on the DB-API connection (store/sql.py). A heartbeat that
changes nothing but the time used answers from the user's stored decision (domain/fastpath.py)
and takes no lock: one read of the user, the session and the day, one compare-and-set write (on
PostgreSQL, commonly, both in one statement). A status reads only the user's row when this process
has seen that row before (`_seen`), and an idle child's status moves an earlier decision on.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from governor.domain import fastpath, ledger
from governor.domain.bands import band_of
from governor.domain.controls import strictest
from governor.domain.decision import Decision, Usage, UserFacts
from governor.domain.engine import decide, decide_heartbeat, reset_gap
from governor.domain.policy import Policy
from governor.errors import SessionEnded, SessionNotFound
from governor.service import purposes
from governor.service.audit import Entry, append_to_user_chain
from governor.service.context import Services
from governor.service.webhooks import outbox
from governor.store import facts as facts_store
from governor.store import repo, sessions, usage, users
from governor.store.facts import Active
from governor.store.sessions import SessionRow
from governor.store.sql import Tx
from governor.store.users import UserRow

SWEEPER = "governor-sweeper"
log = logging.getLogger(__name__)
MS = timedelta(milliseconds=1)
STATUSES_KEPT = 5_000  # users whose status facts a process keeps (about 4 KB each), then it starts again
UTC = timezone.utc


@dataclass(frozen=True)
class Started:
    decision: Decision
    session_id: str | None


@dataclass(frozen=True)
class Ended:
    decision: Decision
    session_id: str
    duration_seconds: int
    end_reason: str


@dataclass(frozen=True)
class Status:
    decision: Decision
    facts: UserFacts
    active_sessions: int


@dataclass(frozen=True)
class Accrual:
    covered_until: datetime  # the end of the time the session now covers
    booked_from: datetime | None  # where the booked interval began; None when the clock went back
    streak_kept: bool  # the run goes on as it was (ledger.run_goes_on)
    used: dict[date, timedelta]  # the new totals of the days booked to


def start(svc: Services, user_id: str, client: str, purpose: str | None = None) -> Started:
    with svc.db.hot_write() as tx:
        now = svc.clock.now()
        user = users.get_or_create_locked(tx, user_id, now)
        policy = svc.policy_at(user.policy_version)
        purposes.check(policy, purpose)
        facts, use, active = _gather(tx, policy, user, user_id, now, svc.grace)
        decision = decide(policy, facts, use, now, purpose=purpose)
        session_id = None
        if decision.allowed:
            session_id = sessions.new_id(user.pk)
            sessions.insert(tx, session_id, user.pk, client, now, decision.ends_at, policy.version, purpose)
            usage.add(tx, user.pk, _local_day(now, policy, user), sessions=1)
            _book(user, policy, facts, (now, now), now, use.pending)
            user.outlook = _outlook(decision, now, user, purpose)
            _audit(tx, user, now, client, "session.started", decision,
                   {"session_id": session_id, "ends_at": _iso(decision.ends_at),
                    **({"purpose": purpose} if purpose else {})})
        else:
            _audit(tx, user, now, client, "session.refused", decision, {"retry_at": _iso(decision.retry_at)})
        _prune(user, [a.last_seen_at for a in active] + ([now] if session_id else []))
        users.save(tx, user)
        return Started(decision, session_id)


def heartbeat(svc: Services, session_id: str, client: str) -> Decision:
    """Accrue the time since the last heartbeat and decide again; a refusal ends the session.

    Most heartbeats only move the stored decision on (`_fast`). On PostgreSQL that is one read
    without a lock and one compare-and-set write, the commonest of them in one statement
    (`_in_one`); on SQLite it runs first in the write transaction. Anything else, or a user whose
    data changed in between, takes the full way under the user's lock."""
    decision = _in_one(svc, session_id, client)  # PostgreSQL's commonest heartbeat; None on SQLite
    if decision is None and not svc.db.sqlite:
        decision = _fast(svc, session_id, client)  # lock-free: a read and a compare-and-set
    if decision is not None:
        return decision
    with svc.db.hot_write() as tx:
        decision = _fast(svc, session_id, client, tx) if svc.db.sqlite else None
        if decision is not None:
            return decision
        user, session = _locked(tx, session_id, client)
        if session.ended_at is not None:
            raise SessionEnded(f"session {session_id} has ended ({session.end_reason})",
                               end_reason=session.end_reason)
        policy = svc.policy_at(user.policy_version)
        now = svc.clock.now()
        ends_before = session.ends_at
        acc = _accrue(svc, tx, policy, user, session, now)
        decision = _advance(tx, policy, user, acc, ends_before, now) if session.purpose is None else None
        if decision is None:
            facts, use, _ = _gather(tx, policy, user, user.user_id, now, svc.grace, exclude=session.id)
            decision = decide_heartbeat(policy, facts, use, now, ends_before, session.purpose,
                                        credited_until=acc.covered_until)
            user.outlook = _outlook(decision, now, user, session.purpose)
        if decision.allowed:
            session.ends_at = decision.ends_at
        else:
            _end(tx, user, session, acc.covered_until, decision.reason.value, client, decision, now)
        _prune(user, [session.others_seen_from] + ([now] if decision.allowed else []))
        sessions.save(tx, session)
        users.save(tx, user)
        return decision


def end(svc: Services, session_id: str, client: str) -> Ended:
    """End a session (idempotent): the time since its last heartbeat counts, up to its ends_at
    (ledger.covered_interval: the client's own end)."""
    with svc.db.hot_write() as tx:
        user, session = _locked(tx, session_id, client)
        policy = svc.policy_at(user.policy_version)
        now = svc.clock.now()
        if session.ended_at is not None:
            facts, use, _ = _gather(tx, policy, user, user.user_id, now, svc.grace)
            return Ended(decide(policy, facts, use, now), session.id, session.counted_ms // 1000, session.end_reason)
        _close(svc, tx, policy, user, session, now, "client", client)
        facts, use, _ = _gather(tx, policy, user, user.user_id, now, svc.grace, exclude=session.id)
        return Ended(decide(policy, facts, use, now), session.id, session.counted_ms // 1000, session.end_reason)


def status(svc: Services, user_id: str, purpose: str | None = None) -> Status:
    """The decision for a session (of `purpose`) started now; reads only (an unknown user is a new one)."""
    with svc.db.hot_read() as tx:
        now = svc.clock.now()
        seen = _seen(svc, tx, user_id, now)
    policy, facts, use = seen.policy, seen.facts, seen.use
    purposes.check(policy, purpose)
    if purpose is not None:
        return Status(decide(policy, facts, use, now, purpose=purpose), facts, len(seen.active))
    decision = _status_from_snapshot(policy, seen.user, facts, use, now) or fastpath.for_idle(seen.idle, now)
    if decision is None:
        decision = decide(policy, facts, use, now)
        seen.idle = fastpath.idle(policy, facts, use, now, decision)
    return Status(decision, facts, len(seen.active))


@dataclass(slots=True)
class _Seen:
    """What a status read of a user: their row (as the driver gave it and decoded), the policy,
    the local day, what `_gather` found, and the idle decision (domain/fastpath.Idle) if any."""

    raw: tuple | None
    user: UserRow | None
    policy: Policy
    day: date
    facts: UserFacts
    use: Usage
    active: list[Active]
    idle: fastpath.Idle | None = None


def _seen(svc: Services, tx: Tx, user_id: str, now: datetime) -> _Seen:
    """The user, their policy and what `_gather` finds, for a status. A user's row changes with
    every change of anything of theirs (docs/decisions.md) but one: a heartbeat whose time was
    already booked (or at once pruned) moves only its session, which the read's last column
    shows. So what was gathered with the same row on the same local day is still what the
    database holds: it is kept, per process, and a repeated status reads only the user's row."""
    raw = users.get_seen(tx, user_id)
    seen = svc.statuses.get(user_id) if raw is not None else None
    if seen is not None and seen.raw == raw and _local_day(now, seen.policy, seen.user) == seen.day:
        return seen
    user = users.from_row(tx, raw)
    policy = svc.policy_at(user.policy_version if user is not None else users.policy_version(tx))
    seen = _Seen(raw, user, policy, _local_day(now, policy, user),
                 *_gather(tx, policy, user, user_id, now, svc.grace))
    if raw is not None:
        if len(svc.statuses) >= STATUSES_KEPT:
            svc.statuses.clear()
        svc.statuses[user_id] = seen
    return seen


def sweep(svc: Services) -> int:
    """Close sessions silent past the grace, counting their time up to the grace. Each session
    is closed in its own short transaction, re-checked under its user's lock, so running two
    sweepers at once (or a late heartbeat) closes it once."""
    closed = 0
    with svc.db.hot_read() as tx:
        stale = sessions.stale_ids(tx, svc.clock.now() - svc.grace)
    for session_id in stale:
        with svc.db.hot_write() as tx:
            found = users.lock_by_session(tx, session_id)
            session = found and sessions.get(tx, session_id)
            now = svc.clock.now()
            if session is None or session.ended_at is not None or session.last_seen_at >= now - svc.grace:
                continue
            _close(svc, tx, svc.policy_at(found.policy_version), found, session, now, "timeout", SWEEPER)
            closed += 1
    return closed


# -- the steps --------------------------------------------------------------------------------

def _in_one(svc: Services, session_id: str, client: str) -> Decision | None:
    """PostgreSQL: the commonest heartbeat (a session that booked the user's latest use goes on,
    inside its stored decision's validity, on the policy zone's today, for a user without a zone
    of their own) in one statement (store/sessions.heartbeat_in_one), which does what `_fast`
    would do in two; the answer is the stored decision moved on, as there. None when it is not
    that case: nothing was written. The policy version is the latest this process has seen."""
    version = svc.policy_seen
    if svc.db.sqlite or version is None:
        return None
    policy = svc.policy_at(version)
    tz = _zone(policy, None)
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


def _fast(svc: Services, session_id: str, client: str, tx: Tx | None = None) -> Decision | None:
    """A heartbeat that only moves the session's stored decision on (domain/fastpath.py): one
    read, the booking worked out here, one write (store/sessions.save_heartbeat). None when it
    needs more (no stored decision, a purpose or uncounted marks, a booking that is not all on
    today's booked row, a fact or a version changed, many intervals to prune, a user's row
    changed since the read): the full way. On PostgreSQL (no `tx`) the read takes no lock and the
    write is a compare-and-set; on SQLite both run in the caller's write transaction `tx`, the
    only writer, which goes on the full way when this gives up."""
    if tx is not None:
        moved = _moved_on(svc, tx, session_id, client)
        if moved is not None:
            sessions.save_heartbeat(tx, *moved[1:])
        return moved and moved[0]
    with svc.db.hot_read() as tx:
        moved = _moved_on(svc, tx, session_id, client)
    if moved is None:
        return None
    with svc.db.hot_cas() as tx:
        return moved[0] if sessions.save_heartbeat(tx, *moved[1:]) else None


def _moved_on(svc: Services, tx: Tx, session_id: str,
              client: str) -> tuple[Decision, sessions.HeartbeatView, date, int] | None:
    """`_fast`'s read and working out: the decision, the view read, and the milliseconds booked
    on `today`, which the view's objects now hold; None when the fast way does not apply."""
    view = sessions.heartbeat_view(tx, session_id, client, _days_around(svc.clock.now()))
    if view is None:
        return None
    user, session = view.user, view.session
    svc.policy_seen = user.policy_version
    if session.ended_at is not None or session.purpose is not None or user.outlook is None or user.marked != "[]":
        return None
    policy = svc.policy_at(user.policy_version)
    now = svc.clock.now()
    interval = ledger.covered_interval(session.last_seen_at, now, svc.grace, session.ends_at)
    if interval is None:
        return None
    tz = _zone(policy, user)
    snap = fastpath.load(user.outlook, tz)
    if snap.facts_version != user.facts_version or snap.decision.policy_version != policy.version:
        return None
    # The snapshot's band is today's: it holds until midnight (a birthday) or a new verification.
    gap = reset_gap(policy.bands[snap.decision.band])
    booking = ledger.book(user.activity, interval, gap)  # other sessions' credit can only keep a run going on
    today = now.astimezone(tz).date()
    booked = [(day, round(t / MS)) for piece in booking.pieces for day, t in ledger.split_by_day(piece, tz)]
    if any(day != today for day, _ in booked) or today not in view.used or len(booking.activity.recent) > 8:
        return None
    ms = sum(n for _, n in booked)
    decision = fastpath.advance(
        snap, facts_version=user.facts_version, policy_version=policy.version,
        booked_from=interval[0], streak_kept=ledger.run_goes_on(user.activity, booking.activity, now, gap),
        session_ends_at=session.ends_at, used_today=timedelta(milliseconds=view.used[today] + ms), now=now)
    if decision is None:
        return None
    user.activity = booking.activity  # pruned the full way: intervals kept longer overlap nothing new
    session.counted_ms += round((interval[1] - interval[0]) / MS)
    session.last_seen_at, session.ends_at = now, decision.ends_at
    return decision, view, today, ms


def _days_around(now: datetime) -> tuple[date, date, date]:
    """The three dates one of which is today wherever the user lives."""
    d = now.astimezone(UTC).date()
    return d - timedelta(days=1), d, d + timedelta(days=1)


def _locked(tx: Tx, session_id: str, client: str) -> tuple[UserRow, SessionRow]:
    """The session and its user, locked; not found when another client started it (a frontend
    acts on its own sessions only)."""
    user = users.lock_by_session(tx, session_id)
    session = user and sessions.get(tx, session_id, client)
    if session is None:
        raise SessionNotFound(f"no session {session_id!r}")
    return user, session


def _gather(tx: Tx, policy: Policy, user: UserRow | None, user_id: str, now: datetime, grace: timedelta,
             exclude: str | None = None) -> tuple[UserFacts, Usage, list[Active]]:
    pk = user.pk if user is not None else None
    today = _local_day(now, policy, user)
    monday = today - timedelta(days=today.weekday())
    got = facts_store.gather(tx, pk, monday, today, today + timedelta(days=7))
    facts = replace(repo.user_facts(user, user_id, got.granted), controls=strictest(got.controls),  # section 7
                    guardian_consents=got.consents)  # section 8
    active = [a for a in got.active if a.id != exclude]
    act = user.activity if user is not None else ledger.Activity()
    use = Usage(days=got.used, streak_start=act.streak_start, last_active=act.last_active,
                active_ends=tuple(a.ends_at for a in active), uncounted=got.uncounted,
                pending=_pending(grace, now, [(a.last_seen_at, a.ends_at) for a in active]))
    return facts, use, active


def _accrue(svc: Services, tx: Tx, policy: Policy, user: UserRow, session: SessionRow, now: datetime,
            ending: bool = False) -> Accrual:
    """Book the session's time since it was last seen (the days' rows are written here; the
    user's and the session's rows by the caller); `ending`: the client's own end (see ledger)."""
    interval = ledger.covered_interval(session.last_seen_at, now, svc.grace, session.ends_at, ending=ending)
    if interval is None:  # the clock stepped backwards: nothing to count, nothing moves back
        return Accrual(session.last_seen_at, None, False, {})
    before = user.activity
    facts = repo.user_facts(user, user.user_id, {})
    totals: dict[date, timedelta] = {}
    pending = _pending(svc.grace, now, sessions.others_open(tx, session))
    pieces, gap = _book(user, policy, facts, interval, now, pending)
    for piece in pieces:
        for day, used in ledger.split_by_day(piece, _zone(policy, user)):
            totals[day] = usage.add(tx, user.pk, day, used)
    purposes.account(tx, policy, user, session.purpose, interval, pieces, now)  # section 7
    session.counted_ms += round((interval[1] - interval[0]) / timedelta(milliseconds=1))
    session.last_seen_at = now
    return Accrual(interval[1], interval[0], ledger.run_goes_on(before, user.activity, now, gap), totals)


def _book(user: UserRow, policy: Policy, facts: UserFacts, interval, now: datetime,
          pending: tuple[ledger.Interval, ...]) -> tuple[tuple[ledger.Interval, ...], timedelta]:
    """Book `interval` on the user's activity (the other open sessions' `pending` credit counted
    for the run); the newly covered pieces and the band's reset gap."""
    tz = _zone(policy, user)
    gap = reset_gap(policy.bands[band_of(policy, facts, now.astimezone(tz).date(), now)])
    booking = ledger.book(user.activity, interval, gap, pending)
    user.activity = booking.activity
    return booking.pieces, gap


def _pending(grace: timedelta, now: datetime,
             open_sessions: list[tuple[datetime, datetime | None]]) -> tuple[ledger.Interval, ...]:
    """What the open sessions (last seen, ends at) will still be credited (ledger.pending_credit)."""
    credits = (ledger.pending_credit(seen, ends_at, grace, now) for seen, ends_at in open_sessions)
    return tuple(c for c in credits if c is not None)


def _advance(tx: Tx, policy: Policy, user: UserRow, acc: Accrual, ends_at: datetime | None,
             now: datetime) -> Decision | None:
    """The stored decision moved on by the time just booked, when nothing else can have changed."""
    if user.outlook is None:
        return None
    today = _local_day(now, policy, user)
    used = acc.used.get(today)
    if used is None:
        used = usage.add(tx, user.pk, today)
    return fastpath.advance(fastpath.load(user.outlook, _zone(policy, user)), facts_version=user.facts_version,
                            policy_version=policy.version, booked_from=acc.booked_from,
                            streak_kept=acc.streak_kept, session_ends_at=ends_at, used_today=used, now=now)


def _status_from_snapshot(policy: Policy, user: UserRow | None, facts: UserFacts, use: Usage,
                          now: datetime) -> Decision | None:
    """While a session runs, a status is its stored decision moved on (domain/fastpath.py). The
    facts are gathered anyway; the stored decision already reflects them (`facts_version`)."""
    if user is None or user.outlook is None:
        return None
    snap = fastpath.load(user.outlook, _zone(policy, user))
    rules = policy.bands[snap.decision.band]
    return fastpath.for_start(snap, facts_version=user.facts_version, policy_version=policy.version, rules=rules,
                              last_active=use.last_active, used_today=use.days.get(_local_day(now, policy, user),
                                                                                   timedelta(0)), now=now)


def _outlook(decision: Decision, now: datetime, user: UserRow, purpose: str | None) -> str | None:
    """The decision to store for the fast path; none for a session of a purpose, whose uncounted
    time does not move the decision as the fast path's arithmetic does (section 7)."""
    return fastpath.take(decision, now, user.facts_version) if purpose is None else None


def _close(svc: Services, tx: Tx, policy: Policy, user: UserRow, session: SessionRow, now: datetime,
           reason: str, client: str) -> None:
    """End a running session for `reason` (the client's end or a sweep's timeout), counting its time
    since last seen."""
    acc = _accrue(svc, tx, policy, user, session, now, ending=reason == "client")
    facts, use, _ = _gather(tx, policy, user, user.user_id, now, svc.grace, exclude=session.id)
    _end(tx, user, session, acc.covered_until, reason, client, decide(policy, facts, use, now), now)
    user.outlook = None  # its interval may have begun before the stored decision: decide afresh
    _prune(user, [session.others_seen_from])
    sessions.save(tx, session)
    users.save(tx, user)


def _prune(user: UserRow, last_seen: list[datetime | None]) -> None:
    """Keep only the booked intervals that a still-active session could overlap."""
    keep_from = min((t for t in last_seen if t is not None), default=None)
    user.activity = ledger.prune(user.activity, keep_from)
    purposes.prune(user, keep_from)


def _end(tx: Tx, user: UserRow, session: SessionRow, at: datetime, reason: str, client: str,
         decision: Decision, now: datetime) -> None:
    """End the session at `at`, the end of the time it covers (never past its ends_at)."""
    session.ended_at, session.end_reason = max(at, session.started_at), reason
    _audit(tx, user, now, client, "session.ended", decision,
           {"session_id": session.id, "ended_at": _iso(session.ended_at),
            "duration_seconds": session.counted_ms // 1000}, reason=reason)
    outbox.session_ended(tx, user, session, reason, now)  # section 9: every end but the client's own


def _audit(tx: Tx, user: UserRow, at: datetime, client: str, action: str, decision: Decision,
           data: dict, reason: str | None = None) -> None:
    append_to_user_chain(tx, user, at, Entry(client=client, action=action, reason=reason or decision.reason.value,
                                             policy_name=decision.policy_name,
                                             policy_version=decision.policy_version,
                                             data={**data, "band": decision.band.value}))


def _zone(policy: Policy, user: UserRow | None) -> ZoneInfo:
    return policy.zone(user.timezone if user is not None else None)


def _local_day(now: datetime, policy: Policy, user: UserRow | None) -> date:
    return now.astimezone(_zone(policy, user)).date()


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()
