"""Revocation: POST /v1/admin/revocations {"jti", "until"} refuses one token, audited as
`token.revoked`, on every instance within seconds, despite each instance's verified-token cache."""
from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest

from governor import create_app
from governor.api.models import TokenRevokedOut
from governor.clock import SystemClock
from tests.api.conftest import assert_problem
from tests.conftest import SECRET, settings_for

START = {"user_id": "kid-1"}


def minted(scope: str = "sessions", **over) -> tuple[dict[str, str], str | None]:
    now = int(time.time())
    claims = {"iss": "governor", "aud": "governor", "sub": "frontend-1", "scope": scope, "iat": now,
              "exp": now + 600, **over}
    claims = {k: v for k, v in claims.items() if v is not None}
    return {"Authorization": "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")}, claims.get("jti")


def revoke(client, token, jti: str, **extra):
    return client.post("/v1/admin/revocations", json={"jti": jti, **extra}, headers=token("admin", sub="admin-1"))


def test_a_revoked_token_is_refused_and_the_revocation_audited(client, token, clock):
    fe, jti = minted(jti="t-123")
    other, _ = minted(jti="t-456")
    no_jti, _ = minted()
    assert client.post("/v1/sessions", json=START, headers=fe).status_code == 201  # verified, now cached
    until = (clock.now() + timedelta(hours=1)).isoformat()
    r = revoke(client, token, jti, until=until)
    assert r.status_code == 201, r.json
    TokenRevokedOut.model_validate(r.json)  # as /openapi.json documents it
    assert r.json == {"jti": "t-123", "until": until,
                      "revoked_at": clock.now().isoformat(timespec="seconds")}
    body = assert_problem(client.post("/v1/sessions", json=START, headers=fe), 401, "unauthorized")
    assert body["detail"] == "the token is not valid"
    assert client.post("/v1/sessions", json=START, headers=other).status_code == 201
    assert client.post("/v1/sessions", json=START, headers=no_jti).status_code == 201  # jti is optional

    events = client.get("/v1/audit/events?action=token.revoked", headers=token("audit")).json["events"]
    assert len(events) == 1
    assert events[0]["chain"] == "system" and events[0]["client"] == "admin-1" and events[0]["user_id"] is None
    assert events[0]["data"] == {"jti": "t-123", "until": events[0]["data"]["until"]}
    assert client.get("/v1/audit/verify", headers=token("audit")).json["ok"] is True


def test_a_revocation_ends_and_the_token_is_accepted_again(client, token, clock):
    fe, jti = minted(jti="t-1")
    assert revoke(client, token, jti, until=(clock.now() + timedelta(minutes=5)).isoformat()).status_code == 201
    assert_problem(client.post("/v1/sessions", json=START, headers=fe), 401)
    clock.advance(minutes=5, seconds=1)
    assert client.post("/v1/sessions", json=START, headers=fe).status_code == 201


def test_until_defaults_to_and_is_capped_at_the_longest_a_token_can_live(client, token, clock, svc):
    longest = clock.now() + timedelta(seconds=svc.settings.jwt_max_ttl_seconds + 2 * svc.settings.jwt_leeway_seconds)
    assert revoke(client, token, "a").json["until"] == longest.isoformat(timespec="seconds")
    far = revoke(client, token, "b", until="2199-01-01T00:00:00+00:00")
    assert far.json["until"] == longest.isoformat(timespec="seconds")


@pytest.mark.parametrize("body, status", [
    ({}, 422),
    ({"jti": ""}, 422),
    ({"jti": 5}, 422),
    ({"jti": "a\u0000b"}, 422),
    ({"jti": "x" * 257}, 422),
    ({"jti": "a", "until": "2020-01-01T00:00:00+00:00"}, 422),
    ({"jti": "a", "until": "tomorrow"}, 422),
    ({"jti": "a", "until": "2030-01-01T00:00:00"}, 422),
    ({"jti": "a", "extra": 1}, 422),
])
def test_a_bad_revocation_is_a_422_and_records_nothing(client, token, body, status):
    r = client.post("/v1/admin/revocations", json=body, headers=token("admin"))
    assert_problem(r, status)
    assert client.get("/v1/audit/events?action=token.revoked", headers=token("audit")).json["events"] == []


def test_only_admins_revoke(client, token):
    for scope in ("sessions", "age", "audit"):
        assert_problem(client.post("/v1/admin/revocations", json={"jti": "a"}, headers=token(scope)), 403)
    assert_problem(client.post("/v1/admin/revocations", json={"jti": "a"}), 401)


def test_an_admin_token_revoked_cannot_revoke_or_do_anything(client, token):
    admin, jti = minted("admin", jti="admin-token-1")
    assert client.post("/v1/admin/revocations", json={"jti": jti}, headers=admin).status_code == 201
    assert_problem(client.post("/v1/admin/revocations", json={"jti": "other"}, headers=admin), 401)


def test_every_instance_honours_a_revocation_within_seconds(db_url, clock):
    """Two app instances on one database, each with its own verified-token cache."""
    a = create_app(settings_for(db_url), clock=clock)
    b = create_app(settings_for(db_url), clock=clock)
    try:
        ca, cb = a.test_client(), b.test_client()
        fe, jti = minted(jti="stolen-token")
        admin, _ = minted("admin")
        assert cb.post("/v1/sessions", json=START, headers=fe).status_code == 201  # b has verified it
        assert ca.post("/v1/admin/revocations", json={"jti": jti}, headers=admin).status_code == 201
        assert_problem(ca.post("/v1/sessions", json=START, headers=fe), 401)  # at once where it was revoked
        clock.advance(seconds=2)
        assert_problem(cb.post("/v1/sessions", json=START, headers=fe), 401)  # within 2 s everywhere
    finally:
        a.extensions["governor"].db.dispose()
        b.extensions["governor"].db.dispose()


def test_the_revoked_set_is_read_at_most_every_two_seconds(app, client, token, clock, monkeypatch):
    """Checked on every request, read from the database once per two seconds per process."""
    from governor.security import revocations
    reads = []
    real = revocations.active
    monkeypatch.setattr(revocations, "active", lambda svc, now: (reads.append(now), real(svc, now))[1])
    fe = token("sessions")
    for _ in range(40):
        client.get("/v1/users/u1/status", headers=fe)
        clock.advance(milliseconds=100)
    assert 1 <= len(reads) <= 3


def test_minted_tokens_carry_a_random_jti():
    from governor.security.tokens import Authenticator
    auth = Authenticator(SECRET, "governor", "governor", 0)
    one, two = (jwt.decode(auth.mint("a", ["sessions"], 60, SystemClock().now()), SECRET, algorithms=["HS256"],
                           audience="governor") for _ in range(2))
    assert one["jti"] and two["jti"] and one["jti"] != two["jti"]


def test_retention_forgets_revocations_that_have_ended(client, token, clock, svc):
    from sqlalchemy import func, select

    from governor import jobs
    from governor.store.tables import TokenRevocation

    revoke(client, token, "short", until=(clock.now() + timedelta(minutes=1)).isoformat())
    revoke(client, token, "long")

    def kept():
        with svc.db.read() as s:
            return s.execute(select(func.count()).select_from(TokenRevocation)).scalar_one()
    jobs.retention(svc)
    assert kept() == 2
    clock.advance(minutes=1)
    jobs.retention(svc)
    assert kept() == 1
