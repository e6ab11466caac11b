"""deploy/nginx.conf in front of two `governor serve` instances on one PostgreSQL database, as
docs/deploy.md sets it up: the slow-client probe of issue 18 (50 connections each sending one
byte of a request head every 5 s, for 30 s) does not slow `/healthz` or a user's status through
nginx (p99 under 100 ms; on a machine too busy to answer within that even before the probe, such
as a shared development machine, under twice the p99 of the 10 s before it), while the same probe
straight at an instance stalls it. And nginx's own
refusals are problems, the request id goes through, its log names no path, and every request
without credentials is limited per address.

nginx runs in the foreground from a temporary prefix, on free loopback ports, with the shipped
file included nearly verbatim (its listen address, upstream servers and log folder replaced). The
test is skipped when nginx is missing, except with GOVERNOR_TEST_REQUIRE_NGINX=1 (CI), where it
fails. The probe is real time on purpose: it is a test of timeouts.
"""
from __future__ import annotations

import http.client
import json
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.cluster import PROJECT_DIR, Cluster, free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SHIPPED = PROJECT_DIR / "deploy" / "nginx.conf"
SLOW_CONNECTIONS, BYTE_EVERY, PROBE_SECONDS = 50, 5.0, 30.0
BASELINE_SECONDS = 10.0
P99_LIMIT = 0.100
USER = "front-user-7f3a"


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found is None:
        message = "nginx is not installed (Debian: apt-get install nginx-light)"
        if os.environ.get("GOVERNOR_TEST_REQUIRE_NGINX") == "1":
            pytest.fail(f"GOVERNOR_TEST_REQUIRE_NGINX=1 but {message}")
        pytest.skip(message)
    return found


def _replace(text: str, pattern: str, new: str, count: int) -> str:
    out, n = re.subn(pattern, new, text)
    assert n == count, f"deploy/nginx.conf: expected {count} of {pattern!r}, found {n}"
    return out


class Nginx:
    """deploy/nginx.conf with its listen port, upstream servers and log folder replaced, in a
    main configuration of the test's own (foreground, temporary prefix, one worker)."""

    def __init__(self, home: Path, upstreams: list[int]):
        self.binary, self.home, self.port = nginx_binary(), home, free_port()
        home.mkdir(parents=True, exist_ok=True)
        site = _replace(SHIPPED.read_text(), r"listen 80;", f"listen 127.0.0.1:{self.port};", 1)
        site = _replace(site, r"/var/log/nginx/", f"{home}/", 2)
        site = _replace(site, r"server 127\.0\.0\.1:8000 ", f"server 127.0.0.1:{upstreams[0]} ", 1)
        site = _replace(site, r"server 127\.0\.0\.1:8001 ", f"server 127.0.0.1:{upstreams[1]} ", 1)
        (home / "governor.conf").write_text(site)
        temp = "\n".join(f"    {kind}_temp_path {home}/{kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                              "uwsgi", "scgi"))
        (home / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\nuser {pwd.getpwuid(os.geteuid()).pw_name};\n"
            f"pid {home}/nginx.pid;\nevents {{ worker_connections 1024; }}\n"
            f"http {{\n{temp}\n    include {home}/governor.conf;\n}}\n")
        self.access_log = home / "governor.access.log"
        self.proc: subprocess.Popen | None = None

    def _cmd(self, *extra: str) -> list[str]:
        return [self.binary, "-p", f"{self.home}/", "-c", f"{self.home}/nginx.conf", "-e", f"{self.home}/error.log",
                *extra]

    def __enter__(self) -> Nginx:
        checked = subprocess.run(self._cmd("-t"), capture_output=True, text=True, timeout=30, check=False)
        assert checked.returncode == 0, f"nginx -t refused the configuration:\n{checked.stderr}"
        self.proc = subprocess.Popen(self._cmd(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        errors = self.home / "error.log"
        raise AssertionError(f"nginx did not listen within 10 s:\n{errors.exists() and errors.read_text()}")

    def __exit__(self, *exc) -> None:
        """TERM the process group (nginx's fast shutdown), KILL it after 10 s."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log(self) -> list[dict]:
        return [json.loads(line) for line in self.access_log.read_text().splitlines() if line.strip()]


@dataclass
class Answer:
    status: int  # 0: no answer within the timeout, or the connection failed
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)


def fetch(port: int, path: str, token: str | None = None, method: str = "GET", body: bytes | None = None,
          headers: dict[str, str] | None = None, timeout: float = 5) -> Answer:
    """One request on a new connection, as a new client would make it; the time includes the connect."""
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    t = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, data, time.monotonic() - t)
    except (OSError, http.client.HTTPException):
        return Answer(0, {}, b"", time.monotonic() - t)
    finally:
        conn.close()


class SlowClients:
    """`n` connections that each send one more byte of a request head every `every` seconds, for
    `seconds`; one the server closes is opened again at once, so `n` are always open."""

    HEAD = b"GET /healthz HTTP/1.1\r\nHost: governor\r\nX-Slow: " + b"z" * 4000

    def __init__(self, port: int, n: int = SLOW_CONNECTIONS, every: float = BYTE_EVERY):
        self.port, self.n, self.every = port, n, every
        self.opened = self.bytes_sent = 0
        self.stop = threading.Event()
        self._socks: list[tuple[socket.socket, int] | None] = [None] * n

    def _open(self) -> tuple[socket.socket, int]:
        self.opened += 1
        return socket.create_connection(("127.0.0.1", self.port), timeout=5), 0

    def tick(self) -> None:
        for i in range(self.n):
            s, sent = self._socks[i] or self._open()
            if select.select([s], [], [], 0)[0]:  # the server closed it (or answered): a new one
                s.close()
                s, sent = self._open()
            try:
                s.sendall(self.HEAD[sent:sent + 1])
            except OSError:
                s.close()
                s, sent = self._open()
                s.sendall(self.HEAD[:1])
            self._socks[i] = (s, sent + 1)
            self.bytes_sent += 1

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stop.is_set() and time.monotonic() < deadline:
            self.tick()
            self.stop.wait(min(self.every, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        self.stop.set()
        for entry in self._socks:
            if entry:
                entry[0].close()


def p99(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[max(0, -(-len(ordered) * 99 // 100) - 1)]


@pytest.fixture(scope="module")
def front(pg_admin, tmp_path_factory):
    """Two `governor serve` instances, a sessions token, nginx in front of both."""
    nginx_binary()  # skip (or fail in CI) before anything is started
    tmp = tmp_path_factory.mktemp("front")
    with Cluster(pg_admin, tmp) as cluster:
        a, b = cluster.instance("serve").start(), cluster.instance("serve").start()
        with Nginx(tmp / "nginx", [a.port, b.port]) as nginx:
            yield cluster, nginx


def probe(port: int, token: str, running: Callable[[], bool]) -> tuple[list[float], list[float]]:
    """The seconds of `/healthz` and of a user's status, each on a new connection, asked in turn
    about 15 times a second while `running()`; any answer but a 200 fails the test."""
    health, status, failures = [], [], []
    while running():
        for path, auth, out in (("/healthz", None, health), (f"/v1/users/{USER}/status", token, status)):
            answer = fetch(port, path, auth, timeout=5)
            out.append(answer.seconds)
            if answer.status != 200:
                failures.append((path, answer.status, answer.body[:200]))
        time.sleep(0.05)
    assert not failures, failures[:5]
    return health, status


def test_slow_clients_do_not_slow_the_service_behind_nginx(front):
    cluster, nginx = front
    token = cluster.token("sessions")
    assert fetch(nginx.port, f"/v1/users/{USER}/status", token).status == 200  # the user exists, both warm
    calm = time.monotonic() + BASELINE_SECONDS
    before = probe(nginx.port, token, lambda: time.monotonic() < calm)

    slow = SlowClients(nginx.port)
    attack = threading.Thread(target=slow.run, args=(PROBE_SECONDS,))
    attack.start()
    try:
        time.sleep(1)  # every slow connection open and holding
        during = probe(nginx.port, token, attack.is_alive)
    finally:
        slow.stop.set()
        attack.join()
        slow.close()
    # The probe ran as specified: 50 connections held throughout, a byte each every 5 s.
    assert slow.bytes_sent >= SLOW_CONNECTIONS * int(PROBE_SECONDS / BYTE_EVERY), slow.bytes_sent
    for name, calm_times, times in zip(("/healthz", "status"), before, during, strict=True):
        assert len(times) >= 150, (name, len(times))
        # 100 ms; on a machine too busy for that even without the probe, twice the p99 before it.
        limit = max(P99_LIMIT, 2 * p99(calm_times))
        assert p99(times) < limit, (f"{name}: p99 {p99(times) * 1000:.1f} ms over {len(times)} requests during "
                                    f"the probe, {p99(calm_times) * 1000:.1f} ms before it")

    # The same probe straight at one instance stalls it: what nginx above took off its hands.
    # (Three tries, one stall enough: a sync worker may just have shed a slow connection.)
    direct = SlowClients(cluster.instances[0].port)
    try:
        tries = []
        for _ in range(3):
            direct.tick()
            time.sleep(1)
            tries.append(fetch(cluster.instances[0].port, "/healthz", timeout=2))
        assert any(t.status == 0 or t.seconds > 1 for t in tries), tries
    finally:
        direct.close()


def test_nginx_passes_the_request_id_and_logs_no_path(front):
    cluster, nginx = front
    token, user = cluster.token("sessions"), "front-log-user-93c1"
    answers = [fetch(nginx.port, f"/v1/users/{user}/status", token, headers={"X-Request-Id": f"front-rid-{i}"})
               for i in range(6)]
    assert [a.status for a in answers] == [200] * 6
    assert [a.headers["x-request-id"] for a in answers] == [f"front-rid-{i}" for i in range(6)]  # honoured, echoed
    minted = fetch(nginx.port, "/healthz", headers={"X-Request-Id": "not a sane id"})
    assert re.fullmatch(r"[0-9a-f]{32}", minted.headers["x-request-id"])  # nginx's own, passed to the instance

    lines = nginx.log()
    ours = [line for line in lines if line["request_id"].startswith("front-rid-")]
    assert len(ours) == 6 and {line["status"] for line in ours} == {"200"}
    assert {line["upstream"] for line in ours} == {f"127.0.0.1:{i.port}" for i in cluster.instances}  # both
    assert any(line["request_id"] == minted.headers["x-request-id"] for line in lines)
    raw = nginx.access_log.read_text()
    assert user not in raw and USER not in raw and "/v1/" not in raw and "/healthz" not in raw


def test_nginx_refusals_are_problems(front, tmp_path):
    cluster, nginx = front
    token = cluster.token("sessions")
    big = fetch(nginx.port, "/v1/sessions", token, "POST", b'{"user_id": "' + b"a" * 70_000 + b'"}',
                {"Content-Type": "application/json"})
    hidden = fetch(nginx.port, "/metrics")
    long_uri = fetch(nginx.port, "/v1/users/" + "u" * 9000 + "/status", token)
    for answer, status in ((big, 413), (hidden, 404), (long_uri, 414)):
        assert answer.status == status, (answer.status, answer.body[:200])
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == status and answer.json()["type"].startswith("urn:governor:problem:")

    # Without credentials: limited per address (20 a second, 40 at once); with a token: never.
    with ThreadPoolExecutor(max_workers=20) as pool:
        anonymous = list(pool.map(lambda _: fetch(nginx.port, "/v1/users/anyone/status"), range(100)))
    statuses = Counter(a.status for a in anonymous)
    assert set(statuses) == {401, 429} and statuses[401] >= 41, statuses
    limited = next(a for a in anonymous if a.status == 429)
    assert limited.json()["type"] == "urn:governor:problem:too-many-requests"
    assert limited.headers["retry-after"] == "1"
    assert {fetch(nginx.port, f"/v1/users/{USER}/status", token).status for _ in range(60)} == {200}
    assert fetch(nginx.port, "/healthz").status == 200  # health checks are not limited

    # No instance answering: a 503 problem with Retry-After, as Governor's own when its database is away.
    with Nginx(tmp_path / "nginx-dead", [free_port(), free_port()]) as dead:
        down = fetch(dead.port, f"/v1/users/{USER}/status", token)
    assert down.status == 503 and down.headers["retry-after"] == "2", (down.status, down.body)
    assert down.json()["type"] == "urn:governor:problem:unavailable"
