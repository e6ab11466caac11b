"""Complaints from filing to resolution, and the regulator's daily report."""
from __future__ import annotations

from tests.conftest import shanghai


def test_a_complaint_from_filing_to_resolution(client, token, svc):
    fe, adm = token("sessions", sub="chat-web"), token("admin", sub="ops-lead")
    r = client.post("/v1/complaints", json={"user_id": "kid-1", "category": "limit_dispute",
                                             "text": "I was cut off early"}, headers=fe)
    assert r.status_code == 201 and r.json["status"] == "open"
    cid = r.json["id"]
    assert client.get(f"/v1/complaints/{cid}", headers=fe).json["status"] == "open"
    r = client.patch(f"/v1/admin/complaints/{cid}", json={"assignee": "agent-7"}, headers=adm)
    assert r.status_code == 200 and r.json["status"] == "assigned" and r.json["assignee"] == "agent-7"
    r = client.patch(f"/v1/admin/complaints/{cid}", json={"status": "resolved"}, headers=adm)
    assert r.status_code == 422  # closing needs a resolution note
    r = client.patch(f"/v1/admin/complaints/{cid}", json={"status": "resolved", "resolution": "limit was right"},
                     headers=adm)
    assert r.status_code == 200 and r.json["closed_at"] is not None
    r = client.patch(f"/v1/admin/complaints/{cid}", json={"status": "open"}, headers=adm)
    assert r.status_code == 409 and "complaint-closed" in r.json["type"]
    got = client.get(f"/v1/complaints/{cid}", headers=fe).json
    assert got["status"] == "resolved" and got["resolution"] == "limit was right"
    trail = client.get("/v1/audit/events?user_id=kid-1", headers=token("audit")).json["events"]
    assert [(e["action"], e["reason"]) for e in trail] == [
        ("complaint.filed", "open"), ("complaint.updated", "assigned"), ("complaint.updated", "resolved")]
    assert all("cut off" not in str(e["data"]) for e in trail)  # the text stays out of the log


def test_complaint_validation_and_paging(client, token):
    fe, adm = token("sessions"), token("admin")
    assert client.post("/v1/complaints", json={"user_id": "k", "category": "spam", "text": "x"},
                       headers=fe).status_code == 422
    assert client.post("/v1/complaints", json={"user_id": "k", "category": "other", "text": "x" * 2001},
                       headers=fe).status_code == 422
    assert client.get("/v1/complaints/c_nope", headers=fe).status_code == 404
    ids = [client.post("/v1/complaints", json={"user_id": f"k{i}", "category": "content", "text": "t"},
                       headers=fe).json["id"] for i in range(5)]
    client.patch(f"/v1/admin/complaints/{ids[0]}", json={"status": "rejected", "resolution": "n/a"}, headers=adm)
    seen, cursor = [], None
    while True:
        r = client.get("/v1/admin/complaints?status=open&limit=2" + (f"&cursor={cursor}" if cursor else ""),
                       headers=adm)
        seen += [c["id"] for c in r.json["complaints"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert seen == ids[1:]
    assert client.get("/v1/admin/complaints?status=weird", headers=adm).status_code == 422
    assert client.get("/v1/admin/complaints", headers=fe).status_code == 403


def test_daily_report_aggregates_without_user_ids(client, clock, token):
    fe, adm = token("sessions"), token("admin")
    client.put("/v1/users/kid-r/age-verification", headers=token("age"),
               json={"status": "verified", "birth_date": "2014-01-01"})
    sid = client.post("/v1/sessions", json={"user_id": "kid-r"}, headers=fe).json["session_id"]
    for minute in range(1, 31):
        clock.set(shanghai(2026, 12, 2, 7, minute))
        client.post(f"/v1/sessions/{sid}/heartbeat", headers=fe)
    client.post("/v1/sessions", json={"user_id": "kid-r"}, headers=fe)  # refused: cooldown
    client.post("/v1/sessions", json={"user_id": "anon-1"}, headers=fe)
    clock.set(shanghai(2026, 12, 2, 23, 0))
    client.post("/v1/sessions", json={"user_id": "anon-2"}, headers=fe)  # refused: curfew
    client.post("/v1/complaints", json={"user_id": "kid-r", "category": "other", "text": "t"}, headers=fe)
    r = client.get("/v1/admin/reports/daily?date=2026-12-02", headers=adm)
    assert r.status_code == 200
    rep = r.json
    assert rep["bands"]["age_8_15"] == {"users_active": 1, "sessions": 1, "minutes": 30.0,
                                        "refusals": {"cooldown": 1},
                                        "time_requests": {"requested": 0, "approved": 0, "denied": 0, "expired": 0},
                                        "guardian_grants": {"grants": 0, "minutes": 0},
                                        "users_by_basis": {"verification": 1}}  # section 8: what decided
    assert rep["bands"]["unverified"]["sessions"] == 1 and rep["bands"]["unverified"]["refusals"] == {"curfew": 1}
    assert rep["refusals"] == {"cooldown": 1, "curfew": 1}
    assert rep["complaints"] == {"opened": 1, "closed": 0}
    assert "kid-r" not in r.data.decode() and "anon" not in r.data.decode()
    assert client.get("/v1/admin/reports/daily?date=2026-12-01", headers=adm).json["refusals"] == {}
    assert client.get("/v1/admin/reports/daily?date=soon", headers=adm).status_code == 422
