"""The shipped policy packs of issue 10: each validates, cites its source in its header, and says
what the law asks of it (reminders every so often; limits only where the law sets them)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from governor.domain.decision import Usage, UserFacts, Verification
from governor.domain.engine import decide
from governor.domain.policy import Band, load_policy_file

POLICIES = Path(__file__).resolve().parents[2] / "config" / "policies"
PACKS = ("us-ca-sb243", "us-ny-gbl-1702", "cn-companion-2026")
MINORS = (Band.UNDER_8, Band.AGE_8_15, Band.AGE_16_17)


@pytest.mark.parametrize("name", PACKS)
def test_each_pack_validates_and_cites_its_source_and_date(name):
    path = POLICIES / f"{name}.toml"
    policy = load_policy_file(path)
    assert policy.name == name
    header = "".join(line for line in path.read_text().splitlines(True) if line.startswith("#"))
    assert "in force" in header and "2026-11-29" in header
    assert name in (Path(__file__).resolve().parents[2] / "docs" / "policies.md").read_text()


@pytest.mark.parametrize("name, zone, reminded, minutes", [
    ("us-ca-sb243", "America/Los_Angeles", MINORS + (Band.UNVERIFIED,), 180),
    ("us-ny-gbl-1702", "America/New_York", tuple(Band), 180),
    ("cn-companion-2026", "Asia/Shanghai", tuple(Band), 120),
])
def test_reminders(name, zone, reminded, minutes):
    policy = load_policy_file(POLICIES / f"{name}.toml")
    assert policy.timezone == zone
    for band in Band:
        assert policy.bands[band].rest_reminder_minutes == (minutes if band in reminded else None)


@pytest.mark.parametrize("name", ["us-ca-sb243", "us-ny-gbl-1702"])
def test_the_us_packs_set_no_time_limits(name):
    policy = load_policy_file(POLICIES / f"{name}.toml")
    for rules in policy.bands.values():
        assert rules.daily_limit is None and rules.allowed_hours is None and rules.continuous_limit_minutes is None


def test_the_cn_companion_pack_keeps_minor_mode_for_minors():
    pack, minor = (load_policy_file(POLICIES / f"{n}.toml") for n in ("cn-companion-2026", "cn-minor-mode"))
    for band in MINORS + (Band.UNVERIFIED,):
        a, b = pack.bands[band], minor.bands[band]
        assert (a.daily_limit, a.allowed_hours, a.continuous_limit_minutes, a.break_minutes,
                a.guardian_grant_max_minutes) == (b.daily_limit, b.allowed_hours, b.continuous_limit_minutes,
                                                 b.break_minutes, b.guardian_grant_max_minutes)


def test_an_adult_in_new_york_is_reminded_after_three_hours_and_again_after_six():
    policy = load_policy_file(POLICIES / "us-ny-gbl-1702.toml")
    adult = UserFacts("u", Verification("verified", date(1990, 1, 1)))
    now = datetime(2026, 12, 2, 22, 0, tzinfo=policy.tz)
    for hours, number in ((2.9, None), (3, 1), (6.5, 2)):
        usage = Usage(streak_start=now - timedelta(hours=hours), last_active=now - timedelta(minutes=1))
        reminders = [w.number for w in decide(policy, adult, usage, now).warnings if w.type == "rest_reminder"]
        assert reminders == ([] if number is None else [number])
