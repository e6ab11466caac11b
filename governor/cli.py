"""The `governor` command."""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy.exc import OperationalError

from governor import cli_admin
from governor.config import ConfigError, Settings, jwt_secret, load_settings
from governor.domain.policy import PolicyInvalid
from governor.store.database import DatabaseUnavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="governor", description="Minor-protection usage governor.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="apply migrations, then serve with gunicorn (and the scheduler)")
    token = sub.add_parser("token", help="mint a token; prints the token alone")
    token.add_argument("--sub", required=True, help="the client's name (the token's subject)")
    token.add_argument("--scope", required=True, help='space-separated scopes, e.g. "sessions"')
    token.add_argument("--ttl", default="3600", help="lifetime in seconds (default 3600)")
    db = sub.add_parser("db", help="database commands")
    db.add_argument("action", choices=["upgrade"])
    cli_admin.add_parsers(sub)
    sub.add_parser("sweep", help="close stale sessions once, now")
    sub.add_parser("scheduler", help="run the background jobs in this process")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = load_settings()
        return COMMANDS[args.command](settings, args)
    except (ConfigError, PolicyInvalid) as e:
        print(f"governor: {e}", file=sys.stderr)
        return 2
    except (DatabaseUnavailable, OperationalError) as e:  # migrations raise the latter
        cause = e.orig if isinstance(e, OperationalError) and e.orig else e
        print(f"governor: database error: {str(cause).splitlines()[0]}", file=sys.stderr)
        return 1


def _services(settings: Settings):
    from governor.clock import SystemClock
    from governor.service.context import Services
    from governor.store.database import Database

    return Services(Database(settings.database_url), SystemClock(), settings)


def cmd_db(settings: Settings, args) -> int:
    from governor.service import policies
    from governor.store.migrate import upgrade

    upgrade(settings.database_url)
    version = policies.sync_file(_services(settings), settings.policy_path())
    print(f"database is up to date; active policy version {version}", file=sys.stderr)
    return 0


def cmd_token(settings: Settings, args) -> int:
    from governor.auth import SCOPES, Authenticator
    from governor.clock import SystemClock

    scopes = args.scope.split()
    unknown = [s for s in scopes if s not in SCOPES]
    if not scopes or unknown:
        raise ConfigError(f"--scope: use one or more of {', '.join(SCOPES)} (got {args.scope!r})")
    try:  # checked here, not by argparse, whose error would add a usage line
        ttl = int(args.ttl)
    except ValueError:
        ttl = 0
    if not 0 < ttl <= settings.jwt_max_ttl_seconds:
        raise ConfigError(f"--ttl: must be 1..{settings.jwt_max_ttl_seconds} seconds (got {args.ttl[:20]!r})")
    auth = Authenticator(jwt_secret(settings), settings.jwt_issuer, settings.jwt_audience, 0)
    print(auth.mint(args.sub, scopes, ttl, SystemClock().now()))
    return 0


def cmd_sweep(settings: Settings, args) -> int:
    from governor import jobs

    closed = jobs.sweep(_services(settings))
    print("skipped: another instance is sweeping" if closed is None else f"closed {closed} stale sessions")
    return 0


def cmd_scheduler(settings: Settings, args) -> int:
    from governor import jobs

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    jobs.run_scheduler(_services(settings))
    return 0


def cmd_serve(settings: Settings, args) -> int:
    """Migrate, then run gunicorn in this process; the scheduler runs as one child process,
    never inside the web workers."""
    from governor import create_app
    from governor.server import Server

    jwt_secret(settings)  # refuse a missing or weak secret before anything starts
    metrics_dir = _multiprocess_metrics()
    scheduler = None
    try:
        cmd_db(settings, args)
        if settings.scheduler:
            scheduler = subprocess.Popen([sys.executable, "-m", "governor.cli", "scheduler"], env=os.environ.copy())

        Server(settings, create_app).run()
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


COMMANDS = {"serve": cmd_serve, "token": cmd_token, "db": cmd_db, "sweep": cmd_sweep,
            "audit": lambda settings, args: cli_admin.cmd_audit(settings, args, _services),
            "policy": lambda settings, args: cli_admin.cmd_policy(settings, args, _services),
            "scheduler": cmd_scheduler}

if __name__ == "__main__":
    sys.exit(main())
