"""`governor serve` against clients that misbehave at the HTTP level: connections that never
finish their headers do not stall the service, and are closed after the read timeout; the
errors gunicorn answers itself are problems (application/problem+json) like every other."""
from __future__ import annotations

import json
import socket
import subprocess
import urllib.request

import pytest

from tests.e2e.conftest import BIN, free_port, server_env, stop, wait_until_up

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path):
    port = free_port()
    env = server_env(f"sqlite:///{tmp_path}/governor.db", GOVERNOR_BIND=f"127.0.0.1:{port}", GOVERNOR_WORKERS="1",
                     GOVERNOR_REQUEST_TIMEOUT_SECONDS="2")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "governor"), "serve"], cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", proc, log)
        yield port
    finally:
        stop(proc)


def stalled(port: int) -> socket.socket:
    """A connection that sends half a request and then nothing."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: governor\r\nX-Half: ")
    return s


def raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_two_stalled_connections_do_not_block_a_third_request(served):
    first, second = stalled(served), stalled(served)
    try:  # one worker: with sync workers this request would wait for the stalled ones
        with urllib.request.urlopen(f"http://127.0.0.1:{served}/healthz", timeout=5) as r:
            assert r.status == 200 and r.headers["X-Content-Type-Options"] == "nosniff"
        # ... and the server closes them after the read timeout (2 s here) without an answer.
        assert first.recv(100) == b"" and second.recv(100) == b""
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("request_bytes,status", [
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: g\r\n\r\n", 414),
    (b"NOT A REQUEST LINE\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nHost: g\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
])
def test_errors_that_gunicorn_answers_are_problems(served, request_bytes, status):
    code, headers, body = raw(served, request_bytes)
    assert code == status
    assert headers["content-type"] == "application/problem+json" and headers["x-content-type-options"] == "nosniff"
    problem = json.loads(body)
    assert problem["status"] == status and problem["type"].startswith("urn:governor:problem:") and problem["title"]


def test_a_chunked_body_over_the_cap_is_a_413_problem(served):
    from governor.clock import SystemClock
    from governor.security.tokens import Authenticator
    from tests.conftest import SECRET

    token = Authenticator(SECRET, "governor", "governor", 0).mint("fe", ["sessions"], 600, SystemClock().now())
    chunk = b'{"user_id": "' + b"a" * 100_000 + b'"}'
    request = (b"POST /v1/sessions HTTP/1.1\r\nHost: g\r\nConnection: close\r\nContent-Type: application/json\r\n"
               b"Authorization: Bearer " + token.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
               + f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n")
    code, headers, body = raw(served, request)
    assert code == 413 and headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 413 and headers["cache-control"] == "no-store"


def test_a_body_that_stops_arriving_is_a_408_problem(served):
    from governor.clock import SystemClock
    from governor.security.tokens import Authenticator
    from tests.conftest import SECRET

    token = Authenticator(SECRET, "governor", "governor", 0).mint("fe", ["sessions"], 600, SystemClock().now())
    with socket.create_connection(("127.0.0.1", served), timeout=10) as s:
        s.sendall(b"POST /v1/sessions HTTP/1.1\r\nHost: g\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
                  b"Authorization: Bearer " + token.encode() + b'\r\n\r\n{"user_id": ')
        answer = b""
        while chunk := s.recv(65536):  # the server answers after its read timeout (2 s here)
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408") and b"application/problem+json" in head
    assert json.loads(body)["status"] == 408
