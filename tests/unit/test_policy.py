"""Policies as data: the shipped files load, lookups follow the day-type order, and every bad
document is refused with a PolicyInvalid that names the field to fix."""
from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest

from governor.domain.policy import Band, BandRules, ByDay, PolicyInvalid, Window, load_policy_file, parse_policy

POLICIES = Path(__file__).resolve().parents[2] / "config" / "policies"
WED, FRI, SAT, SUN = date(2026, 12, 2), date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 6)
HOLIDAY_THU, HOLIDAY_SAT = date(2026, 10, 1), date(2026, 10, 3)


def doc(**bands) -> dict:
    """A valid document with every band unrestricted, some replaced by `bands`."""
    return {"name": "test", "timezone": "Asia/Shanghai", "holidays": ["2026-10-01"],
            "bands": {**{b.value: {} for b in Band}, **bands}}


def kid(**rules) -> dict:
    return doc(age_8_15=rules)


# -- the shipped policies -----------------------------------------------------------------------

def test_default_policy_loads():
    p = load_policy_file(POLICIES / "cn-minor-mode.toml")
    assert (p.name, p.timezone, p.holidays, p.version) == ("cn-minor-mode", "Asia/Shanghai", frozenset(), 0)
    for band, limit in ((Band.UNDER_8, 40), (Band.AGE_8_15, 60), (Band.AGE_16_17, 120), (Band.UNVERIFIED, 40)):
        rules = p.bands[band]
        assert rules.daily_limit_minutes(WED, False) == limit
        assert rules.windows(SUN, False) == (Window(6 * 60, 22 * 60),)
        assert (rules.continuous_limit_minutes, rules.break_minutes, rules.warn_before_minutes) == (30, 15, 5)
        assert (rules.requires_verification, rules.max_concurrent_sessions) == (False, None)
    assert p.bands[Band.ADULT] == BandRules()
    assert p.bands[Band.ADULT].daily_limit_minutes(WED, False) is None
    assert p.bands[Band.ADULT].windows(WED, False) is None


def test_nppa_policy_loads():
    p = load_policy_file(POLICIES / "cn-nppa-2021.toml")
    assert p.name == "cn-nppa-2021" and len(p.holidays) == 33
    evening = (Window(20 * 60, 21 * 60),)
    for band in (Band.UNDER_8, Band.AGE_8_15, Band.AGE_16_17):
        rules = p.bands[band]
        assert rules.windows(WED, p.is_holiday(WED)) == ()
        assert rules.windows(FRI, p.is_holiday(FRI)) == evening
        assert rules.windows(SAT, p.is_holiday(SAT)) == evening
        assert rules.windows(SUN, p.is_holiday(SUN)) == evening
        assert p.is_holiday(HOLIDAY_THU) and rules.windows(HOLIDAY_THU, True) == evening
        assert rules.daily_limit_minutes(FRI, False) is None
    assert p.bands[Band.UNVERIFIED].requires_verification
    assert p.bands[Band.ADULT] == BandRules()


@pytest.mark.parametrize("name", ["cn-minor-mode.toml", "cn-nppa-2021.toml"])
def test_document_round_trips(name):
    """The normalised document (what the admin API shows and stores) parses to the same policy."""
    p = load_policy_file(POLICIES / name)
    again = parse_policy(copy.deepcopy(p.document))
    assert again == p and again.document == p.document
    assert p.with_version(4).version == 4 and p.with_version(4) == parse_policy(p.document).with_version(4)


# -- lookups -------------------------------------------------------------------------------------

TABLE = ByDay((("default", "D"), ("weekday", "WD"), ("weekend", "WE"), ("fri", "F"), ("holiday", "H")))


@pytest.mark.parametrize("day,holiday,expected", [
    (WED, False, "WD"),
    (FRI, False, "F"),
    (SAT, False, "WE"),
    (WED, True, "H"),
    (FRI, True, "H"),
    (SAT, True, "H"),
], ids=["weekday", "own-weekday-key", "weekend", "holiday-weekday", "holiday-beats-own-key", "holiday-weekend"])
def test_day_type_lookup_order(day, holiday, expected):
    assert TABLE.for_day(day, holiday) == expected


def test_default_is_the_last_resort():
    table = ByDay((("default", "D"), ("sun", "S")))
    assert [table.for_day(d, False) for d in (WED, SAT, SUN)] == ["D", "D", "S"]
    assert table.for_day(WED, True) == "D"


def test_per_day_limits_and_windows():
    p = parse_policy(kid(daily_limit_minutes={"weekday": 30, "weekend": 90, "holiday": 120},
                         allowed_hours={"default": ["06:00-22:00"], "sat": ["08:00-12:00", "20:00-02:00"]}))
    rules = p.bands[Band.AGE_8_15]
    assert [rules.daily_limit_minutes(d, p.is_holiday(d)) for d in (WED, SAT, HOLIDAY_THU)] == [30, 90, 120]
    assert rules.windows(SAT, False) == (Window(480, 720), Window(1200, 1560))
    assert rules.windows(SUN, False) == (Window(360, 1320),)


def test_null_limit_for_a_day_type_is_unlimited():
    """JSON documents may say `null`: no limit that day."""
    rules = parse_policy(kid(daily_limit_minutes={"default": 60, "weekend": None})).bands[Band.AGE_8_15]
    assert (rules.daily_limit_minutes(WED, False), rules.daily_limit_minutes(SAT, False)) == (60, None)


@pytest.mark.parametrize("text,window", [
    ("06:00-22:00", Window(360, 1320)),
    ("20:00-02:00", Window(1200, 1560)),
    ("00:00-24:00", Window(0, 1440)),
    ("22:00-24:00", Window(1320, 1440)),
    ("23:30-00:00", Window(1410, 1440)),
    ("00:00-00:01", Window(0, 1)),
], ids=["day", "crosses-midnight", "whole-day", "to-midnight", "ends-at-midnight", "one-minute"])
def test_windows(text, window):
    assert parse_policy(kid(allowed_hours=[text])).bands[Band.AGE_8_15].windows(WED, False) == (window,)


def test_windows_are_sorted_and_an_empty_list_means_no_chat():
    rules = parse_policy(kid(allowed_hours={"weekday": [], "weekend": ["18:00-20:00", "08:00-10:00"]})).bands[
        Band.AGE_8_15]
    assert rules.windows(WED, False) == ()
    assert rules.windows(SAT, False) == (Window(480, 600), Window(1080, 1200))


def test_holidays_as_toml_dates_or_text(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('name = "t"\ntimezone = "UTC"\nholidays = [2026-10-01, "2026-10-02"]\n'
                    + "".join(f"[bands.{b.value}]\n" for b in Band))
    assert load_policy_file(path).holidays == {date(2026, 10, 1), date(2026, 10, 2)}


def test_every_rule_parses():
    rules = parse_policy(kid(daily_limit_minutes=0, weekly_limit_minutes=300, allowed_hours=["06:00-22:00"],
                             continuous_limit_minutes=45, break_minutes=10, max_concurrent_sessions=2,
                             warn_before_minutes=3, rest_reminder_minutes=30,
                             requires_verification=True)).bands[Band.AGE_8_15]
    assert (rules.daily_limit_minutes(WED, False), rules.weekly_limit_minutes, rules.continuous_limit_minutes,
            rules.break_minutes, rules.max_concurrent_sessions, rules.warn_before_minutes,
            rules.rest_reminder_minutes, rules.requires_verification) == (0, 300, 45, 10, 2, 3, 30, True)


# -- bad documents name the field ---------------------------------------------------------------

def without(key: str) -> dict:
    d = doc()
    del d[key]
    return d


def band_missing(band: str) -> dict:
    d = doc()
    del d["bands"][band]
    return d


BAD = [
    ("not-an-object", ["name"], ""),
    ("unknown-top-level-key", {**doc(), "colour": "red"}, "colour"),
    ("version-is-not-part-of-the-document", {**doc(), "version": 2}, "version"),
    ("missing-name", without("name"), "name"),
    ("bad-name", {**doc(), "name": "no spaces please"}, "name"),
    ("missing-timezone", without("timezone"), "timezone"),
    ("bad-timezone", {**doc(), "timezone": "Mars/Olympus_Mons"}, "timezone"),
    ("timezone-directory", {**doc(), "timezone": "America"}, "timezone"),
    ("timezone-path", {**doc(), "timezone": "../../etc/passwd"}, "timezone"),
    ("description-not-text", {**doc(), "description": 5}, "description"),
    ("missing-bands", without("bands"), "bands"),
    ("bands-not-a-table", {**doc(), "bands": ["adult"]}, "bands"),
    ("missing-band", band_missing("adult"), "bands.adult"),
    ("missing-unverified-band", band_missing("unverified"), "bands.unverified"),
    ("band-without-min-age", doc(teen={}), "bands.teen.min_age"),
    ("band-not-a-table", doc(adult=[]), "bands.adult"),
    ("unknown-rule", kid(daily_limit=60), "bands.age_8_15.daily_limit"),
    ("window-out-of-range", kid(allowed_hours=["25:00-26:00"]), "bands.age_8_15.allowed_hours[0]"),
    ("window-minutes-out-of-range", kid(allowed_hours=["06:00-22:60"]), "bands.age_8_15.allowed_hours[0]"),
    ("window-past-24:00", kid(allowed_hours=["22:00-24:30"]), "bands.age_8_15.allowed_hours[0]"),
    ("window-empty", kid(allowed_hours=["06:00-06:00"]), "bands.age_8_15.allowed_hours[0]"),
    ("window-bad-format", kid(allowed_hours=["06:00-22:00", "6:00-7:00"]), "bands.age_8_15.allowed_hours[1]"),
    ("window-not-text", kid(allowed_hours=[600]), "bands.age_8_15.allowed_hours[0]"),
    ("windows-not-a-list", kid(allowed_hours="06:00-22:00"), "bands.age_8_15.allowed_hours"),
    ("windows-null-for-a-day", kid(allowed_hours={"default": None}), "bands.age_8_15.allowed_hours.default"),
    ("window-in-day-table", kid(allowed_hours={"default": ["06:00-22:00"], "fri": ["bad"]}),
     "bands.age_8_15.allowed_hours.fri[0]"),
    ("unknown-day-key", kid(allowed_hours={"default": [], "friday": []}), "bands.age_8_15.allowed_hours.friday"),
    ("day-table-without-default", kid(allowed_hours={"weekday": ["06:00-22:00"], "holiday": []}),
     "bands.age_8_15.allowed_hours"),
    ("day-table-only-days", kid(daily_limit_minutes={k: 60 for k in ("mon", "tue", "wed", "thu", "fri", "sat")}),
     "bands.age_8_15.daily_limit_minutes"),
    ("continuous-without-break", kid(continuous_limit_minutes=30), "bands.age_8_15.break_minutes"),
    ("break-without-continuous", kid(break_minutes=15), "bands.age_8_15.break_minutes"),
    ("negative-daily-limit", kid(daily_limit_minutes=-1), "bands.age_8_15.daily_limit_minutes"),
    ("negative-per-day-limit", kid(daily_limit_minutes={"default": 60, "sat": -5}),
     "bands.age_8_15.daily_limit_minutes.sat"),
    ("negative-weekly-limit", kid(weekly_limit_minutes=-60), "bands.age_8_15.weekly_limit_minutes"),
    ("negative-warning", kid(warn_before_minutes=-5), "bands.age_8_15.warn_before_minutes"),
    ("zero-continuous-limit", kid(continuous_limit_minutes=0, break_minutes=15),
     "bands.age_8_15.continuous_limit_minutes"),
    ("zero-break", kid(continuous_limit_minutes=30, break_minutes=0), "bands.age_8_15.break_minutes"),
    ("zero-sessions", kid(max_concurrent_sessions=0), "bands.age_8_15.max_concurrent_sessions"),
    ("zero-rest-reminder", kid(rest_reminder_minutes=0), "bands.age_8_15.rest_reminder_minutes"),
    ("huge-limit", kid(daily_limit_minutes=10**9), "bands.age_8_15.daily_limit_minutes"),
    ("fractional-limit", kid(daily_limit_minutes=30.5), "bands.age_8_15.daily_limit_minutes"),
    ("text-limit", kid(daily_limit_minutes="60"), "bands.age_8_15.daily_limit_minutes"),
    ("boolean-daily-limit", kid(daily_limit_minutes=True), "bands.age_8_15.daily_limit_minutes"),
    ("boolean-per-day-limit", kid(daily_limit_minutes={"default": False}),
     "bands.age_8_15.daily_limit_minutes.default"),
    ("boolean-sessions", kid(max_concurrent_sessions=True), "bands.age_8_15.max_concurrent_sessions"),
    ("boolean-warning", kid(warn_before_minutes=False), "bands.age_8_15.warn_before_minutes"),
    ("verification-not-boolean", kid(requires_verification="yes"), "bands.age_8_15.requires_verification"),
    ("verification-as-number", kid(requires_verification=1), "bands.age_8_15.requires_verification"),
    ("holidays-not-a-list", {**doc(), "holidays": "2026-10-01"}, "holidays"),
    ("bad-holiday-date", {**doc(), "holidays": ["2026-10-01", "2026-13-01"]}, "holidays[1]"),
    ("holiday-not-a-date", {**doc(), "holidays": ["next friday"]}, "holidays[0]"),
    ("holiday-as-number", {**doc(), "holidays": [20261001]}, "holidays[0]"),
    ("holiday-compact-form", {**doc(), "holidays": ["20261001"]}, "holidays[0]"),
    ("holiday-week-date", {**doc(), "holidays": ["2026-W40-4"]}, "holidays[0]"),
]


@pytest.mark.parametrize("document,field", [pytest.param(d, f, id=i) for i, d, f in BAD])
def test_bad_documents_name_the_field(document, field):
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(document)
    assert caught.value.field == field
    assert caught.value.problem and str(caught.value).startswith(f"{field}: " if field else caught.value.problem)


def test_toml_datetime_is_no_holiday(tmp_path):
    """A TOML datetime is not a day: it would never match, and its text would not load again."""
    path = tmp_path / "p.toml"
    path.write_text('name = "t"\ntimezone = "UTC"\nholidays = [2026-10-01T00:00:00]\n'
                    + "".join(f"[bands.{b.value}]\n" for b in Band))
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_file(path)
    assert caught.value.field == "holidays[0]"


def test_file_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.toml"
    with pytest.raises(PolicyInvalid, match="cannot read") as caught:
        load_policy_file(missing)
    assert caught.value.field == "" and str(missing) in caught.value.problem

    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(PolicyInvalid, match="not valid TOML") as caught:
        load_policy_file(broken)
    assert str(broken) in str(caught.value)

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "t"\ntimezone = "UTC"\n[bands.adult]\n')
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_file(bad)
    assert caught.value.field == "bands.unverified" and str(bad) in caught.value.problem
