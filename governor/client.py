"""A Python client for Governor's session API, for chat frontends and their backends.

Importing it needs httpx and the standard library only: no Flask, no SQLAlchemy (a test proves it).

    client = GovernorClient("https://governor.internal", token)
    with client.session("u-123", on_warning=show_banner, on_end=show_break_screen) as s:
        if not s.decision.allowed:
            return show_refusal(s.decision)      # reason, retry_at
        chat(...)                                # heartbeats run in the background

A refusal is a `Decision` with `allowed=False`, never an exception. A problem answer (a bad token,
an unknown session, a bad user id) raises `GovernorError`; a server that cannot be reached, or keeps
answering 503, raises `GovernorUnavailable` once the retries (within `retry_within` seconds,
honouring `Retry-After`) are spent. See docs/integration.md.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

__all__ = ["Decision", "GovernorClient", "GovernorError", "GovernorSession", "GovernorUnavailable", "Warning"]

log = logging.getLogger("governor.client")
UNAVAILABLE = {502, 503, 504}
RETRYABLE = UNAVAILABLE | {429}  # 429: a rate limit; its Retry-After says when
NOT_CARRIED_OUT = {429, 503}  # answers after which any request, a start too, may be repeated
FIRST_BACKOFF, MAX_BACKOFF = 0.25, 4.0


class GovernorError(Exception):
    """A problem answer (RFC 9457): `status`, `type` (e.g. "urn:governor:problem:session-ended"),
    `detail`, and the whole body in `problem`."""

    def __init__(self, status: int, type: str, detail: str | None, problem: dict[str, Any] | None = None):
        super().__init__(f"{status} {type}: {detail}")
        self.status, self.type, self.detail, self.problem = status, type, detail, problem or {}


class GovernorUnavailable(GovernorError):
    """Governor could not be reached, or kept answering 502/503/504, for the whole retry budget
    (a 429 that outlasts it is a plain GovernorError)."""

    def __init__(self, detail: str, status: int = 0):
        super().__init__(status, "unavailable", detail)


@dataclass(frozen=True)
class Warning:
    type: str  # time_running_out | break_soon | rest_reminder
    seconds_left: int | None = None
    number: int | None = None  # which rest reminder (1 after the first interval, 2 after the second ...)

    @property
    def key(self) -> tuple[str, int | None]:
        """What makes a warning new: its type, and for a rest reminder its number."""
        return self.type, self.number


@dataclass(frozen=True)
class Decision:
    """A decision as the server sent it; the attributes are the JSON fields, times as aware datetimes.
    Fields that only some answers carry are None elsewhere; fields this version does not know are
    kept in `raw`."""
    user_id: str
    allowed: bool
    reason: str
    band: str | None = None
    used_today_seconds: int | None = None
    remaining_seconds: int | None = None
    ends_at: datetime | None = None
    retry_at: datetime | None = None
    warnings: tuple[Warning, ...] = ()
    policy: dict[str, Any] | None = None
    session_id: str | None = None
    heartbeat_interval_seconds: int | None = None
    duration_seconds: int | None = None
    end_reason: str | None = None
    verification: dict[str, Any] | None = None
    active_sessions: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Decision:
        known = {f.name for f in fields(cls)} - {"raw"}
        values = {k: v for k, v in body.items() if k in known}
        values["ends_at"], values["retry_at"] = _instant(body.get("ends_at")), _instant(body.get("retry_at"))
        values["warnings"] = tuple(Warning(w["type"], w.get("seconds_left"), w.get("number"))
                                   for w in body.get("warnings") or ())
        return cls(**values, raw=body)


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


class GovernorClient:
    """The four calls of the session loop. `token` is a bearer token of scope `sessions`, or a
    function returning one (called per request, so a token can be renewed)."""

    def __init__(self, base_url: str, token: str | Callable[[], str], timeout: float = 5.0, *,
                 retry_within: float = 15.0, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic):
        self._token = token if callable(token) else (lambda: token)
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)
        self.retry_within, self._sleep, self._monotonic = retry_within, sleep, monotonic

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GovernorClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def status(self, user_id: str, purpose: str | None = None) -> Decision:
        """The decision for starting a session now, with no side effect."""
        params = {"purpose": purpose} if purpose else None
        return self._decision("GET", f"/v1/users/{quote(user_id, safe='')}/status", params=params)

    def start(self, user_id: str, purpose: str | None = None) -> Decision:
        """Ask to start a session: allowed with `session_id` and `heartbeat_interval_seconds`, or refused."""
        body = {"user_id": user_id} | ({"purpose": purpose} if purpose else {})
        # A start that may have reached the server is not repeated (it could admit a second session).
        return self._decision("POST", "/v1/sessions", json=body, repeatable=False)

    def heartbeat(self, session_id: str) -> Decision:
        """Keep the session alive; `allowed=False` means the server has ended it."""
        return self._decision("POST", f"/v1/sessions/{quote(session_id, safe='')}/heartbeat")

    def end(self, session_id: str) -> Decision:
        """End the session (idempotent): the user's decision with `duration_seconds` and `end_reason`."""
        return self._decision("POST", f"/v1/sessions/{quote(session_id, safe='')}/end")

    def session(self, user_id: str, purpose: str | None = None, interval: float | None = None,
                on_warning: Callable[[Warning], Any] | None = None,
                on_end: Callable[[Decision], Any] | None = None, *, fail_open: bool = False,
                on_decision: Callable[[Decision], Any] | None = None,
                wait: Callable[[threading.Event, float], bool] | None = None) -> GovernorSession:
        """A context manager that starts a session, heartbeats in the background and ends it on exit.
        `on_decision` sees every decision (start and heartbeats), to show the remaining time."""
        return GovernorSession(self, user_id, purpose, interval, on_warning, on_end, fail_open=fail_open,
                               on_decision=on_decision, wait=wait)

    def _decision(self, method: str, path: str, *, repeatable: bool = True, **kw) -> Decision:
        r = self._request(method, path, repeatable, **kw)
        if r.status_code in UNAVAILABLE:  # a start that a proxy may have passed on: not repeated
            raise GovernorUnavailable(f"{method} {path}: answered {r.status_code}", r.status_code)
        body = _json(r)
        if r.status_code in (200, 201) or (r.status_code == 403 and "allowed" in body):
            return Decision.from_json(body)
        raise GovernorError(r.status_code, body.get("type", "about:blank"), body.get("detail"), body)

    def _request(self, method: str, path: str, repeatable: bool, **kw) -> httpx.Response:
        """Send, retrying failures with backoff (or the server's Retry-After) until `retry_within`
        seconds would be exceeded. A request that is not `repeatable` is retried only when it
        cannot have been carried out: no connection, Governor's own 503, or a 429."""
        deadline, backoff = self._monotonic() + self.retry_within, FIRST_BACKOFF
        while True:
            try:
                r = self._http.request(method, path, headers={"Authorization": f"Bearer {self._token()}"}, **kw)
                if r.status_code not in (RETRYABLE if repeatable else NOT_CARRIED_OUT):
                    return r
                why, wait = f"answered {r.status_code}", _retry_after(r) or backoff
            except httpx.TransportError as e:
                if not repeatable and not isinstance(e, httpx.ConnectError | httpx.ConnectTimeout):
                    raise GovernorUnavailable(f"{method} {path}: {e!r} (not repeated)") from e
                r, why, wait = None, repr(e), backoff
            if self._monotonic() + wait > deadline:
                if r is not None and r.status_code == 429:
                    return r  # still rate limited: a GovernorError with the server's problem
                raise GovernorUnavailable(f"{method} {path}: {why}; gave up after {self.retry_within:g}s",
                                          r.status_code if r is not None else 0)
            log.info("governor %s %s: %s; retrying in %.2fs", method, path, why, wait)
            self._sleep(wait)
            backoff = min(backoff * 2, MAX_BACKOFF)


def _json(r: httpx.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    raise GovernorError(r.status_code, "about:blank", f"not a JSON object: {r.text[:200]!r}")


def _retry_after(r: httpx.Response) -> float | None:
    value = r.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


class GovernorSession:
    """See `GovernorClient.session`. `decision` is the latest decision; `ended` says whether the
    session is over (refused, ended by the server, or closed). The callbacks run on the heartbeat
    thread. `wait(stop, seconds)` waits between heartbeats and returns True to stop (tests pass
    their own, so no test sleeps)."""

    def __init__(self, client: GovernorClient, user_id: str, purpose: str | None, interval: float | None,
                 on_warning: Callable[[Warning], Any] | None, on_end: Callable[[Decision], Any] | None, *,
                 fail_open: bool = False, on_decision: Callable[[Decision], Any] | None = None,
                 wait: Callable[[threading.Event, float], bool] | None = None):
        self.client, self.user_id, self.purpose, self.interval = client, user_id, purpose, interval
        self.on_warning, self.on_end, self.on_decision, self.fail_open = on_warning, on_end, on_decision, fail_open
        self._wait = wait or (lambda stop, seconds: stop.wait(seconds))
        self._stop, self._thread = threading.Event(), None
        self._seen: set[tuple[str, int | None]] = set()
        self.session_id: str | None = None
        self.decision: Decision | None = None
        self.ended = False

    def __enter__(self) -> GovernorSession:
        try:
            self._update(self.client.start(self.user_id, self.purpose))
        except GovernorUnavailable:
            if not self.fail_open:
                raise
            log.warning("governor unreachable at start; fail_open: chatting ungoverned, retrying the start")
        if self.decision is not None and not self.decision.allowed:
            self.ended = True  # refused: the caller shows decision.reason and retry_at
            return self
        self._thread = threading.Thread(target=self._run, name=f"governor-heartbeat-{self.user_id}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.session_id is not None and not self.ended:
            self.ended = True
            try:
                self.decision = self.client.end(self.session_id)
            except GovernorError as e:  # unreachable too: the server's sweeper closes it after the grace
                log.warning("governor: could not end session %s: %s", self.session_id, e)

    def _run(self) -> None:
        while not self._wait(self._stop, self._next_wait()):
            if not self._tick():
                return

    def _next_wait(self) -> float:
        """The heartbeat interval, or sooner when a warning says the session ends before it."""
        interval = self.interval or (self.decision and self.decision.heartbeat_interval_seconds) or 60
        ends = [w.seconds_left for w in (self.decision.warnings if self.decision else ())
                if w.seconds_left is not None]
        return max(1.0, min([float(interval), *ends]))

    def _tick(self) -> bool:
        """One heartbeat (or, fail-open without a session yet, one more start); False when over."""
        try:
            d = self.client.start(self.user_id, self.purpose) if self.session_id is None \
                else self.client.heartbeat(self.session_id)
        except GovernorUnavailable as e:
            if self.fail_open:
                log.warning("governor unreachable; fail_open: the session goes on: %s", e)
                return True
            self._finish(self._ended_as("unavailable"))
            if self.session_id is not None:
                try:
                    self.client.end(self.session_id)
                except GovernorError:
                    pass  # the sweeper closes it once the server is back
            return False
        except GovernorError as e:  # ended elsewhere (409: an admin, the sweeper), or our token is refused
            self._finish(self._ended_as(e.problem.get("end_reason") or e.type.rsplit(":", 1)[-1]))
            return False
        self._update(d)
        if not d.allowed:
            self._finish(d)
            return False
        return True

    def _update(self, d: Decision) -> None:
        self.decision = replace(d, heartbeat_interval_seconds=d.heartbeat_interval_seconds
                                or (self.decision and self.decision.heartbeat_interval_seconds))
        self.session_id = d.session_id or self.session_id
        if self.on_decision is not None:
            self.on_decision(self.decision)
        for w in d.warnings:
            if w.key not in self._seen:
                self._seen.add(w.key)
                if self.on_warning is not None:
                    self.on_warning(w)

    def _ended_as(self, reason: str) -> Decision:
        base = self.decision or Decision(user_id=self.user_id, allowed=False, reason=reason)
        return replace(base, allowed=False, reason=reason, warnings=(), ends_at=None)

    def _finish(self, d: Decision) -> None:
        self.decision, self.ended = d, True
        if self.on_end is not None:
            self.on_end(d)
