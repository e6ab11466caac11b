"""`governor serve` as an operator meets it: its log holds no raw path (paths carry user,
guardian and session ids, which must not outlive an erasure in the logs), a busy port is one
clear line, and `--banner` (make run) names the address actually served."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time

import pytest

from tests.conftest import SECRET
from tests.e2e.conftest import BIN, call, free_port, stop, wait_until_up
from tests.integration.test_cli import governor, one_line

pytestmark = pytest.mark.slow


def serve_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVERNOR_")}
    env.update(GOVERNOR_DATABASE_URL=db_url, GOVERNOR_JWT_SECRET=SECRET, GOVERNOR_WORKERS="1", **extra)
    return env


def mint(scope: str) -> str:
    from governor.clock import SystemClock
    from governor.security.tokens import Authenticator

    return Authenticator(SECRET, "governor", "governor", 0).mint("log-test", [scope], 600, SystemClock().now())


def raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        return s.recv(65536)


def test_no_raw_path_reaches_the_log(tmp_path):
    """A served run at the most talkative level (debug), with the scheduler: ids in paths, query
    strings and malformed request lines answered, then the whole output grepped for them."""
    port = free_port()
    env = serve_env(f"sqlite:///{tmp_path / 'governor.db'}", GOVERNOR_BIND=f"127.0.0.1:{port}",
                    GOVERNOR_LOG_LEVEL="debug", GOVERNOR_SWEEP_INTERVAL_SECONDS="1")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "governor"), "serve"], cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, proc, log)
        fe, aud, grd = mint("sessions"), mint("audit"), mint("guardian")
        assert call("GET", f"{base}/v1/users/kid-Zq81xA/status", fe)[0] == 200
        assert call("GET", f"{base}/v1/users/kid-Zq81xA/status?purpose=Zq81xQ", fe)[0] == 422
        status, started = call("POST", f"{base}/v1/sessions", fe, {"user_id": "kid-Zq81xB"})
        assert status == 201
        sid = started["session_id"]
        assert call("POST", f"{base}/v1/sessions/{sid}/heartbeat", fe)[0] == 200
        assert call("GET", f"{base}/v1/users/kid-Zq81xB/usage?from=2026-01-01&to=Zq81xD", aud)[0] == 422
        assert call("GET", f"{base}/v1/guardians/gdn-Zq81xC/children", grd)[0] in (200, 404)
        assert call("GET", f"{base}/v1/users/kid-Zq81xE/status")[0] == 401
        assert call("GET", f"{base}/nowhere/Zq81xF")[0] == 404
        assert raw(port, b"GET /v1/users/kid-Zq81xG/status HTTP/1.1 junk\r\n\r\n").startswith(b"HTTP/1.1 400")
        assert raw(port, b"GET /v1/users/kid-Zq81xH/status HTTP/9.9\r\n\r\n").startswith(b"HTTP/1.1 400")
        assert raw(port, b"GET /v1/users/" + b"Zq81xI" * 1000 + b" HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 414")
    finally:
        stop(proc)
    output = log.read_text(errors="replace")
    assert '"route": "/v1/users/<uid>/status"' in output  # requests are logged, by their route
    assert "Invalid request from ip=127.0.0.1" in output  # and gunicorn's refusals, without the line
    leaked = sorted(set(re.findall(r"[^\n]*(?:Zq81x|" + re.escape(sid) + r")[^\n]*", output)))
    assert leaked == [], "\n".join(leaked[:10])


def test_a_busy_port_is_one_clear_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        done = governor("serve", cwd=tmp_path, timeout=30,
                        **serve_env(f"sqlite:///{tmp_path / 'g.db'}", GOVERNOR_BIND=f"127.0.0.1:{port}"))
    line = one_line(done)
    assert line == (f"governor: GOVERNOR_BIND: 127.0.0.1:{port} is already in use (another Governor or another "
                    f"server listens there); stop it, or choose another port, e.g. GOVERNOR_BIND=127.0.0.1:{port + 1}")
    assert "connect" not in done.stderr.lower() and time.monotonic() - started < 15  # no gunicorn retries
    assert not (tmp_path / "g.db").exists()  # refused before migrating


def test_the_banner_names_the_address_actually_served(tmp_path):
    """Port 0: the system picks one; the banner says which, and that is where the server answers."""
    env = serve_env(f"sqlite:///{tmp_path / 'governor.db'}", GOVERNOR_BIND="127.0.0.1:0", GOVERNOR_SCHEDULER="0",
                    GOVERNOR_ENV="development", GOVERNOR_INSTANCE_DIR=str(tmp_path / "instance"))
    env.pop("GOVERNOR_JWT_SECRET")
    proc = subprocess.Popen([str(BIN / "governor"), "serve", "--banner"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Admin console:"):
                break
        match = re.match(r"Governor on (http://127\.0\.0\.1:(\d+)) \(development: ", "".join(lines).strip())
        assert match and match.group(2) != "0", lines
        url = match.group(1)
        assert call("GET", url + "/healthz") == (200, {"status": "ok"})
        assert "  export GOVERNOR_ENV=development\n" in lines
        assert f"Admin console: {url}/admin/ (sign in with: governor token --sub me --scope admin)\n" in lines
        token_line = next(line for line in lines if "TOKEN=$(" in line)
        command = token_line.split("$(", 1)[1].rsplit(")", 1)[0].split()
        minted = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert call("GET", f"{url}/v1/users/u-1/status", minted.stdout.strip())[0] == 200
    finally:
        stop(proc)
        proc.stdout.close()


def test_the_scheduler_child_of_serve_logs_json_without_its_own_metrics_port(tmp_path):
    """serve's scheduler child reports through serve's /metrics (one metrics folder), so a
    GOVERNOR_SCHEDULER_METRICS_BIND meant for a separate scheduler opens no port here."""
    port, metrics_port = free_port(), free_port()
    env = serve_env(f"sqlite:///{tmp_path / 'governor.db'}", GOVERNOR_BIND=f"127.0.0.1:{port}",
                    GOVERNOR_SWEEP_INTERVAL_SECONDS="1", GOVERNOR_SCHEDULER_METRICS_BIND=f"127.0.0.1:{metrics_port}")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "governor"), "serve"], cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", proc, log)
        deadline = time.monotonic() + 20
        text = ""
        while "governor_sweeps_total 0.0" in text or "governor_sweeps_total" not in text:
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                text = b"".join(iter(lambda: s.recv(65536), b"")).decode()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", metrics_port), timeout=2).close()
    finally:
        stop(proc)
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(r["msg"].startswith('Running job "sweep') for r in records)
