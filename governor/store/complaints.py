"""The complaints aggregate (ORM): each complaint belongs to a user and is erased with them."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from governor.store.tables import Complaint, User


def add(s: Session, user: User, category: str, text: str, client: str, now: datetime) -> Complaint:
    c = Complaint(id="c_" + secrets.token_urlsafe(12), user_pk=user.pk, category=category, text=text,
                  status="open", client=client, created_at=now, updated_at=now)
    s.add(c)
    s.flush()
    return c


def get(s: Session, complaint_id: str) -> tuple[Complaint, str] | None:
    """The complaint and its user's id."""
    row = s.execute(select(Complaint, User.user_id).join(User, User.pk == Complaint.user_pk)
                    .where(Complaint.id == complaint_id)).first()
    return None if row is None else (row[0], row[1])


def page(s: Session, status: str | None, after: int, limit: int) -> list[tuple[Complaint, str]]:
    """Up to `limit` complaints filed after the one with key `after`, in filing order."""
    q = (select(Complaint, User.user_id).join(User, User.pk == Complaint.user_pk)
         .where(Complaint.pk > after).order_by(Complaint.pk).limit(limit))
    if status:
        q = q.where(Complaint.status == status)
    return [(c, uid) for c, uid in s.execute(q)]


def lock(s: Session, complaint_id: str) -> tuple[Complaint, User] | None:
    """The complaint with its user's row locked first (the order every use case takes)."""
    user_pk = s.execute(select(Complaint.user_pk).where(Complaint.id == complaint_id)).scalar()
    if user_pk is None:
        return None
    user = s.execute(select(User).where(User.pk == user_pk).with_for_update()).scalar()
    c = s.execute(select(Complaint).where(Complaint.id == complaint_id)
                  .execution_options(populate_existing=True)).scalar()
    return None if user is None or c is None else (c, user)
