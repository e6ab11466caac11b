"""A real server (gunicorn, two workers, each with its own caches) takes a rotated JWKS and a
revocation within seconds, with no restart. Time is the real clock here: each check polls until
its deadline and says how long it took."""
from __future__ import annotations

import json
import os
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.api.idp import jwks_of
from tests.e2e.conftest import call, running_server, server_env

pytestmark = pytest.mark.slow
WITHIN = 4.0  # seconds: the file is looked at once a second, revocations read every two


def write_jwks(path, keys: dict) -> None:
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(json.dumps(jwks_of(keys)))
    os.replace(tmp, path)


def signed(kid: str, key, scope: str = "sessions", jti: str | None = None) -> str:
    now = int(time.time())
    claims = {"iss": "governor", "aud": "governor", "sub": "idp-web", "scope": scope, "iat": now, "exp": now + 600}
    if jti:
        claims["jti"] = jti
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def settles(url: str, token: str, want: int) -> float:
    """Seconds until ten answers in a row (spread over both workers) are `want`."""
    start = time.monotonic()
    streak = 0
    while time.monotonic() - start < WITHIN * 2:
        status, _ = call("GET", url + "/v1/users/u1/status", token)
        streak = streak + 1 if status == want else 0
        if streak == 10:
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"never settled on {want} within {WITHIN * 2}s")


@pytest.fixture
def idp_server(db_url, tmp_path):
    keys = {"k1": ("EdDSA", ed25519.Ed25519PrivateKey.generate()),
            "k2": ("EdDSA", ed25519.Ed25519PrivateKey.generate())}
    jwks = tmp_path / "jwks.json"
    write_jwks(jwks, {"k1": keys["k1"]})
    env = server_env(db_url, GOVERNOR_JWT_KEYS=str(jwks))
    env.pop("GOVERNOR_JWT_SECRET")  # production with an identity provider only
    with running_server(env, tmp_path) as s:
        yield s.url, jwks, keys


def test_a_rotated_key_file_and_a_revocation_reach_every_worker_within_seconds(idp_server):
    url, jwks, keys = idp_server
    k1 = signed("k1", keys["k1"][1])
    k2 = signed("k2", keys["k2"][1])
    settles(url, k1, 200)
    assert call("GET", url + "/v1/users/u1/status", k2)[0] == 401

    write_jwks(jwks, keys)  # k2 added
    assert settles(url, k2, 200) < WITHIN
    write_jwks(jwks, {"k2": keys["k2"]})  # k1 withdrawn: its token is cached in both workers
    assert settles(url, k1, 401) < WITHIN

    stolen = signed("k2", keys["k2"][1], jti="stolen-1")
    settles(url, stolen, 200)  # verified and cached by both workers
    admin = signed("k2", keys["k2"][1], scope="admin")
    status, body = call("POST", url + "/v1/admin/revocations", admin, {"jti": "stolen-1"})
    assert status == 201, body
    assert settles(url, stolen, 401) < WITHIN
    assert call("GET", url + "/v1/users/u1/status", k2)[0] == 200
