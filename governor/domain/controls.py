"""A guardian's controls (DESIGN section 7), pure: they only ever tighten a band's rules.

Each guardian of a child keeps their own `Controls`; the engine is given the strictest of them
(`strictest`), together with the admin's per-user limit, as facts. Quiet hours are windows
written as `allowed_hours` are, in which the child may not chat.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from governor.domain.policy import Window


@dataclass(frozen=True)
class Controls:
    daily_limit_minutes: int | None = None
    quiet_hours: tuple[Window, ...] = ()
    rest_reminder_minutes: int | None = None

    @property
    def empty(self) -> bool:
        return self == Controls()


def strictest(each: Iterable[Controls]) -> Controls:
    """The strictest of several guardians' controls: the lowest daily limit, every quiet window
    of every guardian, the shortest reminder interval."""
    each = list(each)
    limits = [c.daily_limit_minutes for c in each if c.daily_limit_minutes is not None]
    reminders = [c.rest_reminder_minutes for c in each if c.rest_reminder_minutes is not None]
    windows = sorted({w for c in each for w in c.quiet_hours}, key=lambda w: (w.start, w.end))
    return Controls(min(limits, default=None), tuple(windows), min(reminders, default=None))


def window_text(w: Window) -> str:
    """A window as it was written: "20:00-21:00", "22:00-07:00"."""
    end = w.end % 1440 if w.end != 1440 else 1440
    return f"{w.start // 60:02d}:{w.start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
