"""A session's life: admission, heartbeats, ends and the sweeper, each one short transaction under
the user's lock (gather, decide, apply), after the fast ways (fastways.py) when a heartbeat allows."""
from __future__ import annotations

from dataclasses import dataclass

from governor.domain.decision import Decision
from governor.domain.engine import decide, decide_heartbeat
from governor.errors import SessionEnded
from governor.service import purposes
from governor.service.context import Services
from governor.service.sessions import fastways, steps
from governor.store import sessions, usage, users

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


def start(svc: Services, user_id: str, client: str, purpose: str | None = None) -> Started:
    with svc.db.hot_write() as tx:
        now = svc.clock.now()
        user = users.get_or_create_locked(tx, user_id, now)
        policy = svc.policy_at(user.policy_version)
        purposes.check(policy, purpose)
        facts, use, active = steps.gather(tx, policy, user, user_id, now, svc.grace)
        decision = decide(policy, facts, use, now, purpose=purpose)
        session_id = None
        if decision.allowed:
            session_id = sessions.new_id(user.pk)
            sessions.insert(tx, session_id, user.pk, client, now, decision.ends_at, policy.version, purpose)
            usage.add(tx, user.pk, steps.local_day(now, policy, user), sessions=1)
            steps.book(user, policy, facts, (now, now), now, use.pending)
            user.outlook = steps.outlook(decision, now, user, purpose)
            steps.audit(tx, user, now, client, "session.started", decision,
                   {"session_id": session_id, "ends_at": steps.iso(decision.ends_at),
                    **({"purpose": purpose} if purpose else {})})
        else:
            steps.audit(tx, user, now, client, "session.refused", decision, {"retry_at": steps.iso(decision.retry_at)})
        steps.prune(user, [a.last_seen_at for a in active] + ([now] if session_id else []))
        users.save(tx, user)
        return Started(decision, session_id)


def heartbeat(svc: Services, session_id: str, client: str) -> Decision:
    """Accrue the time since the last heartbeat and decide again; a refusal ends the session.

    Most heartbeats only move the stored decision on (`fastways.fast`). On PostgreSQL that is one read
    without a lock and one compare-and-set write, the commonest of them in one statement
    (`fastways.in_one`); on SQLite it runs first in the write transaction. Anything else, or a user whose
    data changed in between, takes the full way under the user's lock."""
    decision = fastways.in_one(svc, session_id, client)  # PostgreSQL's commonest heartbeat; None on SQLite
    if decision is None and not svc.db.sqlite:
        decision = fastways.fast(svc, session_id, client)  # lock-free: a read and a compare-and-set
    if decision is not None:
        return decision
    with svc.db.hot_write() as tx:
        decision = fastways.fast(svc, session_id, client, tx) if svc.db.sqlite else None
        if decision is not None:
            return decision
        user, session = steps.locked(tx, session_id, client)
        if session.ended_at is not None:
            raise SessionEnded(f"session {session_id} has ended ({session.end_reason})",
                               end_reason=session.end_reason)
        policy = svc.policy_at(user.policy_version)
        now = svc.clock.now()
        ends_before = session.ends_at
        acc = steps.accrue(svc, tx, policy, user, session, now)
        decision = fastways.advance(tx, policy, user, acc, ends_before, now, session.purpose)
        if decision is None:
            facts, use, _ = steps.gather(tx, policy, user, user.user_id, now, svc.grace, exclude=session.id)
            decision = decide_heartbeat(policy, facts, use, now, ends_before, session.purpose,
                                        credited_until=acc.covered_until)
            user.outlook = steps.outlook(decision, now, user, session.purpose)
        if decision.allowed:
            session.ends_at = decision.ends_at
        else:
            steps.finish(tx, user, session, acc.covered_until, decision.reason.value, client, decision, now)
        steps.prune(user, [session.others_seen_from] + ([now] if decision.allowed else []))
        sessions.save(tx, session)
        users.save(tx, user)
        return decision


def end(svc: Services, session_id: str, client: str) -> Ended:
    """End a session (idempotent): the time since its last heartbeat counts, up to its ends_at
    (ledger.covered_interval: the client's own end)."""
    with svc.db.hot_write() as tx:
        user, session = steps.locked(tx, session_id, client)
        policy = svc.policy_at(user.policy_version)
        now = svc.clock.now()
        if session.ended_at is not None:
            facts, use, _ = steps.gather(tx, policy, user, user.user_id, now, svc.grace)
            return Ended(decide(policy, facts, use, now), session.id, session.counted_ms // 1000, session.end_reason)
        steps.close(svc, tx, policy, user, session, now, "client", client)
        facts, use, _ = steps.gather(tx, policy, user, user.user_id, now, svc.grace, exclude=session.id)
        return Ended(decide(policy, facts, use, now), session.id, session.counted_ms // 1000, session.end_reason)


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
            steps.close(svc, tx, svc.policy_at(found.policy_version), found, session, now, "timeout", SWEEPER)
            closed += 1
    return closed
