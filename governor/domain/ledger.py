"""Time accounting (DESIGN section 3), pure.

A user's chat time is the union of their sessions' active time. Each user keeps a short list of
recently booked intervals (`Activity.recent`); a session's new interval is booked only where it
is not already covered, so two tabs open for ten minutes are ten minutes of use. The list is
pruned to what an active session could still overlap, so it stays one or two intervals long.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

ZERO = timedelta(0)
Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Activity:
    recent: tuple[Interval, ...] = ()  # booked intervals, sorted and disjoint
    streak_start: datetime | None = None  # when the current continuous use began
    last_active: datetime | None = None  # the end of the latest booked use


@dataclass(frozen=True)
class Booking:
    activity: Activity
    pieces: tuple[Interval, ...]  # the newly covered time (may be empty)

    @property
    def total(self) -> timedelta:
        return sum((b - a for a, b in self.pieces), ZERO)


def covered_interval(last_seen: datetime, now: datetime, grace: timedelta,
                     ends_at: datetime | None, *, ending: bool = False) -> Interval | None:
    """What a heartbeat at `now` adds for a session last seen at `last_seen`: the gap, but never
    more than the grace and never past `ends_at`; None when the clock went backwards.

    The client's own end (`ending`) is the frontend saying the chat was open until now: the whole
    gap counts, still never past `ends_at`. Silence is what the grace is for: a late heartbeat
    counts only the grace, and the sweeper closes a session silent past it counting only the
    grace (after which an end changes nothing)."""
    end = now if ending else min(now, last_seen + grace)
    if ends_at is not None:
        end = min(end, ends_at)
    return (last_seen, end) if end >= last_seen else None


def book(activity: Activity, interval: Interval, reset_gap: timedelta,
         pending: tuple[Interval, ...] = ()) -> Booking:
    """Add `interval` to the user's activity; return what was new and the updated activity.
    `pending` is what the user's other open sessions will be credited (`pending_credit`): it
    decides, with the booking, whether the booking goes on the run or begins a new one, but is
    not itself booked (its sessions book it)."""
    pieces = subtract(interval, activity.recent)
    booked = pieces or (interval,)  # a zero-length interval (a start) still marks activity
    streak, _ = run(activity.streak_start, activity.last_active, booked + pending, reset_gap)
    last = activity.last_active
    for _, b in booked:
        last = b if last is None else max(last, b)
    return Booking(replace(activity, recent=merge(activity.recent + pieces), streak_start=streak,
                           last_active=last), pieces)


# -- the run (continuous use) -------------------------------------------------------------------
# One rule, used by every booking and every decision (domain/engine.py) and by the fast paths'
# eligibility (`run_goes_on`): use separated by less than the reset gap (the band's break) is one
# run; a gap of at least that begins a new one. An open session that has not booked its latest
# time yet counts as in use up to what it will be credited: its last heartbeat plus the grace
# (never past its end), which is exactly what its next heartbeat or the sweeper books.

def run(start: datetime | None, last: datetime | None, intervals: tuple[Interval, ...],
        reset_gap: timedelta) -> tuple[datetime | None, datetime | None]:
    """The run's (start, end of its latest use) after adding `intervals` to a run known as
    (`start`, `last`); intervals wholly before `last` change nothing."""
    for a, b in sorted(intervals):
        if last is None or a - last >= reset_gap:
            start = a
        last = b if last is None else max(last, b)
    return start, last


def pending_credit(last_seen: datetime, ends_at: datetime | None, grace: timedelta,
                   now: datetime) -> Interval | None:
    """What an open session last seen at `last_seen` will still be credited at the least: the
    grace after its last heartbeat, never past its `ends_at` (ledger.covered_interval, as the
    sweeper books it). None when its end is already behind it, or when it was last seen after
    `now` (the clock stepped back): a decision and the booking made with it must see one run."""
    return None if last_seen > now else covered_interval(last_seen, last_seen + grace, grace, ends_at)


def run_goes_on(before: Activity, after: Activity, now: datetime, reset_gap: timedelta) -> bool:
    """A booking that leaves the run as it was: it began no new run, and at `now` the run has
    not been ended by a pause of the reset gap since the use just booked (a heartbeat after a
    long silence is credited only the grace). Only then may a stored decision be moved on."""
    return (after.streak_start == before.streak_start and after.last_active is not None
            and now - after.last_active < reset_gap)


def prune(activity: Activity, keep_from: datetime | None) -> Activity:
    """Forget intervals that end before `keep_from` (the earliest `last_seen` of the user's active
    sessions: nothing can overlap them any more); everything when no session is active."""
    if keep_from is None:
        return replace(activity, recent=())
    return replace(activity, recent=tuple(iv for iv in activity.recent if iv[1] >= keep_from))


def subtract(interval: Interval, covered: tuple[Interval, ...]) -> tuple[Interval, ...]:
    """The parts of `interval` not in `covered` (sorted, disjoint); zero-length parts dropped."""
    start, end = interval
    out = []
    for a, b in covered:
        if b <= start or a >= end:
            continue
        if a > start:
            out.append((start, a))
        start = max(start, b)
        if start >= end:
            break
    if start < end:
        out.append((start, end))
    return tuple(out)


def merge(intervals: tuple[Interval, ...]) -> tuple[Interval, ...]:
    out: list[list[datetime]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def split_by_day(interval: Interval, tz: ZoneInfo) -> list[tuple[date, timedelta]]:
    """Book an interval per local day: a session that crosses midnight is split between days.
    Durations are real time: the ends go to UTC first, as datetimes of one zone subtract in wall
    time (an hour off on a daylight-saving day)."""
    start, end = (t.astimezone(timezone.utc) for t in interval)
    out = []
    while start < end:
        day = start.astimezone(tz).date()
        midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        cut = min(end, midnight.astimezone(timezone.utc))
        out.append((day, cut - start))
        start = cut
    return out


# -- uncounted use (DESIGN section 7: purposes) -------------------------------------------------
# A session of a purpose with uncounted minutes books its newly covered time as every session
# does (the union above); the first of it each local day, up to the purpose's minutes, is also
# marked uncounted. Those marked intervals are kept (pruned like `recent`) so that a session
# without a purpose whose time overlaps them takes them back: overlapping time counts.

Marked = tuple[datetime, datetime, str]  # an uncounted interval and its purpose


def day_pieces(interval: Interval, tz: ZoneInfo) -> list[tuple[date, Interval]]:
    """`interval` cut at local midnights, each piece with its local day (UTC instants)."""
    out, start = [], interval[0].astimezone(timezone.utc)
    for day, length in split_by_day(interval, tz):
        out.append((day, (start, start + length)))
        start += length
    return out


def uncounted_parts(pieces: tuple[Interval, ...], purpose: str, tz: ZoneInfo,
                    room: dict[date, timedelta]) -> tuple[tuple[date, Marked], ...]:
    """The first parts of newly booked `pieces` of a session of `purpose`, each local day up to
    that day's `room` (what is left of the purpose's uncounted minutes): the uncounted time."""
    left, out = dict(room), []
    for piece in pieces:
        for day, (a, b) in day_pieces(piece, tz):
            end = min(b, a + max(left.get(day, ZERO), ZERO))
            if end > a:
                out.append((day, (a, end, purpose)))
                left[day] = left.get(day, ZERO) - (end - a)
    return tuple(out)


def reclaim(interval: Interval, marked: tuple[Marked, ...]) -> tuple[tuple[Marked, ...], tuple[Marked, ...]]:
    """Counted use over `interval` takes back the uncounted time it overlaps: returns the marks
    that stay uncounted and the parts that now count."""
    s, e = (t.astimezone(timezone.utc) for t in interval)
    if e <= s:
        return marked, ()
    keep, moved = [], []
    for a, b, p in marked:
        lo, hi = max(a, s), min(b, e)
        if hi <= lo:
            keep.append((a, b, p))
            continue
        if a < lo:
            keep.append((a, lo, p))
        if hi < b:
            keep.append((hi, b, p))
        moved.append((lo, hi, p))
    return tuple(sorted(keep)), tuple(moved)


def prune_marked(marked: tuple[Marked, ...], keep_from: datetime | None) -> tuple[Marked, ...]:
    """As `prune`: forget marks that no active session can overlap any more."""
    return () if keep_from is None else tuple(m for m in marked if m[1] >= keep_from)
