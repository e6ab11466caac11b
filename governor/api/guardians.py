"""Guardians and time requests (DESIGN section 7). Links: scope `age` or `admin`; a user's
guardians and a guardian's erasure: `admin`; the parent app's endpoints: `guardian`; a child's
requests for more time: `sessions` (the chat frontend)."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any, Literal

from flask import Blueprint, current_app, g
from pydantic import Field

from governor.api.guards import requires
from governor.api.schemas import Model, Window, body, decision_json, iso, no_body, note, query, user_id
from governor.domain.time_requests import STATUSES
from governor.errors import InvalidRequest, NotFound
from governor.service import guardians, time_requests

bp = Blueprint("guardians", __name__, url_prefix="/v1")
REQUEST_ID = re.compile(r"tr_[A-Za-z0-9_-]{1,37}")
WEEK = re.compile(r"(\d{4})-W(\d{2})", re.ASCII)
FIRST_WEEK, LAST_WEEK = date(1900, 1, 1), date(2200, 1, 1)  # the range of a date argument (schemas.date_arg)
Note = note(500)


def utc(t: datetime | None) -> str | None:
    """A record's instant (a link's) in UTC, as audit and admin records are; instants about the
    child's day (time requests, decisions) come in the child's offset from the use cases."""
    return iso(t and t.astimezone(timezone.utc))


def week_arg(value: str | None) -> date | None:
    """The Monday of an ISO week written 2026-W48 (1900 to 2200, as dates are); absent is None."""
    if value is None:
        return None
    m = WEEK.fullmatch(value)
    try:
        if not m:
            raise ValueError
        monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
        if not FIRST_WEEK <= monday <= LAST_WEEK:
            raise ValueError
    except ValueError:
        raise InvalidRequest("week: an ISO week such as 2026-W48, from 1900 to 2200",
                             errors=[{"field": "week", "message": "not an ISO week"}]) from None
    return monday


def _svc():
    return current_app.extensions["governor"]


def guardian_id(value: str) -> str:
    """A guardian id follows the rules of a user id."""
    try:
        return user_id(value)
    except InvalidRequest:
        raise InvalidRequest("guardian_id must be 1-128 characters of A-Z a-z 0-9 . _ : @ -",
                             errors=[{"field": "guardian_id", "message": "invalid guardian id"}]) from None


class ControlsPatch(Model):
    """PATCH: the fields named change, the others stay."""

    daily_limit_minutes: int | None = Field(default=None, ge=0, le=1440)
    quiet_hours: list[Window] | None = Field(default=None, max_length=12)
    rest_reminder_minutes: int | None = Field(default=None, ge=1, le=1440)


class ControlsIn(ControlsPatch):
    """PUT: every field, each null to clear it; a missing one is a 422 that names it."""

    daily_limit_minutes: int | None = Field(ge=0, le=1440)
    quiet_hours: list[Window] | None = Field(max_length=12)
    rest_reminder_minutes: int | None = Field(ge=1, le=1440)


class GuardianGrantIn(Model):
    """A guardian's extra minutes for the child's current local day (within the band's cap)."""
    extra_minutes: int = Field(ge=1, le=1440)
    reason: Note | None = None


class TimeRequestIn(Model):
    """A child asks for more time today (1..240 minutes)."""
    minutes: int = Field(ge=1, le=240)
    note: Note | None = None


class TimeDecisionIn(Model):
    """A guardian's answer to a pending request; `minutes` at most those asked (default: those)."""
    status: Literal["approved", "denied"]
    minutes: int | None = Field(default=None, ge=1, le=240)


def link_json(v: guardians.LinkView) -> dict[str, Any]:
    return {"user_id": v.user_id, "guardian_id": v.guardian_id, "linked_at": utc(v.linked_at)}


def request_json(v: time_requests.RequestView) -> dict[str, Any]:
    return {"id": v.id, "user_id": v.user_id, "minutes": v.minutes, "note": v.note, "status": v.status,
            "date": v.date.isoformat(), "created_at": iso(v.created_at), "expires_at": iso(v.expires_at),
            "decided_at": iso(v.decided_at), "decided_minutes": v.decided_minutes}


def _request_id(value: str) -> str:
    if not REQUEST_ID.fullmatch(value):
        raise NotFound(f"no time request {value[:40]!r}")
    return value


# -- links ------------------------------------------------------------------------------------

@bp.put("/users/<uid>/guardians/<gid>")
@requires("age", "admin")
def link(uid: str, gid: str):
    no_body()
    return link_json(guardians.link(_svc(), user_id(uid), guardian_id(gid), g.principal.sub))


@bp.delete("/users/<uid>/guardians/<gid>")
@requires("age", "admin")
def unlink(uid: str, gid: str):
    no_body()
    return {**link_json(guardians.unlink(_svc(), user_id(uid), guardian_id(gid), g.principal.sub)),
            "unlinked": True}


@bp.get("/admin/users/<uid>/guardians")
@requires("admin")
def list_guardians(uid: str):
    return {"guardians": [{"guardian_id": v.guardian_id, "linked_at": utc(v.linked_at)}
                          for v in guardians.guardians_of(_svc(), user_id(uid))]}


@bp.delete("/admin/guardians/<gid>")
@requires("admin")
def erase_guardian(gid: str):
    gid = guardian_id(gid)
    return {"guardian_id": gid, "erased": True, "links_removed": guardians.erase_guardian(_svc(), gid,
                                                                                          g.principal.sub)}


# -- the parent app ---------------------------------------------------------------------------

@bp.get("/guardians/<gid>/children")
@requires("guardian")
def children(gid: str):
    return {"children": [{"user_id": c.user_id, "decision": decision_json(c.decision), "controls": c.controls,
                          "age": age_summary_json(c)} for c in guardians.children(_svc(), guardian_id(gid))]}


def age_summary_json(c: guardians.Child) -> dict[str, Any]:
    """The child's age as a status answer's `age` shows it (GET .../age without the signals)."""
    return {"band": c.age.band, "age_min": c.age.age_min, "age_max": c.age.age_max, "basis": list(c.age.basis),
            "parental_consent": c.consent}


@bp.get("/guardians/<gid>/children/<uid>/summary")
@requires("guardian")
def summary(gid: str, uid: str):
    return guardians.summary(_svc(), guardian_id(gid), user_id(uid), week_arg(query("week").get("week")))


@bp.get("/guardians/<gid>/children/<uid>/controls")
@requires("guardian")
def get_controls(gid: str, uid: str):
    return guardians.get_controls(_svc(), guardian_id(gid), user_id(uid))


@bp.put("/guardians/<gid>/children/<uid>/controls")
@requires("guardian")
def put_controls(gid: str, uid: str):
    req = body(ControlsIn)
    return guardians.set_controls(_svc(), guardian_id(gid), user_id(uid), req.daily_limit_minutes,
                                  req.quiet_hours, req.rest_reminder_minutes, g.principal.sub)


@bp.patch("/guardians/<gid>/children/<uid>/controls")
@requires("guardian")
def patch_controls(gid: str, uid: str):
    req = body(ControlsPatch)
    changes = {name: getattr(req, name) for name in req.model_fields_set}
    return guardians.change_controls(_svc(), guardian_id(gid), user_id(uid), changes, g.principal.sub)


@bp.post("/guardians/<gid>/children/<uid>/grants")
@requires("guardian")
def grant(gid: str, uid: str):
    req = body(GuardianGrantIn)
    done, decision = guardians.grant(_svc(), guardian_id(gid), user_id(uid), req.extra_minutes, req.reason,
                                     g.principal.sub)
    return {"grant": done, "decision": decision_json(decision)}, 201


@bp.get("/guardians/<gid>/time-requests")
@requires("guardian")
def guardian_requests(gid: str):
    status = query("status").get("status")
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status: one of {', '.join(STATUSES)}",
                             errors=[{"field": "status", "message": "unknown status"}])
    return {"time_requests": [request_json(v) for v in time_requests.of_guardian(_svc(), guardian_id(gid), status)]}


@bp.patch("/guardians/<gid>/time-requests/<rid>")
@requires("guardian")
def decide_request(gid: str, rid: str):
    gid, rid = guardian_id(gid), _request_id(rid)
    req = body(TimeDecisionIn)
    return request_json(time_requests.decide(_svc(), gid, rid, req.status, req.minutes, g.principal.sub))


# -- the child's frontend ---------------------------------------------------------------------

@bp.post("/users/<uid>/time-requests")
@requires("sessions")
def ask(uid: str):
    uid = user_id(uid)
    req = body(TimeRequestIn)
    return request_json(time_requests.create(_svc(), uid, req.minutes, req.note, g.principal.sub)), 201


@bp.get("/time-requests/<rid>")
@requires("sessions")
def get_request(rid: str):
    return request_json(time_requests.get(_svc(), _request_id(rid), g.principal.sub))
