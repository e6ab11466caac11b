"""The admin's webhook endpoints (DESIGN section 9): register or change, list, read, remove,
rotate the secret, the deliveries with their attempts, and a failed delivery sent again. Each
change is one transaction, audited on the system chain (the URL's host, never the secret)."""
from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from governor.errors import InvalidRequest, NotFound, Problem
from governor.service.audit import Entry, append_system_event
from governor.service.context import Services
from governor.service.webhooks import targets
from governor.service.webhooks.outbox import EVENT_TYPES
from governor.store import webhooks as store

ROTATION_OVERLAP = timedelta(hours=24)


class DeliveryNotFailed(Problem):
    status, type, title = 409, "delivery-not-failed", "Only a failed delivery can be sent again"


class EndpointDisabled(Problem):
    status, type, title = 409, "endpoint-disabled", "The endpoint is disabled"


@dataclass(frozen=True)
class EndpointView:
    name: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    previous_secret_expires_at: datetime | None
    counts: dict[str, int]
    secret: str | None = None  # only in the answer that creates it, or a rotation's


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _view(ep: store.Endpoint, now: datetime, counts: dict[str, int] | None = None,
          secret: str | None = None) -> EndpointView:
    overlap = ep.previous_until if ep.previous_secret and ep.previous_until and ep.previous_until > now else None
    return EndpointView(ep.name, ep.url, list(ep.events), ep.enabled, ep.disabled_reason, ep.created_at,
                        ep.updated_at, overlap, counts or {}, secret)


def _audit(s, now: datetime, client: str, action: str, ep: store.Endpoint, **extra) -> None:
    data = {"name": ep.name, "host": urlsplit(ep.url).hostname, **extra}
    append_system_event(s, now, Entry(client=client, action=action, data=data))


def check_events(events: list[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown or not events:
        why = f"unknown event type {unknown[0][:60]!r}" if unknown else "name at least one event type"
        raise InvalidRequest(f"events: {why}; known: {', '.join(EVENT_TYPES)}",
                             errors=[{"field": "events", "message": why}], known=list(EVENT_TYPES))
    return list(dict.fromkeys(events))


def check_url(svc: Services, url: str) -> str:
    try:
        targets.check(url, targets.allow_hosts(svc.settings.webhook_allow_hosts))
    except targets.TargetRefused as e:
        raise InvalidRequest(f"url: {e}", errors=[{"field": "url", "message": str(e)}]) from None
    return url


def put(svc: Services, name: str, url: str, events: list[str], enabled: bool | None, client: str) -> EndpointView:
    """Create (with a new secret, answered once) or change an endpoint. Enabling one that a 410
    disabled clears the reason; its paused deliveries go out again."""
    events = check_events(events)
    check_url(svc, url)
    with svc.db.write() as s:
        now = svc.clock.now()
        ep = store.endpoint(s, name, lock=True)
        if ep is None:
            ep = store.create_endpoint(s, name, url, events, enabled is not False, new_secret(), now)
            _audit(s, now, client, "webhook.created", ep, events=events, enabled=ep.enabled)
            return _view(ep, now, secret=ep.secret)
        now_enabled = ep.enabled if enabled is None else enabled
        reason = None if enabled else ep.disabled_reason
        if (url, tuple(events), now_enabled) != (ep.url, ep.events, ep.enabled):
            ep = store.change_endpoint(s, ep, url, events, now_enabled, reason, now)
            _audit(s, now, client, "webhook.changed", ep, events=events, enabled=ep.enabled)
        elif reason != ep.disabled_reason:
            ep = store.change_endpoint(s, ep, url, events, now_enabled, reason, ep.updated_at)
        return _view(ep, now, store.recent_counts(s, name))


def listing(svc: Services) -> list[EndpointView]:
    with svc.db.read() as s:
        now = svc.clock.now()
        return [_view(ep, now, store.recent_counts(s, ep.name)) for ep in store.endpoints(s)]


def get(svc: Services, name: str) -> EndpointView:
    with svc.db.read() as s:
        ep = _found(store.endpoint(s, name), name)
        return _view(ep, svc.clock.now(), store.recent_counts(s, name))


def remove(svc: Services, name: str, client: str) -> None:
    """Remove an endpoint with its deliveries (undelivered ones are not sent)."""
    with svc.db.write() as s:
        ep = _found(store.endpoint(s, name, lock=True), name)
        _audit(s, svc.clock.now(), client, "webhook.deleted", ep)
        store.delete_endpoint(s, ep.name)


def rotate(svc: Services, name: str, client: str) -> EndpointView:
    """A new secret, answered once; the old one still signs for 24 hours (both signatures)."""
    with svc.db.write() as s:
        now = svc.clock.now()
        ep = _found(store.endpoint(s, name, lock=True), name)
        ep = store.rotate_secret(s, ep, new_secret(), now + ROTATION_OVERLAP, now)
        _audit(s, now, client, "webhook.secret_rotated", ep, previous_valid_until=ep.previous_until.isoformat())
        return _view(ep, now, secret=ep.secret)


def deliveries(svc: Services, name: str, status: str | None, before: int,
               limit: int) -> tuple[list[store.DeliveryRow], int | None]:
    """A page of the endpoint's deliveries, newest first, and the cursor of the next (or None)."""
    with svc.db.read() as s:
        _found(store.endpoint(s, name), name)
        rows = store.deliveries(s, name, status, before, limit + 1)
    return rows[:limit], (rows[limit - 1].pk if len(rows) > limit else None)


def retry(svc: Services, name: str, delivery_id: str, client: str) -> store.DeliveryRow:
    """Send a failed delivery once more, now (a failure leaves it failed again)."""
    with svc.db.write() as s:
        now = svc.clock.now()
        ep = _found(store.endpoint(s, name, lock=True), name)
        d = store.delivery(s, name, delivery_id, lock=True)
        if d is None:
            raise NotFound(f"no delivery {delivery_id[:40]!r} of endpoint {name!r}")
        if d.status != "failed":
            raise DeliveryNotFailed(f"delivery {d.id} is {d.status}", delivery_status=d.status)
        if not ep.enabled:
            raise EndpointDisabled(f"endpoint {name!r} is disabled ({ep.disabled_reason or 'by an admin'}); "
                                   "enable it first", disabled_reason=ep.disabled_reason)
        from governor.service.webhooks.worker import SCHEDULE

        store.requeue(s, d.pk, now, len(SCHEDULE))
        _audit(s, now, client, "webhook.retried", ep, delivery_id=d.id)
        return store.deliveries(s, name, None, d.pk + 1, 1)[0]


def _found(ep: store.Endpoint | None, name: str) -> store.Endpoint:
    if ep is None:
        raise NotFound(f"no webhook endpoint {name!r}")
    return ep
