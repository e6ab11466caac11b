"""Purposes (DESIGN section 7): which purposes a session may declare, and the booking of the
uncounted part of a purposeful session's time. Called from the session use cases, under the
user's lock, right after the union booking of the same interval. The rule is the domain's
(`domain/uncounted.py`); this module reads what it needs and writes what it decides."""
from __future__ import annotations

from datetime import datetime

from governor.domain import ledger, uncounted
from governor.domain.bands import band_today
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
    """Book what of `interval` does not count (`uncounted.account`). A change drops the stored
    decision: the fast path's arithmetic knows no uncounted time."""
    tz = policy.zone(user.timezone)
    cap = uncounted.allowance(policy.bands[band_today(policy, repo.user_facts(user, user.user_id, {}), now)],
                              purpose)
    marks = store.marked(user)
    days = uncounted.days_to_read(cap, pieces, tz)
    booked = store.hot_uncounted(tx, user.pk, min(days), max(days)) if days else {}
    change = uncounted.account(cap, purpose, interval, pieces, marks, booked, tz)
    for day, p, amount in change.moves:
        store.hot_add_uncounted(tx, user.pk, day, p, amount)
    if change.changed:
        store.store_marked(user, change.marks)
        user.outlook = None


def prune(user: UserRow, keep_from: datetime | None) -> None:
    store.store_marked(user, ledger.prune_marked(store.marked(user), keep_from))
