"""A first walk through the API: admission, heartbeats, the forced break."""
from tests.conftest import shanghai


def test_session_until_the_break(client, clock, token):
    fe, age = token("sessions"), token("age")
    r = client.put("/v1/users/kid/age-verification", json={"status": "verified", "birth_date": "2014-03-01"},
                   headers=age)
    assert r.status_code == 200 and r.json["band"] == "age_8_15"
    r = client.post("/v1/sessions", json={"user_id": "kid"}, headers=fe)
    assert r.status_code == 201, r.json
    sid = r.json["session_id"]
    assert r.json["ends_at"] == "2026-12-02T07:30:00+08:00"
    for minute in range(1, 30):
        clock.set(shanghai(2026, 12, 2, 7, minute))
        r = client.post(f"/v1/sessions/{sid}/heartbeat", headers=fe)
        assert r.status_code == 200 and r.json["allowed"], r.json
    assert r.json["used_today_seconds"] == 29 * 60
    clock.set(shanghai(2026, 12, 2, 7, 30, 10))
    r = client.post(f"/v1/sessions/{sid}/heartbeat", headers=fe)
    assert r.json["allowed"] is False and r.json["reason"] == "cooldown"
    assert r.json["used_today_seconds"] == 30 * 60
    assert r.json["retry_at"] == "2026-12-02T07:45:00+08:00"
