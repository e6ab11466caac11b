"""What Governor answers, as frozen dataclasses: attributes are the JSON fields, instants are aware
datetimes, dates are dates. Each keeps the whole answer in `raw` (fields this version does not know
are there)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Literal

TimeRequestStatus = Literal["pending", "approved", "denied", "expired"]


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def _date(value: str) -> date:
    return date.fromisoformat(value)


@dataclass(frozen=True)
class Warning:
    type: str  # time_running_out | break_soon | rest_reminder
    seconds_left: int | None = None
    number: int | None = None  # which rest reminder (1 after the first interval, 2 after the second ...)
    # time_running_out: what runs out, "daily_limit" | "weekly_limit" (the time left today or this
    # week) | "allowed_hours" (the allowed hours end) | "quiet_hours" (a guardian's quiet hours begin)
    cause: str | None = None

    @property
    def key(self) -> tuple[str, int | None, str | None]:
        """What makes a warning new: its type, for a rest reminder its number, and for
        time_running_out its cause (a grant can make the curfew, not the limit, the end)."""
        return self.type, self.number, self.cause


@dataclass(frozen=True)
class Decision:
    """A decision as the server sent it. Fields that only some answers carry are None elsewhere."""
    user_id: str
    allowed: bool
    reason: str
    band: str | None = None
    used_today_seconds: int | None = None
    remaining_seconds: int | None = None
    ends_at: datetime | None = None
    retry_at: datetime | None = None
    warnings: tuple[Warning, ...] = ()
    policy: dict[str, Any] | None = None
    session_id: str | None = None
    heartbeat_interval_seconds: int | None = None
    duration_seconds: int | None = None
    end_reason: str | None = None
    verification: dict[str, Any] | None = None
    active_sessions: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Decision:
        known = {f.name for f in fields(cls)} - {"raw"}
        values = {k: v for k, v in body.items() if k in known}
        values["ends_at"], values["retry_at"] = _instant(body.get("ends_at")), _instant(body.get("retry_at"))
        values["warnings"] = tuple(Warning(w["type"], w.get("seconds_left"), w.get("number"), w.get("cause"))
                                   for w in body.get("warnings") or ())
        return cls(**values, raw=body)


# -- guardians (DESIGN section 7) --------------------------------------------------------------

@dataclass(frozen=True)
class Controls:
    """One guardian's controls of one child; None where that guardian set nothing. They only
    tighten: the strictest of every guardian's, the admin's and the band's applies."""
    daily_limit_minutes: int | None = None
    quiet_hours: tuple[str, ...] | None = None  # windows such as "21:00-07:00" in which chat is off
    rest_reminder_minutes: int | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Controls:
        hours = body.get("quiet_hours")
        return cls(body.get("daily_limit_minutes"), None if hours is None else tuple(hours),
                   body.get("rest_reminder_minutes"))


ParentalConsent = Literal["granted", "pending", "denied", "revoked"]


@dataclass(frozen=True)
class Age:
    """A user's age as the decision uses it today (DESIGN section 8), without the signals."""
    band: str
    age_min: int | None  # today's, after combining the signals that decided; None without any
    age_max: int | None  # None: no upper bound, or no signal
    basis: tuple[str, ...]  # the sources whose signals decided
    parental_consent: ParentalConsent | None  # the latest a signal or a linked guardian said; None: nobody

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Age:
        return cls(body["band"], body.get("age_min"), body.get("age_max"), tuple(body.get("basis") or ()),
                   body.get("parental_consent"))


@dataclass(frozen=True)
class Child:
    user_id: str
    decision: Decision  # what a start would answer now
    controls: Controls  # this guardian's
    age: Age | None = None  # band, span, basis and the parental consent in force (None from a server before it)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Child:
        age = body.get("age")
        return cls(body["user_id"], Decision.from_json(body["decision"]), Controls.from_json(body["controls"]),
                   None if age is None else Age.from_json(age))


@dataclass(frozen=True)
class Day:
    date: date
    seconds: int
    uncounted_seconds: int
    sessions: int

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Day:
        return cls(_date(body["date"]), body["seconds"], body["uncounted_seconds"], body["sessions"])


@dataclass(frozen=True)
class TimeRequestCounts:
    approved: int = 0
    denied: int = 0
    expired: int = 0
    pending: int = 0


@dataclass(frozen=True)
class WeekSummary:
    """One ISO week of a child, Monday to Sunday."""
    user_id: str
    week: str  # "2026-W49"
    band: str
    days: tuple[Day, ...]
    total_seconds: int
    daily_average_seconds: int
    refusals: dict[str, int]  # reason -> how many starts were refused for it
    time_requests: TimeRequestCounts
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> WeekSummary:
        counts = body.get("time_requests") or {}
        return cls(body["user_id"], body["week"], body["band"], tuple(Day.from_json(d) for d in body["days"]),
                   body["total_seconds"], body["daily_average_seconds"], dict(body.get("refusals") or {}),
                   TimeRequestCounts(**{k: counts.get(k, 0) for k in ("approved", "denied", "expired", "pending")}),
                   raw=body)


@dataclass(frozen=True)
class Grant:
    date: date  # the child's local day it is for
    extra_minutes: int
    reason: str | None
    by: str  # "guardian"


@dataclass(frozen=True)
class GuardianGrant:
    """A guardian's grant, and the child's decision with it."""
    grant: Grant
    decision: Decision

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> GuardianGrant:
        g = body["grant"]
        return cls(Grant(_date(g["date"]), g["extra_minutes"], g.get("reason"), g.get("by", "guardian")),
                   Decision.from_json(body["decision"]))


@dataclass(frozen=True)
class TimeRequest:
    """A child's request for more time. `decided_minutes` is what an approval granted."""
    id: str
    user_id: str
    minutes: int
    note: str | None
    status: TimeRequestStatus
    date: date | None = None  # the child's local day it was asked on (and expires at the end of)
    created_at: datetime | None = None
    expires_at: datetime | None = None
    decided_at: datetime | None = None
    decided_minutes: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> TimeRequest:
        return cls(body["id"], body["user_id"], body["minutes"], body.get("note"), body["status"],
                   _date(body["date"]) if body.get("date") else None, _instant(body.get("created_at")),
                   _instant(body.get("expires_at")), _instant(body.get("decided_at")),
                   body.get("decided_minutes"), raw=body)
