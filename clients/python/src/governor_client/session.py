"""GovernorSession: one chat's session, heartbeating on a background thread."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from governor_client.errors import GovernorError, GovernorUnavailable
from governor_client.models import Decision, Warning

if TYPE_CHECKING:
    from governor_client.client import GovernorClient

log = logging.getLogger("governor_client")


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
