"""Asking for more time (DESIGN section 7): the child's frontend files a request, a guardian of
the child approves it (a grant within the band's cap, possibly for fewer minutes) or denies it,
and a request still pending when the child's local day ends expires. Expiry is shown at once on
read (`TimeRequest.at`) and written, with its audit event, by the next write that meets it or by
the sweeper (`expire_due`). The rules are the domain's (`domain/time_requests.py`); a request's
instants are answered in the child's offset, as decisions are."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from governor.domain import time_requests as rules
from governor.domain.bands import band_today, local_day
from governor.domain.policy import Policy
from governor.domain.time_requests import TimeRequest
from governor.errors import InvalidRequest, NotFound, Problem
from governor.service.audit import Entry, append_user_event
from governor.service.context import Services
from governor.service.guardians import add_guardian_grant
from governor.service.webhooks import outbox
from governor.store import guardians as store
from governor.store import repo
from governor.store.repo import UserRecord

SWEEPER = "governor-sweeper"
RequestView = TimeRequest  # what the use cases answer


class NoGuardian(Problem):
    status, type, title = 409, "no-guardian", "The user has no guardian to ask"


class RequestPending(Problem):
    status, type, title = 409, "request-pending", "A request is already pending"


class RequestDecided(Problem):
    status, type, title = 409, "request-decided", "The request is no longer pending"


def _audit(s: Session, user: UserRecord, policy: Policy, now: datetime, client: str, action: str, data: dict) -> None:
    band = band_today(policy, user.facts, now)
    append_user_event(s, user, now, Entry(
        client=client, action=action, reason=data.get("status"), policy_name=policy.name,
        policy_version=policy.version, data={**data, "band": band.value}))


def _expire(s: Session, policy: Policy, user: UserRecord, r: TimeRequest, now: datetime) -> None:
    store.decide_request(s, r.id, "expired", r.expires_at, None, None)
    outbox.time_request(s, user, r, "time_request.expired", now, status="expired", decided_at=r.expires_at)
    _audit(s, user, policy, now, SWEEPER, "time.decided", {"request_id": r.id, "status": "expired"})


def create(svc: Services, user_id: str, minutes: int, note: str | None, client: str) -> TimeRequest:
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user = repo.find_user(s, user_id, lock=True)
        if user is None or not store.links_of_user(s, user.pk):
            raise NoGuardian(f"{user_id!r} has no guardian to ask for more time")
        pending = store.pending_request(s, user.pk, user_id)
        if pending is not None and pending.status_at(now) == "expired":
            _expire(s, policy, user, pending, now)
        elif pending is not None:
            raise RequestPending(f"request {pending.id} is still pending", request_id=pending.id)
        tz = policy.zone(user.facts.timezone)
        today = local_day(policy, user.facts.timezone, now)
        r = TimeRequest(store.new_request_id(), user_id, minutes, note, "pending", today, now,
                        rules.expires_at(today, tz))
        store.add_request(s, user.pk, r, client)
        outbox.time_request(s, user, r, "time_request.created", now)
        _audit(s, user, policy, now, client, "time.requested",
               {"request_id": r.id, "minutes": minutes, "date": today.isoformat(), "note_given": note is not None})
        return r.at(now, tz)


def get(svc: Services, request_id: str, client: str | None = None) -> TimeRequest:
    """The request; with a `client` (a frontend's sub), only one that client made: another's is
    not found."""
    with svc.db.read() as s:
        policy, found = svc.policy(s), store.request_by_id(s, request_id, client)
    if found is None:
        raise NotFound(f"no time request {request_id[:40]!r}")
    r, timezone = found
    return r.at(svc.clock.now(), policy.zone(timezone))


def of_guardian(svc: Services, guardian_id: str, status: str | None) -> list[TimeRequest]:
    with svc.db.read() as s:
        policy, now = svc.policy(s), svc.clock.now()
        out = [r.at(now, policy.zone(tz)) for r, tz in store.requests_of_guardian(s, guardian_id)]
    return [r for r in out if status is None or r.status == status]


def decide(svc: Services, guardian_id: str, request_id: str, status: str, minutes: int | None,
           client: str) -> TimeRequest:
    """Approve (a grant for the day it was asked on, within the cap) or deny a pending request.
    A request of a child that is not the guardian's is a 404; a decided or expired one a 409."""
    result = None
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        found = store.request_by_id(s, request_id)
        user = repo.find_user(s, found[0].user_id, lock=True) if found is not None else None
        lk = store.link(s, user.pk, guardian_id) if user is not None else None
        if lk is None:
            raise NotFound(f"no time request {request_id[:40]!r}")
        r, _ = store.request_by_id(s, request_id)  # read again under the child's lock
        state = r.status_at(now)
        if state == "expired" and r.status == "pending":
            _expire(s, policy, user, r, now)  # written, then answered as any expired request is
        elif state != "pending":
            raise RequestDecided(f"request {r.id} is {r.status}", request_status=r.status)
        else:
            try:
                granted = rules.granted_minutes(r.minutes, minutes)
            except rules.MoreThanAsked:
                raise InvalidRequest(f"minutes: {minutes} is more than the {r.minutes} asked",
                                     errors=[{"field": "minutes", "message": f"more than the {r.minutes} asked"}]
                                     ) from None
            if status == "approved":
                add_guardian_grant(s, policy, user, lk, r.date, granted, "time request", client, now, r.id)
            decided = granted if status == "approved" else None
            store.decide_request(s, r.id, status, now, decided, lk.id)
            outbox.time_request(s, user, r, "time_request.decided", now, guardian_id, status=status, decided_at=now,
                                decided_minutes=decided)
            _audit(s, user, policy, now, client, "time.decided",
                   {"request_id": r.id, "status": status, "minutes": decided, "link_id": lk.id})
            result = TimeRequest(r.id, r.user_id, r.minutes, r.note, status, r.date, r.created_at, r.expires_at,
                                 now, decided).at(now, policy.zone(user.facts.timezone))
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
            user = repo.find_user(s, found[0].user_id, lock=True) if found is not None else None
            if user is None:
                continue
            r, _ = store.request_by_id(s, request_id)
            if r.status == "pending" and r.status_at(now) == "expired":
                _expire(s, policy, user, r, now)
                done += 1
    return done
