"""Statements of section 9: endpoints, the outbox and its deliveries.

`subscribers`, `guardian_ids` and `add_event` run inside the transaction of the change an event
reports, which is an ORM session for most use cases and a DB-API transaction (store/sql.py) for
the session use cases: they take either, as plain SQL with `:name` parameters."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from governor.store.sql import Tx
from governor.store.webhook_tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

_SUBSCRIBERS = "SELECT name, events FROM webhook_endpoints WHERE enabled = :true"
_GUARDIANS = "SELECT guardian_id FROM guardian_links WHERE user_pk = :pk ORDER BY linked_at, id"
_EVENT = ("INSERT INTO webhook_events (id, type, user_pk, body, created_at) "
          "VALUES (:id, :type, :user_pk, :body, :now)")
_NAMING = "SELECT id, body FROM webhook_events WHERE body LIKE :pattern ESCAPE '!'"
_SET_BODY = "UPDATE webhook_events SET body = :body WHERE id = :id"
_DELIVERY = ("INSERT INTO webhook_deliveries (id, event_id, endpoint, status, tries, next_attempt_at, created_at) "
             "VALUES (:id, :event_id, :endpoint, 'pending', 0, :now, :now)")


class _Conn:
    """An ORM session or a hot-path transaction, behind the two calls the outbox needs."""

    def __init__(self, conn: Session | Tx):
        self.tx = conn if isinstance(conn, Tx) else None
        self.s = None if self.tx is not None else conn
        self.sqlite = self.tx is None and conn.bind.dialect.name == "sqlite"

    def value(self, v):
        if isinstance(v, datetime):
            if self.tx is not None:
                return self.tx.instant(v)
            if self.sqlite:  # as UTCDateTime stores it
                return v.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
        return v

    def all(self, sql: str, params: dict) -> list:
        params = {k: self.value(v) for k, v in params.items()}
        return self.tx.all(sql, params) if self.tx is not None else self.s.execute(text(sql), params).all()

    def run(self, sql: str, params: dict) -> None:
        params = {k: self.value(v) for k, v in params.items()}
        if self.tx is not None:
            self.tx.run(sql, params)
        else:
            self.s.execute(text(sql), params)


def subscribers(conn: Session | Tx, event_type: str) -> list[str]:
    """The enabled endpoints subscribed to `event_type`, by name."""
    rows = _Conn(conn).all(_SUBSCRIBERS, {"true": True})
    return sorted(name for name, events in rows if event_type in json.loads(events))


def guardian_ids(conn: Session | Tx, user_pk: int) -> list[str]:
    """The user's guardians now: an ORM session first writes the change's own rows (a new link,
    changed controls), which the event reports."""
    if isinstance(conn, Session):
        conn.flush()
    return [r[0] for r in _Conn(conn).all(_GUARDIANS, {"pk": user_pk})]


def add_event(conn: Session | Tx, event_id: str, event_type: str, user_pk: int | None, body: str, now: datetime,
              deliveries: list[tuple[str, str]]) -> None:
    """The event and its deliveries [(webhook id, endpoint name)], due now."""
    c = _Conn(conn)
    c.run(_EVENT, {"id": event_id, "type": event_type, "user_pk": user_pk, "body": body, "now": now})
    for delivery_id, endpoint in deliveries:
        c.run(_DELIVERY, {"id": delivery_id, "event_id": event_id, "endpoint": endpoint, "now": now})


def events_naming(conn: Session | Tx, fragment: str) -> list[tuple[str, str]]:
    """The kept events whose body holds `fragment` (a JSON-quoted id): [(event id, body)]."""
    pattern = "%" + fragment.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
    return [(r[0], r[1]) for r in _Conn(conn).all(_NAMING, {"pattern": pattern})]


def set_body(conn: Session | Tx, event_id: str, body: str) -> None:
    _Conn(conn).run(_SET_BODY, {"id": event_id, "body": body})


# -- endpoints --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    """An endpoint as the services see it: a value, never the row."""

    name: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    disabled_reason: str | None
    secret: str
    previous_secret: str | None
    previous_until: datetime | None
    created_at: datetime
    updated_at: datetime


def _endpoint(ep: WebhookEndpoint) -> Endpoint:
    return Endpoint(ep.name, ep.url, tuple(json.loads(ep.events)), ep.enabled, ep.disabled_reason, ep.secret,
                    ep.previous_secret, ep.previous_until, ep.created_at, ep.updated_at)


def _set_endpoint(s: Session, name: str, **values) -> None:
    s.execute(update(WebhookEndpoint).where(WebhookEndpoint.name == name).values(**values))


def endpoint(s: Session, name: str, lock: bool = False) -> Endpoint | None:
    q = select(WebhookEndpoint).where(WebhookEndpoint.name == name)
    ep = s.execute(q.with_for_update() if lock else q).scalar()
    return None if ep is None else _endpoint(ep)


def endpoints(s: Session) -> list[Endpoint]:
    return [_endpoint(ep) for ep in s.execute(select(WebhookEndpoint).order_by(WebhookEndpoint.name)).scalars()]


def create_endpoint(s: Session, name: str, url: str, events: list[str], enabled: bool, secret: str,
                    now: datetime) -> Endpoint:
    ep = WebhookEndpoint(name=name, url=url, events=json.dumps(events), enabled=enabled, secret=secret,
                         created_at=now, updated_at=now)
    s.add(ep)
    s.flush()
    return _endpoint(ep)


def change_endpoint(s: Session, ep: Endpoint, url: str, events: list[str], enabled: bool,
                    disabled_reason: str | None, updated_at: datetime) -> Endpoint:
    """`ep` (as read under its lock) with the values given."""
    _set_endpoint(s, ep.name, url=url, events=json.dumps(events), enabled=enabled, disabled_reason=disabled_reason,
                  updated_at=updated_at)
    return replace(ep, url=url, events=tuple(events), enabled=enabled, disabled_reason=disabled_reason,
                   updated_at=updated_at)


def rotate_secret(s: Session, ep: Endpoint, secret: str, previous_until: datetime, now: datetime) -> Endpoint:
    """`ep` (as read under its lock) signing with `secret`, and its current secret until `previous_until`."""
    _set_endpoint(s, ep.name, secret=secret, previous_secret=ep.secret, previous_until=previous_until, updated_at=now)
    return replace(ep, secret=secret, previous_secret=ep.secret, previous_until=previous_until, updated_at=now)


def disable_endpoint(s: Session, name: str, reason: str) -> None:
    _set_endpoint(s, name, enabled=False, disabled_reason=reason)


def delete_endpoint(s: Session, name: str) -> None:
    s.execute(delete(WebhookEndpoint).where(WebhookEndpoint.name == name))


def recent_counts(s: Session, name: str) -> dict[str, int]:
    return dict(s.execute(select(WebhookDelivery.status, func.count()).where(WebhookDelivery.endpoint == name)
                          .group_by(WebhookDelivery.status)).all())


# -- deliveries -------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeliveryRow:
    pk: int
    id: str
    type: str
    status: str
    next_attempt_at: datetime | None
    created_at: datetime
    attempts: list[tuple[datetime, int | None, str | None]]


def deliveries(s: Session, name: str, status: str | None, before_pk: int, limit: int) -> list[DeliveryRow]:
    """The endpoint's deliveries, newest first, below `before_pk` (0: from the newest)."""
    q = (select(WebhookDelivery, WebhookEvent.type).join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
         .where(WebhookDelivery.endpoint == name).order_by(WebhookDelivery.pk.desc()).limit(limit))
    if status is not None:
        q = q.where(WebhookDelivery.status == status)
    if before_pk:
        q = q.where(WebhookDelivery.pk < before_pk)
    rows = s.execute(q).all()
    attempts: dict[int, list] = {d.pk: [] for d, _ in rows}
    if attempts:
        for a in s.execute(select(WebhookAttempt).where(WebhookAttempt.delivery_pk.in_(list(attempts)))
                           .order_by(WebhookAttempt.pk)).scalars():
            attempts[a.delivery_pk].append((a.at, a.status_code, a.error))
    return [DeliveryRow(d.pk, d.id, t, d.status, d.next_attempt_at, d.created_at, attempts[d.pk]) for d, t in rows]


@dataclass(frozen=True)
class Delivery:
    """A delivery's state as the services see it."""

    pk: int
    id: str
    status: str
    tries: int
    next_attempt_at: datetime | None
    claim: str | None
    finished_at: datetime | None


_DELIVERY_COLUMNS = (WebhookDelivery.pk, WebhookDelivery.id, WebhookDelivery.status, WebhookDelivery.tries,
                     WebhookDelivery.next_attempt_at, WebhookDelivery.claim, WebhookDelivery.finished_at)


def _delivery(s: Session, q) -> Delivery | None:
    row = s.execute(q).first()
    return None if row is None else Delivery(*row)


def delivery(s: Session, name: str, delivery_id: str, lock: bool = False) -> Delivery | None:
    q = select(*_DELIVERY_COLUMNS).where(WebhookDelivery.endpoint == name, WebhookDelivery.id == delivery_id)
    return _delivery(s, q.with_for_update() if lock else q)


def lock_delivery(s: Session, pk: int) -> Delivery | None:
    return _delivery(s, select(*_DELIVERY_COLUMNS).where(WebhookDelivery.pk == pk).with_for_update())


def _set_delivery(s: Session, pk: int, status: str, tries: int, next_attempt_at: datetime | None,
                  finished_at: datetime | None) -> None:
    s.execute(update(WebhookDelivery).where(WebhookDelivery.pk == pk)
              .values(status=status, tries=tries, next_attempt_at=next_attempt_at, finished_at=finished_at, claim=None))


def settle(s: Session, d: Delivery) -> None:
    """Write `d`'s outcome (status, tries, next attempt, finish) and release its claim."""
    _set_delivery(s, d.pk, d.status, d.tries, d.next_attempt_at, d.finished_at)


def requeue(s: Session, pk: int, now: datetime, tries: int) -> None:
    """A finished delivery due again now, at place `tries` of the retry schedule, unclaimed."""
    _set_delivery(s, pk, "pending", tries, now, None)


def any_due(s: Session, now: datetime) -> bool:
    """Whether a delivery is due (a cheap read before a worker takes a write transaction)."""
    return s.execute(select(WebhookDelivery.pk).where(WebhookDelivery.status == "pending",
                                                      WebhookDelivery.next_attempt_at <= now).limit(1)).first() \
        is not None


def claim(s: Session, now: datetime, lease_until: datetime, claim_id: str, n: int) -> int:
    """Claim up to `n` due deliveries of enabled endpoints, oldest due first: their next attempt
    moves to the lease's end under `claim_id`. PostgreSQL skips rows another worker is claiming
    (FOR UPDATE SKIP LOCKED); SQLite's write transaction is the only writer."""
    due = (select(WebhookDelivery.pk).join(WebhookEndpoint, WebhookEndpoint.name == WebhookDelivery.endpoint)
           .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                  WebhookEndpoint.enabled.is_(True))
           .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.pk).limit(n)
           .with_for_update(skip_locked=True, of=WebhookDelivery))
    pks = list(s.execute(due).scalars())
    if pks:
        s.execute(update(WebhookDelivery).where(WebhookDelivery.pk.in_(pks))
                  .values(next_attempt_at=lease_until, claim=claim_id))
    return len(pks)


@dataclass(frozen=True)
class Job:
    """A claimed delivery with what sending it needs."""

    pk: int
    id: str
    endpoint: str
    url: str
    secrets: tuple[str, ...]
    body: str
    claim: str
    tries: int


def claimed(s: Session, claim_id: str, now: datetime) -> list[Job]:
    rows = s.execute(select(WebhookDelivery, WebhookEndpoint, WebhookEvent.body)
                     .join(WebhookEndpoint, WebhookEndpoint.name == WebhookDelivery.endpoint)
                     .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
                     .where(WebhookDelivery.claim == claim_id).order_by(WebhookDelivery.pk)).all()
    return [Job(d.pk, d.id, ep.name, ep.url, signing_secrets(ep, now), body, claim_id, d.tries)
            for d, ep, body in rows]


def signing_secrets(ep: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    """The current secret, and the previous one during its 24 hours after a rotation."""
    if ep.previous_secret and ep.previous_until and ep.previous_until > now:
        return ep.secret, ep.previous_secret
    return (ep.secret,)


def add_attempt(s: Session, delivery_pk: int, at: datetime, status_code: int | None, error: str | None) -> None:
    s.add(WebhookAttempt(delivery_pk=delivery_pk, at=at, status_code=status_code, error=error))


def depth(s: Session) -> tuple[int, datetime | None]:
    """Pending deliveries of enabled endpoints, and when the oldest of them was made."""
    n, oldest = s.execute(select(func.count(), func.min(WebhookDelivery.created_at))
                          .join(WebhookEndpoint, WebhookEndpoint.name == WebhookDelivery.endpoint)
                          .where(WebhookDelivery.status == "pending", WebhookEndpoint.enabled.is_(True))).one()
    if isinstance(oldest, str):  # SQLite's min() of the stored text
        oldest = datetime.fromisoformat(oldest).replace(tzinfo=timezone.utc)
    return n, oldest


def prune(s: Session, cutoff: datetime) -> int:
    """Remove deliveries finished before `cutoff` (delivered or failed), then events left without
    a delivery; their attempts go with them (ON DELETE CASCADE)."""
    removed = s.execute(delete(WebhookDelivery).where(WebhookDelivery.status != "pending",
                                                      WebhookDelivery.finished_at < cutoff)).rowcount
    s.execute(delete(WebhookEvent).where(WebhookEvent.created_at < cutoff, ~select(WebhookDelivery.pk).where(
        WebhookDelivery.event_id == WebhookEvent.id).exists()))
    return removed
