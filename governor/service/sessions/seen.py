"""A status: the decision for a session started now, read only. What a status gathered of a user
is kept per process with the user's row it went with (`read`), and an idle child's decision moves
on by arithmetic (fastpath.for_idle)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from governor.domain import fastpath
from governor.domain.bands import AgeNow, age_now
from governor.domain.decision import Decision, Usage, UserFacts
from governor.domain.engine import decide
from governor.domain.policy import Policy
from governor.service import purposes
from governor.service.context import Services
from governor.service.sessions import steps
from governor.store import users
from governor.store.facts import Active
from governor.store.sql import Tx
from governor.store.users import UserRow

STATUSES_KEPT = 5_000  # users whose status facts a process keeps (about 4 KB each), then it starts again


@dataclass(frozen=True)
class Status:
    decision: Decision
    facts: UserFacts
    active_sessions: int
    age: AgeNow  # section 8: the age and consent the status shows


def status(svc: Services, user_id: str, purpose: str | None = None) -> Status:
    """The decision for a session (of `purpose`) started now; reads only (an unknown user is a new one)."""
    with svc.db.hot_read() as tx:
        now = svc.clock.now()
        seen = read(svc, tx, user_id, now)
    policy, facts, use = seen.policy, seen.facts, seen.use
    purposes.check(policy, purpose)
    if seen.age is None or not seen.age.holds(now):  # derived once while it holds, not at every status
        seen.age = age_now(policy, facts, now)
    if purpose is not None:
        return Status(decide(policy, facts, use, now, purpose=purpose), facts, len(seen.active), seen.age)
    decision = from_snapshot(policy, seen.user, facts, use, now) or fastpath.for_idle(seen.idle, now)
    if decision is None:
        decision = decide(policy, facts, use, now)
        seen.idle = fastpath.idle(policy, facts, use, now, decision)
    return Status(decision, facts, len(seen.active), seen.age)


@dataclass(slots=True)
class Seen:
    """What a status read of a user: their row (as the driver gave it and decoded), the policy,
    the local day, what `steps.gather` found, and the idle decision (domain/fastpath.Idle) if any."""

    raw: tuple | None
    user: UserRow | None
    policy: Policy
    day: date
    facts: UserFacts
    use: Usage
    active: list[Active]
    idle: fastpath.Idle | None = None
    age: AgeNow | None = None


def read(svc: Services, tx: Tx, user_id: str, now: datetime) -> Seen:
    """The user, their policy and what `steps.gather` finds, for a status. A user's row changes with
    every change of anything of theirs (docs/decisions.md) but one: a heartbeat whose time was
    already booked (or at once pruned) moves only its session, which the read's last column
    shows. So what was gathered with the same row on the same local day is still what the
    database holds: it is kept, per process, and a repeated status reads only the user's row."""
    raw = users.get_seen(tx, user_id)
    seen = svc.statuses.get(user_id) if raw is not None else None
    if seen is not None and seen.raw == raw and steps.local_day(now, seen.policy, seen.user) == seen.day:
        return seen
    user = users.from_row(tx, raw)
    policy = svc.policy_at(user.policy_version if user is not None else users.policy_version(tx))
    seen = Seen(raw, user, policy, steps.local_day(now, policy, user),
                 *steps.gather(tx, policy, user, user_id, now, svc.grace))
    if raw is not None:
        if len(svc.statuses) >= STATUSES_KEPT:
            svc.statuses.clear()
        svc.statuses[user_id] = seen
    return seen


def from_snapshot(policy: Policy, user: UserRow | None, facts: UserFacts, use: Usage,
                          now: datetime) -> Decision | None:
    """While a session runs, a status is its stored decision moved on (domain/fastpath.py). The
    facts are gathered anyway; the stored decision already reflects them (`facts_version`)."""
    if user is None or user.outlook is None:
        return None
    snap = fastpath.load(user.outlook, steps.zone(policy, user))
    rules = policy.bands.get(snap.decision.band)
    if rules is None:  # a band of the policy version the snapshot was taken under, gone from this one
        return None
    return fastpath.for_start(snap, facts_version=user.facts_version, policy_version=policy.version, rules=rules,
                              last_active=use.last_active, used_today=use.days.get(steps.local_day(now, policy, user),
                                                                                   timedelta(0)), now=now)
