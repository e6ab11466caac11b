"""Complaints (filed by the frontend, scope `sessions`) and the audit log (scope `audit`)."""
from __future__ import annotations

from governor.api import models as m
from governor.api.audit import ACTION
from governor.api.complaints import ComplaintIn
from governor.api.schemas import USER_ID
from governor.api.spec.op import COMPLAINT, CSV, CURSOR, INSTANT, JSON, LIMIT, NDJSON, Op

EVENT = {"id": 812, "at": "2026-12-02T00:00:03+00:00", "chain": "u:5Qm2f0", "seq": 14, "user_id": "pupil-12",
         "client": "chat-web", "action": "session.started", "reason": "ok",
         "policy": {"name": "cn-minor-mode", "version": 1}, "data": {"session_id": "s2a_Yc2R7vLq0bTq8Xw3KdPm9Q"},
         "prev_hash": "9c1f...e0", "hash": "41aa...7d"}

OPS = [
    Op("post", "/v1/complaints", "fileComplaint", "complaints", "File a complaint", ("sessions",),
       body=ComplaintIn, responses={201: m.ComplaintOut},
       description="A user disputes their age classification, a limit, or anything else: the frontend files "
                   "it (category `age_classification`, `limit_dispute`, `content` or `other`; text up to "
                   "2,000 characters) and shows its status later. Audited as `complaint.filed`.",
       errors={422: "An unknown category, an empty or too long text, or an invalid user id"},
       example={"user_id": "pupil-12", "category": "limit_dispute",
                "text": "I was cut off in the middle of homework"},
       answer=COMPLAINT),
    Op("get", "/v1/complaints/{complaint_id}", "getComplaint", "complaints", "A complaint's status", ("sessions",),
       responses={200: m.ComplaintStatusOut, 404: m.ProblemOut},
       description="The complaint as the user may see it (no assignee), with the resolution once closed.",
       errors={404: "No such complaint"},
       answer={k: v for k, v in COMPLAINT.items() if k not in ("user_id", "text", "assignee")}),
    Op("get", "/v1/audit/events", "listAuditEvents", "audit", "The audit log: a page (json), or every matching "
       "event streamed (ndjson, csv)", ("audit",),
       query={"user_id": {"type": "string", "pattern": USER_ID.pattern, "description": "one user's events"},
              "action": {"type": "string", "pattern": f"^{ACTION.pattern}$",
                         "description": "one action, e.g. `grant.added`"},
              "since": {**INSTANT, "description": "events at or after this time"},
              "until": {**INSTANT, "description": "events before this time"}, "cursor": CURSOR, "limit": LIMIT,
              "format": {"type": "string", "enum": ["json", "ndjson", "csv"], "default": "json",
                         "description": "`json`: a page; `ndjson` (one event a line) or `csv` (a header row, "
                                        "then one event a row): every matching event, streamed"}},
       responses={200: {JSON: m.EventsPage, NDJSON: {"type": "string"}, CSV: {"type": "string"}}},
       description="The hash-chained log of every change, oldest first, with the user id resolved while the "
                   "user exists (null once erased). docs/audit.md gives the format, every action and how to "
                   "check the chains without Governor. CSV cells that a spreadsheet would run as a formula "
                   "are neutralised.",
       errors={422: "An invalid filter, cursor, limit or format, or an unknown parameter"},
       answer={"events": [EVENT], "next_cursor": "ODEy"}),
    Op("get", "/v1/audit/verify", "verifyAuditLog", "audit", "Verify every hash chain", ("audit",),
       responses={200: m.VerifyOut},
       description="Recompute every chain: an edited, inserted, deleted or reordered event is reported as the "
                   "first bad one. `governor audit verify` does the same from the command line.",
       answer={"ok": True, "events_checked": 18240}),
]
