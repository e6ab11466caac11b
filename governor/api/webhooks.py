"""Webhook endpoints (DESIGN section 9, scope `admin`): register or change, list, read, remove,
rotate the secret, the deliveries with their attempts, a failed one sent again. The answer
models are here too; governor/api/spec/webhooks.py describes the operations."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Literal

from flask import Blueprint, current_app, g
from pydantic import Field

from governor.api.complaints import page_args
from governor.api.guards import requires
from governor.api.models.base import Out
from governor.api.schemas import Model, body, iso, no_body, query
from governor.errors import InvalidRequest, NotFound
from governor.service.audit import encode_cursor
from governor.service.webhooks import endpoints
from governor.service.webhooks.outbox import EVENT_TYPES
from governor.service.webhooks.worker import OutboxCollector

bp = Blueprint("webhooks", __name__, url_prefix="/v1/admin/webhooks")
NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
DELIVERY_ID = re.compile(r"msg_[A-Za-z0-9_-]{1,36}")
STATUSES = ("pending", "delivered", "failed")
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


@bp.record_once
def _metrics(state) -> None:
    """The outbox's gauges join /metrics (read at scrape time)."""
    state.app.extensions.setdefault("governor.collectors", []).append(
        OutboxCollector(state.app.extensions["governor"]))


def _svc():
    return current_app.extensions["governor"]


class EndpointIn(Model):
    """An endpoint to create or change: where to send, which event types, and whether it is on."""
    url: str = Field(min_length=1, max_length=2048)
    events: list[str] = Field(min_length=1, max_length=len(EVENT_TYPES))
    enabled: bool | None = None


class EndpointOut(Out):
    """A webhook endpoint; `secret` only in the answer that creates it (and a rotation's)."""
    name: str
    url: str
    events: list[EventType]
    enabled: bool
    disabled_reason: str | None
    """why it is off when Governor turned it off (a 410); null when an admin did or it is on"""
    created_at: str
    updated_at: str
    previous_secret_expires_at: str | None
    """after a rotation: until when deliveries also carry the old secret's signature"""
    deliveries: dict[str, int]
    """how many deliveries it has, by status"""
    secret: str | None = None


class EndpointsOut(Out):
    """Every webhook endpoint, by name."""
    webhooks: list[EndpointOut]


class RemovedOut(Out):
    """The endpoint removed, with its deliveries."""
    name: str
    deleted: Literal[True]


class AttemptOut(Out):
    """One attempt to send a delivery."""
    at: str
    status_code: int | None
    """the receiver's HTTP status; null when none came (timeout, refused, address not allowed)"""
    error: str | None


class DeliveryOut(Out):
    """One event sent to one endpoint, with every attempt."""
    id: str
    """the `webhook-id` it is sent with, every time"""
    type: EventType
    status: Literal["pending", "delivered", "failed"]
    attempts: list[AttemptOut]
    next_attempt_at: str | None
    created_at: str


class DeliveriesPage(Out):
    """A page of an endpoint's deliveries, newest first."""
    deliveries: list[DeliveryOut]
    next_cursor: str | None


def _utc(t: datetime | None) -> str | None:
    return iso(t and t.astimezone(timezone.utc))


def endpoint_json(v: endpoints.EndpointView) -> dict[str, Any]:
    out = {"name": v.name, "url": v.url, "events": v.events, "enabled": v.enabled,
           "disabled_reason": v.disabled_reason, "created_at": _utc(v.created_at), "updated_at": _utc(v.updated_at),
           "previous_secret_expires_at": _utc(v.previous_secret_expires_at),
           "deliveries": {s: v.counts.get(s, 0) for s in STATUSES}}
    return out | ({"secret": v.secret} if v.secret else {})


def delivery_json(d) -> dict[str, Any]:
    return {"id": d.id, "type": d.type, "status": d.status,
            "attempts": [{"at": _utc(at), "status_code": code, "error": error} for at, code, error in d.attempts],
            "next_attempt_at": _utc(d.next_attempt_at) if d.status == "pending" else None,
            "created_at": _utc(d.created_at)}


def _name(value: str, creating: bool = False) -> str:
    """An endpoint's name; one that cannot be a name is a 422 when creating, else unknown (404)."""
    if not NAME.fullmatch(value):
        if not creating:
            raise NotFound(f"no webhook endpoint {value[:64]!r}")
        raise InvalidRequest("name: 1-64 characters of A-Z a-z 0-9 . _ -",
                             errors=[{"field": "name", "message": "invalid endpoint name"}])
    return value


@bp.get("")
@requires("admin")
def listing():
    return {"webhooks": [endpoint_json(v) for v in endpoints.listing(_svc())]}


@bp.put("/<name>")
@requires("admin")
def put(name: str):
    name = _name(name, creating=True)
    req = body(EndpointIn)
    return endpoint_json(endpoints.put(_svc(), name, req.url, req.events, req.enabled, g.principal.sub))


@bp.get("/<name>")
@requires("admin")
def get(name: str):
    return endpoint_json(endpoints.get(_svc(), _name(name)))


@bp.delete("/<name>")
@requires("admin")
def remove(name: str):
    name = _name(name)
    no_body()
    endpoints.remove(_svc(), name, g.principal.sub)
    return {"name": name, "deleted": True}


@bp.post("/<name>/rotate-secret")
@requires("admin")
def rotate(name: str):
    name = _name(name)
    no_body()
    return endpoint_json(endpoints.rotate(_svc(), name, g.principal.sub))


@bp.get("/<name>/deliveries")
@requires("admin")
def deliveries(name: str):
    name = _name(name)
    args = query("status", "cursor", "limit")
    status = args.get("status")
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status: one of {', '.join(STATUSES)}",
                             errors=[{"field": "status", "message": "unknown status"}])
    before, limit = page_args(args)
    rows, next_pk = endpoints.deliveries(_svc(), name, status, before, limit)
    return {"deliveries": [delivery_json(d) for d in rows],
            "next_cursor": encode_cursor(next_pk) if next_pk is not None else None}


@bp.post("/<name>/deliveries/<did>/retry")
@requires("admin")
def retry(name: str, did: str):
    name = _name(name)
    if not DELIVERY_ID.fullmatch(did):
        raise NotFound(f"no delivery {did[:40]!r}")
    no_body()
    return delivery_json(endpoints.retry(_svc(), name, did, g.principal.sub))
