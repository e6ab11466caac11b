"""Reading the audit log: filtered pages and streaming exports (JSON, NDJSON, CSV)."""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from governor.domain.audit_chain import timestamp
from governor.errors import InvalidRequest
from governor.service.context import Services
from governor.store import audit_log

EXPORT_BATCH = 1000
CSV_COLUMNS = ["id", "at", "chain", "seq", "user_id", "client", "action", "reason", "policy_name",
               "policy_version", "data", "prev_hash", "hash"]

CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class EventFilter:
    user_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Page:
    events: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"e:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        if kind == "e" and value.isascii() and value.isdigit() and len(value) <= 18:
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidRequest("cursor: not a cursor this service gave out", errors=[{"field": "cursor",
                                                                                 "message": "invalid"}])


def event_json(e: Any, user_id: str | None) -> dict[str, Any]:
    """An event as listed: every field that its hash covers, in the canonical time format, so an
    auditor can recompute the chain from an export alone (docs/audit.md)."""
    return {"id": e.id, "at": timestamp(e.at), "chain": e.chain, "seq": e.seq, "user_id": user_id,
            "client": e.client, "action": e.action, "reason": e.reason,
            "policy": {"name": e.policy_name, "version": e.policy_version}, "data": json.loads(e.data),
            "prev_hash": e.prev_hash, "hash": e.hash}


def _events(s: Session, f: EventFilter, after_id: int, limit: int) -> list:
    return audit_log.events(s, after_id, limit, f.user_id, f.action, f.since, f.until)


def page(svc: Services, f: EventFilter, after: int, limit: int) -> Page:
    with svc.db.read() as s:
        rows = _events(s, f, after, limit + 1)
        events = [event_json(row, row.user_id) for row in rows[:limit]]
    more = len(rows) > limit
    return Page(events, encode_cursor(events[-1]["id"]) if more and events else None)


def stream(svc: Services, f: EventFilter) -> Iterator[dict[str, Any]]:
    """Every matching event, oldest first, fetched in short batches: constant memory, and no
    transaction held open while a slow client reads."""
    after = 0
    while True:
        with svc.db.read() as s:
            rows = _events(s, f, after, EXPORT_BATCH)
            batch = [event_json(row, row.user_id) for row in rows]
        yield from batch
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1]["id"]


def csv_row(event: dict[str, Any]) -> list[Any]:
    flat = {**event, "policy_name": event["policy"]["name"], "policy_version": event["policy"]["version"],
            "data": json.dumps(event["data"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)}
    return [csv_cell(flat[c]) for c in CSV_COLUMNS]


def csv_cell(value: Any) -> Any:
    """OWASP's rule against CSV injection: a text cell that a spreadsheet would read as a formula
    (it begins with = + - @, a tab or a carriage return) is prefixed with a single quote. A
    client's `sub` or a user id can begin so; an auditor strips the quote (docs/audit.md)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in CSV_FORMULA_STARTS:
        return "'" + value
    return value
