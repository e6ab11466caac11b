"""Development mode only (GOVERNOR_ENV=development; a 404 otherwise): set the server's clock,
so that integrators can see their curfew and break screens without waiting for the night."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g

from governor.api.guards import requires
from governor.api.schemas import Instant, Model, body, iso
from governor.clock import OffsetClock
from governor.service import dev_clock

bp = Blueprint("dev", __name__, url_prefix="/v1/dev")


class ClockIn(Model):
    """The time to set the development server's clock to (RFC 3339 with offset)."""
    now: Instant


def _clock() -> OffsetClock:
    clock = current_app.extensions["governor"].clock
    if not isinstance(clock, OffsetClock):  # only development mode builds the app with one
        abort(404)
    return clock


@bp.before_request
def _development_only():
    _clock()  # before the token is looked at: outside development the endpoint does not exist


def _answer(at) -> dict:
    now, offset = dev_clock.set_clock(current_app.extensions["governor"], _clock(), at, g.principal.sub)
    return {"now": iso(now), "offset_seconds": offset}


@bp.put("/clock")
@requires("admin")
def set_clock():
    return _answer(body(ClockIn).now)


@bp.delete("/clock")
@requires("admin")
def reset_clock():
    return _answer(None)
