"""A reference for the continuous-use run (issue 19), kept beside a history that the tests drive:
what each session is credited (DESIGN section 3: a heartbeat books the gap up to the grace, never
past the session's `ends_at`; the sweeper the grace; the client's end the whole gap), and the
checks made after the fact on those intervals. It shares no code with governor/, on purpose.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

GRACE = timedelta(seconds=120)
HEARTBEAT = timedelta(seconds=60)
SECOND = timedelta(seconds=1)


@dataclass
class Tab:
    sid: str
    last_seen: datetime
    ends_at: datetime | None


@dataclass
class Reference:
    """One user's open tabs and booked intervals, for a band with this limit and break."""

    limit: timedelta
    rest: timedelta
    tabs: dict[int, Tab] = field(default_factory=dict)
    booked: list[tuple[datetime, datetime]] = field(default_factory=list)

    def credit(self, tab: Tab, until: datetime) -> None:
        end = until if tab.ends_at is None else min(until, tab.ends_at)
        if end >= tab.last_seen:
            self.booked.append((tab.last_seen, end))

    def heartbeat(self, i: int, now: datetime) -> Tab:
        tab = self.tabs[i]
        self.credit(tab, min(now, tab.last_seen + GRACE))
        return tab

    def sweep(self, now: datetime) -> None:
        for i, tab in list(self.tabs.items()):
            if tab.last_seen < now - GRACE:
                self.credit(tab, tab.last_seen + GRACE)
                del self.tabs[i]

    def rested(self, now: datetime, but: int | None = None) -> bool:
        """Whether the latest use known at `now` (booked, or still to be credited to an open tab
        other than `but`) ended at least a break ago."""
        ends = [b for _, b in self.booked]
        ends += [t.last_seen + GRACE if t.ends_at is None else min(t.last_seen + GRACE, t.ends_at)
                 for i, t in self.tabs.items() if i != but]
        return not ends or now - max(ends) >= self.rest

    def runs(self) -> list[tuple[datetime, datetime]]:
        """The runs of the booked intervals: use separated by gaps shorter than the break."""
        out: list[list[datetime]] = []
        for a, b in sorted(self.booked):
            if out and a - out[-1][1] < self.rest:
                out[-1][1] = max(out[-1][1], b)
            else:
                out.append([a, b])
        return [(a, b) for a, b in out]

    def check_runs(self) -> None:
        """No run is longer than the limit plus one heartbeat interval."""
        for a, b in self.runs():
            assert b - a <= self.limit + HEARTBEAT, f"a run of {b - a} from {a}: {sorted(self.booked)}"

    def check_fresh(self, now: datetime, allowed: bool, reason: str, warnings: list[str],
                    ends_at: datetime | None, remaining: timedelta | None, day_ends: datetime | None) -> None:
        """An answer given after a full break speaks of no old run: no cooldown, no rest reminder,
        and a session may run its whole stretch, unless the day's time left or the allowed hours
        (`day_ends`) end it sooner."""
        assert reason != "cooldown", (now, reason)
        assert "rest_reminder" not in warnings, (now, warnings)
        if allowed and ends_at is not None and ends_at < now + self.limit - SECOND:
            by_time_left = remaining is not None and abs(ends_at - (now + remaining)) <= SECOND
            assert by_time_left or ends_at == day_ends, (now, ends_at, remaining)
