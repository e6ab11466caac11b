"""The admin answers: grants, locks, settings, a user in one answer, erasure, token revocation,
policy versions, the daily report and the development clock. Admin records are in UTC."""
from __future__ import annotations

from datetime import date as date_

from governor.api.models.base import Band, Out
from governor.api.models.decisions import DecisionOut, VerificationOut


class GrantOut(Out):
    """An admin grant: extra minutes for one local day, and the user's decision with it."""
    user_id: str
    date: str
    """the local day the minutes are for"""
    extra_minutes: int
    reason: str | None
    decision: DecisionOut


class LockOut(Out):
    """The user's lock after a lock or unlock, and their decision with it."""
    user_id: str
    locked: bool
    until: str | None
    """when the lock ends by itself; null: until unlocked"""
    reason: str | None
    decision: DecisionOut


class SettingsOut(Out):
    """The user's own settings after a change, and their decision with them."""
    user_id: str
    timezone: str | None
    """the user's IANA zone; null: the policy's"""
    daily_limit_minutes: int | None
    """a per-user limit, never looser than the band's; null: the band's"""
    decision: DecisionOut


class UserGrantOut(Out):
    """A grant as the admin view lists it (its `id` revokes it)."""
    id: int
    date: str
    extra_minutes: int
    reason: str | None
    client: str
    """the `sub` of the token that granted it"""
    created_at: str


class UserSessionOut(Out):
    """A session as the admin view lists it."""
    session_id: str
    client: str
    """the `sub` of the frontend that started it"""
    started_at: str
    last_seen_at: str
    ends_at: str | None
    ended_at: str | None
    end_reason: str | None
    duration_seconds: int


class UserSettingsOut(Out):
    """The user's own settings (null: the policy's zone, the band's limit)."""
    timezone: str | None
    daily_limit_minutes: int | None


class UserLockOut(Out):
    """Whether the user is locked, until when and why."""
    locked: bool
    until: str | None
    reason: str | None


class UserOut(Out):
    """A user in one answer: band, verification (with the birth date), settings, lock, the grants of the
    last 14 local days and ahead, the running sessions, and the decision for a start now."""
    user_id: str
    band: Band
    verification: VerificationOut | None
    settings: UserSettingsOut
    lock: UserLockOut
    grants: list[UserGrantOut]
    active_sessions: list[UserSessionOut]
    decision: DecisionOut


class RevokedOut(Out):
    """A revoked grant and the user's decision without it (time already used stays used)."""
    user_id: str
    revoked: UserGrantOut
    decision: DecisionOut


class ErasedOut(Out):
    """An erasure: the user's personal data is gone; their audit events stay, anonymous."""
    user_id: str
    erased: bool
    audit_events_kept: int


class ClockOut(Out):
    """The development server's clock."""
    now: str
    offset_seconds: float
    """how far the clock is from the real time"""


class TokenRevokedOut(Out):
    """A revoked token id: every instance refuses tokens carrying it within two seconds."""
    jti: str
    until: str
    """when the revocation may be forgotten (the token has expired by then)"""
    revoked_at: str


class PolicyVersionOut(Out):
    """One activated policy version."""
    version: int
    name: str
    activated_at: str | None
    activated_by: str
    """the `sub` of the admin token, `governor-config` (the policy file) or `governor-cli`"""
    source: str
    """`api`, `file:NAME` (`GOVERNOR_POLICY` at start-up) or `cli:NAME` (`governor policy activate`)"""


class PolicyVersionsOut(Out):
    """Every policy version, oldest first."""
    versions: list[PolicyVersionOut]


class TimeRequestCounts(Out):
    """Time requests of the day by outcome."""
    requested: int
    approved: int
    denied: int
    expired: int


class GuardianGrantCounts(Out):
    """Guardians' grants of the day."""
    grants: int
    minutes: int


class BandReport(Out):
    """One band's day: no user ids."""
    users_active: int
    sessions: int
    minutes: float
    refusals: dict[str, int]
    """refused starts and heartbeats per reason"""
    time_requests: TimeRequestCounts
    guardian_grants: GuardianGrantCounts
    users_by_basis: dict[str, int]
    """the active users by the sources whose age signals decided their band, joined with `+`
    (e.g. `verification`, `os_age_signal`, `estimation+os_age_signal`), `none` without one"""


class ComplaintCounts(Out):
    """Complaints opened and closed that day."""
    opened: int
    closed: int


class ReportOut(Out):
    """The day's aggregate for a regulator, per band; it names no user."""
    date: date_
    timezone: str
    """the policy's zone, which says where the day begins and ends"""
    bands: dict[str, BandReport]
    refusals: dict[str, int]
    complaints: ComplaintCounts
