"""Bad requests: each is an RFC 9457 problem with the right status and `type`, no stack trace,
and nothing changes (no user row, no audit event, no session, no verification)."""
import pytest

from tests.api.conftest import assert_problem, users_and_events

UID = "kid"
LONG = "a" * 129
JSON = {"Content-Type": "application/json"}


def assert_untouched(api, svc, uid: str = UID):
    assert users_and_events(svc) == (0, 0)
    status = api.status(uid)
    assert (status["active_sessions"], status["verification"], status["used_today_seconds"]) == (0, None, 0)


# -- POST /v1/sessions ------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ['{"user_id": ', "user_id=kid", "", "{'user_id': 'kid'}", '{"user_id": "kid"}}'])
def test_malformed_json_is_a_400(api, client, svc, raw):
    r = client.post("/v1/sessions", data=raw, headers={**api.fe, **JSON})
    assert_problem(r, 400, "malformed-request")
    assert_untouched(api, svc)


@pytest.mark.parametrize("body", [
    {"user_id": 5}, {"user_id": None}, {"user_id": ["kid"]}, {"user_id": {"id": "kid"}}, {"user_id": True},
    {"user_id": "kid", "birth_date": "2014-06-15"},  # unknown field
    {"user_id": "kid", "allowed": True},
    {}, {"userid": "kid"}, [], ["kid"], "kid", 5,
    {"user_id": LONG}, {"user_id": ""}, {"user_id": "kid one"}, {"user_id": "kid/1"}, {"user_id": "kid\n"},
    {"user_id": "kïd"}, {"user_id": "kid%20"}, {"user_id": "kid\u0000"}, {"user_id": "١٢٣"},
])
def test_an_invalid_start_is_a_422(api, client, svc, body):
    r = client.post("/v1/sessions", json=body, headers=api.fe)
    problem = assert_problem(r, 422, "validation-error")
    assert problem["detail"]
    assert users_and_events(svc) == (0, 0)


def test_a_user_id_of_128_characters_is_fine(api):
    assert api.start("a" * 128).status_code == 201
    assert api.start("A.b_c:d@e-9").status_code == 201


def test_a_body_over_64_kib_is_a_413(api, client, svc):
    raw = '{"user_id": "' + "a" * (64 * 1024) + '"}'
    assert_problem(client.post("/v1/sessions", data=raw, headers={**api.fe, **JSON}), 413)
    raw = '{"status": "unverified", "method": "' + "m" * (64 * 1024) + '"}'
    assert_problem(client.put(f"/v1/users/{UID}/age-verification", data=raw, headers={**api.age, **JSON}), 413)
    assert_untouched(api, svc)


# -- user ids in the path ---------------------------------------------------------------------

@pytest.mark.parametrize("path_id", [LONG, "kid%20one", "kid%0A", "k%C3%AFd", "kid%00", "kid!", "%20"])
def test_an_ill_formed_user_id_in_the_path_is_a_422(api, client, svc, path_id):
    assert_problem(client.get(f"/v1/users/{path_id}/status", headers=api.fe), 422, "validation-error")
    r = client.put(f"/v1/users/{path_id}/age-verification", json={"status": "verified", "birth_date": "2014-06-15"},
                   headers=api.age)
    assert_problem(r, 422, "validation-error")
    assert_problem(client.get(f"/v1/users/{path_id}/usage", headers=api.audit), 422, "validation-error")
    assert users_and_events(svc) == (0, 0)


# -- PUT /v1/users/{id}/age-verification ------------------------------------------------------

@pytest.mark.parametrize("body", [
    {"status": "verified", "birth_date": "2016-02-30"},
    {"status": "verified", "birth_date": "2015-02-29"},
    {"status": "verified", "birth_date": "2026-12-03"},          # tomorrow in Shanghai
    {"status": "verified", "birth_date": "2030-01-01"},
    {"status": "self_declared", "birth_date": "2027-06-15"},
    {"status": "verified", "birth_date": "yesterday"},
    {"status": "verified", "birth_date": "15/06/2014"},
    {"status": "verified", "birth_date": "2014-6-15"},
    {"status": "verified", "birth_date": 20140615},
    {"status": "verified", "birth_date": "2014-06-15T10:00:00"},
    {"status": "verified", "birth_date": "1899-12-31"},
    {"status": "verified", "birth_date": "0001-01-01"},
    {"status": "verified", "birth_date": ""},
    {"status": "verified"},                                       # no birth date
    {"status": "verified", "birth_date": None},
    {"status": "self_declared"},
    {"status": "maybe", "birth_date": "2014-06-15"},
    {"status": "VERIFIED", "birth_date": "2014-06-15"},
    {"birth_date": "2014-06-15"},
    {"status": "verified", "birth_date": "2014-06-15", "assurance": "medium"},
    {"status": "verified", "birth_date": "2014-06-15", "assurance": 3},
    {"status": "verified", "birth_date": "2014-06-15", "expires_at": "2027-01-01T00:00:00"},   # naive
    {"status": "verified", "birth_date": "2014-06-15", "expires_at": "2027-01-01"},
    {"status": "verified", "birth_date": "2014-06-15", "expires_at": "next year"},
    {"status": "verified", "birth_date": "2014-06-15", "expires_at": 1798761600},
    {"status": "verified", "birth_date": "2014-06-15", "method": ""},
    {"status": "verified", "birth_date": "2014-06-15", "provider": "p" * 65},
    {"status": "verified", "birth_date": "2014-06-15", "method": "id\u0000card"},  # PostgreSQL refuses NUL
    {"status": "verified", "birth_date": "2014-06-15", "provider": "acme\n"},
    {"status": "verified", "birth_date": "2014-06-15", "name": "Alice"},  # unknown field
    {"status": "verified", "birth_date": "2014-06-15", "user_id": "someone-else"},
    [], "verified",
])
def test_an_invalid_verification_is_a_422(api, client, svc, body):
    r = client.put(f"/v1/users/{UID}/age-verification", json=body, headers=api.age)
    assert_problem(r, 422, "validation-error")
    assert_untouched(api, svc)


def test_a_malformed_verification_is_a_400(api, client, svc):
    r = client.put(f"/v1/users/{UID}/age-verification", data='{"status": "verified",',
                   headers={**api.age, **JSON})
    assert_problem(r, 400, "malformed-request")
    assert_untouched(api, svc)


def test_born_today_is_a_real_birth_date(api):
    assert api.verify(UID, "2026-12-02").json["band"] == "under_8"


# -- heartbeat and end ------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["heartbeat", "end"])
def test_heartbeat_and_end_take_no_fields(api, client, clock, action):
    sid = api.started(UID)
    clock.advance(seconds=60)
    for body in ({"used_seconds": 9999}, {"session_id": sid}, [1], "x", 0):
        r = client.post(f"/v1/sessions/{sid}/{action}", json=body, headers=api.fe)
        assert_problem(r, 422, "validation-error")
    assert_problem(client.post(f"/v1/sessions/{sid}/{action}", data="{", headers={**api.fe, **JSON}), 400,
                   "malformed-request")
    status = api.status(UID)
    assert (status["active_sessions"], status["used_today_seconds"]) == (1, 0)


@pytest.mark.parametrize("raw", ["", "{}", " { } ", "{\n}"])
def test_heartbeat_takes_an_empty_body_or_an_empty_object(api, client, clock, raw):
    sid = api.started(UID)
    clock.advance(seconds=60)
    r = client.post(f"/v1/sessions/{sid}/heartbeat", data=raw, headers={**api.fe, **JSON})
    assert r.status_code == 200 and r.json["used_today_seconds"] == 60


@pytest.mark.parametrize("sid", ["s_doesnotexist", "x" * 5000, "'; DROP TABLE sessions; --", "%00"])
@pytest.mark.parametrize("action", ["heartbeat", "end"])
def test_an_unknown_session_is_a_404(api, client, svc, sid, action):
    r = client.post(f"/v1/sessions/{sid}/{action}", headers=api.fe)
    assert_problem(r, 404, "session-not-found")
    assert users_and_events(svc) == (0, 0)


# -- routes and methods -----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/nothing", "/v1/sessions/s_x", "/v1/users/kid", "/v2/sessions", "/"])
def test_an_unknown_route_is_a_404_problem(api, client, path):
    assert_problem(client.get(path, headers=api.fe), 404, "not-found")


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("get", "/v1/sessions", "POST"),
    ("delete", "/v1/sessions", "POST"),
    ("get", "/v1/sessions/s_x/heartbeat", "POST"),
    ("put", "/v1/sessions/s_x/end", "POST"),
    ("post", "/v1/users/kid/status", "GET"),
    ("get", "/v1/users/kid/age-verification", "PUT"),
    ("post", "/v1/users/kid/usage", "GET"),
    ("post", "/healthz", "GET"),
])
def test_a_wrong_method_is_a_405_problem(api, client, svc, method, path, allow):
    r = getattr(client, method)(path, json={"user_id": UID}, headers=api.fe)
    assert_problem(r, 405, "method-not-allowed")
    assert allow in r.headers["Allow"]
    assert users_and_events(svc) == (0, 0)


def test_the_ops_endpoints_need_no_token(client):
    assert (client.get("/healthz").status_code, client.get("/healthz").json) == (200, {"status": "ok"})
    assert (client.get("/readyz").status_code, client.get("/readyz").json) == (200, {"status": "ready"})


# -- the usage query --------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["from=yesterday", "to=2026-13-01", "from=2026-12-05&to=2026-12-01",
                                   "from=2025-01-01&to=2026-12-31", "from=2026-12-01T00:00"])
def test_a_bad_usage_range_is_a_422(api, client, query):
    assert_problem(client.get(f"/v1/users/{UID}/usage?{query}", headers=api.audit), 422, "validation-error")


def test_usage_of_an_unknown_user_is_zeros_by_default_the_last_seven_days(api, client, svc):
    r = client.get(f"/v1/users/{UID}/usage", headers=api.audit)
    assert r.status_code == 200
    assert [d["date"] for d in r.json["days"]] == [f"2026-11-{d}" for d in range(26, 31)] + ["2026-12-01",
                                                                                           "2026-12-02"]
    assert {(d["seconds"], d["sessions"]) for d in r.json["days"]} == {(0, 0)}
    assert users_and_events(svc) == (0, 0)


def test_status_has_no_side_effect(api, svc):
    for _ in range(3):
        s = api.status("never-seen")
        assert (s["allowed"], s["band"], s["used_today_seconds"], s["remaining_seconds"]) == (True, "unverified", 0,
                                                                                            2400)
        assert (s["ends_at"], s["active_sessions"], s["verification"]) == ("2026-12-02T07:30:00+08:00", 0, None)
    assert users_and_events(svc) == (0, 0)
