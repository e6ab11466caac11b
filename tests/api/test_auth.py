"""Bearer tokens and scopes: every bad token is a 401, a good token with the wrong scope a 403,
both problems, and neither changes anything."""
import base64
import json
import time
import warnings

import jwt
import pytest

from tests.api.conftest import assert_problem, users_and_events
from tests.conftest import SECRET

UID = "kid"
START = {"user_id": UID}


def claims(**over):
    now = int(time.time())  # PyJWT checks exp/iat/nbf against the OS clock, not the FakeClock
    base = {"iss": "governor", "aud": "governor", "sub": "frontend-1", "scope": "sessions",
            "iat": now, "exp": now + 600}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def signed(alg: str = "HS256", key: str = SECRET, **over) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns that the test secret is short for HS384/HS512
        return jwt.encode(claims(**over), key, algorithm=alg)


def unsigned(**over) -> str:
    """A token with `alg: none` and no signature, crafted by hand."""
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims(**over))}."


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_well_made_token_is_accepted(client):
    assert client.post("/v1/sessions", json=START, headers=bearer(signed())).status_code == 201
    r = client.post("/v1/sessions", json=START, headers={"Authorization": f"bearer {signed()}"})
    assert r.status_code == 201  # the scheme name is case-insensitive


# Built when the test runs (lambdas), so no token has gone stale by then for another reason.
BAD_HEADERS = {
    "no header": lambda: {},
    "empty": lambda: {"Authorization": ""},
    "scheme only": lambda: {"Authorization": "Bearer"},
    "scheme and a space": lambda: {"Authorization": "Bearer "},
    "basic auth": lambda: {"Authorization": "Basic " + base64.b64encode(b"frontend-1:" + SECRET.encode()).decode()},
    "token without scheme": lambda: {"Authorization": signed()},
    "garbage": lambda: bearer("garbage"),
    "three garbage parts": lambda: bearer("abc.def.ghi"),
    "wrong secret": lambda: bearer(signed(key="another-secret-0123456789abcdef0123456789")),
    "signature cut off": lambda: bearer(signed().rsplit(".", 1)[0] + "."),
    "payload swapped": lambda: bearer(".".join([signed().split(".")[0], signed(scope="admin").split(".")[1],
                                        signed().split(".")[2]])),
    "expired": lambda: bearer(signed(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
    "not yet valid": lambda: bearer(signed(nbf=int(time.time()) + 3600)),
    "issued in the future": lambda: bearer(signed(iat=int(time.time()) + 3600, exp=int(time.time()) + 7200)),
    "wrong iss": lambda: bearer(signed(iss="someone-else")),
    "wrong aud": lambda: bearer(signed(aud="another-service")),
    "no iss": lambda: bearer(signed(iss=None)),
    "no aud": lambda: bearer(signed(aud=None)),
    "no exp": lambda: bearer(signed(exp=None)),
    "no iat": lambda: bearer(signed(iat=None)),
    "no sub": lambda: bearer(signed(sub=None)),
    "no scope": lambda: bearer(signed(scope=None)),
    "scope as a list": lambda: bearer(signed(scope=["sessions"])),
    "empty sub": lambda: bearer(signed(sub="")),
    "sub not text": lambda: bearer(signed(sub=42)),
    "sub with a NUL": lambda: bearer(signed(sub="fe\u0000")),
    "sub too long": lambda: bearer(signed(sub="x" * 129)),
    "alg none": lambda: bearer(unsigned()),
    "alg none, admin": lambda: bearer(unsigned(scope="admin sessions")),
    "HS512 with the right secret": lambda: bearer(signed(alg="HS512")),
    "HS384 with the right secret": lambda: bearer(signed(alg="HS384")),
}


@pytest.mark.parametrize("headers", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_a_bad_token_is_a_401_and_changes_nothing(client, svc, headers):
    r = client.post("/v1/sessions", json=START, headers=headers())
    body = assert_problem(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="governor"'
    assert SECRET not in json.dumps(body)
    assert users_and_events(svc) == (0, 0)


def test_authentication_comes_before_everything_else(client, svc):
    """No token: 401 whatever else is wrong, so an anonymous caller learns nothing."""
    for r in (
        client.post("/v1/sessions", data="{", headers={"Content-Type": "application/json"}),
        client.post("/v1/sessions/s_unknown/heartbeat"),
        client.post("/v1/sessions/s_unknown/end", json={"x": 1}),
        client.get("/v1/users/bad%20id/status"),
        client.put(f"/v1/users/{UID}/age-verification", json={"status": "verified", "birth_date": "1990-01-01"}),
        client.get(f"/v1/users/{UID}/usage?from=nonsense"),
    ):
        assert_problem(r, 401, "unauthorized")
    assert users_and_events(svc) == (0, 0)


def test_every_endpoint_but_ops_needs_a_token(client, api):
    sid = api.started(UID)
    for r in (client.post(f"/v1/sessions/{sid}/heartbeat"), client.post(f"/v1/sessions/{sid}/end"),
              client.get(f"/v1/users/{UID}/status"), client.get(f"/v1/users/{UID}/usage")):
        assert_problem(r, 401, "unauthorized")
    assert api.status(UID)["active_sessions"] == 1


VERIFY = {"status": "verified", "birth_date": "1990-01-01"}


@pytest.mark.parametrize(("scope", "method", "path", "body", "expected"), [
    ("sessions", "put", f"/v1/users/{UID}/age-verification", VERIFY, 403),
    ("audit", "put", f"/v1/users/{UID}/age-verification", VERIFY, 403),
    ("age", "put", f"/v1/users/{UID}/age-verification", VERIFY, 200),
    ("admin", "put", f"/v1/users/{UID}/age-verification", VERIFY, 200),
    ("age", "post", "/v1/sessions", START, 403),
    ("audit", "post", "/v1/sessions", START, 403),
    ("admin", "post", "/v1/sessions", START, 403),
    ("sessions", "post", "/v1/sessions", START, 201),
    ("age", "get", f"/v1/users/{UID}/status", None, 403),
    ("sessions", "get", f"/v1/users/{UID}/status", None, 200),
    ("sessions", "get", f"/v1/users/{UID}/usage", None, 403),
    ("age", "get", f"/v1/users/{UID}/usage", None, 403),
    ("audit", "get", f"/v1/users/{UID}/usage", None, 200),
    ("admin", "get", f"/v1/users/{UID}/usage", None, 200),
    ("session", "post", "/v1/sessions", START, 403),              # no prefix matching
    ("Sessions", "post", "/v1/sessions", START, 403),             # no case folding
    ("sessionsaudit", "post", "/v1/sessions", START, 403),
    ("", "post", "/v1/sessions", START, 403),
    ("age sessions", "post", "/v1/sessions", START, 201),         # space-separated scopes
    ("age sessions", "put", f"/v1/users/{UID}/age-verification", VERIFY, 200),
])
def test_scopes(client, svc, token, scope, method, path, body, expected):
    r = getattr(client, method)(path, json=body, headers=token(scope, sub="client-x"))
    if expected == 403:
        assert_problem(r, 403, "insufficient-scope")
        assert users_and_events(svc) == (0, 0)
    else:
        assert r.status_code == expected, r.json


def test_a_wrong_scope_on_a_session_changes_nothing(api, client, clock, token):
    sid = api.started(UID)
    clock.advance(seconds=60)
    for action in ("heartbeat", "end"):
        assert_problem(client.post(f"/v1/sessions/{sid}/{action}", headers=token("age audit admin")), 403,
                       "insufficient-scope")
    status = api.status(UID)
    assert (status["active_sessions"], status["used_today_seconds"]) == (1, 0)
    assert api.beat(sid).json["used_today_seconds"] == 60
