"""The hot paths' transactions on the DB-API connection itself (sqlite3 or psycopg).

Sessions, heartbeats and status run a handful of small statements each. Through SQLAlchemy each
statement costs more in Python than in the database, so these use cases run on one DB-API
connection per thread, kept open for the process's life, with statements written once as text.
Everything else keeps the ORM (`Database.write()` / `read()`).

`Tx` hides the two dialects' differences: parameter style (`:name` everywhere, rewritten once
for psycopg), how instants and dates are stored (SQLite: UTC text as SQLAlchemy writes it), and
how a row lock is taken (`FOR UPDATE` on PostgreSQL; on SQLite a write transaction is already
the only writer).
"""
from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone

UTC = timezone.utc
IDLE_PING_SECONDS = 2.0  # a PostgreSQL connection unused this long is checked before use (one round trip)
_NAMED = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


class Tx:
    """One transaction on one DB-API connection."""

    def __init__(self, cursor, postgres: bool):
        self.cur = cursor
        self.postgres = postgres
        self.for_update = " FOR UPDATE" if postgres else ""

    def _sql(self, sql: str) -> str:
        return _pg_sql(sql) if self.postgres else sql

    def one(self, sql: str, params: dict | None = None):
        self.cur.execute(self._sql(sql), params or {})
        return self.cur.fetchone()

    def all(self, sql: str, params: dict | None = None) -> list:
        self.cur.execute(self._sql(sql), params or {})
        return self.cur.fetchall()

    def run(self, sql: str, params: dict | None = None) -> int:
        self.cur.execute(self._sql(sql), params or {})
        return self.cur.rowcount

    # -- values in and out ---------------------------------------------------------------------

    def instant(self, t: datetime | None):
        """An aware instant as the column stores it."""
        if t is None or self.postgres:
            return t
        return t.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def day(self, d: date):
        return d if self.postgres else d.isoformat()

    @staticmethod
    def to_instant(v) -> datetime | None:
        if v is None:
            return None
        if isinstance(v, str):
            return datetime.fromisoformat(v).replace(tzinfo=UTC)
        return v.astimezone(UTC)

    @staticmethod
    def to_day(v) -> date | None:
        return date.fromisoformat(v) if isinstance(v, str) else v


_PG_CACHE: dict[str, str] = {}


def _pg_sql(sql: str) -> str:
    out = _PG_CACHE.get(sql)
    if out is None:
        out = _PG_CACHE[sql] = _NAMED.sub(r"%(\1)s", sql)
    return out


class Connections:
    """One DB-API connection per thread (and per process: gunicorn forks), detached from
    SQLAlchemy's pool so that checking it out costs nothing. A connection that fails is dropped
    and the next transaction opens a new one."""

    def __init__(self, writer_engine, reader_engine, postgres: bool, errors: tuple[type[Exception], ...]):
        self.engines = {"write": writer_engine, "read": reader_engine}
        self.postgres = postgres
        self.errors = errors
        self.local = threading.local()
        self.opened: list = []  # every connection, so that close_all() reaches other threads' too

    def _conn(self, kind: str):
        conns = getattr(self.local, "conns", None)
        if conns is None or self.local.pid != os.getpid():
            conns = self.local.conns = {}
            self.local.cursors = {}  # one per connection, kept: making one costs more than a statement
            self.local.used = {}
            self.local.pid = os.getpid()
        conn = conns.get(kind)
        now = time.monotonic()
        if conn is not None and self.postgres and now - self.local.used.get(kind, now) > IDLE_PING_SECONDS:
            try:  # idle a while: the server may have gone (a restart, a cut network); ask first
                conn.execute("SELECT 1")
            except self.errors:
                self._drop(kind)
                conn = None
        self.local.used[kind] = now
        if conn is None:
            conn, self.local.cursors[kind] = self._open(kind)
            conns[kind] = conn
            self.opened.append(conn)
        return conn

    def _open(self, kind: str):
        """A new connection, set up, and its cursor; nothing is kept of one that fails."""
        fairy = self.engines[kind].raw_connection()
        conn = fairy.driver_connection
        fairy.detach()
        try:
            if self.postgres and kind == "read":  # also the lock-free heartbeat's (docs/decisions.md)
                conn.autocommit = True
                conn.execute("SET synchronous_commit = off")
            if not self.postgres and kind == "write":  # Database.hot_write checkpoints after the lock
                conn.execute("PRAGMA wal_autocheckpoint = 0")
            return conn, conn.cursor()
        except self.errors:
            try:
                conn.close()
            except self.errors:  # already broken: nothing more to do
                pass
            raise

    def close_all(self) -> None:
        """Close every connection opened here (on dispose); threads still using one get errors."""
        for conn in self.opened:
            try:
                conn.close()
            except self.errors:
                pass
        self.opened.clear()
        self.local = threading.local()

    def _drop(self, kind: str) -> None:
        self.local.cursors.pop(kind, None)
        conn = self.local.conns.pop(kind, None)
        if conn is not None:
            if conn in self.opened:
                self.opened.remove(conn)
            try:
                conn.close()
            except self.errors:  # already broken: nothing more to do
                pass

    @contextmanager
    def transaction(self, kind: str, begin: str | None) -> Iterator[Tx]:
        """`begin` None: no transaction, each statement its own."""
        conn = self._conn(kind)
        try:
            if begin is None:
                if self.postgres and not conn.autocommit:
                    conn.autocommit = True
                yield Tx(self.local.cursors[kind], self.postgres)
                return
            cur = self.local.cursors[kind]
            if not self.postgres:  # psycopg says BEGIN itself, before the first statement
                cur.execute(begin)
            try:
                yield Tx(cur, self.postgres)
            except BaseException:
                if self.postgres:
                    conn.rollback()
                elif conn.in_transaction:
                    cur.execute("ROLLBACK")
                raise
            conn.commit() if self.postgres else cur.execute("COMMIT")
        except self.errors:
            self._drop(kind)
            raise


def sqlite_errors() -> tuple[type[Exception], ...]:
    return (sqlite3.OperationalError, sqlite3.InterfaceError)
