"""The `governor` command as an operator runs it: a subprocess with its own environment, from a
working directory of its own. What it prints on stdout is the result alone (`TOKEN=$(governor
token ...)` works); anything wrong is one line on stderr and exit status 2."""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from sqlalchemy import create_engine, inspect, select, update

from governor import create_app
from governor.clock import FakeClock, SystemClock
from governor.config import PROJECT_DIR
from governor.store.tables import AuditEvent, ChatSession, PolicyVersion
from tests.conftest import DEFAULT_POLICY, SECRET, settings_for
from tests.e2e.conftest import free_port

GOVERNOR = str(PROJECT_DIR / ".venv" / "bin" / "governor")
TIMEOUT = 60


def governor(*args: str, cwd: Path, timeout: float = TIMEOUT, **env: str) -> subprocess.CompletedProcess:
    """Run the command in its own process group, which is killed whole if it overstays."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GOVERNOR_")}
    proc = subprocess.Popen([GOVERNOR, *args], cwd=cwd, env={**clean, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
        pytest.fail(f"governor {' '.join(args)} did not finish within {timeout}s:\n{out}\n{err}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # nothing it started outlives it
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def one_line(done: subprocess.CompletedProcess) -> str:
    """The refusal: status 2, nothing on stdout, one line on stderr (after those that say which
    database and secret the command uses, when it got that far)."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if not line.startswith("governor: using ")]
    assert len(lines) == 1 and lines[0].startswith("governor: "), done.stderr
    return lines[0]


@pytest.fixture
def sqlite_env(tmp_path) -> dict[str, str]:
    return {"GOVERNOR_DATABASE_URL": f"sqlite:///{tmp_path / 'governor.db'}", "GOVERNOR_JWT_SECRET": SECRET}


def policy_rows(url: str) -> list[tuple[int, str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(select(PolicyVersion.version, PolicyVersion.name,
                                                       PolicyVersion.document).order_by(PolicyVersion.version))]
    finally:
        engine.dispose()


def policy_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = Path(DEFAULT_POLICY).read_text()
    assert old in text
    path = tmp_path / "edited.toml"
    path.write_text(text.replace(old, new, 1))
    return path


# -- token --------------------------------------------------------------------------------------

def test_token_prints_a_jwt_alone_that_carries_the_scopes(tmp_path, sqlite_env):
    done = governor("token", "--sub", "chat-web", "--scope", "sessions age", "--ttl", "120", cwd=tmp_path,
                    **sqlite_env)
    assert done.returncode == 0, done.stderr
    token = done.stdout.removesuffix("\n")
    assert done.stdout == token + "\n" and len(token.split(".")) == 3
    assert done.stderr == "governor: using the secret in GOVERNOR_JWT_SECRET\n"  # says which, never the secret
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="governor", issuer="governor",
                        options={"require": ["exp", "iat", "sub", "scope"]})
    assert claims["sub"] == "chat-web" and claims["scope"].split() == ["sessions", "age"]
    assert claims["exp"] - claims["iat"] == 120
    assert abs(claims["iat"] - SystemClock().now().timestamp()) < 60
    assert not (tmp_path / "governor.db").exists()  # minting a token touches no database


@pytest.mark.parametrize("args, names", [
    (["--scope", "sessions bogus"], "--scope"),
    (["--scope", ""], "--scope"),
    (["--scope", "sessions", "--ttl", "0"], "--ttl"),
    (["--scope", "sessions", "--ttl", "-5"], "--ttl"),
    (["--scope", "sessions", "--ttl", "abc"], "--ttl"),
    (["--scope", "sessions", "--ttl", "2592001"], "--ttl"),
])
def test_token_refuses_unknown_scopes_and_bad_lifetimes(tmp_path, sqlite_env, args, names):
    line = one_line(governor("token", "--sub", "chat-web", *args, cwd=tmp_path, **sqlite_env))
    assert line.startswith(f"governor: {names}:"), line


def test_token_refuses_a_missing_or_weak_secret_in_production(tmp_path):
    assert "GOVERNOR_JWT_SECRET: not set" in one_line(governor("token", "--sub", "a", "--scope", "admin",
                                                                cwd=tmp_path))
    assert "GOVERNOR_JWT_SECRET: too weak" in one_line(governor("token", "--sub", "a", "--scope", "admin",
                                                                 cwd=tmp_path, GOVERNOR_JWT_SECRET="short"))


# -- db upgrade ---------------------------------------------------------------------------------

def test_db_upgrade_creates_the_schema_and_activates_the_policy_once(tmp_path, sqlite_env):
    url = sqlite_env["GOVERNOR_DATABASE_URL"]
    first = governor("db", "upgrade", cwd=tmp_path, **sqlite_env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "" and "active policy version 1" in first.stderr
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"users", "sessions", "usage_days", "grants", "policies", "audit_events", "audit_chains",
            "complaints", "alembic_version"} <= tables
    assert [(v, n) for v, n, _ in policy_rows(url)] == [(1, "cn-minor-mode")]

    again = governor("db", "upgrade", cwd=tmp_path, **sqlite_env)
    assert again.returncode == 0 and "active policy version 1" in again.stderr, again.stderr
    assert [v for v, _, _ in policy_rows(url)] == [1]


def test_an_edited_policy_file_is_activated_as_the_next_version(tmp_path, db_url):
    env = {"GOVERNOR_DATABASE_URL": db_url, "GOVERNOR_JWT_SECRET": SECRET,
           "GOVERNOR_POLICY": str(policy_copy(tmp_path, "daily_limit_minutes = 60", "daily_limit_minutes = 45"))}
    for _ in range(2):  # the second run finds the file unchanged
        done = governor("db", "upgrade", cwd=tmp_path, **env)
        assert done.returncode == 0 and "active policy version 2" in done.stderr, done.stderr
    rows = policy_rows(db_url)
    assert [v for v, _, _ in rows] == [1, 2]
    assert json.loads(rows[1][2])["bands"]["age_8_15"]["daily_limit_minutes"] == 45
    engine = create_engine(db_url)
    try:
        with engine.connect() as c:
            activations = c.execute(select(AuditEvent.policy_version, AuditEvent.data)
                                    .where(AuditEvent.action == "policy.activated")
                                    .order_by(AuditEvent.id)).all()
    finally:
        engine.dispose()
    assert [v for v, _ in activations] == [1, 2]
    assert json.loads(activations[1].data)["source"] == "file:edited.toml"


@pytest.mark.parametrize("old, new, names", [
    ("daily_limit_minutes = 60", 'daily_limit_minutes = "sixty"', "bands.age_8_15.daily_limit_minutes"),
    ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', "timezone"),
    ("[bands.adult]", "[bands.adults]", "bands"),
    ('name = "cn-minor-mode"', 'name = "cn-minor-mode', "TOML"),
])
def test_a_broken_policy_file_stops_db_upgrade_with_one_line(tmp_path, sqlite_env, sqlite_template, old, new,
                                                              names):
    shutil.copy(sqlite_template, tmp_path / "governor.db")
    path = policy_copy(tmp_path, old, new)
    line = one_line(governor("db", "upgrade", cwd=tmp_path, GOVERNOR_POLICY=str(path), **sqlite_env))
    assert str(path) in line and names in line, line
    assert [v for v, _, _ in policy_rows(sqlite_env["GOVERNOR_DATABASE_URL"])] == [1]  # nothing activated


def test_a_missing_policy_file_is_one_line_naming_it(tmp_path, sqlite_env):
    line = one_line(governor("db", "upgrade", cwd=tmp_path, GOVERNOR_POLICY=str(tmp_path / "nope.toml"),
                             **sqlite_env))
    assert "nope.toml" in line and "cannot read" in line


# -- serve and settings -------------------------------------------------------------------------

@pytest.mark.parametrize("secret, says", [(None, "not set"), ("", "not set"), ("x" * 31, "too weak")])
def test_serve_refuses_a_missing_or_weak_secret_in_production(tmp_path, secret, says):
    env = {"GOVERNOR_DATABASE_URL": f"sqlite:///{tmp_path / 'governor.db'}", "GOVERNOR_BIND": "127.0.0.1:1"}
    if secret is not None:
        env["GOVERNOR_JWT_SECRET"] = secret
    line = one_line(governor("serve", cwd=tmp_path, timeout=30, **env))
    assert line.startswith("governor: GOVERNOR_JWT_SECRET: ") and says in line, line
    assert not (tmp_path / "governor.db").exists()  # refused before anything started


def test_development_generates_a_secret_once_and_tokens_use_it(tmp_path):
    env = {"GOVERNOR_ENV": "development", "GOVERNOR_INSTANCE_DIR": str(tmp_path / "inst")}
    first = governor("token", "--sub", "dev", "--scope", "admin", cwd=tmp_path, **env)
    assert first.returncode == 0, first.stderr
    secret_file = tmp_path / "inst" / "dev-secret"
    secret = secret_file.read_text().strip()
    assert len(secret.encode()) >= 32 and stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert [p.name for p in secret_file.parent.iterdir()] == ["dev-secret"]  # no temporary file left
    second = governor("token", "--sub", "dev", "--scope", "admin", cwd=tmp_path, **env)
    assert second.returncode == 0 and secret_file.read_text().strip() == secret
    for done in (first, second):
        assert jwt.decode(done.stdout.strip(), secret, algorithms=["HS256"], audience="governor")["sub"] == "dev"


def test_a_command_run_elsewhere_uses_the_homes_instance_folder_and_says_so(tmp_path):
    """Run from another folder, the command uses GOVERNOR_HOME's instance/ (by default the project
    folder's), creates nothing where it stands, and names the database and secret on stderr."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir(), elsewhere.mkdir()
    env = {"GOVERNOR_ENV": "development", "GOVERNOR_HOME": str(home)}
    done = governor("token", "--sub", "dev", "--scope", "sessions", cwd=elsewhere, **env)
    assert done.returncode == 0, done.stderr
    secret = (home / "instance" / "dev-secret").read_text().strip()
    assert jwt.decode(done.stdout.strip(), secret, algorithms=["HS256"], audience="governor")["sub"] == "dev"
    assert done.stderr == f"governor: using the development secret in {home / 'instance' / 'dev-secret'}\n"
    done = governor("db", "upgrade", cwd=elsewhere, **env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == f"governor: using database sqlite:///{home / 'instance' / 'governor.db'}"
    assert (home / "instance" / "governor.db").exists() and list(elsewhere.iterdir()) == []


def test_an_unknown_governor_variable_is_named_with_the_nearest_known_one(tmp_path, sqlite_env):
    done = governor("token", "--sub", "a", "--scope", "admin", cwd=tmp_path, GOVERNOR_DATABSE_URL="sqlite:///x.db",
                    GOVERNOR_FROBNICATE="1", **sqlite_env)
    assert done.returncode == 0 and done.stdout.count(".") == 2, done.stderr
    assert "GOVERNOR_DATABSE_URL is not a Governor setting and is ignored; did you mean GOVERNOR_DATABASE_URL?" \
        in done.stderr
    assert "GOVERNOR_FROBNICATE is not a Governor setting and is ignored; see README" in done.stderr


@pytest.mark.parametrize("words, says", [
    (["db", "upgrade"], "Apply every pending Alembic migration"),
    (["audit", "verify"], "Check every hash chain"),
    (["audit", "export"], "Stream every matching event"),
    (["audit", "prune"], "Remove audit events older than the retention"),
    (["policy", "activate"], "activate it as the next version"),
    (["token"], "TOKEN=$(governor token"),
    (["serve"], "Apply pending migrations"),
])
def test_each_subcommand_has_its_own_help(tmp_path, words, says):
    done = governor(*words, "--help", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith(f"usage: governor {' '.join(words)} ")
    assert says in " ".join(done.stdout.split()), done.stdout


@pytest.mark.parametrize("command, name, value, says", [
    ("serve", "GOVERNOR_WORKERS", "abc", "GOVERNOR_WORKERS: workers must be a whole number"),
    ("sweep", "GOVERNOR_WORKERS", "abc", "GOVERNOR_WORKERS: workers must be a whole number"),
    ("serve", "GOVERNOR_SCHEDULER", "maybe", "GOVERNOR_SCHEDULER: scheduler must be 1/0"),
    ("db upgrade", "GOVERNOR_ENV", "staging", "GOVERNOR_ENV: 'staging'"),
    ("sweep", "GOVERNOR_CONFIG", "/nonexistent/governor.toml", "/nonexistent/governor.toml: cannot read"),
    ("serve", "GOVERNOR_DATABASE_URL", "mysql://db/governor", "GOVERNOR_DATABASE_URL: use sqlite:///"),
    ("db upgrade", "GOVERNOR_DATABASE_URL", "not a url", "GOVERNOR_DATABASE_URL: use sqlite:///"),
    ("sweep", "GOVERNOR_DATABASE_URL", "sqlite://", "GOVERNOR_DATABASE_URL: name a SQLite file"),
])
def test_a_bad_setting_is_one_line(tmp_path, command, name, value, says):
    env = {"GOVERNOR_JWT_SECRET": SECRET, "GOVERNOR_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
           "GOVERNOR_BIND": "127.0.0.1:1", name: value}
    line = one_line(governor(*command.split(), cwd=tmp_path, timeout=30, **env))
    assert line.startswith(f"governor: {says}"), line
    assert not (tmp_path / "g.db").exists()


def test_an_unreachable_database_is_one_line_not_a_traceback(tmp_path):
    env = {"GOVERNOR_JWT_SECRET": SECRET, "GOVERNOR_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    for command in (["sweep"], ["db", "upgrade"]):
        done = governor(*command, cwd=tmp_path, timeout=30, **env)
        assert done.returncode == 1 and done.stdout == "", done
        assert done.stderr.splitlines() == ["governor: using database postgresql+psycopg://nobody@127.0.0.1:1/none",
                                            done.stderr.splitlines()[1]], done.stderr
        assert done.stderr.splitlines()[1].startswith("governor: database error:"), done.stderr


# -- sweep --------------------------------------------------------------------------------------

def test_sweep_closes_stale_sessions_once_and_says_how_many(tmp_path, db_url):
    long_ago = SystemClock().now() - timedelta(minutes=10)
    app = create_app(settings_for(db_url), clock=FakeClock(long_ago))
    try:
        svc = app.extensions["governor"]
        client, auth = app.test_client(), app.extensions["governor.auth"]
        headers = {"Authorization": "Bearer " + auth.mint("t", ["sessions", "age"], 3600, SystemClock().now())}
        r = client.put("/v1/users/sleeper/age-verification", headers=headers,
                       json={"status": "verified", "birth_date": "1990-01-01"})
        assert r.status_code == 200 and r.json["band"] == "adult"
        stale = client.post("/v1/sessions", json={"user_id": "sleeper"}, headers=headers).json["session_id"]
        svc.clock.set(SystemClock().now())
        fresh = client.post("/v1/sessions", json={"user_id": "sleeper"}, headers=headers).json["session_id"]
    finally:
        app.extensions["governor"].db.dispose()
    env = {"GOVERNOR_DATABASE_URL": db_url, "GOVERNOR_JWT_SECRET": SECRET}

    done = governor("sweep", cwd=tmp_path, **env)
    assert done.returncode == 0 and done.stdout == "closed 1 stale sessions\n", (done.stdout, done.stderr)
    again = governor("sweep", cwd=tmp_path, **env)
    assert again.returncode == 0 and again.stdout == "closed 0 stale sessions\n", (again.stdout, again.stderr)

    engine = create_engine(db_url)
    try:
        with engine.connect() as c:
            rows = {r.id: r for r in c.execute(select(ChatSession))}
    finally:
        engine.dispose()
    closed = rows[stale]
    assert closed.end_reason == "timeout" and closed.counted_ms == 120_000  # up to the grace, no further
    assert closed.ended_at - closed.started_at == timedelta(seconds=120)
    assert rows[fresh].ended_at is None


# -- audit verify -------------------------------------------------------------------------------

def test_audit_verify_checks_the_chains_and_fails_on_an_edit(tmp_path, db_url):
    app = create_app(settings_for(db_url), clock=FakeClock(SystemClock().now()))
    try:
        auth = app.extensions["governor.auth"]
        headers = {"Authorization": "Bearer " + auth.mint("t", ["sessions"], 3600, SystemClock().now())}
        for user in ("a", "b"):
            app.test_client().post("/v1/sessions", json={"user_id": user}, headers=headers)
    finally:
        app.extensions["governor"].db.dispose()
    env = {"GOVERNOR_DATABASE_URL": db_url}  # no secret needed: it mints and verifies no token

    done = governor("audit", "verify", cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"ok": True, "events_checked": 3}  # policy.activated + 2 decisions

    engine = create_engine(db_url)
    try:
        with engine.begin() as c:
            victim = c.execute(select(AuditEvent.id).where(AuditEvent.chain != "system")
                               .order_by(AuditEvent.id).limit(1)).scalar()
            c.execute(update(AuditEvent).where(AuditEvent.id == victim).values(client="someone-else"))
    finally:
        engine.dispose()
    broken = governor("audit", "verify", cwd=tmp_path, **env)
    assert broken.returncode == 1, broken.stderr
    out = json.loads(broken.stdout)
    assert out["ok"] is False and out["first_bad_event"]["id"] == victim


def test_the_scheduler_logs_json_lines_apschedulers_included(tmp_path, sqlite_env):
    """Every line the scheduler process writes is a JSON object, APScheduler's own lines too."""
    assert governor("db", "upgrade", cwd=tmp_path, **sqlite_env).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVERNOR_")}
    env.update(sqlite_env, GOVERNOR_SWEEP_INTERVAL_SECONDS="1")
    lines = _stderr_until_a_sweep("scheduler", env, tmp_path)
    records = [json.loads(line) for line in lines if not line.startswith("governor: using ")]
    assert any(r["logger"].startswith("apscheduler") for r in records), lines
    assert {"ts", "level", "logger", "msg"} <= set(records[-1])


def test_serve_logs_json_lines_gunicorns_and_the_schedulers_included(tmp_path, sqlite_env):
    """Apart from the lines that name the database and secret, `governor serve` writes JSON lines:
    gunicorn's own, the app's, and the scheduler child's (APScheduler's included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVERNOR_")}
    env.update(sqlite_env, GOVERNOR_SWEEP_INTERVAL_SECONDS="1", GOVERNOR_BIND=f"127.0.0.1:{free_port()}",
               GOVERNOR_WORKERS="1")
    lines = _stderr_until_a_sweep("serve", env, tmp_path)
    plain = [line for line in lines if line.startswith(("governor: using ", "database is up to date"))]
    records = [json.loads(line) for line in lines if line not in plain]
    loggers = {r["logger"] for r in records}
    assert "gunicorn.error" in loggers and any(name.startswith("apscheduler") for name in loggers), lines


def _stderr_until_a_sweep(command: str, env: dict, tmp_path) -> list[str]:
    """The lines `governor <command>` writes to stderr until APScheduler logs a run of the sweep job
    (at INFO); the process is killed then, or after TIMEOUT, so the suite never hangs."""
    proc = subprocess.Popen([GOVERNOR, command], cwd=tmp_path, env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    lines = []
    guard = threading.Timer(TIMEOUT, lambda: os.killpg(proc.pid, signal.SIGKILL))
    guard.start()
    try:
        for line in proc.stderr:
            lines.append(line)
            if "apscheduler" in line and "executed successfully" in line:
                break
    finally:
        guard.cancel()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
    return lines
