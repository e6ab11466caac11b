"""Real Governor instances for the multi-instance and fault tests: each one is `governor serve`
or `gunicorn app:app` with two workers, in its own process group, on one PostgreSQL database of
its test, and all of them read the same faked clock from a file (libfaketime).

The clock: libfaketime (Debian package `faketime`, LD_PRELOAD of libfaketimeMT.so) reads an
absolute, frozen time from FAKETIME_TIMESTAMP_FILE on every call (FAKETIME_NO_CACHE=1), so every
worker of every instance sees the time the test wrote, to the microsecond, and usage can be
asserted exactly. The monotonic clock stays real (FAKETIME_DONT_FAKE_MONOTONIC=1): with a frozen
monotonic clock every timed wait (a pool timeout, a connect timeout) would never expire. That
setting breaks `time.sleep` (libfaketime answers EINVAL to clock_nanosleep on CLOCK_MONOTONIC with
TIMER_ABSTIME, which Python 3.11 uses), and gunicorn's arbiter sleeps while it spawns workers, so
a `sitecustomize` put on the servers' PYTHONPATH makes `time.sleep` wait in `select` instead.
Nothing under governor/ knows about any of this: the server reads the OS clock (SystemClock).

Self-contained on purpose (the technique is the one of /work/shared/smoke/harness.py, copied).
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jwt
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv the tests run in: governor, gunicorn
SECRET = "e2e-cluster-secret-0123456789abcdef0123456789"
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)  # a Wednesday, 10:00 in Shanghai: inside 06:00-22:00
REQUIRE_PG = os.environ.get("GOVERNOR_TEST_REQUIRE_PG") == "1"
START_TIMEOUT = 30
PROBLEM = "application/problem+json"

SITECUSTOMIZE = '''\
"""Test shim (tests/e2e/cluster.py): time.sleep through select, see the note there."""
import select
import time


def _sleep(seconds):
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    select.select([], [], [], seconds)


time.sleep = _sleep
'''


# -- libfaketime --------------------------------------------------------------------------------

def _find_faketime() -> str | None:
    r = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True, text=True, check=False)
    for line in r.stdout.splitlines():
        if "libfaketimeMT.so" in line and os.path.exists(line.strip()):
            return line.strip()
    return None


def _apt(*args: str) -> int:
    try:
        return subprocess.run(["apt-get", *args], capture_output=True, timeout=300, check=False).returncode
    except (OSError, subprocess.TimeoutExpired):
        return 1


_FAKETIME: list[str | None] = []


def faketime_lib() -> str:
    """The path of libfaketimeMT.so (GOVERNOR_TEST_FAKETIME_LIB, else Debian's package, installed
    when missing); the test is skipped without it, except in CI (GOVERNOR_TEST_REQUIRE_PG=1),
    where it fails."""
    if not _FAKETIME:
        given = os.environ.get("GOVERNOR_TEST_FAKETIME_LIB")
        lib = (given if os.path.exists(given) else None) if given else shutil.which("dpkg") and _find_faketime()
        if not lib and not given and shutil.which("apt-get"):
            if _apt("install", "-y", "-qq", "faketime") != 0:
                _apt("update", "-qq")
                _apt("install", "-y", "-qq", "faketime")
            lib = _find_faketime()
        _FAKETIME.append(lib or None)
    lib = _FAKETIME[0]
    if lib is None:
        given = os.environ.get("GOVERNOR_TEST_FAKETIME_LIB")
        message = (f"GOVERNOR_TEST_FAKETIME_LIB={given}: no such file" if given else
                   "libfaketime is not installed and could not be installed (Debian package faketime)")
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    return lib


class ClockFile:
    """The time every server process sees: written whole (renamed into place), frozen."""

    def __init__(self, path: Path, start: datetime):
        self.path = path
        self.set(start)

    def set(self, when: datetime) -> None:
        assert when.microsecond == 0, "libfaketime takes whole seconds"
        self.now = when
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") + "\n")
        os.replace(tmp, self.path)


# -- PostgreSQL -----------------------------------------------------------------------------------

class Database:
    """An empty database of its own on the test server, migrated by `governor db upgrade` as in
    production, and dropped afterwards (WITH (FORCE): a killed instance may leave sessions)."""

    def __init__(self, pg_admin):
        self.admin, url, _template = pg_admin
        self.name = f"gov_e2e_{uuid.uuid4().hex[:12]}"
        self.url = url.set(database=self.name)
        self.engine: Engine | None = None

    def __enter__(self) -> Database:
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.engine = create_engine(self.url, pool_pre_ping=True)
        return self

    def __exit__(self, *exc) -> None:
        if self.engine is not None:
            self.engine.dispose()
        self.admin.dispose()  # its pooled connection may predate a restart of the server
        with self.admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    def url_via(self, port: int) -> str:
        return self.url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)

    def rows(self, sql: str, **params) -> list[Any]:
        with self.engine.connect() as c:
            return list(c.execute(text(sql), params))


def write_policy(directory: Path, name: str = "e2e-concurrency", max_concurrent: int = 2) -> Path:
    """The default policy with a cap on concurrent sessions for unverified users."""
    source = (PROJECT_DIR / "config" / "policies" / "cn-minor-mode.toml").read_text()
    assert 'name = "cn-minor-mode"' in source and "[bands.unverified]\n" in source
    doc = source.replace('name = "cn-minor-mode"', f'name = "{name}"').replace(
        "[bands.unverified]\n", f"[bands.unverified]\nmax_concurrent_sessions = {max_concurrent}\n")
    path = directory / f"{name}.toml"
    path.write_text(doc)
    return path


# -- instances ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Reply:
    status: int  # 0: no HTTP answer (refused, reset, timed out)
    headers: dict[str, str]
    body: Any
    elapsed: float

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    @property
    def outcome(self) -> tuple:
        """(status, allowed, reason, used_today_seconds) of a decision; (status, body) otherwise."""
        if not isinstance(self.body, dict) or "allowed" not in self.body:
            return self.status, self.body
        return self.status, self.body["allowed"], self.body["reason"], self.body["used_today_seconds"]


class Instance:
    """One app instance: `governor serve` (kind "serve") or `gunicorn app:app` (kind "gunicorn")."""

    def __init__(self, name: str, kind: str, database_url: str, policy: Path, clock: ClockFile, home: Path):
        self.name, self.kind, self.clock = name, kind, clock
        self.dir = home / name
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "shim").mkdir(exist_ok=True)
        (self.dir / "shim" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.dir / "server.log"
        self.proc: subprocess.Popen | None = None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOVERNOR_", "FAKETIME", "LD_PRELOAD"))}
        env.update({
            "TZ": "UTC", "PYTHONPATH": str(self.dir / "shim"), "PYTHONUNBUFFERED": "1",
            "GOVERNOR_ENV": "production", "GOVERNOR_DATABASE_URL": database_url, "GOVERNOR_JWT_SECRET": SECRET,
            "GOVERNOR_POLICY": str(policy), "GOVERNOR_SCHEDULER": "0", "GOVERNOR_WORKERS": "2",
            "GOVERNOR_BIND": f"127.0.0.1:{self.port}", "GOVERNOR_LOG_LEVEL": "warning",
            "LD_PRELOAD": faketime_lib(), "FAKETIME_TIMESTAMP_FILE": str(clock.path), "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        })
        self.env = env

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        r = subprocess.run([str(BIN / "governor"), *args], cwd=PROJECT_DIR, env=self.env, capture_output=True,
                           text=True, timeout=60, check=False)
        assert r.returncode == 0, f"governor {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
        return r

    def start(self) -> Instance:
        if self.kind == "serve":  # migrates (and activates the policy file) itself
            cmd = [str(BIN / "governor"), "serve"]
        else:
            self.cli("db", "upgrade")
            # --timeout 0: no worker is ever killed for silence; --no-control-socket: two servers
            # on one host would share its default path.
            cmd = [str(BIN / "gunicorn"), "app:app", "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
                   "--timeout", "0", "--no-control-socket", "--log-level", "warning"]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")
            if self.get("/healthz", timeout=2).status == 200:
                return self
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"{self.name} did not answer /healthz within {START_TIMEOUT}s:\n{self.output()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (arbiter and workers), and reap the leader."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)
        try:  # workers whose arbiter went first
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def workers(self) -> set[int]:
        """The pids of the leader's children (gunicorn's workers)."""
        pids = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid and fields[0] != "Z":
                pids.add(int(stat.parent.name))
        return pids

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    # HTTP ------------------------------------------------------------------------------------
    def call(self, method: str, path: str, token: str | None = None, body: Any = None,
             timeout: float = 20) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        t = time.monotonic()
        try:
            try:
                with urllib.request.urlopen(req, timeout=timeout) as r:
                    status, hdrs, raw = r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                with e:
                    status, hdrs, raw = e.code, e.headers, e.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, http.client.HTTPException) as e:
            # no answer, or one cut short (an instance killed between its headers and its body)
            return Reply(0, {}, repr(e), time.monotonic() - t)
        elapsed = time.monotonic() - t
        headers_out = {k.lower(): v for k, v in hdrs.items()}
        ctype = headers_out.get("content-type", "")
        if "json" in ctype and "ndjson" not in ctype:
            try:
                return Reply(status, headers_out, json.loads(raw or b"null"), elapsed)
            except ValueError:
                pass
        return Reply(status, headers_out, raw.decode(errors="replace"), elapsed)

    def get(self, path: str, token: str | None = None, timeout: float = 20) -> Reply:
        return self.call("GET", path, token, timeout=timeout)


class Cluster:
    """A database, a clock file and the instances of one test; everything is torn down on exit,
    the process groups killed first, whatever happened."""

    def __init__(self, pg_admin, tmp_path: Path, start: datetime = T0, policy: Path | None = None):
        faketime_lib()  # skip (or fail in CI) before anything is made
        self.tmp = tmp_path
        self.clock = ClockFile(tmp_path / "clock", start)
        self.policy = policy or write_policy(tmp_path)
        self.db = Database(pg_admin)
        self.instances: list[Instance] = []
        self.stack: list[Callable[[], None]] = []

    def __enter__(self) -> Cluster:
        self.db.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        try:
            for instance in self.instances:
                instance.kill()
            for undo in reversed(self.stack):
                undo()
        finally:
            self.db.__exit__(*exc)

    def instance(self, kind: str = "gunicorn", port: int | None = None) -> Instance:
        """A new instance (not started), on the database directly or through a proxy's port."""
        url = self.db.url_via(port) if port else self.db.url.render_as_string(hide_password=False)
        inst = Instance(f"{kind}-{len(self.instances)}", kind, url, self.policy, self.clock, self.tmp)
        self.instances.append(inst)
        return inst

    def token(self, scope: str, sub: str = "e2e-frontend") -> str:
        """A token valid at the faked time (the servers check iat and exp against it)."""
        iat = int(self.clock.now.timestamp()) - 3600
        claims = {"iss": "governor", "aud": "governor", "sub": sub, "scope": scope, "iat": iat,
                  "exp": iat + 2 * 86400}
        return jwt.encode(claims, SECRET, algorithm="HS256")


# -- load -----------------------------------------------------------------------------------------

def race(tasks: Iterable[Callable[[], Any]], threads: int = 50, timeout: float = 60) -> list[Any]:
    """Run the tasks from `threads` threads that all start at once (a barrier); the results in
    the tasks' order. Every request has its own timeout, so this ends."""
    tasks = list(tasks)
    if not tasks:
        return []
    barrier = threading.Barrier(min(threads, len(tasks)), timeout=30)

    def run(task: Callable[[], Any], first_round: bool) -> Any:
        if first_round:
            barrier.wait()
        return task()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(run, task, i < threads) for i, task in enumerate(tasks)]
        return [f.result(timeout=timeout) for f in futures]


# -- checks ---------------------------------------------------------------------------------------

def events(inst: Instance, token: str, user_id: str | None = None) -> list[dict]:
    """Every audit event (of one user), from the NDJSON export."""
    query = "?format=ndjson" + (f"&user_id={user_id}" if user_id else "")
    r = inst.get("/v1/audit/events" + query, token, timeout=30)
    assert r.status == 200, (r.status, r.body)
    return [json.loads(line) for line in r.body.splitlines() if line.strip()]


def union_ms(intervals: Iterable[tuple[datetime, datetime]]) -> int:
    total, end = timedelta(0), None
    for a, b in sorted(intervals):
        if end is not None and a < end:
            a = end
        if b > a:
            total += b - a
        end = b if end is None else max(end, b)
    return round(total / timedelta(milliseconds=1))


@dataclass
class Ledger:
    """What the database holds for each user: sessions and booked days."""

    sessions: dict[str, list[Any]] = field(default_factory=dict)
    used_ms: dict[tuple[str, date], int] = field(default_factory=dict)
    day_sessions: dict[tuple[str, date], int] = field(default_factory=dict)


def ledger(db: Database) -> Ledger:
    out = Ledger()
    for row in db.rows("SELECT u.user_id, s.id, s.started_at, s.last_seen_at, s.ended_at, s.end_reason, "
                       "s.counted_ms FROM sessions s JOIN users u ON u.pk = s.user_pk ORDER BY s.started_at"):
        out.sessions.setdefault(row.user_id, []).append(row)
    for row in db.rows("SELECT u.user_id, d.day, d.used_ms, d.sessions FROM usage_days d "
                       "JOIN users u ON u.pk = d.user_pk"):
        out.used_ms[(row.user_id, row.day)] = row.used_ms
        out.day_sessions[(row.user_id, row.day)] = row.sessions
    return out


def covered(session) -> tuple[datetime, datetime]:
    """The interval a session covers as the sessions table records it."""
    return session.started_at, session.ended_at or session.last_seen_at


# -- a database link that can be cut ------------------------------------------------------------

class Proxy:
    """A TCP proxy, 127.0.0.1:port -> the database server, run by threads of the test.

    `cut()` closes every connection through it and stops listening: new connections are refused,
    as by a host whose server is down. `cut(blackhole=True)` closes them too but keeps accepting
    new ones and never answers them, as a server that does not respond: a client waits for its
    connect timeout. `restore()` forwards again, on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._forward = False
        self._threads: list[threading.Thread] = []

    def restore(self) -> None:
        with self._lock:
            held, self._sockets = self._sockets, set()  # connections taken during a blackhole
            self._forward = True
            listener = self._listener
            if listener is None:
                listener = self._listener = socket.socket()
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind(("127.0.0.1", self.port))
                listener.listen(64)
                listener.settimeout(0.1)
                self._spawn(self._accept, listener)
        for sock in held:
            _close(sock)

    start = restore

    def cut(self, blackhole: bool = False) -> None:
        with self._lock:
            self._forward = False
            sockets, self._sockets = self._sockets, set()
            listener = None if blackhole else self._listener
            if listener is not None:
                self._listener = None
        if listener is not None:
            listener.close()
        for sock in sockets:
            _close(sock)

    def close(self) -> None:
        self.cut()
        for t in self._threads:
            t.join(timeout=5)

    def _spawn(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                forward = self._forward
                if not forward:  # blackhole: hold it, say nothing
                    self._sockets.add(client)
                    continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if not self._forward:  # cut meanwhile
                    _close(client)
                    _close(upstream)
                    continue
                self._sockets.update((client, upstream))
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(src)
                self._sockets.discard(dst)
            _close(src)
            _close(dst)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
