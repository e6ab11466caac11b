"""`governor serve`: migrate, then gunicorn in this process (cli/server.py), and the scheduler as
one child process, never inside the web workers."""
from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from governor.cli.common import command, json_logs, say
from governor.cli.db import cmd_db
from governor.config import ConfigError, Settings, jwt_secret, secret_source

GUNICORN_JSON_LOGS = {  # no "gunicorn.access" logger: requests are logged by the app (route, not path)
    "version": 1, "disable_existing_loggers": False,
    "formatters": {"json": {"()": "governor.observability.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False}},
}


def add_parsers(sub) -> None:
    serve = command(sub, "serve", "apply migrations, then serve with gunicorn (and the scheduler)",
                    "Apply pending migrations and activate a changed policy file (as `db upgrade`), then serve the "
                    "API and the admin console with gunicorn (GOVERNOR_BIND, GOVERNOR_WORKERS); with "
                    "GOVERNOR_SCHEDULER=1 the background jobs run in one child process.")
    serve.add_argument("--banner", action="store_true",
                       help="once listening, print the address served and how to call it (`make run` does)")
    serve.set_defaults(run=cmd_serve)


def cmd_serve(settings: Settings, args) -> int:
    from governor import create_app
    from governor.cli.server import Server

    jwt_secret(settings)  # refuse a missing or weak secret before anything starts
    say(secret_source(settings))
    if settings.jwt_keys:  # and a bad key file, which would otherwise stop every worker
        from governor.clock import SystemClock
        from governor.security.keys import KeySet
        KeySet(settings.jwt_keys, SystemClock())
    check_bind(settings.bind)  # a busy port is one line now, not gunicorn's retries and "connect" later
    metrics_dir = _multiprocess_metrics()
    json_logs(settings)  # after the metrics folder is set: it imports prometheus_client
    scheduler = None
    try:
        if settings.audit_signing_key:  # imports prometheus_client: after _multiprocess_metrics
            from governor.service.audit.checkpoints import load_signing_key
            load_signing_key(settings.audit_signing_key)
        cmd_db(settings, args)
        if settings.scheduler:  # its metrics go to this folder, and out through serve's /metrics
            env = {**os.environ, "GOVERNOR_SCHEDULER_METRICS_BIND": ""}
            scheduler = subprocess.Popen([sys.executable, "-m", "governor.cli", "scheduler"], env=env)
        extra = {"logconfig_dict": GUNICORN_JSON_LOGS}
        if args.banner:
            extra["when_ready"] = lambda arbiter: banner(settings, [str(lnr) for lnr in arbiter.LISTENERS])
        Server(settings, create_app, extra).run()
    finally:
        if scheduler is not None:
            scheduler.terminate()
            try:
                scheduler.wait(timeout=10)
            except subprocess.TimeoutExpired:
                scheduler.kill()
                scheduler.wait()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def check_bind(bind: str) -> None:
    """Refuse an address that cannot be listened on (most often: another server has the port)."""
    from gunicorn.util import parse_address

    try:
        address = parse_address(bind)
    except RuntimeError as e:
        raise ConfigError(f"GOVERNOR_BIND: {e}") from None
    if not isinstance(address, tuple):  # a unix socket or an inherited descriptor: gunicorn's to check
        return
    host, port = address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ConfigError(f"GOVERNOR_BIND: {host}:{port} is already in use (another Governor or another "
                                  f"server listens there); stop it, or choose another port, e.g. "
                                  f"GOVERNOR_BIND={host}:{port + 1}") from None
            raise ConfigError(f"GOVERNOR_BIND: cannot listen on {bind}: {e.strerror or e}") from None


def banner(settings: Settings, listeners: list[str]) -> None:
    """What `make run` shows once the server listens: the address it really serves (the port
    GOVERNOR_BIND asked for, or the one the system gave for port 0) and how to call it."""
    url = next((lnr for lnr in listeners if lnr.startswith("http")), listeners[0] if listeners else settings.bind)
    governor = Path(sys.executable).parent / "governor"
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    lines = ["", f"Governor on {url} ({settings.env}: database {database}; {secret_source(settings)}).",
             "In another shell (any folder; relative paths are taken from GOVERNOR_HOME, default the project folder):"]
    if settings.development:
        lines.append("  export GOVERNOR_ENV=development")
    lines += [f"  TOKEN=$({governor} token --sub chat-web --scope sessions)",
              f'  curl -s -H "Authorization: Bearer $TOKEN" {url}/v1/users/u-1/status',
              f"Admin console: {url}/admin/ (sign in with: governor token --sub me --scope admin)", ""]
    print("\n".join(lines), flush=True)


def _multiprocess_metrics() -> str | None:
    """Give the workers (and the scheduler) one fresh metrics folder, so that /metrics adds up
    every process and not only the worker that answers the scrape. prometheus_client reads the
    variable when it is first imported, so this runs before anything imports it. An operator's
    own PROMETHEUS_MULTIPROC_DIR is kept (and theirs to empty between runs)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ:
        return None
    prefix = "governor-metrics-"
    for old in Path(tempfile.gettempdir()).glob(prefix + "*"):  # left by a serve that was killed
        pid = old.name.removeprefix(prefix).partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    path = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's
        return True
    return True
