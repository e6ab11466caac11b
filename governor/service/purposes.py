"""Purposes (DESIGN section 7): which purposes a session may declare, and the booking of the
uncounted part of a purposeful session's time. Called from the session use cases, under the
user's lock, right after the union booking of the same interval."""
from __future__ import annotations

from datetime import datetime, timedelta

from governor.domain import ledger
from governor.domain.engine import band_of
from governor.domain.policy import Policy
from governor.errors import InvalidRequest
from governor.store import guardians as store
from governor.store import repo
from governor.store.sql import Tx
from governor.store.users import UserRow


def check(policy: Policy, purpose: str | None) -> str | None:
    """A purpose no band of the active policy names is a 422 that lists the known ones."""
    if purpose is not None and purpose not in policy.purposes:
        known = ", ".join(policy.purposes) or "none"
        raise InvalidRequest(f"purpose: {purpose[:40]!r} is not a purpose of the active policy (known: {known})",
                             errors=[{"field": "purpose", "message": "unknown purpose"}],
                             known_purposes=list(policy.purposes))
    return purpose


def account(tx: Tx, policy: Policy, user: UserRow, purpose: str | None, interval: ledger.Interval,
            pieces: tuple[ledger.Interval, ...], now: datetime) -> None:
    """Book what of `interval` does not count. A session whose purpose has uncounted minutes in
    the user's band marks its newly covered `pieces` uncounted, up to each day's minutes; any
    other session takes back the uncounted time its interval overlaps (the union rule). Either
    change drops the stored decision: the fast path's arithmetic knows no uncounted time."""
    tz = policy.zone(user.timezone)
    rules = policy.bands[band_of(repo.user_facts(user, user.user_id, {}).verification,
                                 now.astimezone(tz).date(), now)]
    cap = timedelta(minutes=rules.uncounted_for(purpose))
    marks = store.marked(user)
    if cap:
        days = {day for piece in pieces for day, _ in ledger.day_pieces(piece, tz)}
        if not days:
            return
        booked = store.hot_uncounted(tx, user.pk, min(days), max(days))
        room = {d: cap - booked.get(d, {}).get(purpose, timedelta(0)) for d in days}
        parts = ledger.uncounted_parts(pieces, purpose, tz, room)
        for day, (a, b, p) in parts:
            store.hot_add_uncounted(tx, user.pk, day, p, b - a)
        if parts:
            store.store_marked(user, tuple(sorted(marks + tuple(m for _, m in parts))))
            user.outlook = None
    elif marks:
        keep, moved = ledger.reclaim(interval, marks)
        for a, b, p in moved:
            store.hot_add_uncounted(tx, user.pk, a.astimezone(tz).date(), p, -(b - a))
        if moved:
            store.store_marked(user, keep)
            user.outlook = None


def prune(user: UserRow, keep_from: datetime | None) -> None:
    store.store_marked(user, ledger.prune_marked(store.marked(user), keep_from))
