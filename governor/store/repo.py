"""Repositories: the queries the use cases need, handing back domain values (frozen
dataclasses), never ORM rows; writes name what they change."""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from governor.domain import age
from governor.domain.decision import Lock, UserFacts, Verification
from governor.domain.policy import Policy, parse_policy
from governor.store.tables import AgeSignal, ChatSession, Complaint, Grant, PolicyVersion, UsageDay, User

_USER = select(User).where(User.user_id == bindparam("user_id"))
_USER_LOCKED = _USER.with_for_update()
_POLICY_VERSION = select(func.max(PolicyVersion.version))


# -- users ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserRecord:
    """A user as the use cases outside the session ones see them: keys and the decision's facts."""

    pk: int
    user_id: str
    pseudonym: str
    facts: UserFacts
    audit_seq: int  # the head of the user's chain (its events' count)
    audit_head: str


def _record(user: User | None) -> UserRecord | None:
    if user is None:
        return None
    return UserRecord(user.pk, user.user_id, user.pseudonym, user_facts(user, user.user_id, {}), user.audit_seq,
                      user.audit_head)


def lock_user(s: Session, user_id: str, now: datetime) -> UserRecord:
    """The user, created if new, locked until the transaction ends (FOR UPDATE on PostgreSQL;
    on SQLite the write transaction already holds the database's write lock)."""
    user = s.execute(_USER_LOCKED, {"user_id": user_id}).scalar()
    if user is None:
        upsert = postgresql.insert if s.bind.dialect.name == "postgresql" else sqlite.insert
        s.execute(upsert(User).values(user_id=user_id, pseudonym=secrets.token_hex(16), created_at=now)
                  .on_conflict_do_nothing(index_elements=["user_id"]))
        user = s.execute(_USER_LOCKED, {"user_id": user_id}).scalar_one()
    return _record(user)


def find_user(s: Session, user_id: str, lock: bool = False) -> UserRecord | None:
    return _record(s.execute(_USER_LOCKED if lock else _USER, {"user_id": user_id}).scalar())


def lock_user_by_pk(s: Session, pk: int) -> UserRecord | None:
    return _record(s.execute(select(User).where(User.pk == pk).with_for_update()).scalar())


def user_facts(user, user_id: str, grants: dict[date, int]) -> UserFacts:
    if user is None:
        return UserFacts(user_id=user_id)
    verification = None if user.ver_status is None else Verification(
        status=user.ver_status, birth_date=user.ver_birth_date, method=user.ver_method,
        provider=user.ver_provider, assurance=user.ver_assurance, expires_at=user.ver_expires_at,
        verified_at=user.ver_verified_at)
    lock = Lock(until=user.lock_until, reason=user.lock_reason) if user.locked else None
    return UserFacts(user_id=user.user_id, verification=verification, timezone=user.timezone,
                     daily_limit_minutes=user.daily_limit_minutes, lock=lock, grants=grants,
                     signals=age.loads(user.age_signals))  # section 8: read with the row


def set_verification(s: Session, user: UserRecord, v: Verification) -> UserRecord:
    """The user with `v`, as the use case then sees them."""
    return _update(s, user, ver_status=v.status, ver_birth_date=v.birth_date, ver_method=v.method,
            ver_provider=v.provider, ver_assurance=v.assurance, ver_expires_at=v.expires_at,
            ver_verified_at=v.verified_at)


def set_lock(s: Session, user: UserRecord, lock: Lock | None) -> None:
    _update(s, user, locked=lock is not None, lock_until=lock and lock.until, lock_reason=lock and lock.reason)


def set_settings(s: Session, user: UserRecord, timezone: str | None, daily_limit_minutes: int | None) -> None:
    _update(s, user, timezone=timezone, daily_limit_minutes=daily_limit_minutes)


def _update(s: Session, user: UserRecord, **columns: Any) -> UserRecord:
    """Change the locked user's row (written with the transaction's flush); the user as changed."""
    row = s.get(User, user.pk)
    for name, value in columns.items():
        setattr(row, name, value)
    return _record(row)


def erase_user(s: Session, user: UserRecord) -> None:
    """Delete the user's row and everything of theirs (their audit events stay)."""
    for table in (ChatSession, UsageDay, Grant, Complaint, AgeSignal):  # section 8: signals go too
        s.execute(delete(table).where(table.user_pk == user.pk))
    s.delete(s.get(User, user.pk))
    s.flush()


# -- usage and grants -------------------------------------------------------------------------

def add_grant(s: Session, user: UserRecord, day: date, minutes: int, reason: str | None, client: str,
              now: datetime) -> None:
    s.add(Grant(user_pk=user.pk, day=day, minutes=minutes, reason=reason, client=client, created_at=now))


def usage_report(s: Session, user_pk: int, first: date, last: date) -> dict[date, tuple[int, int]]:
    rows = s.execute(select(UsageDay.day, UsageDay.used_ms, UsageDay.sessions).where(
        UsageDay.user_pk == user_pk, UsageDay.day >= first, UsageDay.day <= last))
    return {day: (ms, n) for day, ms, n in rows}


# -- sessions ---------------------------------------------------------------------------------

def count_active_sessions(s: Session) -> int:
    return s.execute(select(func.count()).select_from(ChatSession).where(ChatSession.ended_at.is_(None))).scalar()


# -- policies ---------------------------------------------------------------------------------

def policy_digest(policy: Policy) -> str:
    return hashlib.sha256(json.dumps(policy.document, sort_keys=True).encode()).hexdigest()


def active_policy_version(s: Session) -> int | None:
    return s.connection().execute(_POLICY_VERSION).scalar()


def load_policy(s: Session, version: int) -> Policy:
    row = s.get(PolicyVersion, version)
    return parse_policy(json.loads(row.document)).with_version(version)


@dataclass(frozen=True)
class PolicyRecord:
    """A stored policy version: its document as activated, and who activated it, when, from where."""

    version: int
    name: str
    document: str  # JSON
    digest: str
    source: str
    activated_at: datetime
    activated_by: str


def _policy_record(row: PolicyVersion | None) -> PolicyRecord | None:
    return None if row is None else PolicyRecord(row.version, row.name, row.document, row.digest, row.source,
                                                 row.activated_at, row.activated_by)


def policy_row(s: Session, version: int) -> PolicyRecord | None:
    return _policy_record(s.get(PolicyVersion, version))


def last_policy_from_file(s: Session) -> PolicyRecord | None:
    return _policy_record(s.execute(select(PolicyVersion).where(PolicyVersion.source.like("file:%"))
                                    .order_by(PolicyVersion.version.desc()).limit(1)).scalar())


def policy_versions(s: Session) -> list[PolicyRecord]:
    return [_policy_record(r) for r in s.execute(select(PolicyVersion).order_by(PolicyVersion.version)).scalars()]


def add_policy_version(s: Session, policy: Policy, source: str, by: str, now: datetime) -> int:
    """Store `policy` as the next version. Callers hold the system chain's lock (they audit the
    activation in the same transaction), so two activations never pick the same number."""
    version = (active_policy_version(s) or 0) + 1
    s.add(PolicyVersion(version=version, name=policy.name, document=json.dumps(policy.document, sort_keys=True),
                        digest=policy_digest(policy), source=source, activated_at=now, activated_by=by))
    s.flush()
    return version
