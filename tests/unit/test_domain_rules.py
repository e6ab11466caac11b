"""The rules the guardian round first wrote into services, now pure in the domain: the band
today, the guardian grant cap, a time request's expiry and "at most what was asked", the
complaint states and the uncounted allowance. Tables, then properties."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governor.domain import complaints, time_requests, uncounted
from governor.domain.bands import band_of, band_today, local_day
from governor.domain.decision import Verification
from governor.domain.grants import guardian_grant_refusal
from governor.domain.policy import Band
from tests.unit.test_engine import MINOR, WED, at, user

SH, NY, UTC = ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"), timezone.utc
MIN = timedelta(minutes=1)


# -- the band today ---------------------------------------------------------------------------

@pytest.mark.parametrize("timezone_, now, expected_day, expected_band", [
    # born 2010-12-03: 16 on 3 December, local time; 2 December 17:00 UTC is already the 3rd in Shanghai
    (None, datetime(2026, 12, 2, 17, 0, tzinfo=UTC), date(2026, 12, 3), Band.AGE_16_17),
    (None, datetime(2026, 12, 2, 15, 59, tzinfo=UTC), date(2026, 12, 2), Band.AGE_8_15),
    ("America/New_York", datetime(2026, 12, 3, 4, 59, tzinfo=UTC), date(2026, 12, 2), Band.AGE_8_15),
    ("America/New_York", datetime(2026, 12, 3, 5, 0, tzinfo=UTC), date(2026, 12, 3), Band.AGE_16_17),
])
def test_the_band_today_is_the_band_of_the_users_local_date(timezone_, now, expected_day, expected_band):
    facts = replace(user(verification=Verification("verified", date(2010, 12, 3))), timezone=timezone_)
    assert local_day(MINOR, timezone_, now) == expected_day
    assert band_today(MINOR, facts, now) is expected_band


def test_the_band_today_of_an_unverified_or_expired_user():
    now = at(WED, 12)
    assert band_today(MINOR, user(Band.UNVERIFIED), now) is Band.UNVERIFIED
    lapsed = Verification("verified", date(2014, 1, 1), expires_at=now - MIN)
    assert band_today(MINOR, user(verification=lapsed), now) is Band.UNVERIFIED


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2199, 1, 1), timezones=st.just(UTC)),
       st.dates(min_value=date(1950, 1, 1), max_value=date(2199, 1, 1)),
       st.sampled_from([None, "America/New_York", "Pacific/Kiritimati", "Asia/Shanghai"]))
def test_band_today_is_band_of_on_the_local_date(now, born, zone):
    facts = replace(user(verification=Verification("verified", born)), timezone=zone)
    assert band_today(MINOR, facts, now) is band_of(MINOR, facts, now.astimezone(MINOR.zone(zone)).date(), now)


# -- the guardian grant cap -------------------------------------------------------------------

@pytest.mark.parametrize("cap, granted, asked, refused", [
    (30, 0, 30, False), (30, 0, 31, True), (30, 20, 10, False), (30, 20, 11, True), (30, 30, 1, True),
    (0, 0, 1, True), (None, 0, 1, True),
])
def test_guardians_grant_at_most_the_bands_cap_a_day_together(cap, granted, asked, refused):
    out = guardian_grant_refusal(Band.AGE_8_15, cap, granted, asked, WED)
    assert (out is not None) is refused
    if refused:
        assert (out.cap, out.granted) == (cap, granted)
        assert ("grant no time" in out.why) is (cap is None)
        assert cap is None or f"at most {cap} minutes" in out.why and "2026-12-02" in out.why


@given(st.one_of(st.none(), st.integers(0, 300)), st.integers(0, 300), st.integers(1, 300))
def test_a_grant_passes_exactly_when_the_days_total_stays_within_the_cap(cap, granted, asked):
    allowed = guardian_grant_refusal(Band.AGE_8_15, cap, granted, asked, WED) is None
    assert allowed is (cap is not None and granted + asked <= cap)


# -- time requests ----------------------------------------------------------------------------

def request(**kw) -> time_requests.TimeRequest:
    made = at(WED, 20)
    return time_requests.TimeRequest(**{"id": "tr_1", "user_id": "u-1", "minutes": 15, "note": None,
                                        "status": "pending", "date": WED, "created_at": made.astimezone(UTC),
                                        "expires_at": time_requests.expires_at(WED, SH), **kw})


def test_a_request_expires_when_the_childs_local_day_ends():
    assert time_requests.expires_at(WED, SH) == at(WED + timedelta(days=1), 0)
    assert time_requests.expires_at(WED, NY) == datetime(2026, 12, 3, 5, 0, tzinfo=UTC)
    r = request()
    end = r.expires_at
    assert r.status_at(end - timedelta(microseconds=1)) == "pending"
    assert r.status_at(end) == "expired" and r.at(end + MIN).decided_at == end
    assert request(status="denied", decided_at=at(WED, 21)).status_at(end + MIN) == "denied"


def test_a_request_is_answered_in_the_childs_offset():
    shown = request().at(at(WED, 23), SH)
    assert shown.created_at.isoformat() == "2026-12-02T20:00:00+08:00"
    assert shown.expires_at.isoformat() == "2026-12-03T00:00:00+08:00" and shown.decided_at is None
    assert request().at(at(WED, 23)).created_at.utcoffset() == timedelta(0)  # no zone given: as stored
    late = request().at(at(WED + timedelta(days=2), 9), NY)
    assert (late.status, late.decided_at.isoformat()) == ("expired", "2026-12-02T11:00:00-05:00")


@pytest.mark.parametrize("asked, offered, granted", [(15, None, 15), (15, 15, 15), (15, 5, 5), (15, 1, 1)])
def test_an_approval_grants_what_was_asked_or_fewer(asked, offered, granted):
    assert time_requests.granted_minutes(asked, offered) == granted


@pytest.mark.parametrize("asked, offered", [(15, 16), (1, 240)])
def test_an_approval_never_grants_more_than_was_asked(asked, offered):
    with pytest.raises(time_requests.MoreThanAsked, match=f"{offered} is more than the {asked} asked"):
        time_requests.granted_minutes(asked, offered)


# -- complaints -------------------------------------------------------------------------------

T0, T1 = at(WED, 9), at(WED, 10)


def complaint(status: str = "open", **kw) -> complaints.Complaint:
    return complaints.Complaint(**{"id": "c_1", "user_id": "u-1", "category": "other", "text": "x",
                                   "status": status, "assignee": None, "resolution": None, "created_at": T0,
                                   "updated_at": T0, "closed_at": None, "cursor": 1, **kw})


@pytest.mark.parametrize("before, change, after", [
    (complaint(), dict(assignee="ann"), ("assigned", "ann", None, None)),  # naming an assignee assigns
    (complaint(), dict(assignee="ann", status="open"), ("open", "ann", None, None)),
    (complaint("assigned", assignee="ann"), dict(assignee="bob"), ("assigned", "bob", None, None)),
    (complaint(), dict(status="resolved", resolution="done"), ("resolved", None, "done", T1)),
    (complaint("assigned", resolution="noted"), dict(status="rejected"), ("rejected", None, "noted", T1)),
    (complaint(), dict(resolution="a note"), ("open", None, "a note", None)),
    (complaint("assigned"), dict(status="open"), ("open", None, None, None)),
])
def test_complaint_transitions(before, change, after):
    c = complaints.updated(before, change.get("status"), change.get("assignee"), change.get("resolution"), T1)
    assert (c.status, c.assignee, c.resolution, c.closed_at) == after
    assert c.updated_at == T1 and (c.id, c.created_at, c.cursor) == (before.id, before.created_at, before.cursor)


@pytest.mark.parametrize("status", complaints.FINAL)
def test_a_closed_complaint_never_changes(status):
    with pytest.raises(complaints.ComplaintClosed, match=status):
        complaints.updated(complaint(status, resolution="r", closed_at=T0), "open", None, None, T1)


@pytest.mark.parametrize("status", complaints.FINAL)
def test_closing_needs_a_resolution(status):
    with pytest.raises(complaints.ResolutionNeeded):
        complaints.updated(complaint(), status, "ann", None, T1)


@given(st.sampled_from(complaints.STATUSES), st.sampled_from([None, *complaints.STATUSES]),
       st.sampled_from([None, "ann"]), st.sampled_from([None, "note"]), st.sampled_from([None, "old"]))
def test_every_complaint_change_keeps_closed_at_with_the_final_states(status, to, assignee, resolution, old):
    before = complaint(status, resolution=old, closed_at=T0 if status in complaints.FINAL else None)
    try:
        c = complaints.updated(before, to, assignee, resolution, T1)
    except complaints.ComplaintClosed:
        assert status in complaints.FINAL
        return
    except complaints.ResolutionNeeded:
        assert to in complaints.FINAL and not (resolution or old)
        return
    assert status not in complaints.FINAL
    assert (c.closed_at is not None) is (c.status in complaints.FINAL)
    assert c.status in complaints.FINAL or c.closed_at is None
    assert c.status in complaints.STATUSES


# -- the uncounted allowance ------------------------------------------------------------------

def t(h: int, m: int = 0, day: date = WED) -> datetime:
    return at(day, h, m).astimezone(UTC)


def test_the_allowance_is_the_bands_minutes_for_the_purpose():
    rules = replace(MINOR.bands[Band.AGE_8_15], uncounted_minutes=(("learning", 30),))
    assert uncounted.allowance(rules, "learning") == 30 * MIN
    assert uncounted.allowance(rules, "games") == timedelta(0) == uncounted.allowance(rules, None)


def test_a_purposeful_session_books_up_to_the_days_room_across_midnight():
    piece = (t(23, 50), t(0, 20, WED + timedelta(days=1)))
    thu = WED + timedelta(days=1)
    assert uncounted.days_to_read(30 * MIN, (piece,), SH) == {WED, thu}
    assert uncounted.days_to_read(timedelta(0), (piece,), SH) == set()
    change = uncounted.account(30 * MIN, "learning", piece, (piece,), (), {WED: {"learning": 25 * MIN}}, SH)
    assert change.moves == ((WED, "learning", 5 * MIN), (thu, "learning", 20 * MIN))
    assert [(a, b) for a, b, _ in change.marks] == [(t(23, 50), t(23, 55)), (t(0, 0, thu), t(0, 20, thu))]
    full = uncounted.account(30 * MIN, "learning", piece, (piece,), (), {WED: {"learning": 30 * MIN},
                                                                         thu: {"learning": 30 * MIN}}, SH)
    assert not full.changed and full.marks == ()


def test_a_counted_session_takes_back_what_it_overlaps():
    marks = ((t(10), t(10, 30), "learning"),)
    change = uncounted.account(timedelta(0), None, (t(10, 10), t(10, 40)), ((t(10, 30), t(10, 40)),), marks, {}, SH)
    assert change.moves == ((WED, "learning", -20 * MIN),)
    assert change.marks == ((t(10), t(10, 10), "learning"),)
    apart = uncounted.account(timedelta(0), None, (t(11), t(11, 5)), ((t(11), t(11, 5)),), marks, {}, SH)
    assert not apart.changed and apart.marks == marks
