"""Admin decisions through HTTP, each with its audit event, taking effect on the next decision."""
from __future__ import annotations

import json

from sqlalchemy import select

from governor.store.tables import AuditEvent
from tests.conftest import shanghai

KID = "kid-12"


def verify_kid(client, token, uid=KID, birth="2014-03-01"):
    r = client.put(f"/v1/users/{uid}/age-verification", headers=token("age"),
                   json={"status": "verified", "birth_date": birth})
    assert r.status_code == 200, r.json


def use_up_the_day(client, clock, token, uid=KID):
    """Two 30-minute sessions with the break between: the 60 minutes of age_8_15 are gone."""
    fe = token("sessions")
    for start in (7, 8):
        clock.set(shanghai(2026, 12, 2, start, 0))
        sid = client.post("/v1/sessions", json={"user_id": uid}, headers=fe).json["session_id"]
        for minute in range(1, 31):
            clock.set(shanghai(2026, 12, 2, start, minute))
            r = client.post(f"/v1/sessions/{sid}/heartbeat", headers=fe)
    assert r.json["allowed"] is False
    return r.json


def events(svc, action=None):
    with svc.db.read() as s:
        q = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            q = q.where(AuditEvent.action == action)
        return list(s.execute(q).scalars())


def test_grant_lets_a_child_who_hit_the_limit_chat_again(client, clock, token, svc):
    verify_kid(client, token)
    use_up_the_day(client, clock, token)
    clock.set(shanghai(2026, 12, 2, 9, 0))
    fe, adm = token("sessions"), token("admin", sub="console")
    refused = client.post("/v1/sessions", json={"user_id": KID}, headers=fe)
    assert refused.status_code == 403 and refused.json["reason"] == "daily_limit_reached"
    r = client.post(f"/v1/admin/users/{KID}/grants", json={"extra_minutes": 30, "reason": "homework"}, headers=adm)
    assert r.status_code == 201, r.json
    assert r.json["date"] == "2026-12-02" and r.json["decision"]["remaining_seconds"] == 1800
    r = client.post("/v1/sessions", json={"user_id": KID}, headers=fe)
    assert r.status_code == 201 and r.json["remaining_seconds"] == 1800
    assert r.json["ends_at"] == "2026-12-02T09:30:00+08:00"
    (grant,) = events(svc, "grant.added")
    assert grant.client == "console" and json.loads(grant.data)["extra_minutes"] == 30
    assert KID not in grant.data


def test_lock_ends_a_running_session_at_its_next_heartbeat(client, clock, token, svc):
    verify_kid(client, token)
    fe, adm = token("sessions"), token("admin")
    sid = client.post("/v1/sessions", json={"user_id": KID}, headers=fe).json["session_id"]
    clock.advance(minutes=1)
    r = client.put(f"/v1/admin/users/{KID}/lock", json={"until": "2026-12-02T12:00:00+08:00", "reason": "guardian"},
                   headers=adm)
    assert r.status_code == 200 and r.json["locked"] is True and r.json["decision"]["reason"] == "locked"
    clock.advance(minutes=1)
    r = client.post(f"/v1/sessions/{sid}/heartbeat", headers=fe)
    assert r.json["allowed"] is False and r.json["reason"] == "locked"
    assert r.json["retry_at"] == "2026-12-02T12:00:00+08:00"
    r = client.delete(f"/v1/admin/users/{KID}/lock", headers=adm)
    assert r.status_code == 200 and r.json["locked"] is False and r.json["decision"]["allowed"] is True
    r = client.delete(f"/v1/admin/users/{KID}/lock", headers=adm)  # not locked: no change, no event
    assert r.status_code == 200
    assert [e.action for e in events(svc) if e.action.startswith("user.")] == ["user.locked", "user.unlocked"]


def test_indefinite_lock_has_no_retry_at(client, token):
    adm, fe = token("admin"), token("sessions")
    assert client.put(f"/v1/admin/users/{KID}/lock", headers=adm).status_code == 200
    r = client.post("/v1/sessions", json={"user_id": KID}, headers=fe)
    assert r.status_code == 403 and r.json["reason"] == "locked" and r.json["retry_at"] is None


def test_settings_only_tighten_the_band_limit(client, token, svc):
    verify_kid(client, token)
    adm = token("admin")
    r = client.put(f"/v1/admin/users/{KID}/settings", json={"daily_limit_minutes": 90}, headers=adm)
    assert r.status_code == 422 and "60" in r.json["detail"] and r.json["band_daily_limit_minutes"] == 60
    r = client.put(f"/v1/admin/users/{KID}/settings", json={"daily_limit_minutes": 20}, headers=adm)
    assert r.status_code == 200 and r.json["daily_limit_minutes"] == 20
    assert r.json["decision"]["remaining_seconds"] == 1200
    r = client.put(f"/v1/admin/users/{KID}/settings", json={"timezone": "Europe/London"}, headers=adm)
    assert r.status_code == 200 and r.json["timezone"] == "Europe/London" and r.json["daily_limit_minutes"] == 20
    r = client.put(f"/v1/admin/users/{KID}/settings", json={"timezone": "Mars/Olympus"}, headers=adm)
    assert r.status_code == 422
    assert len(events(svc, "settings.changed")) == 2


def test_policy_versions_and_decisions_name_their_version(client, clock, token):
    adm, fe = token("admin", sub="policy-owner"), token("sessions")
    doc = client.get("/v1/admin/policy", headers=adm).json
    assert doc["name"] == "cn-minor-mode" and doc["version"] == 1
    doc["bands"]["unverified"]["daily_limit_minutes"] = 10
    r = client.put("/v1/admin/policy", json=doc, headers=adm)
    assert r.status_code == 200 and r.json["version"] == 2
    r = client.get("/v1/users/anyone/status", headers=fe)
    assert r.json["policy"] == {"name": "cn-minor-mode", "version": 2} and r.json["remaining_seconds"] == 600
    bad = dict(doc, bands={**doc["bands"], "adult": {"daily_limit_minutes": "lots"}})
    r = client.put("/v1/admin/policy", json=bad, headers=adm)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "bands.adult.daily_limit_minutes"
    versions = client.get("/v1/admin/policy/versions", headers=adm).json["versions"]
    assert [(v["version"], v["activated_by"]) for v in versions] == [(1, "governor-config"), (2, "policy-owner")]


def test_admin_endpoints_need_the_admin_scope(client, token):
    for scope in ("sessions", "age", "audit"):
        r = client.post(f"/v1/admin/users/{KID}/grants", json={"extra_minutes": 5}, headers=token(scope))
        assert r.status_code == 403
    assert client.get("/v1/admin/policy").status_code == 401
