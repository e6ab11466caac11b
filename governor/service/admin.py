"""Admin decisions on top of the policy (grants, locks, per-user settings), erasure, and policy
versions. Each is one transaction under the user's lock (or the system chain's), audited in it."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from governor.domain.bands import local_day, looser_limit
from governor.domain.decision import Decision, Lock
from governor.domain.policy import Policy, parse_policy
from governor.errors import InvalidRequest, LooserLimit, NotFound
from governor.service import policies, sessions
from governor.service.audit import Entry, append_system_event, append_user_event
from governor.service.context import Services
from governor.store import audit_log, repo
from governor.store import guardians as guardian_store
from governor.store.repo import PolicyRecord, UserRecord

log = logging.getLogger("governor.admin")
KEEP = object()  # a settings field that was not sent: leave it as it is
MAX_LOCK = timedelta(days=3653)


@dataclass(frozen=True)
class GrantAdded:
    user_id: str
    date: date
    extra_minutes: int
    reason: str | None
    decision: Decision


@dataclass(frozen=True)
class LockState:
    user_id: str
    locked: bool
    until: datetime | None
    reason: str | None
    decision: Decision


@dataclass(frozen=True)
class UserSettings:
    user_id: str
    timezone: str | None
    daily_limit_minutes: int | None
    decision: Decision


def _audit(s: Session, user: UserRecord, policy: Policy, now: datetime, client: str, action: str,
           data: dict[str, Any], reason: str | None = None) -> None:
    append_user_event(s, user, now, Entry(
        client=client, action=action, reason=reason, policy_name=policy.name, policy_version=policy.version,
        data=data))


def add_grant(svc: Services, user_id: str, minutes: int, day: date | None, reason: str | None,
              client: str) -> GrantAdded:
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user = repo.lock_user(s, user_id, now)
        today = local_day(policy, user.facts.timezone, now)
        day = day or today
        if not today <= day <= today + timedelta(days=366):
            raise InvalidRequest("date: a grant is for today or a day in the coming year",
                                 errors=[{"field": "date", "message": "in the past or too far ahead"}])
        repo.add_grant(s, user, day, minutes, reason, client, now)
        _audit(s, user, policy, now, client, "grant.added",
               {"date": day.isoformat(), "extra_minutes": minutes, "reason_given": reason is not None})
    return GrantAdded(user_id, day, minutes, reason, sessions.status(svc, user_id).decision)


def lock(svc: Services, user_id: str, until: datetime | None, reason: str | None, client: str) -> LockState:
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        if until is not None and not now < until <= now + MAX_LOCK:
            raise InvalidRequest("until: must be in the future, and at most 10 years ahead (or omitted: until "
                                 "unlocked)", errors=[{"field": "until", "message": "out of range"}])
        user = repo.lock_user(s, user_id, now)
        repo.set_lock(s, user, Lock(until=until, reason=reason))
        _audit(s, user, policy, now, client, "user.locked",
               {"until": until and until.isoformat(), "reason_given": reason is not None}, reason="locked")
    return LockState(user_id, True, until, reason, sessions.status(svc, user_id).decision)


def unlock(svc: Services, user_id: str, reason: str | None, client: str) -> LockState:
    """Lift a lock; unlocking a user who is not locked changes nothing and records nothing."""
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user = repo.find_user(s, user_id, lock=True)
        if user is not None and user.facts.lock is not None:
            repo.set_lock(s, user, None)
            _audit(s, user, policy, now, client, "user.unlocked", {"reason_given": reason is not None})
    return LockState(user_id, False, None, None, sessions.status(svc, user_id).decision)


def change_settings(svc: Services, user_id: str, timezone: Any, daily_limit: Any, client: str) -> UserSettings:
    """Per-user settings; a daily limit may only be stricter than the band's (a 422 says which)."""
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user = repo.lock_user(s, user_id, now)
        old = user.facts
        new_tz = old.timezone if timezone is KEEP else timezone
        new_limit = old.daily_limit_minutes if daily_limit is KEEP else daily_limit
        looser = looser_limit(policy, old, local_day(policy, new_tz, now), now, new_limit)
        if looser is not None:
            raise LooserLimit(new_limit, looser[0].value, looser[1], "a user limit")
        changed = {k: v for k, v in (("timezone", new_tz), ("daily_limit_minutes", new_limit))
                   if getattr(old, k) != v}
        if changed:
            repo.set_settings(s, user, new_tz, new_limit)
            _audit(s, user, policy, now, client, "settings.changed", changed)
    return UserSettings(user_id, new_tz, new_limit, sessions.status(svc, user_id).decision)


def erase(svc: Services, user_id: str, client: str) -> int:
    """Erase a user by crypto-shredding: delete the row that links the id to the pseudonym, and
    the sessions, usage, grants and complaints; the events stay, verifiable and anonymous. A
    system event records the erasure and the erased chain's head. Returns the events kept."""
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user = repo.find_user(s, user_id, lock=True)
        if user is None:
            raise NotFound(f"no user {user_id!r}")
        kept = audit_log.count_chain(s, user.pseudonym)
        guardian_store.delete_of_user(s, user.pk)  # links, controls, time requests, uncounted use
        chain, head_seq, head_hash = user.pseudonym, user.audit_seq, user.audit_head  # as the lock read them
        repo.erase_user(s, user)
        append_system_event(s, now, Entry(client=client, action="user.erased", policy_name=policy.name,
                                          policy_version=policy.version,
                                          data={"chain": chain, "head_seq": head_seq, "head_hash": head_hash,
                                                "events_kept": kept}))
    fold_wal(svc)
    return kept


def fold_wal(svc: Services) -> None:
    """After an erasure on SQLite: deleted pages are zeroed (secure_delete); fold the WAL in so
    no copy lingers."""
    if not svc.db.fold_wal():  # readers held old pages; the next checkpoint (SQLite's own, at 1000 pages) folds them
        log.warning("erasure: the WAL checkpoint was busy; the WAL may hold erased pages until the next one")


# -- policy versions --------------------------------------------------------------------------

def active_policy(svc: Services) -> tuple[Policy, PolicyRecord]:
    with svc.db.read() as s:
        policy = svc.policy(s)
        return policy, repo.policy_row(s, policy.version)


def activate_policy(svc: Services, document: dict[str, Any], client: str) -> tuple[Policy, PolicyRecord]:
    """Validate a policy document and make it the next version, atomically; running sessions
    follow it from their next heartbeat."""
    policy = parse_policy(document)
    with svc.db.write() as s:
        version = policies.activate(s, policy, "api", client, svc.clock.now())
        row = repo.policy_row(s, version)
    return policy.with_version(version), row


def policy_versions(svc: Services) -> list[PolicyRecord]:
    with svc.db.read() as s:
        return repo.policy_versions(s)


def policy_document(policy: Policy, row: PolicyRecord | None) -> dict[str, Any]:
    doc = dict(json.loads(row.document)) if row is not None else dict(policy.document)
    return {**policy.age_fields(), **doc, "version": policy.version,
            "activated_at": row and row.activated_at.isoformat(), "activated_by": row and row.activated_by}

