"""The `governor` command."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys

from governor.config import ConfigError, Settings, jwt_secret, load_settings
from governor.domain.policy import PolicyInvalid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="governor", description="Minor-protection usage governor.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="apply migrations, then serve with gunicorn (and the scheduler)")
    token = sub.add_parser("token", help="mint a token; prints the token alone")
    token.add_argument("--sub", required=True, help="the client's name (the token's subject)")
    token.add_argument("--scope", required=True, help='space-separated scopes, e.g. "sessions"')
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    db = sub.add_parser("db", help="database commands")
    db.add_argument("action", choices=["upgrade"])
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
    if not 0 < args.ttl <= settings.jwt_max_ttl_seconds:
        raise ConfigError(f"--ttl: must be 1..{settings.jwt_max_ttl_seconds} seconds")
    auth = Authenticator(jwt_secret(settings), settings.jwt_issuer, settings.jwt_audience, 0)
    print(auth.mint(args.sub, scopes, args.ttl, SystemClock().now()))
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
    from gunicorn.app.base import BaseApplication

    from governor import create_app

    jwt_secret(settings)  # refuse a missing or weak secret before anything starts
    cmd_db(settings, args)
    scheduler = None
    if settings.scheduler:
        scheduler = subprocess.Popen([sys.executable, "-m", "governor.cli", "scheduler"], env=os.environ.copy())

    class Server(BaseApplication):
        def load_config(self):
            for key, value in {"bind": settings.bind, "workers": settings.workers, "threads": settings.threads,
                               "loglevel": settings.log_level, "accesslog": "-", "graceful_timeout": 10}.items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(settings)

    try:
        Server().run()
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.wait(timeout=10)
    return 0


COMMANDS = {"serve": cmd_serve, "token": cmd_token, "db": cmd_db, "sweep": cmd_sweep, "scheduler": cmd_scheduler}

if __name__ == "__main__":
    sys.exit(main())
