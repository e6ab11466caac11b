"""Complaints and the audit log."""
from __future__ import annotations

from typing import Any, Literal

from governor.api.models.base import Out

ComplaintStatus = Literal["open", "assigned", "resolved", "rejected"]


class ComplaintOut(Out):
    """A complaint as an admin sees it (and as it is filed)."""
    id: str
    user_id: str
    category: str
    """`age_classification`, `limit_dispute`, `content` or `other`"""
    text: str
    status: ComplaintStatus
    """`resolved` and `rejected` are final"""
    assignee: str | None
    resolution: str | None
    created_at: str
    updated_at: str
    closed_at: str | None


class ComplaintStatusOut(Out):
    """A complaint as the frontend shows it to the user who filed it."""
    id: str
    category: str
    status: ComplaintStatus
    resolution: str | None
    created_at: str
    updated_at: str
    closed_at: str | None


class ComplaintsPage(Out):
    """A page of complaints, oldest first."""
    complaints: list[ComplaintOut]
    next_cursor: str | None
    """pass it as `cursor` for the next page; null on the last"""


class EventOut(Out):
    """One audit event, a link of its chain (one chain per user, one for system events)."""
    id: int
    at: str
    """in UTC"""
    chain: str
    seq: int
    """its position in the chain, from 1"""
    user_id: str | None
    """the user, while they exist; null once erased (the event stays, anonymous)"""
    client: str
    """the `sub` of the token that made the change"""
    action: str
    """e.g. `session.started`, `grant.added`, `policy.activated` (docs/audit.md lists them)"""
    reason: str | None
    policy: dict[str, Any]
    """`{"name", "version"}` of the policy in force"""
    data: dict[str, Any]
    prev_hash: str
    hash: str
    """SHA-256 over the canonical encoding of the event and `prev_hash` (docs/audit.md)"""


class EventsPage(Out):
    """A page of audit events, oldest first."""
    events: list[EventOut]
    next_cursor: str | None
    """pass it as `cursor` for the next page; null on the last"""


class BadEventOut(Out):
    """The first event that does not verify."""
    id: int | None
    chain: str
    seq: int
    problem: str


class VerifyOut(Out):
    """The result of checking every hash chain."""
    ok: bool
    events_checked: int
    first_bad_event: BadEventOut | None = None
