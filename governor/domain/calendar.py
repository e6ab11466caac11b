"""A user's calendar in their zone: local days and weeks, the allowed-hours periods of a band and
the guardians' quiet hours. Pure: every question names its instant."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from governor.domain.policy import BandRules, Policy, Window

_SEARCH_DAYS = 400  # how far ahead an allowed-hours window is looked for before giving up


def utc(t: datetime) -> datetime:
    """Elapsed time is computed in UTC: Python adds and subtracts datetimes of one zone in wall
    time, which is an hour off across a daylight-saving change."""
    return t.astimezone(timezone.utc)


@functools.lru_cache(maxsize=4096)
def _periods(rules: BandRules, holidays: frozenset[date], tz: ZoneInfo, day: date):
    """The allowed periods of the local days from the day before `day` to a week after it,
    adjacent windows merged. The calendar depends on the rules alone, so it is worked out once
    per band and day, not at every decision."""
    intervals = []
    for i in range(-1, 8):
        d = day + timedelta(days=i)
        midnight = datetime.combine(d, time(0), tzinfo=tz)
        for w in rules.windows(d, d in holidays) or ():
            intervals.append((midnight + timedelta(minutes=w.start), midnight + timedelta(minutes=w.end)))
    out: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((a, b) for a, b in out)


@dataclass(frozen=True)
class Calendar:
    policy: Policy
    tz: ZoneInfo
    quiet_hours: tuple[Window, ...] = ()  # the strictest of the guardians' controls
    memo: dict = field(default_factory=dict)  # one decision asks the same questions several times

    def local(self, day: date, minutes: int = 0) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.tz) + timedelta(minutes=minutes)

    def next_day(self, t: datetime) -> datetime:
        return self.local(t.astimezone(self.tz).date() + timedelta(days=1))

    def next_week(self, t: datetime) -> datetime:
        day = t.astimezone(self.tz).date()
        return self.local(day + timedelta(days=7 - day.weekday()))

    def intervals(self, rules: BandRules, first: date, days: int):
        """Allowed-hours intervals of the days from `first` on, in order of start."""
        for i in range(days):
            day = first + timedelta(days=i)
            windows = rules.windows(day, self.policy.is_holiday(day))
            if windows is None:
                windows = ()
            for w in windows:
                yield self.local(day, w.start), self.local(day, w.end)

    def window_containing(self, rules: BandRules, t: datetime):
        """(start, end) of the allowed period around `t`, adjacent windows merged; end None when
        it runs on for more than a week. None when `t` is outside every window."""
        key = ("window", id(rules), t)
        if key not in self.memo:
            self.memo[key] = self._window_containing(rules, t)
        return self.memo[key]

    def _window_containing(self, rules: BandRules, t: datetime):
        day = t.astimezone(self.tz).date()
        for start, end in _periods(rules, self.policy.holidays, self.tz, day):
            if start <= t < end:
                if end >= self.local(day + timedelta(days=7)):
                    return start, None
                return start, end
        return None

    def quiet_spans(self, t: datetime) -> list[tuple[datetime, datetime]]:
        """The guardians' quiet hours from the day before `t` to two days after, merged."""
        day = t.astimezone(self.tz).date()
        spans = sorted((self.local(day + timedelta(days=i), w.start), self.local(day + timedelta(days=i), w.end))
                       for i in range(-1, 3) for w in self.quiet_hours)
        merged: list[list[datetime]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return [(a, b) for a, b in merged]

    def quiet_period(self, t: datetime) -> tuple[datetime, datetime] | None:
        """The quiet hours around `t` (start, end), or None when `t` is not in quiet hours."""
        return next(((a, b) for a, b in self.quiet_spans(t) if a <= t < b), None)

    def next_quiet_start(self, t: datetime) -> datetime | None:
        return next((a for a, _ in self.quiet_spans(t) if a > t), None)

    def next_window_start(self, rules: BandRules, t: datetime) -> datetime | None:
        day = t.astimezone(self.tz).date()
        for start, _ in self.intervals(rules, day, _SEARCH_DAYS):
            if start > t:
                return start
        return None
