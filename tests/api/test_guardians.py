"""Section 7 end to end through HTTP, on SQLite and PostgreSQL: links, controls, quiet hours
ending a running session, a looser control refused, grants within the cap, asking for more time
(approved for fewer minutes, denied, expired), purposes with uncounted minutes, erasure of both
sides, the report. Unless a test says otherwise the child is 12 (age_8_15: 60 minutes a day,
06:00-22:00, a 15-minute break after 30 minutes) and it is Wednesday 2026-12-02, 07:00 in Shanghai."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from governor import jobs
from governor.api import models as oa
from governor.store.tables import AuditEvent, GuardianLink, TimeRequest, UncountedDay
from tests.api.conftest import assert_problem
from tests.conftest import shanghai

KID = "kid-12"
BORN = "2014-06-01"


class Family:
    """The parent app (scope guardian), the verifier who links, an admin, and the child's frontend."""

    def __init__(self, api, client, token, clock):
        self.api, self.c, self.clock = api, client, clock
        self.app = token("guardian", sub="parent-app")
        self.adm = token("admin", sub="admin-1")

    def link(self, gid: str, uid: str = KID, born: str | None = BORN):
        if born:
            self.api.verify(uid, born)
        r = self.c.put(f"/v1/users/{uid}/guardians/{gid}", headers=self.api.age)
        assert r.status_code == 200, r.json
        return r.json

    def controls(self, gid: str, body: dict, uid: str = KID):
        """PATCH: the fields named change, the others stay."""
        return self.c.patch(f"/v1/guardians/{gid}/children/{uid}/controls", json=body, headers=self.app)

    def put_controls(self, gid: str, body: dict, uid: str = KID):
        """PUT: every field named."""
        return self.c.put(f"/v1/guardians/{gid}/children/{uid}/controls", json=body, headers=self.app)

    def grant(self, gid: str, minutes: int, uid: str = KID):
        return self.c.post(f"/v1/guardians/{gid}/children/{uid}/grants", json={"extra_minutes": minutes},
                           headers=self.app)

    def ask(self, minutes: int, uid: str = KID, note: str | None = None):
        body = {"minutes": minutes, **({"note": note} if note else {})}
        return self.c.post(f"/v1/users/{uid}/time-requests", json=body, headers=self.api.fe)

    def decide(self, gid: str, rid: str, status: str, minutes: int | None = None):
        body = {"status": status, **({"minutes": minutes} if minutes else {})}
        return self.c.patch(f"/v1/guardians/{gid}/time-requests/{rid}", json=body, headers=self.app)

    def summary(self, gid: str, uid: str = KID, week: str = ""):
        return self.c.get(f"/v1/guardians/{gid}/children/{uid}/summary" + (f"?week={week}" if week else ""),
                          headers=self.app)

    def run(self, sid: str, minutes: int):
        """Heartbeat once a minute; the last answer."""
        r = None
        for _ in range(minutes):
            self.clock.advance(minutes=1)
            r = self.api.beat(sid)
            assert r.status_code == 200, r.json
        return r.json

    def events(self, action: str | None = None) -> list[dict]:
        r = self.c.get("/v1/audit/events?format=ndjson" + (f"&action={action}" if action else ""),
                       headers=self.api.audit)
        return [json.loads(line) for line in r.data.decode().splitlines()]


@pytest.fixture
def fam(api, client, token, clock) -> Family:
    return Family(api, client, token, clock)


def count(svc, table, **where) -> int:
    with svc.db.read() as s:
        q = select(func.count()).select_from(table)
        for k, v in where.items():
            q = q.where(getattr(table, k) == v)
        return s.execute(q).scalar_one()


# -- links ------------------------------------------------------------------------------------

def test_link_is_idempotent_unlink_needs_a_link_and_events_name_the_link_not_the_guardian(fam, client, token):
    first = fam.link("parent-zq7")
    assert first == {"user_id": KID, "guardian_id": "parent-zq7", "linked_at": "2026-12-01T23:00:00+00:00"}
    fam.clock.advance(minutes=5)
    again = client.put(f"/v1/users/{KID}/guardians/parent-zq7", headers=fam.adm)
    assert again.status_code == 200 and again.json == first
    r = client.get(f"/v1/admin/users/{KID}/guardians", headers=fam.adm)
    assert r.json == {"guardians": [{"guardian_id": "parent-zq7", "linked_at": first["linked_at"]}]}
    assert client.delete(f"/v1/users/{KID}/guardians/parent-zq7", headers=fam.api.age).status_code == 200
    assert_problem(client.delete(f"/v1/users/{KID}/guardians/parent-zq7", headers=fam.api.age), 404, "not-linked")
    assert client.get(f"/v1/admin/users/{KID}/guardians", headers=fam.adm).json == {"guardians": []}
    for scope in ("sessions", "guardian", "audit"):
        assert_problem(client.put(f"/v1/users/{KID}/guardians/x", headers=token(scope)), 403)
    assert_problem(client.put(f"/v1/users/{KID}/guardians/bad%20id", headers=fam.adm), 422)
    linked, unlinked = fam.events("guardian.linked"), fam.events("guardian.unlinked")
    assert len(linked) == 1 and len(unlinked) == 1
    assert linked[0]["data"]["link_id"] == unlinked[0]["data"]["link_id"]
    assert linked[0]["data"]["link_id"].startswith("l_") and linked[0]["user_id"] == KID
    assert "parent-zq7" not in json.dumps(fam.events())


def test_an_unlinked_guardian_gets_exactly_the_404_of_an_unknown_child(fam, client):
    fam.link("mum")
    for method, path, body in (("get", "summary", None), ("get", "controls", None),
                               ("patch", "controls", {"daily_limit_minutes": 10}),
                               ("put", "controls", {"daily_limit_minutes": 10, "quiet_hours": None,
                                                    "rest_reminder_minutes": None}),
                               ("post", "grants", {"extra_minutes": 5})):
        answers = []
        for uid in (KID, "nobody-at-all"):
            r = getattr(client, method)(f"/v1/guardians/stranger/children/{uid}/{path}", json=body,
                                        headers=fam.app)
            answers.append(assert_problem(r, 404, "not-found"))
        assert answers[0] == {**answers[1], "detail": answers[1]["detail"].replace("nobody-at-all", KID)}
    assert client.get("/v1/guardians/stranger/children", headers=fam.app).json == {"children": []}


# -- the children and their age (section 8) --------------------------------------------------

CONSENT_BANDS = {"under_13": {"min_age": 0, "requires_parental_consent": True}, "age_13_15": {"min_age": 13},
                 "age_16_17": {}, "adult": {}, "unverified": {}}


def children_of(client, headers, gid: str) -> dict[str, dict]:
    r = client.get(f"/v1/guardians/{gid}/children", headers=headers)
    assert r.status_code == 200, r.json
    oa.ChildrenOut.model_validate(r.json)
    return {c["user_id"]: c for c in r.json["children"]}


def test_each_child_carries_the_age_a_status_shows(fam, client):
    fam.link("mum")
    fam.link("mum", uid="kid-new", born=None)
    kids = children_of(client, fam.app, "mum")
    assert kids[KID]["age"] == {"band": "age_8_15", "age_min": 12, "age_max": 12, "basis": ["verification"],
                                "parental_consent": None}
    assert kids[KID]["age"] == fam.api.status(KID)["age"]
    assert kids["kid-new"]["age"] == {"band": "unverified", "age_min": None, "age_max": None, "basis": [],
                                      "parental_consent": None}
    assert "signals" not in kids[KID]["age"] and "birth_date" not in json.dumps(kids)
    # a signal's range shows as the span that decided, with its source
    r = client.put("/v1/users/kid-new/age-signals/os_age_signal", headers=fam.api.age,
                   json={"age_min": 13, "age_max": 15, "method": "other", "assurance": "substantial"})
    assert r.status_code == 200, r.json
    assert children_of(client, fam.app, "mum")["kid-new"]["age"] == {
        "band": "age_8_15", "age_min": 13, "age_max": 15, "basis": ["os_age_signal"], "parental_consent": None}


def test_every_guardian_sees_the_consent_in_force_and_the_decision_it_gives(fam, client):
    r = client.put("/v1/admin/policy", headers=fam.adm,
                   json={**client.get("/v1/admin/policy", headers=fam.adm).json, "bands": CONSENT_BANDS})
    assert r.status_code == 200, r.json
    fam.link("mum", born="2016-01-10")  # 10: under_13, which needs a parent's consent
    fam.link("dad", born=None)
    for gid in ("mum", "dad"):
        kid = children_of(client, fam.app, gid)[KID]
        assert (kid["age"]["band"], kid["age"]["parental_consent"]) == ("under_13", None)
        assert (kid["decision"]["allowed"], kid["decision"]["reason"]) == (False, "consent_required")
    fam.clock.advance(seconds=1)
    consent = f"/v1/guardians/mum/children/{KID}/consent"
    assert client.put(consent, json={"granted": True}, headers=fam.app).status_code == 200
    for gid in ("mum", "dad"):
        kid = children_of(client, fam.app, gid)[KID]
        assert kid["age"] == {"band": "under_13", "age_min": 10, "age_max": 10, "basis": ["verification"],
                              "parental_consent": "granted"}
        assert (kid["decision"]["allowed"], kid["decision"]["reason"]) == (True, "ok")
    fam.clock.advance(seconds=1)
    assert client.put(f"/v1/guardians/dad/children/{KID}/consent", json={"granted": False},
                      headers=fam.app).json["parental_consent"] == "denied"
    kid = children_of(client, fam.app, "mum")[KID]  # the latest said: dad's refusal
    assert (kid["age"]["parental_consent"], kid["decision"]["reason"]) == ("denied", "consent_required")
    assert kid["age"] == fam.api.status(KID)["age"]
    fam.clock.advance(seconds=1)
    client.put(consent, json={"granted": False}, headers=fam.app)
    assert children_of(client, fam.app, "dad")[KID]["age"]["parental_consent"] == "revoked"


# -- controls ---------------------------------------------------------------------------------

def test_controls_only_tighten_and_reach_a_running_session_at_its_next_heartbeat(fam, client):
    fam.link("mum")
    r = client.get(f"/v1/guardians/mum/children/{KID}/controls", headers=fam.app)
    assert r.json == {"daily_limit_minutes": None, "quiet_hours": None, "rest_reminder_minutes": None}
    sid = fam.api.started(KID)
    r = fam.controls("mum", {"daily_limit_minutes": 20, "quiet_hours": ["21:00-07:00"]})
    assert r.status_code == 200
    assert r.json == {"daily_limit_minutes": 20, "quiet_hours": ["21:00-07:00"], "rest_reminder_minutes": None}
    d = fam.run(sid, 1)
    assert d["allowed"] and d["remaining_seconds"] == 19 * 60 and d["ends_at"] == "2026-12-02T07:20:00+08:00"
    body = assert_problem(fam.controls("mum", {"daily_limit_minutes": 90}), 422, "validation-error")
    assert body["band_daily_limit_minutes"] == 60 and "60" in body["detail"]
    assert_problem(fam.controls("mum", {"quiet_hours": ["25:00-26:00"]}), 422)
    assert_problem(fam.controls("mum", {"rest_reminder_minutes": 0}), 422)
    assert_problem(fam.controls("mum", {"daily_limit_minutes": 10, "bedtime": "20:00"}), 422)
    assert client.get(f"/v1/guardians/mum/children/{KID}/controls", headers=fam.app).json["daily_limit_minutes"] == 20
    changed = fam.events("controls.changed")
    assert len(changed) == 1 and changed[0]["data"]["daily_limit_minutes"] == 20
    assert changed[0]["data"]["link_id"].startswith("l_") and "mum" not in json.dumps(changed)
    assert fam.controls("mum", {"daily_limit_minutes": 20, "quiet_hours": ["21:00-07:00"]}).status_code == 200
    assert len(fam.events("controls.changed")) == 1  # the same controls again: no change, no event


def test_quiet_hours_end_a_running_session_with_their_end_as_retry_at(fam, client):
    fam.link("mum")
    fam.controls("mum", {"quiet_hours": ["07:20-08:00"]})
    fam.clock.set(shanghai(2026, 12, 2, 7, 16))  # a start now would be warned of the quiet hours
    assert fam.api.status(KID)["warnings"] == [{"type": "time_running_out", "seconds_left": 240,
                                                "cause": "quiet_hours"}]
    fam.clock.set(shanghai(2026, 12, 2, 7, 10))
    r = fam.api.start(KID)
    assert r.status_code == 201 and r.json["ends_at"] == "2026-12-02T07:20:00+08:00"
    d = fam.run(r.json["session_id"], 10)
    assert d["allowed"] is False and d["reason"] == "quiet_hours" and d["retry_at"] == "2026-12-02T08:00:00+08:00"
    assert_problem(fam.api.beat(r.json["session_id"]), 409, "session-ended")
    fam.clock.set(shanghai(2026, 12, 2, 7, 30))
    r = fam.api.start(KID)
    assert r.status_code == 403 and r.json["reason"] == "quiet_hours"
    fam.clock.set(shanghai(2026, 12, 2, 8, 0))
    assert fam.api.start(KID).status_code == 201


def test_quiet_hours_across_midnight_outrank_a_shorter_curfew(fam):
    fam.link("mum")
    fam.controls("mum", {"quiet_hours": ["21:00-07:00"]})
    fam.clock.set(shanghai(2026, 12, 2, 23, 0))
    d = fam.api.status(KID)
    assert d["reason"] == "quiet_hours" and d["retry_at"] == "2026-12-03T07:00:00+08:00"
    fam.clock.set(shanghai(2026, 12, 3, 6, 30))  # curfew is over, quiet hours are not
    d = fam.api.status(KID)
    assert d["reason"] == "quiet_hours" and d["retry_at"] == "2026-12-03T07:00:00+08:00"


def test_the_strictest_of_several_guardians_and_the_admin_applies(fam, client):
    fam.link("mum")
    fam.link("dad", born=None)
    fam.controls("mum", {"daily_limit_minutes": 50})
    fam.controls("dad", {"daily_limit_minutes": 30})
    client.put(f"/v1/admin/users/{KID}/settings", json={"daily_limit_minutes": 40}, headers=fam.adm)
    assert fam.api.status(KID)["remaining_seconds"] == 30 * 60
    client.delete(f"/v1/users/{KID}/guardians/dad", headers=fam.api.age)
    assert fam.api.status(KID)["remaining_seconds"] == 40 * 60
    children = client.get("/v1/guardians/mum/children", headers=fam.app).json["children"]
    assert [c["user_id"] for c in children] == [KID]
    assert children[0]["controls"]["daily_limit_minutes"] == 50 and children[0]["decision"]["remaining_seconds"] == 2400


def test_a_guardians_reminder_interval_adds_numbered_reminders(fam):
    fam.link("mum")
    fam.controls("mum", {"rest_reminder_minutes": 10})
    sid = fam.api.started(KID)
    d = fam.run(sid, 9)
    assert not [w for w in d["warnings"] if w["type"] == "rest_reminder"]
    d = fam.run(sid, 1)
    assert {"type": "rest_reminder", "seconds_left": None, "number": 1} in d["warnings"]
    d = fam.run(sid, 10)
    assert {"type": "rest_reminder", "seconds_left": None, "number": 2} in d["warnings"]


# -- grants -----------------------------------------------------------------------------------

def test_guardian_grants_stay_within_the_bands_cap_for_all_guardians_together(fam, client):
    fam.link("mum")
    fam.link("dad", born=None)
    r = fam.grant("mum", 50)
    assert r.status_code == 201
    assert r.json["grant"] == {"date": "2026-12-02", "extra_minutes": 50, "reason": None, "by": "guardian"}
    assert r.json["decision"]["remaining_seconds"] == 110 * 60
    body = assert_problem(fam.grant("dad", 20), 422, "validation-error")
    assert body["guardian_grant_max_minutes"] == 60 and body["granted_minutes"] == 50 and "60" in body["detail"]
    assert fam.grant("dad", 10).status_code == 201
    assert_problem(fam.grant("dad", 1), 422)
    added = fam.events("grant.added")
    assert [e["data"]["by"] for e in added] == ["guardian", "guardian"]
    assert all(e["data"]["link_id"].startswith("l_") for e in added)
    fam.link("mum", uid="grown-up", born="1990-01-01")
    body = assert_problem(fam.grant("mum", 5, uid="grown-up"), 422)
    assert body["guardian_grant_max_minutes"] is None


# -- asking for more time ---------------------------------------------------------------------

def test_asking_for_more_time_approved_for_fewer_minutes(fam, client):
    assert_problem(fam.ask(30), 409, "no-guardian")
    fam.link("mum")
    r = fam.ask(30, note="book club")
    assert r.status_code == 201
    req = r.json
    assert {k: req[k] for k in ("user_id", "minutes", "note", "status", "decided_minutes", "created_at")} == {
        "user_id": KID, "minutes": 30, "note": "book club", "status": "pending", "decided_minutes": None,
        "created_at": "2026-12-02T07:00:00+08:00"}  # the child's offset, as decisions are
    assert_problem(fam.ask(10), 409, "request-pending")
    assert_problem(fam.ask(241), 422)
    assert client.get(f"/v1/time-requests/{req['id']}", headers=fam.api.fe).json == req
    assert_problem(client.get("/v1/time-requests/tr_nope", headers=fam.api.fe), 404)
    listed = client.get("/v1/guardians/mum/time-requests?status=pending", headers=fam.app).json["time_requests"]
    assert [x["id"] for x in listed] == [req["id"]]
    assert client.get("/v1/guardians/mum/time-requests?status=approved", headers=fam.app).json == {
        "time_requests": []}
    assert_problem(client.get("/v1/guardians/mum/time-requests?status=maybe", headers=fam.app), 422)
    assert client.get("/v1/guardians/stranger/time-requests", headers=fam.app).json == {"time_requests": []}
    assert_problem(fam.decide("stranger", req["id"], "approved"), 404)
    before = fam.api.status(KID)["remaining_seconds"]
    assert_problem(fam.decide("mum", req["id"], "approved", 45), 422)
    r = fam.decide("mum", req["id"], "approved", 20)
    assert r.status_code == 200 and r.json["status"] == "approved" and r.json["decided_minutes"] == 20
    assert fam.api.status(KID)["remaining_seconds"] == before + 20 * 60
    assert_problem(fam.decide("mum", req["id"], "denied"), 409, "request-decided")
    assert client.get(f"/v1/time-requests/{req['id']}", headers=fam.api.fe).json["status"] == "approved"
    second = fam.ask(15).json
    assert fam.decide("mum", second["id"], "denied").json["status"] == "denied"
    assert fam.api.status(KID)["remaining_seconds"] == before + 20 * 60
    assert [e["action"] for e in fam.events() if e["action"].startswith(("time.", "grant."))] == [
        "time.requested", "grant.added", "time.decided", "time.requested", "time.decided"]
    decided = fam.events("time.decided")
    assert [e["data"]["status"] for e in decided] == ["approved", "denied"] and decided[0]["data"]["minutes"] == 20
    assert "book club" not in json.dumps(fam.events())  # the child's note stays out of the log


def test_an_approval_stays_within_the_cap(fam):
    fam.link("mum")
    fam.grant("mum", 50)
    req = fam.ask(30).json
    body = assert_problem(fam.decide("mum", req["id"], "approved"), 422)
    assert body["guardian_grant_max_minutes"] == 60
    assert fam.decide("mum", req["id"], "approved", 10).json["decided_minutes"] == 10


def test_a_pending_request_expires_at_the_end_of_the_childs_day(fam, client, svc):
    fam.link("mum")
    fam.link("mum", uid="kid-two")
    fam.clock.set(shanghai(2026, 12, 2, 21, 0))
    req = fam.ask(30).json
    other = fam.ask(10, uid="kid-two").json
    assert req["expires_at"] == "2026-12-03T00:00:00+08:00"  # the child's midnight
    fam.clock.set(shanghai(2026, 12, 3, 0, 0, 1))
    shown = client.get(f"/v1/time-requests/{req['id']}", headers=fam.api.fe).json
    assert shown["status"] == "expired" and shown["decided_at"] == "2026-12-03T00:00:00+08:00"
    assert_problem(fam.decide("mum", req["id"], "approved"), 409, "request-decided")
    assert fam.ask(5).status_code == 201  # a new day, a new request
    jobs.sweep(svc)  # writes the other child's expiry
    with svc.db.read() as s:
        assert s.execute(select(TimeRequest.status).where(TimeRequest.id == other["id"])).scalar_one() == "expired"
    expired = [e for e in fam.events("time.decided") if e["data"]["status"] == "expired"]
    assert sorted(e["user_id"] for e in expired) == ["kid-12", "kid-two"]
    assert all(e["client"] == "governor-sweeper" for e in expired)
    jobs.sweep(svc)
    assert len([e for e in fam.events("time.decided") if e["data"]["status"] == "expired"]) == 2


def test_a_requests_instants_are_in_each_childs_own_offset(fam, client):
    """Decisions and time requests speak the child's local time; a link (a record) stays in UTC."""
    fam.link("mum")
    fam.link("mum", uid="kid-ny")
    r = client.put("/v1/admin/users/kid-ny/settings", json={"timezone": "America/New_York"}, headers=fam.adm)
    assert r.status_code == 200, r.json
    ny = fam.ask(10, uid="kid-ny").json
    assert (ny["created_at"], ny["expires_at"]) == ("2026-12-01T18:00:00-05:00", "2026-12-02T00:00:00-05:00")
    sh = fam.ask(10).json
    listed = {v["user_id"]: v for v in client.get("/v1/guardians/mum/time-requests", headers=fam.app).json[
        "time_requests"]}
    assert listed["kid-ny"]["created_at"] == ny["created_at"] and listed[KID]["created_at"] == sh["created_at"]
    decided = fam.decide("mum", ny["id"], "denied").json
    assert decided["decided_at"] == "2026-12-01T18:00:00-05:00" and decided["status"] == "denied"
    assert client.get(f"/v1/time-requests/{sh['id']}", headers=fam.api.fe).json["expires_at"].endswith("+08:00")
    links = client.get("/v1/admin/users/kid-ny/guardians", headers=fam.adm).json["guardians"]
    assert links[0]["linked_at"].endswith("+00:00")


# -- purposes ---------------------------------------------------------------------------------

def activate_learning(client, adm, minutes: int = 30):
    doc = client.get("/v1/admin/policy", headers=adm).json
    doc["bands"]["age_8_15"]["uncounted_minutes"] = {"learning": minutes}
    r = client.put("/v1/admin/policy", json=doc, headers=adm)
    assert r.status_code == 200, r.json


def test_purposes_keep_learning_out_of_the_limits_but_overlap_counts(fam, client, svc):
    fam.api.verify(KID, BORN)
    body = assert_problem(client.post("/v1/sessions", json={"user_id": KID, "purpose": "learning"},
                                      headers=fam.api.fe), 422)
    assert "none" in body["detail"]
    activate_learning(client, fam.adm)
    body = assert_problem(client.post("/v1/sessions", json={"user_id": KID, "purpose": "gaming"},
                                      headers=fam.api.fe), 422)
    assert "learning" in body["detail"] and body["known_purposes"] == ["learning"]
    assert_problem(client.get(f"/v1/users/{KID}/status?purpose=gaming", headers=fam.api.fe), 422)
    r = client.post("/v1/sessions", json={"user_id": KID, "purpose": "learning"}, headers=fam.api.fe)
    assert r.status_code == 201 and r.json["remaining_seconds"] == 90 * 60
    learning = r.json["session_id"]
    fam.run(learning, 10)                                # 07:00-07:10 learning alone: uncounted
    ordinary = fam.api.started(KID)                      # 07:10-07:15 both: counts
    for _ in range(5):
        fam.clock.advance(minutes=1)
        assert fam.api.beat(learning).status_code == 200
        assert fam.api.beat(ordinary).status_code == 200
    fam.api.end(ordinary)
    fam.run(learning, 5)                                 # 07:15-07:20 learning alone again
    fam.api.end(learning)
    day = fam.api.usage(KID, "2026-12-02", "2026-12-02")[0]
    assert day == {"date": "2026-12-02", "seconds": 20 * 60, "uncounted_seconds": 15 * 60, "sessions": 2}
    d = fam.api.status(KID)
    assert d["used_today_seconds"] == 20 * 60 and d["remaining_seconds"] == 55 * 60
    d = client.get(f"/v1/users/{KID}/status?purpose=learning", headers=fam.api.fe).json
    assert d["remaining_seconds"] == 70 * 60


def test_homework_after_the_limit_up_to_its_own_cap(fam, client):
    fam.link("mum")
    activate_learning(client, fam.adm, 10)
    fam.controls("mum", {"daily_limit_minutes": 0})
    assert fam.api.start(KID).json["reason"] == "daily_limit_reached"
    r = client.post("/v1/sessions", json={"user_id": KID, "purpose": "learning"}, headers=fam.api.fe)
    assert r.status_code == 201 and r.json["ends_at"] == "2026-12-02T07:10:00+08:00"
    d = fam.run(r.json["session_id"], 10)
    assert d["allowed"] is False and d["reason"] == "daily_limit_reached"
    assert fam.api.usage(KID, "2026-12-02", "2026-12-02")[0]["uncounted_seconds"] == 600
    r = client.post("/v1/sessions", json={"user_id": KID, "purpose": "learning"}, headers=fam.api.fe)
    assert r.status_code == 403


# -- erasure and the report -------------------------------------------------------------------

def test_erasing_a_child_removes_their_links_controls_and_requests(fam, client, svc):
    fam.link("mum")
    fam.controls("mum", {"daily_limit_minutes": 30})
    fam.ask(10)
    activate_learning(client, fam.adm)
    r = client.post("/v1/sessions", json={"user_id": KID, "purpose": "learning"}, headers=fam.api.fe)
    fam.run(r.json["session_id"], 2)
    assert count(svc, GuardianLink) == 1 and count(svc, TimeRequest) == 1 and count(svc, UncountedDay) == 1
    assert client.delete(f"/v1/admin/users/{KID}", headers=fam.adm).status_code == 200
    assert count(svc, GuardianLink) == 0 and count(svc, TimeRequest) == 0 and count(svc, UncountedDay) == 0
    assert client.get("/v1/guardians/mum/children", headers=fam.app).json == {"children": []}
    assert_problem(fam.summary("mum"), 404)


def test_erasing_a_guardian_removes_every_link_and_control_of_theirs(fam, client, svc, db_url):
    gid = "guardian-to-erase-7f3k"
    fam.link(gid)
    fam.link(gid, uid="kid-two")
    fam.link("dad", born=None)
    fam.controls(gid, {"daily_limit_minutes": 10})
    assert fam.api.status(KID)["remaining_seconds"] == 600
    r = client.delete(f"/v1/admin/guardians/{gid}", headers=fam.adm)
    assert r.status_code == 200 and r.json == {"guardian_id": gid, "erased": True, "links_removed": 2}
    assert_problem(client.delete(f"/v1/admin/guardians/{gid}", headers=fam.adm), 404)
    assert fam.api.status(KID)["remaining_seconds"] == 3600
    assert client.get(f"/v1/guardians/{gid}/children", headers=fam.app).json == {"children": []}
    assert [g["guardian_id"] for g in client.get(f"/v1/admin/users/{KID}/guardians", headers=fam.adm)
            .json["guardians"]] == ["dad"]
    unlinked = fam.events("guardian.unlinked")
    assert len(unlinked) == 2 and all(e["data"]["erasure"] is True for e in unlinked)
    assert gid not in json.dumps(fam.events())
    assert_problem(client.delete("/v1/admin/guardians/x", headers=fam.app), 403)
    if db_url.startswith("sqlite"):
        svc.db.dispose()
        path = db_url.removeprefix("sqlite:///")
        for suffix in ("", "-wal"):
            try:
                raw = open(path + suffix, "rb").read()
            except FileNotFoundError:
                continue
            assert gid.encode() not in raw


def test_the_daily_report_counts_time_requests_and_guardian_grants_per_band_without_ids(fam, client):
    fam.link("mum")
    fam.grant("mum", 15)
    req = fam.ask(10).json
    fam.decide("mum", req["id"], "approved", 5)
    fam.ask(10)
    rep = client.get("/v1/admin/reports/daily?date=2026-12-02", headers=fam.adm).json
    band = rep["bands"]["age_8_15"]
    assert band["time_requests"] == {"requested": 2, "approved": 1, "denied": 0, "expired": 0}
    assert band["guardian_grants"] == {"grants": 2, "minutes": 20}
    text = json.dumps(rep)
    assert KID not in text and "mum" not in text and "l_" not in text and "tr_" not in text


def test_summary_week_argument(fam):
    fam.link("mum")
    assert fam.summary("mum").json["week"] == "2026-W49"
    assert fam.summary("mum", week="2026-W48").json["days"][0]["date"] == "2026-11-23"
    for bad in ("2026-48", "2026-W54", "W48", "2026-W00", "0001-W01", "9999-W52", "1899-W52", "2200-W02",
                "２０２６-W48", "2026-W4８"):
        body = assert_problem(fam.summary("mum", week=bad), 422, "validation-error")
        assert body["errors"] == [{"field": "week", "message": "not an ISO week"}]
    assert fam.summary("mum", week="1900-W01").json["days"][0]["date"] == "1900-01-01"
    assert fam.summary("mum", week="2199-W52").json["week"] == "2199-W52"


def test_put_controls_names_every_field_patch_changes_only_those_named(fam, client, svc):
    fam.link("mum")
    full = {"daily_limit_minutes": 40, "quiet_hours": ["20:00-21:00"], "rest_reminder_minutes": 20}
    assert fam.put_controls("mum", full).json == full
    for missing in full:
        body = assert_problem(fam.put_controls("mum", {k: v for k, v in full.items() if k != missing}), 422,
                              "validation-error")
        assert [e["field"] for e in body["errors"]] == [missing]
    assert fam.controls("mum", {"rest_reminder_minutes": 10}).json == {**full, "rest_reminder_minutes": 10}
    assert fam.controls("mum", {"quiet_hours": None}).json == {**full, "rest_reminder_minutes": 10,
                                                                "quiet_hours": None}
    assert fam.controls("mum", {}).json == {"daily_limit_minutes": 40, "quiet_hours": None,
                                            "rest_reminder_minutes": 10}
    assert_problem(fam.controls("mum", {"daily_limit_minutes": 90}), 422)  # a merge is checked as a whole
    cleared = {"daily_limit_minutes": None, "quiet_hours": None, "rest_reminder_minutes": None}
    assert fam.put_controls("mum", cleared).json == cleared
    assert client.get(f"/v1/guardians/mum/children/{KID}/controls", headers=fam.app).json == cleared
    changes = [e["data"] for e in fam.events("controls.changed")]
    assert len(changes) == 4  # the empty PATCH and the refused one recorded nothing
    assert changes[1]["rest_reminder_minutes"] == 10 and changes[1]["daily_limit_minutes"] == 40


def test_no_event_holds_a_guardian_id(svc, fam):
    fam.link("g-secret-1")
    fam.controls("g-secret-1", {"daily_limit_minutes": 30, "quiet_hours": ["20:00-21:00"]})
    fam.grant("g-secret-1", 5)
    fam.decide("g-secret-1", fam.ask(5).json["id"], "approved")
    with svc.db.read() as s:
        rows = s.execute(select(AuditEvent.client, AuditEvent.data)).all()
    assert rows and all("g-secret-1" not in c + d for c, d in rows)


def test_answers_match_their_documented_models(fam, client):
    oa.LinkOut.model_validate(fam.link("mum"))
    controls = {"quiet_hours": ["20:00-21:00"], "rest_reminder_minutes": 5}
    oa.ControlsOut.model_validate(fam.controls("mum", controls).json)
    oa.ControlsOut.model_validate(client.get(f"/v1/guardians/mum/children/{KID}/controls", headers=fam.app).json)
    oa.GuardianGrantAdded.model_validate(fam.grant("mum", 5).json)
    req = oa.TimeRequestOut.model_validate(fam.ask(5, note="x").json)
    oa.TimeRequestOut.model_validate(client.get(f"/v1/time-requests/{req.id}", headers=fam.api.fe).json)
    oa.TimeRequestsOut.model_validate(client.get("/v1/guardians/mum/time-requests", headers=fam.app).json)
    oa.TimeRequestOut.model_validate(fam.decide("mum", req.id, "denied").json)
    oa.ChildrenOut.model_validate(client.get("/v1/guardians/mum/children", headers=fam.app).json)
    oa.SummaryOut.model_validate(fam.summary("mum").json)
    oa.GuardiansOut.model_validate(client.get(f"/v1/admin/users/{KID}/guardians", headers=fam.adm).json)
    sid = fam.api.started(KID)
    d = fam.run(sid, 5)
    assert d["warnings"] == [{"type": "rest_reminder", "seconds_left": None, "number": 1}]
    oa.HeartbeatOut.model_validate(d)
    oa.UnlinkedOut.model_validate(client.delete(f"/v1/users/{KID}/guardians/mum", headers=fam.api.age).json)
    fam.link("mum", born=None)
    oa.GuardianErasedOut.model_validate(client.delete("/v1/admin/guardians/mum", headers=fam.adm).json)
