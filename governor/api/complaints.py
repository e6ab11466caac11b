"""Complaints as a frontend files and follows them (scope `sessions`)."""
from __future__ import annotations

import re
from typing import Any, Literal

from flask import Blueprint, current_app, g

from governor.api.guards import requires
from governor.api.schemas import Model, UserId, body, iso, note
from governor.errors import InvalidRequest, NotFound
from governor.service import complaints
from governor.service.audit import decode_cursor

bp = Blueprint("complaints", __name__, url_prefix="/v1/complaints")
MAX_PAGE = 500
COMPLAINT_ID = re.compile(r"c_[A-Za-z0-9_-]{1,38}")
STATUS_FIELDS = ("id", "category", "status", "resolution", "created_at", "updated_at", "closed_at")


class ComplaintIn(Model):
    """A user's complaint, filed by the frontend."""
    user_id: UserId
    category: Literal["age_classification", "limit_dispute", "content", "other"]
    text: note(2000)


def complaint_json(c: complaints.ComplaintView) -> dict[str, Any]:
    return {"id": c.id, "user_id": c.user_id, "category": c.category, "text": c.text, "status": c.status,
            "assignee": c.assignee, "resolution": c.resolution, "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at), "closed_at": iso(c.closed_at)}


def page_args(args: dict[str, str]) -> tuple[int, int]:
    """(after, limit) from ?cursor= and ?limit= (1..500, default 100)."""
    raw = args.get("limit", "100")
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidRequest(f"limit: a whole number from 1 to {MAX_PAGE}",
                             errors=[{"field": "limit", "message": "out of range"}])
    return decode_cursor(args.get("cursor")), int(raw)


@bp.post("")
@requires("sessions")
def file():
    req = body(ComplaintIn)
    c = complaints.file(current_app.extensions["governor"], req.user_id, req.category, req.text, g.principal.sub)
    return complaint_json(c), 201


@bp.get("/<cid>")
@requires("sessions")
def get(cid: str):
    """What a frontend shows the complainant: the status and the answer, not the handling; only
    to the client that filed it (another's is not found)."""
    c = complaints.get(current_app.extensions["governor"], complaint_id(cid), g.principal.sub)
    return {k: v for k, v in complaint_json(c).items() if k in STATUS_FIELDS}


def complaint_id(value: str) -> str:
    if not COMPLAINT_ID.fullmatch(value):
        raise NotFound(f"no complaint {value[:40]!r}")
    return value
