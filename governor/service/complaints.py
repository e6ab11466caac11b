"""Complaints: filed by a frontend for a user, handled by admins; every step audited on the
user's chain (category and status only: the text may hold personal data and is erased with the
user, while events outlive erasure). The states are the domain's (`domain/complaints.py`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from governor.domain import complaints as rules
from governor.domain.complaints import CATEGORIES, FINAL, STATUSES, Complaint
from governor.errors import InvalidRequest, NotFound, Problem
from governor.service.audit import Entry, append_user_event
from governor.service.context import Services
from governor.store import complaints, repo
from governor.store.repo import UserRecord

__all__ = ["CATEGORIES", "FINAL", "STATUSES", "ComplaintClosed", "ComplaintView", "file", "get", "listing", "update"]
ComplaintView = Complaint  # what the use cases answer


class ComplaintClosed(Problem):
    status, type, title = 409, "complaint-closed", "The complaint is closed"


def _audit(s: Session, svc: Services, user: UserRecord, now: datetime, client: str, action: str,
           c: Complaint) -> None:
    policy = svc.policy(s)
    append_user_event(s, user, now, Entry(
        client=client, action=action, reason=c.status, policy_name=policy.name, policy_version=policy.version,
        data={"complaint_id": c.id, "category": c.category, "status": c.status, "assignee": c.assignee}))


def file(svc: Services, user_id: str, category: str, text: str, client: str) -> Complaint:
    with svc.db.write() as s:
        now = svc.clock.now()
        user = repo.lock_user(s, user_id, now)
        c = complaints.add(s, user, category, text, client, now)
        _audit(s, svc, user, now, client, "complaint.filed", c)
        return c


def get(svc: Services, complaint_id: str, client: str | None = None) -> Complaint:
    """The complaint; with a `client` (a frontend's sub), only one that client filed: another's is
    not found."""
    with svc.db.read() as s:
        c = complaints.get(s, complaint_id, client)
    if c is None:
        raise NotFound(f"no complaint {complaint_id!r}")
    return c


def listing(svc: Services, status: str | None, after: int, limit: int) -> tuple[list[Complaint], bool]:
    with svc.db.read() as s:
        rows = complaints.page(s, status, after, limit + 1)
    return rows[:limit], len(rows) > limit


def update(svc: Services, complaint_id: str, status: str | None, assignee: str | None, resolution: str | None,
           client: str) -> Complaint:
    with svc.db.write() as s:
        now = svc.clock.now()
        found = complaints.lock(s, complaint_id)
        if found is None:  # unknown, or erased meanwhile
            raise NotFound(f"no complaint {complaint_id!r}")
        c, user = found
        try:
            c = rules.updated(c, status, assignee, resolution, now)
        except rules.ComplaintClosed as e:
            raise ComplaintClosed(str(e), complaint_status=c.status) from None
        except rules.ResolutionNeeded:
            raise InvalidRequest("resolution: a resolved or rejected complaint needs a resolution note",
                                 errors=[{"field": "resolution", "message": "required to close a complaint"}]) from None
        complaints.save(s, c)
        _audit(s, svc, user, now, client, "complaint.updated", c)
        return c
