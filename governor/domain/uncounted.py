"""The uncounted allowance (DESIGN section 7): a session of a purpose with uncounted minutes in
the user's band books its newly covered time as uncounted, up to each local day's minutes; any
other session takes back the uncounted time its interval overlaps (overlapping time counts)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from governor.domain.ledger import Interval, Marked, day_pieces, reclaim, uncounted_parts
from governor.domain.policy import BandRules

ZERO = timedelta(0)
Move = tuple[date, str, timedelta]  # uncounted time added to (or, negative, taken from) a day and purpose


@dataclass(frozen=True)
class UncountedChange:
    moves: tuple[Move, ...]
    marks: tuple[Marked, ...]  # the user's marked intervals afterwards

    @property
    def changed(self) -> bool:
        return bool(self.moves)


def allowance(rules: BandRules, purpose: str | None) -> timedelta:
    """The uncounted time a day allows a session of `purpose` in the band of `rules`."""
    return timedelta(minutes=rules.uncounted_for(purpose))


def days_to_read(cap: timedelta, pieces: tuple[Interval, ...], tz: ZoneInfo) -> set[date]:
    """The local days whose booked uncounted time `account` needs (none without an allowance)."""
    return {day for piece in pieces for day, _ in day_pieces(piece, tz)} if cap else set()


def account(cap: timedelta, purpose: str | None, interval: Interval, pieces: tuple[Interval, ...],
            marks: tuple[Marked, ...], booked: dict[date, dict[str, timedelta]], tz: ZoneInfo) -> UncountedChange:
    """What of a session's newly booked time is uncounted. `interval` is what the session
    covered, `pieces` the part of it no other session had covered, `booked` the uncounted time
    already booked on the days of `days_to_read`, per purpose."""
    if cap and purpose is not None:
        room = {d: cap - booked.get(d, {}).get(purpose, ZERO) for d in days_to_read(cap, pieces, tz)}
        parts = uncounted_parts(pieces, purpose, tz, room)
        if not parts:
            return UncountedChange((), marks)
        return UncountedChange(tuple((day, p, b - a) for day, (a, b, p) in parts),
                               tuple(sorted(marks + tuple(m for _, m in parts))))
    if marks:
        keep, moved = reclaim(interval, marks)
        if moved:
            return UncountedChange(tuple((a.astimezone(tz).date(), p, -(b - a)) for a, b, p in moved), keep)
    return UncountedChange((), marks)
