"""Complaints: filed by a frontend for a user, handled by admins; every step audited on the
user's chain (category and status only: the text may hold personal data and is erased with the
user, while events outlive erasure)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from governor.audit import Entry, append_user_event
from governor.errors import InvalidRequest, NotFound, Problem
from governor.service.context import Services
from governor.store import repo
from governor.store.tables import Complaint, User

CATEGORIES = ("age_classification", "limit_dispute", "content", "other")
STATUSES = ("open", "assigned", "resolved", "rejected")
FINAL = ("resolved", "rejected")


class ComplaintClosed(Problem):
    status, type, title = 409, "complaint-closed", "The complaint is closed"


@dataclass(frozen=True)
class ComplaintView:
    id: str
    user_id: str
    category: str
    text: str
    status: str
    assignee: str | None
    resolution: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    cursor: int


def _view(c: Complaint, user_id: str) -> ComplaintView:
    return ComplaintView(c.id, user_id, c.category, c.text, c.status, c.assignee, c.resolution, c.created_at,
                         c.updated_at, c.closed_at, c.pk)


def _audit(s, svc: Services, user: User, now: datetime, client: str, action: str, c: Complaint) -> None:
    policy = svc.policy(s)
    append_user_event(s, user, now, Entry(client=client, action=action, reason=c.status, policy_name=policy.name,
                                          policy_version=policy.version, data={
        "complaint_id": c.id, "category": c.category, "status": c.status, "assignee": c.assignee}))


def file(svc: Services, user_id: str, category: str, text: str, client: str) -> ComplaintView:
    with svc.db.write() as s:
        now = svc.clock.now()
        user = repo.lock_user(s, user_id, now)
        c = Complaint(id="c_" + secrets.token_urlsafe(12), user_pk=user.pk, category=category, text=text,
                      status="open", client=client, created_at=now, updated_at=now)
        s.add(c)
        s.flush()
        _audit(s, svc, user, now, client, "complaint.filed", c)
        return _view(c, user_id)


def get(svc: Services, complaint_id: str) -> ComplaintView:
    with svc.db.read() as s:
        row = s.execute(select(Complaint, User.user_id).join(User, User.pk == Complaint.user_pk)
                        .where(Complaint.id == complaint_id)).first()
        if row is None:
            raise NotFound(f"no complaint {complaint_id!r}")
        return _view(*row)


def listing(svc: Services, status: str | None, after: int, limit: int) -> tuple[list[ComplaintView], bool]:
    with svc.db.read() as s:
        q = (select(Complaint, User.user_id).join(User, User.pk == Complaint.user_pk)
             .where(Complaint.pk > after).order_by(Complaint.pk).limit(limit + 1))
        if status:
            q = q.where(Complaint.status == status)
        rows = s.execute(q).all()
    return [_view(c, uid) for c, uid in rows[:limit]], len(rows) > limit


def update(svc: Services, complaint_id: str, status: str | None, assignee: str | None, resolution: str | None,
           client: str) -> ComplaintView:
    with svc.db.write() as s:
        now = svc.clock.now()
        user_pk = s.execute(select(Complaint.user_pk).where(Complaint.id == complaint_id)).scalar()
        if user_pk is None:
            raise NotFound(f"no complaint {complaint_id!r}")
        user = s.execute(select(User).where(User.pk == user_pk).with_for_update()).scalar()
        c = s.execute(select(Complaint).where(Complaint.id == complaint_id)
                      .execution_options(populate_existing=True)).scalar()
        if user is None or c is None:  # erased meanwhile
            raise NotFound(f"no complaint {complaint_id!r}")
        if c.status in FINAL:
            raise ComplaintClosed(f"complaint {complaint_id} is {c.status}; it can no longer change",
                                  complaint_status=c.status)
        if status in FINAL and not (resolution or c.resolution):
            raise InvalidRequest("resolution: a resolved or rejected complaint needs a resolution note",
                                 errors=[{"field": "resolution", "message": "required to close a complaint"}])
        if assignee is not None:
            c.assignee = assignee
            if status is None and c.status == "open":
                status = "assigned"
        if resolution is not None:
            c.resolution = resolution
        if status is not None:
            c.status = status
            c.closed_at = now if status in FINAL else None
        c.updated_at = now
        _audit(s, svc, user, now, client, "complaint.updated", c)
        return _view(c, user.user_id)

