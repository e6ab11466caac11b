"""The real server, as a frontend sees it: ops endpoints, then a whole session walked with plain
HTTP calls and a token minted by the CLI. And `governor serve` itself: it serves, runs the
scheduler as its own child process, and takes that child down with it."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from tests.conftest import SECRET
from tests.e2e.conftest import BIN, call, free_port, server_env, stop, wait_until_up

pytestmark = pytest.mark.slow


def cli_token(server, scope: str, sub: str = "chat-web") -> str:
    done = subprocess.run([str(BIN / "governor"), "token", "--sub", sub, "--scope", scope], env=server.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_session_walked_end_to_end(server):
    assert call("GET", server.url + "/healthz") == (200, {"status": "ok"})
    assert call("GET", server.url + "/readyz") == (200, {"status": "ready"})
    with ThreadPoolExecutor(3) as pool:
        fe, verifier, auditor = pool.map(lambda a: cli_token(server, *a), [("sessions",), ("age", "kyc"), ("audit",)])
    base = server.url + "/v1"
    status, problem = call("GET", f"{base}/users/walker/status")
    assert status == 401 and problem["status"] == 401

    status, verified = call("PUT", f"{base}/users/walker/age-verification", verifier,
                            {"status": "verified", "birth_date": "1990-01-01", "assurance": "high"})
    assert status == 200 and verified["band"] == "adult"
    status, before = call("GET", f"{base}/users/walker/status", fe)
    assert status == 200 and before["allowed"] and before["active_sessions"] == 0

    status, started = call("POST", f"{base}/sessions", fe, {"user_id": "walker"})
    assert status == 201 and started["allowed"] and started["reason"] == "ok", started
    assert started["heartbeat_interval_seconds"] == 60 and started["ends_at"] is None
    sid = started["session_id"]
    status, beat = call("POST", f"{base}/sessions/{sid}/heartbeat", fe)
    assert status == 200 and beat["allowed"] and beat["session_id"] == sid
    assert call("GET", f"{base}/users/walker/status", fe)[1]["active_sessions"] == 1

    status, ended = call("POST", f"{base}/sessions/{sid}/end", fe)
    assert status == 200 and ended["end_reason"] == "client" and ended["duration_seconds"] >= 0
    assert call("POST", f"{base}/sessions/{sid}/end", fe)[0] == 200  # idempotent
    status, problem = call("POST", f"{base}/sessions/{sid}/heartbeat", fe)
    assert status == 409 and problem["type"].endswith("session-ended") and problem["end_reason"] == "client"
    assert call("POST", f"{base}/sessions/s_unknown/heartbeat", fe)[0] == 404

    status, usage = call("GET", f"{base}/users/walker/usage", auditor)
    assert status == 200 and usage["days"][-1]["sessions"] == 1 and sum(d["sessions"] for d in usage["days"]) == 1
    status, events = call("GET", f"{base}/audit/events?user_id=walker", auditor)
    assert [e["action"] for e in events["events"]] == ["verification.changed", "session.started", "session.ended"]
    assert {e["client"] for e in events["events"]} == {"kyc", "chat-web"}
    assert call("GET", f"{base}/audit/verify", auditor)[1]["ok"] is True

    claims = jwt.decode(fe, SECRET, algorithms=["HS256"], audience="governor", issuer="governor")
    forged = jwt.encode(claims, "another-secret-0123456789abcdef0123456789", "HS256")
    assert call("GET", f"{base}/users/walker/status", forged)[0] == 401
    assert call("GET", f"{base}/users/walker/usage", fe)[0] == 403  # usage needs audit or admin


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _environ(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(item.decode().partition("=")[::2] for item in f.read().split(b"\0") if item)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].startswith("Z")  # a zombie has exited
    except FileNotFoundError:
        return True


def test_governor_serve_runs_migrations_the_workers_and_one_scheduler(db_url, tmp_path):
    """All of them share one metrics folder (so /metrics adds up every process), removed at exit;
    one left by a serve that was killed is removed at start."""
    port = free_port()
    env = server_env(db_url, GOVERNOR_BIND=f"127.0.0.1:{port}", GOVERNOR_SCHEDULER="1", GOVERNOR_WORKERS="2",
                     TMPDIR=str(tmp_path))
    stale = tmp_path / "governor-metrics-999999999-old"  # a killed serve's: no such process
    stale.mkdir()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "governor"), "serve"], cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", proc, log)
        assert call("GET", f"http://127.0.0.1:{port}/readyz")[0] == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            kids = {pid: _cmdline(pid) for pid in _children(proc.pid)}
            schedulers = [pid for pid, cmd in kids.items() if cmd.endswith("governor.cli scheduler ")]
            if schedulers and len(kids) == 3:
                break
            time.sleep(0.1)
        assert len(schedulers) == 1 and len(kids) == 3, kids  # one scheduler, two workers
        metrics_dir = _environ(schedulers[0]).get("PROMETHEUS_MULTIPROC_DIR")  # workers fork, never exec
        assert metrics_dir and os.path.dirname(metrics_dir) == str(tmp_path) and os.path.isdir(metrics_dir)
        assert not stale.exists()
        assert {f"histogram_{pid}.db" for pid in kids} & set(os.listdir(metrics_dir))  # the worker that answered
        os.kill(proc.pid, signal.SIGTERM)  # the parent only, as a process manager would
        assert proc.wait(timeout=20) == 0
        deadline = time.monotonic() + 10
        while not all(_gone(pid) for pid in kids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(pid) for pid in kids), f"left behind: {kids}\n{log.read_text(errors='replace')}"
        assert not os.path.exists(metrics_dir)
    finally:
        stop(proc)
    assert "active policy version 1" in log.read_text()
