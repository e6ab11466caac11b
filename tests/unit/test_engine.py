"""The decision engine as tables of (situation, expected decision). Pure: no database, no clock.

Unless a case says otherwise the user is a verified 12-year-old (`age_8_15`) under the shipped
default policy (cn-minor-mode: 60 minutes a day, 06:00-22:00, a 15-minute break after 30
minutes, warnings 5 minutes ahead), on Wednesday 2026-12-02 in Asia/Shanghai.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governor.domain.bands import band_of
from governor.domain.decision import Decision, Lock, Reason, Usage, UserFacts, Verification, Warning
from governor.domain.engine import decide
from governor.domain.policy import Band, Policy, load_policy_file, parse_policy

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
UTC = timezone.utc
POLICIES = Path(__file__).resolve().parents[2] / "config" / "policies"
MINOR = load_policy_file(POLICIES / "cn-minor-mode.toml")
NPPA = load_policy_file(POLICIES / "cn-nppa-2021.toml")

MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 11, 30) + timedelta(days=i) for i in range(7))
NEXT_MON = date(2026, 12, 7)
BORN = {Band.UNDER_8: date(2020, 6, 1), Band.AGE_8_15: date(2014, 6, 1),
        Band.AGE_16_17: date(2009, 6, 1), Band.ADULT: date(1990, 6, 1)}


def at(day: date, h: int = 0, m: int = 0, s: int = 0, tz: ZoneInfo = SH) -> datetime:
    return datetime(day.year, day.month, day.day, h, m, s, tzinfo=tz)


def mins(n: float) -> timedelta:
    return timedelta(minutes=n)


def verified(born: date, status: str = "verified", **kw) -> Verification:
    return Verification(status, born, **kw)


def user(band: Band = Band.AGE_8_15, **kw) -> UserFacts:
    """A user whose verification puts them in `band` on WED (no verification for unverified)."""
    kw.setdefault("verification", None if band is Band.UNVERIFIED else verified(BORN[band]))
    return UserFacts("u-1", **kw)


def used(minutes: float = 0, day: date = WED, **kw) -> Usage:
    return Usage(days={day: mins(minutes)}, **kw)


def streak(start: datetime, last: datetime, minutes_today: float = 0) -> Usage:
    return Usage(days={start.date(): mins(minutes_today)}, streak_start=start, last_active=last)


def policy_with(rules: dict, band: Band = Band.AGE_8_15, **doc) -> Policy:
    """A small inline policy: `rules` for `band`, every other band unrestricted."""
    bands = {b.value: {} for b in Band}
    bands[band.value] = rules
    return parse_policy({"name": "inline", "timezone": "Asia/Shanghai", "bands": bands, **doc})


def ok(ends_at: datetime | None, *warnings: Warning, **more) -> dict:
    return {"allowed": True, "reason": Reason.OK, "ends_at": ends_at, "retry_at": None,
            "warnings": tuple(warnings), **more}


def refused(reason: Reason, retry_at: datetime | None, **more) -> dict:
    return {"allowed": False, "reason": reason, "ends_at": None, "retry_at": retry_at, "warnings": (), **more}


def running_out(seconds: int, cause: str) -> Warning:
    return Warning("time_running_out", seconds, cause=cause)


def break_soon(seconds: int) -> Warning:
    return Warning("break_soon", seconds)


REST = Warning("rest_reminder", None, 1)


def case(id: str, now: datetime, expect: dict, *, policy: Policy = MINOR, facts: UserFacts | None = None,
         usage: Usage | None = None, continuing: bool = False):
    return pytest.param(policy, facts or user(), usage or Usage(), now, continuing, expect, id=id)


def check(decision: Decision, expect: dict) -> None:
    assert {k: getattr(decision, k) for k in expect} == expect


# -- each band's daily limit under the default policy -----------------------------------------

LIMITS = {Band.UNDER_8: 40, Band.AGE_8_15: 60, Band.AGE_16_17: 120, Band.UNVERIFIED: 40}

BANDS = [
    *(case(f"{band}-fresh", at(WED, 10), ok(at(WED, 10, 30), band=band, remaining=mins(limit), used_today=mins(0)),
           facts=user(band)) for band, limit in LIMITS.items()),
    *(case(f"{band}-one-minute-left", at(WED, 10), ok(at(WED, 10, 1), running_out(60, "daily_limit"), band=band,
                                                      remaining=mins(1), used_today=mins(limit - 1)),
           facts=user(band), usage=used(limit - 1)) for band, limit in LIMITS.items()),
    *(case(f"{band}-limit-reached", at(WED, 10), refused(Reason.DAILY_LIMIT, at(THU, 6), band=band, remaining=mins(0),
                                                         used_today=mins(limit)),
           facts=user(band), usage=used(limit)) for band, limit in LIMITS.items()),
    case("overspent-remaining-is-zero-not-negative", at(WED, 10),
         refused(Reason.DAILY_LIMIT, at(THU, 6), remaining=mins(0), used_today=mins(62)), usage=used(62)),
    case("under_8-daily-limit-before-break", at(WED, 10), ok(at(WED, 10, 25), remaining=mins(25)),
         facts=user(Band.UNDER_8), usage=used(15)),
    case("yesterday-does-not-count", at(WED, 10), ok(at(WED, 10, 30), remaining=mins(60), used_today=mins(0)),
         usage=used(60, day=TUE)),
    case("adult-unlimited", at(WED, 3), ok(None, band=Band.ADULT, remaining=None, used_today=mins(600)),
         facts=user(Band.ADULT), usage=used(600)),
    case("exact-to-the-second", at(WED, 10),
         ok(at(WED, 10, 14, 59), used_today=timedelta(seconds=2701), remaining=timedelta(seconds=899)),
         usage=Usage(days={WED: timedelta(seconds=2701)})),
    case("warning-seconds-exact", at(WED, 10),
         ok(at(WED, 10, 4, 59), running_out(299, "daily_limit"), remaining=timedelta(seconds=299)),
         usage=Usage(days={WED: timedelta(seconds=3301)})),
]

# -- allowed hours -----------------------------------------------------------------------------

CROSSING = policy_with({"allowed_hours": ["20:00-02:00"], "warn_before_minutes": 5})
FRIDAY_NIGHT = policy_with({"allowed_hours": {"default": [], "fri": ["20:00-02:00"]}})
ADJACENT = policy_with({"allowed_hours": ["00:00-02:00", "20:00-24:00"]})
SPLIT_DAY = policy_with({"allowed_hours": ["06:00-12:00", "12:00-18:00"]})
OVERLAPPING = policy_with({"allowed_hours": ["10:00-14:00", "06:00-12:00"]})
ALWAYS_OPEN = policy_with({"allowed_hours": ["00:00-24:00"]})

HOURS = [
    case("midnight-curfew", at(WED, 0), refused(Reason.CURFEW, at(WED, 6), remaining=mins(60))),
    case("05:59:59-curfew", at(WED, 5, 59, 59), refused(Reason.CURFEW, at(WED, 6))),
    case("06:00:00-open", at(WED, 6), ok(at(WED, 6, 30))),
    case("21:40-ends-at-22:00", at(WED, 21, 40), ok(at(WED, 22))),
    case("21:56-time-running-out", at(WED, 21, 56), ok(at(WED, 22), running_out(240, "allowed_hours"))),
    case("21:59:59-one-second-left", at(WED, 21, 59, 59), ok(at(WED, 22), running_out(1, "allowed_hours"))),
    case("22:00:00-curfew-until-06:00", at(WED, 22), refused(Reason.CURFEW, at(THU, 6))),
    case("23:59:59-curfew", at(WED, 23, 59, 59), refused(Reason.CURFEW, at(THU, 6))),
    case("crossing-before-start", at(WED, 19, 59), refused(Reason.CURFEW, at(WED, 20)), policy=CROSSING),
    case("crossing-evening", at(WED, 23), ok(at(THU, 2)), policy=CROSSING),
    case("crossing-at-midnight", at(THU, 0), ok(at(THU, 2)), policy=CROSSING),
    case("crossing-near-end", at(THU, 1, 57), ok(at(THU, 2), running_out(180, "allowed_hours")), policy=CROSSING),
    case("crossing-end", at(THU, 2), refused(Reason.CURFEW, at(THU, 20)), policy=CROSSING),
    case("friday-window-runs-into-saturday", at(SAT, 1), ok(at(SAT, 2)), policy=FRIDAY_NIGHT),
    case("friday-window-over", at(SAT, 2), refused(Reason.CURFEW, at(FRI + timedelta(days=7), 20)),
         policy=FRIDAY_NIGHT),
    case("thursday-night-waits-for-friday", at(THU, 23), refused(Reason.CURFEW, at(FRI, 20)), policy=FRIDAY_NIGHT),
    case("adjacent-windows-merge-over-midnight", at(WED, 23), ok(at(THU, 2)), policy=ADJACENT),
    case("adjacent-windows-merge-at-noon", at(WED, 11), ok(at(WED, 18)), policy=SPLIT_DAY),
    case("overlapping-windows-merge", at(WED, 7), ok(at(WED, 14)), policy=OVERLAPPING),
    case("always-open-never-ends", at(WED, 3), ok(None), policy=ALWAYS_OPEN),
]

# -- daily and weekly limits -------------------------------------------------------------------

NO_HOURS = policy_with({"daily_limit_minutes": 60})
WEEKLY = policy_with({"daily_limit_minutes": 120, "weekly_limit_minutes": 300, "warn_before_minutes": 5})
WEEKLY_HOURS = policy_with({"weekly_limit_minutes": 60, "allowed_hours": ["06:00-22:00"]})
WEEK_SPENT = {MON: mins(120), TUE: mins(120), WED: mins(60)}

LIMITS_CASES = [
    case("daily-limit-retry-next-midnight", at(WED, 15), refused(Reason.DAILY_LIMIT, at(THU, 0), remaining=mins(0)),
         policy=NO_HOURS, usage=used(60)),
    case("daily-limit-at-21:50-retry-after-curfew", at(WED, 21, 50), refused(Reason.DAILY_LIMIT, at(THU, 6)),
         usage=used(60)),
    case("daily-limit-at-22:30-curfew-is-latest", at(WED, 22, 30), refused(Reason.CURFEW, at(THU, 6)),
         usage=used(60)),
    case("weekly-limit-retry-next-monday", at(WED, 10),
         refused(Reason.WEEKLY_LIMIT, at(NEXT_MON, 0), remaining=mins(0), used_today=mins(60)),
         policy=WEEKLY, usage=Usage(days=WEEK_SPENT)),
    case("weekly-limit-on-sunday-night", at(SUN, 23), refused(Reason.WEEKLY_LIMIT, at(NEXT_MON, 0)),
         policy=WEEKLY, usage=Usage(days={MON: mins(120), SAT: mins(120), SUN: mins(60)})),
    case("weekly-remaining-below-daily", at(WED, 10), ok(at(WED, 10, 30), remaining=mins(30)),
         policy=WEEKLY, usage=Usage(days={MON: mins(120), TUE: mins(120), WED: mins(30)})),
    case("weekly-limit-running-out-says-so", at(WED, 10),
         ok(at(WED, 10, 1), running_out(60, "weekly_limit"), remaining=mins(1)),
         policy=WEEKLY, usage=Usage(days={MON: mins(120), TUE: mins(120), WED: mins(59)})),
    case("daily-and-weekly-equal-says-daily", at(WED, 10),
         ok(at(WED, 10, 1), running_out(60, "daily_limit"), remaining=mins(1)),
         policy=WEEKLY, usage=Usage(days={MON: mins(120), TUE: mins(60), WED: mins(119)})),
    case("weekly-outranks-daily", at(WED, 10), refused(Reason.WEEKLY_LIMIT, at(NEXT_MON, 0)),
         policy=WEEKLY, usage=Usage(days={MON: mins(60), TUE: mins(120), WED: mins(120)})),
    case("last-week-does-not-count", at(WED, 10), ok(at(WED, 12), remaining=mins(120)),
         policy=WEEKLY, usage=Usage(days={SUN - timedelta(days=7): mins(300)})),
    case("weekly-retry-waits-for-monday-hours", at(WED, 10), refused(Reason.WEEKLY_LIMIT, at(NEXT_MON, 6)),
         policy=WEEKLY_HOURS, usage=used(60, day=MON)),
]

# -- the NPPA 2021 policy: Fridays, weekends and holidays, 20:00-21:00 --------------------------

HOLIDAY_THU, HOLIDAY_MON = date(2026, 10, 1), date(2026, 10, 5)

NPPA_CASES = [
    case("nppa-wednesday-waits-for-friday", at(WED, 10), refused(Reason.CURFEW, at(FRI, 20), remaining=None),
         policy=NPPA),
    case("nppa-wednesday-evening", at(WED, 20, 30), refused(Reason.CURFEW, at(FRI, 20)), policy=NPPA),
    case("nppa-friday-19:59", at(FRI, 19, 59), refused(Reason.CURFEW, at(FRI, 20)), policy=NPPA),
    case("nppa-friday-20:30", at(FRI, 20, 30), ok(at(FRI, 21), remaining=None), policy=NPPA),
    case("nppa-friday-20:56-warns", at(FRI, 20, 56), ok(at(FRI, 21), running_out(240, "allowed_hours")), policy=NPPA),
    case("nppa-friday-21:00-next-is-saturday", at(FRI, 21), refused(Reason.CURFEW, at(SAT, 20)), policy=NPPA),
    case("nppa-sunday-night-next-is-friday", at(SUN, 21, 30), refused(Reason.CURFEW, at(FRI + timedelta(days=7), 20)),
         policy=NPPA),
    case("nppa-holiday-thursday-open", at(HOLIDAY_THU, 20), ok(at(HOLIDAY_THU, 21)), policy=NPPA),
    case("nppa-holiday-thursday-morning", at(HOLIDAY_THU, 10), refused(Reason.CURFEW, at(HOLIDAY_THU, 20)),
         policy=NPPA),
    case("nppa-holiday-monday-open", at(HOLIDAY_MON, 20, 10), ok(at(HOLIDAY_MON, 21)), policy=NPPA),
    case("nppa-unverified-needs-verification", at(FRI, 20, 30),
         refused(Reason.VERIFICATION_REQUIRED, None, band=Band.UNVERIFIED), policy=NPPA, facts=user(Band.UNVERIFIED)),
    case("nppa-self-declared-adult-needs-verification", at(FRI, 20, 30),
         refused(Reason.VERIFICATION_REQUIRED, None, band=Band.UNVERIFIED), policy=NPPA,
         facts=user(verification=verified(BORN[Band.ADULT], "self_declared"))),
    case("nppa-adult-any-time", at(WED, 10), ok(None, band=Band.ADULT, remaining=None), policy=NPPA,
         facts=user(Band.ADULT)),
]

# -- age bands: birthdays, self-declaration, expiry --------------------------------------------

LEAP = date(2028, 2, 29)

AGES = [
    *(case(f"day-before-{age}th-birthday", at(WED, 10), ok(at(WED, 10, 30), band=before),
           facts=user(verification=verified(date(2026 - age, 12, 3))))
      for age, before in ((8, Band.UNDER_8), (16, Band.AGE_8_15), (18, Band.AGE_16_17))),
    *(case(f"{age}th-birthday", at(WED, 10), ok(ends_at, band=band),
           facts=user(verification=verified(date(2026 - age, 12, 2))))
      for age, band, ends_at in ((8, Band.AGE_8_15, at(WED, 10, 30)), (16, Band.AGE_16_17, at(WED, 10, 30)),
                                 (18, Band.ADULT, None))),
    case("born-feb-29-not-18-on-feb-28", at(date(2026, 2, 28), 10), ok(at(date(2026, 2, 28), 10, 30),
                                                                         band=Band.AGE_16_17),
         facts=user(verification=verified(date(2008, 2, 29)))),
    case("born-feb-29-adult-on-mar-1", at(date(2026, 3, 1), 10), ok(None, band=Band.ADULT),
         facts=user(verification=verified(date(2008, 2, 29)))),
    case("born-feb-29-16-on-leap-day", at(LEAP, 10), ok(at(LEAP, 10, 30), band=Band.AGE_16_17),
         facts=user(verification=verified(date(2012, 2, 29)))),
    case("born-feb-29-15-on-feb-28-leap-year", at(LEAP - timedelta(days=1), 10),
         ok(at(LEAP - timedelta(days=1), 10, 30), band=Band.AGE_8_15),
         facts=user(verification=verified(date(2012, 2, 29)))),
    case("birthday-by-local-date-not-utc", datetime(2026, 12, 1, 16, 0, 30, tzinfo=UTC), ok(None, band=Band.ADULT),
         facts=user(verification=verified(date(2008, 12, 2)))),
    case("eve-of-18th-retry-at-local-midnight", datetime(2026, 12, 1, 15, 59, 59, tzinfo=UTC),
         refused(Reason.CURFEW, at(WED, 0), band=Band.AGE_16_17),
         facts=user(verification=verified(date(2008, 12, 2)))),
    case("self-declared-12", at(WED, 10), ok(at(WED, 10, 30), band=Band.AGE_8_15, remaining=mins(60)),
         facts=user(verification=verified(date(2014, 6, 1), "self_declared"))),
    case("self-declared-17", at(WED, 10), ok(at(WED, 10, 30), band=Band.AGE_16_17, remaining=mins(120)),
         facts=user(verification=verified(date(2009, 6, 1), "self_declared"))),
    case("self-declared-adult-is-unverified", at(WED, 10), ok(at(WED, 10, 30), band=Band.UNVERIFIED,
                                                              remaining=mins(40)),
         facts=user(verification=verified(BORN[Band.ADULT], "self_declared"))),
    case("status-unverified-with-birth-date", at(WED, 10), ok(at(WED, 10, 30), band=Band.UNVERIFIED),
         facts=user(verification=verified(BORN[Band.ADULT], "unverified"))),
    case("verified-without-birth-date", at(WED, 10), ok(at(WED, 10, 30), band=Band.UNVERIFIED),
         facts=user(verification=Verification("verified"))),
    case("expired-verification-is-unverified", at(WED, 10), ok(at(WED, 10, 30), band=Band.UNVERIFIED,
                                                               remaining=mins(40)),
         facts=user(verification=verified(BORN[Band.AGE_16_17], expires_at=at(TUE, 10)))),
    case("verification-expiring-now-is-unverified", at(WED, 10), ok(at(WED, 10, 30), band=Band.UNVERIFIED),
         facts=user(verification=verified(BORN[Band.AGE_16_17], expires_at=at(WED, 10)))),
    case("verification-still-valid", at(WED, 10), ok(at(WED, 10, 30), band=Band.AGE_16_17),
         facts=user(verification=verified(BORN[Band.AGE_16_17], expires_at=at(THU, 10)))),
    case("expired-adult-is-unverified", at(WED, 23), refused(Reason.CURFEW, at(THU, 6), band=Band.UNVERIFIED),
         facts=user(verification=verified(BORN[Band.ADULT], expires_at=at(WED, 22)))),
]

# -- admin decisions: grants, per-user limits, locks -------------------------------------------

ADMIN = [
    case("grant-adds-minutes-today", at(WED, 10), ok(at(WED, 10, 15), remaining=mins(15)),
         facts=user(grants={WED: 15}), usage=used(60)),
    case("grant-for-another-day-does-not-help", at(WED, 10), refused(Reason.DAILY_LIMIT, at(THU, 6)),
         facts=user(grants={THU: 15, TUE: 15}), usage=used(60)),
    case("grant-lifts-weekly-limit", at(WED, 10), ok(at(WED, 10, 30), remaining=mins(30)),
         policy=WEEKLY, facts=user(grants={WED: 30}), usage=Usage(days=WEEK_SPENT)),
    case("user-limit-stricter", at(WED, 10), ok(at(WED, 10, 20), remaining=mins(20)),
         facts=user(daily_limit_minutes=30), usage=used(10)),
    case("user-limit-reached", at(WED, 10), refused(Reason.DAILY_LIMIT, at(THU, 6), remaining=mins(0)),
         facts=user(daily_limit_minutes=30), usage=used(30)),
    case("user-limit-never-loosens", at(WED, 10), refused(Reason.DAILY_LIMIT, at(THU, 6)),
         facts=user(daily_limit_minutes=90), usage=used(60)),
    case("user-limit-on-unlimited-adult", at(WED, 10), ok(at(WED, 11), band=Band.ADULT, remaining=mins(60)),
         facts=user(Band.ADULT, daily_limit_minutes=60)),
    case("user-limit-plus-grant", at(WED, 10), ok(at(WED, 10, 10), remaining=mins(10)),
         facts=user(daily_limit_minutes=30, grants={WED: 10}), usage=used(30)),
    case("lock-until", at(WED, 10), refused(Reason.LOCKED, at(WED, 12)),
         facts=user(lock=Lock(at(WED, 12)))),
    case("lock-until-in-utc", at(WED, 10), refused(Reason.LOCKED, at(WED, 12)),
         facts=user(lock=Lock(datetime(2026, 12, 2, 4, 0, tzinfo=UTC)))),
    case("lock-expired", at(WED, 12), ok(at(WED, 12, 30)), facts=user(lock=Lock(at(WED, 12)))),
    case("lock-into-curfew", at(WED, 10), refused(Reason.LOCKED, at(THU, 6)),
         facts=user(lock=Lock(at(WED, 23)))),
    case("daily-limit-outlasts-lock", at(WED, 10), refused(Reason.DAILY_LIMIT, at(THU, 6)),
         facts=user(lock=Lock(at(WED, 12))), usage=used(60)),
    case("lock-outlasts-daily-limit", at(WED, 10), refused(Reason.LOCKED, at(FRI, 9)),
         facts=user(lock=Lock(at(FRI, 9))), usage=used(60)),
    case("lock-without-until", at(WED, 10), refused(Reason.LOCKED, None), facts=user(lock=Lock())),
    case("lock-without-until-outranks-all", at(WED, 22, 30), refused(Reason.LOCKED, None),
         facts=user(lock=Lock(reason="guardian")), usage=used(60)),
    case("lock-outranks-verification-required", at(FRI, 20, 30), refused(Reason.LOCKED, None),
         policy=NPPA, facts=user(Band.UNVERIFIED, lock=Lock())),
    case("verification-required-outlasts-lock-until", at(FRI, 20, 30), refused(Reason.VERIFICATION_REQUIRED, None),
         policy=NPPA, facts=user(Band.UNVERIFIED, lock=Lock(at(FRI, 20, 45)))),
]

# -- continuous use: cooldown, break_soon, rest reminders --------------------------------------

BOTH = policy_with({"continuous_limit_minutes": 30, "break_minutes": 15, "rest_reminder_minutes": 20,
                    "warn_before_minutes": 5})
REMINDER = policy_with({"rest_reminder_minutes": 30, "warn_before_minutes": 5})

CONTINUOUS = [
    case("cooldown-at-the-limit", at(WED, 10, 30), refused(Reason.COOLDOWN, at(WED, 10, 45)),
         usage=streak(at(WED, 10), at(WED, 10, 30), 30), continuing=True),
    case("cooldown-refuses-start", at(WED, 10, 35), refused(Reason.COOLDOWN, at(WED, 10, 45)),
         usage=streak(at(WED, 10), at(WED, 10, 30), 30)),
    case("cooldown-last-second", at(WED, 10, 44, 59), refused(Reason.COOLDOWN, at(WED, 10, 45)),
         usage=streak(at(WED, 10), at(WED, 10, 30), 30)),
    case("break-over-new-streak", at(WED, 10, 45), ok(at(WED, 11, 15), remaining=mins(30)),
         usage=streak(at(WED, 10), at(WED, 10, 30), 30)),
    case("short-pause-is-no-rest", at(WED, 10, 30), refused(Reason.COOLDOWN, at(WED, 10, 35)),
         usage=streak(at(WED, 10), at(WED, 10, 20), 20)),
    case("short-pause-ends-at-streak-limit", at(WED, 10, 25), ok(at(WED, 10, 30), break_soon(300)),
         usage=streak(at(WED, 10), at(WED, 10, 20), 20)),
    case("streak-still-far", at(WED, 10, 20), ok(at(WED, 10, 30)),
         usage=streak(at(WED, 10), at(WED, 10, 20), 20), continuing=True),
    case("clock-stepped-back-keeps-the-break-time", at(WED, 6, 58), ok(at(WED, 7, 30)),
         usage=streak(at(WED, 7), at(WED, 7, 1), 1), continuing=True),
    case("daily-limit-outranks-cooldown", at(WED, 10, 30), refused(Reason.DAILY_LIMIT, at(THU, 6)),
         usage=streak(at(WED, 10), at(WED, 10, 30), 60), continuing=True),
    case("cooldown-runs-into-curfew", at(WED, 21, 55), refused(Reason.COOLDOWN, at(THU, 6)),
         usage=streak(at(WED, 21, 25), at(WED, 21, 55), 30), continuing=True),
    case("limit-and-break-tie-says-time-running-out", at(WED, 10), ok(at(WED, 10, 5), running_out(300, "daily_limit")),
         usage=streak(at(WED, 9, 35), at(WED, 10), 55)),
    case("limit-before-break", at(WED, 10), ok(at(WED, 10, 4), running_out(240, "daily_limit")),
         usage=streak(at(WED, 9, 35), at(WED, 10), 56)),
    case("break-before-limit", at(WED, 10), ok(at(WED, 10, 5), break_soon(300)),
         usage=streak(at(WED, 9, 35), at(WED, 10), 54)),
    case("break-in-six-minutes-no-warning", at(WED, 10), ok(at(WED, 10, 6)),
         usage=streak(at(WED, 9, 36), at(WED, 10), 30)),
    case("break-before-window-end", at(WED, 21, 55), ok(at(WED, 21, 58), break_soon(180)),
         usage=streak(at(WED, 21, 28), at(WED, 21, 55), 27)),
    case("window-end-before-break", at(WED, 21, 55), ok(at(WED, 22), running_out(300, "allowed_hours")),
         usage=streak(at(WED, 21, 35), at(WED, 21, 55), 20)),
    case("rest-reminder-due", at(WED, 10, 30), ok(None, REST), policy=REMINDER,
         usage=streak(at(WED, 10), at(WED, 10, 29, 30))),
    case("rest-reminder-not-yet", at(WED, 10, 29, 59), ok(None), policy=REMINDER,
         usage=streak(at(WED, 10), at(WED, 10, 29, 30))),
    case("rest-reminder-after-idle-reset", at(WED, 10, 30), ok(None), policy=REMINDER,
         usage=streak(at(WED, 10), at(WED, 10, 10))),
    case("break-soon-and-rest-reminder", at(WED, 10, 25), ok(at(WED, 10, 30), break_soon(300), REST), policy=BOTH,
         usage=streak(at(WED, 10), at(WED, 10, 25))),
]

# -- concurrent sessions -----------------------------------------------------------------------

MAX2 = policy_with({"max_concurrent_sessions": 2, "daily_limit_minutes": 60})
MAX1 = policy_with({"max_concurrent_sessions": 1, "daily_limit_minutes": 60})

SESSIONS = [
    case("too-many-sessions-retry-earliest-end", at(WED, 10), refused(Reason.TOO_MANY_SESSIONS, at(WED, 10, 20),
                                                                      remaining=mins(60)),
         policy=MAX2, usage=Usage(active_ends=(at(WED, 10, 30), at(WED, 10, 20)))),
    case("continuing-ignores-max-sessions", at(WED, 10), ok(at(WED, 11)),
         policy=MAX2, usage=Usage(active_ends=(at(WED, 10, 30), at(WED, 10, 20))), continuing=True),
    case("room-for-one-more", at(WED, 10), ok(at(WED, 11)),
         policy=MAX2, usage=Usage(active_ends=(at(WED, 10, 30),))),
    case("ended-sessions-do-not-count", at(WED, 10), ok(at(WED, 11)),
         policy=MAX2, usage=Usage(active_ends=(at(WED, 9, 50), at(WED, 10, 30)))),
    case("sessions-without-end", at(WED, 10), refused(Reason.TOO_MANY_SESSIONS, None),
         policy=MAX2, usage=Usage(active_ends=(None, None))),
    case("one-session-without-end", at(WED, 10), refused(Reason.TOO_MANY_SESSIONS, at(WED, 10, 40)),
         policy=MAX2, usage=Usage(active_ends=(None, at(WED, 10, 40)))),
    case("daily-limit-outranks-too-many", at(WED, 10), refused(Reason.DAILY_LIMIT, at(THU, 0)),
         policy=MAX1, usage=Usage(days={WED: mins(60)}, active_ends=(at(WED, 10, 30),))),
]

# -- the user's own time zone ------------------------------------------------------------------

ZONES = [
    case("user-zone-curfew", at(WED, 11), refused(Reason.CURFEW, at(WED, 6, tz=NY)),
         facts=user(timezone="America/New_York")),
    case("user-zone-local-day", at(WED, 9), refused(Reason.DAILY_LIMIT, at(WED, 6, tz=NY), used_today=mins(60)),
         facts=user(timezone="America/New_York"), usage=used(60, day=TUE)),
    case("user-zone-window", at(WED, 10), ok(at(TUE, 21, 30, tz=NY), used_today=mins(0)),
         facts=user(timezone="America/New_York"), usage=used(60, day=WED)),
]


@pytest.mark.parametrize("policy,facts,usage,now,continuing,expect",
                         BANDS + HOURS + LIMITS_CASES + NPPA_CASES + AGES + ADMIN + CONTINUOUS + SESSIONS + ZONES)
def test_decide(policy, facts, usage, now, continuing, expect):
    check(decide(policy, facts, usage, now, continuing=continuing), expect)


def test_decision_names_policy_and_user():
    d = decide(MINOR.with_version(3), user(), Usage(), at(WED, 10))
    assert (d.user_id, d.policy_name, d.policy_version) == ("u-1", "cn-minor-mode", 3)


@pytest.mark.parametrize("facts,now,attr", [
    (user(), datetime(2026, 12, 2, 2, 0, tzinfo=UTC), "ends_at"),
    (user(), datetime(2026, 12, 2, 15, 0, tzinfo=UTC), "retry_at"),
    (user(lock=Lock(datetime(2026, 12, 2, 4, 0, tzinfo=UTC))), datetime(2026, 12, 2, 2, 0, tzinfo=UTC), "retry_at"),
    (user(timezone="America/New_York"), datetime(2026, 12, 2, 15, 0, tzinfo=UTC), "ends_at"),
    (user(timezone="America/New_York"), datetime(2026, 12, 2, 4, 0, tzinfo=UTC), "retry_at"),
], ids=["ends_at", "retry_at", "lock-retry_at", "user-zone-ends_at", "user-zone-retry_at"])
def test_times_are_in_the_users_zone(facts, now, attr):
    value = getattr(decide(MINOR, facts, Usage(), now), attr)
    zone = ZoneInfo(facts.timezone or "Asia/Shanghai")
    assert value is not None and value.utcoffset() == value.astimezone(zone).utcoffset()
    assert value.tzinfo == zone


def test_session_end_is_real_time_across_a_dst_change():
    """An hour of allowance at 01:30 on the night New York falls back ends an hour later, not two."""
    policy = policy_with({"daily_limit_minutes": 60})
    now = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, the first of two
    d = decide(policy, user(timezone="America/New_York"), Usage(), now)
    assert d.ends_at.astimezone(UTC) == now + d.remaining == now + timedelta(hours=1)
    assert d.ends_at.isoformat() == "2026-11-01T01:30:00-05:00"  # the second 01:30 (EST)


@pytest.mark.parametrize("status,born,expected", [
    ("verified", date(2014, 6, 1), Band.AGE_8_15),
    ("self_declared", date(2014, 6, 1), Band.AGE_8_15),
    ("self_declared", date(1990, 6, 1), Band.UNVERIFIED),
    ("verified", date(1990, 6, 1), Band.ADULT),
    ("unverified", date(2014, 6, 1), Band.UNVERIFIED),
], ids=["verified-12", "declared-12", "declared-adult", "verified-adult", "unverified"])
def test_band_of(status, born, expected):
    assert band_of(MINOR, UserFacts("u", Verification(status, born)), WED, at(WED, 10)) is expected
    assert band_of(MINOR, UserFacts("u"), WED, at(WED, 10)) is Band.UNVERIFIED


# -- retry_at is the earliest admission "if nothing else changes" -------------------------------

_policies = st.sampled_from([MINOR, NPPA, WEEKLY, MAX1, CROSSING, FRIDAY_NIGHT, BOTH])
# weeks in Shanghai, and New York weeks with a daylight-saving change on their Sunday
_weeks = st.sampled_from([(MON, None), (date(2026, 10, 26), "America/New_York"),
                          (date(2026, 3, 2), "America/New_York")])


@st.composite
def verifications(draw, today: date):
    """Any band, often with a birthday (8th, 16th, 18th) or an expiry in the coming days."""
    status = draw(st.sampled_from(["verified", "self_declared", "unverified"]))
    soon = today + timedelta(days=draw(st.integers(0, 9)))
    born = draw(st.sampled_from(list(BORN.values())) | st.builds(
        lambda age: soon.replace(year=soon.year - age), st.sampled_from([8, 16, 18])))
    expires = draw(st.none() | st.builds(lambda m: at(today) + mins(m), st.integers(0, 5 * 24 * 60)))
    return draw(st.none() | st.just(Verification(status, born, expires_at=expires)))


@st.composite
def situations(draw):
    monday, zone = draw(_weeks)
    tz = ZoneInfo(zone or "Asia/Shanghai")
    now = at(monday, tz=tz) + timedelta(seconds=draw(st.integers(0, 7 * 24 * 3600 - 1)))
    now = now.astimezone(UTC)  # as the service's clock gives it
    today = now.astimezone(tz).date()
    lock = draw(st.none() | st.builds(lambda m: Lock(now + mins(m)), st.integers(-60, 3000)))
    facts = UserFacts("u-1", draw(verifications(today)), zone, lock=lock,
                      daily_limit_minutes=draw(st.none() | st.integers(0, 90)),
                      grants=draw(st.dictionaries(st.builds(lambda i: monday + timedelta(days=i), st.integers(0, 13)),
                                                  st.integers(1, 60), max_size=2)))
    days = {today - timedelta(days=i): mins(draw(st.integers(0, 150))) for i in range(today.weekday() + 1)}
    start_ago, idle = draw(st.integers(0, 60)), draw(st.integers(0, 30))
    active = tuple(draw(st.lists(st.none() | st.builds(lambda m: now + mins(m), st.integers(-10, 90)), max_size=2)))
    usage = Usage(days=days, streak_start=now - mins(start_ago + idle), last_active=now - mins(idle),
                  active_ends=active)
    return draw(_policies), facts, usage, now


@settings(max_examples=120, deadline=None)
@given(situations())
def test_retry_at_is_the_earliest_admission(situation):
    """Whatever the situation, a refusal's retry_at is admitted, and nothing before it is."""
    policy, facts, usage, now = situation
    d = decide(policy, facts, usage, now)
    if d.allowed:
        assert d.ends_at is None or d.ends_at.astimezone(UTC) > now
        if d.remaining is not None:
            assert d.ends_at is not None and d.ends_at.astimezone(UTC) - now <= d.remaining
        assert all(w.seconds_left is None or 0 < w.seconds_left <= 3600 for w in d.warnings)
        return
    assert d.remaining is None or d.remaining >= timedelta(0)
    if d.retry_at is None:
        return
    retry = d.retry_at.astimezone(UTC)
    assert retry >= now
    assert decide(policy, facts, usage, retry).allowed
    tz = ZoneInfo(facts.timezone or policy.timezone)
    step = max(mins(7), (retry - now) / 40)
    probes = [now + step * i for i in range(int((retry - now) / step) + 1)]
    probes += [at(now.astimezone(tz).date() + timedelta(days=i), tz=tz).astimezone(UTC) for i in range(1, 10)]
    for t in probes:  # refused all along until then, at local midnights too (birthdays)
        if t < retry:
            assert not decide(policy, facts, usage, t).allowed, t
    if retry > now:
        assert not decide(policy, facts, usage, retry - timedelta(seconds=1)).allowed
