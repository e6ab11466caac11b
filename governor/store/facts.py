"""What a decision reads about one user besides their row, in one statement (store/sql.py): the
booked use, grants and uncounted use of the days it looks at, the running sessions, and the
guardians' controls and consents. One round trip instead of five matters on PostgreSQL (docs/performance.md)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from governor.domain.controls import Controls
from governor.store.guardians import controls_of
from governor.store.sql import Tx

# PostgreSQL types a union's columns from its first part: hence the typed NULLs there.
_GATHER = (
    "SELECT 'used', day, used_ms, CAST(NULL AS TEXT), CAST(NULL AS INTEGER), "
    "CAST(NULL AS TIMESTAMP WITH TIME ZONE), CAST(NULL AS TIMESTAMP WITH TIME ZONE) FROM usage_days "
    "WHERE user_pk = :pk AND day >= :first AND day <= :last "
    "UNION ALL SELECT 'granted', day, sum(minutes), NULL, NULL, NULL, NULL FROM grants "
    "WHERE user_pk = :pk AND day >= :first AND day <= :grants_last GROUP BY day "
    "UNION ALL SELECT 'uncounted', day, ms, purpose, NULL, NULL, NULL FROM uncounted_days "
    "WHERE user_pk = :pk AND day >= :first AND day <= :last "
    "UNION ALL SELECT 'active', NULL, NULL, id, NULL, last_seen_at, ends_at FROM sessions "
    "WHERE user_pk = :pk AND ended_at IS NULL "
    "UNION ALL SELECT 'controls', NULL, daily_limit_minutes, quiet_hours, rest_reminder_minutes, NULL, NULL "
    "FROM guardian_links WHERE user_pk = :pk "
    "UNION ALL SELECT 'consent', NULL, NULL, consent, NULL, consent_at, NULL FROM guardian_links "
    "WHERE user_pk = :pk AND consent IS NOT NULL")


@dataclass(frozen=True)
class Active:
    id: str
    last_seen_at: datetime
    ends_at: datetime | None


@dataclass
class Gathered:
    used: dict[date, timedelta] = field(default_factory=dict)  # booked use per day, `first` to `last`
    granted: dict[date, int] = field(default_factory=dict)  # granted minutes per day, to `grants_last`
    uncounted: dict[date, dict[str, timedelta]] = field(default_factory=dict)  # per day and purpose
    active: list[Active] = field(default_factory=list)  # the running sessions
    controls: list[Controls] = field(default_factory=list)  # every guardian's (section 7)
    consents: tuple[tuple[datetime, str], ...] = ()  # every guardian's consent given or withdrawn (section 8)


def gather(tx: Tx, user_pk: int | None, first: date, last: date, grants_last: date) -> Gathered:
    out = Gathered()
    if user_pk is None:
        return out
    uncounted: dict[date, dict[str, timedelta]] = defaultdict(dict)
    i, d = tx.to_instant, tx.to_day
    for kind, day, n, text, m, t1, t2 in tx.all(_GATHER, {
            "pk": user_pk, "first": tx.day(first), "last": tx.day(last), "grants_last": tx.day(grants_last)}):
        if kind == "used":
            out.used[d(day)] = timedelta(milliseconds=int(n))
        elif kind == "granted":
            out.granted[d(day)] = int(n)
        elif kind == "uncounted":
            uncounted[d(day)][text] = timedelta(milliseconds=int(n))
        elif kind == "active":
            out.active.append(Active(text, i(t1), i(t2)))
        elif kind == "consent":
            out.consents += ((i(t1), text),)
        else:
            out.controls.append(controls_of(n, text, m))
    out.uncounted = dict(uncounted)
    return out
