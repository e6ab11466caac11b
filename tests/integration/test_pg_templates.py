"""A stopped test run leaves no template database behind (tests/pg_templates.py): SIGTERM tears
the session down like Ctrl-C, and a run killed outright has its template dropped by the next
one, never a template that a running suite still holds."""
from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from sqlalchemy import text

from governor.config import PROJECT_DIR
from tests import pg_templates

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

INNER = '''
import os, signal

def test_stopped(pg_admin):
    print("TEMPLATE", pg_admin[2], flush=True)
    os.kill(os.getpid(), signal.{signal})
'''


def databases(engine) -> set[str]:
    with engine.connect() as c:
        return set(c.execute(text("SELECT datname FROM pg_database")).scalars())


def stopped_run(tmp_path, how: str) -> str:
    """A pytest run of its own that makes its template, then gets `how` (SIGTERM or SIGKILL)."""
    test = tmp_path / f"test_stopped_{how.lower()}.py"
    test.write_text(INNER.format(signal=how))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "tests.conftest", "-p",
                           "no:cacheprovider", str(test)], cwd=PROJECT_DIR, capture_output=True, text=True,
                          timeout=120)
    names = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("TEMPLATE ")]
    assert len(names) == 1, (done.returncode, done.stdout, done.stderr)
    return names[0]


def test_a_run_stopped_with_sigterm_drops_its_template(pg_admin, tmp_path):
    engine = pg_admin[0]
    name = stopped_run(tmp_path, "SIGTERM")
    assert name.startswith(pg_templates.PREFIX) and name not in databases(engine)


def test_a_killed_runs_template_is_dropped_by_the_next_but_a_live_one_is_kept(pg_admin, tmp_path):
    engine, _, ours = pg_admin
    orphan = stopped_run(tmp_path, "SIGKILL")
    assert orphan in databases(engine)  # nothing could drop it when the run died
    unmarked = f"gov_tmpl_{uuid.uuid4().hex[:10]}"  # an older run's, which held no lock: not ours to judge
    with engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{unmarked}"'))
    try:
        assert orphan in pg_templates.drop_orphans(engine)
        left = databases(engine)
        assert orphan not in left and ours in left and unmarked in left
    finally:
        with engine.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{unmarked}" WITH (FORCE)'))
