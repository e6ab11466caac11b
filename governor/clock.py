"""The one clock. Server time comes from here and nowhere else; tests pass a FakeClock."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
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


class OffsetClock:
    """Development mode only (PUT /v1/dev/clock): another clock moved by an offset kept in a
    file of the instance folder, so that every gunicorn worker, the scheduler and the CLI of one
    instance see the same time. Each call costs one stat(); the file is read when it changes."""

    def __init__(self, base: Clock, path: Path):
        self.base, self.path = base, path
        self._seen: tuple[int, int, int] | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        try:
            st = os.stat(self.path)
            seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            seen = None
        if seen != self._seen:
            self._offset = self._read() if seen is not None else timedelta(0)
            self._seen = seen
        return self.base.now() + self._offset

    def set(self, when: datetime) -> timedelta:
        """Make now() read `when`; the time then runs on from there. Returns the offset."""
        offset = when.astimezone(timezone.utc) - self.base.now()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        tmp.write_text(f"{offset.total_seconds()!r}\n")
        os.replace(tmp, self.path)  # a reader sees the old file or the new one, never half of one
        return offset

    def reset(self) -> None:
        self.path.unlink(missing_ok=True)

    @property
    def offset(self) -> timedelta:
        self.now()
        return self._offset

    def _read(self) -> timedelta:
        try:
            return timedelta(seconds=float(self.path.read_text()))
        except (FileNotFoundError, ValueError, OverflowError):
            return timedelta(0)


def dev_clock(instance_dir: str | Path, base: Clock) -> Clock:
    """The development clock of an instance: `base` moved by the offset kept in its folder."""
    return OffsetClock(base, Path(instance_dir) / "dev-clock-offset")
