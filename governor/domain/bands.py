"""The band a user is in today: one rule for every use case (decisions, audit events, caps,
allowances), so that the user's local day is worked out in one place."""
from __future__ import annotations

from datetime import date, datetime

from governor.domain.engine import UserFacts, band_of
from governor.domain.policy import Band, Policy


def local_day(policy: Policy, timezone: str | None, now: datetime) -> date:
    """The user's local date at `now`: in their own zone if they have one, else the policy's."""
    return now.astimezone(policy.zone(timezone)).date()


def band_today(policy: Policy, facts: UserFacts, now: datetime) -> Band:
    """The band the user's verification gives on their local date at `now`."""
    return band_of(facts.verification, local_day(policy, facts.timezone, now), now)
