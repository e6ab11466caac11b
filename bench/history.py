"""Bulk history for the benchmark: 100,000 users with two weeks of use each and an ended session
a day, and 1,000,000 audit events on their chains, written in a few set-based statements.

The rows are shaped like real ones (pseudonyms, chains with consecutive seq numbers, dates,
instants in the column's format); hashes are filler, as nothing here verifies them.
"""
from __future__ import annotations

from sqlalchemy import create_engine, text

USERS = 100_000
EVENTS = 1_000_000
DAYS = 14
SESSIONS_PER_USER = 3


def load(url: str, users: int = USERS, events: int = EVENTS) -> None:
    engine = create_engine(url)
    pg = engine.dialect.name == "postgresql"
    per_user = max(1, events // users)
    with engine.begin() as c:
        if pg:
            c.execute(text(
                "INSERT INTO users (user_id, pseudonym, created_at, activity, locked, audit_seq, audit_head, "
                "facts_version) SELECT 'hist-' || g, md5('p' || g), now() - interval '30 days', '[]', false, "
                ":per_user, md5('h' || g) || md5('i' || g), 0 FROM generate_series(1, :n) g"),
                {"n": users, "per_user": per_user})
            c.execute(text(
                "INSERT INTO usage_days (user_pk, day, used_ms, sessions) SELECT u.pk, current_date - d, "
                "1800000, 1 FROM users u, generate_series(1, :days) d WHERE u.user_id LIKE 'hist-%'"),
                {"days": DAYS})
            c.execute(text(
                "INSERT INTO sessions (id, user_pk, client, started_at, last_seen_at, ends_at, ended_at, end_reason, "
                "counted_ms, policy_version) SELECT 'h_' || u.pk || '_' || d, u.pk, 'bench', now() - d * "
                "interval '1 day', now() - d * interval '1 day', null, now() - d * interval '1 day', 'client', "
                "1800000, 1 FROM users u, generate_series(1, :k) d WHERE u.user_id LIKE 'hist-%'"),
                {"k": SESSIONS_PER_USER})
            c.execute(text(
                "INSERT INTO audit_events (chain, seq, at, client, action, reason, policy_name, policy_version, "
                "data, prev_hash, hash) SELECT u.pseudonym, s, now() - interval '20 days' + s * interval '1 hour', "
                "'bench', 'session.ended', 'client', 'cn-minor-mode', 1, '{}', md5('a' || u.pk || s) || "
                "md5('b' || u.pk || s), md5('c' || u.pk || s) || md5('d' || u.pk || s) FROM users u, "
                "generate_series(1, :per_user) s WHERE u.user_id LIKE 'hist-%'"), {"per_user": per_user})
            c.execute(text("ANALYZE"))
        else:
            c.execute(text(
                "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n) "
                "INSERT INTO users (user_id, pseudonym, created_at, activity, locked, audit_seq, audit_head, "
                "facts_version) SELECT 'hist-' || i, lower(hex(randomblob(16))), '2026-10-01 00:00:00.000000', "
                "'[]', 0, :per_user, lower(hex(randomblob(32))), 0 FROM g"), {"n": users, "per_user": per_user})
            c.execute(text(
                "WITH RECURSIVE d(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM d WHERE i < :days) "
                "INSERT INTO usage_days (user_pk, day, used_ms, sessions) SELECT u.pk, "
                "date('now', '-' || d.i || ' days'), 1800000, 1 FROM users u, d WHERE u.user_id LIKE 'hist-%'"),
                {"days": DAYS})
            c.execute(text(
                "WITH RECURSIVE d(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM d WHERE i < :k) "
                "INSERT INTO sessions (id, user_pk, client, started_at, last_seen_at, ends_at, ended_at, "
                "end_reason, counted_ms, policy_version) SELECT 'h_' || u.pk || '_' || d.i, u.pk, 'bench', "
                "datetime('now', '-' || d.i || ' days') || '.000000', datetime('now', '-' || d.i || ' days') || "
                "'.000000', null, datetime('now', '-' || d.i || ' days') || '.000000', 'client', 1800000, 1 "
                "FROM users u, d WHERE u.user_id LIKE 'hist-%'"), {"k": SESSIONS_PER_USER})
            c.execute(text(
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :per_user) "
                "INSERT INTO audit_events (chain, seq, at, client, action, reason, policy_name, policy_version, "
                "data, prev_hash, hash) SELECT u.pseudonym, s.i, '2026-10-01 00:00:00.000000', 'bench', "
                "'session.ended', 'client', 'cn-minor-mode', 1, '{}', lower(hex(randomblob(32))), "
                "lower(hex(randomblob(32))) FROM users u, s WHERE u.user_id LIKE 'hist-%'"),
                {"per_user": per_user})
            c.execute(text("ANALYZE"))
    engine.dispose()
