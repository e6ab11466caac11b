"""The policy document (docs/policies.md). domain/policy.py validates it, more finely than this
schema says (a by-day table needs `default` or both `weekday` and `weekend`;
`continuous_limit_minutes` and `break_minutes` go together): a test keeps the two in step, so
that every document the domain accepts fits this schema."""
from __future__ import annotations

from datetime import date as date_
from typing import Annotated, Any, Literal

from pydantic import Field

from governor.api.models.base import Band, Out, Window
from governor.domain.policy import DAY_KEYS

Minutes = Annotated[int, Field(ge=0, le=100_000)]
PositiveMinutes = Annotated[int, Field(ge=1, le=100_000)]
Hours = Window
ByDayLimit = dict[Literal[DAY_KEYS], Minutes | None]  # type: ignore[valid-type]
ByDayHours = dict[Literal[DAY_KEYS], list[Hours]]  # type: ignore[valid-type]


class BandRulesDoc(Out):
    """One band's rules; an absent field is no rule (docs/policies.md, "Band rules")."""
    daily_limit_minutes: Minutes | ByDayLimit | None = None
    """chat time per local day, or a table by day type (`default`, `weekday`, `weekend`, `holiday`,
    `mon`..`sun`); absent: unlimited"""
    weekly_limit_minutes: Minutes | None = None
    """chat time per ISO week"""
    allowed_hours: list[Hours] | ByDayHours | None = None
    """local windows in which chat is allowed (or a table by day type); `[]`: never; absent: always"""
    continuous_limit_minutes: PositiveMinutes | None = None
    """continuous use after which the session ends and a break is forced (with `break_minutes`)"""
    break_minutes: PositiveMinutes | None = None
    """the forced break's length (reason `cooldown`)"""
    max_concurrent_sessions: PositiveMinutes | None = None
    warn_before_minutes: Minutes | None = None
    """how close `ends_at` must be for a `time_running_out` or `break_soon` warning"""
    rest_reminder_minutes: PositiveMinutes | None = None
    """a `rest_reminder` warning at each multiple of this continuous use"""
    requires_verification: bool = False
    """true: this band may not chat at all (reason `verification_required`)"""
    uncounted_minutes: dict[str, Minutes] | None = None
    """purpose -> minutes a local day that do not count toward the limits"""
    guardian_grant_max_minutes: Minutes | None = None
    """the most extra minutes guardians together may grant for one local day; absent: none"""
    min_age: Annotated[int, Field(ge=0, le=150)] | None = None
    """where the band starts, in whole years (the standard bands may omit it; not on `unverified`)"""
    requires_parental_consent: bool = False
    """true: no chat until a parent's consent is granted (reason `consent_required`); not on `adult`"""


BandsDoc = dict[Band, BandRulesDoc]
"""Every band's rules, by name: `adult` and `unverified` are required, the others are the policy's own."""


class PolicyIn(Out):
    """A policy as `PUT /v1/admin/policy` takes it. The read-only fields of a GET answer may be
    sent back and are ignored."""
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    """recorded with every decision and audit event"""
    timezone: str
    """the IANA zone of the local day for users without a zone of their own"""
    description: Annotated[str, Field(max_length=2000)] = ""
    holidays: list[Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]] = []
    """dates of day type `holiday`"""
    bands: BandsDoc
    adult_age: Annotated[int, Field(ge=1, le=150)] = 18
    """the age of majority, where the band `adult` starts"""
    adult_min_assurance: Literal["low", "substantial", "high"] = "substantial"
    """the least assurance of the deciding signals that gives `adult`; short of it, `unverified`"""
    age_signal_valid_days: Annotated[int, Field(ge=1, le=100_000)] = 365
    """how long an age signal without its own `expires_at` counts after it was observed"""
    version: Any = None
    activated_at: Any = None
    activated_by: Any = None


class PolicyOut(Out):
    """The active policy, as JSON, with its version."""
    name: str
    timezone: str
    description: str
    holidays: list[date_]
    bands: BandsDoc
    adult_age: int
    adult_min_assurance: Literal["low", "substantial", "high"]
    age_signal_valid_days: int
    version: int
    activated_at: str | None
    activated_by: str | None
