"""Repositories: the queries the use cases need, handing back domain values where they read."""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, insert, literal, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from governor.domain.engine import Lock, UserFacts, Verification
from governor.domain.ledger import Activity
from governor.domain.policy import Policy, parse_policy
from governor.store.tables import ChatSession, Grant, PolicyVersion, UsageDay, User

# The hot paths' statements are built once: building and hashing a statement costs more than
# running it on SQLite.
_USER = select(User).where(User.user_id == bindparam("user_id"))
_USER_ROW = select(*User.__table__.c).where(User.user_id == bindparam("user_id"))
_USER_LOCKED = _USER.with_for_update()
_SESSION_USER = select(ChatSession.user_pk).where(ChatSession.id == bindparam("session_id"))
_USER_BY_PK_LOCKED = select(User).where(User.pk == bindparam("pk")).with_for_update()
_SESSION = (select(ChatSession).where(ChatSession.id == bindparam("session_id"))
            .execution_options(populate_existing=True))
_ACTIVE = (select(ChatSession.id, ChatSession.last_seen_at, ChatSession.ends_at)
           .where(ChatSession.user_pk == bindparam("pk"), ChatSession.ended_at.is_(None)))
_DAYS = union_all(
    select(literal("used"), UsageDay.day, UsageDay.used_ms).where(
        UsageDay.user_pk == bindparam("pk"), UsageDay.day >= bindparam("first"), UsageDay.day <= bindparam("last")),
    select(literal("granted"), Grant.day, func.sum(Grant.minutes)).where(
        Grant.user_pk == bindparam("pk"), Grant.day >= bindparam("first"), Grant.day <= bindparam("grants_last"))
    .group_by(Grant.day))
_ADD_USAGE = (update(UsageDay).where(UsageDay.user_pk == bindparam("pk"), UsageDay.day == bindparam("d"))
              .values(used_ms=UsageDay.used_ms + bindparam("ms"), sessions=UsageDay.sessions + bindparam("n")))
_NEW_USAGE = insert(UsageDay)
_POLICY_VERSION = select(func.max(PolicyVersion.version))


# -- users ------------------------------------------------------------------------------------

def lock_user(s: Session, user_id: str, now: datetime) -> User:
    """The user's row, created if new, locked until the transaction ends (FOR UPDATE on
    PostgreSQL; on SQLite the write transaction already holds the database's write lock)."""
    user = s.execute(_USER_LOCKED, {"user_id": user_id}).scalar()
    if user is not None:
        return user
    upsert = postgresql.insert if s.bind.dialect.name == "postgresql" else sqlite.insert
    s.execute(upsert(User).values(user_id=user_id, pseudonym=secrets.token_hex(16), created_at=now)
              .on_conflict_do_nothing(index_elements=["user_id"]))
    return s.execute(_USER_LOCKED, {"user_id": user_id}).scalar_one()


def find_user(s: Session, user_id: str, lock: bool = False) -> User | None:
    return s.execute(_USER_LOCKED if lock else _USER, {"user_id": user_id}).scalar()


def user_row(s: Session, user_id: str):
    """The user's row as a plain, read-only row (no ORM identity map): for reads."""
    return s.connection().execute(_USER_ROW, {"user_id": user_id}).first()


def user_facts(user, user_id: str, grants: dict[date, int]) -> UserFacts:
    if user is None:
        return UserFacts(user_id=user_id)
    verification = None if user.ver_status is None else Verification(
        status=user.ver_status, birth_date=user.ver_birth_date, method=user.ver_method,
        provider=user.ver_provider, assurance=user.ver_assurance, expires_at=user.ver_expires_at,
        verified_at=user.ver_verified_at)
    lock = Lock(until=user.lock_until, reason=user.lock_reason) if user.locked else None
    return UserFacts(user_id=user.user_id, verification=verification, timezone=user.timezone,
                     daily_limit_minutes=user.daily_limit_minutes, lock=lock, grants=grants)


def activity(user) -> Activity:
    recent = tuple((datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in json.loads(user.activity))
    return Activity(recent=recent, streak_start=user.streak_start, last_active=user.last_active)


def store_activity(user: User, act: Activity) -> None:
    user.activity = json.dumps([[a.isoformat(), b.isoformat()] for a, b in act.recent])
    user.streak_start, user.last_active = act.streak_start, act.last_active


# -- usage and grants -------------------------------------------------------------------------

def days(s: Session, user_pk: int | None, first: date, last: date,
         grants_last: date) -> tuple[dict[date, timedelta], dict[date, int]]:
    """Booked use per day from `first` to `last`, and granted minutes per day up to `grants_last`,
    in one round trip."""
    used: dict[date, timedelta] = {}
    granted: dict[date, int] = {}
    if user_pk is None:
        return used, granted
    for kind, day, amount in s.connection().execute(_DAYS, {"pk": user_pk, "first": first, "last": last,
                                               "grants_last": grants_last}):
        if isinstance(day, str):  # SQLite hands back a union's dates as text
            day = date.fromisoformat(day)
        if kind == "used":
            used[day] = timedelta(milliseconds=int(amount))
        else:
            granted[day] = int(amount)
    return used, granted


def add_usage(s: Session, user_pk: int, day: date, used: timedelta = timedelta(0), sessions: int = 0) -> None:
    """Add to a day's booked use. Runs under the user's lock, so read-then-write is safe."""
    ms = round(used / timedelta(milliseconds=1))
    conn = s.connection()  # Core: an ORM-enabled UPDATE would also search the identity map
    if conn.execute(_ADD_USAGE, {"pk": user_pk, "d": day, "ms": ms, "n": sessions}).rowcount == 0:
        conn.execute(_NEW_USAGE, {"user_pk": user_pk, "day": day, "used_ms": ms, "sessions": sessions})


def usage_report(s: Session, user_pk: int, first: date, last: date) -> dict[date, tuple[int, int]]:
    rows = s.execute(select(UsageDay.day, UsageDay.used_ms, UsageDay.sessions).where(
        UsageDay.user_pk == user_pk, UsageDay.day >= first, UsageDay.day <= last))
    return {day: (ms, n) for day, ms, n in rows}


# -- sessions ---------------------------------------------------------------------------------

def active_sessions(s: Session, user_pk: int | None) -> list:
    """The user's running sessions: rows with id, last_seen_at and ends_at."""
    if user_pk is None:
        return []
    return s.connection().execute(_ACTIVE, {"pk": user_pk}).all()


def lock_session(s: Session, session_id: str) -> tuple[ChatSession, User] | None:
    """A session and its user: the user's row is locked first (as every use case does, so two
    never wait on each other in opposite orders), then the session is read under that lock."""
    user_pk = s.connection().execute(_SESSION_USER, {"session_id": session_id}).scalar()
    if user_pk is None:
        return None
    user = s.execute(_USER_BY_PK_LOCKED, {"pk": user_pk}).scalar()
    session = s.execute(_SESSION, {"session_id": session_id}).scalar()
    return None if user is None or session is None else (session, user)


def count_active_sessions(s: Session) -> int:
    return s.execute(select(func.count()).select_from(ChatSession).where(ChatSession.ended_at.is_(None))).scalar()


def stale_session_ids(s: Session, before: datetime, limit: int = 500) -> list[str]:
    return list(s.execute(select(ChatSession.id).where(
        ChatSession.ended_at.is_(None), ChatSession.last_seen_at < before)
        .order_by(ChatSession.last_seen_at).limit(limit)).scalars())


def new_session_id() -> str:
    return "s_" + secrets.token_urlsafe(18)


# -- policies ---------------------------------------------------------------------------------

def policy_digest(policy: Policy) -> str:
    return hashlib.sha256(json.dumps(policy.document, sort_keys=True).encode()).hexdigest()


def active_policy_version(s: Session) -> int | None:
    return s.connection().execute(_POLICY_VERSION).scalar()


def load_policy(s: Session, version: int) -> Policy:
    row = s.get(PolicyVersion, version)
    return parse_policy(json.loads(row.document)).with_version(version)


def policy_versions(s: Session) -> list[PolicyVersion]:
    return list(s.execute(select(PolicyVersion).order_by(PolicyVersion.version)).scalars())


def add_policy_version(s: Session, policy: Policy, source: str, by: str, now: datetime) -> int:
    """Store `policy` as the next version. Callers hold the system chain's lock (they audit the
    activation in the same transaction), so two activations never pick the same number."""
    version = (active_policy_version(s) or 0) + 1
    s.add(PolicyVersion(version=version, name=policy.name, document=json.dumps(policy.document, sort_keys=True),
                        digest=policy_digest(policy), source=source, activated_at=now, activated_by=by))
    s.flush()
    return version
