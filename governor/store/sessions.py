"""The sessions aggregate on the hot paths (plain statements, store/sql.py)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from governor.store.sql import Tx

_GET = ("SELECT id, user_pk, started_at, last_seen_at, ends_at, ended_at, end_reason, counted_ms, "
        "(SELECT min(o.last_seen_at) FROM sessions o WHERE o.user_pk = s.user_pk AND o.ended_at IS NULL "
        "AND o.id <> s.id), purpose FROM sessions s WHERE id = :id")
_ACTIVE = "SELECT id, last_seen_at, ends_at FROM sessions WHERE user_pk = :pk AND ended_at IS NULL"
_INSERT = ("INSERT INTO sessions (id, user_pk, client, started_at, last_seen_at, ends_at, counted_ms, "
           "policy_version, purpose) VALUES (:id, :pk, :client, :now, :now, :ends_at, 0, :policy_version, :purpose)")
_SAVE = ("UPDATE sessions SET last_seen_at = :last_seen_at, ends_at = :ends_at, ended_at = :ended_at, "
         "end_reason = :end_reason, counted_ms = :counted_ms WHERE id = :id")
_STALE = ("SELECT id FROM sessions WHERE ended_at IS NULL AND last_seen_at < :before "
          "ORDER BY last_seen_at LIMIT :limit")


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


@dataclass(frozen=True)
class Active:
    id: str
    last_seen_at: datetime
    ends_at: datetime | None


def new_id() -> str:
    return "s_" + secrets.token_urlsafe(18)


def get(tx: Tx, session_id: str) -> SessionRow | None:
    """Read it only with its user's row locked (users.lock_by_session)."""
    r = tx.one(_GET, {"id": session_id})
    if r is None:
        return None
    i = tx.to_instant
    return SessionRow(r[0], r[1], i(r[2]), i(r[3]), i(r[4]), i(r[5]), r[6], r[7], i(r[8]), r[9])


def active(tx: Tx, user_pk: int | None) -> list[Active]:
    if user_pk is None:
        return []
    i = tx.to_instant
    return [Active(r[0], i(r[1]), i(r[2])) for r in tx.all(_ACTIVE, {"pk": user_pk})]


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
