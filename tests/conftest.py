"""Shared fixtures: a fresh, migrated database per test (SQLite always; PostgreSQL when it is
reachable), an app built with a FakeClock, and tokens.

PostgreSQL: GOVERNOR_TEST_PG_URL names a database to connect to (default: the local server's
`postgres` database). A migrated template database is made once per run; each test gets its own
copy (CREATE DATABASE ... TEMPLATE), dropped afterwards. Without a server those tests skip with
the reason, unless GOVERNOR_TEST_REQUIRE_PG=1 (CI), where they fail.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from governor import create_app
from governor.clock import FakeClock, SystemClock
from governor.config import PROJECT_DIR, Settings
from governor.security.tokens import Authenticator
from governor.service import policies
from governor.service.context import Services
from governor.store.database import Database
from governor.store.migrate import upgrade
from tests import pg_templates

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECRET = "test-secret-0123456789abcdef0123456789abcdef"
DEFAULT_POLICY = str(PROJECT_DIR / "config" / "policies" / "cn-minor-mode.toml")
PG_URL = os.environ.get("GOVERNOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("GOVERNOR_TEST_REQUIRE_PG") == "1"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def shanghai(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def settings_for(url: str, **over) -> Settings:
    return Settings(database_url=url, jwt_secret=SECRET, policy=DEFAULT_POLICY, scheduler=False, env="test",
                    **over)


def _migrate(url: str) -> None:
    upgrade(url)
    svc = Services(Database(url), SystemClock(), settings_for(url))
    policies.sync_file(svc, Path(DEFAULT_POLICY))
    svc.db.dispose()


# -- databases ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "governor.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_admin():
    """An engine on the PostgreSQL server in autocommit mode, and a migrated template."""
    url = make_url(PG_URL)
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with engine.connect() as c:
            c.execute(text("SELECT 1"))
    except OperationalError as e:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required here (GOVERNOR_TEST_REQUIRE_PG=1) but {url} is unreachable: {e}")
        pytest.skip(f"PostgreSQL not reachable at {url.render_as_string()}: set GOVERNOR_TEST_PG_URL")
    with pg_templates.owned(engine) as template:  # dropped at the end, or by the next run if this one is killed
        _migrate(url.set(database=template).render_as_string(hide_password=False))
        yield engine, url, template
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    """A fresh migrated database with the default policy active, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "governor.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    engine, url, template = request.getfixturevalue("pg_admin")
    name = f"gov_t_{uuid.uuid4().hex[:12]}"
    with engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- the app --------------------------------------------------------------------------------

@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(shanghai(2026, 12, 2, 7, 0))  # a Wednesday morning in Shanghai


@pytest.fixture
def app(db_url, clock):
    app = create_app(settings_for(db_url), clock=clock)
    yield app
    app.extensions["governor"].db.dispose()


@pytest.fixture
def svc(app) -> Services:
    return app.extensions["governor"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token():
    auth = Authenticator(SECRET, "governor", "governor", 0)

    def mint(scope: str, sub: str = "test-client", ttl: int = 3600) -> dict[str, str]:
        return {"Authorization": "Bearer " + auth.mint(sub, scope.split(), ttl, SystemClock().now())}
    return mint
