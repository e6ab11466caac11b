"""The walk of a week (issue 10): a 12-year-old with two guardians under the default policy with
30 uncounted learning minutes a day. Dad sets quiet hours at dinner; on Wednesday the child asks
for more time and Mum approves part of it; on Thursday the child does homework after the daily
limit; a request on Friday night expires unanswered; on Sunday both guardians see it all."""
from __future__ import annotations

import pytest

from tests.api.test_guardians import KID, Family, activate_learning
from tests.conftest import shanghai

MON, WED, THU, FRI, SAT, SUN = 30, 2, 3, 4, 5, 6  # days of November/December 2026


@pytest.fixture
def fam(api, client, token, clock) -> Family:
    return Family(api, client, token, clock)


def day(d: int, h: int, m: int = 0):
    return shanghai(2026, 11 if d == 30 else 12, d, h, m)


def chat(fam: Family, start, minutes: int, purpose: str | None = None) -> dict:
    """A session from `start`, heartbeating each minute for `minutes`; the last answer."""
    fam.clock.set(start)
    r = fam.c.post("/v1/sessions", json={"user_id": KID, **({"purpose": purpose} if purpose else {})},
                   headers=fam.api.fe)
    assert r.status_code == 201, r.json
    last = fam.run(r.json["session_id"], minutes)
    if last["allowed"]:
        fam.api.end(r.json["session_id"])
    return last


def refused(fam: Family, at, reason: str) -> None:
    fam.clock.set(at)
    r = fam.api.start(KID)
    assert r.status_code == 403 and r.json["reason"] == reason, r.json


def test_a_week_with_two_guardians(fam, client, svc):
    from governor import jobs

    fam.clock.set(day(MON, 7))
    activate_learning(client, fam.adm, 30)
    fam.link("mum")
    fam.link("dad", born=None)
    assert fam.controls("dad", {"quiet_hours": ["19:00-20:00"]}).status_code == 200

    # Monday: half an hour after school, then nothing at dinner time
    assert chat(fam, day(MON, 17), 30)["reason"] == "cooldown"
    refused(fam, day(MON, 19, 30), "quiet_hours")

    # Wednesday: the hour is used up; the child asks for 15 minutes, Mum gives 10
    chat(fam, day(WED, 16), 30)
    assert chat(fam, day(WED, 16, 45), 30)["allowed"] is False
    refused(fam, day(WED, 17, 20), "daily_limit_reached")
    req = fam.ask(15, note="finish my story").json
    listed = client.get("/v1/guardians/mum/time-requests?status=pending", headers=fam.app).json["time_requests"]
    assert [x["id"] for x in listed] == [req["id"]]
    fam.clock.set(day(WED, 17, 25))
    assert fam.decide("mum", req["id"], "approved", 10).json["decided_minutes"] == 10
    assert fam.api.status(KID)["remaining_seconds"] == 600
    assert chat(fam, day(WED, 17, 31), 10)["reason"] == "daily_limit_reached"

    # Thursday: the hour, then homework help after the limit, within its 30 uncounted minutes
    chat(fam, day(THU, 16), 30)
    chat(fam, day(THU, 16, 45), 30)
    refused(fam, day(THU, 17, 20), "daily_limit_reached")
    fam.clock.set(day(THU, 17, 31))
    learning = client.get(f"/v1/users/{KID}/status?purpose=learning", headers=fam.api.fe).json
    assert learning["allowed"] and learning["remaining_seconds"] == 30 * 60
    assert chat(fam, day(THU, 17, 31), 20, purpose="learning")["allowed"]

    # Friday night: a request nobody answers expires at midnight
    fam.clock.set(day(FRI, 21))
    late = fam.ask(20).json
    fam.clock.set(day(SAT, 0, 5))
    jobs.sweep(svc)
    assert client.get(f"/v1/time-requests/{late['id']}", headers=fam.api.fe).json["status"] == "expired"

    # Sunday: both guardians see the week
    fam.clock.set(day(SUN, 12))
    summaries = [fam.summary(g).json for g in ("mum", "dad")]
    assert summaries[0] == summaries[1]
    s = summaries[0]
    assert s["week"] == "2026-W49" and s["band"] == "age_8_15"
    assert [(d["date"], d["seconds"], d["uncounted_seconds"], d["sessions"]) for d in s["days"]] == [
        ("2026-11-30", 1800, 0, 1), ("2026-12-01", 0, 0, 0), ("2026-12-02", 4200, 0, 3),
        ("2026-12-03", 4800, 1200, 3), ("2026-12-04", 0, 0, 0), ("2026-12-05", 0, 0, 0),
        ("2026-12-06", 0, 0, 0)]
    assert s["total_seconds"] == 10800 and s["daily_average_seconds"] == 10800 // 7
    assert s["refusals"] == {"daily_limit_reached": 2, "quiet_hours": 1}
    assert s["time_requests"] == {"approved": 1, "denied": 0, "expired": 1, "pending": 0}
    children = client.get("/v1/guardians/dad/children", headers=fam.app).json["children"]
    assert children[0]["controls"]["quiet_hours"] == ["19:00-20:00"]
    fam.clock.set(day(SUN, 19, 30))
    assert fam.api.status(KID)["reason"] == "quiet_hours"
