"""The operations endpoints (no token) and the development clock."""
from __future__ import annotations

from governor.api import models as m
from governor.api.dev import ClockIn
from governor.api.spec.op import HTML, JSON, TEXT, Op

DEV_ONLY = "Not development mode (`GOVERNOR_ENV` is not `development`): there is no such endpoint"

OPS = [
    Op("put", "/v1/dev/clock", "setDevClock", "dev", "Development only (404 otherwise): set the server's clock",
       ("admin",), body=ClockIn, responses={200: m.ClockOut, 404: m.ProblemOut},
       description="Move the server's clock to `now` (it runs on from there) to try the night, a limit or a "
                   "birthday without waiting. Every worker, the scheduler and the CLI of one instance folder "
                   "share the offset. Usage booked under a set clock stays booked. Audited as `dev.clock_set`.",
       errors={404: DEV_ONLY, 422: "A time without an offset, or outside 1970..2200"},
       example={"now": "2026-12-02T21:58:00+08:00"},
       answer={"now": "2026-12-02T21:58:00+08:00", "offset_seconds": 50280.0}),
    Op("delete", "/v1/dev/clock", "resetDevClock", "dev", "Development only (404 otherwise): back to the real "
       "time", ("admin",), responses={200: m.ClockOut, 404: m.ProblemOut},
       description="Remove the offset: the clock is the real time again. Audited as `dev.clock_reset`.",
       errors={404: DEV_ONLY}, answer={"now": "2026-12-02T08:00:00+00:00", "offset_seconds": 0.0}),
    Op("get", "/healthz", "healthz", "ops", "Liveness", (), responses={200: m.StatusOk},
       description="The process answers (for a load balancer's liveness check); it does not touch the "
                   "database.", answer={"status": "ok"}),
    Op("get", "/readyz", "readyz", "ops", "Readiness: the database answers", (),
       responses={200: m.StatusOk, 503: m.NotReady},
       description="The database answers: send traffic here. 503 (with `Retry-After`) while it does not.",
       errors={503: "The database cannot be reached"}, answer={"status": "ready"}),
    Op("get", "/metrics", "metrics", "ops", "Prometheus metrics", (),
       responses={200: {TEXT: {"type": "string"}}},
       description="Prometheus text format: request durations by route, decisions by band and reason, audit "
                   "appends by action, active sessions, sweeps.",
       answer='governor_decisions_total{band="age_8_15",kind="start",reason="ok"} 42.0'),
    Op("get", "/openapi.json", "openapi", "ops", "This document", (), responses={200: {JSON: {"type": "object"}}},
       description="The OpenAPI 3.1 document of every endpoint, generated from the models the server "
                   "validates with; client generators (openapi-typescript, ...) read it.",
       answer={"openapi": "3.1.0", "info": {"title": "Governor", "version": "1"}, "paths": {}}),
    Op("get", "/docs", "apiDocs", "ops", "This document, as a page", (), responses={200: {HTML: {"type": "string"}}},
       description="Every endpoint with its scopes, parameters, body, answers, errors and examples, rendered "
                   "on the server as one HTML page (no script, nothing loaded from elsewhere).",
       answer="<!doctype html>..."),
]
