"""The band a user is in: one rule for every use case (decisions, audit events, caps,
allowances), so that the user's age and local day are worked out in one place."""
from __future__ import annotations

from datetime import date, datetime

from governor.domain.decision import UserFacts, Verification
from governor.domain.policy import Band, Policy


def band_of(verification: Verification | None, today: date, now: datetime) -> Band:
    """The band a verification gives on the local date `today`. Expired counts as unverified;
    a self-declared age is believed only when it places the user in a minor band."""
    v = verification
    if v is None or v.status == "unverified" or v.birth_date is None:
        return Band.UNVERIFIED
    if v.status_at(now) == "expired":
        return Band.UNVERIFIED
    b = v.birth_date
    age = today.year - b.year - ((today.month, today.day) < (b.month, b.day))
    band = (Band.UNDER_8 if age < 8 else Band.AGE_8_15 if age < 16
            else Band.AGE_16_17 if age < 18 else Band.ADULT)
    if v.status == "self_declared" and band is Band.ADULT:
        return Band.UNVERIFIED
    return band


def birthday(birth: date, age: int) -> date:
    """The local date on which `age` is reached (29 February counts from 1 March in other years,
    as in band_of)."""
    try:
        return birth.replace(year=birth.year + age)
    except ValueError:
        return date(birth.year + age, 3, 1)


def local_day(policy: Policy, timezone: str | None, now: datetime) -> date:
    """The user's local date at `now`: in their own zone if they have one, else the policy's."""
    return now.astimezone(policy.zone(timezone)).date()


def band_today(policy: Policy, facts: UserFacts, now: datetime) -> Band:
    """The band the user's verification gives on their local date at `now`."""
    return band_of(facts.verification, local_day(policy, facts.timezone, now), now)


def looser_limit(policy: Policy, verification: Verification | None, day: date, now: datetime,
                 minutes: int | None) -> tuple[Band, int] | None:
    """A per-user daily limit may only tighten the band's: the band and its limit on local `day`
    when `minutes` would loosen it, else None."""
    band = band_of(verification, day, now)
    band_limit = policy.bands[band].daily_limit_minutes(day, policy.is_holiday(day))
    if minutes is not None and band_limit is not None and minutes > band_limit:
        return band, band_limit
    return None
