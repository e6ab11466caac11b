"""Section 7 in the pure domain: policy fields, guardians' controls as facts to decide(), purposes
with uncounted minutes, repeating rest reminders. Tables, then hypothesis properties: controls
never loosen a decision."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governor.domain.controls import Controls, strictest, window_text
from governor.domain.decision import Reason, Usage, UserFacts, Warning
from governor.domain.engine import decide, reminder_number
from governor.domain.policy import Band, PolicyInvalid, Window, parse_windows
from tests.unit.test_engine import (
    MINOR,
    THU,
    TUE,
    WED,
    at,
    mins,
    ok,
    policy_with,
    refused,
    running_out,
    situations,
    streak,
    used,
    user,
)

LEARNING = policy_with({"daily_limit_minutes": 60, "allowed_hours": ["06:00-22:00"], "warn_before_minutes": 5,
                        "uncounted_minutes": {"learning": 60}, "weekly_limit_minutes": 300,
                        "guardian_grant_max_minutes": 30})
REMIND = policy_with({"rest_reminder_minutes": 30})


def quiet(*texts: str) -> Controls:
    return Controls(quiet_hours=parse_windows(list(texts), "quiet_hours"))


def child(**controls) -> UserFacts:
    return user(controls=Controls(**controls))


# -- the policy fields ------------------------------------------------------------------------

def test_uncounted_minutes_and_the_guardian_cap_are_parsed():
    rules = LEARNING.bands[Band.AGE_8_15]
    assert rules.uncounted_minutes == (("learning", 60),) and rules.uncounted_for("learning") == 60
    assert rules.uncounted_for("other") == 0 and rules.uncounted_for(None) == 0
    assert rules.guardian_grant_max_minutes == 30
    assert LEARNING.purposes == ("learning",) and MINOR.purposes == ()
    assert MINOR.bands[Band.AGE_8_15].guardian_grant_max_minutes == 60
    assert MINOR.bands[Band.ADULT].guardian_grant_max_minutes is None


@pytest.mark.parametrize("rules, field", [
    ({"uncounted_minutes": 60}, "bands.age_8_15.uncounted_minutes"),
    ({"uncounted_minutes": {"Learning!": 60}}, "bands.age_8_15.uncounted_minutes.Learning!"),
    ({"uncounted_minutes": {"learning": -1}}, "bands.age_8_15.uncounted_minutes.learning"),
    ({"uncounted_minutes": {"learning": None}}, "bands.age_8_15.uncounted_minutes.learning"),
    ({"guardian_grant_max_minutes": -5}, "bands.age_8_15.guardian_grant_max_minutes"),
    ({"guardian_grant_max_minutes": "60"}, "bands.age_8_15.guardian_grant_max_minutes"),
])
def test_bad_section_7_fields_name_the_field(rules, field):
    with pytest.raises(PolicyInvalid) as e:
        policy_with(rules)
    assert e.value.field == field


# -- controls ---------------------------------------------------------------------------------

def test_strictest_of_several_guardians():
    a = Controls(40, parse_windows(["20:00-21:00"], "q"), 30)
    b = Controls(50, parse_windows(["22:00-07:00"], "q"), 20)
    c = Controls()
    s = strictest([a, b, c])
    assert s.daily_limit_minutes == 40 and s.rest_reminder_minutes == 20
    assert [window_text(w) for w in s.quiet_hours] == ["20:00-21:00", "22:00-07:00"]
    assert strictest([]) == Controls() and Controls().empty


CONTROLS = [
    ("stricter-limit", at(WED, 10), child(daily_limit_minutes=40), Usage(),
     ok(at(WED, 10, 30), remaining=mins(40))),
    ("stricter-limit-reached", at(WED, 10), child(daily_limit_minutes=40), used(40),
     refused(Reason.DAILY_LIMIT, at(THU, 6), remaining=mins(0))),
    ("looser-limit-changes-nothing", at(WED, 10), child(daily_limit_minutes=600), used(30),
     ok(at(WED, 10, 30), remaining=mins(30))),
    ("admin-and-guardian-strictest-wins", at(WED, 10), replace(child(daily_limit_minutes=45), daily_limit_minutes=20),
     Usage(), ok(at(WED, 10, 20), remaining=mins(20))),
    ("guardian-limit-with-grant", at(WED, 10), replace(child(daily_limit_minutes=10), grants={WED: 5}), used(10),
     ok(at(WED, 10, 5), running_out(300, "daily_limit"), remaining=mins(5))),
    ("in-quiet-hours", at(WED, 20, 10), user(controls=quiet("20:00-21:00")), Usage(),
     refused(Reason.QUIET_HOURS, at(WED, 21))),
    ("quiet-hours-end-the-session", at(WED, 19, 45), user(controls=quiet("20:00-21:00")), Usage(),
     ok(at(WED, 20), remaining=mins(60))),
    ("quiet-warning-ahead", at(WED, 19, 57), user(controls=quiet("20:00-21:00")), Usage(),
     ok(at(WED, 20), running_out(180, "quiet_hours"), remaining=mins(60))),
    ("quiet-start-is-quiet", at(WED, 20), user(controls=quiet("20:00-21:00")), Usage(),
     refused(Reason.QUIET_HOURS, at(WED, 21))),
    ("quiet-end-is-open", at(WED, 21), user(controls=quiet("20:00-21:00")), Usage(), ok(at(WED, 21, 30))),
    ("across-midnight-after-curfew-ends", at(THU, 6, 30), user(controls=quiet("21:00-07:00")), Usage(),
     refused(Reason.QUIET_HOURS, at(THU, 7))),
    ("across-midnight-late-outranks-curfew", at(WED, 23), user(controls=quiet("21:00-07:00")), Usage(),
     refused(Reason.QUIET_HOURS, at(THU, 7))),
    ("across-midnight-before-it", at(WED, 20, 50), user(controls=quiet("21:00-07:00")), Usage(),
     ok(at(WED, 21), remaining=mins(60))),
    ("adjacent-windows-merge", at(WED, 12, 10), user(controls=quiet("12:00-13:00", "13:00-14:00")), Usage(),
     refused(Reason.QUIET_HOURS, at(WED, 14))),
    ("curfew-outranks-shorter-quiet", at(WED, 23), user(controls=quiet("22:30-23:30")), Usage(),
     refused(Reason.CURFEW, at(THU, 6))),
    ("daily-limit-outranks-quiet", at(WED, 20, 10), user(controls=quiet("20:00-21:00")), used(60),
     refused(Reason.DAILY_LIMIT, at(THU, 6), remaining=mins(0))),
]


@pytest.mark.parametrize("now, facts, usage, expect", [c[1:] for c in CONTROLS], ids=[c[0] for c in CONTROLS])
def test_controls(now, facts, usage, expect):
    d = decide(MINOR, facts, usage, now)
    assert {k: getattr(d, k) for k in expect} == expect


# -- purposes ---------------------------------------------------------------------------------

def learned(counted: float, learning: float, day=WED) -> Usage:
    """A day with `counted` minutes that count and `learning` minutes of uncounted learning."""
    return Usage(days={day: mins(counted + learning)}, uncounted={day: {"learning": mins(learning)}})


PURPOSES = [
    ("learning-after-the-limit", at(WED, 17), "learning", learned(60, 0),
     ok(at(WED, 18), remaining=mins(60), used_today=mins(60))),
    ("no-purpose-after-the-limit", at(WED, 17), None, learned(60, 0),
     refused(Reason.DAILY_LIMIT, at(THU, 6), remaining=mins(0))),
    ("learning-partly-used", at(WED, 17), "learning", learned(60, 45),
     ok(at(WED, 17, 15), remaining=mins(15), used_today=mins(105))),
    ("uncounted-use-does-not-count", at(WED, 17), None, learned(20, 60),
     ok(at(WED, 17, 40), remaining=mins(40), used_today=mins(80))),
    ("learning-used-up", at(WED, 17), "learning", learned(60, 60),
     refused(Reason.DAILY_LIMIT, at(THU, 6), remaining=mins(0))),
    ("learning-before-the-limit-adds-up", at(WED, 17), "learning", learned(30, 0),
     ok(at(WED, 18, 30), remaining=mins(90))),
    ("curfew-applies-to-learning", at(WED, 22, 30), "learning", learned(0, 0),
     refused(Reason.CURFEW, at(THU, 6), remaining=mins(120))),
    ("learning-ends-at-curfew", at(WED, 21, 30), "learning", learned(60, 0),
     ok(at(WED, 22), remaining=mins(60))),
    ("weekly-limit-also-spared", at(WED, 17), "learning",
     Usage(days={TUE: mins(300)}, uncounted={}), ok(at(WED, 18), remaining=mins(60))),
    ("yesterdays-learning-is-yesterdays", at(WED, 17), "learning",
     Usage(days={TUE: mins(60), WED: mins(60)}, uncounted={TUE: {"learning": mins(60)}}),
     ok(at(WED, 18), remaining=mins(60))),
]


@pytest.mark.parametrize("now, purpose, usage, expect", [c[1:] for c in PURPOSES], ids=[c[0] for c in PURPOSES])
def test_purposes(now, purpose, usage, expect):
    d = decide(LEARNING, user(), usage, now, purpose=purpose)
    assert {k: getattr(d, k) for k in expect} == expect


def test_a_purpose_without_uncounted_minutes_in_the_band_simply_counts():
    d = decide(MINOR, user(), used(60), at(WED, 17), purpose="learning")
    assert d.reason is Reason.DAILY_LIMIT


# -- reminders that repeat --------------------------------------------------------------------

@pytest.mark.parametrize("minutes, intervals, expected", [
    (29, (30,), 0), (30, (30,), 1), (89, (30,), 2), (90, (30,), 3), (180, (180,), 1),
    (60, (30, 20), 4),  # 20, 30, 40, 60: the shared moment once
    (60, (30, 30), 2), (19, (30, 20), 0), (20, (None, 20), 1), (100, (None, None), 0),
])
def test_reminder_number(minutes, intervals, expected):
    assert reminder_number(mins(minutes) + timedelta(seconds=30), intervals) == expected
    assert reminder_number(None, intervals) == 0


@pytest.mark.parametrize("minutes, controls, number", [
    (29, Controls(), None), (30, Controls(), 1), (65, Controls(), 2), (95, Controls(), 3),
    (25, Controls(rest_reminder_minutes=20), 1), (60, Controls(rest_reminder_minutes=20), 4),
])
def test_rest_reminders_repeat_with_their_number(minutes, controls, number):
    now = at(WED, 12)
    d = decide(REMIND, user(controls=controls), streak(now - mins(minutes), now - mins(1)), now)
    assert d.allowed
    expected = () if number is None else (Warning("rest_reminder", None, number),)
    assert d.warnings == expected


# -- properties -------------------------------------------------------------------------------

def _later(a, b) -> bool:
    """a is at or after b, None being 'never'."""
    return b is None or (a is None) or a >= b


_controls = st.builds(
    Controls,
    st.none() | st.integers(0, 120),
    st.lists(st.builds(lambda s, n: Window(s, s + n), st.integers(0, 1439), st.integers(1, 1439)),
             max_size=3).map(tuple),
    st.none() | st.integers(1, 120))


@settings(max_examples=200, deadline=None)
@given(situation=situations(), controls=_controls, continuing=st.booleans())
def test_controls_never_loosen_a_decision(situation, controls, continuing):
    """With any guardian controls, a refusal stays a refusal no sooner lifted, and an admission
    is never longer, nor with more remaining time."""
    policy, facts, usage, now = situation
    free = decide(policy, facts, usage, now, continuing=continuing)
    held = decide(policy, replace(facts, controls=controls), usage, now, continuing=continuing)
    if not free.allowed:
        assert not held.allowed
        assert _later(held.retry_at, free.retry_at)
    if held.allowed:
        assert _later(free.ends_at, held.ends_at)
    assert _later(free.remaining, held.remaining)


@settings(max_examples=150, deadline=None)
@given(situation=situations(), learning=st.integers(0, 90), spent=st.integers(0, 90))
def test_a_purpose_never_tightens(situation, learning, spent):
    """A session of a purpose with uncounted minutes is refused only when an ordinary one is, and
    is let in again no later, and has at least as much time left."""
    policy, facts, usage, now = situation
    doc = {**policy.document, "bands": {k: {**v, "uncounted_minutes": {"learning": learning}}
                                        for k, v in policy.document["bands"].items()}}
    from governor.domain.policy import parse_policy

    lp = parse_policy(doc)
    today = now.astimezone(lp.zone(facts.timezone)).date()
    usage = replace(usage, uncounted={today: {"learning": min(mins(spent), usage.days.get(today, mins(0)))}})
    plain = decide(lp, facts, usage, now)
    learn = decide(lp, facts, usage, now, purpose="learning")
    if plain.allowed:
        assert learn.allowed
    if not learn.allowed:
        assert not plain.allowed
        assert _later(plain.retry_at, learn.retry_at)
    if learn.allowed and plain.allowed:
        assert _later(learn.remaining, plain.remaining)
