"""Complaints as a frontend files and follows them (scope `sessions`)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, current_app, g, request
from pydantic import StringConstraints

from governor.api.schemas import Model, UserId, body, iso
from governor.auth import requires
from governor.errors import InvalidRequest
from governor.service import complaints
from governor.service.audit import decode_cursor

bp = Blueprint("complaints", __name__, url_prefix="/v1/complaints")
MAX_PAGE = 500


class ComplaintIn(Model):
    user_id: UserId
    category: Literal["age_classification", "limit_dispute", "content", "other"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


def complaint_json(c: complaints.ComplaintView) -> dict[str, Any]:
    return {"id": c.id, "user_id": c.user_id, "category": c.category, "text": c.text, "status": c.status,
            "assignee": c.assignee, "resolution": c.resolution, "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at), "closed_at": iso(c.closed_at)}


def page_args() -> tuple[int, int]:
    """(after, limit) from ?cursor= and ?limit= (1..500, default 100)."""
    raw = request.args.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidRequest(f"limit: a whole number from 1 to {MAX_PAGE}",
                             errors=[{"field": "limit", "message": "out of range"}])
    return decode_cursor(request.args.get("cursor")), int(raw)


@bp.post("")
@requires("sessions")
def file():
    req = body(ComplaintIn)
    c = complaints.file(current_app.extensions["governor"], req.user_id, req.category, req.text, g.principal.sub)
    return complaint_json(c), 201


@bp.get("/<cid>")
@requires("sessions")
def get(cid: str):
    return complaint_json(complaints.get(current_app.extensions["governor"], cid))
