"""What every command group shares: its parsers' shape, what it says on stderr, its services."""
from __future__ import annotations

import argparse
import sys

from sqlalchemy.engine import make_url

from governor.config import Settings


def command(sub, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does (not its parent's usage)."""
    return sub.add_parser(name, help=summary, description=description)


def say(what: str) -> None:
    """Which database and secret a command uses: on stderr, so stdout stays the result alone."""
    print(f"governor: using {what}", file=sys.stderr)


def services(settings: Settings):
    """The services a use case needs, on the configured database and clock (the development
    clock's offset included), after saying which database it is."""
    from governor.clock import SystemClock, dev_clock
    from governor.service.context import Services
    from governor.store.database import Database

    say(f"database {make_url(settings.database_url).render_as_string(hide_password=True)}")
    clock = dev_clock(settings.instance_dir, SystemClock()) if settings.development else SystemClock()
    return Services(Database(settings.database_url), clock, settings)


def json_logs(settings: Settings) -> None:
    """Long-running commands log JSON lines, gunicorn's and APScheduler's included."""
    from governor.observability import setup_logging

    setup_logging(settings.log_level)
