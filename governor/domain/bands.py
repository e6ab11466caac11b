"""The band a user is in: one rule for every use case (decisions, audit events, caps,
allowances), so that the user's age and local day are worked out in one place. The band comes
from the user's age signals (their verification among them) by domain/age.py's rule, at the
policy's own boundaries (DESIGN section 8)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from governor.domain import age
from governor.domain.decision import UserFacts, Verification
from governor.domain.policy import Band, Policy


class BandName(str):
    """A band a policy names that is not one of the standard `Band`s (section 8); it reads as
    they do (`.value`), so callers need not tell them apart."""

    __slots__ = ()

    @property
    def value(self) -> str:
        return str.__str__(self)


def band_name(name: str) -> Band | BandName:
    """The standard `Band` of that name (so `band is Band.UNVERIFIED` holds), else a BandName."""
    try:
        return Band(name)
    except ValueError:
        return BandName(name)


def signals_of(facts: UserFacts | None, stored: Iterable[age.Signal] | None = None) -> tuple[age.Signal, ...]:
    """Every signal about the user's age: their verification (source `verification`) and the
    others (`stored`, default the facts' own)."""
    if facts is None:
        return ()
    v = facts.verification
    own = v and age.from_verification(v.status, v.birth_date, v.assurance, v.expires_at, v.verified_at)
    rest = facts.signals if stored is None else tuple(stored)
    return ((own,) if own else ()) + tuple(s for s in rest if s.source != age.VERIFICATION)


def age_today(policy: Policy, timezone: str | None, signals: Iterable[age.Signal], now: datetime) -> age.Age:
    """The user's age on their local date at `now`."""
    return age.derive(policy.scale, signals, local_day(policy, timezone, now), now)


def band_of(policy: Policy, facts: UserFacts, today: date, now: datetime) -> Band | BandName:
    """The band the user's signals give on the local date `today` (at instant `now`)."""
    return band_name(age.derive(policy.scale, signals_of(facts), today, now).band)


def consent_of(policy: Policy, facts: UserFacts, now: datetime) -> str | None:
    """The parental consent in force: the latest said by a signal or a linked guardian."""
    return age.consent(signals_of(facts), facts.guardian_consents, policy.scale, now)


def next_change(policy: Policy, facts: UserFacts, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The first instant after `now` at which the band or the consent can change by itself."""
    return age.next_change(policy.scale, signals_of(facts), tz, now)


@dataclass(frozen=True)
class AgeNow:
    """The user's age and consent as a status shows them, and the span of time in which they
    hold if no fact changes: from `at` to `until` (the next local midnight, when today's span
    moves, or the next instant the band or consent can change by itself)."""

    age: age.Age
    consent: str | None
    at: datetime = field(compare=False)
    until: datetime = field(compare=False)

    def holds(self, now: datetime) -> bool:
        return self.at <= now < self.until


def age_now(policy: Policy, facts: UserFacts, now: datetime) -> AgeNow:
    """The user's age (domain/age.py's rule) and consent at `now`, with how long they hold."""
    tz = policy.zone(facts.timezone)
    today = now.astimezone(tz).date()
    midnight = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
    change = next_change(policy, facts, tz, now)
    return AgeNow(age_today(policy, facts.timezone, signals_of(facts), now), consent_of(policy, facts, now), now,
                  midnight if change is None else min(change, midnight))


def local_day(policy: Policy, timezone: str | None, now: datetime) -> date:
    """The user's local date at `now`: in their own zone if they have one, else the policy's."""
    return now.astimezone(policy.zone(timezone)).date()


def band_today(policy: Policy, facts: UserFacts, now: datetime) -> Band | BandName:
    """The band the user's signals give on their local date at `now`."""
    return band_of(policy, facts, local_day(policy, facts.timezone, now), now)


def looser_limit(policy: Policy, facts: UserFacts | Verification | None, day: date, now: datetime,
                 minutes: int | None) -> tuple[Band | BandName, int] | None:
    """A per-user daily limit may only tighten the band's: the band and its limit on local `day`
    when `minutes` would loosen it, else None. (`facts` may be a bare verification, as the
    admin's settings give it.)"""
    if not isinstance(facts, UserFacts):
        facts = UserFacts("", verification=facts)
    band = band_of(policy, facts, day, now)
    band_limit = policy.bands[band].daily_limit_minutes(day, policy.is_holiday(day))
    if minutes is not None and band_limit is not None and minutes > band_limit:
        return band, band_limit
    return None
