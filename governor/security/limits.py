"""Per-client rate limits, cheap enough for the heartbeat path: a request costs a dictionary
look-up.

Limits are per client (the token's `sub`) and scope, in fixed one-minute windows kept in this
process's memory: see docs/decisions.md for why not a shared store, and what that means with
several workers and instances."""
from __future__ import annotations

import math
import time
from collections.abc import Callable

from governor.errors import TooManyRequests

WINDOW_SECONDS = 60.0
MAX_TRACKED = 100_000  # clients x scopes remembered at once; past that the windows start afresh


class RateLimiter:
    def __init__(self, per_minute: dict[str, int], now: Callable[[], float] = time.monotonic):
        self.limits = {scope: n for scope, n in per_minute.items() if n > 0}
        self.now = now
        self._windows: dict[tuple[str, str], list] = {}  # (scope, sub) -> [window start, requests]

    def hit(self, scope: str, sub: str) -> None:
        """Count one request; past the scope's limit, a 429 that says when the window ends."""
        limit = self.limits.get(scope)
        if limit is None:
            return
        # No lock: two threads of a worker may each miss the other's count once in a while,
        # which a limit of thousands a minute does not notice, and the heartbeat path does.
        now = self.now()
        window = self._windows.get((scope, sub))
        if window is None or now - window[0] >= WINDOW_SECONDS:
            if len(self._windows) >= MAX_TRACKED:
                self._windows.clear()
            self._windows[(scope, sub)] = [now, 1]
            return
        window[1] += 1
        if window[1] <= limit:
            return
        wait = WINDOW_SECONDS - (now - window[0])
        raise TooManyRequests(f"more than {limit} requests a minute with the scope {scope!r}; retry later",
                              retry_after=max(1, math.ceil(wait)))

    def counted(self) -> dict[tuple[str, str], tuple[float, int]]:
        """(scope, sub) -> (its window's start, requests counted in it): for tests."""
        return {key: (start, n) for key, (start, n) in self._windows.items()}
