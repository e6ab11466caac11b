"""Repositories of section 7: guardian links and their controls, time requests, uncounted use.
The `hot_` functions serve the session use cases on their DB-API transaction (store/sql.py)."""
from __future__ import annotations

import json
import secrets
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from governor.domain.controls import Controls
from governor.domain.ledger import Marked
from governor.domain.policy import parse_windows
from governor.store.sql import Tx
from governor.store.tables import AuditEvent, Grant, GuardianLink, TimeRequest, UncountedDay, User

_HOT_UNCOUNTED = ("SELECT day, purpose, ms FROM uncounted_days WHERE user_pk = :pk AND day >= :first "
                  "AND day <= :last")
_HOT_ADD = "UPDATE uncounted_days SET ms = ms + :ms WHERE user_pk = :pk AND day = :day AND purpose = :purpose"
_HOT_NEW = "INSERT INTO uncounted_days (user_pk, day, purpose, ms) VALUES (:pk, :day, :purpose, :ms)"


# -- links and controls -----------------------------------------------------------------------

def new_link_id() -> str:
    return "l_" + secrets.token_urlsafe(18)


def add_link(s: Session, user_pk: int, guardian_id: str, client: str, now: datetime) -> GuardianLink:
    lk = GuardianLink(id=new_link_id(), user_pk=user_pk, guardian_id=guardian_id, linked_at=now, client=client)
    s.add(lk)
    return lk


def link(s: Session, user_pk: int, guardian_id: str) -> GuardianLink | None:
    return s.execute(select(GuardianLink).where(GuardianLink.user_pk == user_pk,
                                                GuardianLink.guardian_id == guardian_id)).scalar()


def links_of_user(s: Session, user_pk: int | None) -> list[GuardianLink]:
    if user_pk is None:
        return []
    return list(s.execute(select(GuardianLink).where(GuardianLink.user_pk == user_pk)
                          .order_by(GuardianLink.linked_at, GuardianLink.id)).scalars())


def children_of(s: Session, guardian_id: str) -> list[tuple[GuardianLink, str]]:
    """The guardian's links with each child's user id, in the order they were made."""
    rows = s.execute(select(GuardianLink, User.user_id).join(User, User.pk == GuardianLink.user_pk)
                     .where(GuardianLink.guardian_id == guardian_id)
                     .order_by(GuardianLink.linked_at, GuardianLink.id)).all()
    return [(lk, uid) for lk, uid in rows]


def controls(lk: GuardianLink) -> Controls:
    return controls_of(lk.daily_limit_minutes, lk.quiet_hours, lk.rest_reminder_minutes)


def controls_of(daily_limit: int | None, quiet_hours: str | None, rest_reminder: int | None) -> Controls:
    windows = parse_windows(json.loads(quiet_hours), "quiet_hours") if quiet_hours else ()
    return Controls(daily_limit, windows, rest_reminder)


def delete_link(s: Session, lk: GuardianLink) -> None:
    s.delete(lk)


def lock_user_by_pk(s: Session, pk: int) -> User | None:
    return s.execute(select(User).where(User.pk == pk).with_for_update()).scalar()


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

def new_request_id() -> str:
    return "tr_" + secrets.token_urlsafe(18)


def add_request(s: Session, user_pk: int, minutes: int, note: str | None, day: date, now: datetime,
                expires_at: datetime, client: str) -> TimeRequest:
    r = TimeRequest(id=new_request_id(), user_pk=user_pk, minutes=minutes, note=note, status="pending", day=day,
                    created_at=now, expires_at=expires_at, client=client)
    s.add(r)
    return r


def request_by_id(s: Session, request_id: str) -> tuple[TimeRequest, str] | None:
    row = s.execute(select(TimeRequest, User.user_id).join(User, User.pk == TimeRequest.user_pk)
                    .where(TimeRequest.id == request_id)).first()
    return None if row is None else (row[0], row[1])


def pending_request(s: Session, user_pk: int) -> TimeRequest | None:
    return s.execute(select(TimeRequest).where(TimeRequest.user_pk == user_pk, TimeRequest.status == "pending")
                     .order_by(TimeRequest.pk.desc()).limit(1)).scalar()


def requests_of_guardian(s: Session, guardian_id: str, limit: int = 500) -> list[tuple[TimeRequest, str]]:
    """Requests of the guardian's children, newest first."""
    rows = s.execute(select(TimeRequest, User.user_id).join(User, User.pk == TimeRequest.user_pk)
                     .join(GuardianLink, GuardianLink.user_pk == TimeRequest.user_pk)
                     .where(GuardianLink.guardian_id == guardian_id)
                     .order_by(TimeRequest.pk.desc()).limit(limit)).all()
    return [(r, uid) for r, uid in rows]


def requests_between(s: Session, user_pk: int, first: date, last: date) -> list[TimeRequest]:
    return list(s.execute(select(TimeRequest).where(TimeRequest.user_pk == user_pk, TimeRequest.day >= first,
                                                    TimeRequest.day <= last)).scalars())


def due_requests(s: Session, now: datetime, limit: int = 500) -> list[str]:
    """Ids of pending requests whose day has ended."""
    return list(s.execute(select(TimeRequest.id).where(TimeRequest.status == "pending",
                                                       TimeRequest.expires_at <= now).limit(limit)).scalars())


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
    for table in (GuardianLink, TimeRequest, UncountedDay):
        s.execute(delete(table).where(table.user_pk == user_pk))


def delete_uncounted_before(s: Session, day: date) -> int:
    """Retention: uncounted use goes with the usage days it is part of."""
    return s.execute(delete(UncountedDay).where(UncountedDay.day < day)).rowcount
