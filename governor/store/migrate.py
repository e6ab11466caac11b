"""Alembic, driven from code: `governor db upgrade`, `governor serve` and the tests use this.

On PostgreSQL the migrations run under an advisory lock, so several instances starting at once
on one database take turns: the first migrates, the others wait, then find the schema at head
and have nothing to do (without it, two of them would both create `alembic_version`)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from governor.config import PROJECT_DIR
from governor.store import locks

LOCK = "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_DIR / "migrations"))
    cfg.set_main_option("sqlalchemy.url", make_url(database_url).render_as_string(hide_password=False)
                        .replace("%", "%%"))
    return cfg


def upgrade(database_url: str) -> None:
    with migrated(database_url):
        pass


@contextmanager
def migrated(database_url: str, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Apply every pending migration, and keep the migration lock for the block, so what follows
    (activating the policy file) is done by one instance at a time too. `waiting` is called
    when another instance holds the lock."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database not in (None, "", ":memory:"):
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        command.upgrade(alembic_config(database_url), "head")
        yield
        return
    # Its own connection, without the service's statement timeout: a lock may be waited for
    # as long as another instance's migrations take.
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with locks.exclusive(engine, LOCK, waiting):
            command.upgrade(alembic_config(database_url), "head")
            yield
    finally:
        engine.dispose()
