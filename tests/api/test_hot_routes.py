"""The lean front (governor/api/hot.py) answers exactly as the Flask side does.

Two apps on two copies of one database, with one clock (the rate limiter's too), get the same
random requests (paths, methods, tokens, bodies, query strings, headers, time passing): one app as
every request arrives, lean front first; the other straight into Flask. Their answers must be
equal byte for byte (status, body, headers; the request id aside unless the caller gave a sane
one), and so must what each request adds to the metrics. Then, by example: the lean front answers
the plain heartbeats and statuses itself, and hands everything else to Flask as an outcome that is
not run again, so a token is refused (and logged) once, the limiter counts once, the database is
tried once, and a bug is a logged 500 problem.
"""
from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from governor import create_app, observability
from governor.api.hot import OUTCOME
from governor.clock import FakeClock
from governor.errors import Unauthorized
from governor.store.database import DatabaseUnavailable
from tests.api.conftest import assert_problem
from tests.conftest import SECRET, settings_for, shanghai

START = shanghai(2026, 12, 2, 7, 0)  # a Wednesday morning in Shanghai
RATE = 6  # `sessions` requests a minute per client: low enough that random runs meet the 429
USERS = ("kid", "teen", "adult")


def bearer(scope: str = "sessions", sub: str = "frontend-1", **over) -> str:
    now = int(time.time())  # PyJWT checks exp/iat against the OS clock
    claims = {"iss": "governor", "aud": "governor", "sub": sub, "scope": scope, "iat": now, "exp": now + 3600,
              **over}
    return "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")


TOKENS = {  # built once: the cached and the uncached way must both be equal
    "none": None,
    "sessions": bearer(),
    "sessions, another client": bearer(sub="frontend-2"),
    "sessions and age": bearer("age sessions"),
    "age only": bearer("age"),
    "admin only": bearer("admin"),
    "lower-case scheme": "bearer " + bearer().split(" ", 1)[1],
    "padded": "Bearer   " + bearer().split(" ", 1)[1] + "  ",
    "revoked": bearer(jti="revoked-1"),
    "expired": bearer(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
    "wrong secret": "Bearer " + jwt.encode({"sub": "x"}, "another-secret-0123456789abcdef0123", algorithm="HS256"),
    "garbage": "Bearer abc.def.ghi",
    "basic": "Basic Zm9vOmJhcg==",
    "empty": "",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # "{sid0}" .. "{sid2}" stand for the running sessions' ids
    token: str
    query: str | None
    body: bytes | None
    headers: tuple[tuple[str, str], ...]
    wait: int  # seconds on the clock before the request


ID_TEXT = st.text(alphabet="AZaz09_-.:@~%é !", min_size=1, max_size=44)
SID = st.one_of(st.sampled_from(["{sid0}", "{sid1}", "{sid2}"]),
                st.sampled_from(["s_unknown", "", "a.b", "x" * 41]), ID_TEXT)
UID = st.one_of(st.sampled_from([*USERS, "nobody-yet"]), st.sampled_from(["..", "", "x" * 129]), ID_TEXT)
NEAR_MISSES = ["/v1/sessions/{sid0}/heartbeat/", "/v1/sessions/{sid0}/end", "/v1/users/kid/status/",
               "/V1/users/kid/status", "//v1/users/kid/status", "/v1/users//status", "/v1/users/kid/usage",
               "/v1/sessions//heartbeat", "/v1/users/kid/status/x", "/v1/sessions/{sid0}/heartbeat%00"]
OTHER_METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]
MOSTLY = 10  # in a sampled list, the plain choice this many times over the others once each


@st.composite
def requests(draw) -> Request:
    """Mostly requests the lean front takes, some near them, with every kind of token."""
    kind = draw(st.sampled_from(["heartbeat", "status", "heartbeat", "status", "other"]))
    if kind == "heartbeat":
        path, method = f"/v1/sessions/{draw(SID)}/heartbeat", "POST"
    elif kind == "status":
        path, method = f"/v1/users/{draw(UID)}/status", "GET"
    else:
        path, method = draw(st.sampled_from(NEAR_MISSES)), draw(st.sampled_from(["POST", "GET"]))
    return Request(
        method=draw(st.sampled_from([method] * MOSTLY + OTHER_METHODS)),
        path=path,
        token=draw(st.sampled_from(["sessions"] * MOSTLY + list(TOKENS))),
        query=draw(st.sampled_from([None] * MOSTLY + ["", "purpose=x", "purpose=", "x=1", "purpose=a&purpose=b"])),
        body=draw(st.sampled_from([None] * MOSTLY + [b"", b"{}", b"{ }", b"[1]", b"x", b'{"a": 1}'])),
        headers=tuple(draw(st.lists(st.sampled_from(HEADERS), max_size=2, unique_by=lambda h: h[0]))),
        wait=draw(st.sampled_from([0] * MOSTLY + [1, 30, 60, 600])),
    )


HEADERS = [("X-Request-Id", "abc-1"), ("X-Request-Id", "not sane!"), ("X-Request-Id", "x" * 65),
           ("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"), ("Content-Length", "0"),
           ("Accept", "text/html")]


def prepare(template: Path, folder: Path) -> tuple[Path, list[str]]:
    """A database with three verified users, a revoked token and three running sessions (two of
    `frontend-1`'s, one of `frontend-2`'s), made once: each pair of twins starts from a copy."""
    path = folder / "prepared.db"
    shutil.copy(template, path)
    app = create_app(settings_for(f"sqlite:///{path}"), clock=FakeClock(START))
    client, sids = app.test_client(), []
    age, admin = {"Authorization": bearer("age", sub="verifier")}, {"Authorization": bearer("admin", sub="admin-1")}
    for uid, born in zip(USERS, ("2014-06-15", "2010-03-01", "1990-01-01"), strict=True):
        r = client.put(f"/v1/users/{uid}/age-verification", json={"status": "verified", "birth_date": born},
                       headers=age)
        assert r.status_code == 200, r.json
    assert client.post("/v1/admin/revocations", json={"jti": "revoked-1"}, headers=admin).status_code == 201
    for uid, token in (("kid", "sessions"), ("teen", "sessions"), ("adult", "sessions, another client")):
        r = client.post("/v1/sessions", json={"user_id": uid}, headers={"Authorization": TOKENS[token]})
        assert r.status_code == 201, r.json
        sids.append(r.json["session_id"])
    app.extensions["governor"].db.dispose()
    return path, sids


@pytest.fixture(scope="module")
def prepared(sqlite_template, tmp_path_factory):
    return prepare(sqlite_template, tmp_path_factory.mktemp("hot"))


class Twins:
    """Two apps on copies of one database and one clock (the rate limiter's too): `lean` as
    requests arrive, `flask` the other app's Flask side alone. `handed_over` holds the outcome of
    each request the lean front passed to Flask (None: not a request it takes)."""

    def __init__(self, prepared: tuple[Path, list[str]], folder: Path):
        self.clock = FakeClock(START)
        database, self.sids = prepared
        self.apps = []
        for name in ("lean", "flask"):
            shutil.copy(database, folder / f"{name}.db")
            app = create_app(settings_for(f"sqlite:///{folder / name}.db", rate_limit_sessions_per_minute=RATE),
                             clock=self.clock)
            app.extensions["governor.limits"].now = lambda: self.clock.now().timestamp()
            self.apps.append(app)
        lean, flask = self.apps
        self.handed_over: list = []
        inner = lean.wsgi_app.wsgi_app

        def watching(environ, start_response):
            self.handed_over.append(environ.get(OUTCOME))
            return inner(environ, start_response)

        lean.wsgi_app.wsgi_app = watching
        self.lean, self.flask = Client(lean), Client(flask.wsgi_app.wsgi_app)

    def dispose(self) -> None:
        for app in self.apps:
            app.extensions["governor"].db.dispose()


@pytest.fixture
def twins(prepared, tmp_path):
    t = Twins(prepared, tmp_path)
    yield t
    t.dispose()


def metrics() -> dict:
    """The request and decision counts by label set."""
    out = {}
    for metric in (observability.REQUEST_SECONDS, observability.DECISIONS):
        for family in metric.collect():
            for s in family.samples:
                if s.name.endswith(("_count", "_total")):
                    out[(s.name, *sorted(s.labels.items()))] = s.value
    return out


class Logged(logging.Handler):
    """What governor logs (logger, level, message): a refused token, a bug, the access log."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[tuple[str, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, record.levelname, record.getMessage()))


@pytest.fixture(scope="module", autouse=True)
def logged():
    """governor's log at INFO, recorded (hypothesis runs examples without function fixtures)."""
    logger, handler = logging.getLogger("governor"), Logged()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def added(before: dict, after: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def headers_of(response, given_id: str | None) -> list[tuple[str, str]]:
    """The headers, the Content-Length checked against the body and a request id made up here
    replaced by a mark (it is random)."""
    out = []
    for name, value in response.headers.items():
        if name == "Content-Length":
            assert response.request.method == "HEAD" or int(value) == len(response.get_data())
            continue
        if name == "X-Request-Id" and not (given_id and SANE_ID.fullmatch(given_id)):
            assert re.fullmatch(r"[0-9a-f]{32}", value), value
            value = "(made up)"
        out.append((name, value))
    return sorted(out)


def exchange(tw: Twins, req: Request):
    """The request to both; their answers, the metrics and log lines each adds, and their rate
    limiters' counts compared. Returns the lean front's answer."""
    tw.clock.advance(seconds=req.wait)
    path = req.path.format(**{f"sid{i}": sid for i, sid in enumerate(tw.sids)})
    headers = dict(req.headers)
    if TOKENS[req.token] is not None:
        headers["Authorization"] = TOKENS[req.token]
    answers, counts, lines = [], [], []
    handler = next(h for h in logging.getLogger("governor").handlers if isinstance(h, Logged))
    for client in (tw.lean, tw.flask):
        before = metrics()
        handler.lines = []
        answers.append(client.open(path, method=req.method, headers=headers, query_string=req.query,
                                   data=req.body))
        counts.append(added(before, metrics()))
        lines.append(handler.lines)
    a, b = answers
    assert (a.status, a.get_data()) == (b.status, b.get_data()), req
    assert headers_of(a, headers.get("X-Request-Id")) == headers_of(b, headers.get("X-Request-Id")), req
    assert counts[0] == counts[1], req
    assert lines[0] == lines[1], req
    assert tw.apps[0].extensions["governor.limits"].counted() == tw.apps[1].extensions["governor.limits"].counted(), req
    return a


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=st.lists(requests(), min_size=1, max_size=24))
def test_the_lean_front_answers_random_requests_as_flask_does(prepared, sequence):
    with tempfile.TemporaryDirectory() as folder:
        tw = Twins(prepared, Path(folder))
        try:
            for req in sequence:
                exchange(tw, req)
        finally:
            tw.dispose()


# -- what the lean front takes, and what it hands over ----------------------------------------------

PLAIN = Request("GET", "/v1/users/kid/status", "sessions", None, None, (), 60)


def test_plain_heartbeats_and_statuses_are_answered_by_the_lean_front(twins):
    for req in (PLAIN, Request("POST", "/v1/sessions/{sid0}/heartbeat", "sessions", None, None, (), 60),
                Request("POST", "/v1/sessions/{sid1}/heartbeat", "sessions", None, b"", (), 0)):
        assert exchange(twins, req).status_code == 200
    assert twins.handed_over == []
    for req in (Request("GET", "/v1/users/kid/status", "sessions", "purpose=x", None, (), 0),
                Request("POST", "/v1/sessions/{sid0}/heartbeat", "sessions", None, b"{}", (), 0),
                Request("GET", "/v1/users/kid/usage", "sessions", None, None, (), 0)):
        exchange(twins, req)
    assert twins.handed_over == [None, None, None]  # not its requests: Flask takes them whole


def test_a_refused_token_is_refused_and_logged_once(twins, caplog):
    caplog.set_level(logging.INFO, logger="governor.auth")
    r = twins.lean.get("/v1/users/kid/status", headers={"Authorization": TOKENS["garbage"]})
    assert_problem(r, 401, "unauthorized")
    assert [rec.getMessage()[:13] for rec in caplog.records if rec.name == "governor.auth"] == ["token refused"]
    [(principal, error)] = twins.handed_over
    assert principal is None and isinstance(error, Unauthorized)


def test_the_limiter_counts_each_request_once(twins):
    """Heartbeats of an unknown session are answered by Flask, after the lean front counted them."""
    auth = {"Authorization": TOKENS["sessions, another client"]}
    for _ in range(4):
        assert_problem(twins.lean.post("/v1/sessions/s_unknown/heartbeat", headers=auth), 404)
    for _ in range(RATE - 4):
        assert twins.lean.get("/v1/users/kid/status", headers=auth).status_code == 200
    r = twins.lean.get("/v1/users/kid/status", headers=auth)
    assert_problem(r, 429, "too-many-requests")
    assert r.headers["Retry-After"] == "60"
    assert len(twins.handed_over) == 5


def test_the_database_is_tried_once_when_it_is_away(twins, monkeypatch):
    from governor.service import sessions
    calls = []

    def away(*args, **kw):
        calls.append(args)
        raise DatabaseUnavailable("connection refused")

    monkeypatch.setattr(sessions, "heartbeat", away)
    r = twins.lean.post(f"/v1/sessions/{twins.sids[0]}/heartbeat", headers={"Authorization": TOKENS["sessions"]})
    assert_problem(r, 503, "unavailable")
    assert r.headers["Retry-After"] == "2"
    assert len(calls) == 1


def test_a_bug_in_the_lean_front_is_a_logged_500_problem(twins, monkeypatch, caplog):
    from governor.service import sessions
    calls = []
    real = sessions.status
    monkeypatch.setattr(sessions, "status", lambda *a, **kw: (calls.append(a), real(*a, **kw))[1])
    hot = twins.apps[0].wsgi_app

    def broken(out):
        raise TypeError("a value the encoder cannot write")

    monkeypatch.setattr(hot, "encode", broken)
    r = twins.lean.get("/v1/users/kid/status", headers={"Authorization": TOKENS["sessions"]})
    assert_problem(r, 500, "internal-error")
    assert "cannot write" not in json.dumps(r.json)
    [bug] = [rec for rec in caplog.records if rec.name == "governor.api" and rec.exc_info]
    assert bug.exc_info[0] is TypeError
    assert len(calls) == 1  # Flask did not answer it again from scratch
