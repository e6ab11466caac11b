"""The webhook worker, a scheduler job run every second: claim due deliveries in small batches,
sign them (Standard Webhooks, with the `standardwebhooks` package), send them, record each
attempt. At least once, nothing lost: a delivery is claimed by moving its next attempt past the
longest send (a lease), so a worker killed mid-batch leaves its claims due again when the lease
ends, and a second worker never sends a claimed delivery meanwhile.

A 2xx is success; anything else, a timeout or a refused connection is retried after about 5 s,
5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h (each +-10 %, never before a `Retry-After`),
then the delivery is `failed`. A 410 fails it at once and disables the endpoint."""
from __future__ import annotations

import logging
import random
import secrets
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from standardwebhooks import Webhook

from governor.service.audit import Entry, append_system_event
from governor.service.context import Services
from governor.service.webhooks import targets
from governor.store import webhooks as store
from governor.store.database import DatabaseUnavailable

SCHEDULE = tuple(timedelta(seconds=s) for s in (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400))
TIMEOUT = 10.0
MAX_READ = 64 * 1024
BATCH = 8
BATCHES_PER_RUN = 25
LEASE = timedelta(seconds=120)  # past the longest send: resolution, 10 s timeouts and a slow body
USER_AGENT = "Governor-Webhooks/1"
log = logging.getLogger("governor.webhooks")

DELIVERIES = Counter("governor_webhook_deliveries_total", "Webhook deliveries finished, by result", ["result"])
ATTEMPTS = Counter("governor_webhook_attempts_total", "Webhook send attempts, by outcome", ["outcome"])


def jitter() -> float:
    return random.uniform(0.9, 1.1)  # noqa: S311  (spreading retries, not a secret)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    retry_after: timedelta | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def kind(self) -> str:
        if self.ok:
            return "success"
        if self.status_code is not None:
            return "http_error"
        return (self.error or "error").split(":")[0]


def deliver_webhooks(svc: Services) -> int:
    """The scheduler's job: send what is due, batch after batch; the number sent."""
    sent = 0
    for _ in range(BATCHES_PER_RUN):
        n = run_batch(svc)
        sent += n
        if n < BATCH:
            break
    return sent


def run_batch(svc: Services) -> int:
    now = svc.clock.now()
    with svc.db.read() as s:
        if not store.any_due(s, now):  # the common case: one read, no write transaction
            return 0
    claim_id = secrets.token_hex(16)
    with svc.db.write() as s:
        now = svc.clock.now()
        if not store.claim(s, now, now + LEASE, claim_id, BATCH):
            return 0
        jobs = store.claimed(s, claim_id, now)
    allowed = targets.allow_hosts(svc.settings.webhook_allow_hosts)
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="webhook") as pool:
        futures = {pool.submit(send, job, svc.clock, allowed): job for job in jobs}
        for future in as_completed(futures):
            record(svc, futures[future], future.result())  # each as it comes: a kill repeats few
    return len(jobs)


def send(job: store.Job, clock, allowed: frozenset[str]) -> Outcome:
    """Sign and POST one delivery; never raises for the receiver's faults."""
    try:
        target = targets.parse(job.url, allowed)
        addresses = targets.resolve(target)
    except targets.TargetRefused as e:
        return Outcome(None, f"refused: {e}"[:200])
    body = job.body.encode()
    at = getattr(clock, "base", clock).now()  # a development clock's offset would fail every receiver's check
    headers = {"content-type": "application/json", "user-agent": USER_AGENT, "webhook-id": job.id,
               "webhook-timestamp": str(int(at.timestamp())),
               "webhook-signature": " ".join(Webhook(secret).sign(job.id, at, body) for secret in job.secrets)}
    url, extensions = job.url, {}
    if addresses:  # connect to the address just checked, not to a second DNS answer
        parts = urlsplit(job.url)
        ip = addresses[0]
        url = urlunsplit((parts.scheme, f"[{ip}]:{target.port}" if ":" in ip else f"{ip}:{target.port}",
                          parts.path or "/", parts.query, ""))
        headers["host"] = parts.netloc
        extensions = {"sni_hostname": target.host}
    try:
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client, \
                client.stream("POST", url, content=body, headers=headers, extensions=extensions) as r:
            read = 0
            for chunk in r.iter_raw():
                read += len(chunk)
                if read >= MAX_READ:
                    break
            return Outcome(r.status_code, None if r.is_success else f"HTTP {r.status_code}",
                           retry_after(r.headers.get("retry-after"), clock.now()))
    except httpx.TimeoutException:
        return Outcome(None, f"timeout: no answer within {TIMEOUT:g} s")
    except httpx.HTTPError as e:
        return Outcome(None, f"connection: {type(e).__name__}")


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds or an HTTP date), at most a day; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit() and len(value) <= 9:
        wait = timedelta(seconds=int(value))
    else:
        try:
            wait = parsedate_to_datetime(value) - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return min(max(wait, timedelta(0)), SCHEDULE[-1])


def next_attempt(tries: int, now: datetime, wait: timedelta | None) -> datetime | None:
    """When to try again after the `tries`-th failure (1 = the first send); None: give up."""
    if tries > len(SCHEDULE):
        return None
    delay = SCHEDULE[tries - 1] * jitter()
    return now + max(delay, wait or timedelta(0))


def record(svc: Services, job: store.Job, outcome: Outcome) -> None:
    """The attempt, and what follows from it, unless the claim passed to another worker."""
    try:
        with svc.db.write() as s:
            now = svc.clock.now()
            ep = store.endpoint(s, job.endpoint, lock=True)
            d = store.lock_delivery(s, job.pk) if ep is not None else None
            if d is None:  # the endpoint was removed meanwhile
                return
            store.add_attempt(s, d.pk, now, outcome.status_code, outcome.error)
            ATTEMPTS.labels(outcome.kind).inc()
            if d.claim != job.claim or d.status != "pending":
                return
            if outcome.ok:
                store.settle(s, replace(d, status="delivered", finished_at=now, next_attempt_at=None))
                DELIVERIES.labels("delivered").inc()
                return
            tries = d.tries + 1
            due = None if outcome.status_code == 410 else next_attempt(tries, now, outcome.retry_after)
            if due is None:
                d = replace(d, status="failed", tries=tries, next_attempt_at=None, finished_at=now)
                DELIVERIES.labels("failed").inc()
            else:
                d = replace(d, tries=tries, next_attempt_at=due)
            store.settle(s, d)
            if outcome.status_code == 410 and ep.enabled:
                store.disable_endpoint(s, ep.name, f"410 Gone at {now.isoformat(timespec='seconds')}")
                append_system_event(s, now, Entry(client="governor-webhooks", action="webhook.disabled",
                                                  reason="gone", data={"name": ep.name, "delivery_id": d.id}))
            log.warning("webhook attempt failed", extra={"fields": {
                "endpoint": job.endpoint, "delivery_id": job.id, "attempt": d.tries, "status": outcome.status_code,
                "error": outcome.error, "next_attempt_at": d.next_attempt_at and d.next_attempt_at.isoformat(),
                "delivery_status": d.status, "endpoint_disabled": outcome.status_code == 410 or not ep.enabled}})
    except DatabaseUnavailable as e:  # the lease ends and the delivery is sent again: at least once
        log.warning("webhook attempt of %s not recorded: %s", job.id, e)


def prune(svc: Services) -> int:
    """Retention: finished deliveries older than GOVERNOR_WEBHOOK_RETENTION_DAYS, their attempts
    and events."""
    with svc.db.write() as s:
        return store.prune(s, svc.clock.now() - timedelta(days=svc.settings.webhook_retention_days))


class OutboxCollector:
    """The outbox's depth and its oldest pending delivery's age, read at scrape time (right
    across instances)."""

    def __init__(self, svc: Services):
        self.svc = svc

    def collect(self):
        try:
            with self.svc.db.read() as s:
                n, oldest = store.depth(s)
        except DatabaseUnavailable:
            return
        age = (self.svc.clock.now() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("governor_webhook_outbox_depth", "Webhook deliveries waiting to be sent", value=n)
        yield GaugeMetricFamily("governor_webhook_outbox_oldest_age_seconds",
                                "Age of the oldest webhook delivery waiting to be sent", value=max(age, 0.0))
