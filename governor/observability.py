"""Metrics (Prometheus) and structured logs, with a request id on every line and response.

Under `governor serve`, PROMETHEUS_MULTIPROC_DIR is set before gunicorn forks, so /metrics adds up
every worker. Logs are one JSON object per line; they name the route pattern, never the raw path
(which holds user ids), and never a token or secret.
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from governor.store.database import DatabaseUnavailable

REQUEST_SECONDS = Histogram("governor_http_request_duration_seconds", "Request latency by endpoint",
                            ["endpoint", "method", "status"],
                            buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
DECISIONS = Counter("governor_decisions_total", "Decisions by reason and band", ["kind", "reason", "band"])
AUDIT_APPENDS = Counter("governor_audit_appends_total", "Audit events appended", ["action"])
SWEPT = Counter("governor_sweeper_closed_sessions_total", "Sessions closed by the sweeper")
SWEEPS = Counter("governor_sweeps_total", "Sweeper runs")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("governor.http")


_CHILDREN: dict[tuple, object] = {}  # labelled metric children, looked up once each (hot paths)


def _child(metric, *labels: str):
    key = (metric, *labels)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*labels)
    return child


def request_id(given: str) -> str:
    """The caller's X-Request-Id when it is a sane one, else a new one."""
    return given if _REQUEST_ID.match(given) else secrets.token_hex(16)


def finished(rid: str | None, method: str, endpoint: str, status: int, elapsed: float, client: str | None) -> None:
    """A request's latency in the histogram and its access-log line (JSON, when INFO is on)."""
    _child(REQUEST_SECONDS, endpoint, method, str(status)).observe(elapsed)
    if endpoint not in ("/healthz", "/metrics") and log.isEnabledFor(logging.INFO):
        log.info("request", extra={"fields": {"request_id": rid, "method": method, "route": endpoint,
                                              "status": status, "ms": round(elapsed * 1000, 2), "client": client}})


def count_decision(kind: str, decision) -> None:
    _child(DECISIONS, kind, decision.reason.value, decision.band.value).inc()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname.lower(),
               "logger": record.name, "msg": record.getMessage()}
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str = "info") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)


def instrument(app: Flask, active_sessions) -> None:
    """Request ids, latency histograms and access logs for `app`; /metrics serves them."""

    @app.before_request
    def _start():
        g.request_id = request_id(request.headers.get("X-Request-Id", ""))
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response):
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        response.headers["X-Request-Id"] = g.get("request_id", "")
        principal = g.get("principal")
        finished(g.get("request_id"), request.method, endpoint, response.status_code, elapsed,
                 principal.sub if principal else None)
        return response

    @app.get("/metrics")
    def metrics():
        registry = _registry()
        registry.register(_ActiveSessions(active_sessions))
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    from prometheus_client import REGISTRY

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):  # the process's own metrics
            registry.register(collector)
        return registry
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


class _ActiveSessions:
    """Active sessions, counted in the database at scrape time (right across instances)."""

    def __init__(self, count):
        self.count = count

    def collect(self):
        gauge = GaugeMetricFamily("governor_active_sessions", "Sessions not yet ended")
        try:
            gauge.add_metric([], self.count())
        except DatabaseUnavailable:  # the scrape still answers, without this gauge
            return
        yield gauge
