"""The sessions aggregate on the hot paths (plain statements, store/sql.py)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from governor.store import users
from governor.store.sql import Tx
from governor.store.users import UserRow

_SESSION = ("s.id, s.user_pk, s.started_at, s.last_seen_at, s.ends_at, s.ended_at, s.end_reason, s.counted_ms, "
            "{others}, s.purpose")
_GET = "SELECT " + _SESSION.format(
    others="(SELECT min(o.last_seen_at) FROM sessions o WHERE o.user_pk = s.user_pk AND o.ended_at IS NULL "
           "AND o.id <> s.id)") + " FROM sessions s WHERE id = :id"
_GET_OWN = _GET + " AND client = :client"  # a frontend's own session: another's is not found
# A heartbeat's whole read in one statement: the user's row, the session (without the other
# sessions: the fast way does not prune), and the booked use of the three days one of which is the
# user's local today (any zone is within a day of UTC). On PostgreSQL also the user row's version
# (xmin), which the lock-free write compares.
_VIEW = ("SELECT " + ", ".join("u." + c for c in users.COLUMNS) + ", (SELECT max(version) FROM policies), "
         + _SESSION.format(others="NULL") + ", "
         + ", ".join(f"(SELECT used_ms FROM usage_days d WHERE d.user_pk = s.user_pk AND d.day = :d{i})"
                     for i in range(3))
         + ", {version} FROM sessions s JOIN users u ON u.pk = s.user_pk WHERE s.id = :id AND s.client = :client")
_VIEW_PG, _VIEW_SQLITE = _VIEW.format(version="u.xmin::text"), _VIEW.format(version="NULL")
_USER_SET = "activity = :activity, streak_start = :streak_start, last_active = :last_active"  # outlook stays
_SESSION_SET = "last_seen_at = :last_seen_at, ends_at = :ends_at, counted_ms = :counted_ms"
_BOOK = "UPDATE usage_days SET used_ms = used_ms + :ms WHERE user_pk = :pk AND day = :day"
# PostgreSQL, lock-free: one statement (so one transaction) that writes only if the user's row is
# the version read; every change of anything of a user's also writes the user's row (its accrual
# state or its audit chain head), so an unchanged row means nothing of theirs changed.
_HEARTBEAT_PG = ("WITH u AS (UPDATE users SET " + _USER_SET + " WHERE pk = :pk AND xmin::text = :version "
                 "RETURNING pk), s AS (UPDATE sessions SET " + _SESSION_SET
                 + " WHERE id = :id AND user_pk IN (SELECT pk FROM u)){book} SELECT count(*) FROM u")
_HEARTBEAT_PG_BOOK = _HEARTBEAT_PG.format(book=", d AS (" + _BOOK + " AND user_pk IN (SELECT pk FROM u))")
_HEARTBEAT_PG = _HEARTBEAT_PG.format(book="")
# PostgreSQL, the commonest heartbeat in one statement (`heartbeat_in_one`): a session that booked
# the user's latest use goes on within its grace, inside its stored decision's validity, on the
# policy zone's `today`. Its WHERE clause is the fast-path rule, domain/fastpath.eligible, for that
# case (facts_version and the policy's version; the snapshot's `at` <= last_seen_at, the booked
# interval's start; :now < valid_until and the session's end; no purpose; the streak kept, as
# u.last_active = s.last_seen_at makes it), plus what keeps the booking simple (no zone of the
# user's own, nothing uncounted, the whole interval new, after midnight and within the grace, at
# most 8 intervals): it extends the last booked interval, all of it on today's row.
# tests/integration/test_in_one_property.py runs this statement and the domain on random states.
# The milliseconds are rounded half to even, as Python's round(); the session's new end is the
# stored decision's moved on (fastpath.advance).
# Written only if the user's row is still the version read, as in _HEARTBEAT_PG.
_IN_ONE = (
    "WITH v AS (SELECT u.pk, u.xmin AS version, u.outlook, u.facts_version, s.last_seen_at, s.ends_at, j.a, "
    "(extract(epoch FROM CAST(:now AS timestamptz) - s.last_seen_at) * 1000000)::bigint AS us, "
    "(SELECT used_ms FROM usage_days d WHERE d.user_pk = u.pk AND d.day = :today) AS used, "
    "(j.o ->> 'remaining_ms')::bigint + (j.o ->> 'used_ms')::bigint AS allowance, "
    "(j.o ->> 'fixed_end')::timestamptz AS fixed_end "
    "FROM sessions s JOIN users u ON u.pk = s.user_pk "
    "CROSS JOIN LATERAL (SELECT u.outlook::jsonb AS o, u.activity::jsonb AS a) j "
    "WHERE s.id = :id AND s.client = :client AND s.ended_at IS NULL AND s.purpose IS NULL "
    "AND u.timezone IS NULL AND u.marked = '[]' "
    "AND u.last_active = s.last_seen_at AND s.last_seen_at >= :midnight AND :now > s.last_seen_at "
    "AND :now <= s.last_seen_at + :grace AND (s.ends_at IS NULL OR :now < s.ends_at) "
    "AND (SELECT max(version) FROM policies) = :version AND (j.o -> 'policy' ->> 1)::int = :version "
    "AND (j.o ->> 'facts_version')::int = u.facts_version AND (j.o ->> 'at')::timestamptz <= s.last_seen_at "
    "AND :now < (j.o ->> 'valid_until')::timestamptz AND jsonb_array_length(j.a) BETWEEN 1 AND 8 "
    "AND (j.a -> -1 ->> 1)::timestamptz = s.last_seen_at), "
    "w AS (SELECT v.*, CASE WHEN mod(us, 1000) = 500 THEN us / 1000 + mod(us / 1000, 2) "
    "ELSE (us + 500) / 1000 END AS ms FROM v WHERE used IS NOT NULL), "
    "u AS (UPDATE users SET activity = jsonb_set(w.a, '{-1,1}', to_jsonb(CAST(:now_iso AS text)))::text, "
    "last_active = :now FROM w WHERE users.pk = w.pk AND users.xmin = w.version RETURNING users.pk), "
    "s AS (UPDATE sessions SET last_seen_at = :now, counted_ms = counted_ms + w.ms, "
    "ends_at = LEAST(w.fixed_end, CAST(:now AS timestamptz) "
    "+ (w.allowance - w.used - w.ms) * interval '1 millisecond') "
    "FROM w WHERE sessions.id = :id AND EXISTS (SELECT 1 FROM u) RETURNING sessions.ends_at), "
    "d AS (UPDATE usage_days SET used_ms = used_ms + w.ms FROM w WHERE usage_days.user_pk = w.pk "
    "AND usage_days.day = :today AND EXISTS (SELECT 1 FROM u) RETURNING usage_days.used_ms) "
    "SELECT w.outlook, w.facts_version, w.last_seen_at, w.ends_at, d.used_ms, s.ends_at FROM w, d, s")
_USER_SQLITE = "UPDATE users SET " + _USER_SET + " WHERE pk = :pk"
_SESSION_SQLITE = "UPDATE sessions SET " + _SESSION_SET + " WHERE id = :id"
_INSERT = ("INSERT INTO sessions (id, user_pk, client, started_at, last_seen_at, ends_at, counted_ms, "
           "policy_version, purpose) VALUES (:id, :pk, :client, :now, :now, :ends_at, 0, :policy_version, :purpose)")
_SAVE = ("UPDATE sessions SET last_seen_at = :last_seen_at, ends_at = :ends_at, ended_at = :ended_at, "
         "end_reason = :end_reason, counted_ms = :counted_ms WHERE id = :id")
# Through ix_sessions_user_active: no index on last_seen_at, which every heartbeat moves (0007).
_STALE = "SELECT id FROM sessions WHERE ended_at IS NULL AND last_seen_at < :before LIMIT :limit"
# Through ix_sessions_user_active, like the facts' running sessions (store/facts.py).
_OTHERS_OPEN = "SELECT last_seen_at, ends_at FROM sessions WHERE user_pk = :pk AND ended_at IS NULL AND id <> :id"


@dataclass(slots=True)
class SessionRow:
    id: str
    user_pk: int
    started_at: datetime
    last_seen_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    counted_ms: int
    others_seen_from: datetime | None  # the earliest last_seen_at of the user's other running sessions
    purpose: str | None = None  # section 7


@dataclass(slots=True)
class HeartbeatView:
    user: UserRow
    session: SessionRow
    used: dict[date, int]  # booked milliseconds of the days asked for that have any
    version: str | None  # PostgreSQL: the user row's xmin, which save_heartbeat compares


def new_id(user_pk: int) -> str:
    """`s<user pk in hex>_<128 random bits>`: what routes a heartbeat to its user's shard once the
    tables are distributed by the user's key (docs/deploy.md), so no id has to change then. At
    most 40 characters for any 64-bit key; ids made before, `s_<144 random bits>`, stay valid."""
    return f"s{user_pk:x}_{secrets.token_urlsafe(16)}"


def get(tx: Tx, session_id: str, client: str | None = None) -> SessionRow | None:
    """Read it only with its user's row locked (users.lock_by_session); with `client`, only if
    that client started it (the sweeper reads any)."""
    r = tx.one(_GET, {"id": session_id}) if client is None else tx.one(_GET_OWN, {"id": session_id, "client": client})
    return None if r is None else _row(tx, r)


def _row(tx: Tx, r) -> SessionRow:
    i = tx.to_instant
    return SessionRow(r[0], r[1], i(r[2]), i(r[3]), i(r[4]), i(r[5]), r[6], r[7], i(r[8]), r[9])


def heartbeat_view(tx: Tx, session_id: str, client: str, days: tuple[date, date, date]) -> HeartbeatView | None:
    """The session, its user and the booked use of `days`, read at one instant: on PostgreSQL
    without a lock, for `save_heartbeat`'s compare-and-set (not for a locked read: a row lock
    taken in a join re-reads the user's row after a wait, but not the session's); on SQLite in
    the write transaction that writes it."""
    params = {"id": session_id, "client": client, "d0": tx.day(days[0]), "d1": tx.day(days[1]), "d2": tx.day(days[2])}
    r = tx.one(_VIEW_PG if tx.postgres else _VIEW_SQLITE, params)
    if r is None:
        return None
    n = len(users.COLUMNS) + 1
    used = {day: ms for day, ms in zip(days, r[n + 10:n + 13], strict=True) if ms is not None}
    return HeartbeatView(users.from_row(tx, r[:n]), _row(tx, r[n:n + 10]), used, r[n + 13])


def save_heartbeat(tx: Tx, view: HeartbeatView, day: date, ms: int) -> bool:
    """Write a heartbeat answered from the stored decision (which stays as it is, as do the
    user's uncounted marks: it has none): the user's accrual state, the session, and `ms` more
    booked on `day` (whose row `view` found); only if nothing `view` read has changed since
    (False: decide under the lock instead). PostgreSQL: one statement outside a transaction,
    compared on the user row's version (every change of anything of a user's also writes the
    user's row). SQLite: in the write transaction that read `view` (the only writer)."""
    u, s = view.user, view.session
    act = u.activity
    params = {"activity": users.activity_json(act), "streak_start": tx.instant(act.streak_start),
              "last_active": tx.instant(act.last_active), "pk": u.pk,
              "last_seen_at": tx.instant(s.last_seen_at), "ends_at": tx.instant(s.ends_at),
              "counted_ms": s.counted_ms, "id": s.id, "day": tx.day(day), "ms": ms}
    if tx.postgres:
        params["version"] = view.version
        return tx.one(_HEARTBEAT_PG_BOOK if ms else _HEARTBEAT_PG, params)[0] == 1
    tx.run(_USER_SQLITE, params)
    tx.run(_SESSION_SQLITE, params)
    if ms:
        tx.run(_BOOK, params)
    return True


@dataclass(frozen=True, slots=True)
class InOne:
    """What `heartbeat_in_one` read and wrote: the stored decision and facts version it went on
    from, where the booked interval began, the session's end before, the day's new total and
    the session's new end."""

    outlook: str
    facts_version: int
    booked_from: datetime
    ends_before: datetime | None
    used_ms: int
    ends_at: datetime | None


def heartbeat_in_one(tx: Tx, session_id: str, client: str, now: datetime, grace: timedelta, midnight: datetime,
                     today: date, policy_version: int) -> InOne | None:
    """PostgreSQL: the commonest heartbeat read, booked and written in one statement outside a
    transaction (see _IN_ONE); None when it is not that case or the user's row changed meanwhile:
    then nothing was written."""
    r = tx.one(_IN_ONE, {"id": session_id, "client": client, "now": now, "now_iso": now.isoformat(), "grace": grace,
                         "midnight": midnight, "today": today, "version": policy_version})
    return None if r is None else InOne(*r)


def others_open(tx: Tx, s: SessionRow) -> list[tuple[datetime, datetime | None]]:
    """(last seen, ends at) of the user's other running sessions (read under the user's lock)."""
    return [(tx.to_instant(a), tx.to_instant(b)) for a, b in tx.all(_OTHERS_OPEN, {"pk": s.user_pk, "id": s.id})]


def insert(tx: Tx, session_id: str, user_pk: int, client: str, now: datetime, ends_at: datetime | None,
           policy_version: int, purpose: str | None = None) -> None:
    tx.run(_INSERT, {"id": session_id, "pk": user_pk, "client": client, "now": tx.instant(now),
                     "ends_at": tx.instant(ends_at), "policy_version": policy_version, "purpose": purpose})


def save(tx: Tx, s: SessionRow) -> None:
    tx.run(_SAVE, {"last_seen_at": tx.instant(s.last_seen_at), "ends_at": tx.instant(s.ends_at),
                   "ended_at": tx.instant(s.ended_at), "end_reason": s.end_reason, "counted_ms": s.counted_ms,
                   "id": s.id})


def stale_ids(tx: Tx, before: datetime, limit: int = 500) -> list[str]:
    return [r[0] for r in tx.all(_STALE, {"before": tx.instant(before), "limit": limit})]
