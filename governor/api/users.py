"""Users: status (scope `sessions`), age verification (`age` or `admin`), usage (`audit` or `admin`)."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, g

from governor.api.guards import requires
from governor.api.schemas import AgeVerification, body, date_arg, decision_json, query, user_id, verification_json
from governor.domain.bands import AgeNow
from governor.errors import InvalidRequest
from governor.observability import count_decision
from governor.service import sessions, users

bp = Blueprint("users", __name__, url_prefix="/v1/users")
MAX_USAGE_DAYS = 366


def _svc():
    return current_app.extensions["governor"]


@bp.get("/<uid>/status")
@requires("sessions")
def status(uid: str):
    purpose = query("purpose").get("purpose")
    if purpose is not None and not 0 < len(purpose) <= 64:
        raise InvalidRequest("purpose: 1 to 64 characters", errors=[{"field": "purpose", "message": "length"}])
    return status_answer(_svc(), user_id(uid), purpose)


def status_answer(svc, uid: str, purpose: str | None = None) -> dict:
    """A status (the view's, and api/hot.py's for one without a query): the decision, the
    verification without the birth date (a frontend needs the status, not the birth date) and the
    running sessions."""
    st = sessions.status(svc, uid, purpose)
    now = svc.clock.now()
    count_decision("status", st.decision)
    out = decision_json(st.decision)
    verification = verification_json(st.facts.verification, now)
    if verification is not None:
        verification.pop("birth_date")
    out.update(verification=verification, active_sessions=st.active_sessions, age=age_summary(st.age))
    return out


def age_summary(a: AgeNow) -> dict:
    """Section 8: the user's age as the status shows it (the signals themselves are for
    GET .../age): band, today's combined span, the sources that decided, the consent."""
    return {"band": a.age.band, "age_min": a.age.age_min, "age_max": a.age.age_max, "basis": list(a.age.basis),
            "parental_consent": a.consent}


@bp.put("/<uid>/age-verification")
@requires("age", "admin")
def age_verification(uid: str):
    uid = user_id(uid)
    req = body(AgeVerification)
    done = users.set_verification(_svc(), uid, req.to_domain(), g.principal.sub)
    out = {"user_id": done.user_id, **verification_json(done.verification, _svc().clock.now()),
           "band": done.band.value}
    return out


@bp.get("/<uid>/usage")
@requires("audit", "admin")
def usage(uid: str):
    uid = user_id(uid)
    args = query("from", "to")
    first, last = date_arg("from", args.get("from")), date_arg("to", args.get("to"))
    if first and last and first > last:
        raise InvalidRequest("'from' is after 'to'", errors=[{"field": "from", "message": "after 'to'"}])
    if first and last and last - first >= timedelta(days=MAX_USAGE_DAYS):
        raise InvalidRequest(f"at most {MAX_USAGE_DAYS} days at a time")
    days = users.usage(_svc(), uid, first, last)
    return {"user_id": uid, "days": [{"date": d.date.isoformat(), "seconds": d.seconds,
                                      "uncounted_seconds": d.uncounted_seconds, "sessions": d.sessions}
                                     for d in days]}
