"""The `governor` command."""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from governor import cli_admin
from governor.auth import SCOPES
from governor.config import ConfigError, Settings, jwt_secret, load_settings, secret_source
from governor.domain.policy import PolicyInvalid
from governor.store.database import DatabaseUnavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="governor", description="Minor-protection usage governor.",
        epilog="Relative paths (the SQLite file, the policy, instance/) are taken from GOVERNOR_HOME, by default "
               "the project folder, wherever the command is run. Each command names the database and secret it "
               "uses on stderr; stdout carries only its result.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command(sub, "serve", "apply migrations, then serve with gunicorn (and the scheduler)",
            "Apply pending migrations and activate a changed policy file (as `db upgrade`), then serve the API "
            "and the admin console with gunicorn (GOVERNOR_BIND, GOVERNOR_WORKERS); with GOVERNOR_SCHEDULER=1 "
            "the background jobs run in one child process.")
    token = command(sub, "token", "mint a token; prints the token alone",
                    "Mint a signed token (HS256 with the configured secret) and print it alone on stdout, so that "
                    "TOKEN=$(governor token --sub chat-web --scope sessions) works.")
    token.add_argument("--sub", required=True, help="the client's name (the token's subject)")
    token.add_argument("--scope", required=True, help=f"space-separated scopes: {', '.join(SCOPES)}")
    token.add_argument("--ttl", default="3600", help="lifetime in seconds (default 3600)")
    token.add_argument("--key", type=Path, help="sign with this private key (PEM) instead of the HS256 secret")
    token.add_argument("--kid", help="the key's id in the JWKS (with --key)")
    keys = command(sub, "keys", "signing keys for development", "Signing keys for development.")
    keys_cmd = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    generate = command(keys_cmd, "generate", "write a private key and add its public key to a JWKS file",
                       "Write a private key (owner-only, never overwritten) and add its public key to a JWKS "
                       "file; name that file in GOVERNOR_JWT_KEYS and sign tokens with "
                       "`governor token --key PEM --kid KID`.")
    generate.add_argument("--kid", required=True, help="the key's id")
    generate.add_argument("--alg", choices=["EdDSA", "ES256", "RS256"], default="EdDSA")
    generate.add_argument("--private-key", type=Path, help="where the private key goes (default <kid>.pem)")
    generate.add_argument("--jwks", type=Path, default=Path("jwks.json"),
                          help="the JWKS file to write or add to (default jwks.json); name it in GOVERNOR_JWT_KEYS")
    db = command(sub, "db", "database commands", "Database commands.")
    db_cmd = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    command(db_cmd, "upgrade", "apply migrations and activate a changed policy file",
            "Apply every pending Alembic migration to GOVERNOR_DATABASE_URL (SQLite or PostgreSQL), then "
            "activate the policy file GOVERNOR_POLICY as the next version if it differs from the active one. "
            "Safe to run again.")
    cli_admin.add_parsers(sub, command)
    command(sub, "sweep", "close stale sessions once, now",
            "Close every session silent for longer than the heartbeat grace, counting its time up to the grace.")
    command(sub, "scheduler", "run the background jobs in this process",
            "Run the background jobs (sweep, retention) in this process until it is stopped; its logs are JSON.")
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


def command(sub, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does (not its parent's usage)."""
    return sub.add_parser(name, help=summary, description=description)


def _services(settings: Settings):
    from governor import dev_clock
    from governor.clock import SystemClock
    from governor.service.context import Services
    from governor.store.database import Database

    say(f"database {make_url(settings.database_url).render_as_string(hide_password=True)}")
    clock = dev_clock(settings, SystemClock()) if settings.development else SystemClock()
    return Services(Database(settings.database_url), clock, settings)


def say(what: str) -> None:
    """Which database and secret a command uses: on stderr, so stdout stays the result alone."""
    print(f"governor: using {what}", file=sys.stderr)


def cmd_db(settings: Settings, args) -> int:
    from governor.service import policies
    from governor.store.migrate import upgrade

    svc = _services(settings)
    upgrade(settings.database_url)
    version = policies.sync_file(svc, settings.policy_path())
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
    if args.key is None:
        if args.kid:
            raise ConfigError("--kid: goes with --key")
        secret = jwt_secret(settings)
        if secret is None:
            raise ConfigError("GOVERNOR_JWT_SECRET: not set, so HS256 is off; sign with --key and --kid")
        say(secret_source(settings))
        auth = Authenticator(secret, settings.jwt_issuer, settings.jwt_audience, 0)
        print(auth.mint(args.sub, scopes, ttl, SystemClock().now()))
        return 0
    if not args.kid:
        raise ConfigError("--key: needs --kid, the key's id in the JWKS")
    key, algorithm = _private_key(args.key)
    auth = Authenticator(None, settings.jwt_issuer, settings.jwt_audience, 0)
    print(auth.mint(args.sub, scopes, ttl, SystemClock().now(), key=key, kid=args.kid, algorithm=algorithm))
    return 0


def _private_key(path: Path):
    from cryptography.hazmat.primitives import serialization

    from governor.jwks import algorithm_of

    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        return key, algorithm_of(key)
    except (OSError, ValueError, TypeError) as e:
        raise ConfigError(f"--key: {path}: {e}") from None


def cmd_keys(settings: Settings, args) -> int:
    """Write a private key (owner-only, never overwritten) and add its public JWK to the JWKS file
    (written aside and renamed, so a server reading it never sees half a file)."""
    from cryptography.hazmat.primitives import serialization

    from governor.jwks import generate, parse_jwks

    doc = {"keys": []}
    if args.jwks.exists():
        text = args.jwks.read_text()
        try:
            known = parse_jwks(text)
        except ValueError as e:
            raise ConfigError(f"--jwks: {args.jwks}: {e}") from None
        if args.kid in known:
            raise ConfigError(f"--kid: {args.kid!r} is already in {args.jwks}")
        doc = json.loads(text)
    private_path = args.private_key or Path(f"{args.kid}.pem")
    key, jwk = generate(args.alg)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"--private-key: {private_path} exists; it is never overwritten") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    doc["keys"].append({"kid": args.kid, **jwk})
    tmp = args.jwks.with_name(f".{args.jwks.name}.{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, args.jwks)
    print(f"wrote {private_path} (private, keep it secret) and {args.kid!r} ({args.alg}) in {args.jwks}",
          file=sys.stderr)
    return 0


def cmd_sweep(settings: Settings, args) -> int:
    from governor import jobs

    closed = jobs.sweep(_services(settings))
    print("skipped: another instance is sweeping" if closed is None else f"closed {closed} stale sessions")
    return 0


def cmd_scheduler(settings: Settings, args) -> int:
    from governor import jobs

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _json_logs(settings)
    jobs.run_scheduler(_services(settings))
    return 0


def cmd_serve(settings: Settings, args) -> int:
    """Migrate, then run gunicorn in this process; the scheduler runs as one child process,
    never inside the web workers."""
    from governor import create_app
    from governor.server import Server

    jwt_secret(settings)  # refuse a missing or weak secret before anything starts
    say(secret_source(settings))
    if settings.jwt_keys:  # and a bad key file, which would otherwise stop every worker
        from governor.clock import SystemClock
        from governor.jwks import KeySet
        KeySet(settings.jwt_keys, SystemClock())
    metrics_dir = _multiprocess_metrics()
    _json_logs(settings)  # after the metrics folder is set: it imports prometheus_client
    scheduler = None
    try:
        if settings.audit_signing_key:  # imports prometheus_client: after _multiprocess_metrics
            from governor.checkpoints import load_signing_key
            load_signing_key(settings.audit_signing_key)
        cmd_db(settings, args)
        if settings.scheduler:
            scheduler = subprocess.Popen([sys.executable, "-m", "governor.cli", "scheduler"], env=os.environ.copy())

        Server(settings, create_app, {"logconfig_dict": GUNICORN_JSON_LOGS}).run()
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


GUNICORN_JSON_LOGS = {
    "version": 1, "disable_existing_loggers": False,
    "formatters": {"json": {"()": "governor.observability.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
                "gunicorn.access": {"level": "INFO", "handlers": ["stderr"], "propagate": False}},
}


def _json_logs(settings: Settings) -> None:
    """Long-running commands log JSON lines, APScheduler's included."""
    from governor.observability import setup_logging

    setup_logging(settings.log_level)


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
            "scheduler": cmd_scheduler, "keys": cmd_keys}

if __name__ == "__main__":
    sys.exit(main())
