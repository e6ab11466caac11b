"""Reads for an admin's view of one user (GET /v1/admin/users/{id}, the console): grants,
sessions, the user's latest audit events, and a search by id prefix."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from governor.store.tables import AuditEvent, ChatSession, Grant, User


def grants_from(s: Session, user_pk: int, first: date) -> list[Grant]:
    """The user's grants for `first` and later days, newest day first."""
    return list(s.execute(select(Grant).where(Grant.user_pk == user_pk, Grant.day >= first)
                          .order_by(Grant.day.desc(), Grant.id.desc())).scalars())


def grant(s: Session, user_pk: int, grant_id: int) -> Grant | None:
    return s.execute(select(Grant).where(Grant.user_pk == user_pk, Grant.id == grant_id)).scalar()


def recent_sessions(s: Session, user_pk: int, limit: int) -> list[ChatSession]:
    """The user's latest sessions, running or ended, newest first."""
    return list(s.execute(select(ChatSession).where(ChatSession.user_pk == user_pk)
                          .order_by(ChatSession.started_at.desc()).limit(limit)).scalars())


def latest_events(s: Session, pseudonym: str, limit: int) -> list[AuditEvent]:
    """The newest events of the user's chain, newest first."""
    return list(s.execute(select(AuditEvent).where(AuditEvent.chain == pseudonym)
                          .order_by(AuditEvent.seq.desc()).limit(limit)).scalars())


def ids_starting_with(s: Session, prefix: str, limit: int) -> list[str]:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(s.execute(select(User.user_id).where(User.user_id.like(escaped + "%", escape="\\"))
                          .order_by(User.user_id).limit(limit)).scalars())
