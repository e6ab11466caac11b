"""The continuous-use run through HTTP (DESIGN section 2: any gap of at least `break_minutes`
resets it), on SQLite and PostgreSQL: a heartbeat after a long silence decides with a new run,
and a tab that has not booked its time yet counts toward the run up to its grace.
cn-minor-mode: a 12-year-old may chat 60 minutes a day, 30 at a stretch, then rests 15."""
from tests.conftest import shanghai

KID = "kid-12"
ADULT = "adult-36"


def at(clock, h, m, s=0):
    clock.set(shanghai(2026, 12, 2, h, m, s))


def beat(api, clock, sid, h, m, s=0) -> dict:
    at(clock, h, m, s)
    r = api.beat(sid)
    assert r.status_code == 200, r.json
    return r.json


def start(api, clock, uid, h, m) -> dict:
    at(clock, h, m)
    r = api.start(uid)
    assert r.status_code == 201, r.json
    return r.json


def test_a_heartbeat_after_a_silence_of_grace_and_break_decides_with_a_new_run(api, clock):
    api.verify(KID, "2014-06-15")
    s = start(api, clock, KID, 9, 0)
    assert s["ends_at"] == "2026-12-02T09:30:00+08:00"
    d = beat(api, clock, s["session_id"], 9, 20)  # silent 20 minutes: 2 counted (the grace), then a break
    assert (d["allowed"], d["used_today_seconds"], d["remaining_seconds"]) == (True, 120, 3480)
    assert d["ends_at"] == "2026-12-02T09:50:00+08:00"
    assert api.status(KID)["ends_at"] == "2026-12-02T09:50:00+08:00"
    assert beat(api, clock, s["session_id"], 9, 21)["ends_at"] == "2026-12-02T09:50:00+08:00"


def test_the_threshold_is_grace_plus_break_exactly(api, clock):
    """120 s of grace and 900 s of break: a 1,019 s silence keeps the run, 1,020 s ends it."""
    api.verify(KID, "2014-06-15")
    a = start(api, clock, KID, 9, 0)["session_id"]
    assert beat(api, clock, a, 9, 16, 59)["ends_at"] == "2026-12-02T09:30:00+08:00"
    api.verify("kid-b", "2014-06-15")
    b = start(api, clock, "kid-b", 9, 0)["session_id"]
    assert beat(api, clock, b, 9, 17, 0)["ends_at"] == "2026-12-02T09:47:00+08:00"


def _link_with_reminder(client, token, uid: str, minutes: int) -> None:
    r = client.put(f"/v1/users/{uid}/guardians/g-1", headers=token("age", sub="verifier-1"))
    assert r.status_code == 200, r.json
    body = {"daily_limit_minutes": None, "quiet_hours": None, "rest_reminder_minutes": minutes}
    r = client.put(f"/v1/guardians/g-1/children/{uid}/controls", json=body, headers=token("guardian", sub="parents"))
    assert r.status_code == 200, r.json


def test_a_break_just_taken_does_not_end_the_session(api, clock, client, token):
    """A guardian's reminder every 20 minutes: the session falls silent at 10:21 before its end
    (10:30, the forced break) and comes back at 10:39, rested: it goes on, with a new run."""
    api.verify(KID, "2014-06-15")
    _link_with_reminder(client, token, KID, 20)
    sid = start(api, clock, KID, 10, 0)["session_id"]
    for minute in range(1, 22):
        d = beat(api, clock, sid, 10, minute)
    assert d["ends_at"] == "2026-12-02T10:30:00+08:00"
    assert {"type": "rest_reminder", "seconds_left": None, "number": 1} in d["warnings"]
    d = beat(api, clock, sid, 10, 39)
    assert (d["allowed"], d["reason"], d["retry_at"]) == (True, "ok", None)
    assert d["ends_at"] == "2026-12-02T11:09:00+08:00" and d["warnings"] == []
    assert d["used_today_seconds"] == 23 * 60


def test_an_adult_who_rested_gets_no_stale_reminder(api, clock, client, token):
    api.verify(ADULT, "1990-01-01")
    _link_with_reminder(client, token, ADULT, 20)
    sid = start(api, clock, ADULT, 10, 0)["session_id"]
    for minute in range(1, 22):
        d = beat(api, clock, sid, 10, minute)
    assert [w["type"] for w in d["warnings"]] == ["rest_reminder"]
    d = beat(api, clock, sid, 10, 39)  # 16 idle minutes after the grace: continuous use ended
    assert (d["allowed"], d["warnings"]) == (True, [])


def test_an_open_tab_counts_toward_the_run_up_to_its_grace(api, clock):
    """S1 beats 09:00-09:10, S2 opens at 09:13 and stays silent. At 09:29 S1's run has not been
    broken: S2 will be credited 09:13-09:15, a gap of 14 minutes. So S1 must end at 09:30, and
    S2's late heartbeat finds the run over its 30 minutes."""
    api.verify(KID, "2014-06-15")
    s1 = start(api, clock, KID, 9, 0)["session_id"]
    for minute in range(1, 11):
        beat(api, clock, s1, 9, minute)
    s2 = start(api, clock, KID, 9, 13)
    assert s2["ends_at"] == "2026-12-02T09:30:00+08:00"
    d = beat(api, clock, s1, 9, 29)
    assert (d["allowed"], d["ends_at"]) == (True, "2026-12-02T09:30:00+08:00")
    assert d["warnings"] == [{"type": "break_soon", "seconds_left": 60}]
    d = beat(api, clock, s2["session_id"], 9, 30)
    assert (d["allowed"], d["reason"]) == (False, "cooldown")
    d = beat(api, clock, s1, 9, 30)
    assert (d["allowed"], d["reason"]) == (False, "cooldown")
    assert d["retry_at"] == "2026-12-02T09:45:00+08:00"


def test_a_start_and_a_status_count_an_open_tab_too(api, clock):
    api.verify(KID, "2014-06-15")
    s1 = start(api, clock, KID, 9, 0)["session_id"]
    for minute in range(1, 11):
        beat(api, clock, s1, 9, minute)
    at(clock, 9, 11)
    assert api.end(s1).status_code == 200
    start(api, clock, KID, 9, 13)  # silent from here: credited 09:13-09:15
    at(clock, 9, 29)
    assert api.status(KID)["ends_at"] == "2026-12-02T09:30:00+08:00"
    assert start(api, clock, KID, 9, 29)["ends_at"] == "2026-12-02T09:30:00+08:00"
