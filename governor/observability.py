"""Metrics (Prometheus) and structured logs, with a request id on every line and response. No web
framework here: the web side's instrumentation is governor/api/instrument.py, and the scheduler
process serves these same metrics on its own port (governor/cli/scheduler.py).

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

from prometheus_client import CollectorRegistry, Counter, Histogram

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


def registry() -> CollectorRegistry:
    """Every metric of this process, or of every process sharing PROMETHEUS_MULTIPROC_DIR."""
    from prometheus_client import REGISTRY

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        out = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):  # the process's own metrics
            out.register(collector)
        return out
    from prometheus_client import multiprocess

    out = CollectorRegistry()
    multiprocess.MultiProcessCollector(out)
    return out
