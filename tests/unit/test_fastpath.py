"""Deciding at events: `Outlook.valid_until` by table, `fastpath.advance` against `decide()`, and
the two small rules that moved into the domain (per-user limits only tighten; what a verification
keeps)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governor.domain import fastpath
from governor.domain.engine import Usage, UserFacts, Verification, decide, looser_limit, recorded
from governor.domain.policy import Band
from tests.unit.test_engine import BORN, MINOR, SH, WED, at, mins, user, verified

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
