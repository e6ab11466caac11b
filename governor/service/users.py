"""Users: age verification and the usage ledger as a client reads it."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from governor.domain.bands import band_today, local_day
from governor.domain.decision import Verification, recorded
from governor.errors import InvalidRequest
from governor.service.audit import Entry, append_user_event
from governor.service.context import Services
from governor.service.webhooks import outbox
from governor.store import guardians as guardian_store
from governor.store import repo


@dataclass(frozen=True)
class Verified:
    user_id: str
    verification: Verification
    band: str  # a Band, or a policy's own (domain/bands.BandName)


@dataclass(frozen=True)
class DayUsage:
    date: date
    seconds: int
    sessions: int
    uncounted_seconds: int = 0  # the part of `seconds` that did not count toward limits (section 7)


def set_verification(svc: Services, user_id: str, v: Verification, client: str) -> Verified:
    """Store a verification. Unverified drops the birth date: nothing is kept that is not needed."""
    with svc.db.write() as s:
        policy = svc.policy(s)
        now = svc.clock.now()
        v = recorded(v, now)
        user = repo.lock_user(s, user_id, now)
        if v.birth_date is not None and v.birth_date > local_day(policy, user.facts.timezone, now):
            raise InvalidRequest("birth_date: must not be in the future",
                                 errors=[{"field": "birth_date", "message": "in the future"}])
        before = band_today(policy, user.facts, now)
        repo.set_verification(s, user, v)
        band = band_today(policy, replace(user.facts, verification=v), now)
        # The birth date is personal data and stays out of the (erasure-surviving) audit log.
        append_user_event(s, user, now, Entry(
            client=client, action="verification.changed", reason=v.status, policy_name=policy.name,
            policy_version=policy.version,
            data={"status": v.status, "method": v.method, "provider": v.provider, "assurance": v.assurance,
                  "expires_at": v.expires_at and v.expires_at.isoformat(), "band": band.value}))
        if band != before:  # section 9: the parent app hears of it
            basis = ["verification"] if v.status != "unverified" else []
            outbox.emit(s, user, "age.band_changed", now,
                        {"band": band.value, "previous": before.value, "basis": basis})
        return Verified(user_id, v, band)


def usage(svc: Services, user_id: str, first: date | None, last: date | None) -> list[DayUsage]:
    """Use per local day from `first` to `last` (default: the last 7 days), zeros included."""
    with svc.db.read() as s:
        policy = svc.policy(s)
        user = repo.find_user(s, user_id)
        today = local_day(policy, user.facts.timezone if user is not None else None, svc.clock.now())
        last = last or (today if first is None else first + timedelta(days=6))
        first = first or last - timedelta(days=6)
        rows = repo.usage_report(s, user.pk, first, last) if user is not None else {}
        uncounted = guardian_store.uncounted(s, user.pk if user is not None else None, first, last)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [DayUsage(d, rows.get(d, (0, 0))[0] // 1000, rows.get(d, (0, 0))[1],
                     int(sum(uncounted.get(d, {}).values(), timedelta(0)).total_seconds())) for d in days]


