"""Time accounting (DESIGN section 3) through the HTTP API: union of tabs, the midnight split,
the heartbeat grace, a clock that steps back, the sweeper, idempotent ends, ends_at."""
import pytest

from governor.service.sessions import sweep
from tests.api.conftest import assert_problem
from tests.conftest import shanghai

KID = "kid-12"
ADULT = "adult-36"


def beat_at(api, clock, sid, *when):
    clock.set(shanghai(*when))
    r = api.beat(sid)
    assert r.status_code == 200, r.json
    return r.json


def test_two_tabs_count_as_their_union(api, clock):
    api.verify(KID, "2014-06-15")
    a = api.started(KID)                       # 07:00
    beat_at(api, clock, a, 2026, 12, 2, 7, 1)
    beat_at(api, clock, a, 2026, 12, 2, 7, 2)
    r = api.start(KID)                         # a second tab at 07:02
    assert r.status_code == 201 and r.json["used_today_seconds"] == 120
    b = r.json["session_id"]
    assert r.json["ends_at"] == "2026-12-02T07:30:00+08:00"  # continuous use began at 07:00
    for minute in range(3, 11):
        da = beat_at(api, clock, a, 2026, 12, 2, 7, minute)
        db = beat_at(api, clock, b, 2026, 12, 2, 7, minute)
        assert da["used_today_seconds"] == db["used_today_seconds"] == minute * 60
    assert api.status(KID)["active_sessions"] == 2
    ra, rb = api.end(a), api.end(b)
    assert (ra.json["duration_seconds"], rb.json["duration_seconds"]) == (600, 480)
    assert rb.json["used_today_seconds"] == 600 and rb.json["remaining_seconds"] == 3000
    assert api.usage(KID, "2026-12-02", "2026-12-02") == [
        {"date": "2026-12-02", "seconds": 600, "uncounted_seconds": 0, "sessions": 2}]


def test_tabs_that_take_turns_count_each_minute_once(api, clock):
    """Tab A is silent while tab B beats, and then beats late: the overlap is not counted twice."""
    a = api.started(KID)                       # unverified: 40 minutes a day
    b = api.started(KID)
    for minute in (1, 2):
        beat_at(api, clock, b, 2026, 12, 2, 7, minute)
    d = beat_at(api, clock, a, 2026, 12, 2, 7, 2)  # A's 120 s are the same 120 s
    assert (d["used_today_seconds"], d["remaining_seconds"]) == (120, 2280)
    assert api.end(b).json["used_today_seconds"] == 120


def test_a_session_across_local_midnight_is_split_between_the_days(api, clock):
    api.verify(ADULT, "1990-01-01")
    clock.set(shanghai(2026, 12, 2, 23, 50))
    r = api.start(ADULT)
    assert r.status_code == 201
    assert (r.json["band"], r.json["remaining_seconds"], r.json["ends_at"]) == ("adult", None, None)
    sid = r.json["session_id"]
    for minute in range(51, 60):
        beat_at(api, clock, sid, 2026, 12, 2, 23, minute)
    d = beat_at(api, clock, sid, 2026, 12, 3, 0, 1)
    assert (d["allowed"], d["used_today_seconds"]) == (True, 60)  # the new local day starts at 0
    for minute in range(2, 11):
        d = beat_at(api, clock, sid, 2026, 12, 3, 0, minute)
    assert d["used_today_seconds"] == 600
    r = api.end(sid)
    assert r.json["duration_seconds"] == 1200 and r.json["used_today_seconds"] == 600
    assert api.usage(ADULT, "2026-12-02", "2026-12-03") == [
        {"date": "2026-12-02", "seconds": 600, "uncounted_seconds": 0, "sessions": 1},
        {"date": "2026-12-03", "seconds": 600, "uncounted_seconds": 0, "sessions": 0},
    ]


def test_midnight_is_shanghai_midnight_not_utc(api, clock):
    """16:00 UTC is 00:00 in Shanghai: a session 07:50-08:10 UTC time stays on one local day."""
    api.verify(ADULT, "1990-01-01")
    clock.set(shanghai(2026, 12, 2, 7, 50))   # 23:50 UTC the day before
    sid = api.started(ADULT)
    for minute in range(51, 60):
        beat_at(api, clock, sid, 2026, 12, 2, 7, minute)
    for minute in range(0, 11):
        beat_at(api, clock, sid, 2026, 12, 2, 8, minute)
    api.end(sid)
    assert api.usage(ADULT, "2026-12-01", "2026-12-02") == [
        {"date": "2026-12-01", "seconds": 0, "uncounted_seconds": 0, "sessions": 0},
        {"date": "2026-12-02", "seconds": 1200, "uncounted_seconds": 0, "sessions": 1},
    ]


def test_a_gap_longer_than_the_grace_counts_only_the_grace(api, clock):
    sid = api.started(KID)
    assert beat_at(api, clock, sid, 2026, 12, 2, 7, 1)["used_today_seconds"] == 60
    d = beat_at(api, clock, sid, 2026, 12, 2, 7, 10)  # nine silent minutes: only 120 s count
    assert (d["allowed"], d["used_today_seconds"], d["remaining_seconds"]) == (True, 180, 2220)
    assert beat_at(api, clock, sid, 2026, 12, 2, 7, 11)["used_today_seconds"] == 240
    d = beat_at(api, clock, sid, 2026, 12, 2, 7, 13)  # exactly the grace: all of it counts
    assert d["used_today_seconds"] == 360
    assert api.end(sid).json["duration_seconds"] == 360


def test_a_clock_stepping_backwards_counts_nothing_and_moves_nothing_back(api, clock):
    sid = api.started(KID)
    for minute in range(1, 6):
        beat_at(api, clock, sid, 2026, 12, 2, 7, minute)
    d = beat_at(api, clock, sid, 2026, 12, 2, 6, 58)  # an NTP step: seven minutes back
    assert (d["allowed"], d["used_today_seconds"], d["remaining_seconds"]) == (True, 300, 2100)
    d = beat_at(api, clock, sid, 2026, 12, 2, 7, 3)   # still before the last heartbeat (07:05)
    assert d["used_today_seconds"] == 300
    assert api.status(KID)["used_today_seconds"] == 300
    d = beat_at(api, clock, sid, 2026, 12, 2, 7, 6)   # time counts again from 07:05, once
    assert d["used_today_seconds"] == 360
    clock.set(shanghai(2026, 12, 2, 7, 4))
    r = api.end(sid)                                  # an end in the past counts nothing either
    assert (r.json["duration_seconds"], r.json["used_today_seconds"]) == (360, 360)
    assert api.usage(KID, "2026-12-02", "2026-12-02") == [
        {"date": "2026-12-02", "seconds": 360, "uncounted_seconds": 0, "sessions": 1}]


def test_a_clock_stepping_backwards_does_not_move_ends_at(api, clock):
    sid = api.started(KID)
    assert api.beat(sid).json["ends_at"] == "2026-12-02T07:30:00+08:00"
    clock.set(shanghai(2026, 12, 2, 6, 58))
    assert api.beat(sid).json["ends_at"] == "2026-12-02T07:30:00+08:00"


def test_the_sweeper_closes_a_silent_session_counting_up_to_the_grace(api, clock, svc):
    sid = api.started(KID)
    beat_at(api, clock, sid, 2026, 12, 2, 7, 1)
    clock.set(shanghai(2026, 12, 2, 7, 3))
    assert sweep(svc) == 0                            # silent for exactly the grace: not yet
    clock.set(shanghai(2026, 12, 2, 7, 3, 1))
    assert sweep(svc) == 1
    assert sweep(svc) == 0                            # idempotent
    status = api.status(KID)
    assert (status["active_sessions"], status["used_today_seconds"]) == (0, 180)
    clock.set(shanghai(2026, 12, 2, 7, 20))
    body = assert_problem(api.beat(sid), 409, "session-ended")
    assert body["end_reason"] == "timeout"
    r = api.end(sid)
    assert r.status_code == 200
    assert (r.json["duration_seconds"], r.json["end_reason"], r.json["used_today_seconds"]) == (180, "timeout", 180)


def test_the_sweeper_leaves_live_sessions_alone(api, clock, svc):
    quiet, live = api.started(KID), api.started("kid-other")
    for minute in range(1, 5):
        beat_at(api, clock, live, 2026, 12, 2, 7, minute)
    clock.set(shanghai(2026, 12, 2, 7, 4, 30))
    assert sweep(svc) == 1
    assert api.status("kid-other")["active_sessions"] == 1
    assert api.status(KID)["active_sessions"] == 0
    assert beat_at(api, clock, live, 2026, 12, 2, 7, 5)["used_today_seconds"] == 300
    assert assert_problem(api.beat(quiet), 409, "session-ended")["end_reason"] == "timeout"


def test_end_is_idempotent(api, clock):
    sid = api.started(KID)
    beat_at(api, clock, sid, 2026, 12, 2, 7, 1)
    clock.set(shanghai(2026, 12, 2, 7, 2, 30))
    first = api.end(sid)
    assert first.status_code == 200
    assert (first.json["session_id"], first.json["duration_seconds"], first.json["end_reason"]) == (sid, 150, "client")
    assert (first.json["allowed"], first.json["used_today_seconds"], first.json["remaining_seconds"]) == \
        (True, 150, 2250)
    clock.set(shanghai(2026, 12, 2, 7, 10))
    again = api.end(sid)
    assert again.status_code == 200
    assert (again.json["duration_seconds"], again.json["end_reason"], again.json["used_today_seconds"]) == \
        (150, "client", 150)
    assert api.usage(KID, "2026-12-02", "2026-12-02") == [
        {"date": "2026-12-02", "seconds": 150, "uncounted_seconds": 0, "sessions": 1}]


def test_a_heartbeat_after_the_end_is_a_conflict_that_names_the_end_reason(api, clock):
    sid = api.started(KID)
    clock.advance(seconds=30)
    api.end(sid)
    clock.advance(seconds=30)
    body = assert_problem(api.beat(sid), 409, "session-ended")
    assert body["end_reason"] == "client"
    assert api.status(KID)["used_today_seconds"] == 30


@pytest.mark.parametrize(("second", "late"), [(0, False), (40, True)])
def test_a_heartbeat_at_or_after_ends_at_ends_the_session_counting_up_to_ends_at(api, clock, second, late):
    sid = api.started(KID)
    for minute in range(1, 30):
        beat_at(api, clock, sid, 2026, 12, 2, 7, minute)
    d = beat_at(api, clock, sid, 2026, 12, 2, 7, 30 + late, second)
    assert (d["allowed"], d["reason"], d["used_today_seconds"]) == (False, "cooldown", 1800)
    assert d["retry_at"] == "2026-12-02T07:45:00+08:00"  # the break runs from ends_at, not from now
    r = api.end(sid)
    assert (r.json["duration_seconds"], r.json["end_reason"]) == (1800, "cooldown")
    assert api.status(KID)["used_today_seconds"] == 1800


def test_a_heartbeat_silent_past_ends_at_counts_neither_past_ends_at_nor_past_the_grace(api, clock):
    sid = api.started(KID)
    for minute in range(1, 29):
        beat_at(api, clock, sid, 2026, 12, 2, 7, minute)
    # Last seen 07:28; the client slept through the break. The session still ends (at 07:30,
    # where the grace ends too), for the reason that held then; a new one may start at once.
    d = beat_at(api, clock, sid, 2026, 12, 2, 7, 45)
    assert (d["allowed"], d["reason"], d["used_today_seconds"]) == (False, "cooldown", 1800)
    assert (d["ends_at"], d["retry_at"], d["warnings"]) == (None, "2026-12-02T07:45:00+08:00", [])
    assert api.end(sid).json["end_reason"] == "cooldown"
    assert api.start(KID).status_code == 201


def test_a_session_that_slept_through_the_night_ends_at_the_curfew(api, clock):
    api.verify(KID, "2014-06-15")
    clock.set(shanghai(2026, 12, 2, 21, 59))
    sid = api.started(KID)
    d = beat_at(api, clock, sid, 2026, 12, 3, 6, 30)   # no sweeper ran overnight
    assert (d["allowed"], d["reason"], d["used_today_seconds"], d["remaining_seconds"]) == (False, "curfew", 0, 3600)
    assert d["retry_at"] == "2026-12-03T06:30:00+08:00"
    assert api.end(sid).json["duration_seconds"] == 60
    assert api.usage(KID, "2026-12-02", "2026-12-03") == [
        {"date": "2026-12-02", "seconds": 60, "uncounted_seconds": 0, "sessions": 1},
        {"date": "2026-12-03", "seconds": 0, "uncounted_seconds": 0, "sessions": 0},
    ]


def test_the_clients_end_counts_the_whole_gap_but_never_past_ends_at(api, clock):
    """An end is the frontend saying the chat was open until now (docs/decisions.md): a silent
    gap before it counts in full, unlike a late heartbeat's; never past the session's ends_at."""
    sid = api.started(KID)                      # 07:00, ends_at 07:30 (the forced break)
    clock.set(shanghai(2026, 12, 2, 7, 5))
    r = api.end(sid)
    assert (r.json["duration_seconds"], r.json["used_today_seconds"]) == (300, 300)
    clock.set(shanghai(2026, 12, 2, 8, 0))       # after the break
    sid = api.started(KID)
    clock.set(shanghai(2026, 12, 2, 9, 0))       # an hour of silence; ends_at was 08:30
    assert api.end(sid).json["duration_seconds"] == 1800
