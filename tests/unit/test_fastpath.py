"""Deciding at events: `Outlook.valid_until` by table, `fastpath.advance` against `decide()`, and
the two small rules that moved into the domain (per-user limits only tighten; what a verification
keeps)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governor.domain import fastpath
from governor.domain.bands import looser_limit
from governor.domain.controls import Controls
from governor.domain.decision import Lock, Usage, UserFacts, Verification, Warning, recorded
from governor.domain.engine import decide
from governor.domain.policy import Band, parse_windows
from tests.unit.test_engine import BORN, MINOR, NPPA, NY, SH, WED, at, mins, policy_with, user, verified

MINOR_V1 = MINOR.with_version(1)
ADULT_BORN = BORN[Band.ADULT]


def twelve(expires=None) -> UserFacts:
    return user(verification=verified(BORN[Band.AGE_8_15], expires_at=expires))


def running(start, now, used_before=mins(0)):
    """A session running since `start`, heartbeats up to `now`, on a day with `used_before`."""
    return Usage(days={WED: used_before + (now - start)}, streak_start=start, last_active=now)


@pytest.mark.parametrize("facts, start, now, valid_until, why", [
    (twelve(), at(WED, 7), at(WED, 7, 1), at(WED, 7, 25), "5 minutes before the break at 07:30"),
    (twelve(expires=at(WED, 7, 10)), at(WED, 7), at(WED, 7, 1), at(WED, 7, 10), "the verification's expiry"),
    (user(Band.ADULT), at(WED, 23), at(WED, 23, 1), at(WED + timedelta(1)),
     "an adult's next local midnight"),
    (twelve(), at(WED, 21, 40), at(WED, 21, 41), at(WED, 21, 55), "5 minutes before curfew at 22:00"),
])
def test_valid_until(facts, start, now, valid_until, why):
    d = decide(MINOR_V1, facts, running(start, now), now, continuing=True)
    assert d.allowed and d.outlook.valid_until == valid_until, why


@settings(max_examples=300, deadline=None)
@given(start_minute=st.integers(6 * 60, 22 * 60 - 2), used=st.integers(0, 55), steps=st.lists(
    st.integers(1, 120), min_size=1, max_size=30), birth=st.sampled_from(
    [date(2014, 6, 1), date(2009, 6, 1), date(2020, 6, 1), date(1990, 6, 1), None]))
def test_advance_equals_decide_for_a_session_beating_on(start_minute, used, steps, birth):
    """One session, heartbeats at random gaps under the grace: whenever `advance` answers, its
    answer is the full decision's."""
    facts = UserFacts("k") if birth is None else UserFacts("k", Verification("verified", birth))
    start = at(WED) + mins(start_minute)
    now = start
    d0 = decide(MINOR_V1, facts, running(start, start, mins(used)), start, continuing=True)
    if not d0.allowed:
        return
    snap = fastpath.load(fastpath.take(d0, start, 0), SH)
    for gap in steps:
        before, now = now, now + timedelta(seconds=gap)
        usage = running(start, now, mins(used))
        full = decide(MINOR_V1, facts, usage, now, continuing=True)
        fast = fastpath.advance(snap, facts_version=0, policy_version=1, booked_from=before, streak_kept=True,
                                session_ends_at=None, used_today=usage.days[WED], now=now)
        if fast is not None:
            assert fast == full
        elif full.allowed:
            snap = fastpath.load(fastpath.take(full, now, 0), SH)
        else:
            return


def test_advance_refuses_after_a_fact_or_policy_change_or_an_earlier_booking():
    start, now = at(WED, 7), at(WED, 7, 2)
    d0 = decide(MINOR_V1, twelve(), running(start, start), start, continuing=True)
    snap = fastpath.load(fastpath.take(d0, start, 3), SH)
    common = dict(streak_kept=True, session_ends_at=None, used_today=mins(2), now=now)
    assert fastpath.advance(snap, facts_version=3, policy_version=1, booked_from=start, **common) is not None
    assert fastpath.advance(snap, facts_version=4, policy_version=1, booked_from=start, **common) is None
    assert fastpath.advance(snap, facts_version=3, policy_version=2, booked_from=start, **common) is None
    assert fastpath.advance(snap, facts_version=3, policy_version=1, booked_from=start - mins(1), **common) is None
    assert fastpath.advance(snap, facts_version=3, policy_version=1, booked_from=None, **common) is None


LONG_BREAKS = policy_with({"daily_limit_minutes": 90, "continuous_limit_minutes": 20, "break_minutes": 10,
                           "warn_before_minutes": 25, "allowed_hours": ["07:00-12:00", "12:00-21:30"]})


@settings(max_examples=400, deadline=None)
@given(policy=st.sampled_from([MINOR_V1, NPPA, LONG_BREAKS]),
       born=st.sampled_from([*BORN.values(), None]), self_declared=st.booleans(),
       expires_in=st.none() | st.integers(1, 3000), timezone=st.sampled_from([None, "America/New_York"]),
       quiet=st.sampled_from([(), ("12:00-12:30",), ("21:00-07:00", "13:00-13:05")]),
       guardian_limit=st.none() | st.integers(1, 120), reminders=st.none() | st.integers(1, 50),
       lock=st.sampled_from([None, "past", "future"]), granted=st.integers(0, 30), used=st.integers(0, 130),
       last_active_ago=st.none() | st.integers(0, 3000), start_minute=st.integers(0, 7 * 1440 - 1),
       steps=st.lists(st.integers(-120, 3 * 3600), min_size=1, max_size=12))
def test_for_idle_equals_decide_for_a_child_without_a_session(
        policy, born, self_declared, expires_in, timezone, quiet, guardian_limit, reminders, lock, granted, used,
        last_active_ago, start_minute, steps):
    """A child with nothing running asks for statuses at random later (and earlier) instants:
    whenever `for_idle` answers from the decision taken earlier, its answer is the full one."""
    now = at(WED) - timedelta(days=2) + mins(start_minute)
    v = None if born is None else Verification(
        "self_declared" if self_declared else "verified", born,
        expires_at=None if expires_in is None else now + mins(expires_in))
    day = now.astimezone(NY if timezone else SH).date()
    facts = UserFacts("k", v, timezone, lock={None: None, "past": Lock(now - mins(1)), "future": Lock(now + mins(30))}[
        lock], grants={day: granted}, controls=Controls(guardian_limit, parse_windows(list(quiet), "quiet"), reminders))
    last = None if last_active_ago is None else now - mins(last_active_ago)
    usage = Usage(days={day: mins(used)}, streak_start=last and last - mins(10), last_active=last)
    idle = fastpath.idle(policy, facts, usage, now, decide(policy, facts, usage, now))
    for step in steps:
        now += timedelta(seconds=step)
        full = decide(policy, facts, usage, now)
        fast = fastpath.for_idle(idle, now)
        if fast is not None:
            assert fast == full
        else:
            idle = fastpath.idle(policy, facts, usage, now, full)


def test_for_idle_holds_no_running_session_nor_continuous_use_and_not_before_its_instant():
    start = at(WED, 9)
    facts = twelve()
    fresh = Usage(days={WED: mins(10)})
    idle = fastpath.idle(MINOR_V1, facts, fresh, start, decide(MINOR_V1, facts, fresh, start))
    later = fastpath.for_idle(idle, start + mins(7))
    assert later == decide(MINOR_V1, facts, fresh, start + mins(7))
    assert later.ends_at == start + mins(7 + 30)  # the break moves with the start: no streak yet
    assert fastpath.for_idle(idle, start - timedelta(seconds=1)) is None
    assert fastpath.for_idle(idle, at(WED, 22)) is None  # curfew
    running = Usage(days={WED: mins(10)}, active_ends=(start + mins(20),))
    assert fastpath.idle(MINOR_V1, facts, running, start, decide(MINOR_V1, facts, running, start)) is None
    resting = Usage(days={WED: mins(10)}, streak_start=start - mins(10), last_active=start - mins(1))
    assert fastpath.idle(MINOR_V1, facts, resting, start, decide(MINOR_V1, facts, resting, start)) is None


def test_a_user_limit_may_only_tighten_the_band():
    v = Verification("verified", date(2014, 6, 1))
    assert looser_limit(MINOR, v, WED, at(WED, 9), 61) == (Band.AGE_8_15, 60)
    assert looser_limit(MINOR, v, WED, at(WED, 9), 60) is None
    assert looser_limit(MINOR, Verification("verified", ADULT_BORN), WED, at(WED, 9), 600) is None


def test_an_unverified_status_keeps_no_birth_date():
    kept = recorded(Verification("unverified", date(2014, 6, 1), method="id", provider="p"), at(WED, 9))
    assert (kept.birth_date, kept.method, kept.verified_at) == (None, "id", at(WED, 9))
    kept = recorded(Verification("verified", date(2014, 6, 1)), at(WED, 9))
    assert kept.birth_date == date(2014, 6, 1)


def test_eligible_names_every_condition_of_the_fast_path():
    """fastpath.eligible, the one rule: each condition alone turns it off."""
    start, now = at(WED, 7), at(WED, 7, 2)
    snap = fastpath.load(fastpath.take(decide(MINOR_V1, twelve(), running(start, start), start, continuing=True),
                                       start, 3), SH)
    ok = dict(facts_version=3, policy_version=1, booked_from=start + mins(1), streak_kept=True,
              session_ends_at=at(WED, 7, 30), now=now, purpose=None)
    assert fastpath.eligible(snap, **ok)
    valid_until = snap.decision.outlook.valid_until
    for change in [dict(facts_version=4), dict(policy_version=2), dict(booked_from=None),
                   dict(booked_from=start - timedelta(microseconds=1)), dict(streak_kept=False),
                   dict(now=valid_until), dict(session_ends_at=now), dict(purpose="homework")]:
        assert not fastpath.eligible(snap, **{**ok, **change}), change
    assert fastpath.eligible(snap, **{**ok, "now": valid_until - timedelta(microseconds=1), "session_ends_at": None})
    assert not fastpath.eligible(None, **ok)


def test_a_snapshot_never_holds_a_warning_of_an_end():
    """A decision warning of its end is past its valid_until: nothing is stored, so a stored
    decision's warnings never need a cause (only rest reminders travel in snapshots)."""
    near = decide(MINOR_V1, twelve(), running(at(WED, 21, 40), at(WED, 21, 56)), at(WED, 21, 56), continuing=True)
    assert [(w.type, w.cause) for w in near.warnings] == [("time_running_out", "allowed_hours")]
    assert fastpath.take(near, at(WED, 21, 56), 0) is None


def test_a_snapshot_stored_before_causes_loads_and_moves_on_alike():
    """Snapshots written before warnings had a `cause` and ends their kinds (fixed_kind
    "time_running_out", warnings without "cause") still load and give the same answer."""
    policy = policy_with({"daily_limit_minutes": 120, "allowed_hours": ["06:00-22:00"], "rest_reminder_minutes": 10,
                          "warn_before_minutes": 5})
    start, then = at(WED, 21), at(WED, 21, 15)
    d0 = decide(policy, twelve(), running(start, then), then, continuing=True)
    text = fastpath.take(d0, then, 0)
    assert '"fixed_kind": "allowed_hours"' in text and '"cause": null' in text
    old = text.replace('"fixed_kind": "allowed_hours"', '"fixed_kind": "time_running_out"')
    old = old.replace(', "cause": null', "")
    now = then + mins(1)
    common = dict(facts_version=0, policy_version=policy.version, booked_from=then, streak_kept=True,
                  session_ends_at=None, used_today=mins(16), now=now)
    new_answer = fastpath.advance(fastpath.load(text, SH), **common)
    assert new_answer == decide(policy, twelve(), running(start, now), now, continuing=True)
    assert new_answer == fastpath.advance(fastpath.load(old, SH), **common)
    assert new_answer.warnings == (Warning("rest_reminder", None, 1),)
