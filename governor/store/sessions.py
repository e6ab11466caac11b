"""The sessions aggregate on the hot paths (plain statements, store/sql.py)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from governor.store import users
from governor.store.sql import Tx
from governor.store.users import UserRow

_SESSION = ("s.id, s.user_pk, s.started_at, s.last_seen_at, s.ends_at, s.ended_at, s.end_reason, s.counted_ms, "
            "{others}, s.purpose")
_GET = "SELECT " + _SESSION.format(
    others="(SELECT min(o.last_seen_at) FROM sessions o WHERE o.user_pk = s.user_pk AND o.ended_at IS NULL "
           "AND o.id <> s.id)") + " FROM sessions s WHERE id = :id"
# A heartbeat's whole read in one statement: the user's row, the session (without the other
# sessions: the fast way does not prune), and the booked use of the three days one of which is the
# user's local today (any zone is within a day of UTC). On PostgreSQL also the user row's version
# (xmin), which the lock-free write compares.
_VIEW = ("SELECT " + ", ".join("u." + c for c in users.COLUMNS) + ", (SELECT max(version) FROM policies), "
         + _SESSION.format(others="NULL") + ", "
         + ", ".join(f"(SELECT used_ms FROM usage_days d WHERE d.user_pk = s.user_pk AND d.day = :d{i})"
                     for i in range(3))
         + ", {version} FROM sessions s JOIN users u ON u.pk = s.user_pk WHERE s.id = :id")
_VIEW_PG, _VIEW_SQLITE = _VIEW.format(version="u.xmin::text"), _VIEW.format(version="NULL")
_USER_SET = "activity = :activity, streak_start = :streak_start, last_active = :last_active"  # outlook stays
_SESSION_SET = "last_seen_at = :last_seen_at, ends_at = :ends_at, counted_ms = :counted_ms"
_BOOK = "UPDATE usage_days SET used_ms = used_ms + :ms WHERE user_pk = :pk AND day = :day"
# PostgreSQL, lock-free: one statement (so one transaction) that writes only if the user's row is
# the version read; every change of anything of a user's also writes the user's row (its accrual
# state or its audit chain head), so an unchanged row means nothing of theirs changed.
_HEARTBEAT_PG = ("WITH u AS (UPDATE users SET " + _USER_SET + " WHERE pk = :pk AND xmin::text = :version "
                 "RETURNING pk), s AS (UPDATE sessions SET " + _SESSION_SET
                 + " WHERE id = :id AND user_pk IN (SELECT pk FROM u)){book} SELECT count(*) FROM u")
_HEARTBEAT_PG_BOOK = _HEARTBEAT_PG.format(book=", d AS (" + _BOOK + " AND user_pk IN (SELECT pk FROM u))")
_HEARTBEAT_PG = _HEARTBEAT_PG.format(book="")
_USER_SQLITE = "UPDATE users SET " + _USER_SET + " WHERE pk = :pk"
_SESSION_SQLITE = "UPDATE sessions SET " + _SESSION_SET + " WHERE id = :id"
_INSERT = ("INSERT INTO sessions (id, user_pk, client, started_at, last_seen_at, ends_at, counted_ms, "
           "policy_version, purpose) VALUES (:id, :pk, :client, :now, :now, :ends_at, 0, :policy_version, :purpose)")
_SAVE = ("UPDATE sessions SET last_seen_at = :last_seen_at, ends_at = :ends_at, ended_at = :ended_at, "
         "end_reason = :end_reason, counted_ms = :counted_ms WHERE id = :id")
# Through ix_sessions_user_active: no index on last_seen_at, which every heartbeat moves (0007).
_STALE = "SELECT id FROM sessions WHERE ended_at IS NULL AND last_seen_at < :before LIMIT :limit"


@dataclass(slots=True)
class SessionRow:
    id: str
    user_pk: int
    started_at: datetime
    last_seen_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    counted_ms: int
    others_seen_from: datetime | None  # the earliest last_seen_at of the user's other running sessions
    purpose: str | None = None  # section 7


@dataclass(slots=True)
class HeartbeatView:
    user: UserRow
    session: SessionRow
    used: dict[date, int]  # booked milliseconds of the days asked for that have any
    version: str | tuple  # what save_heartbeat compares: PostgreSQL the user row's xmin, SQLite the whole row
    params: dict


def new_id() -> str:
    return "s_" + secrets.token_urlsafe(18)


def get(tx: Tx, session_id: str) -> SessionRow | None:
    """Read it only with its user's row locked (users.lock_by_session)."""
    r = tx.one(_GET, {"id": session_id})
    return None if r is None else _row(tx, r)


def _row(tx: Tx, r) -> SessionRow:
    i = tx.to_instant
    return SessionRow(r[0], r[1], i(r[2]), i(r[3]), i(r[4]), i(r[5]), r[6], r[7], i(r[8]), r[9])


def heartbeat_view(tx: Tx, session_id: str, days: tuple[date, date, date]) -> HeartbeatView | None:
    """The session, its user and the booked use of `days`, read at one instant without a lock,
    for `save_heartbeat`'s compare-and-set. (Not for a locked read on PostgreSQL: a row lock
    taken in a join re-reads the user's row after a wait, but not the session's.)"""
    params = {"id": session_id, "d0": tx.day(days[0]), "d1": tx.day(days[1]), "d2": tx.day(days[2])}
    r = tx.one(_VIEW_PG if tx.postgres else _VIEW_SQLITE, params)
    if r is None:
        return None
    n = len(users.COLUMNS) + 1
    used = {day: ms for day, ms in zip(days, r[n + 10:n + 13], strict=True) if ms is not None}
    return HeartbeatView(users.from_row(tx, r[:n]), _row(tx, r[n:n + 10]), used, r[n + 13] if tx.postgres else r,
                         params)


def save_heartbeat(tx: Tx, view: HeartbeatView, day: date, ms: int) -> bool:
    """Write a heartbeat answered from the stored decision (which stays as it is, as do the
    user's uncounted marks: it has none): the user's accrual state, the session, and `ms` more
    booked on `day` (whose row `view` found); only if nothing `view` read has changed since
    (False: decide under the lock instead). PostgreSQL: one statement outside a transaction,
    compared on the user row's version (every change of anything of a user's also writes the
    user's row). SQLite: inside the write transaction, which reads the view again and compares
    it whole (the read and the working out stay outside the writers' lock)."""
    u, s = view.user, view.session
    if not tx.postgres and tx.one(_VIEW_SQLITE, view.params) != view.version:
        return False
    act = u.activity
    params = {"activity": users.activity_json(act), "streak_start": tx.instant(act.streak_start),
              "last_active": tx.instant(act.last_active), "pk": u.pk,
              "last_seen_at": tx.instant(s.last_seen_at), "ends_at": tx.instant(s.ends_at),
              "counted_ms": s.counted_ms, "id": s.id, "day": tx.day(day), "ms": ms}
    if tx.postgres:
        params["version"] = view.version
        return tx.one(_HEARTBEAT_PG_BOOK if ms else _HEARTBEAT_PG, params)[0] == 1
    tx.run(_USER_SQLITE, params)
    tx.run(_SESSION_SQLITE, params)
    if ms:
        tx.run(_BOOK, params)
    return True


def insert(tx: Tx, session_id: str, user_pk: int, client: str, now: datetime, ends_at: datetime | None,
           policy_version: int, purpose: str | None = None) -> None:
    tx.run(_INSERT, {"id": session_id, "pk": user_pk, "client": client, "now": tx.instant(now),
                     "ends_at": tx.instant(ends_at), "policy_version": policy_version, "purpose": purpose})


def save(tx: Tx, s: SessionRow) -> None:
    tx.run(_SAVE, {"last_seen_at": tx.instant(s.last_seen_at), "ends_at": tx.instant(s.ends_at),
                   "ended_at": tx.instant(s.ended_at), "end_reason": s.end_reason, "counted_ms": s.counted_ms,
                   "id": s.id})


def stale_ids(tx: Tx, before: datetime, limit: int = 500) -> list[str]:
    return [r[0] for r in tx.all(_STALE, {"before": tx.instant(before), "limit": limit})]
