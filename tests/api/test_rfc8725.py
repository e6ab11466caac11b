"""RFC 8725 (JWT best current practices) against an app that trusts an identity provider's JWKS
(RS256, ES256 and EdDSA keys by `kid`) and the HS256 secret. Every attack is a 401 whose body
says only that the token is not valid; the reason is logged, the token never is."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import shutil
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import OKPAlgorithm

from governor import create_app
from tests.api.conftest import assert_problem, users_and_events
from tests.api.idp import jwks_of
from tests.conftest import SECRET, settings_for

START = {"user_id": "kid-1"}
NOT_VALID = "the token is not valid"


@pytest.fixture(scope="module")
def keys():
    """The identity provider's keys, by kid, and a stranger's key of every kind."""
    mine = {"rsa-1": ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            "ec-1": ("ES256", ec.generate_private_key(ec.SECP256R1())),
            "ed-1": ("EdDSA", ed25519.Ed25519PrivateKey.generate())}
    strangers = {"RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
                 "ES256": ec.generate_private_key(ec.SECP256R1()),
                 "EdDSA": ed25519.Ed25519PrivateKey.generate()}
    return mine, strangers


@pytest.fixture
def idp_app(sqlite_template, clock, tmp_path, keys):
    """On SQLite alone: token checks never reach the database, so one backend is enough."""
    db = tmp_path / "governor.db"
    shutil.copy(sqlite_template, db)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks_of(keys[0])))
    app = create_app(settings_for(f"sqlite:///{db}", jwt_keys=str(path)), clock=clock)
    yield app
    app.extensions["governor"].db.dispose()


@pytest.fixture
def idp(idp_app):
    return idp_app.test_client()


def claims(**over):
    now = int(time.time())  # PyJWT checks exp/iat/nbf against the OS clock
    base = {"iss": "governor", "aud": "governor", "sub": "frontend-1", "scope": "sessions", "iat": now,
            "exp": now + 600}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def part(obj) -> str:
    return b64(json.dumps(obj).encode())


def by(keys, kid: str, headers: dict | None = None, **over) -> str:
    alg, key = keys[0][kid]
    return jwt.encode(claims(**over), key, algorithm=alg, headers={"kid": kid, **(headers or {})})


def hs256(signing_input: str, secret: bytes) -> str:
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def ed_signed(header: dict, payload: dict, key) -> str:
    signing_input = f"{part(header)}.{part(payload)}"
    return signing_input + "." + b64(key.sign(signing_input.encode()))


def public_pem(keys, kid: str) -> bytes:
    return keys[0][kid][1].public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)


def swap(token: str, index: int, new: str) -> str:
    parts = token.split(".")
    parts[index] = new
    return ".".join(parts)


# Each builds a token (when the test runs, so none has gone stale for another reason).
ATTACKS = {
    "alg none": lambda k: f"{part({'alg': 'none'})}.{part(claims())}.",
    "alg none under a known kid": lambda k: f"{part({'alg': 'none', 'kid': 'ed-1'})}.{part(claims())}.",
    "alg None (case)": lambda k: f"{part({'alg': 'None', 'kid': 'ed-1'})}.{part(claims())}.",
    "confusion: the RSA public key as an HMAC secret": lambda k: hs256(
        f"{part({'alg': 'HS256', 'kid': 'rsa-1'})}.{part(claims())}", public_pem(k, "rsa-1")),
    "confusion: the EC public key as an HMAC secret, no kid": lambda k: hs256(
        f"{part({'alg': 'HS256'})}.{part(claims())}", public_pem(k, "ec-1")),
    "confusion: the HS256 secret under a key's kid": lambda k: hs256(
        f"{part({'alg': 'HS256', 'kid': 'ed-1'})}.{part(claims())}", SECRET.encode()),
    "another algorithm with the right RSA key": lambda k: jwt.encode(
        claims(), k[0]["rsa-1"][1], algorithm="RS512", headers={"kid": "rsa-1"}),
    "PS256 with the right RSA key": lambda k: jwt.encode(
        claims(), k[0]["rsa-1"][1], algorithm="PS256", headers={"kid": "rsa-1"}),
    "the EC key's token under the RSA kid": lambda k: jwt.encode(
        claims(), k[0]["ec-1"][1], algorithm="ES256", headers={"kid": "rsa-1"}),
    "unknown kid": lambda k: jwt.encode(claims(), k[1]["EdDSA"], algorithm="EdDSA", headers={"kid": "ed-9"}),
    "kid with a path": lambda k: jwt.encode(claims(), k[1]["EdDSA"], algorithm="EdDSA",
                                            headers={"kid": "../../../../dev/null"}),
    "kid with SQL": lambda k: jwt.encode(claims(), k[1]["EdDSA"], algorithm="EdDSA",
                                         headers={"kid": "x' UNION SELECT 'secret"}),
    "kid empty": lambda k: hs256(f"{part({'alg': 'HS256', 'kid': ''})}.{part(claims())}", SECRET.encode()),
    "kid a number": lambda k: hs256(f"{part({'alg': 'HS256', 'kid': 1})}.{part(claims())}", SECRET.encode()),
    "kid an object": lambda k: hs256(f"{part({'alg': 'HS256', 'kid': {'k': 'x'}})}.{part(claims())}",
                                     SECRET.encode()),
    "kid null, signed by a stranger": lambda k: ed_signed({"alg": "EdDSA", "kid": None}, claims(), k[1]["EdDSA"]),
    "embedded jwk of a stranger, unknown kid": lambda k: jwt.encode(
        claims(), k[1]["EdDSA"], algorithm="EdDSA",
        headers={"kid": "attacker", "jwk": OKPAlgorithm.to_jwk(k[1]["EdDSA"].public_key(), as_dict=True)}),
    "embedded jwk of a stranger, known kid": lambda k: jwt.encode(
        claims(), k[1]["EdDSA"], algorithm="EdDSA",
        headers={"kid": "ed-1", "jwk": OKPAlgorithm.to_jwk(k[1]["EdDSA"].public_key(), as_dict=True)}),
    "jku to a stranger's key set": lambda k: jwt.encode(
        claims(), k[1]["RS256"], algorithm="RS256", headers={"kid": "rsa-1", "jku": "https://evil.example/jwks"}),
    "x5u to a stranger's certificate": lambda k: jwt.encode(
        claims(), k[1]["ES256"], algorithm="ES256", headers={"kid": "ec-1", "x5u": "https://evil.example/c.pem"}),
    "a stranger's RSA key under a known kid": lambda k: jwt.encode(claims(), k[1]["RS256"], algorithm="RS256",
                                                                   headers={"kid": "rsa-1"}),
    "a stranger's EC key under a known kid": lambda k: jwt.encode(claims(), k[1]["ES256"], algorithm="ES256",
                                                                  headers={"kid": "ec-1"}),
    "a stranger's Ed25519 key under a known kid": lambda k: jwt.encode(claims(), k[1]["EdDSA"], algorithm="EdDSA",
                                                                       headers={"kid": "ed-1"}),
    "crit names an extension we do not know": lambda k: jwt.encode(
        claims(), SECRET, algorithm="HS256", headers={"crit": ["urn:x"], "urn:x": 1}),
    "b64 false (detached, unencoded payload)": lambda k: jwt.encode(
        claims(), SECRET, algorithm="HS256", headers={"b64": False}),
    "tampered header (kid moved to another key)": lambda k: swap(by(k, "ed-1"), 0,
                                                                 part({"alg": "EdDSA", "kid": "ec-1"})),
    "tampered header (a field added)": lambda k: swap(by(k, "ec-1"), 0,
                                                      part({"alg": "ES256", "kid": "ec-1", "typ": "JWT"})),
    "tampered payload (scope raised)": lambda k: swap(by(k, "rsa-1"), 1, part(claims(scope="sessions admin"))),
    "tampered payload (sub changed)": lambda k: swap(by(k, "ed-1"), 1, part(claims(sub="frontend-2"))),
    "signature removed": lambda k: swap(by(k, "ed-1"), 2, ""),
    "signature of another token": lambda k: swap(by(k, "ed-1"), 2, by(k, "ed-1", sub="x").split(".")[2]),
    "expired": lambda k: by(k, "ed-1", iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
    "nbf in the future": lambda k: by(k, "ec-1", nbf=int(time.time()) + 3600),
    "iat in the future": lambda k: by(k, "rsa-1", iat=int(time.time()) + 3600, exp=int(time.time()) + 7200),
    "lives longer than the cap": lambda k: by(k, "ed-1", exp=int(time.time()) + 31 * 86400),
    "wrong iss": lambda k: by(k, "ed-1", iss="another-idp"),
    "wrong aud": lambda k: by(k, "ed-1", aud="another-service"),
    "aud a list without us": lambda k: by(k, "ed-1", aud=["a", "b"]),
    **{f"no {c}": functools.partial(lambda c, k: by(k, "ed-1", **{c: None}), c)
       for c in ("iss", "aud", "sub", "exp", "iat", "scope")},
    "exp a numeric string": lambda k: by(k, "ed-1", exp=str(int(time.time()) + 600)),
    "iat a numeric string": lambda k: by(k, "ed-1", iat=str(int(time.time()))),
    "nbf a numeric string": lambda k: by(k, "ed-1", nbf=str(int(time.time()) - 10)),
    "exp a word": lambda k: by(k, "ed-1", exp="tomorrow"),
    "exp true": lambda k: by(k, "ed-1", exp=True),
    "exp an object": lambda k: by(k, "ed-1", exp={"n": 1}),
    "iat null": lambda k: hs256(f"{part({'alg': 'HS256'})}.{part({**claims(), 'iat': None})}", SECRET.encode()),
    "iss a number": lambda k: hs256(f"{part({'alg': 'HS256'})}.{part(claims(iss=1))}", SECRET.encode()),
    "aud a number": lambda k: by(k, "ed-1", aud=1),
    "sub a number": lambda k: by(k, "ed-1", sub=1),
    "sub an object": lambda k: by(k, "ed-1", sub={"id": "x"}),
    "scope a list": lambda k: by(k, "ed-1", scope=["sessions"]),
    "jti a number": lambda k: by(k, "ed-1", jti=7),
    "jti empty": lambda k: by(k, "ed-1", jti=""),
    "oversized payload": lambda k: by(k, "ed-1", pad="x" * 10_000),
    "oversized header": lambda k: by(k, "ed-1", headers={"pad": "x" * 10_000}),
    "oversized garbage": lambda k: "a" * 100_000,
    "header not JSON": lambda k: hs256(f"{b64(b'not json')}.{part(claims())}", SECRET.encode()),
    "header a JSON list": lambda k: hs256(f"{b64(b'[1]')}.{part(claims())}", SECRET.encode()),
    "payload not JSON": lambda k: hs256(f"{part({'alg': 'HS256'})}.{b64(b'{not json')}", SECRET.encode()),
    "payload a JSON list": lambda k: hs256(f"{part({'alg': 'HS256'})}.{b64(b'[1, 2]')}", SECRET.encode()),
    "payload a JSON string": lambda k: hs256(part({"alg": "HS256"}) + "." + b64(b'"x"'), SECRET.encode()),
    "payload not UTF-8": lambda k: hs256(part({"alg": "HS256"}) + "." + b64(bytes([255, 254])), SECRET.encode()),
    "not base64": lambda k: "!!!.@@@.###",
    "two segments": lambda k: ".".join(by(k, "ed-1").split(".")[:2]),
    "four segments": lambda k: by(k, "ed-1") + ".AAAA",
}


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_every_attack_is_a_bare_401_and_logged_without_the_token(idp, idp_app, keys, caplog, attack):
    token = attack(keys)
    caplog.set_level(logging.INFO, logger="governor.auth")
    r = idp.post("/v1/sessions", json=START, headers={"Authorization": f"Bearer {token}"})
    body = assert_problem(r, 401, "unauthorized")
    assert body == {"type": "urn:governor:problem:unauthorized", "title": "A valid bearer token is required",
                    "status": 401, "detail": NOT_VALID}
    refusals = [rec.getMessage() for rec in caplog.records if rec.name == "governor.auth"]
    assert len(refusals) == 1 and refusals[0].startswith("token refused: ")
    assert not [seg for seg in token.split(".") if len(seg) >= 16 and seg[:64] in caplog.text]
    assert users_and_events(idp_app.extensions["governor"]) == (0, 0)


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ed-1"])
def test_each_key_of_the_jwks_signs_tokens_with_its_own_algorithm(idp, keys, kid):
    assert idp.post("/v1/sessions", json=START, headers={"Authorization": f"Bearer {by(keys, kid)}"}).status_code == 201
    without_scope = by(keys, kid, scope="age audit")
    r = idp.post("/v1/sessions", json=START, headers={"Authorization": f"Bearer {without_scope}"})
    assert_problem(r, 403, "insufficient-scope")


def test_the_hs256_secret_stays_available_beside_the_jwks(idp, token):
    assert idp.post("/v1/sessions", json=START, headers=token("sessions")).status_code == 201


def test_jku_x5u_and_jwk_headers_are_ignored_not_followed(idp, keys, monkeypatch):
    """A token of ours that carries them is judged by its kid alone, and nothing is fetched."""
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("a token made the service open a connection")
    monkeypatch.setattr(socket, "create_connection", no_network)
    stranger = OKPAlgorithm.to_jwk(keys[1]["EdDSA"].public_key(), as_dict=True)
    token = by(keys, "ed-1", headers={"jku": "https://evil.example/jwks", "x5u": "https://evil.example/x",
                                      "jwk": stranger})
    assert idp.post("/v1/sessions", json=START, headers={"Authorization": f"Bearer {token}"}).status_code == 201
