"""The clients against the real app: in process through httpx's WSGI transport, or over real HTTP
from a server thread on a free port (for the TypeScript client). Time stays the test's FakeClock;
the server thread also answers `PUT /_test/clock {"now"}` or `{"advance_seconds"}` so that a test
in another process (node) can move it. That route exists only in this test wrapper."""
from __future__ import annotations

import json
import shutil
import threading
from datetime import datetime
from types import SimpleNamespace

import httpx
import pytest
from governor_client import GovernorClient
from werkzeug.serving import make_server


@pytest.fixture
def db_url(tmp_path, sqlite_template) -> str:
    """SQLite only: the clients are under test here, not the stores (tests/api runs both)."""
    path = tmp_path / "governor.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def bearer(token):
    def mint(scope: str = "sessions") -> str:
        return token(scope)["Authorization"].removeprefix("Bearer ")
    return mint


class FakeTime:
    """A client's sleep and monotonic clock: sleeping moves the clock, nothing waits."""

    def __init__(self):
        self.now, self.slept = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def client_on(transport, token: str, **kw) -> GovernorClient:
    """A GovernorClient on that transport whose retries neither sleep nor wait."""
    t = FakeTime()
    return GovernorClient("http://governor.test", token, transport=transport, sleep=t.sleep,
                          monotonic=t.monotonic, **kw)


def answering(*responses):
    """A transport that answers these in turn (the last one again), raising those that are exceptions."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        r = responses[min(len(calls), len(responses)) - 1]
        if isinstance(r, Exception):
            raise r
        return r
    return httpx.MockTransport(handler), calls


def on(transport, t: FakeTime, **kw) -> GovernorClient:
    return GovernorClient("http://t", "tok", transport=transport, sleep=t.sleep, monotonic=t.monotonic, **kw)


@pytest.fixture
def gov(app, bearer):
    with client_on(httpx.WSGITransport(app=app), bearer()) as c:
        yield c


def with_test_clock(wsgi_app, clock):
    def app(environ, start_response):
        if environ["PATH_INFO"] != "/_test/clock" or environ["REQUEST_METHOD"] != "PUT":
            return wsgi_app(environ, start_response)
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(size) or b"{}")
        if "now" in body:
            clock.set(datetime.fromisoformat(body["now"]))
        clock.advance(seconds=body.get("advance_seconds", 0))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"now": clock.now().isoformat()}).encode()]
    return app


@pytest.fixture
def live(app, clock):
    """The app served over HTTP from a thread on a free port."""
    server = make_server("127.0.0.1", 0, with_test_clock(app, clock), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join()
