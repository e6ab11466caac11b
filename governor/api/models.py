"""The JSON shapes of the answers (and of the policy document), as pydantic models. The OpenAPI
document is generated from them and from the request models the views validate with; tests
validate real answers against them, so neither drifts."""
from __future__ import annotations

from datetime import date as date_
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from governor.domain.policy import DAY_KEYS


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
    reason: Literal["ok", "daily_limit_reached", "weekly_limit_reached", "curfew", "quiet_hours", "cooldown",
                    "locked", "verification_required", "too_many_sessions"]
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
    """A verification as a frontend sees it in a status: without the birth date. `expired` once
    `expires_at` has passed (the band is then `unverified`)."""
    status: Literal["verified", "self_declared", "unverified", "expired"]
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
    date: date_
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


class UserGrantOut(Out):
    id: int
    date: str
    extra_minutes: int
    reason: str | None
    client: str
    created_at: str


class UserSessionOut(Out):
    session_id: str
    client: str
    started_at: str
    last_seen_at: str
    ends_at: str | None
    ended_at: str | None
    end_reason: str | None
    duration_seconds: int


class UserSettingsOut(Out):
    timezone: str | None
    daily_limit_minutes: int | None


class UserLockOut(Out):
    locked: bool
    until: str | None
    reason: str | None


class UserOut(Out):
    user_id: str
    band: Literal["under_8", "age_8_15", "age_16_17", "adult", "unverified"]
    verification: VerificationOut | None
    settings: UserSettingsOut
    lock: UserLockOut
    grants: list[UserGrantOut]
    active_sessions: list[UserSessionOut]
    decision: DecisionOut


class RevokedOut(Out):
    user_id: str
    revoked: UserGrantOut
    decision: DecisionOut


class ClockOut(Out):
    now: str
    offset_seconds: float


class TokenRevokedOut(Out):
    jti: str
    until: str
    revoked_at: str


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


class ProblemError(BaseModel):
    field: str
    message: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details; some types add members (`errors`, `end_reason`, ...)."""
    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


class SessionEndedOut(ProblemOut):
    """The 409 of a heartbeat to an ended session: why it ended."""
    end_reason: str


class StatusOk(Out):
    status: str


class NotReady(Out):
    status: str
    database: str


class TimeRequestCounts(Out):
    requested: int
    approved: int
    denied: int
    expired: int


class GuardianGrantCounts(Out):
    grants: int
    minutes: int


class BandReport(Out):
    users_active: int
    sessions: int
    minutes: float
    refusals: dict[str, int]
    time_requests: TimeRequestCounts
    guardian_grants: GuardianGrantCounts


class ComplaintCounts(Out):
    opened: int
    closed: int


class ReportOut(Out):
    date: date_
    timezone: str
    bands: dict[str, BandReport]
    refusals: dict[str, int]
    complaints: ComplaintCounts


# -- the policy document (DESIGN section 2; README "Policy format"). domain/policy.py validates
# it, more finely than this schema says (a by-day table needs `default` or both `weekday` and
# `weekend`; `continuous_limit_minutes` and `break_minutes` go together): a tests keeps the two
# in step, so that every document the domain accepts fits this schema.

Minutes = Annotated[int, Field(ge=0, le=100_000)]
PositiveMinutes = Annotated[int, Field(ge=1, le=100_000)]
Hours = Annotated[str, Field(pattern=r"^\d\d:\d\d-\d\d:\d\d$")]
ByDayLimit = dict[Literal[DAY_KEYS], Minutes | None]  # type: ignore[valid-type]
ByDayHours = dict[Literal[DAY_KEYS], list[Hours]]  # type: ignore[valid-type]


class BandRulesDoc(Out):
    daily_limit_minutes: Minutes | ByDayLimit | None = None
    weekly_limit_minutes: Minutes | None = None
    allowed_hours: list[Hours] | ByDayHours | None = None
    continuous_limit_minutes: PositiveMinutes | None = None
    break_minutes: PositiveMinutes | None = None
    max_concurrent_sessions: PositiveMinutes | None = None
    warn_before_minutes: Minutes | None = None
    rest_reminder_minutes: PositiveMinutes | None = None
    requires_verification: bool = False
    uncounted_minutes: dict[str, Minutes] | None = None
    guardian_grant_max_minutes: Minutes | None = None


class BandsDoc(Out):
    under_8: BandRulesDoc
    age_8_15: BandRulesDoc
    age_16_17: BandRulesDoc
    adult: BandRulesDoc
    unverified: BandRulesDoc


class PolicyIn(Out):
    """A policy as `PUT /v1/admin/policy` takes it. The read-only fields of a GET answer may be
    sent back and are ignored."""
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    timezone: str
    description: Annotated[str, Field(max_length=2000)] = ""
    holidays: list[Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]] = []
    bands: BandsDoc
    version: Any = None
    activated_at: Any = None
    activated_by: Any = None


class PolicyOut(Out):
    name: str
    timezone: str
    description: str
    holidays: list[date_]
    bands: BandsDoc
    version: int
    activated_at: str | None
    activated_by: str | None
