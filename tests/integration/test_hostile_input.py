"""Inputs found by review that once produced a 500: each is now a 4xx problem."""
import pytest


@pytest.mark.parametrize("scope,method,path,body", [
    ("audit", "get", "/v1/users/u1/usage?from=9999-12-31", None),
    ("audit", "get", "/v1/users/u1/usage?to=0001-01-01", None),
    ("admin", "get", "/v1/admin/reports/daily?date=9999-12-31", None),
    ("audit", "get", "/v1/audit/events?since=0001-01-01T00:00:00%2B05:00", None),
    ("audit", "get", "/v1/audit/events?until=9999-12-31T23:59:59-05:00&format=ndjson", None),
    ("audit", "get", "/v1/audit/events?limit=%C2%B2", None),
    ("audit", "get", "/v1/audit/events?cursor=ZToxMDAwMDAwMDAwMDAwMDAwMDAwMDAw", None),
    ("audit", "get", "/v1/audit/events?user_id=%00", None),
    ("audit", "get", "/v1/audit/events?action=a%00", None),
    ("sessions", "get", "/v1/complaints/%00x", None),
    ("admin", "patch", "/v1/admin/complaints/%00x", {"status": "assigned"}),
    ("admin", "put", "/v1/admin/users/u1/lock", {"until": "9999-12-31T23:00:00+00:00"}),
    ("admin", "put", "/v1/admin/users/u1/lock", {"until": "2100-01-01T00:00:00+00:00"}),
    ("admin", "post", "/v1/admin/users/u1/grants", {"extra_minutes": 5, "reason": "a\x00b"}),
    ("sessions", "post", "/v1/complaints", {"user_id": "u1", "category": "other", "text": "a\x00b"}),
    ("age", "put", "/v1/users/u1/age-verification",
     {"status": "verified", "birth_date": "2014-01-01", "expires_at": "9999-12-31T23:59:59-05:00"}),
])
def test_hostile_input_is_a_4xx_problem(client, token, scope, method, path, body):
    r = getattr(client, method)(path, json=body, headers=token(scope))
    assert 400 <= r.status_code < 500, (r.status_code, r.data[:300])
    assert r.mimetype == "application/problem+json"


def test_an_overlong_token_is_refused(client, token):
    from governor.clock import SystemClock
    from governor.security.tokens import Authenticator
    from tests.conftest import SECRET

    forever = Authenticator(SECRET, "governor", "governor", 0, max_ttl=10**9).mint(
        "web", ["sessions"], 100 * 365 * 86400, SystemClock().now())
    assert client.get("/v1/users/u1/status", headers={"Authorization": "Bearer " + forever}).status_code == 401
