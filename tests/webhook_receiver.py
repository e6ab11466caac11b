"""A real HTTP receiver on 127.0.0.1 for the webhook tests: it keeps every request and answers
from a script of statuses (then 204), optionally with a Retry-After, or holds a request until
released; `endless` makes it answer 200 with a body that never ends (counted in `streamed`).
With it, the fixtures the webhook test modules share (they import them): an app that may send to
127.0.0.1, a receiver, an admin's token."""
from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from governor import create_app
from tests.conftest import settings_for


class _Server(ThreadingHTTPServer):
    """A listen backlog for every worker's batch at once: with socketserver's default of 5, a
    loaded machine reset some of 16 simultaneous connections (a ReadError, retried later), so a
    test that holds two whole batches in flight timed out now and then."""

    request_queue_size = 64


class Receiver:
    def __init__(self):
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.script: deque[tuple[int, dict[str, str]]] = deque()
        self.hold = threading.Event()
        self.hold.set()  # cleared: requests wait until it is set again
        self.lock = threading.Lock()
        self.endless, self.streamed = False, 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with owner.lock:
                    owner.received.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                    status, headers = owner.script.popleft() if owner.script else (204, {})
                owner.hold.wait(30)
                if owner.endless:
                    return self.stream()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def stream(self):
                self.send_response(200)
                self.end_headers()  # no length: the body runs until the connection closes
                chunk = b"x" * 16384
                try:
                    while True:
                        self.wfile.write(chunk)
                        owner.streamed += len(chunk)
                except OSError:  # the reader hung up
                    pass

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, *statuses: int, **headers: str) -> None:
        for status in statuses:
            self.script.append((status, {k.replace("_", "-"): v for k, v in headers.items()}))

    def bodies(self) -> list[dict]:
        return [json.loads(raw) for _, raw in self.received]

    def verified(self, secret: str) -> list[dict]:
        """Every request verified by the standardwebhooks library's own verifier (the caller
        makes its clock read the sending time)."""
        return [Webhook(secret).verify(raw, headers) for headers, raw in self.received]

    def close(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def app(db_url, clock):
    """The app, with 127.0.0.1 allowed as a webhook host (GOVERNOR_WEBHOOK_ALLOW_HOSTS)."""
    app = create_app(settings_for(db_url, webhook_allow_hosts="127.0.0.1"), clock=clock)
    yield app
    app.extensions["governor"].db.dispose()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def admin(token):
    return token("admin", sub="admin-1")
