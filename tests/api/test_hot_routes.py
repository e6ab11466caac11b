"""The lean front (governor/api/hot.py) answers exactly as the Flask views do.

Two apps on two copies of one database and one clock get the same requests: one through the lean
front (as every request arrives), one straight into Flask. Their answers must be equal: status,
body and headers (the request id aside, unless the caller gave one). The lean front must also
really answer the plain heartbeats and statuses itself, and leave everything else to Flask.
"""
from __future__ import annotations

import shutil

import pytest
from werkzeug.test import Client

from governor import create_app
from tests.conftest import settings_for

HEADERS = ("Content-Type", "Cache-Control", "X-Content-Type-Options")


@pytest.fixture
def twins(sqlite_template, tmp_path, clock, token):
    apps = []
    for name in ("lean", "flask"):
        path = tmp_path / f"{name}.db"
        shutil.copy(sqlite_template, path)
        apps.append(create_app(settings_for(f"sqlite:///{path}"), clock=clock))
    lean, flask = apps
    served_by_flask = []
    inner = lean.wsgi_app.wsgi_app

    def counting(environ, start_response):
        served_by_flask.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    lean.wsgi_app.wsgi_app = counting
    yield Client(lean), Client(flask.wsgi_app.wsgi_app), served_by_flask
    for app in apps:
        app.extensions["governor"].db.dispose()


def both(twins, method, path, headers=None, **kw):
    """The same request to both apps; `path` may be a pair (each app's own session id)."""
    lean, flask, _ = twins
    path_a, path_b = (path, path) if isinstance(path, str) else path
    a = lean.open(path_a, method=method, headers=headers or {}, **kw)
    b = flask.open(path_b, method=method, headers=headers or {}, **kw)
    body_a, body_b = (dict(r.get_json() or {}, session_id=None) for r in (a, b))  # random per app
    if not isinstance(path, str) and "detail" in body_a:
        body_a["detail"] = body_a["detail"].replace(path_a.split("/")[3], path_b.split("/")[3])
    assert (a.status_code, body_a) == (b.status_code, body_b), (method, path)
    for h in HEADERS:
        assert a.headers.get(h) == b.headers.get(h), h
    if headers and "X-Request-Id" in headers:
        assert a.headers["X-Request-Id"] == b.headers["X-Request-Id"] == headers["X-Request-Id"]
    return a


def test_the_lean_front_answers_as_flask_does(twins, clock, token):
    auth, age = token("sessions"), token("age")
    served_by_flask = twins[2]
    both(twins, "PUT", "/v1/users/kid/age-verification", age, json={"status": "verified",
                                                                     "birth_date": "2014-06-15"})
    assert both(twins, "GET", "/v1/users/kid/status", {**auth, "X-Request-Id": "abc-1"}).json["allowed"]
    both(twins, "GET", "/v1/users/nobody-yet/status", auth)
    sids = [c.post("/v1/sessions", headers=auth, json={"user_id": "kid"}).json["session_id"] for c in twins[:2]]
    beat = tuple(f"/v1/sessions/{sid}/heartbeat" for sid in sids)
    for _ in range(3):
        clock.advance(seconds=60)
        both(twins, "POST", beat, auth)
        both(twins, "GET", "/v1/users/kid/status", auth)
    assert "/v1/users/kid/status" not in served_by_flask  # answered by the lean front
    assert beat[0] not in served_by_flask

    for _ in range(30):  # on to the forced break at 07:30, through its warning: the heartbeat ends it
        clock.advance(seconds=60)
        if not both(twins, "POST", beat, auth).json["allowed"]:
            break
    assert both(twins, "GET", "/v1/users/kid/status", auth).json["reason"] == "cooldown"
    assert both(twins, "POST", beat, auth).status_code == 409  # ended
    assert both(twins, "POST", "/v1/sessions/s_unknown/heartbeat", auth).status_code == 404
    assert both(twins, "GET", "/v1/users/kid/status").status_code == 401
    assert both(twins, "GET", "/v1/users/kid/status", age).status_code == 403
    assert both(twins, "GET", "/v1/users/kid/status?purpose=nope", auth).status_code == 422
    assert both(twins, "POST", beat, auth, data="[1]").status_code == 422
    for path in (beat[0], "/v1/sessions/s_unknown/heartbeat", "/v1/users/kid/status",
                 "/v1/users/kid/status?purpose=nope"):
        assert path.split("?")[0] in served_by_flask  # each failure answered by Flask, from scratch
