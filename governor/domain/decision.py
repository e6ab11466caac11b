"""What a decision is made of: the user's facts, their booked usage, and the decision itself.

Plain frozen values; the rules that make a decision from them are in domain/engine.py.
"""
from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from governor.domain import age, ledger
from governor.domain.controls import Controls

ZERO = timedelta(0)


class Reason(enum.StrEnum):
    OK = "ok"
    DAILY_LIMIT = "daily_limit_reached"
    WEEKLY_LIMIT = "weekly_limit_reached"
    CURFEW = "curfew"
    QUIET_HOURS = "quiet_hours"
    COOLDOWN = "cooldown"
    LOCKED = "locked"
    VERIFICATION_REQUIRED = "verification_required"
    CONSENT_REQUIRED = "consent_required"
    TOO_MANY_SESSIONS = "too_many_sessions"


@dataclass(frozen=True)
class Verification:
    status: str  # verified | self_declared | unverified
    birth_date: date | None = None
    method: str | None = None
    provider: str | None = None
    assurance: str | None = None
    expires_at: datetime | None = None
    verified_at: datetime | None = None

    def status_at(self, now: datetime) -> str:
        """The status as a reader should see it at `now`: `expired` once `expires_at` has passed
        (the band is then `unverified`), else the stored status."""
        return "expired" if self.expires_at is not None and self.expires_at <= now else self.status


def recorded(v: Verification, now: datetime) -> Verification:
    """What is kept of a verification given at `now`: an `unverified` status keeps no birth date
    (nothing is kept that is not needed)."""
    if v.status == "unverified":
        v = Verification(status="unverified", method=v.method, provider=v.provider, assurance=v.assurance)
    return replace(v, verified_at=now)


@dataclass(frozen=True)
class Lock:
    until: datetime | None = None  # None: until an admin unlocks
    reason: str | None = None


@dataclass(frozen=True)
class UserFacts:
    user_id: str
    verification: Verification | None = None
    timezone: str | None = None
    daily_limit_minutes: int | None = None  # a guardian's limit; only ever tightens the band's
    lock: Lock | None = None
    grants: Mapping[date, int] = field(default_factory=dict)  # extra minutes per local day
    controls: Controls = Controls()  # the strictest of the guardians' controls (section 7)
    signals: tuple[age.Signal, ...] = ()  # section 8: age signals besides the verification
    guardian_consents: tuple[tuple[datetime, str], ...] = ()  # section 8: (when, granted | revoked) of each


@dataclass(frozen=True)
class Usage:
    """What has been booked: use per local day (at least every day of the current ISO week),
    the continuous-use streak, and the `ends_at` of the user's other active sessions, with what
    those sessions will still be credited (`pending`, ledger.pending_credit), which the run counts."""

    days: Mapping[date, timedelta] = field(default_factory=dict)
    streak_start: datetime | None = None
    last_active: datetime | None = None
    active_ends: tuple[datetime | None, ...] = ()
    # use that did not count toward the limits, per local day and purpose (part of `days`)
    uncounted: Mapping[date, Mapping[str, timedelta]] = field(default_factory=dict)
    pending: tuple[ledger.Interval, ...] = ()

    def counted(self, day: date) -> timedelta:
        """The day's use that counts toward daily and weekly limits."""
        return self.days.get(day, ZERO) - sum(self.uncounted.get(day, {}).values(), ZERO)


@dataclass(frozen=True)
class Warning:
    type: str  # time_running_out | break_soon | rest_reminder
    seconds_left: int | None
    number: int | None = None  # rest_reminder: which reminder of the continuous use this is
    cause: str | None = None  # time_running_out: daily_limit | weekly_limit | allowed_hours | quiet_hours


@dataclass(frozen=True)
class Outlook:
    """How an allowed decision moves while no fact changes (domain/fastpath.py): before
    `valid_until` only the time used moves it, by arithmetic. `fixed_end` is the earliest end that
    use does not move (the allowed window's end, quiet hours, the forced break), with its kind
    (engine.CLOCK or BREAK; "time_running_out" in snapshots stored before the kinds named causes)."""

    valid_until: datetime
    fixed_end: datetime | None
    fixed_kind: str | None


@dataclass(frozen=True)
class Decision:
    user_id: str
    allowed: bool
    reason: Reason
    band: str  # a standard Band, or a policy's own band (domain/bands.BandName)
    used_today: timedelta
    remaining: timedelta | None
    ends_at: datetime | None
    retry_at: datetime | None
    warnings: tuple[Warning, ...]
    policy_name: str
    policy_version: int
    outlook: Outlook | None = field(default=None, compare=False, repr=False)

    @property
    def used_today_seconds(self) -> int:
        """Whole seconds used (floored)."""
        return math.floor(self.used_today.total_seconds())

    @property
    def remaining_seconds(self) -> int | None:
        """Whole seconds left, rounded up: limits are whole minutes, so used (floored) and
        remaining (ceiled) add up to the allowance exactly, and a decision that allows a start
        never says 0 seconds remain."""
        return None if self.remaining is None else math.ceil(self.remaining.total_seconds())
