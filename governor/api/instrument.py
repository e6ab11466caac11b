"""The web side of the metrics and logs (governor/observability.py): a request id, a latency
histogram and an access-log line (the route pattern, never the raw path) for every request of
the Flask app, and /metrics, which adds the active sessions counted in the database at scrape
time."""
from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily

from governor.observability import finished, registry, request_id
from governor.store.database import DatabaseUnavailable


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
        scraped = registry()
        scraped.register(ActiveSessions(active_sessions))
        for collector in app.extensions.get("governor.collectors", ()):  # e.g. the webhook outbox's
            scraped.register(collector)
        return Response(generate_latest(scraped), mimetype=CONTENT_TYPE_LATEST)


class ActiveSessions:
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
