"""The OpenAPI 3.1 document, generated once per process from the request models the views
validate with, the answer models in `models.py`, and the same patterns and bounds the views
check query parameters with. Schemathesis (tests/api/test_contract.py) holds the running app to
it: every status, media type and body an operation can answer is listed here."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from governor.api import models as m
from governor.api.admin import ComplaintPatch, GrantIn, LockIn, RevocationIn, SettingsIn, UnlockIn
from governor.api.audit import ACTION
from governor.api.complaints import COMPLAINT_ID, MAX_PAGE, ComplaintIn
from governor.api.dev import ClockIn
from governor.api.guardians import REQUEST_ID, ControlsIn, GuardianGrantIn, TimeDecisionIn, TimeRequestIn
from governor.api.guardians import STATUSES as REQUEST_STATUSES
from governor.api.schemas import INSTANT_PATTERN, USER_ID, AgeVerification, StartSession
from governor.api.sessions import SESSION_ID
from governor.service.complaints import STATUSES

JSON, PROBLEM, NDJSON, CSV = "application/json", "application/problem+json", "application/x-ndjson", "text/csv"
DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
INSTANT = {"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN}
PATH_PARAMS = {
    "user_id": {"type": "string", "pattern": USER_ID.pattern},
    "session_id": {"type": "string", "pattern": f"^{SESSION_ID.pattern}$"},
    "complaint_id": {"type": "string", "pattern": f"^{COMPLAINT_ID.pattern}$"},
    "grant_id": {"type": "string", "pattern": r"^[0-9]{1,18}$"},
    "guardian_id": {"type": "string", "pattern": USER_ID.pattern},
    "request_id": {"type": "string", "pattern": f"^{REQUEST_ID.pattern}$"},
}
LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 100}
CURSOR = {"type": "string", "description": "the `next_cursor` of the previous page"}
EMPTY_OBJECT = {"type": "object", "maxProperties": 0}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
STATUS_TEXT = {200: "OK", 201: "Created", 400: "The body is not JSON", 401: "No valid bearer token",
               403: "The token's scopes do not allow this", 404: "Not found",
               408: "The body stopped arriving (the server's read timeout)", 409: "Conflict",
               413: "The body is larger than the service takes", 422: "The request is not valid",
               429: "Too many requests from this client; see Retry-After",
               503: "The database cannot be reached; see Retry-After"}


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


OPS = [
    Op("post", "/v1/sessions", "startSession", "sessions", "Admission", ("sessions",), body=StartSession,
       responses={201: m.StartedOut, 403: {JSON: m.DecisionOut, PROBLEM: m.ProblemOut}}),
    Op("post", "/v1/sessions/{session_id}/heartbeat", "heartbeat", "sessions", "Accrue and decide again",
       ("sessions",), body=EMPTY_OBJECT, body_required=False,
       responses={200: m.HeartbeatOut, 404: m.ProblemOut, 409: {PROBLEM: m.SessionEndedOut}}),
    Op("post", "/v1/sessions/{session_id}/end", "endSession", "sessions", "End a session (idempotent)",
       ("sessions",), body=EMPTY_OBJECT, body_required=False, responses={200: m.EndedOut, 404: m.ProblemOut}),
    Op("get", "/v1/users/{user_id}/status", "getStatus", "users", "The decision for a start now", ("sessions",),
       query={"purpose": {"type": "string", "minLength": 1, "maxLength": 64,
                          "description": "a purpose the active policy names (section 7)"}},
       responses={200: m.StatusOut}),
    Op("put", "/v1/users/{user_id}/age-verification", "setAgeVerification", "users", "Store an age verification",
       ("age", "admin"), body=AgeVerification, responses={200: m.VerifiedOut}),
    Op("get", "/v1/users/{user_id}/usage", "getUsage", "users", "Use per local day (default the last 7 days)",
       ("audit", "admin"), query={"from": DATE, "to": DATE}, responses={200: m.UsageOut}),
    Op("get", "/v1/admin/users/{user_id}", "getUser", "admin",
       "A user: verification, settings, lock, grants, active sessions", ("admin",),
       responses={200: m.UserOut, 404: m.ProblemOut}),
    Op("post", "/v1/admin/users/{user_id}/grants", "addGrant", "admin", "Extra minutes for a day", ("admin",),
       body=GrantIn, responses={201: m.GrantOut}),
    Op("delete", "/v1/admin/users/{user_id}/grants/{grant_id}", "revokeGrant", "admin", "Revoke a grant",
       ("admin",), responses={200: m.RevokedOut, 404: m.ProblemOut}),
    Op("put", "/v1/admin/users/{user_id}/lock", "lockUser", "admin", "Lock (no body: until unlocked)", ("admin",),
       body=LockIn, body_required=False, responses={200: m.LockOut}),
    Op("delete", "/v1/admin/users/{user_id}/lock", "unlockUser", "admin", "Unlock", ("admin",), body=UnlockIn,
       body_required=False, responses={200: m.LockOut}),
    Op("put", "/v1/admin/users/{user_id}/settings", "changeSettings", "admin", "Per-user settings", ("admin",),
       body=SettingsIn, responses={200: m.SettingsOut}),
    Op("delete", "/v1/admin/users/{user_id}", "eraseUser", "admin", "Erase a user", ("admin",),
       responses={200: m.ErasedOut, 404: m.ProblemOut}),
    Op("post", "/v1/admin/revocations", "revokeToken", "admin", "Revoke a token by its jti", ("admin",),
       body=RevocationIn, responses={201: m.TokenRevokedOut}),
    Op("get", "/v1/admin/policy", "getPolicy", "admin", "The active policy", ("admin",),
       responses={200: m.PolicyOut}),
    Op("put", "/v1/admin/policy", "activatePolicy", "admin", "Activate a new policy version", ("admin",),
       body=m.PolicyIn, responses={200: m.PolicyOut}),
    Op("get", "/v1/admin/policy/versions", "listPolicyVersions", "admin", "Every policy version", ("admin",),
       responses={200: m.PolicyVersionsOut}),
    Op("post", "/v1/complaints", "fileComplaint", "complaints", "File a complaint", ("sessions",),
       body=ComplaintIn, responses={201: m.ComplaintOut}),
    Op("get", "/v1/complaints/{complaint_id}", "getComplaint", "complaints", "A complaint's status", ("sessions",),
       responses={200: m.ComplaintStatusOut, 404: m.ProblemOut}),
    Op("get", "/v1/admin/complaints", "listComplaints", "admin", "Complaints, paged", ("admin",),
       query={"status": {"type": "string", "enum": list(STATUSES)}, "cursor": CURSOR, "limit": LIMIT},
       responses={200: m.ComplaintsPage}),
    Op("patch", "/v1/admin/complaints/{complaint_id}", "updateComplaint", "admin", "Assign or resolve", ("admin",),
       body=ComplaintPatch, responses={200: m.ComplaintOut, 404: m.ProblemOut, 409: m.ProblemOut}),
    Op("get", "/v1/admin/reports/daily", "dailyReport", "admin", "The day's aggregate for a regulator",
       ("admin",), query={"date": DATE}, responses={200: m.ReportOut}),
    Op("get", "/v1/audit/events", "listAuditEvents", "audit", "The audit log: a page (json), or every matching "
       "event streamed (ndjson, csv)", ("audit",),
       query={"user_id": {"type": "string", "pattern": USER_ID.pattern},
              "action": {"type": "string", "pattern": f"^{ACTION.pattern}$"},
              "since": INSTANT, "until": INSTANT, "cursor": CURSOR, "limit": LIMIT,
              "format": {"type": "string", "enum": ["json", "ndjson", "csv"], "default": "json"}},
       responses={200: {JSON: m.EventsPage, NDJSON: {"type": "string"}, CSV: {"type": "string"}}}),
    Op("get", "/v1/audit/verify", "verifyAuditLog", "audit", "Verify every hash chain", ("audit",),
       responses={200: m.VerifyOut}),
    Op("put", "/v1/dev/clock", "setDevClock", "dev", "Development only (404 otherwise): set the server's clock",
       ("admin",), body=ClockIn, responses={200: m.ClockOut, 404: m.ProblemOut}),
    Op("delete", "/v1/dev/clock", "resetDevClock", "dev", "Development only (404 otherwise): back to the real "
       "time", ("admin",), responses={200: m.ClockOut, 404: m.ProblemOut}),
    Op("put", "/v1/users/{user_id}/guardians/{guardian_id}", "linkGuardian", "guardians",
       "Link a guardian (idempotent)", ("age", "admin"), responses={200: m.LinkOut}),
    Op("delete", "/v1/users/{user_id}/guardians/{guardian_id}", "unlinkGuardian", "guardians", "Unlink a guardian",
       ("age", "admin"), responses={200: m.UnlinkedOut, 404: m.ProblemOut}),
    Op("get", "/v1/admin/users/{user_id}/guardians", "listGuardians", "admin", "A user's guardians", ("admin",),
       responses={200: m.GuardiansOut}),
    Op("delete", "/v1/admin/guardians/{guardian_id}", "eraseGuardian", "admin", "Erase a guardian", ("admin",),
       responses={200: m.GuardianErasedOut, 404: m.ProblemOut}),
    Op("get", "/v1/guardians/{guardian_id}/children", "listChildren", "guardians", "A guardian's children",
       ("guardian",), responses={200: m.ChildrenOut}),
    Op("get", "/v1/guardians/{guardian_id}/children/{user_id}/summary", "weekSummary", "guardians",
       "A child's ISO week (default the current one)", ("guardian",),
       query={"week": {"type": "string", "pattern": r"^\d{4}-W\d{2}$"}},
       responses={200: m.SummaryOut, 404: m.ProblemOut}),
    Op("get", "/v1/guardians/{guardian_id}/children/{user_id}/controls", "getControls", "guardians",
       "This guardian's controls", ("guardian",), responses={200: m.ControlsOut, 404: m.ProblemOut}),
    Op("put", "/v1/guardians/{guardian_id}/children/{user_id}/controls", "setControls", "guardians",
       "Set this guardian's controls (they only tighten)", ("guardian",), body=ControlsIn,
       responses={200: m.ControlsOut, 404: m.ProblemOut}),
    Op("post", "/v1/guardians/{guardian_id}/children/{user_id}/grants", "guardianGrant", "guardians",
       "Extra minutes for today, within the cap", ("guardian",), body=GuardianGrantIn,
       responses={201: m.GuardianGrantAdded, 404: m.ProblemOut}),
    Op("post", "/v1/users/{user_id}/time-requests", "askForTime", "guardians", "Ask for more time", ("sessions",),
       body=TimeRequestIn, responses={201: m.TimeRequestOut, 409: m.ProblemOut}),
    Op("get", "/v1/time-requests/{request_id}", "getTimeRequest", "guardians", "A time request", ("sessions",),
       responses={200: m.TimeRequestOut, 404: m.ProblemOut}),
    Op("get", "/v1/guardians/{guardian_id}/time-requests", "listTimeRequests", "guardians",
       "The requests of a guardian's children, newest first", ("guardian",),
       query={"status": {"type": "string", "enum": list(REQUEST_STATUSES)}},
       responses={200: m.TimeRequestsOut}),
    Op("patch", "/v1/guardians/{guardian_id}/time-requests/{request_id}", "decideTimeRequest", "guardians",
       "Approve or deny a request", ("guardian",), body=TimeDecisionIn,
       responses={200: m.TimeRequestOut, 404: m.ProblemOut, 409: m.ProblemOut}),
    Op("get", "/healthz", "healthz", "ops", "Liveness", (), responses={200: m.StatusOk}),
    Op("get", "/readyz", "readyz", "ops", "Readiness: the database answers", (),
       responses={200: m.StatusOk, 503: m.NotReady}),
    Op("get", "/metrics", "metrics", "ops", "Prometheus metrics", (),
       responses={200: {"text/plain": {"type": "string"}}}),
    Op("get", "/openapi.json", "openapi", "ops", "This document", (), responses={200: {JSON: {"type": "object"}}}),
]


def _responses(op: Op) -> dict[int, Any]:
    """The statuses every operation of its kind can answer, added to its own."""
    out: dict[int, Any] = {}
    params = [p.strip("{}") for p in op.path.split("/") if p.startswith("{")]
    if op.scopes:
        out.update({401: m.ProblemOut, 403: m.ProblemOut, 429: m.ProblemOut, 503: m.ProblemOut})
    if params:  # a value that cannot be a route's segment (a `/`, an empty one) matches no route
        out[404] = m.ProblemOut
    if "user_id" in params or "guardian_id" in params or op.query:
        out[422] = m.ProblemOut
    if op.body is not None:
        out.update({400: m.ProblemOut, 408: m.ProblemOut, 413: m.ProblemOut, 422: m.ProblemOut})
    return {**out, **op.responses}


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def schema(model: type[BaseModel] | dict) -> dict[str, Any]:
        if isinstance(model, dict):
            return model
        doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(doc.pop("$defs", {}))
        schemas[model.__name__] = doc
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def content(spec: Any) -> dict[str, Any]:
        if not isinstance(spec, dict) or not all("/" in k for k in spec):
            spec = {PROBLEM if spec is m.ProblemOut else JSON: spec}
        return {kind: {"schema": schema(model)} for kind, model in spec.items()}

    paths: dict[str, Any] = {}
    for op in OPS:
        doc: dict[str, Any] = {"operationId": op.operation_id, "tags": [op.tag], "summary": op.summary,
                               "responses": {}}
        params = [{"name": p.strip("{}"), "in": "path", "required": True, "schema": PATH_PARAMS[p.strip("{}")]}
                  for p in op.path.split("/") if p.startswith("{")]
        params += [{"name": name, "in": "query", "required": False, "schema": s} for name, s in op.query.items()]
        if params:
            doc["parameters"] = params
        if op.scopes:
            doc["security"] = [{"bearer": [s]} for s in op.scopes]
        if op.body is not None:
            doc["requestBody"] = {"required": op.body_required, "content": {JSON: {"schema": schema(op.body)}}}
        for status, spec in sorted(_responses(op).items()):
            answer: dict[str, Any] = {"description": STATUS_TEXT.get(status, str(status))}
            if spec is not None:
                answer["content"] = content(spec)
            if status in (429, 503):
                answer["headers"] = RETRY_AFTER
            doc["responses"][str(status)] = answer
        paths.setdefault(op.path, {})[op.method] = doc
    return {"openapi": "3.1.0",
            "info": {"title": "Governor", "version": "1",
                     "description": "Minor-protection usage governor for generative-AI chat services. "
                                    "Errors are RFC 9457 problems (application/problem+json)."},
            "tags": [{"name": t} for t in dict.fromkeys(op.tag for op in OPS)],
            "paths": paths,
            "components": {"schemas": schemas,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                          "bearerFormat": "JWT"}}}}
