"""Token revocation: an admin revokes one token by its `jti` (the console revokes its own at
sign-out); every instance refuses it within seconds, as each process re-reads the revoked set at
most every REVOCATIONS_FRESH.

Revocations run on the operating system's clock, as token lifetimes do (PyJWT checks `exp`
against it). The development clock (PUT /v1/dev/clock) moves the time the policy sees; moved past
a revocation's end, it must not let the revoked token in again.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from governor.clock import Clock, OffsetClock
from governor.errors import InvalidRequest
from governor.service.audit import Entry, append_system_event, timestamp
from governor.service.context import Services
from governor.store import revocations

REVOCATIONS_FRESH = timedelta(seconds=2)


def os_clock(clock: Clock) -> Clock:
    """The clock tokens live on: the development clock's base, else the clock itself (a test's
    FakeClock stands in for the OS clock)."""
    return clock.base if isinstance(clock, OffsetClock) else clock


class Revocations:
    """The revoked token ids, read from the database at most every REVOCATIONS_FRESH, so every
    instance honours a revocation within seconds at the cost of one query per process per
    interval (never one per request). `load(now)` returns the ids revoked at `now`."""

    def __init__(self, load: Callable[[datetime], frozenset[str]], clock: Clock):
        self._load, self._clock = load, clock
        self._ids: frozenset[str] = frozenset()
        self._read_at: datetime | None = None
        self._lock = threading.Lock()

    def __contains__(self, jti: object) -> bool:
        now = self._clock.now()
        read_at = self._read_at
        # A clock stepped backwards makes the set stale too, so a negative age also re-reads.
        if read_at is None or not timedelta(0) <= now - read_at < REVOCATIONS_FRESH:
            with self._lock:  # one thread reads; the others wait for its answer
                if read_at is self._read_at:
                    self._ids, self._read_at = self._load(now), now
        return jti in self._ids

    def expire(self) -> None:
        """Read again at the next check (this instance has just revoked one)."""
        self._read_at = None


@dataclass(frozen=True)
class Revoked:
    jti: str
    until: datetime
    revoked_at: datetime


def latest_expiry(svc: Services, now: datetime) -> datetime:
    """No token this service accepts outlives this: `exp - iat` is capped and `iat` may be at
    most the leeway ahead, so a revocation need not last longer."""
    s = svc.settings
    return now + timedelta(seconds=s.jwt_max_ttl_seconds + 2 * s.jwt_leeway_seconds)


def revoke(svc: Services, jti: str, until: datetime | None, by: str) -> Revoked:
    """Revoke a token until `until` (default, and at most: the latest a token can expire; both on
    the OS clock), audited as `token.revoked` on the system chain in the same transaction."""
    now = os_clock(svc.clock).now()
    if until is not None and until <= now:
        raise InvalidRequest("until: must be in the future", errors=[{"field": "until", "message": "in the past"}])
    last = latest_expiry(svc, now)
    until = last if until is None else min(until, last)
    with svc.db.write() as s:
        until = revocations.revoke(s, jti, until, now, by)
        append_system_event(s, svc.clock.now(), Entry(client=by, action="token.revoked",
                                                      data={"jti": jti, "until": timestamp(until)}))
        return Revoked(jti, until, now)


def active(svc: Services, now: datetime) -> frozenset[str]:
    with svc.db.read() as s:
        return revocations.active(s, now)


def forget_expired(svc: Services) -> int:
    """Drop the revocations that have ended on the OS clock (their tokens have expired by then)."""
    with svc.db.write() as s:
        return revocations.forget_expired(s, os_clock(svc.clock).now())
