"""`governor db upgrade`: migrations, then the policy file, one instance at a time."""
from __future__ import annotations

import sys

from governor.cli.common import command, services
from governor.config import Settings


def add_parsers(sub) -> None:
    db = command(sub, "db", "database commands", "Database commands.")
    db_cmd = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = command(db_cmd, "upgrade", "apply migrations and activate a changed policy file",
                      "Apply every pending Alembic migration to GOVERNOR_DATABASE_URL (SQLite or PostgreSQL), then "
                      "activate the policy file GOVERNOR_POLICY as the next version if it differs from the active "
                      "one. Safe to run again, and on several instances at once: on PostgreSQL they take turns "
                      "(an advisory lock).")
    upgrade.set_defaults(run=cmd_db)


def cmd_db(settings: Settings, args) -> int:
    from governor.service import policies
    from governor.store.migrate import migrated

    svc = services(settings)
    try:
        with migrated(settings.database_url, waiting=_waiting):
            version = policies.sync_file(svc, settings.policy_path())
    finally:
        svc.db.dispose()
    print(f"database is up to date; active policy version {version}", file=sys.stderr)
    return 0


def _waiting() -> None:
    print("governor: waiting for another instance to finish migrating", file=sys.stderr)
