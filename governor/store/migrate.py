"""Alembic, driven from code: `governor db upgrade` and the tests use this."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from governor.config import PROJECT_DIR


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_DIR / "migrations"))
    cfg.set_main_option("sqlalchemy.url", make_url(database_url).render_as_string(hide_password=False)
                        .replace("%", "%%"))
    return cfg


def upgrade(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        from pathlib import Path
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), "head")
