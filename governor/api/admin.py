"""Admin endpoints (scope `admin`): grants, locks, settings, erasure, policy versions,
complaint handling and the daily report."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from flask import Blueprint, current_app, g
from pydantic import Field, StringConstraints, field_validator

from governor.api.complaints import complaint_id, complaint_json, page_args
from governor.api.guards import requires
from governor.api.schemas import (
    Instant,
    Model,
    Text,
    body,
    date_arg,
    decision_json,
    iso,
    json_body,
    note,
    optional_body,
    query,
    user_id,
    verification_json,
)
from governor.domain.policy import PolicyInvalid, _valid_zone
from governor.errors import InvalidRequest, NotFound
from governor.security import revocations
from governor.service import admin, admin_users, complaints, reports
from governor.service.audit import encode_cursor

bp = Blueprint("admin", __name__, url_prefix="/v1/admin")
Reason = note(500)
READ_ONLY_POLICY_FIELDS = ("version", "activated_at", "activated_by")


def _svc():
    return current_app.extensions["governor"]


class GrantIn(Model):
    """Extra minutes for one local day of the user (`date`: default today, at most a year ahead)."""
    extra_minutes: int = Field(ge=1, le=1440)
    day: date | None = Field(default=None, alias="date")
    reason: Reason | None = None


class LockIn(Model):
    """A lock: until a time (RFC 3339 with offset), or without `until` until unlocked."""
    until: Instant | None = None
    reason: Reason | None = None


class UnlockIn(Model):
    """An unlock, with an optional reason for the audit trail."""
    reason: Reason | None = None


class SettingsIn(Model):
    """The user's own zone and a stricter daily limit (null: the policy's, the band's; absent: unchanged)."""
    timezone: str | None = None
    daily_limit_minutes: int | None = Field(default=None, ge=0, le=1440)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is not None and (len(v) > 64 or not _valid_zone(v)):
            raise ValueError("must be an IANA time zone such as 'Asia/Shanghai'")
        return v


class RevocationIn(Model):
    """A token id to refuse (`jti`), until a time (default: the longest a token may live)."""
    jti: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]*$")]
    until: Instant | None = None


class ComplaintPatch(Model):
    """Assign, resolve or reject a complaint (closing needs a `resolution`)."""
    status: Literal["open", "assigned", "resolved", "rejected"] | None = None
    assignee: Text | None = None
    resolution: note(2000) | None = None


@bp.post("/users/<uid>/grants")
@requires("admin")
def grant(uid: str):
    req = body(GrantIn)
    done = admin.add_grant(_svc(), user_id(uid), req.extra_minutes, req.day, req.reason, g.principal.sub)
    return {"user_id": done.user_id, "date": done.date.isoformat(), "extra_minutes": done.extra_minutes,
            "reason": done.reason, "decision": decision_json(done.decision)}, 201


def _lock_json(st: admin.LockState) -> dict[str, Any]:
    return {"user_id": st.user_id, "locked": st.locked, "until": iso(st.until), "reason": st.reason,
            "decision": decision_json(st.decision)}


def _grant_json(gr: admin_users.GrantView) -> dict[str, Any]:
    return {"id": gr.id, "date": gr.date.isoformat(), "extra_minutes": gr.extra_minutes, "reason": gr.reason,
            "client": gr.client, "created_at": iso(gr.created_at)}


def _session_json(se: admin_users.SessionView) -> dict[str, Any]:
    return {"session_id": se.id, "client": se.client, "started_at": iso(se.started_at),
            "last_seen_at": iso(se.last_seen_at), "ends_at": iso(se.ends_at), "ended_at": iso(se.ended_at),
            "end_reason": se.end_reason, "duration_seconds": se.duration_seconds}


def user_json(o: admin_users.UserOverview) -> dict[str, Any]:
    lock = o.lock
    return {"user_id": o.user_id, "band": o.decision.band.value,
            "verification": verification_json(o.verification, o.now),
            "settings": {"timezone": o.timezone, "daily_limit_minutes": o.daily_limit_minutes},
            "lock": {"locked": lock is not None, "until": iso(lock.until) if lock else None,
                     "reason": lock.reason if lock else None},
            "grants": [_grant_json(gr) for gr in o.grants],
            "active_sessions": [_session_json(se) for se in o.active_sessions],
            "decision": decision_json(o.decision)}


@bp.get("/users/<uid>")
@requires("admin")
def get_user(uid: str):
    return user_json(admin_users.overview(_svc(), user_id(uid)))


@bp.delete("/users/<uid>/grants/<grant>")
@requires("admin")
def revoke_grant(uid: str, grant: str):
    uid = user_id(uid)
    if not (grant.isascii() and grant.isdigit() and len(grant) <= 18):
        raise NotFound(f"no grant {grant[:40]!r}")
    done = admin_users.revoke_grant(_svc(), uid, int(grant), g.principal.sub)
    return {"user_id": uid, "revoked": _grant_json(done.grant), "decision": decision_json(done.decision)}


@bp.put("/users/<uid>/lock")
@requires("admin")
def lock(uid: str):
    req = optional_body(LockIn)
    return _lock_json(admin.lock(_svc(), user_id(uid), req.until, req.reason, g.principal.sub))


@bp.delete("/users/<uid>/lock")
@requires("admin")
def unlock(uid: str):
    req = optional_body(UnlockIn)
    return _lock_json(admin.unlock(_svc(), user_id(uid), req.reason, g.principal.sub))


@bp.put("/users/<uid>/settings")
@requires("admin")
def settings(uid: str):
    req = body(SettingsIn)
    sent = req.model_fields_set
    done = admin.change_settings(_svc(), user_id(uid), req.timezone if "timezone" in sent else admin.KEEP,
                                 req.daily_limit_minutes if "daily_limit_minutes" in sent else admin.KEEP,
                                 g.principal.sub)
    return {"user_id": done.user_id, "timezone": done.timezone, "daily_limit_minutes": done.daily_limit_minutes,
            "decision": decision_json(done.decision)}


@bp.delete("/users/<uid>")
@requires("admin")
def erase(uid: str):
    uid = user_id(uid)
    kept = admin.erase(_svc(), uid, g.principal.sub)
    return {"user_id": uid, "erased": True, "audit_events_kept": kept}


@bp.post("/revocations")
@requires("admin")
def revoke_token():
    req = body(RevocationIn)
    done = revocations.revoke(_svc(), req.jti, req.until, g.principal.sub)
    current_app.extensions["governor.auth"].revocations.expire()  # this instance refuses it at once
    return {"jti": done.jti, "until": iso(done.until), "revoked_at": iso(done.revoked_at)}, 201


@bp.get("/policy")
@requires("admin")
def get_policy():
    return admin.policy_document(*admin.active_policy(_svc()))


@bp.put("/policy")
@requires("admin")
def put_policy():
    doc = json_body()
    if not isinstance(doc, dict):
        raise InvalidRequest("the body must be a JSON object (a policy document)")
    for key in READ_ONLY_POLICY_FIELDS:
        doc.pop(key, None)
    try:
        policy, row = admin.activate_policy(_svc(), doc, g.principal.sub)
    except PolicyInvalid as e:
        raise InvalidRequest(str(e), errors=[{"field": e.field or "(body)", "message": e.problem}]) from None
    return admin.policy_document(policy, row)


@bp.get("/policy/versions")
@requires("admin")
def policy_versions():
    return {"versions": [{"version": v.version, "name": v.name, "activated_at": iso(v.activated_at),
                          "activated_by": v.activated_by, "source": v.source} for v in admin.policy_versions(_svc())]}


@bp.get("/complaints")
@requires("admin")
def list_complaints():
    args = query("status", "cursor", "limit")
    status = args.get("status")
    if status is not None and status not in complaints.STATUSES:
        raise InvalidRequest(f"status: one of {', '.join(complaints.STATUSES)}")
    after, limit = page_args(args)
    items, more = complaints.listing(_svc(), status, after, limit)
    return {"complaints": [complaint_json(c) for c in items],
            "next_cursor": encode_cursor(items[-1].cursor) if more and items else None}


@bp.patch("/complaints/<cid>")
@requires("admin")
def patch_complaint(cid: str):
    req = body(ComplaintPatch)
    return complaint_json(complaints.update(_svc(), complaint_id(cid), req.status, req.assignee, req.resolution,
                                            g.principal.sub))


@bp.get("/reports/daily")
@requires("admin")
def daily_report():
    return reports.daily(_svc(), date_arg("date", query("date").get("date")))

