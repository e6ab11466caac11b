"""The PostgreSQL template database of a test run (tests/conftest.py's `pg_admin`): dropped at
the run's end, also when the run is stopped (Ctrl-C, or SIGTERM, which is turned into the same
interruption), and, when a run was killed outright, by the next run.

A run holds an advisory lock named after its template for as long as it lives, on a connection
of its own; the server releases it when that connection ends, however the run ends. A template
whose lock nobody holds (pg_locks, across every database of the server) belongs to no running
suite, so only such a one is dropped, never one that a running suite still copies from."""
from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

PREFIX = "gov_tmpl_lk_"  # older runs' templates (gov_tmpl_ and 10 hex digits) held no lock: left alone
LOCK_CLASS = 0x676F76  # "gov": the first of the two keys of every template's lock


def _key(name: str) -> dict[str, int]:
    return {"c": LOCK_CLASS, "k": int(name.removeprefix(PREFIX)[:7], 16)}


@contextmanager
def owned(engine: Engine) -> Iterator[str]:
    """A new, empty template database, this run's while the block lasts, then dropped. `engine`
    is in autocommit mode (CREATE and DROP DATABASE run outside a transaction)."""
    drop_orphans(engine)
    name = PREFIX + uuid.uuid4().hex[:10]
    owner = engine.connect()
    restore = _sigterm_interrupts()
    try:
        owner.execute(text("SELECT pg_advisory_lock(CAST(:c AS integer), CAST(:k AS integer))"), _key(name))
        owner.execute(text(f'CREATE DATABASE "{name}"'))  # after the lock: never seen unowned
        yield name
    finally:
        try:
            owner.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            owner.close()  # the lock goes with the connection
            restore()


def drop_orphans(engine: Engine) -> list[str]:
    """Drop the templates whose run is gone; their names."""
    with engine.connect() as c:
        names = c.execute(text("SELECT datname FROM pg_database WHERE starts_with(datname, :p)"),
                          {"p": PREFIX}).scalars().all()
        dropped = []
        for name in names:
            held = c.execute(text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                                  "AND classid::bigint = :c AND objid::bigint = :k AND objsubid = 2)"),
                             _key(name)).scalar()
            if held:
                continue
            try:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except DBAPIError:  # another run dropping it at the same moment
                continue
            dropped.append(name)
        return dropped


def _sigterm_interrupts():
    """SIGTERM (a CI timeout, `kill`) interrupts the run as Ctrl-C does, so pytest tears the
    session down and the template is dropped; the previous handler is restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        return lambda: None

    def interrupt(signum, frame):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)
