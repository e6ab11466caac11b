"""Age signals and parental consent (DESIGN section 8): signals from verifiers, phones, app
stores and estimation (scope `age` or `admin`), the user's age (`age`, `admin` or `audit`), and a
linked guardian's consent (`guardian`)."""
from __future__ import annotations

import re
from datetime import timezone
from typing import Any, Literal

from flask import Blueprint, current_app, g
from pydantic import Field

from governor.api.guardians import guardian_id
from governor.api.guards import requires
from governor.api.schemas import Instant, Model, body, iso, no_body, user_id
from governor.domain import age
from governor.errors import InvalidRequest
from governor.service import age as ages

bp = Blueprint("age", __name__, url_prefix="/v1")
SOURCE = re.compile(r"^[a-z0-9_.-]{1,64}$")


class AgeSignalIn(Model):
    """One source's say about a user's age: the range the user's age lay in when observed."""
    age_min: int = Field(ge=0, le=age.MAX_AGE)
    """the least the age can be, in whole years (0 for "under 13")"""
    age_max: int | None = Field(ge=0, le=age.MAX_AGE)
    """the most the age can be; null: no upper bound ("18 or over")"""
    method: Literal[age.METHODS]  # type: ignore[valid-type]
    """how the range was established"""
    assurance: Literal[age.ASSURANCES]  # type: ignore[valid-type]
    """how much it can be trusted: `low`, `substantial` or `high`"""
    observed_at: Instant | None = None
    """when the range held (default now; never in the future)"""
    expires_at: Instant | None = None
    """when it stops counting (default: the policy's `age_signal_valid_days` after `observed_at`)"""
    parental_consent: Literal[age.CONSENTS] | None = None  # type: ignore[valid-type]
    """a parent's consent as the source knows it (`granted`, `pending`, `denied`, `revoked`)"""


class ConsentIn(Model):
    """A linked guardian gives (`true`) or withdraws (`false`) consent."""
    granted: bool


def _svc():
    return current_app.extensions["governor"]


def source_arg(value: str) -> str:
    if not SOURCE.fullmatch(value):
        raise InvalidRequest("source must be 1-64 characters of a-z 0-9 _ . -",
                             errors=[{"field": "source", "message": "invalid source name"}])
    return value


def _utc(t) -> str | None:
    return iso(t and t.astimezone(timezone.utc))


def signal_json(x: dict[str, Any]) -> dict[str, Any]:
    return {**x, **{k: _utc(x[k]) for k in ("observed_at", "expires_at", "lapses_at", "set_at")}}


def age_json(v: ages.AgeView, with_signals: bool = True) -> dict[str, Any]:
    out = {"user_id": v.user_id, "band": v.age.band, "age_min": v.age.age_min, "age_max": v.age.age_max,
           "basis": list(v.age.basis), "parental_consent": v.consent}
    if with_signals:
        out["signals"] = [signal_json(x) for x in v.signals]
    return out


@bp.put("/users/<uid>/age-signals/<source>")
@requires("age", "admin")
def put_signal(uid: str, source: str):
    uid, source = user_id(uid), source_arg(source)
    req = body(AgeSignalIn)
    sig = ages.SignalIn(req.age_min, req.age_max, req.method, req.assurance, req.observed_at, req.expires_at,
                        req.parental_consent)
    stored, view = ages.put_signal(_svc(), uid, source, sig, g.principal.sub)
    return {"signal": signal_json(stored), "age": age_json(view, with_signals=False)}


@bp.delete("/users/<uid>/age-signals/<source>")
@requires("age", "admin")
def withdraw_signal(uid: str, source: str):
    uid, source = user_id(uid), source_arg(source)
    no_body()
    return age_json(ages.withdraw_signal(_svc(), uid, source, g.principal.sub))


@bp.get("/users/<uid>/age")
@requires("age", "admin", "audit")
def get_age(uid: str):
    return age_json(ages.get(_svc(), user_id(uid)))


@bp.put("/guardians/<gid>/children/<uid>/consent")
@requires("guardian")
def consent(gid: str, uid: str):
    gid, uid = guardian_id(gid), user_id(uid)
    req = body(ConsentIn)
    return age_json(ages.guardian_consent(_svc(), gid, uid, req.granted, g.principal.sub))
