"""The shipped policy packs of issues 10 and 15: each validates, cites its source and date in its
header, and says what the law asks of it (reminders every so often; limits only where the law sets
them; the AB 1043 brackets in the US packs; a parent's consent under 14 in China and Italy)."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from governor.domain.decision import Usage, UserFacts, Verification
from governor.domain.engine import decide
from governor.domain.policy import Band, load_policy_file

POLICIES = Path(__file__).resolve().parents[2] / "config" / "policies"
PACKS = ("us-ca-sb243", "us-ny-gbl-1702", "cn-companion-2026", "it-ai-law-2025")
MINORS = (Band.UNDER_8, Band.AGE_8_15, Band.AGE_16_17)
US = ("under_13", "age_13_15", "age_16_17")  # the AB 1043 brackets below adult
CN = ("under_8", "age_8_13", "age_14_15", "age_16_17")


@pytest.mark.parametrize("name", PACKS)
def test_each_pack_validates_and_cites_its_source_and_date(name):
    path = POLICIES / f"{name}.toml"
    policy = load_policy_file(path)
    assert policy.name == name
    header = "".join(line for line in path.read_text().splitlines(True) if line.startswith("#"))
    assert "in force" in header and re.search(r"Pack written 20\d\d-\d\d-\d\d", header)
    assert name in (Path(__file__).resolve().parents[2] / "docs" / "policies.md").read_text()


@pytest.mark.parametrize("name, zone, reminded, minutes", [
    ("us-ca-sb243", "America/Los_Angeles", US + ("unverified",), 180),
    ("us-ny-gbl-1702", "America/New_York", US + ("unverified", "adult"), 180),
    ("cn-companion-2026", "Asia/Shanghai", CN + ("unverified", "adult"), 120),
])
def test_reminders(name, zone, reminded, minutes):
    policy = load_policy_file(POLICIES / f"{name}.toml")
    assert policy.timezone == zone
    for band in policy.bands:
        assert policy.bands[band].rest_reminder_minutes == (minutes if band in reminded else None)


@pytest.mark.parametrize("name", ["us-ca-sb243", "us-ny-gbl-1702"])
def test_the_us_packs_use_the_ab_1043_brackets(name):
    policy = load_policy_file(POLICIES / f"{name}.toml")
    assert policy.scale.bands == (("under_13", 0), ("age_13_15", 13), ("age_16_17", 16), ("adult", 18))


@pytest.mark.parametrize("name, consent", [
    ("cn-companion-2026", {"under_8", "age_8_13"}),
    ("it-ai-law-2025", {"under_14", "unverified"}),
])
def test_bands_under_14_need_a_parents_consent(name, consent):
    policy = load_policy_file(POLICIES / f"{name}.toml")
    assert {b for b, r in policy.bands.items() if r.requires_parental_consent} == consent
    assert policy.scale.band_at(13) in consent and policy.scale.band_at(14) not in consent
    child = UserFacts("u", Verification("verified", date(2014, 1, 1)))  # 12
    now = datetime(2026, 12, 2, 10, 0, tzinfo=policy.tz)
    refused = decide(policy, child, Usage(), now)
    assert (refused.allowed, refused.reason, refused.retry_at) == (False, "consent_required", None)
    consented = UserFacts("u", Verification("verified", date(2014, 1, 1)),
                          guardian_consents=((now - timedelta(hours=1), "granted"),))
    assert decide(policy, consented, Usage(), now).reason != "consent_required"


@pytest.mark.parametrize("name", ["us-ca-sb243", "us-ny-gbl-1702"])
def test_the_us_packs_set_no_time_limits(name):
    policy = load_policy_file(POLICIES / f"{name}.toml")
    for rules in policy.bands.values():
        assert rules.daily_limit is None and rules.allowed_hours is None and rules.continuous_limit_minutes is None


def test_the_cn_companion_pack_keeps_minor_mode_for_minors():
    pack, minor = (load_policy_file(POLICIES / f"{n}.toml") for n in ("cn-companion-2026", "cn-minor-mode"))
    for band, same in (("under_8", "under_8"), ("age_8_13", "age_8_15"), ("age_14_15", "age_8_15"),
                       ("age_16_17", "age_16_17"), ("unverified", "unverified")):
        a, b = pack.bands[band], minor.bands[same]
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
