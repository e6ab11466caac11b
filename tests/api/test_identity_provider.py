"""Keys from an identity provider: a JWKS file named by GOVERNOR_JWT_KEYS, re-read when it
changes (looked at no more than once a second), without a restart."""
from __future__ import annotations

import json
import logging
import os
import shutil
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from governor import create_app
from governor.config import ConfigError
from tests.api.conftest import assert_problem
from tests.api.idp import jwks_of
from tests.conftest import settings_for

START = {"user_id": "kid-1"}


@pytest.fixture(scope="module")
def keys():
    return {"k1": ("EdDSA", ed25519.Ed25519PrivateKey.generate()),
            "k2": ("ES256", ec.generate_private_key(ec.SECP256R1())),
            "k3": ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))}


def write_jwks(path, keys: dict, kids: list[str]) -> None:
    """Written aside and renamed, as an operator (or `governor keys generate`) replaces it."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(json.dumps(jwks_of({kid: keys[kid] for kid in kids})))
    os.replace(tmp, path)


@pytest.fixture
def jwks_path(tmp_path, keys):
    path = tmp_path / "jwks.json"
    write_jwks(path, keys, ["k1"])
    return path


@pytest.fixture
def idp_app(sqlite_template, clock, tmp_path, jwks_path):
    db = tmp_path / "governor.db"
    shutil.copy(sqlite_template, db)
    app = create_app(settings_for(f"sqlite:///{db}", jwt_keys=str(jwks_path)), clock=clock)
    yield app
    app.extensions["governor"].db.dispose()


def bearer(keys, kid: str, **over) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": "governor", "aud": "governor", "sub": "idp-client", "scope": "sessions", "iat": now,
              "exp": now + 600, **over}
    alg, key = keys[kid]
    return {"Authorization": "Bearer " + jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})}


def test_a_key_added_is_accepted_and_a_key_removed_refused_within_a_second(idp_app, keys, jwks_path, clock):
    client = idp_app.test_client()
    k1, k2 = bearer(keys, "k1"), bearer(keys, "k2")
    assert client.post("/v1/sessions", json=START, headers=k1).status_code == 201
    assert_problem(client.post("/v1/sessions", json=START, headers=k2), 401)

    write_jwks(jwks_path, keys, ["k1", "k2"])  # rotation begins: both keys valid
    clock.advance(seconds=1)
    assert client.post("/v1/sessions", json=START, headers=k2).status_code == 201
    assert client.post("/v1/sessions", json=START, headers=k1).status_code == 201

    write_jwks(jwks_path, keys, ["k2"])  # rotation ends: k1 withdrawn
    clock.advance(seconds=1)
    assert_problem(client.post("/v1/sessions", json=START, headers=k1), 401)  # although k1's token was cached
    assert client.post("/v1/sessions", json=START, headers=k2).status_code == 201


def test_the_file_is_looked_at_no_more_than_once_a_second(idp_app, keys, jwks_path, clock, monkeypatch):
    client = idp_app.test_client()
    k1 = bearer(keys, "k1")
    stats = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **kw: (stats.append(p), real_stat(p, *a, **kw))[1])
    for _ in range(20):
        client.get("/v1/users/u1/status", headers=k1)
        clock.advance(milliseconds=100)
    assert 1 <= stats.count(str(jwks_path)) <= 2


def test_a_broken_file_keeps_the_previous_keys_and_is_logged(idp_app, keys, jwks_path, clock, caplog):
    client = idp_app.test_client()
    jwks_path.write_text('{"keys": [')  # half written
    clock.advance(seconds=1)
    with caplog.at_level(logging.ERROR, logger="governor.auth"):
        assert client.post("/v1/sessions", json=START, headers=bearer(keys, "k1")).status_code == 201
    assert "keeping the previous keys" in caplog.text
    write_jwks(jwks_path, keys, ["k2"])
    clock.advance(seconds=1)
    assert client.post("/v1/sessions", json=START, headers=bearer(keys, "k2")).status_code == 201


def test_without_a_secret_in_production_only_the_jwks_is_trusted(sqlite_template, tmp_path, jwks_path, keys, token,
                                                                  clock):
    db = tmp_path / "governor.db"
    shutil.copy(sqlite_template, db)
    settings = settings_for(f"sqlite:///{db}", jwt_keys=str(jwks_path)).replace(jwt_secret=None, env="production")
    app = create_app(settings, clock=clock)
    client = app.test_client()
    assert client.post("/v1/sessions", json=START, headers=bearer(keys, "k1")).status_code == 201
    assert_problem(client.post("/v1/sessions", json=START, headers=token("sessions")), 401)  # HS256 is off
    app.extensions["governor"].db.dispose()


@pytest.mark.parametrize("jwks, problem", [
    ("not json", "not JSON"),
    ('{"kty": "OKP"}', "not a JWKS document"),
    ('{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}', "kid"),
    ('{"keys": [{"kid": "a", "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}',
     "'alg' must be one of"),
    ('{"keys": [{"kid": "a", "alg": "HS256", "kty": "oct", "k": "c2VjcmV0"}]}', "'alg' must be one of"),
    ('{"keys": [{"kid": "a", "alg": "RS256", "kty": "OKP", "crv": "Ed25519", '
     '"x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}', "not a valid RS256 public key"),
    ('{"keys": [{"kid": "a", "alg": "EdDSA", "kty": "OKP", "crv": "Ed25519", '
     '"x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}',
     "private key material"),
])
def test_an_unacceptable_jwks_stops_start_up_with_one_line(sqlite_template, tmp_path, clock, jwks, problem):
    path = tmp_path / "jwks.json"
    path.write_text(jwks)
    with pytest.raises(ConfigError, match=problem):
        create_app(settings_for(f"sqlite:///{sqlite_template}", jwt_keys=str(path)), clock=clock)


def test_weak_keys_are_refused(tmp_path):
    from governor.security.keys import parse_jwks
    weak = {"k": ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=1024))}
    with pytest.raises(ValueError, match="at least 2048 bits"):
        parse_jwks(json.dumps(jwks_of(weak)))
    p384 = {"k": ("ES256", ec.generate_private_key(ec.SECP384R1()))}
    with pytest.raises(ValueError, match="P-256"):
        parse_jwks(json.dumps(jwks_of(p384)))
