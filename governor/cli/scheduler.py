"""`governor sweep` (once, now) and `governor scheduler` (the background jobs in this process).

A scheduler process of its own (GOVERNOR_SCHEDULER=0 on the instances, docs/deploy.md) serves its
metrics (`governor_sweeps_total`, ...) on GOVERNOR_SCHEDULER_METRICS_BIND for Prometheus to
scrape; the one `governor serve` starts shares serve's metrics folder, so serve's /metrics holds
them."""
from __future__ import annotations

import os
import signal
import sys

from governor.cli.common import command, json_logs, services
from governor.config import ConfigError, Settings


def add_parsers(sub) -> None:
    sweep = command(sub, "sweep", "close stale sessions once, now",
                    "Close every session silent for longer than the heartbeat grace, counting its time up to the "
                    "grace.")
    sweep.set_defaults(run=cmd_sweep)
    scheduler = command(sub, "scheduler", "run the background jobs in this process",
                        "Run the background jobs (sweep, retention, checkpoints, webhook deliveries) in this "
                        "process until it is stopped; its logs are JSON. With GOVERNOR_SCHEDULER_METRICS_BIND "
                        "(host:port) it serves its metrics there for Prometheus.")
    scheduler.set_defaults(run=cmd_scheduler)


def cmd_sweep(settings: Settings, args) -> int:
    from governor import jobs

    closed = jobs.sweep(services(settings))
    print("skipped: another instance is sweeping" if closed is None else f"closed {closed} stale sessions")
    return 0


def cmd_scheduler(settings: Settings, args) -> int:
    from governor import jobs

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    json_logs(settings)
    if settings.scheduler_metrics_bind:
        serve_metrics(settings.scheduler_metrics_bind)
    jobs.run_scheduler(services(settings))
    return 0


def serve_metrics(bind: str) -> None:
    """Prometheus's text format on http://<bind>/metrics, from a thread of this process."""
    from prometheus_client import REGISTRY, start_http_server

    from governor.observability import registry

    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"GOVERNOR_SCHEDULER_METRICS_BIND: use host:port, such as 127.0.0.1:9108 (got {bind!r})")
    try:
        start_http_server(int(port), addr=host.strip("[]"),
                          registry=registry() if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else REGISTRY)
    except OSError as e:
        raise ConfigError(f"GOVERNOR_SCHEDULER_METRICS_BIND: cannot listen on {bind}: {e.strerror or e}") from None
