"""Booked use per user and local day on the hot paths (plain statements)."""
from __future__ import annotations

from datetime import date, timedelta

from governor.store.sql import Tx

_ADD = ("UPDATE usage_days SET used_ms = used_ms + :ms, sessions = sessions + :n "
        "WHERE user_pk = :pk AND day = :day RETURNING used_ms")
_NEW = "INSERT INTO usage_days (user_pk, day, used_ms, sessions) VALUES (:pk, :day, :ms, :n)"


def add(tx: Tx, user_pk: int, day: date, used: timedelta = timedelta(0), sessions: int = 0) -> timedelta:
    """Add to a day's booked use (under the user's lock); the day's new total."""
    ms = round(used / timedelta(milliseconds=1))
    params = {"pk": user_pk, "day": tx.day(day), "ms": ms, "n": sessions}
    row = tx.one(_ADD, params)
    if row is None:
        tx.run(_NEW, params)
        return timedelta(milliseconds=ms)
    return timedelta(milliseconds=row[0])
