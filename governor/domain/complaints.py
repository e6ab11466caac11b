"""Complaints (DESIGN section 6): open, assigned, then resolved or rejected with a note; a closed
complaint no longer changes."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

CATEGORIES = ("age_classification", "limit_dispute", "content", "other")
STATUSES = ("open", "assigned", "resolved", "rejected")
FINAL = ("resolved", "rejected")


class ComplaintClosed(ValueError):
    """A resolved or rejected complaint can no longer change."""


class ResolutionNeeded(ValueError):
    """A complaint is closed with a resolution note, or not at all."""


@dataclass(frozen=True)
class Complaint:
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
    cursor: int  # filing order


def updated(c: Complaint, status: str | None, assignee: str | None, resolution: str | None,
            now: datetime) -> Complaint:
    """The complaint after an admin's change at `now`. Naming an assignee of an open complaint
    assigns it; closing needs a resolution (given now or before); reopening clears `closed_at`."""
    if c.status in FINAL:
        raise ComplaintClosed(f"complaint {c.id} is {c.status}; it can no longer change")
    if status in FINAL and not (resolution or c.resolution):
        raise ResolutionNeeded("a resolved or rejected complaint needs a resolution note")
    if assignee is not None and status is None and c.status == "open":
        status = "assigned"
    out = replace(c, assignee=c.assignee if assignee is None else assignee,
                  resolution=c.resolution if resolution is None else resolution, updated_at=now)
    if status is not None:
        out = replace(out, status=status, closed_at=now if status in FINAL else None)
    return out
