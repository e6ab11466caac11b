"""Reading the audit log (ORM Core): listings and exports, the daily report's scan, retention's
choice of chains. Appending and verifying are governor/audit.py's."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from governor.store.tables import AuditEvent, UsageDay, User


def events(s: Session, after_id: int, limit: int, user_id: str | None = None, action: str | None = None,
           since: datetime | None = None, until: datetime | None = None) -> list:
    """Events after `after_id`, oldest first, each row with the `user_id` of its chain (None once
    erased); none when `user_id` names no user."""
    q = (select(*AuditEvent.__table__.c, User.user_id).outerjoin(User, User.pseudonym == AuditEvent.chain)
         .where(AuditEvent.id > after_id).order_by(AuditEvent.id))
    if user_id is not None:
        pseudonym = s.execute(select(User.pseudonym).where(User.user_id == user_id)).scalar()
        if pseudonym is None:
            return []
        q = q.where(AuditEvent.chain == pseudonym)
    if action:
        q = q.where(AuditEvent.action == action)
    if since:
        q = q.where(AuditEvent.at >= since)
    if until:
        q = q.where(AuditEvent.at < until)
    return s.execute(q.limit(limit)).all()


def events_between(s: Session, start: datetime, end: datetime, actions: Iterable[str], after_id: int,
                   limit: int) -> list:
    """(id, chain, action, reason, data) of the events of these actions in [start, end)."""
    return s.execute(select(AuditEvent.id, AuditEvent.chain, AuditEvent.action, AuditEvent.reason, AuditEvent.data)
                     .where(AuditEvent.at >= start, AuditEvent.at < end, AuditEvent.id > after_id,
                            AuditEvent.action.in_(list(actions)))
                     .order_by(AuditEvent.id).limit(limit)).all()


def chains_with_events_before(s: Session, cutoff: datetime) -> list[str]:
    return list(s.execute(select(AuditEvent.chain).where(AuditEvent.at < cutoff).distinct()).scalars())


def lock_chain_owner(s: Session, chain: str) -> None:
    """Lock the row of the user whose chain this is (if they still exist)."""
    s.execute(select(User.pk).where(User.pseudonym == chain).with_for_update())


def count_chain(s: Session, chain: str) -> int:
    return s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.chain == chain)).scalar()


def delete_usage_before(s: Session, day: date) -> int:
    return s.execute(delete(UsageDay).where(UsageDay.day < day)).rowcount
