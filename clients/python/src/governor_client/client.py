"""GovernorClient: every call, its retries, and how answers become values or exceptions."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, Literal
from urllib.parse import quote

import httpx

from governor_client.errors import GovernorError, GovernorUnavailable
from governor_client.models import (
    Child,
    Controls,
    Decision,
    GuardianGrant,
    TimeRequest,
    TimeRequestStatus,
    Warning,
    WeekSummary,
)
from governor_client.session import GovernorSession

log = logging.getLogger("governor_client")
UNAVAILABLE = {502, 503, 504}
RETRYABLE = UNAVAILABLE | {429}  # 429: a rate limit; its Retry-After says when
NOT_CARRIED_OUT = {429, 503}  # answers after which any request, a start too, may be repeated
FIRST_BACKOFF, MAX_BACKOFF = 0.25, 4.0


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET  # update_controls: a field not named stays as it is


def _seg(value: str) -> str:
    """One path segment: ids are sent as they are, anything else is escaped (and refused there)."""
    return quote(value, safe="")


class GovernorClient:
    """Governor's calls. `token` is a bearer token, or a function returning one (called per
    request, so a token can be renewed); its scope decides which calls it may make: `sessions` for
    the session loop and a child's time requests, `guardian` for the parent app's calls."""

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

    # -- the session loop (scope sessions) -------------------------------------------------------

    def status(self, user_id: str, purpose: str | None = None) -> Decision:
        """The decision for starting a session now, with no side effect."""
        params = {"purpose": purpose} if purpose else None
        return self._decision("GET", f"/v1/users/{_seg(user_id)}/status", params=params)

    def start(self, user_id: str, purpose: str | None = None) -> Decision:
        """Ask to start a session: allowed with `session_id` and `heartbeat_interval_seconds`, or refused."""
        body = {"user_id": user_id} | ({"purpose": purpose} if purpose else {})
        # A start that may have reached the server is not repeated (it could admit a second session).
        return self._decision("POST", "/v1/sessions", json=body, repeatable=False)

    def heartbeat(self, session_id: str) -> Decision:
        """Keep the session alive; `allowed=False` means the server has ended it."""
        return self._decision("POST", f"/v1/sessions/{_seg(session_id)}/heartbeat")

    def end(self, session_id: str) -> Decision:
        """End the session (idempotent): the user's decision with `duration_seconds` and `end_reason`."""
        return self._decision("POST", f"/v1/sessions/{_seg(session_id)}/end")

    def session(self, user_id: str, purpose: str | None = None, interval: float | None = None,
                on_warning: Callable[[Warning], Any] | None = None,
                on_end: Callable[[Decision], Any] | None = None, *, fail_open: bool = False,
                on_decision: Callable[[Decision], Any] | None = None,
                wait: Callable[[threading.Event, float], bool] | None = None) -> GovernorSession:
        """A context manager that starts a session, heartbeats in the background and ends it on exit.
        `on_decision` sees every decision (start and heartbeats), to show the remaining time."""
        return GovernorSession(self, user_id, purpose, interval, on_warning, on_end, fail_open=fail_open,
                               on_decision=on_decision, wait=wait)

    # -- a child's time requests (scope sessions) --------------------------------------------------

    def ask_for_time(self, user_id: str, minutes: int, note: str | None = None) -> TimeRequest:
        """The child asks their guardians for `minutes` (1-240) more today: a pending request. A
        child without a guardian is a GovernorError 409 `no-guardian`; one already pending, 409
        `request-pending`."""
        body = {"minutes": minutes} | ({"note": note} if note is not None else {})
        # Not repeated once it may have been carried out: the repeat would answer request-pending.
        r = self._call("POST", f"/v1/users/{_seg(user_id)}/time-requests", ok=201, json=body, repeatable=False)
        return TimeRequest.from_json(r)

    def time_request(self, request_id: str) -> TimeRequest:
        """A request as it stands now (`pending`, `approved`, `denied` or `expired`), to show the child."""
        return TimeRequest.from_json(self._call("GET", f"/v1/time-requests/{_seg(request_id)}"))

    # -- the parent app (scope guardian) -----------------------------------------------------------

    def children(self, guardian_id: str) -> list[Child]:
        """The guardian's linked children, each with what a start would answer now and these controls."""
        body = self._call("GET", f"/v1/guardians/{_seg(guardian_id)}/children")
        return [Child.from_json(c) for c in body["children"]]

    def week_summary(self, guardian_id: str, user_id: str, week: str | None = None) -> WeekSummary:
        """One ISO week of the child (`"2026-W49"`; default the child's current week)."""
        params = {"week": week} if week else None
        path = f"/v1/guardians/{_seg(guardian_id)}/children/{_seg(user_id)}/summary"
        return WeekSummary.from_json(self._call("GET", path, params=params))

    def controls(self, guardian_id: str, user_id: str) -> Controls:
        """This guardian's controls of the child."""
        return Controls.from_json(self._call("GET", self._controls_path(guardian_id, user_id)))

    def set_controls(self, guardian_id: str, user_id: str, *, daily_limit_minutes: int | None,
                     quiet_hours: list[str] | tuple[str, ...] | None,
                     rest_reminder_minutes: int | None) -> Controls:
        """Replace this guardian's controls: all three are named, None unsets one. A limit looser
        than the band's is a GovernorError 422 whose problem names the band's."""
        body = {"daily_limit_minutes": daily_limit_minutes,
                "quiet_hours": None if quiet_hours is None else list(quiet_hours),
                "rest_reminder_minutes": rest_reminder_minutes}
        return Controls.from_json(self._call("PUT", self._controls_path(guardian_id, user_id), json=body))

    def update_controls(self, guardian_id: str, user_id: str, *,
                        daily_limit_minutes: int | None | _Unset = UNSET,
                        quiet_hours: list[str] | tuple[str, ...] | None | _Unset = UNSET,
                        rest_reminder_minutes: int | None | _Unset = UNSET) -> Controls:
        """Change only the controls named (None unsets one); the others stay as they are."""
        named = {"daily_limit_minutes": daily_limit_minutes, "quiet_hours": quiet_hours,
                 "rest_reminder_minutes": rest_reminder_minutes}
        body = {k: list(v) if isinstance(v, tuple) else v for k, v in named.items() if v is not UNSET}
        return Controls.from_json(self._call("PATCH", self._controls_path(guardian_id, user_id), json=body))

    def guardian_grant(self, guardian_id: str, user_id: str, extra_minutes: int,
                       reason: str | None = None) -> GuardianGrant:
        """Extra minutes for the child's current local day. Past the band's cap (every guardian's
        grants of the day together) a GovernorError 422 that names the cap."""
        body = {"extra_minutes": extra_minutes} | ({"reason": reason} if reason is not None else {})
        path = f"/v1/guardians/{_seg(guardian_id)}/children/{_seg(user_id)}/grants"
        # Not repeated once it may have been carried out: a repeat would grant the minutes twice.
        return GuardianGrant.from_json(self._call("POST", path, ok=201, json=body, repeatable=False))

    def time_requests(self, guardian_id: str, status: TimeRequestStatus | None = None) -> list[TimeRequest]:
        """The requests of the guardian's children, newest first; only those of `status` if given."""
        params = {"status": status} if status else None
        body = self._call("GET", f"/v1/guardians/{_seg(guardian_id)}/time-requests", params=params)
        return [TimeRequest.from_json(t) for t in body["time_requests"]]

    def decide_time_request(self, guardian_id: str, request_id: str, status: Literal["approved", "denied"],
                            minutes: int | None = None) -> TimeRequest:
        """Approve (granting `minutes`, default those asked, for the day it was asked on) or deny a
        pending request. A decided or expired one is a GovernorError 409."""
        body = {"status": status} | ({"minutes": minutes} if minutes is not None else {})
        path = f"/v1/guardians/{_seg(guardian_id)}/time-requests/{_seg(request_id)}"
        return TimeRequest.from_json(self._call("PATCH", path, json=body, repeatable=False))

    # -- age signals (DESIGN section 8; a token of scope `age`) ---------------------------------

    def set_age_signal(self, user_id: str, source: str, signal: dict[str, Any]) -> dict[str, Any]:
        """Store `source`'s age signal (a body from `age_signal_from_apple`, ..._from_google_play or
        ..._from_os_bracket, or your own); the answer has the stored `signal` and the user's `age`
        (band, span, basis, parental consent). A bad field is a GovernorError 422 that names it."""
        return self._call("PUT", f"/v1/users/{_seg(user_id)}/age-signals/{_seg(source)}", json=signal)

    def withdraw_age_signal(self, user_id: str, source: str) -> dict[str, Any]:
        """Withdraw `source`'s signal; the user's age after it. None there: a GovernorError 404."""
        return self._call("DELETE", f"/v1/users/{_seg(user_id)}/age-signals/{_seg(source)}")

    def set_parental_consent(self, guardian_id: str, user_id: str, granted: bool) -> dict[str, Any]:
        """A linked guardian gives or withdraws consent (scope `guardian`); the child's age after it."""
        path = f"/v1/guardians/{_seg(guardian_id)}/children/{_seg(user_id)}/consent"
        return self._call("PUT", path, json={"granted": granted})

    @staticmethod
    def _controls_path(guardian_id: str, user_id: str) -> str:
        return f"/v1/guardians/{_seg(guardian_id)}/children/{_seg(user_id)}/controls"

    # -- answers ---------------------------------------------------------------------------------

    def _decision(self, method: str, path: str, *, repeatable: bool = True, **kw) -> Decision:
        r = self._request(method, path, repeatable, **kw)
        body = _body(r, method, path)
        if r.status_code in (200, 201) or (r.status_code == 403 and "allowed" in body):
            return Decision.from_json(body)
        raise _problem(r.status_code, body)

    def _call(self, method: str, path: str, *, ok: int = 200, repeatable: bool = True, **kw) -> dict[str, Any]:
        """A call whose answer is `ok` with a JSON object; anything else is a GovernorError."""
        r = self._request(method, path, repeatable, **kw)
        body = _body(r, method, path)
        if r.status_code == ok:
            return body
        raise _problem(r.status_code, body)

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


def _body(r: httpx.Response, method: str, path: str) -> dict[str, Any]:
    """The answer's JSON object; a 502/503/504 (one a non-repeatable call was not repeated after)
    is GovernorUnavailable."""
    if r.status_code in UNAVAILABLE:
        raise GovernorUnavailable(f"{method} {path}: answered {r.status_code}", r.status_code)
    try:
        body = r.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    raise GovernorError(r.status_code, "about:blank", f"not a JSON object: {r.text[:200]!r}")


def _problem(status: int, body: dict[str, Any]) -> GovernorError:
    return GovernorError(status, body.get("type", "about:blank"), body.get("detail"), body)


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
