"""Guardians (DESIGN section 7): links, controls that only tighten, grants within the band's
cap, the children's decisions and the weekly summary. Each change is one transaction under the
child's lock, audited on the child's chain with the link's random id (never the guardian id);
the audit append bumps the child's facts version, so a running session decides afresh at its
next heartbeat. The rules are the domain's (`domain/grants.py`, `domain/controls.py`)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from governor.domain import age
from governor.domain.bands import band_of, band_today, local_day, looser_limit
from governor.domain.controls import Controls, window_text
from governor.domain.decision import Decision
from governor.domain.grants import guardian_grant_refusal
from governor.domain.policy import Policy, PolicyInvalid, parse_windows
from governor.errors import InvalidRequest, LooserLimit, NotFound
from governor.service import sessions
from governor.service.audit import Entry, append_user_event
from governor.service.context import Services
from governor.service.webhooks import outbox
from governor.store import guardians as store
from governor.store import repo
from governor.store.guardians import Link
from governor.store.repo import UserRecord

CONTROL_FIELDS = ("daily_limit_minutes", "quiet_hours", "rest_reminder_minutes")


class NotLinked(NotFound):
    type, title = "not-linked", "No such link"


@dataclass(frozen=True)
class LinkView:
    user_id: str
    guardian_id: str
    linked_at: datetime
    consent: str | None = None  # this guardian's own say (granted | revoked | denied), None: nothing yet
    consent_at: datetime | None = None


@dataclass(frozen=True)
class Child:
    """A linked child: the decision for a start now, this guardian's controls, and the child's age
    as the decision used it (band, span, basis) with the parental consent in force."""

    user_id: str
    decision: Decision
    controls: dict[str, Any]
    age: age.Age
    consent: str | None


def controls_json(c: Controls) -> dict[str, Any]:
    return {"daily_limit_minutes": c.daily_limit_minutes,
            "quiet_hours": [window_text(w) for w in c.quiet_hours] or None,
            "rest_reminder_minutes": c.rest_reminder_minutes}


def _audit(s: Session, user: UserRecord, policy: Policy, now: datetime, client: str, action: str, data: dict,
           reason: str | None = None) -> None:
    band = band_today(policy, user.facts, now)
    append_user_event(s, user, now, Entry(
        client=client, action=action, reason=reason, policy_name=policy.name, policy_version=policy.version,
        data={**data, "band": band.value}))


def _child(s: Session, guardian_id: str, user_id: str, lock: bool = False) -> tuple[UserRecord, Link]:
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
            outbox.emit(s, user, "guardian.linked", now, {"guardian_id": guardian_id, "linked_at": lk.linked_at})
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


def _remove(s: Session, user: UserRecord, lk: Link, policy: Policy, now: datetime, client: str,
            extra: dict) -> None:
    store.delete_link(s, lk.id)
    _audit(s, user, policy, now, client, "guardian.unlinked", {"link_id": lk.id, **extra})
    outbox.emit(s, user, "guardian.unlinked", now, {"guardian_id": lk.guardian_id, **extra}, also=(lk.guardian_id,))


def guardians_of(svc: Services, user_id: str) -> list[LinkView]:
    with svc.db.read() as s:
        user = repo.find_user(s, user_id)
        return [LinkView(user_id, lk.guardian_id, lk.linked_at, lk.consent, lk.consent_at)
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
            user = repo.lock_user_by_pk(s, pk)
            lk = store.link(s, pk, guardian_id) if user is not None else None
            if lk is not None:
                _remove(s, user, lk, policy, now, client, {"erasure": True})
                removed += 1
    svc.db.fold_wal()  # erased ids leave no copy in SQLite's WAL
    return removed


# -- the guardian's views and controls (scope guardian) ----------------------------------------

def children(svc: Services, guardian_id: str) -> list[Child]:
    with svc.db.read() as s:
        found = [(uid, lk.controls) for lk, uid in store.children_of(s, guardian_id)]
    return [_child_view(svc, uid, controls) for uid, controls in found]


def _child_view(svc: Services, user_id: str, controls: Controls) -> Child:
    """The child's status, and their age from the same facts under the decision's policy (as a
    status answer's `age`)."""
    st = sessions.status(svc, user_id)
    return Child(user_id, st.decision, controls_json(controls), st.age.age, st.age.consent)


def get_controls(svc: Services, guardian_id: str, user_id: str) -> dict[str, Any]:
    with svc.db.read() as s:
        _, lk = _child(s, guardian_id, user_id)
        return controls_json(lk.controls)


def set_controls(svc: Services, guardian_id: str, user_id: str, daily_limit: int | None,
                 quiet_hours: list[str] | None, rest_reminder: int | None, client: str) -> dict[str, Any]:
    """Replace this guardian's controls (PUT: every field)."""
    return change_controls(svc, guardian_id, user_id, {"daily_limit_minutes": daily_limit,
                                                       "quiet_hours": quiet_hours,
                                                       "rest_reminder_minutes": rest_reminder}, client)


def change_controls(svc: Services, guardian_id: str, user_id: str, changes: dict[str, Any],
                    client: str) -> dict[str, Any]:
    """Change the fields of this guardian's controls that `changes` names (PATCH); the others
    stay as they are. A daily limit looser than the band's is a 422 naming it."""
    if "quiet_hours" in changes:
        try:
            changes = {**changes, "quiet_hours": parse_windows(changes["quiet_hours"] or [], "quiet_hours")}
        except PolicyInvalid as e:
            raise InvalidRequest(str(e), errors=[{"field": e.field, "message": e.problem}]) from None
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user, lk = _child(s, guardian_id, user_id, lock=True)
        new = replace(lk.controls, **{k: v for k, v in changes.items() if k in CONTROL_FIELDS})
        limit = new.daily_limit_minutes
        looser = looser_limit(policy, user.facts, local_day(policy, user.facts.timezone, now), now, limit)
        if looser is not None:
            raise LooserLimit(limit, looser[0].value, looser[1], "a guardian's limit")
        out = controls_json(new)
        if new != lk.controls:
            store.set_controls(s, lk.id, new)
            _audit(s, user, policy, now, client, "controls.changed", {"link_id": lk.id, **out})
            outbox.emit(s, user, "controls.changed", now, {"guardian_id": guardian_id, "controls": out})
        return out


def grant(svc: Services, guardian_id: str, user_id: str, minutes: int, reason: str | None,
          client: str) -> tuple[dict[str, Any], Decision]:
    """Extra minutes for the child's current local day, within the band's guardian cap."""
    with svc.db.write() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user, lk = _child(s, guardian_id, user_id, lock=True)
        day = local_day(policy, user.facts.timezone, now)
        add_guardian_grant(s, policy, user, lk, day, minutes, reason, client, now)
        out = {"date": day.isoformat(), "extra_minutes": minutes, "reason": reason, "by": "guardian"}
    return out, sessions.status(svc, user_id).decision


def add_guardian_grant(s: Session, policy: Policy, user: UserRecord, lk: Link, day: date, minutes: int,
                       reason: str | None, client: str, now: datetime, request_id: str | None = None) -> None:
    """A guardian's grant for `day`, refused (422) past the band's `guardian_grant_max_minutes`
    for all guardians' grants of that day together."""
    band = band_of(policy, user.facts, day, now)
    refused = guardian_grant_refusal(band, policy.bands[band].guardian_grant_max_minutes,
                                     store.guardian_minutes(s, user.pk, day), minutes, day)
    if refused is not None:
        raise InvalidRequest(f"extra_minutes: {refused.why}", errors=[{"field": "extra_minutes",
                                                                       "message": refused.why}],
                             guardian_grant_max_minutes=refused.cap, granted_minutes=refused.granted)
    store.add_grant(s, user.pk, lk.id, day, minutes, reason, client, now)
    data = {"date": day.isoformat(), "extra_minutes": minutes, "reason_given": reason is not None,
            "by": "guardian", "link_id": lk.id}
    _audit(s, user, policy, now, client, "grant.added", data | ({"request_id": request_id} if request_id else {}))


# -- the weekly summary -----------------------------------------------------------------------

def summary(svc: Services, guardian_id: str, user_id: str, monday: date | None) -> dict[str, Any]:
    """The child's week (the current one unless `monday` names another): use per local day,
    refusals and time requests."""
    with svc.db.read() as s:
        policy, now = svc.policy(s), svc.clock.now()
        user, _ = _child(s, guardian_id, user_id)
        tz = policy.zone(user.facts.timezone)
        today = local_day(policy, user.facts.timezone, now)
        monday = monday or today - timedelta(days=today.weekday())
        sunday = monday + timedelta(days=6)
        used = repo.usage_report(s, user.pk, monday, sunday)
        uncounted = store.uncounted(s, user.pk, monday, sunday)
        start, end = (datetime.combine(d, time(0), tzinfo=tz) for d in (monday, sunday + timedelta(days=1)))
        refusals = store.refusals_between(s, user.pseudonym, start, end)
        asked = Counter(r.status_at(now) for r in store.requests_between(s, user.pk, user_id, monday, sunday))
        band = band_today(policy, user.facts, now)
    days = []
    for i in range(7):
        d = monday + timedelta(days=i)
        ms, n = used.get(d, (0, 0))
        days.append({"date": d.isoformat(), "seconds": ms // 1000,
                     "uncounted_seconds": int(sum(uncounted.get(d, {}).values(), timedelta(0)).total_seconds()),
                     "sessions": n})
    total = sum(d["seconds"] for d in days)
    iso = monday.isocalendar()
    return {"user_id": user_id, "week": f"{iso.year}-W{iso.week:02d}", "band": band.value, "days": days,
            "total_seconds": total, "daily_average_seconds": total // 7,
            "refusals": {k: refusals[k] for k in sorted(refusals)},
            "time_requests": {k: asked.get(k, 0) for k in ("approved", "denied", "expired", "pending")}}
