"""A child's request for more time (DESIGN section 7): pending until a guardian approves (for at
most the minutes asked) or denies it, or until the child's local day ends and it expires."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

STATUSES = ("pending", "approved", "denied", "expired")


class MoreThanAsked(ValueError):
    """An approval may grant fewer minutes than asked, never more."""


@dataclass(frozen=True)
class TimeRequest:
    id: str
    user_id: str
    minutes: int
    note: str | None
    status: str  # as stored: a pending request past its expiry is expired all the same (`at`)
    date: date  # the child's local day it was made on, and the day an approval grants time for
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    decided_minutes: int | None = None

    def status_at(self, now: datetime) -> str:
        """A pending request whose day has ended is expired, whether or not that is written yet."""
        return "expired" if self.status == "pending" and self.expires_at <= now else self.status

    def at(self, now: datetime, tz: ZoneInfo | None = None) -> TimeRequest:
        """The request as it is at `now` (an expired one decided when its day ended), its
        instants in the child's zone `tz` when given."""
        status = self.status_at(now)
        decided_at = self.decided_at or (self.expires_at if status == "expired" else None)
        out = replace(self, status=status, decided_at=decided_at)
        if tz is None:
            return out
        return replace(out, created_at=out.created_at.astimezone(tz), expires_at=out.expires_at.astimezone(tz),
                       decided_at=decided_at and decided_at.astimezone(tz))


def expires_at(day: date, tz: ZoneInfo) -> datetime:
    """A request made on local `day` expires when that day ends in the child's zone."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def granted_minutes(asked: int, offered: int | None) -> int:
    """What an approval grants: the minutes asked, or the fewer ones the guardian offers."""
    granted = asked if offered is None else offered
    if granted > asked:
        raise MoreThanAsked(f"{granted} is more than the {asked} asked")
    return granted
