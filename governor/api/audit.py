"""The audit log (scope `audit`): pages, streaming exports, verification."""
from __future__ import annotations

import csv
import io
import json
import re

from flask import Blueprint, Response, current_app

from governor.api.complaints import page_args
from governor.api.guards import requires
from governor.api.schemas import instant_arg, query, user_id
from governor.errors import InvalidRequest
from governor.service import audit as audit_log

bp = Blueprint("audit", __name__, url_prefix="/v1/audit")
ACTION = re.compile(r"[a-z_]{1,20}\.[a-z_]{1,20}")


def _svc():
    return current_app.extensions["governor"]


@bp.get("/events")
@requires("audit")
def events():
    args = query("user_id", "action", "since", "until", "cursor", "limit", "format")
    uid = user_id(args["user_id"]) if "user_id" in args else None
    action = args.get("action")
    if action is not None and not ACTION.fullmatch(action):
        raise InvalidRequest("action: an event action such as session.started",
                             errors=[{"field": "action", "message": "not an action"}])
    f = audit_log.EventFilter(user_id=uid, action=action, since=instant_arg("since", args.get("since")),
                              until=instant_arg("until", args.get("until")))
    fmt = args.get("format", "json")
    if fmt == "ndjson":
        lines = (json.dumps(e, ensure_ascii=False) + "\n" for e in audit_log.stream(_svc(), f))
        return Response(lines, mimetype="application/x-ndjson")
    if fmt == "csv":
        return Response(_csv(audit_log.stream(_svc(), f)), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=audit-events.csv"})
    if fmt != "json":
        raise InvalidRequest("format: json, ndjson or csv", errors=[{"field": "format", "message": "unknown"}])
    after, limit = page_args(args)
    page = audit_log.page(_svc(), f, after, limit)
    return {"events": page.events, "next_cursor": page.next_cursor}


@bp.get("/verify")
@requires("audit")
def verify():
    return audit_log.verify(_svc()).as_json()


def _csv(events):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(audit_log.CSV_COLUMNS)
    for event in events:
        writer.writerow(audit_log.csv_row(event))
        if buf.tell() > 64 * 1024:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()
