"""PostgreSQL advisory locks: one process at a time runs a background job, or migrates.

A session-level lock is held by a connection, not a transaction, so it lasts across the commits
of the work it guards, and the server releases it when the holder's connection ends (a process
that dies mid-way does not leave it taken). SQLite needs none: one database file lives on one
host, and its write transactions already take turns."""
from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine


def key(name: str) -> int:
    """The lock's number: the same for a name in every process of every instance."""
    return zlib.crc32(f"governor:{name}".encode())


@contextmanager
def try_exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """True inside when this process got the lock (held until the block ends), False when
    another one holds it (nothing to wait for: it is doing the work)."""
    with engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key(name)}).scalar()
        conn.commit()
        if not got:
            yield False
            return
        try:
            yield True
        finally:
            _unlock(conn, name)


@contextmanager
def exclusive(engine: Engine, name: str, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Wait for the lock and hold it for the block; `waiting` is called once when another
    process holds it, so that a command can say why it pauses."""
    with engine.connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key(name)}).scalar():
            if waiting is not None:
                waiting()
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key(name)})
        conn.commit()
        try:
            yield
        finally:
            _unlock(conn, name)


def _unlock(conn: Connection, name: str) -> None:
    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key(name)})
    conn.commit()
