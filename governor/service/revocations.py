"""Token revocation: an admin revokes one token by its `jti`; every instance refuses it within
seconds (auth.Revocations reads the list at most every two seconds)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from governor.audit import Entry, append_system_event, timestamp
from governor.errors import InvalidRequest
from governor.service.context import Services
from governor.store import revocations


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
    """Revoke a token until `until` (default, and at most: the latest a token can expire),
    audited as `token.revoked` on the system chain in the same transaction."""
    now = svc.clock.now()
    if until is not None and until <= now:
        raise InvalidRequest("until: must be in the future", errors=[{"field": "until", "message": "in the past"}])
    last = latest_expiry(svc, now)
    until = last if until is None else min(until, last)
    with svc.db.write() as s:
        row = revocations.revoke(s, jti, until, now, by)
        append_system_event(s, now, Entry(client=by, action="token.revoked",
                                          data={"jti": jti, "until": timestamp(row.until)}))
        return Revoked(jti, row.until, now)


def active(svc: Services, now: datetime) -> frozenset[str]:
    with svc.db.read() as s:
        return revocations.active(s, now)


def forget_expired(svc: Services) -> int:
    with svc.db.write() as s:
        return revocations.forget_expired(s, svc.clock.now())
