"""A real server per test: `governor db upgrade`, then gunicorn (2 sync workers) on a free port,
from the project folder, against the test's own database. The whole process group is killed
afterwards, whatever happened."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from governor.config import PROJECT_DIR
from tests.conftest import SECRET

BIN = PROJECT_DIR / ".venv" / "bin"
START_TIMEOUT = 20


def server_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVERNOR_")}
    env.update({"GOVERNOR_DATABASE_URL": db_url, "GOVERNOR_JWT_SECRET": SECRET, "GOVERNOR_SCHEDULER": "0",
                "GOVERNOR_ENV": "production", "GOVERNOR_LOG_LEVEL": "warning", **extra})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method: str, url: str, token: str | None = None, body: dict | None = None,
         timeout: float = 15) -> tuple[int, dict]:
    """One HTTP request: the status and the JSON answer (problems included)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, _json(r.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, _json(e.read())


def _json(raw: bytes) -> dict:
    try:
        return json.loads(raw or b"null")
    except ValueError:  # not ours: a proxy's or the WSGI server's own error page
        return {"not_json": raw[:500].decode(errors="replace")}


class Server:
    def __init__(self, url: str, proc: subprocess.Popen, log: Path, env: dict[str, str]):
        self.url, self.proc, self.log, self.env = url, proc, log, env

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def stop(proc: subprocess.Popen) -> None:
    """TERM the process group, then KILL it if it is still there after 10 s."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    try:  # workers left behind by a master that died first
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    pytest.fail(f"the server did not answer /healthz within {START_TIMEOUT}s:\n{log.read_text(errors='replace')}")


@contextmanager
def running_server(env: dict, tmp_path) -> Iterator[Server]:
    """`governor db upgrade`, then gunicorn (2 sync workers) on a free port, stopped afterwards."""
    up = subprocess.run([str(BIN / "governor"), "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True,
                        text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "gunicorn"), "app:app", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                                 "--timeout", "30", "--graceful-timeout", "5", "--no-control-socket"],
                                cwd=PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, proc, log)
        yield Server(url, proc, log, env)
    finally:
        stop(proc)


@pytest.fixture
def server(db_url, tmp_path):
    with running_server(server_env(db_url), tmp_path) as s:
        yield s
