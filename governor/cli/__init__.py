"""The `governor` command (`governor.cli:main`), one module per command group: serve (and its
gunicorn, server.py), db, tokens (token, keys), audit, policy, scheduler (scheduler, sweep).

Each group adds its parsers and names its handler (`set_defaults(run=...)`); a handler takes the
settings and the parsed arguments and returns the exit status. What it needs beyond argparse it
imports when it runs, so `governor token` loads no database and `governor serve` can point
prometheus_client at its metrics folder before anything imports it."""
from __future__ import annotations

import argparse
import logging
import sys
from importlib import metadata

from sqlalchemy.exc import OperationalError

from governor.cli import audit, db, policy, scheduler, serve, tokens
from governor.config import ConfigError, load_settings
from governor.domain.policy import PolicyInvalid
from governor.store.database import DatabaseUnavailable

GROUPS = (serve, tokens, db, audit, policy, scheduler)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = load_settings()
        return args.run(settings, args)
    except (ConfigError, PolicyInvalid) as e:
        print(f"governor: {e}", file=sys.stderr)
        return 2
    except (DatabaseUnavailable, OperationalError) as e:  # migrations raise the latter
        cause = e.orig if isinstance(e, OperationalError) and e.orig else e
        print(f"governor: database error: {str(cause).splitlines()[0]}", file=sys.stderr)
        return 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="governor", description="Minor-protection usage governor.",
        epilog="Relative paths (the SQLite file, the policy, instance/) are taken from GOVERNOR_HOME, by default "
               "the project folder, wherever the command is run. Each command names the database and secret it "
               "uses on stderr; stdout carries only its result.")
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return p


def version() -> str:
    try:
        return metadata.version("governor")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"
