"""The users aggregate on the hot paths: a user's row (verification, settings, lock, the accrual
state and the audit chain's head) read and written with plain statements (store/sql.py)."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from governor.domain.ledger import Activity
from governor.store.sql import Tx
from governor.store.tables import GENESIS

COLUMNS = ("pk", "user_id", "pseudonym", "timezone", "daily_limit_minutes", "ver_status", "ver_birth_date",
           "ver_method", "ver_provider", "ver_assurance", "ver_expires_at", "ver_verified_at", "locked",
           "lock_until", "lock_reason", "activity", "streak_start", "last_active", "audit_seq", "audit_head",
           "facts_version", "outlook", "marked", "age_signals")
# Built from the constants above, once (no value ever enters these strings: S608 is a false alarm).
_SELECT = "SELECT " + ", ".join(COLUMNS) + ", (SELECT max(version) FROM policies) FROM users"
_BY_ID = _SELECT + " WHERE user_id = :user_id"
# A status's read: the row, and the latest heartbeat of the user's running sessions (through
# ix_sessions_user_active), which a heartbeat that books nothing new moves without the row.
_SEEN = _SELECT.replace(" FROM users", ", (SELECT max(s.last_seen_at) FROM sessions s WHERE s.user_pk = users.pk "
                        "AND s.ended_at IS NULL) FROM users") + " WHERE user_id = :user_id"
_BY_PK = _SELECT + " WHERE pk = :pk"
_BY_SESSION = _SELECT + " WHERE pk = (SELECT user_pk FROM sessions WHERE id = :session_id)"
_POLICY_VERSION = "SELECT max(version) FROM policies"
_CREATE = ("INSERT INTO users (user_id, pseudonym, created_at, activity, locked, audit_seq, audit_head, "
           "facts_version) VALUES (:user_id, :pseudonym, :now, '[]', :false, 0, :genesis, 0) "
           "ON CONFLICT (user_id) DO NOTHING")
_SAVE = ("UPDATE users SET activity = :activity, streak_start = :streak_start, last_active = :last_active, "
         "audit_seq = :audit_seq, audit_head = :audit_head, outlook = :outlook, marked = :marked WHERE pk = :pk")


@dataclass(slots=True)
class UserRow:
    """A user's row as the hot paths use it; `policy_version` is the active policy's, read in
    the same statement."""

    pk: int
    user_id: str
    pseudonym: str
    timezone: str | None
    daily_limit_minutes: int | None
    ver_status: str | None
    ver_birth_date: date | None
    ver_method: str | None
    ver_provider: str | None
    ver_assurance: str | None
    ver_expires_at: datetime | None
    ver_verified_at: datetime | None
    locked: bool
    lock_until: datetime | None
    lock_reason: str | None
    activity: Activity  # the columns activity (recent intervals), streak_start and last_active
    audit_seq: int
    audit_head: str
    facts_version: int
    outlook: str | None
    marked: str  # section 7: JSON [[start, end, purpose]] of uncounted time (store/guardians.py)
    age_signals: str | None  # section 8: the age signals' copy (domain/age.dumps; store/age.py)
    policy_version: int | None


def from_row(tx: Tx, r) -> UserRow | None:
    """A UserRow from a row whose first columns are COLUMNS and the active policy's version."""
    if r is None:
        return None
    i, d = tx.to_instant, tx.to_day
    recent = tuple((datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in json.loads(r[15]))
    return UserRow(r[0], r[1], r[2], r[3], r[4], r[5], d(r[6]), r[7], r[8], r[9], i(r[10]), i(r[11]), bool(r[12]),
                   i(r[13]), r[14], Activity(recent, i(r[16]), i(r[17])), r[18], r[19], r[20], r[21], r[22], r[23],
                   r[24])


def get(tx: Tx, user_id: str, lock: bool = False) -> UserRow | None:
    return from_row(tx, get_raw(tx, user_id, lock))


def get_raw(tx: Tx, user_id: str, lock: bool = False) -> tuple | None:
    """The user's row as the driver gives it (for `from_row`): equal raw rows are equal users."""
    return tx.one(_BY_ID + (tx.for_update if lock else ""), {"user_id": user_id})


def get_seen(tx: Tx, user_id: str) -> tuple | None:
    """`get_raw` with the latest heartbeat of the user's running sessions last: equal answers
    mean nothing that a status reads has changed (service/sessions/seen.read)."""
    return tx.one(_SEEN, {"user_id": user_id})


def get_or_create_locked(tx: Tx, user_id: str, now: datetime) -> UserRow:
    """The user's row, created if new, locked until the transaction ends."""
    user = get(tx, user_id, lock=True)
    if user is None:
        tx.run(_CREATE, {"user_id": user_id, "pseudonym": secrets.token_hex(16), "now": tx.instant(now),
                         "false": False, "genesis": GENESIS})
        user = get(tx, user_id, lock=True)
    return user


def lock_by_session(tx: Tx, session_id: str) -> UserRow | None:
    """The user whose session this is, locked: every use case locks the user before anything of
    theirs, so two never wait on each other in opposite orders."""
    return from_row(tx, tx.one(_BY_SESSION + tx.for_update, {"session_id": session_id}))


def lock_by_pk(tx: Tx, pk: int) -> UserRow | None:
    return from_row(tx, tx.one(_BY_PK + tx.for_update, {"pk": pk}))


def policy_version(tx: Tx) -> int | None:
    return tx.one(_POLICY_VERSION)[0]


def save(tx: Tx, user: UserRow) -> None:
    """Write back what the session use cases change: accrual state, chain head, outlook."""
    act = user.activity
    tx.run(_SAVE, {"activity": activity_json(act),
                   "streak_start": tx.instant(act.streak_start), "last_active": tx.instant(act.last_active),
                   "audit_seq": user.audit_seq,
                   "audit_head": user.audit_head, "outlook": user.outlook, "marked": user.marked, "pk": user.pk})


def activity_json(act: Activity) -> str:
    return json.dumps([[a.isoformat(), b.isoformat()] for a, b in act.recent])
