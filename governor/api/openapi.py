"""The OpenAPI 3.1 document, generated from the pydantic request models the views validate with
and the response models below (tests validate real answers against them, so neither drifts)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from governor.api.admin import ComplaintPatch, GrantIn, LockIn, SettingsIn, UnlockIn
from governor.api.complaints import ComplaintIn
from governor.api.guardians import ControlsIn, GuardianGrantIn, TimeDecisionIn, TimeRequestIn
from governor.api.schemas import AgeVerification, StartSession


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WarningOut(Out):
    type: Literal["time_running_out", "break_soon", "rest_reminder"]
    seconds_left: int | None
    number: int | None = None  # rest_reminder only: which reminder of the continuous use


class PolicyRef(Out):
    name: str
    version: int


class DecisionOut(Out):
    user_id: str
    allowed: bool
    reason: Literal["ok", "daily_limit_reached", "weekly_limit_reached", "curfew", "quiet_hours", "cooldown", "locked",
                    "verification_required", "too_many_sessions"]
    band: Literal["under_8", "age_8_15", "age_16_17", "adult", "unverified"]
    used_today_seconds: int
    remaining_seconds: int | None
    ends_at: str | None
    retry_at: str | None
    warnings: list[WarningOut]
    policy: PolicyRef


class StartedOut(DecisionOut):
    session_id: str
    heartbeat_interval_seconds: int


class HeartbeatOut(DecisionOut):
    session_id: str


class EndedOut(DecisionOut):
    session_id: str
    duration_seconds: int
    end_reason: str


class StatusVerificationOut(Out):
    """A verification as a frontend sees it in a status: without the birth date."""
    status: Literal["verified", "self_declared", "unverified"]
    method: str | None
    provider: str | None
    assurance: str | None
    expires_at: str | None
    verified_at: str | None


class VerificationOut(StatusVerificationOut):
    birth_date: str | None


class StatusOut(DecisionOut):
    verification: StatusVerificationOut | None
    active_sessions: int


class VerifiedOut(VerificationOut):
    user_id: str
    band: str


class DayOut(Out):
    date: str
    seconds: int
    uncounted_seconds: int
    sessions: int


class UsageOut(Out):
    user_id: str
    days: list[DayOut]


class GrantOut(Out):
    user_id: str
    date: str
    extra_minutes: int
    reason: str | None
    decision: DecisionOut


class LockOut(Out):
    user_id: str
    locked: bool
    until: str | None
    reason: str | None
    decision: DecisionOut


class SettingsOut(Out):
    user_id: str
    timezone: str | None
    daily_limit_minutes: int | None
    decision: DecisionOut


class ErasedOut(Out):
    user_id: str
    erased: bool
    audit_events_kept: int


class ComplaintOut(Out):
    id: str
    user_id: str
    category: str
    text: str
    status: Literal["open", "assigned", "resolved", "rejected"]
    assignee: str | None
    resolution: str | None
    created_at: str
    updated_at: str
    closed_at: str | None


class ComplaintStatusOut(Out):
    id: str
    category: str
    status: Literal["open", "assigned", "resolved", "rejected"]
    resolution: str | None
    created_at: str
    updated_at: str
    closed_at: str | None


class ComplaintsPage(Out):
    complaints: list[ComplaintOut]
    next_cursor: str | None


class EventOut(Out):
    id: int
    at: str
    chain: str
    seq: int
    user_id: str | None
    client: str
    action: str
    reason: str | None
    policy: dict[str, Any]
    data: dict[str, Any]
    prev_hash: str
    hash: str


class EventsPage(Out):
    events: list[EventOut]
    next_cursor: str | None


class BadEventOut(Out):
    id: int | None
    chain: str
    seq: int
    problem: str


class VerifyOut(Out):
    ok: bool
    events_checked: int
    first_bad_event: BadEventOut | None = None


class PolicyVersionOut(Out):
    version: int
    name: str
    activated_at: str | None
    activated_by: str
    source: str


class PolicyVersionsOut(Out):
    versions: list[PolicyVersionOut]


class LinkOut(Out):
    user_id: str
    guardian_id: str
    linked_at: str


class UnlinkedOut(LinkOut):
    unlinked: bool


class GuardianOut(Out):
    guardian_id: str
    linked_at: str


class GuardiansOut(Out):
    guardians: list[GuardianOut]


class GuardianErasedOut(Out):
    guardian_id: str
    erased: bool
    links_removed: int


class ControlsOut(Out):
    daily_limit_minutes: int | None
    quiet_hours: list[str] | None
    rest_reminder_minutes: int | None


class ChildOut(Out):
    user_id: str
    decision: DecisionOut
    controls: ControlsOut


class ChildrenOut(Out):
    children: list[ChildOut]


class TimeRequestsCount(Out):
    approved: int
    denied: int
    expired: int
    pending: int


class SummaryOut(Out):
    user_id: str
    week: str
    band: str
    days: list[DayOut]
    total_seconds: int
    daily_average_seconds: int
    refusals: dict[str, int]
    time_requests: TimeRequestsCount


class GuardianGrantOut(Out):
    date: str
    extra_minutes: int
    reason: str | None
    by: Literal["guardian"]


class GuardianGrantAdded(Out):
    grant: GuardianGrantOut
    decision: DecisionOut


class TimeRequestOut(Out):
    id: str
    user_id: str
    minutes: int
    note: str | None
    status: Literal["pending", "approved", "denied", "expired"]
    date: str
    created_at: str
    expires_at: str
    decided_at: str | None
    decided_minutes: int | None


class TimeRequestsOut(Out):
    time_requests: list[TimeRequestOut]


class ProblemOut(BaseModel):
    type: str
    title: str
    status: int
    detail: str


ROUTES: list[tuple[str, str, str, tuple[str, ...], type | None, dict[int, type | None]]] = [
    ("post", "/v1/sessions", "Admission", ("sessions",), StartSession, {201: StartedOut, 403: DecisionOut}),
    ("post", "/v1/sessions/{session_id}/heartbeat", "Accrue and decide again", ("sessions",), None,
     {200: HeartbeatOut, 404: ProblemOut, 409: ProblemOut}),
    ("post", "/v1/sessions/{session_id}/end", "End a session (idempotent)", ("sessions",), None,
     {200: EndedOut, 404: ProblemOut}),
    ("get", "/v1/users/{user_id}/status", "The decision for a start now", ("sessions",), None, {200: StatusOut}),
    ("put", "/v1/users/{user_id}/age-verification", "Store an age verification", ("age", "admin"),
     AgeVerification, {200: VerifiedOut}),
    ("get", "/v1/users/{user_id}/usage", "Use per local day", ("audit", "admin"), None, {200: UsageOut}),
    ("post", "/v1/admin/users/{user_id}/grants", "Extra minutes for a day", ("admin",), GrantIn, {201: GrantOut}),
    ("put", "/v1/admin/users/{user_id}/lock", "Lock", ("admin",), LockIn, {200: LockOut}),
    ("delete", "/v1/admin/users/{user_id}/lock", "Unlock", ("admin",), UnlockIn, {200: LockOut}),
    ("put", "/v1/admin/users/{user_id}/settings", "Per-user settings", ("admin",), SettingsIn, {200: SettingsOut}),
    ("delete", "/v1/admin/users/{user_id}", "Erase a user", ("admin",), None, {200: ErasedOut, 404: ProblemOut}),
    ("get", "/v1/admin/policy", "The active policy", ("admin",), None, {200: None}),
    ("put", "/v1/admin/policy", "Activate a new policy version", ("admin",), None, {200: None, 422: ProblemOut}),
    ("get", "/v1/admin/policy/versions", "Every policy version", ("admin",), None, {200: PolicyVersionsOut}),
    ("post", "/v1/complaints", "File a complaint", ("sessions",), ComplaintIn, {201: ComplaintOut}),
    ("get", "/v1/complaints/{complaint_id}", "A complaint's status", ("sessions",), None,
     {200: ComplaintStatusOut, 404: ProblemOut}),
    ("get", "/v1/admin/complaints", "Complaints, paged", ("admin",), None, {200: ComplaintsPage}),
    ("patch", "/v1/admin/complaints/{complaint_id}", "Assign or resolve", ("admin",), ComplaintPatch,
     {200: ComplaintOut, 409: ProblemOut}),
    ("get", "/v1/admin/reports/daily", "The day's aggregate for a regulator", ("admin",), None, {200: None}),
    ("get", "/v1/audit/events", "The audit log (json, ndjson or csv)", ("audit",), None, {200: EventsPage}),
    ("get", "/v1/audit/verify", "Verify every hash chain", ("audit",), None, {200: VerifyOut}),
    ("put", "/v1/users/{user_id}/guardians/{guardian_id}", "Link a guardian (idempotent)", ("age", "admin"), None,
     {200: LinkOut}),
    ("delete", "/v1/users/{user_id}/guardians/{guardian_id}", "Unlink a guardian", ("age", "admin"), None,
     {200: UnlinkedOut, 404: ProblemOut}),
    ("get", "/v1/admin/users/{user_id}/guardians", "A user's guardians", ("admin",), None, {200: GuardiansOut}),
    ("delete", "/v1/admin/guardians/{guardian_id}", "Erase a guardian", ("admin",), None,
     {200: GuardianErasedOut, 404: ProblemOut}),
    ("get", "/v1/guardians/{guardian_id}/children", "A guardian's children", ("guardian",), None,
     {200: ChildrenOut}),
    ("get", "/v1/guardians/{guardian_id}/children/{user_id}/summary", "A child's week", ("guardian",), None,
     {200: SummaryOut, 404: ProblemOut}),
    ("get", "/v1/guardians/{guardian_id}/children/{user_id}/controls", "This guardian's controls", ("guardian",),
     None, {200: ControlsOut, 404: ProblemOut}),
    ("put", "/v1/guardians/{guardian_id}/children/{user_id}/controls", "Set this guardian's controls",
     ("guardian",), ControlsIn, {200: ControlsOut, 404: ProblemOut}),
    ("post", "/v1/guardians/{guardian_id}/children/{user_id}/grants", "Extra minutes for today, within the cap",
     ("guardian",), GuardianGrantIn, {201: GuardianGrantAdded, 404: ProblemOut}),
    ("post", "/v1/users/{user_id}/time-requests", "Ask for more time", ("sessions",), TimeRequestIn,
     {201: TimeRequestOut, 409: ProblemOut}),
    ("get", "/v1/time-requests/{request_id}", "A time request", ("sessions",), None,
     {200: TimeRequestOut, 404: ProblemOut}),
    ("get", "/v1/guardians/{guardian_id}/time-requests", "The requests of a guardian's children",
     ("guardian",), None, {200: TimeRequestsOut}),
    ("patch", "/v1/guardians/{guardian_id}/time-requests/{request_id}", "Approve or deny a request",
     ("guardian",), TimeDecisionIn, {200: TimeRequestOut, 404: ProblemOut, 409: ProblemOut}),
    ("get", "/healthz", "Liveness", (), None, {200: None}),
    ("get", "/readyz", "Readiness: the database answers", (), None, {200: None, 503: None}),
    ("get", "/metrics", "Prometheus metrics", (), None, {200: None}),
    ("get", "/openapi.json", "This document", (), None, {200: None}),
]


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    paths: dict[str, Any] = {}
    for method, path, summary, scopes, request_model, responses in ROUTES:
        op: dict[str, Any] = {"summary": summary, "responses": {}}
        params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
        if params:
            op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                for p in params]
        if scopes:
            op["security"] = [{"bearer": [s]} for s in scopes]
            responses = {**responses, 401: ProblemOut, 403: responses.get(403, ProblemOut)}
        if request_model is not None:
            op["requestBody"] = {"required": method != "delete",
                                 "content": {"application/json": {"schema": ref(request_model)}}}
            responses = {**responses, 422: ProblemOut}
        for status, model in sorted(responses.items()):
            kind = "application/problem+json" if model is ProblemOut else "application/json"
            op["responses"][str(status)] = {"description": str(status)} | (
                {"content": {kind: {"schema": ref(model)}}} if model is not None else {})
        paths.setdefault(path, {})[method] = op
    return {"openapi": "3.1.0",
            "info": {"title": "Governor", "version": "1",
                     "description": "Minor-protection usage governor for generative-AI chat services."},
            "paths": paths,
            "components": {"schemas": schemas,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                          "bearerFormat": "JWT"}}}}
