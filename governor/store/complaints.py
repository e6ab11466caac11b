"""The complaints repository: each complaint belongs to a user and is erased with them."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from governor.domain.complaints import Complaint
from governor.store import repo
from governor.store.tables import Complaint as ComplaintRow
from governor.store.tables import User

_WITH_USER = select(ComplaintRow, User.user_id).join(User, User.pk == ComplaintRow.user_pk)


def _complaint(c: ComplaintRow, user_id: str) -> Complaint:
    return Complaint(c.id, user_id, c.category, c.text, c.status, c.assignee, c.resolution, c.created_at,
                     c.updated_at, c.closed_at, c.pk)


def add(s: Session, user: repo.UserRecord, category: str, text: str, client: str, now: datetime) -> Complaint:
    c = ComplaintRow(id="c_" + secrets.token_urlsafe(12), user_pk=user.pk, category=category, text=text,
                     status="open", client=client, created_at=now, updated_at=now)
    s.add(c)
    s.flush()
    return _complaint(c, user.user_id)


def get(s: Session, complaint_id: str, client: str | None = None) -> Complaint | None:
    """The complaint; with a `client`, only if that client filed it."""
    q = _WITH_USER.where(ComplaintRow.id == complaint_id)
    row = s.execute(q if client is None else q.where(ComplaintRow.client == client)).first()
    return None if row is None else _complaint(*row)


def page(s: Session, status: str | None, after: int, limit: int) -> list[Complaint]:
    """Up to `limit` complaints filed after the one with key `after`, in filing order."""
    q = _WITH_USER.where(ComplaintRow.pk > after).order_by(ComplaintRow.pk).limit(limit)
    if status:
        q = q.where(ComplaintRow.status == status)
    return [_complaint(c, uid) for c, uid in s.execute(q)]


def lock(s: Session, complaint_id: str) -> tuple[Complaint, repo.UserRecord] | None:
    """The complaint with its user locked first (the order every use case takes)."""
    user_pk = s.execute(select(ComplaintRow.user_pk).where(ComplaintRow.id == complaint_id)).scalar()
    if user_pk is None:
        return None
    user = repo.lock_user_by_pk(s, user_pk)
    c = s.execute(select(ComplaintRow).where(ComplaintRow.id == complaint_id)
                  .execution_options(populate_existing=True)).scalar()
    return None if user is None or c is None else (_complaint(c, user.user_id), user)


def save(s: Session, c: Complaint) -> None:
    """Write what an update changes."""
    s.execute(update(ComplaintRow).where(ComplaintRow.id == c.id).values(
        status=c.status, assignee=c.assignee, resolution=c.resolution, updated_at=c.updated_at,
        closed_at=c.closed_at))
