"""What a newcomer tripped on (issue 18.9): `governor --version`, shipped packs found by name,
`token --key` without `--kid`, and the separate scheduler's metrics and job names."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import urllib.request
from importlib import metadata

import jwt
import pytest

from governor.security.keys import parse_jwks
from tests.conftest import SECRET
from tests.e2e.conftest import free_port
from tests.integration.test_cli import GOVERNOR, TIMEOUT, governor, one_line, policy_rows


@pytest.fixture
def sqlite_env(tmp_path) -> dict[str, str]:
    return {"GOVERNOR_DATABASE_URL": f"sqlite:///{tmp_path / 'governor.db'}", "GOVERNOR_JWT_SECRET": SECRET}


def test_the_token_help_names_every_scope():
    from governor.cli.tokens import SCOPE_NAMES
    from governor.security.tokens import SCOPES

    assert SCOPE_NAMES == SCOPES


def test_version(tmp_path):
    done = governor("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == f"governor {metadata.version('governor')}\n", done


def test_policy_validate_and_governor_policy_find_a_shipped_pack_by_its_name(tmp_path, sqlite_env):
    done = governor("policy", "validate", "us-ca-sb243.toml", cwd=tmp_path)  # not in this folder
    assert done.returncode == 0, done.stderr
    assert done.stdout == "us-ca-sb243.toml: valid policy 'us-ca-sb243' (America/Los_Angeles, 0 holidays)\n"
    up = governor("db", "upgrade", cwd=tmp_path, GOVERNOR_POLICY="us-ca-sb243.toml", **sqlite_env)
    assert up.returncode == 0, up.stderr
    assert [(v, name) for v, name, _ in policy_rows(sqlite_env["GOVERNOR_DATABASE_URL"])] == [(1, "us-ca-sb243")]
    own = tmp_path / "us-ca-sb243.toml"  # a file of that name where the command runs comes first
    own.write_text("not toml [")
    assert "us-ca-sb243.toml" in one_line(governor("policy", "validate", "us-ca-sb243.toml", cwd=tmp_path))
    line = one_line(governor("policy", "validate", "nowhere.toml", cwd=tmp_path))
    assert "nowhere.toml" in line and "cannot read" in line


def test_token_with_a_generated_key_needs_no_kid(tmp_path):
    assert governor("keys", "generate", "--kid", "k1", cwd=tmp_path).returncode == 0
    assert (tmp_path / "k1.pem").read_text().startswith("kid: k1\n-----BEGIN PRIVATE KEY-----\n")
    done = governor("token", "--key", "k1.pem", "--sub", "web", "--scope", "sessions", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert jwt.get_unverified_header(token)["kid"] == "k1"
    key = parse_jwks((tmp_path / "jwks.json").read_text())["k1"]
    assert jwt.decode(token, key.key, algorithms=[key.algorithm], audience="governor")["sub"] == "web"
    same = governor("token", "--key", "k1.pem", "--kid", "k1", "--sub", "web", "--scope", "sessions", cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert "is the key 'k1', not 'k2'" in one_line(governor("token", "--key", "k1.pem", "--kid", "k2", "--sub",
                                                            "web", "--scope", "sessions", cwd=tmp_path))
    plain = tmp_path / "plain.pem"  # a key from elsewhere (openssl, an older governor) says no kid
    plain.write_text((tmp_path / "k1.pem").read_text().split("\n", 1)[1])
    assert "add --kid" in one_line(governor("token", "--key", "plain.pem", "--sub", "web", "--scope", "sessions",
                                            cwd=tmp_path))
    done = governor("token", "--key", "plain.pem", "--kid", "k1", "--sub", "web", "--scope", "sessions",
                    cwd=tmp_path)
    assert done.returncode == 0 and jwt.get_unverified_header(done.stdout.strip())["kid"] == "k1"


def test_a_separate_scheduler_serves_its_metrics_and_names_its_jobs(tmp_path, sqlite_env):
    assert governor("db", "upgrade", cwd=tmp_path, **sqlite_env).returncode == 0
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVERNOR_")}
    env.update(sqlite_env, GOVERNOR_SWEEP_INTERVAL_SECONDS="1", GOVERNOR_SCHEDULER_METRICS_BIND=f"127.0.0.1:{port}")
    proc = subprocess.Popen([GOVERNOR, "scheduler"], cwd=tmp_path, env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    guard = threading.Timer(TIMEOUT, lambda: os.killpg(proc.pid, signal.SIGKILL))
    guard.start()
    lines = []
    try:
        for line in proc.stderr:
            lines.append(line)
            if "apscheduler" in line and "executed successfully" in line:
                break
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            metrics = r.read().decode()
    finally:
        guard.cancel()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stderr.close()
    sweeps = [float(line.split()[1]) for line in metrics.splitlines() if line.startswith("governor_sweeps_total ")]
    assert sweeps and sweeps[0] >= 1, metrics
    messages = [json.loads(line)["msg"] for line in lines if line.startswith("{")]
    assert any(m.startswith('Running job "sweep (trigger: interval') for m in messages), messages
    assert not [m for m in messages if "<locals>" in m or "_guarded" in m]


@pytest.mark.parametrize("bind, says", [("9108", "use host:port"), ("127.0.0.1:http", "use host:port")])
def test_a_bad_scheduler_metrics_address_is_one_line(tmp_path, sqlite_env, bind, says):
    line = one_line(governor("scheduler", cwd=tmp_path, timeout=30, GOVERNOR_SCHEDULER_METRICS_BIND=bind,
                             **sqlite_env))
    assert line.startswith("governor: GOVERNOR_SCHEDULER_METRICS_BIND: ") and says in line, line


def test_a_busy_scheduler_metrics_port_is_one_line(tmp_path, sqlite_env):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(governor("scheduler", cwd=tmp_path, timeout=30,
                                 GOVERNOR_SCHEDULER_METRICS_BIND=f"127.0.0.1:{port}", **sqlite_env))
    assert line.startswith(f"governor: GOVERNOR_SCHEDULER_METRICS_BIND: cannot listen on 127.0.0.1:{port}"), line
