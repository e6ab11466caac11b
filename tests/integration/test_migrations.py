"""The migrations create exactly the models' schema, on both databases; several instances
migrating one fresh PostgreSQL database at once take turns (an advisory lock) and all succeed."""
from __future__ import annotations

import os
import signal
import subprocess
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select, text

from governor.store.tables import AuditEvent, Base, PolicyVersion
from tests.conftest import SECRET
from tests.integration.test_cli import GOVERNOR


def test_migrations_match_the_models(db_url):
    engine = create_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


@pytest.mark.postgres
@pytest.mark.slow
def test_ten_concurrent_upgrades_of_a_fresh_database_all_succeed(pg_admin, tmp_path):
    """Ten `governor db upgrade` processes started together on an empty database (ten replicas'
    first rollout): every one exits 0, the schema is made once and the policy activated once."""
    engine, url, _ = pg_admin
    name = f"gov_t_{uuid.uuid4().hex[:12]}"
    with engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = url.set(database=name).render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVERNOR_")}
    env.update(GOVERNOR_DATABASE_URL=db_url, GOVERNOR_JWT_SECRET=SECRET)
    procs = [subprocess.Popen([GOVERNOR, "db", "upgrade"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True) for _ in range(10)]
    try:
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.stdout.close(), p.stderr.close()
    try:
        assert [code for code, _ in results] == [0] * 10, "\n".join(err for code, err in results if code)
        assert all("active policy version 1" in err for _, err in results)
        check = create_engine(db_url)
        try:
            with check.connect() as c:
                assert len(c.execute(text("SELECT version_num FROM alembic_version")).all()) == 1
                assert c.execute(select(PolicyVersion.version)).scalars().all() == [1]
                assert c.execute(select(AuditEvent.action)).scalars().all() == ["policy.activated"]
        finally:
            check.dispose()
    finally:
        with engine.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
