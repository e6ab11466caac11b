"""The steps the session use cases share: gather the facts, book the time, end a session, audit."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from governor.domain import fastpath, ledger
from governor.domain.bands import band_of
from governor.domain.controls import strictest
from governor.domain.decision import Decision, Usage, UserFacts
from governor.domain.engine import decide, reset_gap
from governor.domain.policy import Policy
from governor.errors import SessionNotFound
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


@dataclass(frozen=True)
class Accrual:
    covered_until: datetime  # the end of the time the session now covers
    booked_from: datetime | None  # where the booked interval began; None when the clock went back
    streak_kept: bool  # the run goes on as it was (ledger.run_goes_on)
    used: dict[date, timedelta]  # the new totals of the days booked to


def locked(tx: Tx, session_id: str, client: str) -> tuple[UserRow, SessionRow]:
    """The session and its user, locked; not found when another client started it (a frontend
    acts on its own sessions only)."""
    user = users.lock_by_session(tx, session_id)
    session = user and sessions.get(tx, session_id, client)
    if session is None:
        raise SessionNotFound(f"no session {session_id!r}")
    return user, session


def gather(tx: Tx, policy: Policy, user: UserRow | None, user_id: str, now: datetime, grace: timedelta,
             exclude: str | None = None) -> tuple[UserFacts, Usage, list[Active]]:
    pk = user.pk if user is not None else None
    today = local_day(now, policy, user)
    monday = today - timedelta(days=today.weekday())
    got = facts_store.gather(tx, pk, monday, today, today + timedelta(days=7))
    facts = replace(repo.user_facts(user, user_id, got.granted), controls=strictest(got.controls),  # section 7
                    guardian_consents=got.consents)  # section 8
    active = [a for a in got.active if a.id != exclude]
    act = user.activity if user is not None else ledger.Activity()
    use = Usage(days=got.used, streak_start=act.streak_start, last_active=act.last_active,
                active_ends=tuple(a.ends_at for a in active), uncounted=got.uncounted,
                pending=pending_credits(grace, now, [(a.last_seen_at, a.ends_at) for a in active]))
    return facts, use, active


def accrue(svc: Services, tx: Tx, policy: Policy, user: UserRow, session: SessionRow, now: datetime,
            ending: bool = False) -> Accrual:
    """Book the session's time since it was last seen (the days' rows are written here; the
    user's and the session's rows by the caller); `ending`: the client's own end (see ledger)."""
    interval = ledger.covered_interval(session.last_seen_at, now, svc.grace, session.ends_at, ending=ending)
    if interval is None:  # the clock stepped backwards: nothing to count, nothing moves back
        return Accrual(session.last_seen_at, None, False, {})
    before = user.activity
    facts = repo.user_facts(user, user.user_id, {})
    totals: dict[date, timedelta] = {}
    pending = pending_credits(svc.grace, now, sessions.others_open(tx, session))
    pieces, gap = book(user, policy, facts, interval, now, pending)
    for piece in pieces:
        for day, used in ledger.split_by_day(piece, zone(policy, user)):
            totals[day] = usage.add(tx, user.pk, day, used)
    purposes.account(tx, policy, user, session.purpose, interval, pieces, now)  # section 7
    session.counted_ms += round((interval[1] - interval[0]) / timedelta(milliseconds=1))
    session.last_seen_at = now
    return Accrual(interval[1], interval[0], ledger.run_goes_on(before, user.activity, now, gap), totals)


def book(user: UserRow, policy: Policy, facts: UserFacts, interval, now: datetime,
          pending: tuple[ledger.Interval, ...]) -> tuple[tuple[ledger.Interval, ...], timedelta]:
    """Book `interval` on the user's activity (the other open sessions' `pending` credit counted
    for the run); the newly covered pieces and the band's reset gap."""
    tz = zone(policy, user)
    gap = reset_gap(policy.bands[band_of(policy, facts, now.astimezone(tz).date(), now)])
    booking = ledger.book(user.activity, interval, gap, pending)
    user.activity = booking.activity
    return booking.pieces, gap


def pending_credits(grace: timedelta, now: datetime,
             open_sessions: list[tuple[datetime, datetime | None]]) -> tuple[ledger.Interval, ...]:
    """What the open sessions (last seen, ends at) will still be credited (ledger.pending_credit)."""
    credits = (ledger.pending_credit(seen, ends_at, grace, now) for seen, ends_at in open_sessions)
    return tuple(c for c in credits if c is not None)


def outlook(decision: Decision, now: datetime, user: UserRow, purpose: str | None) -> str | None:
    """The decision to store for the fast path; none for a session of a purpose, whose uncounted
    time does not move the decision as the fast path's arithmetic does (section 7)."""
    return fastpath.take(decision, now, user.facts_version) if purpose is None else None


def close(svc: Services, tx: Tx, policy: Policy, user: UserRow, session: SessionRow, now: datetime,
           reason: str, client: str) -> None:
    """End a running session for `reason` (the client's end or a sweep's timeout), counting its time
    since last seen."""
    acc = accrue(svc, tx, policy, user, session, now, ending=reason == "client")
    facts, use, _ = gather(tx, policy, user, user.user_id, now, svc.grace, exclude=session.id)
    finish(tx, user, session, acc.covered_until, reason, client, decide(policy, facts, use, now), now)
    user.outlook = None  # its interval may have begun before the stored decision: decide afresh
    prune(user, [session.others_seen_from])
    sessions.save(tx, session)
    users.save(tx, user)


def prune(user: UserRow, last_seen: list[datetime | None]) -> None:
    """Keep only the booked intervals that a still-active session could overlap."""
    keep_from = min((t for t in last_seen if t is not None), default=None)
    user.activity = ledger.prune(user.activity, keep_from)
    purposes.prune(user, keep_from)


def finish(tx: Tx, user: UserRow, session: SessionRow, at: datetime, reason: str, client: str,
         decision: Decision, now: datetime) -> None:
    """End the session at `at`, the end of the time it covers (never past its ends_at)."""
    session.ended_at, session.end_reason = max(at, session.started_at), reason
    audit(tx, user, now, client, "session.ended", decision,
           {"session_id": session.id, "ended_at": iso(session.ended_at),
            "duration_seconds": session.counted_ms // 1000}, reason=reason)
    outbox.session_ended(tx, user, session, reason, now)  # section 9: every end but the client's own


def audit(tx: Tx, user: UserRow, at: datetime, client: str, action: str, decision: Decision,
           data: dict, reason: str | None = None) -> None:
    append_to_user_chain(tx, user, at, Entry(client=client, action=action, reason=reason or decision.reason.value,
                                             policy_name=decision.policy_name,
                                             policy_version=decision.policy_version,
                                             data={**data, "band": decision.band.value}))


def zone(policy: Policy, user: UserRow | None) -> ZoneInfo:
    return policy.zone(user.timezone if user is not None else None)


def local_day(now: datetime, policy: Policy, user: UserRow | None) -> date:
    return now.astimezone(zone(policy, user)).date()


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()
