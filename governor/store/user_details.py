"""Reads for an admin's view of one user (GET /v1/admin/users/{id}, the console): grants,
sessions, the user's latest audit events, and a search by id prefix; taking a grant back."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from governor.domain.audit_chain import Event
from governor.store.tables import AuditEvent, ChatSession, Grant, User


@dataclass(frozen=True)
class GrantView:
    id: int
    date: date
    extra_minutes: int
    reason: str | None
    client: str
    created_at: datetime


@dataclass(frozen=True)
class SessionView:
    id: str
    client: str
    started_at: datetime
    last_seen_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    duration_seconds: int


def _grant(g: Grant) -> GrantView:
    return GrantView(g.id, g.day, g.minutes, g.reason, g.client, g.created_at)


def _session(c: ChatSession) -> SessionView:
    return SessionView(c.id, c.client, c.started_at, c.last_seen_at, c.ends_at, c.ended_at, c.end_reason,
                       c.counted_ms // 1000)


def grants_from(s: Session, user_pk: int, first: date) -> list[GrantView]:
    """The user's grants for `first` and later days, newest day first."""
    return [_grant(g) for g in s.execute(select(Grant).where(Grant.user_pk == user_pk, Grant.day >= first)
                                         .order_by(Grant.day.desc(), Grant.id.desc())).scalars()]


def grant(s: Session, user_pk: int, grant_id: int) -> GrantView | None:
    g = s.execute(select(Grant).where(Grant.user_pk == user_pk, Grant.id == grant_id)).scalar()
    return None if g is None else _grant(g)


def delete_grant(s: Session, grant_id: int) -> None:
    s.execute(delete(Grant).where(Grant.id == grant_id))


def recent_sessions(s: Session, user_pk: int, limit: int) -> list[SessionView]:
    """The user's latest sessions, running or ended, newest first."""
    return [_session(c) for c in s.execute(select(ChatSession).where(ChatSession.user_pk == user_pk)
                                           .order_by(ChatSession.started_at.desc()).limit(limit)).scalars()]


def latest_events(s: Session, pseudonym: str, limit: int) -> list[Event]:
    """The newest events of the user's chain, newest first."""
    return [Event(e.chain, e.seq, e.at, e.client, e.action, e.reason, e.policy_name, e.policy_version,
                  e.data, e.prev_hash, e.hash, e.id)
            for e in s.execute(select(AuditEvent).where(AuditEvent.chain == pseudonym)
                               .order_by(AuditEvent.seq.desc()).limit(limit)).scalars()]


def ids_starting_with(s: Session, prefix: str, limit: int) -> list[str]:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(s.execute(select(User.user_id).where(User.user_id.like(escaped + "%", escape="\\"))
                          .order_by(User.user_id).limit(limit)).scalars())
