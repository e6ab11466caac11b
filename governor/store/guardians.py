"""Repositories of section 7: guardian links and their controls, time requests, uncounted use.
The `hot_` functions serve the session use cases on their DB-API transaction (store/sql.py)."""
from __future__ import annotations

import json
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from governor.domain.controls import Controls, window_text
from governor.domain.ledger import Marked
from governor.domain.policy import parse_windows
from governor.domain.time_requests import TimeRequest
from governor.store.sql import Tx
from governor.store.tables import AuditEvent, Grant, GuardianLink, UncountedDay, User
from governor.store.tables import TimeRequest as TimeRequestRow

_HOT_UNCOUNTED = ("SELECT day, purpose, ms FROM uncounted_days WHERE user_pk = :pk AND day >= :first "
                  "AND day <= :last")
_HOT_ADD = "UPDATE uncounted_days SET ms = ms + :ms WHERE user_pk = :pk AND day = :day AND purpose = :purpose"
_HOT_NEW = "INSERT INTO uncounted_days (user_pk, day, purpose, ms) VALUES (:pk, :day, :purpose, :ms)"


# -- links and controls -----------------------------------------------------------------------

@dataclass(frozen=True)
class Link:
    """A guardian of a user, with that guardian's controls. `id` is what audit events name."""

    id: str
    user_pk: int
    guardian_id: str
    linked_at: datetime
    controls: Controls
    consent: str | None = None  # section 8: this guardian's own consent, and when they said it
    consent_at: datetime | None = None


def _link(lk: GuardianLink) -> Link:
    return Link(lk.id, lk.user_pk, lk.guardian_id, lk.linked_at,
                controls_of(lk.daily_limit_minutes, lk.quiet_hours, lk.rest_reminder_minutes), lk.consent,
                lk.consent_at)


def new_link_id() -> str:
    return "l_" + secrets.token_urlsafe(18)


def add_link(s: Session, user_pk: int, guardian_id: str, client: str, now: datetime) -> Link:
    lk = GuardianLink(id=new_link_id(), user_pk=user_pk, guardian_id=guardian_id, linked_at=now, client=client)
    s.add(lk)
    return Link(lk.id, user_pk, guardian_id, now, Controls())


def link(s: Session, user_pk: int, guardian_id: str) -> Link | None:
    lk = s.execute(select(GuardianLink).where(GuardianLink.user_pk == user_pk,
                                              GuardianLink.guardian_id == guardian_id)).scalar()
    return None if lk is None else _link(lk)


def links_of_user(s: Session, user_pk: int | None) -> list[Link]:
    if user_pk is None:
        return []
    return [_link(lk) for lk in s.execute(select(GuardianLink).where(GuardianLink.user_pk == user_pk)
                                          .order_by(GuardianLink.linked_at, GuardianLink.id)).scalars()]


def children_of(s: Session, guardian_id: str) -> list[tuple[Link, str]]:
    """The guardian's links with each child's user id, in the order they were made."""
    rows = s.execute(select(GuardianLink, User.user_id).join(User, User.pk == GuardianLink.user_pk)
                     .where(GuardianLink.guardian_id == guardian_id)
                     .order_by(GuardianLink.linked_at, GuardianLink.id)).all()
    return [(_link(lk), uid) for lk, uid in rows]


def controls_of(daily_limit: int | None, quiet_hours: str | None, rest_reminder: int | None) -> Controls:
    windows = parse_windows(json.loads(quiet_hours), "quiet_hours") if quiet_hours else ()
    return Controls(daily_limit, windows, rest_reminder)


def set_controls(s: Session, link_id: str, c: Controls) -> None:
    s.execute(update(GuardianLink).where(GuardianLink.id == link_id).values(
        daily_limit_minutes=c.daily_limit_minutes, rest_reminder_minutes=c.rest_reminder_minutes,
        quiet_hours=json.dumps([window_text(w) for w in c.quiet_hours]) if c.quiet_hours else None))


def delete_link(s: Session, link_id: str) -> None:
    s.execute(delete(GuardianLink).where(GuardianLink.id == link_id))


def refusals_between(s: Session, chain: str, start: datetime, end: datetime) -> dict[str, int]:
    """Refused starts per reason in a user's chain between two instants (the weekly summary)."""
    return dict(s.execute(select(AuditEvent.reason, func.count()).where(
        AuditEvent.chain == chain, AuditEvent.action == "session.refused", AuditEvent.at >= start,
        AuditEvent.at < end).group_by(AuditEvent.reason)).all())


# -- guardian grants --------------------------------------------------------------------------

def add_grant(s: Session, user_pk: int, link_id: str, day: date, minutes: int, reason: str | None, client: str,
              now: datetime) -> None:
    s.add(Grant(user_pk=user_pk, day=day, minutes=minutes, reason=reason, client=client, created_at=now,
                link_id=link_id))


def guardian_minutes(s: Session, user_pk: int, day: date) -> int:
    """Minutes all guardians together have granted the user for `day`."""
    return int(s.execute(select(func.coalesce(func.sum(Grant.minutes), 0)).where(
        Grant.user_pk == user_pk, Grant.day == day, Grant.link_id.is_not(None))).scalar())


# -- time requests ----------------------------------------------------------------------------

Located = tuple[TimeRequest, str | None]  # a request and its child's time zone (None: the policy's)
_REQUEST = select(TimeRequestRow, User.user_id, User.timezone).join(User, User.pk == TimeRequestRow.user_pk)


def _request(r: TimeRequestRow, user_id: str) -> TimeRequest:
    return TimeRequest(r.id, user_id, r.minutes, r.note, r.status, r.day, r.created_at, r.expires_at, r.decided_at,
                       r.decided_minutes)


def new_request_id() -> str:
    return "tr_" + secrets.token_urlsafe(18)


def add_request(s: Session, user_pk: int, r: TimeRequest, client: str) -> None:
    s.add(TimeRequestRow(id=r.id, user_pk=user_pk, minutes=r.minutes, note=r.note, status=r.status, day=r.date,
                         created_at=r.created_at, expires_at=r.expires_at, client=client))


def request_by_id(s: Session, request_id: str, client: str | None = None) -> Located | None:
    """The request read afresh (under the child's lock it is the request as it stands); with a
    `client`, only if that client made it."""
    q = _REQUEST.where(TimeRequestRow.id == request_id)
    if client is not None:
        q = q.where(TimeRequestRow.client == client)
    row = s.execute(q.execution_options(populate_existing=True)).first()
    return None if row is None else (_request(row[0], row[1]), row[2])


def pending_request(s: Session, user_pk: int, user_id: str) -> TimeRequest | None:
    r = s.execute(select(TimeRequestRow).where(TimeRequestRow.user_pk == user_pk, TimeRequestRow.status == "pending")
                  .order_by(TimeRequestRow.pk.desc()).limit(1)).scalar()
    return None if r is None else _request(r, user_id)


def decide_request(s: Session, request_id: str, status: str, decided_at: datetime, minutes: int | None,
                   link_id: str | None) -> None:
    """Write a guardian's decision, or (with no link) the request's expiry."""
    values = {"status": status, "decided_at": decided_at}
    if link_id is not None:
        values |= {"decided_minutes": minutes, "link_id": link_id}
    s.execute(update(TimeRequestRow).where(TimeRequestRow.id == request_id).values(**values))


def requests_of_guardian(s: Session, guardian_id: str, limit: int = 500) -> list[Located]:
    """Requests of the guardian's children, newest first."""
    rows = s.execute(_REQUEST.join(GuardianLink, GuardianLink.user_pk == TimeRequestRow.user_pk)
                     .where(GuardianLink.guardian_id == guardian_id)
                     .order_by(TimeRequestRow.pk.desc()).limit(limit)).all()
    return [(_request(r, uid), tz) for r, uid, tz in rows]


def requests_between(s: Session, user_pk: int, user_id: str, first: date, last: date) -> list[TimeRequest]:
    return [_request(r, user_id) for r in s.execute(select(TimeRequestRow).where(
        TimeRequestRow.user_pk == user_pk, TimeRequestRow.day >= first, TimeRequestRow.day <= last)).scalars()]


def due_requests(s: Session, now: datetime, limit: int = 500) -> list[str]:
    """Ids of pending requests whose day has ended."""
    return list(s.execute(select(TimeRequestRow.id).where(TimeRequestRow.status == "pending",
                                                          TimeRequestRow.expires_at <= now).limit(limit)).scalars())


# -- uncounted use ----------------------------------------------------------------------------

def uncounted(s: Session, user_pk: int | None, first: date, last: date) -> dict[date, dict[str, timedelta]]:
    out: dict[date, dict[str, timedelta]] = defaultdict(dict)
    if user_pk is None:
        return {}
    for day, purpose, ms in s.connection().execute(
            select(UncountedDay.day, UncountedDay.purpose, UncountedDay.ms).where(
                UncountedDay.user_pk == user_pk, UncountedDay.day >= first, UncountedDay.day <= last)):
        out[day][purpose] = timedelta(milliseconds=int(ms))
    return dict(out)


def hot_uncounted(tx: Tx, user_pk: int | None, first: date, last: date) -> dict[date, dict[str, timedelta]]:
    out: dict[date, dict[str, timedelta]] = defaultdict(dict)
    if user_pk is None:
        return {}
    for day, purpose, ms in tx.all(_HOT_UNCOUNTED, {"pk": user_pk, "first": tx.day(first), "last": tx.day(last)}):
        out[tx.to_day(day)][purpose] = timedelta(milliseconds=int(ms))
    return dict(out)


def hot_add_uncounted(tx: Tx, user_pk: int, day: date, purpose: str, amount: timedelta) -> None:
    """Add (or, for time taken back, subtract) uncounted use. Runs under the user's lock."""
    params = {"pk": user_pk, "day": tx.day(day), "purpose": purpose, "ms": round(amount / timedelta(milliseconds=1))}
    if not tx.run(_HOT_ADD, params):
        tx.run(_HOT_NEW, params)


def marked(user) -> tuple[Marked, ...]:
    return tuple((datetime.fromisoformat(a), datetime.fromisoformat(b), p) for a, b, p in json.loads(user.marked))


def store_marked(user, marks: tuple[Marked, ...]) -> None:
    text = json.dumps([[a.isoformat(), b.isoformat(), p] for a, b, p in marks])
    if text != user.marked:
        user.marked = text


def delete_of_user(s: Session, user_pk: int) -> None:
    """Erasure: the user's links (with their controls), time requests and uncounted use."""
    for table in (GuardianLink, TimeRequestRow, UncountedDay):
        s.execute(delete(table).where(table.user_pk == user_pk))


def delete_uncounted_before(s: Session, day: date) -> int:
    """Retention: uncounted use goes with the usage days it is part of."""
    return s.execute(delete(UncountedDay).where(UncountedDay.day < day)).rowcount
