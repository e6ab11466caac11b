"""Engines and transactions.

Every use case runs in one transaction: `db.write()` for a change, `db.read()` for a look (the
hot paths: `hot_write()`, `hot_read()`, on the DB-API connection, store/sql.py). SQLite: WAL, a
busy timeout, `secure_delete`, and `BEGIN IMMEDIATE` for writes, so a user's read-modify-write is
serialised across gunicorn workers. PostgreSQL: the user row is locked with `SELECT ... FOR
UPDATE` (see `repo.lock_user`), so only one user's requests queue. The one exception is the
heartbeat that only moves its stored decision on: it reads without a lock and writes with a
compare-and-set (`hot_cas()`, store/sessions.save_heartbeat).
"""
from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from governor.store.sql import Connections, Tx, sqlite_errors

SQLITE_BUSY_MS = 10_000
CHECKPOINT_EVERY = 200  # hot write transactions of a process between its WAL checkpoints (~1,000 pages)


class DatabaseUnavailable(Exception):
    """The database cannot be reached or is too busy: the caller should retry."""


class Database:
    def __init__(self, url: str):
        self.url = make_url(url)
        self.sqlite = self.url.get_backend_name() == "sqlite"
        self._lock_path = None
        self._lock_file, self._lock_pid = None, 0  # the lock file stays open: one open() per process
        self._thread_lock = threading.Lock()
        self._hot_commits = 0
        if self.sqlite:
            path = self.url.database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                self._lock_path = path + ".writelock"
            self.writer = _sqlite_engine(self.url, "BEGIN IMMEDIATE")
            self.reader = _sqlite_engine(self.url, "BEGIN")
        else:
            self.writer = self.reader = create_engine(
                self.url, pool_pre_ping=True, hide_parameters=True, pool_size=5, max_overflow=5, pool_timeout=5,
                connect_args={"connect_timeout": 5, "options": "-c statement_timeout=10000"})
        if self.sqlite:
            errors = sqlite_errors()
        else:
            import psycopg

            errors = (psycopg.OperationalError, psycopg.InterfaceError)
        self._raw_errors = errors
        self._raw = Connections(self.writer, self.reader, not self.sqlite, errors)
        # No autoflush: a use case's changes are written once, at commit (or by an explicit flush).
        self._write = sessionmaker(self.writer, expire_on_commit=False, autoflush=False)
        self._read = sessionmaker(self.reader, expire_on_commit=False, autoflush=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._writer_turn(), _unavailable_on_connection_errors(), self._write() as s, s.begin():
            yield s

    @contextmanager
    def hot_write(self) -> Iterator[Tx]:
        """A write transaction on this thread's DB-API connection (see store/sql.py)."""
        with self._writer_turn(), self._hot("write", "BEGIN IMMEDIATE") as tx:
            yield tx
        if self.sqlite:
            self._hot_commits += 1
            if self._hot_commits % CHECKPOINT_EVERY == 0:
                self._checkpoint()

    def _checkpoint(self) -> None:
        """SQLite: copy the WAL into the database now and then, after the writers' lock is
        released. The hot connections do not checkpoint on commit (store/sql.py): SQLite would do
        it inside COMMIT, with its fsyncs, while every other writer waits for the lock."""
        try:
            with self._raw.transaction("write", None) as tx:
                tx.one("PRAGMA wal_checkpoint(PASSIVE)")
        except self._raw_errors:  # busy or away: the next one will do it
            pass

    def hot_read(self) -> AbstractContextManager[Tx]:
        """Reads on this thread's DB-API connection, outside a transaction: each statement its own
        (docs/decisions.md: a status's two statements need no common snapshot)."""
        return self._hot("read", None)

    def hot_cas(self) -> AbstractContextManager[Tx]:
        """PostgreSQL: where a compare-and-set write runs (store/sessions), this thread's
        connection outside a transaction (one statement is its own)."""
        if self.sqlite:
            raise TypeError("SQLite has no lock-free writes: use hot_write")
        return self._hot("read", None)

    @contextmanager
    def _hot(self, kind: str, begin: str | None) -> Iterator[Tx]:
        try:
            with self._raw.transaction(kind, begin) as tx:
                yield tx
        except (*self._raw_errors, OperationalError, PoolTimeout) as e:
            raise _unavailable(e) from e

    @contextmanager
    def _writer_turn(self):
        """SQLite: writers queue on a lock file before BEGIN IMMEDIATE. The kernel wakes the next
        writer the moment the lock is free, where SQLite's busy handler would poll with sleeps
        of up to 100 ms; under load that is the difference between 3 ms and 150 ms."""
        if self._lock_path is None:
            yield
            return
        with self._thread_lock:
            if self._lock_file is None or self._lock_pid != os.getpid():  # a forked worker opens its own
                self._lock_file, self._lock_pid = open(self._lock_path, "a+b"), os.getpid()  # noqa: SIM115
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _unavailable_on_connection_errors(), self._read() as s, s.begin():
            yield s

    def ping(self) -> bool:
        try:
            with self.read() as s:
                s.execute(text("SELECT 1"))
            return True
        except DatabaseUnavailable:
            return False

    def fold_wal(self) -> bool:
        """SQLite, after an erasure: fold the whole WAL into the database (deleted pages are
        zeroed by secure_delete), outside any transaction as a checkpoint must be. False when
        readers still held old pages (SQLite's own next checkpoint folds them); True elsewhere."""
        if not self.sqlite:
            return True
        conn = self.writer.raw_connection()
        try:
            return not conn.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            conn.close()

    def dispose(self) -> None:
        self._raw.close_all()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        self.writer.dispose()
        self.reader.dispose()


@contextmanager
def _unavailable_on_connection_errors():
    try:
        yield
    except (OperationalError, PoolTimeout) as e:
        raise _unavailable(e) from e


def _unavailable(e: Exception) -> DatabaseUnavailable:
    """A connection failure (SQLAlchemy's, the pool's or the driver's) as DatabaseUnavailable."""
    if isinstance(e, PoolTimeout):  # every connection of this process is busy: as good as unreachable
        return DatabaseUnavailable("no database connection free")
    orig = e.orig if isinstance(e, OperationalError) and e.orig else e
    return DatabaseUnavailable(str(orig).splitlines()[0] if str(orig) else type(orig).__name__)


def _sqlite_engine(url, begin: str) -> Engine:
    engine = create_engine(url, hide_parameters=True,
                           connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we say BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", f"busy_timeout={SQLITE_BUSY_MS}", "synchronous=NORMAL",
                       "foreign_keys=ON", "secure_delete=ON"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql(begin)

    return engine
