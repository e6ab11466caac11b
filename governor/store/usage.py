"""Booked use per user and local day, and grants, on the hot paths (plain statements)."""
from __future__ import annotations

from datetime import date, timedelta

from governor.store.sql import Tx

_DAYS = ("SELECT 'used', day, used_ms FROM usage_days WHERE user_pk = :pk AND day >= :first AND day <= :last "
         "UNION ALL SELECT 'granted', day, sum(minutes) FROM grants "
         "WHERE user_pk = :pk AND day >= :first AND day <= :grants_last GROUP BY day")
_ADD = ("UPDATE usage_days SET used_ms = used_ms + :ms, sessions = sessions + :n "
        "WHERE user_pk = :pk AND day = :day RETURNING used_ms")
_NEW = "INSERT INTO usage_days (user_pk, day, used_ms, sessions) VALUES (:pk, :day, :ms, :n)"


def days(tx: Tx, user_pk: int | None, first: date, last: date,
         grants_last: date) -> tuple[dict[date, timedelta], dict[date, int]]:
    """Booked use per day from `first` to `last`, and granted minutes per day up to
    `grants_last`, in one statement."""
    used: dict[date, timedelta] = {}
    granted: dict[date, int] = {}
    if user_pk is None:
        return used, granted
    for kind, day, amount in tx.all(_DAYS, {"pk": user_pk, "first": tx.day(first), "last": tx.day(last),
                                            "grants_last": tx.day(grants_last)}):
        if kind == "used":
            used[tx.to_day(day)] = timedelta(milliseconds=int(amount))
        else:
            granted[tx.to_day(day)] = int(amount)
    return used, granted


def add(tx: Tx, user_pk: int, day: date, used: timedelta = timedelta(0), sessions: int = 0) -> timedelta:
    """Add to a day's booked use (under the user's lock); the day's new total."""
    ms = round(used / timedelta(milliseconds=1))
    params = {"pk": user_pk, "day": tx.day(day), "ms": ms, "n": sessions}
    row = tx.one(_ADD, params)
    if row is None:
        tx.run(_NEW, params)
        return timedelta(milliseconds=ms)
    return timedelta(milliseconds=row[0])
