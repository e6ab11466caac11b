"""A verified 12-year-old's whole school day under the default policy (age_8_15: 60 minutes a
day, 06:00-22:00, a 15-minute break after 30 minutes), checked to the second."""
from tests.conftest import shanghai

KID = "kid-12"
POLICY = {"name": "cn-minor-mode", "version": 1}


def beat_every_minute(api, clock, sid, day, start, stop):
    """Heartbeats at each whole minute of `day` (h, m) from `start` to `stop` inclusive."""
    r = None
    for minute in range(start[0] * 60 + start[1], stop[0] * 60 + stop[1] + 1):
        clock.set(shanghai(*day, minute // 60, minute % 60))
        r = api.beat(sid)
        assert r.status_code == 200 and r.json["allowed"], r.json
    return r.json


def test_a_twelve_year_olds_school_day(api, clock):
    clock.set(shanghai(2026, 12, 1, 20, 0))
    r = api.verify(KID, "2014-06-15")
    assert r.json["band"] == "age_8_15"

    # 05:59: still night. The refusal says exactly when to come back.
    clock.set(shanghai(2026, 12, 2, 5, 59))
    r = api.start(KID)
    assert r.status_code == 403
    assert r.json == {
        "user_id": KID, "allowed": False, "reason": "curfew", "band": "age_8_15",
        "used_today_seconds": 0, "remaining_seconds": 3600, "ends_at": None,
        "retry_at": "2026-12-02T06:00:00+08:00", "warnings": [], "policy": POLICY}
    assert "session_id" not in r.json
    clock.set(shanghai(2026, 12, 2, 5, 59, 59))
    assert api.start(KID).json["reason"] == "curfew"

    # 06:00: a quick look before breakfast, ten minutes.
    clock.set(shanghai(2026, 12, 2, 6, 0))
    r = api.start(KID)
    assert r.status_code == 201
    assert r.json["heartbeat_interval_seconds"] == 60
    assert r.json["ends_at"] == "2026-12-02T06:30:00+08:00"  # the forced break comes first
    assert (r.json["reason"], r.json["used_today_seconds"], r.json["remaining_seconds"]) == ("ok", 0, 3600)
    sid = r.json["session_id"]
    beat_every_minute(api, clock, sid, (2026, 12, 2), (6, 1), (6, 10))
    r = api.end(sid)
    assert r.status_code == 200
    assert (r.json["duration_seconds"], r.json["end_reason"]) == (600, "client")
    assert (r.json["used_today_seconds"], r.json["remaining_seconds"]) == (600, 3000)

    # 07:00: fifty minutes of rest reset continuous use; the break is due at 07:30, before the
    # daily limit (07:50).
    clock.set(shanghai(2026, 12, 2, 7, 0))
    r = api.start(KID)
    assert r.status_code == 201
    assert r.json["ends_at"] == "2026-12-02T07:30:00+08:00" and r.json["warnings"] == []
    sid = r.json["session_id"]
    d = beat_every_minute(api, clock, sid, (2026, 12, 2), (7, 1), (7, 24))
    assert d["warnings"] == [] and d["used_today_seconds"] == 600 + 24 * 60
    clock.set(shanghai(2026, 12, 2, 7, 25))
    d = api.beat(sid).json
    assert d["warnings"] == [{"type": "break_soon", "seconds_left": 300}]
    assert d["ends_at"] == "2026-12-02T07:30:00+08:00"
    beat_every_minute(api, clock, sid, (2026, 12, 2), (7, 26), (7, 29))
    clock.set(shanghai(2026, 12, 2, 7, 29, 30))
    assert api.beat(sid).json["warnings"] == [{"type": "break_soon", "seconds_left": 30}]

    # 07:30: the heartbeat at ends_at ends the session: the forced break.
    clock.set(shanghai(2026, 12, 2, 7, 30))
    r = api.beat(sid)
    assert r.status_code == 200
    assert r.json == {
        "user_id": KID, "allowed": False, "reason": "cooldown", "band": "age_8_15",
        "used_today_seconds": 2400, "remaining_seconds": 1200, "ends_at": None,
        "retry_at": "2026-12-02T07:45:00+08:00", "warnings": [], "policy": POLICY, "session_id": sid}
    clock.set(shanghai(2026, 12, 2, 7, 31))
    r = api.beat(sid)
    assert r.status_code == 409 and r.json["end_reason"] == "cooldown"

    # During the break no new session, another tab or not.
    for at in (shanghai(2026, 12, 2, 7, 31), shanghai(2026, 12, 2, 7, 44, 59)):
        clock.set(at)
        r = api.start(KID)
        assert r.status_code == 403
        assert (r.json["reason"], r.json["retry_at"]) == ("cooldown", "2026-12-02T07:45:00+08:00")
        assert (r.json["used_today_seconds"], r.json["remaining_seconds"]) == (2400, 1200)
    assert api.status(KID)["reason"] == "cooldown"

    # 07:45: the break is over; twenty minutes are left, so the session ends at 08:05 (the daily
    # limit, before the next break at 08:15).
    clock.set(shanghai(2026, 12, 2, 7, 45))
    r = api.start(KID)
    assert r.status_code == 201, r.json
    assert r.json["ends_at"] == "2026-12-02T08:05:00+08:00"
    assert (r.json["used_today_seconds"], r.json["remaining_seconds"], r.json["warnings"]) == (2400, 1200, [])
    sid = r.json["session_id"]
    d = beat_every_minute(api, clock, sid, (2026, 12, 2), (7, 46), (7, 59))
    assert (d["used_today_seconds"], d["remaining_seconds"], d["warnings"]) == (3240, 360, [])
    clock.set(shanghai(2026, 12, 2, 8, 0))
    d = api.beat(sid).json
    assert d["allowed"] is True
    assert (d["used_today_seconds"], d["remaining_seconds"]) == (3300, 300)
    assert d["warnings"] == [{"type": "time_running_out", "seconds_left": 300, "cause": "daily_limit"}]
    d = beat_every_minute(api, clock, sid, (2026, 12, 2), (8, 1), (8, 4))
    assert d["warnings"] == [{"type": "time_running_out", "seconds_left": 60, "cause": "daily_limit"}]
    assert (d["used_today_seconds"], d["remaining_seconds"]) == (3540, 60)

    # 08:05:30: the first heartbeat after ends_at ends it; use counts up to 08:05, not past it.
    clock.set(shanghai(2026, 12, 2, 8, 5, 30))
    r = api.beat(sid)
    limit_reached = {
        "user_id": KID, "allowed": False, "reason": "daily_limit_reached", "band": "age_8_15",
        "used_today_seconds": 3600, "remaining_seconds": 0, "ends_at": None,
        "retry_at": "2026-12-03T06:00:00+08:00",  # not midnight: 00:00-06:00 is curfew
        "warnings": [], "policy": POLICY}
    assert r.status_code == 200 and r.json == {**limit_reached, "session_id": sid}
    r = api.end(sid)
    assert r.status_code == 200
    assert (r.json["duration_seconds"], r.json["end_reason"]) == (1200, "daily_limit_reached")

    # The rest of the day: status and starts say the same, and nothing moves.
    clock.set(shanghai(2026, 12, 2, 16, 30))
    status = api.status(KID)
    assert status["active_sessions"] == 0
    assert status["verification"]["status"] == "verified"
    assert "birth_date" not in status["verification"]  # the frontend needs the status, not the birth date
    assert {k: status[k] for k in limit_reached} == limit_reached
    r = api.start(KID)
    assert r.status_code == 403 and r.json == limit_reached

    # The next morning: a fresh day.
    clock.set(shanghai(2026, 12, 3, 6, 0))
    status = api.status(KID)
    assert (status["allowed"], status["reason"]) == (True, "ok")
    assert (status["used_today_seconds"], status["remaining_seconds"]) == (0, 3600)
    assert (status["ends_at"], status["retry_at"]) == ("2026-12-03T06:30:00+08:00", None)
    assert api.start(KID).status_code == 201

    assert api.usage(KID, "2026-12-01", "2026-12-03") == [
        {"date": "2026-12-01", "seconds": 0, "uncounted_seconds": 0, "sessions": 0},
        {"date": "2026-12-02", "seconds": 3600, "uncounted_seconds": 0, "sessions": 3},
        {"date": "2026-12-03", "seconds": 0, "uncounted_seconds": 0, "sessions": 1},
    ]


def test_late_evening_ends_at_the_curfew(api, clock):
    """A session started at 21:50 ends at 22:00 with a time_running_out warning; afterwards the
    reason is curfew, retry at 06:00."""
    api.verify(KID, "2014-06-15")
    clock.set(shanghai(2026, 12, 2, 21, 50))
    r = api.start(KID)
    assert r.status_code == 201
    assert r.json["ends_at"] == "2026-12-02T22:00:00+08:00" and r.json["remaining_seconds"] == 3600
    sid = r.json["session_id"]
    d = beat_every_minute(api, clock, sid, (2026, 12, 2), (21, 51), (21, 54))
    assert d["warnings"] == []
    d = beat_every_minute(api, clock, sid, (2026, 12, 2), (21, 55), (21, 55))
    assert d["warnings"] == [{"type": "time_running_out", "seconds_left": 300, "cause": "allowed_hours"}]
    beat_every_minute(api, clock, sid, (2026, 12, 2), (21, 56), (21, 59))
    clock.set(shanghai(2026, 12, 2, 22, 0, 45))
    r = api.beat(sid)
    assert r.json["allowed"] is False and r.json["reason"] == "curfew"
    assert r.json["retry_at"] == "2026-12-03T06:00:00+08:00"
    assert (r.json["used_today_seconds"], r.json["remaining_seconds"]) == (600, 3000)
    assert api.end(sid).json["end_reason"] == "curfew"
