"""Complaints: filed by a frontend for a user, handled by admins; every step audited on the
user's chain (category and status only: the text may hold personal data and is erased with the
user, while events outlive erasure)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from governor.audit import Entry, append_user_event
from governor.errors import InvalidRequest, NotFound, Problem
from governor.service.context import Services
from governor.store import complaints, repo
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
        c = complaints.add(s, user, category, text, client, now)
        _audit(s, svc, user, now, client, "complaint.filed", c)
        return _view(c, user_id)


def get(svc: Services, complaint_id: str) -> ComplaintView:
    with svc.db.read() as s:
        row = complaints.get(s, complaint_id)
        if row is None:
            raise NotFound(f"no complaint {complaint_id!r}")
        return _view(*row)


def listing(svc: Services, status: str | None, after: int, limit: int) -> tuple[list[ComplaintView], bool]:
    with svc.db.read() as s:
        rows = complaints.page(s, status, after, limit + 1)
    return [_view(c, uid) for c, uid in rows[:limit]], len(rows) > limit


def update(svc: Services, complaint_id: str, status: str | None, assignee: str | None, resolution: str | None,
           client: str) -> ComplaintView:
    with svc.db.write() as s:
        now = svc.clock.now()
        found = complaints.lock(s, complaint_id)
        if found is None:  # unknown, or erased meanwhile
            raise NotFound(f"no complaint {complaint_id!r}")
        c, user = found
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

