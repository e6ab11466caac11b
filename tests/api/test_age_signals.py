"""DESIGN section 8 through HTTP, on both databases: age signals, the user's age, bands from the
policy, parental consent from signals and guardians, audit without birth dates, erasure."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from governor.store.tables import AgeSignal, AuditEvent
from tests.api.conftest import assert_problem
from tests.conftest import shanghai

OS = "/v1/users/{}/age-signals/os_age_signal"
US_CONSENT_BANDS = {"under_13": {"min_age": 0, "requires_parental_consent": True, "rest_reminder_minutes": 180},
                    "age_13_15": {"min_age": 13}, "age_16_17": {}, "adult": {}, "unverified": {}}


def signal(lo, hi, method="other", assurance="substantial", **more) -> dict:
    return {"age_min": lo, "age_max": hi, "method": method, "assurance": assurance, **more}


def put(client, token, uid, body, source="os_age_signal", scope="age"):
    return client.put(f"/v1/users/{uid}/age-signals/{source}", json=body, headers=token(scope))


def policy(client, token, **doc):
    adm = token("admin")
    base = client.get("/v1/admin/policy", headers=adm).json
    r = client.put("/v1/admin/policy", json={**base, **doc}, headers=adm)
    assert r.status_code == 200, r.json
    return r.json


def test_an_os_signal_gives_the_band_and_the_status_shows_the_age(client, token, api):
    r = put(client, token, "kid-1", signal(13, 15))
    assert r.status_code == 200, r.json
    assert r.json["age"] == {"user_id": "kid-1", "band": "age_8_15", "age_min": 13, "age_max": 15,
                             "basis": ["os_age_signal"], "parental_consent": None}
    s = r.json["signal"]
    assert (s["source"], s["method"], s["assurance"], s["current"], s["client"]) == (
        "os_age_signal", "other", "substantial", True, "test-client")
    status = api.status("kid-1")
    assert status["band"] == "age_8_15" and status["age"]["band"] == "age_8_15"
    assert status["verification"] is None
    got = client.get("/v1/users/kid-1/age", headers=token("audit")).json
    assert [x["source"] for x in got["signals"]] == ["os_age_signal"]


def test_the_id_check_outranks_an_estimate_and_withdrawing_all_leaves_unverified(client, token, api):
    assert put(client, token, "u-2", signal(13, 17, "estimated", "low"), "estimation").json["age"]["band"] == \
        "age_8_15"
    api.verify("u-2", "2001-05-01", assurance="high")
    age = client.get("/v1/users/u-2/age", headers=token("admin")).json
    assert (age["band"], age["basis"]) == ("adult", ["verification"])
    assert {x["source"] for x in age["signals"]} == {"verification", "estimation"}
    r = client.delete("/v1/users/u-2/age-signals/verification", headers=token("age"))
    assert r.status_code == 200 and r.json["band"] == "age_8_15"
    r = client.delete("/v1/users/u-2/age-signals/estimation", headers=token("age"))
    assert r.status_code == 200 and (r.json["band"], r.json["signals"]) == ("unverified", [])
    assert_problem(client.delete("/v1/users/u-2/age-signals/estimation", headers=token("age")), 404)
    assert api.status("u-2")["band"] == "unverified"


def test_an_adult_self_declaration_is_unverified(client, token):
    r = put(client, token, "u-3", signal(18, None, "self_declared", "low"), "app")
    assert r.json["age"]["band"] == "unverified"


@pytest.mark.parametrize("body,field", [
    (signal(15, 13), "age_max"),
    (signal(-1, 13), "age_min"),
    (signal(12.5, 13), "age_min"),
    (signal(13, 15, method="guess"), "method"),
    (signal(13, 15, assurance="medium"), "assurance"),
    (signal(13, 15, parental_consent="maybe"), "parental_consent"),
    (signal(13, 15, observed_at="2099-01-01T00:00:00Z"), "observed_at"),
    (signal(13, 15, expires_at="2020-01-01T00:00:00Z"), "expires_at"),
    ({"age_min": 13, "method": "other", "assurance": "low"}, "age_max"),
    ({**signal(13, 15), "birth_date": "2013-01-01"}, "birth_date"),
])
def test_a_bad_signal_is_a_422_naming_the_field(client, token, body, field):
    problem = assert_problem(put(client, token, "u-4", body), 422, "validation-error")
    assert field in [e["field"] for e in problem["errors"]], problem


@pytest.mark.parametrize("source", ["Apple", "x" * 65, "a b", "verification"])
def test_a_bad_or_reserved_source_is_a_422(client, token, source):
    problem = assert_problem(put(client, token, "u-5", signal(13, 15), source.replace(" ", "%20")), 422)
    assert [e["field"] for e in problem["errors"]] == ["source"]


def test_scopes(client, token):
    assert_problem(put(client, token, "u-6", signal(13, 15), scope="sessions"), 403)
    assert_problem(client.delete(OS.format("u-6"), headers=token("sessions")), 403)
    assert_problem(client.get("/v1/users/u-6/age", headers=token("sessions")), 403)
    assert_problem(client.put("/v1/guardians/g/children/u-6/consent", json={"granted": True},
                              headers=token("sessions")), 403)
    assert put(client, token, "u-6", signal(13, 15), scope="admin").status_code == 200
    assert client.get("/v1/users/u-6/age", headers=token("age")).status_code == 200


def test_a_span_seen_earlier_moves_on_the_birthday_without_anyone_sending_it_again(client, token, api, clock):
    # 7 years old on 2025-12-03 (observed then): born 2017-12-04 .. 2018-12-03; 8 at the earliest on 2026-12-03
    put(client, token, "u-7", signal(7, 7, observed_at="2025-12-03T00:00:00+08:00",
                                     expires_at="2027-06-01T00:00:00Z"))
    assert api.status("u-7")["band"] == "under_8"
    clock.set(shanghai(2026, 12, 2, 23, 59, 59))
    assert api.status("u-7")["band"] == "under_8"  # 2026-12-02 23:59:59: may still be 7
    clock.advance(seconds=1)
    assert api.status("u-7")["band"] == "age_8_15"  # 2026-12-03: 8 at the youngest


def test_policy_defined_bands_and_consent_from_signal_and_guardian(client, token, api, clock):
    doc = policy(client, token, bands=US_CONSENT_BANDS)
    assert (doc["adult_age"], doc["adult_min_assurance"], doc["age_signal_valid_days"]) == (18, "substantial", 365)
    r = put(client, token, "kid-8", signal(0, 12, "guardian_declared", parental_consent="pending"))
    assert (r.json["age"]["band"], r.json["age"]["parental_consent"]) == ("under_13", "pending")
    refused = api.start("kid-8")
    assert refused.status_code == 403
    assert (refused.json["reason"], refused.json["retry_at"], refused.json["band"]) == (
        "consent_required", None, "under_13")
    client.put("/v1/users/kid-8/guardians/mum", headers=token("age"))
    clock.advance(seconds=1)
    r = client.put("/v1/guardians/mum/children/kid-8/consent", json={"granted": True}, headers=token("guardian"))
    assert r.status_code == 200 and r.json["parental_consent"] == "granted"
    sid = api.started("kid-8")
    clock.advance(seconds=60)
    assert api.beat(sid).json["allowed"] is True
    r = client.put("/v1/guardians/mum/children/kid-8/consent", json={"granted": False}, headers=token("guardian"))
    assert r.json["parental_consent"] == "revoked"
    clock.advance(seconds=60)
    beat = api.beat(sid)
    assert (beat.json["allowed"], beat.json["reason"]) == (False, "consent_required")  # ended at its next heartbeat
    assert api.beat(sid).status_code == 409
    # a later signal's consent is the latest said
    clock.advance(seconds=60)
    put(client, token, "kid-8", signal(0, 12, "guardian_declared", parental_consent="granted"))
    assert api.status("kid-8")["allowed"] is True
    # another guardian's view: not linked is not found
    assert_problem(client.put("/v1/guardians/dad/children/kid-8/consent", json={"granted": True},
                              headers=token("guardian")), 404)


def test_audit_names_provenance_never_a_birth_date_and_erasure_removes_signals(client, token, api, svc):
    put(client, token, "u-9", signal(13, 15, parental_consent="granted"))
    api.verify("u-9", "2012-04-05")
    client.delete(OS.format("u-9"), headers=token("age"))
    events = client.get("/v1/audit/events?user_id=u-9", headers=token("audit")).json["events"]
    actions = [e["action"] for e in events]
    assert actions == ["age.signal_set", "verification.changed", "age.signal_withdrawn"]
    first = events[0]["data"]
    assert (first["source"], first["method"], first["assurance"], first["age_min"], first["age_max"],
            first["parental_consent"], first["band"]) == ("os_age_signal", "other", "substantial", 13, 15,
                                                           "granted", "age_8_15")
    assert "2012-04-05" not in json.dumps(events)
    with svc.db.read() as s:
        assert s.execute(select(func.count()).select_from(AgeSignal)).scalar_one() == 0
    put(client, token, "u-9", signal(13, 15))
    assert client.delete("/v1/admin/users/u-9", headers=token("admin")).status_code == 200
    with svc.db.read() as s:
        assert s.execute(select(func.count()).select_from(AgeSignal)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(AuditEvent)
                         .where(AuditEvent.action == "age.signal_set")).scalar_one() == 2


def test_the_same_consent_again_records_nothing(client, token):
    client.put("/v1/users/u-10/guardians/mum", headers=token("age"))
    for _ in range(2):
        r = client.put("/v1/guardians/mum/children/u-10/consent", json={"granted": False}, headers=token("guardian"))
        assert r.status_code == 200 and r.json["parental_consent"] == "denied"
    events = client.get("/v1/audit/events?user_id=u-10&action=consent.changed", headers=token("audit")).json
    assert len(events["events"]) == 1 and "mum" not in json.dumps(events)


def test_the_daily_report_counts_users_by_what_decided_their_band_without_ids(client, token, api):
    put(client, token, "r-1", signal(13, 15))
    put(client, token, "r-2", signal(13, 17, "estimated", "low"), "estimation")
    put(client, token, "r-2", signal(13, 15), "os_age_signal")
    api.verify("r-3", "2012-01-01")
    for uid in ("r-1", "r-2", "r-3", "r-4"):
        api.started(uid)
    rep = client.get("/v1/admin/reports/daily?date=2026-12-02", headers=token("admin")).json
    assert rep["bands"]["age_8_15"]["users_by_basis"] == {"os_age_signal": 2, "verification": 1}
    assert rep["bands"]["unverified"]["users_by_basis"] == {"none": 1}
    assert not any(uid in json.dumps(rep) for uid in ("r-1", "r-2", "r-3", "r-4"))
