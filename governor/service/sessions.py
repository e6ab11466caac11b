"""Sessions: admission, heartbeats, ends and the sweeper, each one transaction under the user's
lock: gather the facts, let the pure core decide, apply the result and its audit event."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from governor.audit import Entry, append_user_event
from governor.domain import ledger
from governor.domain.controls import strictest
from governor.domain.engine import Decision, Usage, UserFacts, band_of, decide, reset_gap
from governor.domain.policy import Policy
from governor.errors import SessionEnded, SessionNotFound
from governor.service import purposes
from governor.service.context import Services
from governor.store import guardians as guardian_store
from governor.store import repo
from governor.store.tables import ChatSession, User

SWEEPER = "governor-sweeper"


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


def start(svc: Services, user_id: str, client: str, purpose: str | None = None) -> Started:
    with svc.db.write() as s:
        policy = svc.policy(s)
        purposes.check(policy, purpose)
        now = svc.clock.now()
        user = repo.lock_user(s, user_id, now)
        facts, usage, active = _gather(s, policy, user, user_id, now)
        decision = decide(policy, facts, usage, now, purpose=purpose)
        session_id = None
        if decision.allowed:
            session_id = repo.new_session_id()
            s.add(ChatSession(id=session_id, user_pk=user.pk, client=client, started_at=now, last_seen_at=now,
                              ends_at=decision.ends_at, policy_version=policy.version, purpose=purpose))
            repo.add_usage(s, user.pk, _local_day(now, policy, user), sessions=1)
            _book(user, policy, facts, (now, now), now)
            _audit(s, user, now, client, "session.started", decision,
                   {"session_id": session_id, "ends_at": _iso(decision.ends_at),
                    **({"purpose": purpose} if purpose else {})})
        else:
            _audit(s, user, now, client, "session.refused", decision, {"retry_at": _iso(decision.retry_at)})
        _prune(user, [a.last_seen_at for a in active] + ([now] if session_id else []))
        return Started(decision, session_id)


def heartbeat(svc: Services, session_id: str, client: str) -> Decision:
    """Accrue the time since the last heartbeat and decide again; a refusal ends the session."""
    with svc.db.write() as s:
        policy = svc.policy(s)
        session, user = _locked(s, session_id)
        now = svc.clock.now()
        covered_until = _accrue(svc, s, policy, user, session, now)
        facts, usage, others = _gather(s, policy, user, user.user_id, now, exclude=session.id)
        decision = decide(policy, facts, usage, now, continuing=True, purpose=session.purpose)
        if decision.allowed and session.ends_at is not None and now >= session.ends_at:
            decision = _overdue(policy, facts, usage, session.ends_at, now, decision, _zone(policy, user),
                                session.purpose)
        if decision.allowed:
            session.ends_at = decision.ends_at
            others.append(session)
        else:
            _end(s, user, session, covered_until, decision.reason.value, client, decision, now)
        _prune(user, [a.last_seen_at for a in others])
        return decision


def end(svc: Services, session_id: str, client: str) -> Ended:
    """End a session (idempotent): the time since its last heartbeat counts, as a heartbeat's."""
    with svc.db.write() as s:
        policy = svc.policy(s)
        found = repo.lock_session(s, session_id)
        if found is None:
            raise SessionNotFound(f"no session {session_id!r}")
        session, user = found
        now = svc.clock.now()
        if session.ended_at is None:
            covered_until = _accrue(svc, s, policy, user, session, now)
            facts, usage, others = _gather(s, policy, user, user.user_id, now, exclude=session.id)
            _end(s, user, session, covered_until, "client", client, decide(policy, facts, usage, now), now)
            _prune(user, [a.last_seen_at for a in others])
        facts, usage, _ = _gather(s, policy, user, user.user_id, now)
        return Ended(decide(policy, facts, usage, now), session.id, session.counted_ms // 1000, session.end_reason)


def status(svc: Services, user_id: str, purpose: str | None = None) -> Status:
    """The decision for a session (of `purpose`) started now; reads only (an unknown user is a new one)."""
    with svc.db.read() as s:
        policy = svc.policy(s)
        purposes.check(policy, purpose)
        now = svc.clock.now()
        user = repo.user_row(s, user_id)
        facts, usage, active = _gather(s, policy, user, user_id, now)
        return Status(decide(policy, facts, usage, now, purpose=purpose), facts, len(active))


def sweep(svc: Services) -> int:
    """Close sessions silent past the grace, counting their time up to the grace. Each session
    is closed in its own short transaction, re-checked under its user's lock, so running two
    sweepers at once (or a late heartbeat) closes it once."""
    closed = 0
    with svc.db.read() as s:
        stale = repo.stale_session_ids(s, svc.clock.now() - svc.grace)
    for session_id in stale:
        with svc.db.write() as s:
            policy = svc.policy(s)
            found = repo.lock_session(s, session_id)
            now = svc.clock.now()
            if found is None or found[0].ended_at is not None or found[0].last_seen_at >= now - svc.grace:
                continue
            session, user = found
            covered_until = _accrue(svc, s, policy, user, session, now)
            facts, usage, others = _gather(s, policy, user, user.user_id, now, exclude=session.id)
            _end(s, user, session, covered_until, "timeout", SWEEPER, decide(policy, facts, usage, now), now)
            _prune(user, [a.last_seen_at for a in others])
            closed += 1
    return closed


# -- the steps --------------------------------------------------------------------------------

def _locked(s: Session, session_id: str) -> tuple[ChatSession, User]:
    found = repo.lock_session(s, session_id)
    if found is None:
        raise SessionNotFound(f"no session {session_id!r}")
    session, user = found
    if session.ended_at is not None:
        raise SessionEnded(f"session {session_id} has ended ({session.end_reason})", end_reason=session.end_reason)
    return session, user


def _gather(s: Session, policy: Policy, user: User | None, user_id: str, now: datetime,
            exclude: str | None = None) -> tuple[UserFacts, Usage, list[ChatSession]]:
    pk = user.pk if user is not None else None
    today = _local_day(now, policy, user)
    monday = today - timedelta(days=today.weekday())
    used, granted = repo.days(s, pk, monday, today, today + timedelta(days=7))
    facts = repo.user_facts(user, user_id, granted)
    facts = replace(facts, controls=strictest(guardian_store.controls_of_user(s, pk)))  # section 7
    active = [a for a in repo.active_sessions(s, pk) if a.id != exclude]
    act = repo.activity(user) if user is not None else ledger.Activity()
    usage = Usage(days=used, streak_start=act.streak_start,
                  last_active=act.last_active, active_ends=tuple(a.ends_at for a in active),
                  uncounted=guardian_store.uncounted(s, pk, monday, today))
    return facts, usage, active


def _accrue(svc: Services, s: Session, policy: Policy, user: User, session: ChatSession, now: datetime) -> datetime:
    """Book the session's time since it was last seen; return the end of what it covers."""
    interval = ledger.covered_interval(session.last_seen_at, now, svc.grace, session.ends_at)
    if interval is None:  # the clock stepped backwards: nothing to count, nothing moves back
        return session.last_seen_at
    facts = repo.user_facts(user, user.user_id, {})
    pieces = _book(user, policy, facts, interval, now)
    for piece in pieces:
        for day, used in ledger.split_by_day(piece, _zone(policy, user)):
            repo.add_usage(s, user.pk, day, used)
    purposes.account(s, policy, user, session.purpose, interval, pieces, now)  # section 7
    session.counted_ms += round((interval[1] - interval[0]) / timedelta(milliseconds=1))
    session.last_seen_at = now
    return interval[1]


def _book(user: User, policy: Policy, facts: UserFacts, interval, now: datetime):
    tz = _zone(policy, user)
    rules = policy.bands[band_of(facts.verification, now.astimezone(tz).date(), now)]
    booking = ledger.book(repo.activity(user), interval, reset_gap(rules))
    repo.store_activity(user, booking.activity)
    return booking.pieces


def _overdue(policy: Policy, facts: UserFacts, usage: Usage, ends_at: datetime, now: datetime,
             current: Decision, tz: ZoneInfo, purpose: str | None = None) -> Decision:
    """A heartbeat at or after `ends_at` ends the session (DESIGN 3), even when what ended it has
    lifted meanwhile (the client slept through the break, the night, or midnight): the reason
    is the one that held at `ends_at`, and a new session may start at once."""
    at_end = decide(policy, facts, usage, ends_at, continuing=True, purpose=purpose)
    if at_end.allowed:  # the session fell silent past its grace long before ends_at
        return current
    start_now = decide(policy, facts, usage, now, purpose=purpose)
    if not start_now.allowed:
        return start_now
    return replace(current, allowed=False, reason=at_end.reason, ends_at=None, retry_at=now.astimezone(tz),
                   warnings=())


def _prune(user: User, last_seen: list[datetime]) -> None:
    """Keep only the booked intervals that a still-active session could overlap."""
    keep_from = min(last_seen, default=None)
    repo.store_activity(user, ledger.prune(repo.activity(user), keep_from))
    purposes.prune(user, keep_from)


def _end(s: Session, user: User, session: ChatSession, at: datetime, reason: str, client: str,
         decision: Decision, now: datetime) -> None:
    """End the session at `at`, the end of the time it covers (never past its ends_at)."""
    session.ended_at, session.end_reason = max(at, session.started_at), reason
    _audit(s, user, now, client, "session.ended", decision,
           {"session_id": session.id, "ended_at": _iso(session.ended_at),
            "duration_seconds": session.counted_ms // 1000}, reason=reason)


def _audit(s: Session, user: User, at: datetime, client: str, action: str, decision: Decision,
           data: dict, reason: str | None = None) -> None:
    append_user_event(s, user, at, Entry(client=client, action=action, reason=reason or decision.reason.value,
                                         policy_name=decision.policy_name,
                                         policy_version=decision.policy_version,
                                         data={**data, "band": decision.band.value}))


def _zone(policy: Policy, user: User | None) -> ZoneInfo:
    return policy.zone(user.timezone if user is not None else None)


def _local_day(now: datetime, policy: Policy, user: User | None) -> date:
    return now.astimezone(_zone(policy, user)).date()


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()
