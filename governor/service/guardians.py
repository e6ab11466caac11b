"""Guardians (DESIGN section 7): links, controls that only tighten, grants within the band's
cap, the children's decisions and the weekly summary. Each change is one transaction under the
child's lock, audited on the child's chain with the link's random id (never the guardian id);
the audit append bumps the child's facts version, so a running session decides afresh at its
next heartbeat."""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from governor.audit import Entry, append_user_event
from governor.domain.controls import Controls, window_text
from governor.domain.engine import Band, Decision, band_of, looser_limit
from governor.domain.policy import Policy, PolicyInvalid, parse_windows
from governor.errors import InvalidRequest, LooserLimit, NotFound
from governor.service import sessions, time_requests
from governor.service.context import Services
from governor.store import guardians as store
from governor.store import repo
from governor.store.tables import GuardianLink, User

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class NotLinked(NotFound):
    type, title = "not-linked", "No such link"


@dataclass(frozen=True)
class LinkView:
    user_id: str
    guardian_id: str
    linked_at: datetime


@dataclass(frozen=True)
class Child:
    user_id: str
    decision: Decision
    controls: dict[str, Any]


def controls_json(c: Controls) -> dict[str, Any]:
    return {"daily_limit_minutes": c.daily_limit_minutes,
            "quiet_hours": [window_text(w) for w in c.quiet_hours] or None,
            "rest_reminder_minutes": c.rest_reminder_minutes}


def _audit(s: Session, user: User, policy: Policy, now: datetime, client: str, action: str, data: dict,
           reason: str | None = None) -> None:
    band = band_of(repo.user_facts(user, user.user_id, {}).verification,
                   now.astimezone(policy.zone(user.timezone)).date(), now)
    append_user_event(s, user, now, Entry(client=client, action=action, reason=reason, policy_name=policy.name,
                                          policy_version=policy.version, data={**data, "band": band.value}))


def _child(s: Session, guardian_id: str, user_id: str, lock: bool = False) -> tuple[User, GuardianLink]:
    """The child and this guardian's link; an unlinked child answers exactly as an unknown one."""
    user = repo.find_user(s, user_id, lock=lock)
    lk = store.link(s, user.pk, guardian_id) if user is not None else None
    if user is None or lk is None:
        raise NotFound(f"no child {user_id!r}")
    return user, lk


# -- links (scope age or admin) ---------------------------------------------------------------

def link(svc: Services, user_id: str, guardian_id: str, client: str) -> LinkView:
    """Link a guardian to a user (idempotent: an existing link is answered as it is)."""
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user = repo.lock_user(s, user_id, now)
        lk = store.link(s, user.pk, guardian_id)
        if lk is None:
            lk = store.add_link(s, user.pk, guardian_id, client, now)
            _audit(s, user, policy, now, client, "guardian.linked", {"link_id": lk.id})
        return LinkView(user_id, guardian_id, lk.linked_at)


def unlink(svc: Services, user_id: str, guardian_id: str, client: str) -> LinkView:
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user = repo.find_user(s, user_id, lock=True)
        lk = store.link(s, user.pk, guardian_id) if user is not None else None
        if lk is None:
            raise NotLinked(f"{guardian_id!r} is not a guardian of {user_id!r}")
        view = LinkView(user_id, guardian_id, lk.linked_at)
        _remove(s, user, lk, policy, now, client, {})
        return view


def _remove(s: Session, user: User, lk: GuardianLink, policy: Policy, now: datetime, client: str,
            extra: dict) -> None:
    store.delete_link(s, lk)
    _audit(s, user, policy, now, client, "guardian.unlinked", {"link_id": lk.id, **extra})


def guardians_of(svc: Services, user_id: str) -> list[LinkView]:
    with svc.db.read() as s:
        user = repo.find_user(s, user_id)
        return [LinkView(user_id, lk.guardian_id, lk.linked_at)
                for lk in store.links_of_user(s, user.pk if user else None)]


def erase_guardian(svc: Services, guardian_id: str, client: str) -> int:
    """Erase a guardian: every link, and the controls with it; each child's chain records the
    unlink (by link id). Children are locked one at a time, in key order. Returns the links."""
    with svc.db.read() as s:
        pks = sorted(lk.user_pk for lk, _ in store.children_of(s, guardian_id))
    if not pks:
        raise NotFound(f"no guardian {guardian_id!r}")
    removed = 0
    for pk in pks:
        with svc.db.write() as s:
            policy, now = svc.policy(s), svc.clock.now()
            user = store.lock_user_by_pk(s, pk)
            lk = store.link(s, pk, guardian_id) if user is not None else None
            if lk is not None:
                _remove(s, user, lk, policy, now, client, {"erasure": True})
                removed += 1
    from governor.service.admin import fold_wal  # erased ids leave no copy in SQLite's WAL

    fold_wal(svc)
    return removed


# -- the guardian's views and controls (scope guardian) ----------------------------------------

def children(svc: Services, guardian_id: str) -> list[Child]:
    with svc.db.read() as s:
        found = [(uid, store.controls(lk)) for lk, uid in store.children_of(s, guardian_id)]
    return [Child(uid, sessions.status(svc, uid).decision, controls_json(c)) for uid, c in found]


def get_controls(svc: Services, guardian_id: str, user_id: str) -> dict[str, Any]:
    with svc.db.read() as s:
        _, lk = _child(s, guardian_id, user_id)
        return controls_json(store.controls(lk))


def set_controls(svc: Services, guardian_id: str, user_id: str, daily_limit: int | None,
                 quiet_hours: list[str] | None, rest_reminder: int | None, client: str) -> dict[str, Any]:
    """Replace this guardian's controls. A daily limit looser than the band's is a 422 naming it."""
    try:
        windows = parse_windows(quiet_hours or [], "quiet_hours")
    except PolicyInvalid as e:
        raise InvalidRequest(str(e), errors=[{"field": e.field, "message": e.problem}]) from None
    new = Controls(daily_limit, windows, rest_reminder)
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user, lk = _child(s, guardian_id, user_id, lock=True)
        today = now.astimezone(policy.zone(user.timezone)).date()
        looser = looser_limit(policy, repo.user_facts(user, user_id, {}).verification, today, now, daily_limit)
        if looser is not None:
            raise LooserLimit(daily_limit, looser[0].value, looser[1], "a guardian's limit")
        out = controls_json(new)
        if new != store.controls(lk):
            lk.daily_limit_minutes, lk.rest_reminder_minutes = daily_limit, rest_reminder
            lk.quiet_hours = json.dumps(out["quiet_hours"]) if out["quiet_hours"] else None
            _audit(s, user, policy, now, client, "controls.changed", {"link_id": lk.id, **out})
        return out


def grant(svc: Services, guardian_id: str, user_id: str, minutes: int, reason: str | None,
          client: str) -> tuple[dict[str, Any], Decision]:
    """Extra minutes for the child's current local day, within the band's guardian cap."""
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user, lk = _child(s, guardian_id, user_id, lock=True)
        day = now.astimezone(policy.zone(user.timezone)).date()
        add_guardian_grant(s, policy, user, lk, day, minutes, reason, client, now)
        out = {"date": day.isoformat(), "extra_minutes": minutes, "reason": reason, "by": "guardian"}
    return out, sessions.status(svc, user_id).decision


def add_guardian_grant(s: Session, policy: Policy, user: User, lk: GuardianLink, day: date, minutes: int,
                       reason: str | None, client: str, now: datetime, request_id: str | None = None) -> None:
    """A guardian's grant for `day`, refused (422) past the band's `guardian_grant_max_minutes`
    for all guardians' grants of that day together."""
    band = band_of(repo.user_facts(user, user.user_id, {}).verification, day, now)
    cap = policy.bands[band].guardian_grant_max_minutes
    granted = store.guardian_minutes(s, user.pk, day)
    if cap is None or granted + minutes > cap:
        why = (f"the {band.value} band lets guardians grant no time" if cap is None else
               f"guardians may grant at most {cap} minutes a day in the {band.value} band ({granted} granted "
               f"for {day.isoformat()}, {minutes} asked)")
        raise InvalidRequest(f"extra_minutes: {why}", errors=[{"field": "extra_minutes", "message": why}],
                             guardian_grant_max_minutes=cap, granted_minutes=granted)
    store.add_grant(s, user.pk, lk.id, day, minutes, reason, client, now)
    data = {"date": day.isoformat(), "extra_minutes": minutes, "reason_given": reason is not None,
            "by": "guardian", "link_id": lk.id}
    _audit(s, user, policy, now, client, "grant.added", data | ({"request_id": request_id} if request_id else {}))


# -- the weekly summary -----------------------------------------------------------------------

def parse_week(value: str | None) -> date | None:
    """The Monday of an ISO week written 2026-W48."""
    if not value:
        return None
    m = WEEK.match(value)
    try:
        if not m:
            raise ValueError
        return date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError:
        raise InvalidRequest("week: an ISO week such as 2026-W48",
                             errors=[{"field": "week", "message": "not an ISO week"}]) from None


def summary(svc: Services, guardian_id: str, user_id: str, monday: date | None) -> dict[str, Any]:
    with svc.db.read() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user, _ = _child(s, guardian_id, user_id)
        tz = policy.zone(user.timezone)
        today = now.astimezone(tz).date()
        monday = monday or today - timedelta(days=today.weekday())
        sunday = monday + timedelta(days=6)
        used = repo.usage_report(s, user.pk, monday, sunday)
        uncounted = store.uncounted(s, user.pk, monday, sunday)
        start, end = (datetime.combine(d, time(0), tzinfo=tz) for d in (monday, sunday + timedelta(days=1)))
        refusals = store.refusals_between(s, user.pseudonym, start, end)
        asked = Counter(time_requests.status_at(r, now) for r in store.requests_between(s, user.pk, monday, sunday))
        band = band_of(repo.user_facts(user, user_id, {}).verification, today, now)
    days = []
    for i in range(7):
        d = monday + timedelta(days=i)
        ms, n = used.get(d, (0, 0))
        days.append({"date": d.isoformat(), "seconds": ms // 1000,
                     "uncounted_seconds": int(sum(uncounted.get(d, {}).values(), timedelta(0)).total_seconds()),
                     "sessions": n})
    total = sum(d["seconds"] for d in days)
    iso = monday.isocalendar()
    return {"user_id": user_id, "week": f"{iso.year}-W{iso.week:02d}", "band": Band(band).value, "days": days,
            "total_seconds": total, "daily_average_seconds": total // 7,
            "refusals": {k: refusals[k] for k in sorted(refusals)},
            "time_requests": {k: asked.get(k, 0) for k in ("approved", "denied", "expired", "pending")}}
