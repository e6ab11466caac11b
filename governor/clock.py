"""The one clock. Server time comes from here and nowhere else; tests pass a FakeClock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""


class SystemClock:
    """Reads the operating system's clock on every call (so faketime and NTP steps are seen)."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FakeClock:
    """A clock that moves only when told: for tests."""

    def __init__(self, start: datetime):
        self.current = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when.astimezone(timezone.utc)

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)
