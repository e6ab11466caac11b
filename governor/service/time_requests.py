"""Asking for more time (DESIGN section 7): the child's frontend files a request, a guardian of
the child approves it (a grant within the band's cap, possibly for fewer minutes) or denies it,
and a request still pending when the child's local day ends expires. Expiry is shown at once on
read (`status_at`) and written, with its audit event, by the next write that meets it or by the
sweeper (`expire_due`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from governor.audit import Entry, append_user_event
from governor.domain.engine import band_of
from governor.domain.policy import Policy
from governor.errors import InvalidRequest, NotFound, Problem
from governor.service.context import Services
from governor.store import guardians as store
from governor.store import repo
from governor.store.tables import TimeRequest, User

SWEEPER = "governor-sweeper"


class NoGuardian(Problem):
    status, type, title = 409, "no-guardian", "The user has no guardian to ask"


class RequestPending(Problem):
    status, type, title = 409, "request-pending", "A request is already pending"


class RequestDecided(Problem):
    status, type, title = 409, "request-decided", "The request is no longer pending"


@dataclass(frozen=True)
class RequestView:
    id: str
    user_id: str
    minutes: int
    note: str | None
    status: str
    date: date
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_minutes: int | None


def status_at(r: TimeRequest, now: datetime) -> str:
    """A pending request whose day has ended is expired, whether or not that is written yet."""
    return "expired" if r.status == "pending" and r.expires_at <= now else r.status


def view(r: TimeRequest, user_id: str, now: datetime) -> RequestView:
    status = status_at(r, now)
    decided_at = r.decided_at or (r.expires_at if status == "expired" else None)
    return RequestView(r.id, user_id, r.minutes, r.note, status, r.day, r.created_at, r.expires_at, decided_at,
                       r.decided_minutes)


def _audit(s: Session, user: User, policy: Policy, now: datetime, client: str, action: str, data: dict) -> None:
    band = band_of(repo.user_facts(user, user.user_id, {}).verification,
                   now.astimezone(policy.zone(user.timezone)).date(), now)
    append_user_event(s, user, now, Entry(client=client, action=action, reason=data.get("status"),
                                          policy_name=policy.name, policy_version=policy.version,
                                          data={**data, "band": band.value}))


def _expire(s: Session, policy: Policy, user: User, r: TimeRequest, now: datetime) -> None:
    r.status, r.decided_at = "expired", r.expires_at
    _audit(s, user, policy, now, SWEEPER, "time.decided", {"request_id": r.id, "status": "expired"})


def create(svc: Services, user_id: str, minutes: int, note: str | None, client: str) -> RequestView:
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user = repo.find_user(s, user_id, lock=True)
        if user is None or not store.links_of_user(s, user.pk):
            raise NoGuardian(f"{user_id!r} has no guardian to ask for more time")
        pending = store.pending_request(s, user.pk)
        if pending is not None and pending.expires_at <= now:
            _expire(s, policy, user, pending, now)
        elif pending is not None:
            raise RequestPending(f"request {pending.id} is still pending", request_id=pending.id)
        tz = policy.zone(user.timezone)
        today = now.astimezone(tz).date()
        r = store.add_request(s, user.pk, minutes, note, today, now,
                              datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz), client)
        _audit(s, user, policy, now, client, "time.requested",
               {"request_id": r.id, "minutes": minutes, "date": today.isoformat(), "note_given": note is not None})
        return view(r, user_id, now)


def get(svc: Services, request_id: str) -> RequestView:
    with svc.db.read() as s:
        found = store.request_by_id(s, request_id)
        if found is None:
            raise NotFound(f"no time request {request_id[:40]!r}")
        return view(*found, svc.clock.now())


def of_guardian(svc: Services, guardian_id: str, status: str | None) -> list[RequestView]:
    with svc.db.read() as s:
        now = svc.clock.now()
        out = [view(r, uid, now) for r, uid in store.requests_of_guardian(s, guardian_id)]
    return [v for v in out if status is None or v.status == status]


def decide(svc: Services, guardian_id: str, request_id: str, status: str, minutes: int | None,
           client: str) -> RequestView:
    """Approve (a grant for the day it was asked on, within the cap) or deny a pending request.
    A request of a child that is not the guardian's is a 404; a decided or expired one a 409."""
    from governor.service.guardians import add_guardian_grant

    result = None
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        found = store.request_by_id(s, request_id)
        user = repo.find_user(s, found[1], lock=True) if found is not None else None
        lk = store.link(s, user.pk, guardian_id) if user is not None else None
        if lk is None:
            raise NotFound(f"no time request {request_id[:40]!r}")
        r = found[0]
        s.refresh(r)  # read again under the child's lock
        if r.status == "pending" and r.expires_at <= now:
            _expire(s, policy, user, r, now)  # written, then answered as any expired request is
        elif r.status != "pending":
            raise RequestDecided(f"request {r.id} is {r.status}", request_status=r.status)
        else:
            granted = r.minutes if minutes is None else minutes
            if granted > r.minutes:
                raise InvalidRequest(f"minutes: {granted} is more than the {r.minutes} asked",
                                     errors=[{"field": "minutes", "message": f"more than the {r.minutes} asked"}])
            if status == "approved":
                add_guardian_grant(s, policy, user, lk, r.day, granted, "time request", client, now, r.id)
            r.status, r.decided_at, r.link_id = status, now, lk.id
            r.decided_minutes = granted if status == "approved" else None
            _audit(s, user, policy, now, client, "time.decided",
                   {"request_id": r.id, "status": status, "minutes": r.decided_minutes, "link_id": lk.id})
            result = view(r, user.user_id, now)
    if result is None:
        raise RequestDecided(f"request {request_id} expired at the end of its day", request_status="expired")
    return result


def expire_due(svc: Services) -> int:
    """Write the expiry of every pending request whose day has ended (the sweeper's job)."""
    with svc.db.read() as s:
        due = store.due_requests(s, svc.clock.now())
    done = 0
    for request_id in due:
        with svc.db.write() as s:
            policy, now = svc.policy(s), svc.clock.now()
            found = store.request_by_id(s, request_id)
            user = repo.find_user(s, found[1], lock=True) if found is not None else None
            if user is None:
                continue
            s.refresh(found[0])
            if found[0].status == "pending" and found[0].expires_at <= now:
                _expire(s, policy, user, found[0], now)
                done += 1
    return done
