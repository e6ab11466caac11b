"""GET /v1/admin/users/{id}, DELETE /v1/admin/users/{id}/grants/{grant_id}, and used + remaining
adding up to the allowance."""
from __future__ import annotations

import json

from sqlalchemy import select

from governor.api import models as oa
from governor.store.tables import AuditEvent
from tests.api.conftest import assert_problem
from tests.conftest import shanghai

UID = "kid-12"


def test_used_and_remaining_add_up_to_the_limit_to_the_second(api, clock):
    api.verify(UID, "2014-03-01")                       # age_8_15: 60 minutes
    sid = api.started(UID)
    for step in (0.5, 59.75, 61.001, 30.4):             # heartbeats off the whole second
        clock.advance(seconds=step)
        beat = api.beat(sid).json
        assert beat["used_today_seconds"] + beat["remaining_seconds"] == 3600, beat
    s = api.status(UID)
    assert s["used_today_seconds"] == 151 and s["remaining_seconds"] == 3449  # 151.651 s used


def test_the_user_in_one_answer(client, api, clock, token):
    adm = token("admin", sub="console-ops")
    api.verify(UID, "2014-03-01", expires_at="2030-01-01T00:00:00+08:00", method="id_document")
    client.put(f"/v1/admin/users/{UID}/settings", json={"daily_limit_minutes": 45}, headers=adm)
    client.post(f"/v1/admin/users/{UID}/grants", json={"extra_minutes": 10, "reason": "homework"}, headers=adm)
    sid = api.started(UID)
    clock.advance(minutes=1)
    api.beat(sid)
    r = client.get(f"/v1/admin/users/{UID}", headers=adm)
    assert r.status_code == 200, r.json
    oa.UserOut.model_validate(r.json)
    u = r.json
    assert u["band"] == "age_8_15"
    assert u["verification"]["status"] == "verified" and u["verification"]["birth_date"] == "2014-03-01"
    assert u["settings"] == {"timezone": None, "daily_limit_minutes": 45}
    assert u["lock"] == {"locked": False, "until": None, "reason": None}
    (grant,) = u["grants"]
    assert (grant["date"], grant["extra_minutes"], grant["reason"], grant["client"]) == \
        ("2026-12-02", 10, "homework", "console-ops")
    (running,) = u["active_sessions"]
    assert running["session_id"] == sid and running["duration_seconds"] == 60 and running["ended_at"] is None
    assert u["decision"]["remaining_seconds"] == 55 * 60 - 60
    client.put(f"/v1/admin/users/{UID}/lock", json={"reason": "guardian asked"}, headers=adm)
    assert client.get(f"/v1/admin/users/{UID}", headers=adm).json["lock"] == \
        {"locked": True, "until": None, "reason": "guardian asked"}


def test_an_unknown_user_is_a_404_and_the_endpoint_needs_admin(client, api, token):
    assert_problem(client.get("/v1/admin/users/never-seen", headers=token("admin")), 404, "not-found")
    assert_problem(client.get(f"/v1/admin/users/{UID}", headers=token("sessions")), 403, "insufficient-scope")
    assert_problem(client.get("/v1/admin/users/bad%20id", headers=token("admin")), 422, "validation-error")


def test_revoking_a_grant_takes_the_time_back_and_is_audited(client, api, clock, token, svc):
    adm = token("admin", sub="console-ops")
    api.verify(UID, "2014-03-01")
    added = client.post(f"/v1/admin/users/{UID}/grants", json={"extra_minutes": 20}, headers=adm)
    assert added.json["decision"]["remaining_seconds"] == 80 * 60
    gid = client.get(f"/v1/admin/users/{UID}", headers=adm).json["grants"][0]["id"]
    r = client.delete(f"/v1/admin/users/{UID}/grants/{gid}", headers=adm)
    assert r.status_code == 200, r.json
    oa.RevokedOut.model_validate(r.json)
    assert r.json["revoked"]["extra_minutes"] == 20 and r.json["decision"]["remaining_seconds"] == 60 * 60
    assert client.get(f"/v1/admin/users/{UID}", headers=adm).json["grants"] == []
    with svc.db.read() as s:
        (event,) = s.execute(select(AuditEvent).where(AuditEvent.action == "grant.revoked")).scalars()
    assert event.client == "console-ops"
    assert json.loads(event.data) == {"grant_id": gid, "date": "2026-12-02", "extra_minutes": 20}
    assert_problem(client.delete(f"/v1/admin/users/{UID}/grants/{gid}", headers=adm), 404, "not-found")
    assert_problem(client.delete(f"/v1/admin/users/other/grants/{gid}", headers=adm), 404, "not-found")
    assert_problem(client.delete(f"/v1/admin/users/{UID}/grants/x1", headers=adm), 404, "not-found")
    assert_problem(client.delete(f"/v1/admin/users/{UID}/grants/{'9' * 30}", headers=adm), 404, "not-found")


def test_another_users_grant_cannot_be_revoked_through_this_user(client, api, token):
    adm = token("admin")
    client.post("/v1/admin/users/a-kid/grants", json={"extra_minutes": 5}, headers=adm)
    api.verify(UID, "2014-03-01")
    gid = client.get("/v1/admin/users/a-kid", headers=adm).json["grants"][0]["id"]
    assert_problem(client.delete(f"/v1/admin/users/{UID}/grants/{gid}", headers=adm), 404, "not-found")
    assert len(client.get("/v1/admin/users/a-kid", headers=adm).json["grants"]) == 1


def test_grants_of_past_days_drop_out_after_fourteen_days(client, api, clock, token):
    adm = token("admin")
    client.post(f"/v1/admin/users/{UID}/grants", json={"extra_minutes": 5}, headers=adm)
    clock.set(shanghai(2026, 12, 15, 7, 0))
    assert len(client.get(f"/v1/admin/users/{UID}", headers=adm).json["grants"]) == 1
    clock.set(shanghai(2026, 12, 16, 7, 0))
    assert client.get(f"/v1/admin/users/{UID}", headers=adm).json["grants"] == []
