"""Repositories of section 7: guardian links and their controls, time requests, uncounted use,
and the users' facts version."""
from __future__ import annotations

import json
import secrets
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from governor.domain.controls import Controls
from governor.domain.ledger import Marked
from governor.domain.policy import parse_windows
from governor.store.tables import Grant, GuardianLink, TimeRequest, UncountedDay, User


def bump_facts(user: User) -> None:
    """A change to what a running session decides on (links, controls, grants): the user's facts
    version moves, so the next heartbeat of every session of theirs decides afresh."""
    user.facts_version = (user.facts_version or 0) + 1


# -- links and controls -----------------------------------------------------------------------

def new_link_id() -> str:
    return "l_" + secrets.token_urlsafe(18)


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
    windows = parse_windows(json.loads(lk.quiet_hours), "quiet_hours") if lk.quiet_hours else ()
    return Controls(lk.daily_limit_minutes, windows, lk.rest_reminder_minutes)


def controls_of_user(s: Session, user_pk: int | None) -> list[Controls]:
    """Every guardian's controls of the user (the engine takes the strictest)."""
    if user_pk is None:
        return []
    rows = s.execute(select(GuardianLink).where(GuardianLink.user_pk == user_pk)).scalars()
    return [controls(lk) for lk in rows]


def delete_links_of_user(s: Session, user_pk: int) -> None:
    s.execute(delete(GuardianLink).where(GuardianLink.user_pk == user_pk))


# -- guardian grants --------------------------------------------------------------------------

def guardian_minutes(s: Session, user_pk: int, day: date) -> int:
    """Minutes all guardians together have granted the user for `day`."""
    return int(s.execute(select(func.coalesce(func.sum(Grant.minutes), 0)).where(
        Grant.user_pk == user_pk, Grant.day == day, Grant.link_id.is_not(None))).scalar())


# -- time requests ----------------------------------------------------------------------------

def new_request_id() -> str:
    return "tr_" + secrets.token_urlsafe(18)


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


def add_uncounted(s: Session, user_pk: int, day: date, purpose: str, amount: timedelta) -> None:
    """Add (or, for time taken back, subtract) uncounted use. Runs under the user's lock."""
    ms = round(amount / timedelta(milliseconds=1))
    conn = s.connection()
    done = conn.execute(update(UncountedDay).where(UncountedDay.user_pk == user_pk, UncountedDay.day == day,
                                                   UncountedDay.purpose == purpose)
                        .values(ms=UncountedDay.ms + ms)).rowcount
    if not done:
        conn.execute(UncountedDay.__table__.insert().values(user_pk=user_pk, day=day, purpose=purpose, ms=ms))


def marked(user: User) -> tuple[Marked, ...]:
    return tuple((datetime.fromisoformat(a), datetime.fromisoformat(b), p) for a, b, p in json.loads(user.marked))


def store_marked(user: User, marks: tuple[Marked, ...]) -> None:
    text = json.dumps([[a.isoformat(), b.isoformat(), p] for a, b, p in marks])
    if text != user.marked:
        user.marked = text


def delete_of_user(s: Session, user_pk: int) -> None:
    """Erasure: the user's links (with their controls), time requests and uncounted use."""
    for table in (GuardianLink, TimeRequest, UncountedDay):
        s.execute(delete(table).where(table.user_pk == user_pk))
