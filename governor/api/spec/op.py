"""`Op`, the description of one operation, and the pieces that several share."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from governor.api.schemas import INSTANT_PATTERN

JSON, PROBLEM, NDJSON, CSV = "application/json", "application/problem+json", "application/x-ndjson", "text/csv"
HTML, TEXT = "text/html", "text/plain"
DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
INSTANT = {"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN}
LIMIT_MAX = 500
LIMIT = {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": 100, "description": "items a page"}
CURSOR = {"type": "string", "description": "the `next_cursor` of the previous page"}
EMPTY_OBJECT = {"type": "object", "maxProperties": 0}


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    operation_id: str
    tag: str
    summary: str
    scopes: tuple[str, ...]
    responses: dict[int, Any]  # status -> a model, {media type: model or schema}, or None
    body: type[BaseModel] | dict | None = None
    body_required: bool = True
    query: dict[str, dict] = field(default_factory=dict)
    description: str = ""  # what it does and when to call it (Markdown)
    errors: dict[int, str] = field(default_factory=dict)  # status -> what it means here
    example: Any = None  # a request body
    answer: Any = None  # the first success status's answer


POLICY = {"name": "cn-minor-mode", "version": 1}
DECISION = {"user_id": "pupil-12", "allowed": True, "reason": "ok", "band": "age_8_15",
            "used_today_seconds": 630, "remaining_seconds": 2970, "ends_at": "2026-12-02T07:40:30+08:00",
            "retry_at": None, "warnings": [], "policy": POLICY}
REFUSED = {**DECISION, "allowed": False, "reason": "daily_limit_reached", "used_today_seconds": 3600,
           "remaining_seconds": 0, "ends_at": None, "retry_at": "2026-12-03T06:00:00+08:00"}
VERIFICATION = {"status": "verified", "method": "id_document", "provider": "kyc", "assurance": "high",
                "expires_at": None, "verified_at": "2026-12-01T23:00:00+00:00"}
CONTROLS = {"daily_limit_minutes": 45, "quiet_hours": ["21:00-07:00"], "rest_reminder_minutes": None}
TIME_REQUEST = {"id": "tr_8fJq2kPz", "user_id": "pupil-12", "minutes": 15, "note": "finishing my essay",
                "status": "pending", "date": "2026-12-02", "created_at": "2026-12-02T16:50:00+08:00",
                "expires_at": "2026-12-03T00:00:00+08:00", "decided_at": None, "decided_minutes": None}
COMPLAINT = {"id": "c_3kX9wq", "user_id": "pupil-12", "category": "limit_dispute",
             "text": "I was cut off in the middle of homework", "status": "open", "assignee": None,
             "resolution": None, "created_at": "2026-12-02T09:00:00+00:00",
             "updated_at": "2026-12-02T09:00:00+00:00", "closed_at": None}
