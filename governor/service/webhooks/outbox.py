"""The outbox: an event is written in the transaction of the change it reports, with one
delivery per enabled endpoint subscribed to its type (none: nothing is written). Each change
point makes one call here; the worker sends what is written."""
from __future__ import annotations

import json
import logging
import secrets
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from governor.store import webhooks as store
from governor.store.sql import Tx

EVENT_TYPES = ("time_request.created", "time_request.decided", "time_request.expired", "session.ended",
               "guardian.linked", "guardian.unlinked", "controls.changed", "consent.changed", "age.band_changed")
MAX_BODY = 20 * 1024
log = logging.getLogger("governor.webhooks")


def emit(conn: Session | Tx, user, event_type: str, now: datetime, data: dict[str, Any],
         also: tuple[str, ...] = ()) -> str | None:
    """Write `event_type` about `user` (a row with `pk` and `user_id`) for the endpoints that
    want it; `data` joins `user_id` and `guardian_ids` (the guardians linked now, and `also`:
    an unlinked one). Returns the event's id, or None when no endpoint wants it. The notice of a
    guardian's erasure first scrubs them from every kept body (`forget_guardian`)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    if event_type == "guardian.unlinked" and data.get("erasure"):
        forget_guardian(conn, data["guardian_id"])  # before this notice, which names them
    names = store.subscribers(conn, event_type)
    if not names:
        return None
    guardians = store.guardian_ids(conn, user.pk)  # after the change's own rows (a new link, ...) are written
    guardians += [g for g in also if g not in guardians]
    body = json.dumps({"type": event_type, "timestamp": _iso(now),
                       "data": {"user_id": user.user_id, "guardian_ids": guardians, **data}},
                      separators=(",", ":"), ensure_ascii=False, default=_iso)
    if len(body.encode()) > MAX_BODY:  # nothing Governor sends comes near; a bug should not stop the change
        log.error("webhook event %s of %d bytes not written (limit %d)", event_type, len(body.encode()), MAX_BODY)
        return None
    event_id = "evt_" + secrets.token_urlsafe(18)
    store.add_event(conn, event_id, event_type, user.pk, body, now,
                    [("msg_" + secrets.token_urlsafe(18), name) for name in names])
    return event_id


def forget_guardian(conn: Session | Tx, guardian_id: str) -> int:
    """A guardian's erasure: their id leaves every kept body, pending or finished, of any child
    (out of `guardian_ids`; a `guardian_id` naming them becomes null), except the notices of the
    erasure itself (`guardian.unlinked` with `erasure`), which must say whom the parent app
    should forget. Returns the bodies changed."""
    changed = 0
    for event_id, body in store.events_naming(conn, json.dumps(guardian_id)):
        doc = json.loads(body)
        data = doc.get("data", {})
        if doc.get("type") == "guardian.unlinked" and data.get("erasure") and data.get("guardian_id") == guardian_id:
            continue
        scrubbed = {**data, "guardian_ids": [g for g in data.get("guardian_ids", []) if g != guardian_id]}
        if data.get("guardian_id") == guardian_id:
            scrubbed["guardian_id"] = None
        if scrubbed != data:
            store.set_body(conn, event_id, json.dumps({**doc, "data": scrubbed}, separators=(",", ":"),
                                                      ensure_ascii=False))
            changed += 1
    return changed


def time_request(s: Session, user, r, event_type: str, now: datetime, guardian_id: str | None = None,
                 **changed: Any) -> None:
    """time_request.created, .decided or .expired, with the request (domain/time_requests.py)
    as the API shows it, after the `changed` fields (the status just written, ...)."""
    r = replace(r, **changed) if changed else r
    request = {"id": r.id, "minutes": r.minutes, "note": r.note, "status": r.status, "date": r.date.isoformat(),
               "created_at": _iso(r.created_at), "expires_at": _iso(r.expires_at),
               "decided_at": _iso(r.decided_at), "decided_minutes": r.decided_minutes}
    emit(s, user, event_type, now, {"request": request, **({"guardian_id": guardian_id} if guardian_id else {})})


def session_ended(tx: Tx, user, session, reason: str, now: datetime) -> None:
    """session.ended for every end but the client's own (a limit, a timeout, ...)."""
    if reason == "client":
        return
    emit(tx, user, "session.ended", now, {"session_id": session.id, "reason": reason,
                                          "ended_at": _iso(session.ended_at),
                                          "duration_seconds": session.counted_ms // 1000})


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(timezone.utc).isoformat(timespec="seconds")
