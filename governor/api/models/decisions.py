"""The decision (may this user chat now?) and the answers built on it: sessions, status,
verification, usage."""
from __future__ import annotations

from datetime import date as date_
from typing import Literal

from governor.api.models.age import AgeSummaryOut
from governor.api.models.base import Band, Out

Reason = Literal["ok", "daily_limit_reached", "weekly_limit_reached", "curfew", "quiet_hours", "cooldown",
                 "locked", "verification_required", "consent_required", "too_many_sessions"]


class WarningOut(Out):
    """Something a frontend shows the user while the session goes on."""
    type: Literal["time_running_out", "break_soon", "rest_reminder"]
    """`time_running_out`: the daily or weekly limit, the end of the allowed hours or a guardian's quiet
    hours is near; `break_soon`: a forced break is near; `rest_reminder`: continuous use passed the
    reminder interval (nothing ends)"""
    seconds_left: int | None
    """seconds until the session ends (null for `rest_reminder`)"""
    number: int | None = None
    """`rest_reminder` only: which multiple of the interval this is; show the reminder when it changes"""
    cause: Literal["daily_limit", "weekly_limit", "allowed_hours", "quiet_hours"] | None = None
    """`time_running_out` only: what runs out. `daily_limit` or `weekly_limit`: the time left today
    or this week (`remaining_seconds`); `allowed_hours`: the allowed hours end (curfew); `quiet_hours`:
    a guardian's quiet hours begin. Tell the user which: "5 minutes left today" is not "chat closes at
    22:00"."""


class PolicyRef(Out):
    """The policy version a decision was made under."""
    name: str
    version: int


class DecisionOut(Out):
    """Whether the user may chat now, and until when. A refusal is a decision (`allowed: false`),
    never an error."""
    user_id: str
    allowed: bool
    """true: the user may chat (or go on chatting)"""
    reason: Reason
    """`ok` when allowed; otherwise what refuses (the one with the latest `retry_at` when several do)"""
    band: Band
    """the age band the decision used"""
    used_today_seconds: int
    """chat time booked on the user's current local day, whole seconds rounded down"""
    remaining_seconds: int | None
    """what is left of today's allowance (daily, weekly and per-user limits, grants added), rounded up;
    null when unlimited. Not the time until `ends_at`"""
    ends_at: str | None
    """when the session (or one started now) must end, in the user's offset; null when nothing ends it"""
    retry_at: str | None
    """the earliest time a new session could start if nothing else changes; null when allowed, or when
    only an admin can help"""
    warnings: list[WarningOut]
    policy: PolicyRef


class StartedOut(DecisionOut):
    """An admitted session: the decision, the session's id and how often to heartbeat."""
    session_id: str
    heartbeat_interval_seconds: int
    """send a heartbeat this often while the chat is open"""


class HeartbeatOut(DecisionOut):
    """The decision after a heartbeat; `allowed: false` means the session has already ended."""
    session_id: str


class EndedOut(DecisionOut):
    """An ended session: how long it counted and why it ended, and the user's decision now."""
    session_id: str
    duration_seconds: int
    """the chat time this session booked"""
    end_reason: str
    """`client` (an end call), `timeout` (silent past the heartbeat grace), or the reason of the decision
    that ended it (`daily_limit_reached`, `curfew`, ...)"""


class StatusVerificationOut(Out):
    """A verification as a frontend sees it in a status: without the birth date. `expired` once
    `expires_at` has passed (the band is then `unverified`)."""
    status: Literal["verified", "self_declared", "unverified", "expired"]
    method: str | None
    provider: str | None
    assurance: str | None
    expires_at: str | None
    """in UTC"""
    verified_at: str | None
    """in UTC"""


class VerificationOut(StatusVerificationOut):
    """A stored age verification, with the birth date (admin and verifier answers)."""
    birth_date: str | None


class StatusOut(DecisionOut):
    """The decision for a start now (no side effect), with the verification and the running sessions."""
    verification: StatusVerificationOut | None
    active_sessions: int
    """how many of the user's sessions are running"""
    age: AgeSummaryOut
    """the user's age from every signal (section 8; GET /v1/users/{user_id}/age lists the signals)"""


class VerifiedOut(VerificationOut):
    """The stored verification and the band it gives today."""
    user_id: str
    band: str


class DayOut(Out):
    """One local day of a user's use."""
    date: date_
    seconds: int
    """chat time that counted toward the limits"""
    uncounted_seconds: int
    """chat time in sessions of a purpose the policy does not count (within its uncounted minutes)"""
    sessions: int
    """sessions that started that day"""


class UsageOut(Out):
    """Use per local day, every day of the range (days without use are zeros)."""
    user_id: str
    days: list[DayOut]
