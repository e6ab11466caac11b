"""How far a token reaches (issue 18, item 4): a guardian token naming its guardian acts for that
guardian alone; a frontend sees only the time requests and complaints it made; signing out of the
console revokes its token; the console counts against the admin scope's rate limit; moving the
development clock does not un-revoke a token."""
from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

import jwt
import pytest

from governor import create_app
from governor.security import revocations
from tests.api.conftest import assert_problem
from tests.conftest import SECRET, settings_for

KID = "kid-12"


def bearer(scope: str, sub: str = "frontend-1", **claims) -> dict[str, str]:
    now = int(time.time())  # PyJWT checks exp/iat against the OS clock
    body = {"iss": "governor", "aud": "governor", "sub": sub, "scope": scope, "iat": now, "exp": now + 600, **claims}
    return {"Authorization": "Bearer " + jwt.encode(body, SECRET, algorithm="HS256")}


@pytest.fixture
def family(client):
    """KID, 12, linked to the guardians mum and dad."""
    age = bearer("age", sub="verifier")
    r = client.put(f"/v1/users/{KID}/age-verification", json={"status": "verified", "birth_date": "2014-03-01"},
                   headers=age)
    assert r.status_code == 200, r.json
    for gid in ("mum", "dad"):
        assert client.put(f"/v1/users/{KID}/guardians/{gid}", headers=age).status_code == 200
    return client


# -- a guardian token that names its guardian -------------------------------------------------

def test_a_guardian_token_naming_a_guardian_acts_for_that_guardian_alone(family):
    client, mums = family, bearer("guardian", sub="parent-app", guardian_id="mum")
    assert [c["user_id"] for c in client.get("/v1/guardians/mum/children", headers=mums).json["children"]] == [KID]
    assert client.get(f"/v1/guardians/mum/children/{KID}/controls", headers=mums).status_code == 200
    for method, path, body in (
        ("get", "/v1/guardians/dad/children", None),
        ("get", f"/v1/guardians/dad/children/{KID}/controls", None),
        ("get", f"/v1/guardians/dad/children/{KID}/summary", None),
        ("patch", f"/v1/guardians/dad/children/{KID}/controls", {"daily_limit_minutes": 5}),
        ("post", f"/v1/guardians/dad/children/{KID}/grants", {"extra_minutes": 30}),
        ("get", "/v1/guardians/dad/time-requests", None),
        ("patch", "/v1/guardians/dad/time-requests/tr_x", {"status": "approved"}),
        ("get", "/v1/guardians/stranger/children", None),
    ):
        assert_problem(getattr(client, method)(path, json=body, headers=mums), 404)
    dads = client.get(f"/v1/guardians/dad/children/{KID}/controls", headers=bearer("guardian", sub="parent-app"))
    assert dads.status_code == 200 and dads.json["daily_limit_minutes"] is None  # mum's token changed nothing
    status = client.get(f"/v1/users/{KID}/status", headers=bearer("sessions")).json
    assert status["remaining_seconds"] == 3600  # and granted nothing


def test_a_guardian_token_without_a_guardian_id_acts_for_every_guardian(family):
    app = bearer("guardian", sub="parent-app")
    for gid in ("mum", "dad"):
        children = family.get(f"/v1/guardians/{gid}/children", headers=app).json["children"]
        assert [c["user_id"] for c in children] == [KID]


def test_the_guardian_id_binds_only_the_guardian_scope(family):
    """A token with the admin scope too still links and unlinks (`age`/`admin` routes) for anyone."""
    both = bearer("guardian admin", sub="ops", guardian_id="mum")
    assert family.get("/v1/admin/users/kid-12/guardians", headers=both).status_code == 200
    assert_problem(family.get("/v1/guardians/dad/children", headers=both), 404)


@pytest.mark.parametrize("bad", [5, "", "x" * 129, "mum\u0000", ["mum"]])
def test_a_malformed_guardian_id_claim_is_a_bad_token(family, bad):
    assert_problem(family.get("/v1/guardians/mum/children", headers=bearer("guardian", guardian_id=bad)), 401)


# -- a frontend's own time requests and complaints ---------------------------------------------

def test_a_time_request_is_seen_only_by_the_frontend_that_made_it(family):
    r = family.post(f"/v1/users/{KID}/time-requests", json={"minutes": 15}, headers=bearer("sessions"))
    assert r.status_code == 201, r.json
    path = f"/v1/time-requests/{r.json['id']}"
    assert family.get(path, headers=bearer("sessions")).json == r.json
    body = assert_problem(family.get(path, headers=bearer("sessions", sub="frontend-2")), 404)
    assert body["detail"] == assert_problem(family.get("/v1/time-requests/tr_nope", headers=bearer("sessions")),
                                            404)["detail"].replace("tr_nope", r.json["id"])  # told nothing more
    listed = family.get("/v1/guardians/mum/time-requests", headers=bearer("guardian", sub="parent-app")).json
    assert [t["id"] for t in listed["time_requests"]] == [r.json["id"]]  # the guardian sees it, whoever asked


def test_a_complaint_is_seen_only_by_the_frontend_that_filed_it(family):
    r = family.post("/v1/complaints", json={"user_id": KID, "category": "limit_dispute", "text": "too short"},
                    headers=bearer("sessions"))
    assert r.status_code == 201, r.json
    path = f"/v1/complaints/{r.json['id']}"
    assert family.get(path, headers=bearer("sessions")).json["status"] == "open"
    assert_problem(family.get(path, headers=bearer("sessions", sub="frontend-2")), 404)
    listed = family.get("/v1/admin/complaints", headers=bearer("admin")).json["complaints"]
    assert [c["id"] for c in listed] == [r.json["id"]]  # the admins see it, whoever filed it


def test_a_session_answers_only_the_frontend_that_started_it(family, clock):
    """Another frontend's heartbeat or end is a 404, as for an unknown id, and changes nothing:
    on every way a heartbeat goes (the one-statement, the lock-free and the locked one)."""
    r = family.post("/v1/sessions", json={"user_id": KID}, headers=bearer("sessions"))
    assert r.status_code == 201, r.json
    sid, other = r.json["session_id"], bearer("sessions", sub="frontend-2")
    for minute in range(1, 4):
        clock.advance(seconds=60)
        assert_problem(family.post(f"/v1/sessions/{sid}/heartbeat", headers=other), 404)
        assert_problem(family.post(f"/v1/sessions/{sid}/heartbeat", json={}, headers=other), 404)
        assert_problem(family.post(f"/v1/sessions/{sid}/end", headers=other), 404)
        beat = family.post(f"/v1/sessions/{sid}/heartbeat", headers=bearer("sessions"))
        assert (beat.status_code, beat.json["used_today_seconds"]) == (200, minute * 60), beat.json
    ended = family.post(f"/v1/sessions/{sid}/end", headers=bearer("sessions"))
    assert (ended.status_code, ended.json["duration_seconds"]) == (200, 180), ended.json


# -- the console -------------------------------------------------------------------------------

def sign_in(client, token_text: str):
    page = client.get("/admin/login").get_data(as_text=True)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    return client.post("/admin/login", data={"nonce": nonce, "token": token_text})


def test_signing_out_of_the_console_revokes_its_token(client, token):
    text = token("admin", sub="console-alice")["Authorization"].removeprefix("Bearer ")
    assert sign_in(client, text).status_code == 302
    home = client.get("/admin/").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', home).group(1)
    assert client.post("/admin/logout", data={"csrf": csrf}).status_code == 302
    assert_problem(client.get("/v1/admin/policy", headers={"Authorization": "Bearer " + text}), 401)
    client.set_cookie("governor_admin", text, path="/admin")  # the cookie kept by a thief
    assert client.get("/admin/").status_code == 302  # to the sign-in page
    assert sign_in(client, text).status_code == 401
    events = client.get("/v1/audit/events?action=token.revoked", headers=token("audit")).json["events"]
    assert [e["client"] for e in events] == ["console-alice"]


def test_the_console_counts_against_the_admin_scopes_rate_limit(db_url, clock, token):
    app = create_app(settings_for(db_url, rate_limit_admin_per_minute=4), clock=clock)
    try:
        client, admin = app.test_client(), token("admin", sub="console-alice")
        assert client.get("/v1/admin/policy", headers=admin).status_code == 200  # 1
        assert sign_in(client, admin["Authorization"].removeprefix("Bearer ")).status_code == 302  # 2
        assert client.get("/admin/").status_code == 200  # 3
        assert client.get("/admin/").status_code == 200  # 4
        assert client.get("/admin/").status_code == 429
        assert_problem(client.get("/v1/admin/policy", headers=admin), 429, "too-many-requests")
    finally:
        app.extensions["governor"].db.dispose()


# -- revocations on the OS clock ------------------------------------------------------------------

@pytest.fixture
def dev_app(db_url, clock, tmp_path):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # development mode sets up JSON logs
    app = create_app(settings_for(db_url).replace(env="development", instance_dir=str(tmp_path / "instance")),
                     clock=clock)
    root.handlers[:], root.level = handlers, level
    yield app
    app.extensions["governor"].db.dispose()


def test_moving_the_development_clock_does_not_unrevoke_a_token(dev_app, clock, token):
    client, admin = dev_app.test_client(), token("admin", sub="integrator")
    stolen = bearer("sessions", jti="stolen-1")
    until = (clock.now() + timedelta(hours=1)).isoformat()
    assert client.post("/v1/admin/revocations", json={"jti": "stolen-1", "until": until},
                       headers=admin).status_code == 201
    assert_problem(client.get(f"/v1/users/{KID}/status", headers=stolen), 401)
    later = (clock.now() + timedelta(days=60)).isoformat()  # past the revocation's end, and any token's
    assert client.put("/v1/dev/clock", json={"now": later}, headers=admin).status_code == 200
    clock.advance(seconds=3)  # the revoked set is read again
    revocations.forget_expired(dev_app.extensions["governor"])  # retention, on the moved clock
    assert_problem(client.get(f"/v1/users/{KID}/status", headers=stolen), 401)
    assert client.get(f"/v1/users/{KID}/status", headers=bearer("sessions", jti="other")).status_code == 200
    clock.advance(hours=1)  # the OS clock passes the end: the revocation is over
    assert client.get(f"/v1/users/{KID}/status", headers=stolen).status_code == 200
