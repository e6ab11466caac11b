"""Background jobs (APScheduler). Each is idempotent; on PostgreSQL each takes an advisory lock
(store/locks.py), so when several instances run schedulers only one runs a given job at a time."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from apscheduler.schedulers.blocking import BlockingScheduler

from governor.config import ConfigError
from governor.observability import SWEEPS, SWEPT
from governor.security import revocations
from governor.service import audit as audit_log
from governor.service import sessions, time_requests
from governor.service.context import Services
from governor.service.webhooks import worker as webhook_worker
from governor.store import locks
from governor.store.database import DatabaseUnavailable

log = logging.getLogger("governor.jobs")


def exclusive(svc: Services, name: str, job: Callable[[], int]) -> int | None:
    """Run `job` unless another instance holds its lock; None when skipped."""
    if svc.db.sqlite:  # one database file, one host: the transactions themselves serialise
        return job()
    with locks.try_exclusive(svc.db.writer, name) as got:
        return job() if got else None


def sweep(svc: Services) -> int | None:
    closed = exclusive(svc, "sweep", lambda: _sweep(svc))
    if closed is not None:
        SWEEPS.inc()
        SWEPT.inc(closed)
    if closed:
        log.info("sweep closed %d stale sessions", closed)
    return closed


def _sweep(svc: Services) -> int:
    """Close stale sessions; and write the expiry of time requests whose day has ended."""
    expired = time_requests.expire_due(svc)
    if expired:
        log.info("sweep expired %d time requests", expired)
    return sessions.sweep(svc)


def retention(svc: Services) -> int | None:
    settings = svc.settings
    removed = exclusive(svc, "retention", lambda: audit_log.prune(
        svc, settings.audit_retention_days, settings.usage_retention_days))
    revocations.forget_expired(svc)
    webhook_worker.prune(svc)  # section 9: finished deliveries past GOVERNOR_WEBHOOK_RETENTION_DAYS
    if removed:
        log.info("retention removed %d audit events", removed)
    return removed


def checkpoint(svc: Services) -> int | None:
    """Sign every chain's head into the checkpoint directory (docs/audit.md); the number of chains."""
    settings = svc.settings

    def run() -> int:
        path, chains = audit_log.checkpoint(svc, settings.audit_signing_key, settings.audit_checkpoint_dir)
        log.info("checkpoint of %d chain heads appended to %s", chains, path)
        return chains
    return exclusive(svc, "checkpoint", run)


def run_scheduler(svc: Services) -> None:
    """Run the jobs in this process until it is stopped."""
    scheduler = BlockingScheduler(timezone="UTC")
    settings = svc.settings
    jobs = [(sweep, settings.sweep_interval_seconds), (retention, settings.retention_interval_seconds)]
    if settings.audit_signing_key and settings.audit_checkpoint_dir:
        jobs.insert(0, (checkpoint, settings.audit_checkpoint_interval_seconds))
    else:
        log.warning("no audit checkpoints: set GOVERNOR_AUDIT_SIGNING_KEY and GOVERNOR_AUDIT_CHECKPOINT_DIR "
                    "(docs/audit.md)")
    jobs.append((webhook_worker.deliver_webhooks, 1))  # section 9: a new event goes out within about 2 s
    for job, seconds in jobs:  # named, so APScheduler's lines say "sweep", not the wrapper's name
        scheduler.add_job(_guarded(job, svc), "interval", seconds=seconds, id=job.__name__, name=job.__name__,
                          coalesce=True, max_instances=1)
    log.info("scheduler running: sweep every %ss, retention every %ss", settings.sweep_interval_seconds,
             settings.retention_interval_seconds)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


def _guarded(job, svc: Services):
    @functools.wraps(job)
    def run():
        try:
            job(svc)
        except DatabaseUnavailable as e:  # the next run tries again
            log.warning("job %s skipped: database unavailable: %s", job.__name__, e)
        except (ConfigError, OSError) as e:  # a key or folder gone: say so, try again next time
            log.error("job %s failed: %s", job.__name__, e)
    return run
