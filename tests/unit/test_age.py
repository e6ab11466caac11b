"""DESIGN section 8's derivation (domain/age.py): every example in DESIGN as a table, and the
rule's promises as properties over random signals and days."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governor.domain import age
from governor.domain.age import Signal, derive, next_change, span
from governor.domain.policy import PolicyInvalid, load_policy_file, parse_policy
from tests.unit.test_policy import POLICIES

SH = ZoneInfo("Asia/Shanghai")
CN = load_policy_file(POLICIES / "cn-minor-mode.toml").scale
US = age.Scale((("under_13", 0), ("age_13_15", 13), ("age_16_17", 16), ("adult", 18)))
TODAY = date(2026, 12, 2)
NOW = datetime.combine(TODAY, time(12), tzinfo=SH)


def signal(source: str, lo: int, hi: int | None, method: str = "other", assurance: str = "substantial",
           observed: date = TODAY, **more) -> Signal:
    born_from, born_to = span(lo, hi, observed)
    at = datetime.combine(observed, time(9), tzinfo=SH)
    return Signal(source, born_from, born_to, method, assurance, at, **more)


def band(*signals: Signal, scale: age.Scale = CN, day: date = TODAY) -> str:
    return derive(scale, signals, day, datetime.combine(day, time(12), tzinfo=SH)).band


# -- DESIGN's examples ---------------------------------------------------------------------------

@pytest.mark.parametrize("signals,expected", [
    pytest.param([signal("os_age_signal", 13, 15)], "age_8_15", id="os-13-15"),
    pytest.param([signal("estimation", 13, 17, "estimated", "low")], "age_8_15", id="estimation-13-17"),
    pytest.param([signal("os_age_signal", 0, 12)], "under_8", id="under-13"),
    pytest.param([signal("kyc", 25, 25, "id_checked", "high"), signal("estimation", 13, 17, "estimated", "low")],
                 "adult", id="id-check-outranks-estimation"),
    pytest.param([signal("app", 18, None, "self_declared", "low")], "unverified", id="adult-self-declaration"),
    pytest.param([], "unverified", id="no-signal"),
    pytest.param([signal("os_age_signal", 18, None, "other", "low")], "unverified", id="adult-short-of-assurance"),
    pytest.param([signal("os_age_signal", 16, 17)], "age_16_17", id="os-16-17"),
])
def test_designs_examples_under_cn_minor_mode(signals, expected):
    assert band(*signals) == expected


def test_the_us_brackets_map_one_to_one():
    for lo, hi, expected in ((0, 12, "under_13"), (13, 15, "age_13_15"), (16, 17, "age_16_17"), (18, None, "adult")):
        assert band(signal("os_age_signal", lo, hi), scale=US) == expected


def test_a_span_seen_in_march_as_13_15_is_13_16_in_december():
    seen = signal("os_age_signal", 13, 15, observed=date(2026, 3, 10))
    got = derive(CN, [seen], TODAY, NOW)
    assert (got.age_min, got.age_max, got.basis) == (13, 16, ("os_age_signal",))


def test_agreeing_spans_narrow_and_contradicting_ones_leave_the_youngest():
    both = derive(US, [signal("a", 13, 17), signal("b", 16, None)], TODAY, NOW)
    assert (both.band, both.age_min, both.age_max, both.basis) == ("age_16_17", 16, 17, ("a", "b"))
    apart = derive(US, [signal("old", 30, 40), signal("young", 10, 12)], TODAY, NOW)
    assert (apart.band, apart.age_min, apart.age_max, apart.basis) == ("under_13", 10, 12, ("young",))


def test_a_lapsed_signal_no_longer_counts_and_its_lapse_is_the_next_change():
    seen = signal("os_age_signal", 13, 15, observed=TODAY - timedelta(days=364))
    assert band(seen) == "age_8_15"
    lapse = seen.observed_at + timedelta(days=365)
    assert next_change(CN, [seen], SH, NOW) <= lapse
    after = lapse + timedelta(seconds=1)
    assert derive(CN, [seen], after.date(), after).band == "unverified"
    expiring = signal("x", 13, 15, expires_at=NOW + timedelta(hours=1))
    assert next_change(CN, [expiring], SH, NOW) == NOW + timedelta(hours=1)


def test_a_verification_is_a_span_of_one_day_that_lapses_only_at_its_expiry():
    v = age.from_verification("verified", date(2000, 5, 1), None, None, datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert (v.method, v.assurance, v.born_from, v.born_to) == ("id_checked", "substantial", date(2000, 5, 1),
                                                               date(2000, 5, 1))
    assert band(v) == "adult" and v.lapses_at(CN) is None
    me = age.from_verification("self_declared", date(2014, 3, 1), None, None, NOW)
    assert (me.method, band(me)) == ("self_declared", "age_8_15")
    assert age.from_verification("unverified", None, None, None, NOW) is None


def test_consent_is_the_latest_said_and_a_refusal_wins_a_tie():
    early = signal("store", 10, 12, parental_consent="granted", observed=TODAY - timedelta(days=3))
    assert age.consent([early], [], CN, NOW) == "granted"
    assert age.consent([early], [(NOW, "revoked")], CN, NOW) == "revoked"
    assert age.consent([early], [(early.observed_at, "denied")], CN, NOW) == "denied"
    assert age.consent([], [], CN, NOW) is None
    lapsed = signal("store", 10, 12, parental_consent="granted", observed=TODAY - timedelta(days=400))
    assert age.consent([lapsed], [], CN, NOW) is None


def test_the_rows_copy_reads_back_equal():
    signals = (signal("a", 13, 15, parental_consent="pending"), signal("b", 18, None, expires_at=NOW))
    assert age.loads(age.dumps(signals)) == signals
    assert age.dumps([]) is None and age.loads(None) == ()


# -- the rule's promises --------------------------------------------------------------------------

METHOD = st.sampled_from(age.METHODS)
ASSURANCE = st.sampled_from(age.ASSURANCES)


@st.composite
def signals(draw, sources=st.sampled_from(["a", "b", "c", "d", "e"])):
    lo = draw(st.integers(0, 40))
    hi = draw(st.one_of(st.none(), st.integers(lo, 60)))
    observed = TODAY - timedelta(days=draw(st.integers(0, 300)))
    return signal(draw(sources), lo, hi, draw(METHOD), draw(ASSURANCE), observed,
                  parental_consent=draw(st.sampled_from([None, *age.CONSENTS])))


SETS = st.lists(signals(), max_size=5, unique_by=lambda s: s.source)
SCALES = st.sampled_from([CN, US, age.Scale((("child", 0), ("teen", 14), ("adult", 21)), 21, "high", 30)])


@settings(max_examples=300, deadline=None)
@given(SETS, signals(sources=st.just("weak")), st.sampled_from(["self_declared", "estimated"]), SCALES)
def test_a_self_declaration_or_estimate_never_gives_adult(base, extra, method, scale):
    before = derive(scale, base, TODAY, NOW).band
    after = derive(scale, [*base, Signal(**{**extra.__dict__, "method": method})], TODAY, NOW).band
    assert after != "adult" or before == "adult"


@settings(max_examples=300, deadline=None)
@given(SETS.filter(bool), signals(sources=st.just("lower")), SCALES)
def test_a_lower_assurance_signal_never_changes_the_band(base, extra, scale):
    live = [s for s in age.current(base, scale, NOW)
            if not (s.method in age.WEAK and age.age_on(s.born_to, TODAY) >= scale.adult_age)]
    top = max((age.ASSURANCES.index(s.assurance) for s in live), default=0)
    if not live or top == 0:
        return
    lower = Signal(**{**extra.__dict__, "assurance": age.ASSURANCES[top - 1]})
    assert derive(scale, [*base, lower], TODAY, NOW).band == derive(scale, base, TODAY, NOW).band


@settings(max_examples=200, deadline=None)
@given(SETS, SCALES)
def test_withdrawing_every_signal_gives_unverified(base, scale):
    remaining = list(base)
    while remaining:
        remaining.pop()
    assert derive(scale, remaining, TODAY, NOW) == age.Age("unverified", None, None, ())


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 17), st.integers(0, 3), st.integers(1, 700), SCALES)
def test_a_span_observed_earlier_moves_exactly_on_its_youngest_possible_birthday(lo, width, days_ago, scale):
    observed = TODAY - timedelta(days=days_ago)
    seen = signal("os", lo, lo + width, "id_checked", "high", observed, expires_at=NOW + timedelta(days=3650))
    for day in (TODAY + timedelta(days=i) for i in range(0, 800, 1)):
        before, on = day - timedelta(days=1), day
        b1 = derive(scale, [seen], before, datetime.combine(before, time(12), tzinfo=SH)).band
        b2 = derive(scale, [seen], on, datetime.combine(on, time(12), tzinfo=SH)).band
        if b1 != b2:  # the band moved between `before` and `on`: exactly a birthday of born_to
            assert any(age.birthday(seen.born_to, a) == on for _, a in scale.bands)
            at = datetime.combine(before, time(12), tzinfo=SH)
            assert next_change(scale, [seen], SH, at) == datetime.combine(on, time(0), tzinfo=SH)
            break


@settings(max_examples=200, deadline=None)
@given(SETS, SCALES, st.integers(0, 2000))
def test_nothing_changes_before_the_next_change(base, scale, hours):
    now = NOW + timedelta(hours=hours)
    change = next_change(scale, base, SH, now)
    probe = now + (change - now) / 2 if change is not None else now + timedelta(days=900)
    probe = min(probe, change - timedelta(microseconds=1)) if change is not None else probe
    a = derive(scale, base, now.astimezone(SH).date(), now)
    b = derive(scale, base, probe.astimezone(SH).date(), probe)
    assert a.band == b.band
    assert age.consent(base, [], scale, now) == age.consent(base, [], scale, probe)


# -- bands from the policy -------------------------------------------------------------------------

def us(**top) -> dict:
    return {"name": "us", "timezone": "America/Los_Angeles", **top,
            "bands": {"under_13": {"min_age": 0}, "age_13_15": {"min_age": 13}, "age_16_17": {},
                      "adult": {}, "unverified": {}}}


def test_policy_defined_bands_and_the_age_settings():
    p = parse_policy(us(adult_min_assurance="high", age_signal_valid_days=90))
    assert p.scale == age.Scale(US.bands, 18, "high", 90)
    assert set(p.bands) == {"under_13", "age_13_15", "age_16_17", "adult", "unverified"}
    assert p.document["adult_min_assurance"] == "high" and "adult_age" not in p.document


@pytest.mark.parametrize("change,field", [
    (lambda d: d["bands"].update({"Teen": {"min_age": 14}}), "bands.Teen"),
    (lambda d: d["bands"].update({"x" * 33: {"min_age": 14}}), "bands." + "x" * 33),
    (lambda d: d["bands"].update({"teen": {}}), "bands.teen.min_age"),
    (lambda d: d["bands"]["under_13"].update(min_age=1), "bands.under_13.min_age"),
    (lambda d: d["bands"]["age_13_15"].update(min_age=0), "bands.age_13_15.min_age"),
    (lambda d: d["bands"]["age_13_15"].update(min_age=18), "bands.age_13_15.min_age"),
    (lambda d: d["bands"]["age_13_15"].update(min_age=-1), "bands.age_13_15.min_age"),
    (lambda d: d["bands"]["age_13_15"].update(min_age=13.5), "bands.age_13_15.min_age"),
    (lambda d: d["bands"]["adult"].update(min_age=21), "bands.adult.min_age"),
    (lambda d: d["bands"]["unverified"].update(min_age=0), "bands.unverified.min_age"),
    (lambda d: d["bands"]["adult"].update(requires_parental_consent=True), "bands.adult.requires_parental_consent"),
    (lambda d: d["bands"]["under_13"].update(requires_parental_consent="yes"),
     "bands.under_13.requires_parental_consent"),
    (lambda d: d["bands"].pop("adult"), "bands.adult"),
    (lambda d: d.update(adult_age=0), "adult_age"),
    (lambda d: d.update(adult_age=200), "adult_age"),
    (lambda d: d.update(adult_min_assurance="medium"), "adult_min_assurance"),
    (lambda d: d.update(age_signal_valid_days=0), "age_signal_valid_days"),
])
def test_a_bad_age_setting_names_its_field(change, field):
    d = us()
    change(d)
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(d)
    assert caught.value.field == field


def test_adult_age_moves_adult_and_a_birthday_moves_the_user_at_the_policys_boundary():
    p = parse_policy({**us(adult_age=21), "bands": {**us()["bands"], "age_16_17": {"min_age": 16}}})
    assert p.scale.band_at(20) == "age_16_17" and p.scale.band_at(21) == "adult"
    born = date(2013, 12, 3)  # 13 tomorrow
    v = age.from_verification("verified", born, "high", None, NOW)
    assert derive(p.scale, [v], TODAY, NOW).band == "under_13"
    assert next_change(p.scale, [v], SH, NOW) == datetime(2026, 12, 3, tzinfo=SH)
    assert derive(p.scale, [v], date(2026, 12, 3), datetime(2026, 12, 3, tzinfo=SH)).band == "age_13_15"
