"""Time accounting: what a heartbeat covers, the union of a user's sessions, the streak of
continuous use and the midnight split; examples first, then the invariants as properties."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governor.domain.ledger import Activity, book, covered_interval, merge, prune, split_by_day, subtract

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
UTC = timezone.utc
GRACE = timedelta(seconds=120)
RESET = timedelta(minutes=15)
ZERO = timedelta(0)


def t(h: int, m: int = 0, s: int = 0, day: int = 2) -> datetime:
    """A time on 2026-12-<day> in Shanghai."""
    return datetime(2026, 12, day, h, m, s, tzinfo=SH)


def secs(n: float) -> timedelta:
    return timedelta(seconds=n)


# -- covered_interval ----------------------------------------------------------------------------

@pytest.mark.parametrize("last_seen,now,ends_at,expected", [
    (t(10), t(10, 1), None, (t(10), t(10, 1))),
    (t(10), t(10, 2), None, (t(10), t(10, 2))),
    (t(10), t(10, 30), None, (t(10), t(10, 2))),
    (t(10), t(10, 1), t(10, 0, 30), (t(10), t(10, 0, 30))),
    (t(10), t(10, 30), t(10, 1), (t(10), t(10, 1))),
    (t(10), t(10, 1), t(10, 5), (t(10), t(10, 1))),
    (t(10), t(10), None, (t(10), t(10))),
    (t(10), t(9, 59, 59), None, None),
    (t(10), t(9), t(12), None),
    (t(10), t(10, 1), t(9, 59), None),
], ids=["heartbeat", "exactly-grace", "silent-capped-at-grace", "capped-at-ends_at", "grace-and-ends_at",
        "ends_at-later", "same-instant", "clock-stepped-back", "clock-stepped-back-with-ends_at",
        "ends_at-before-last-seen"])
def test_covered_interval(last_seen, now, ends_at, expected):
    assert covered_interval(last_seen, now, GRACE, ends_at) == expected


def test_covered_interval_compares_instants_across_zones():
    now = datetime(2026, 12, 2, 2, 1, tzinfo=UTC)  # 10:01 in Shanghai
    assert covered_interval(t(10), now, GRACE, None) == (t(10), now)
    assert covered_interval(t(10), datetime(2026, 12, 2, 1, 59, tzinfo=UTC), GRACE, None) is None


# -- book ------------------------------------------------------------------------------------------

def test_first_booking_starts_a_streak():
    b = book(Activity(), (t(10), t(10, 1)), RESET)
    assert b.pieces == ((t(10), t(10, 1)),) and b.total == timedelta(minutes=1)
    assert b.activity == Activity(recent=((t(10), t(10, 1)),), streak_start=t(10), last_active=t(10, 1))


def test_a_start_marks_activity_without_time():
    b = book(Activity(), (t(10), t(10)), RESET)
    assert (b.pieces, b.total) == ((), ZERO)
    assert b.activity == Activity(recent=(), streak_start=t(10), last_active=t(10))


def test_consecutive_heartbeats_extend_one_interval():
    act = Activity()
    for minute in range(10):
        act = book(act, (t(10, minute), t(10, minute + 1)), RESET).activity
    assert act == Activity(recent=((t(10), t(10, 10)),), streak_start=t(10), last_active=t(10, 10))


def test_already_covered_time_is_not_booked_again():
    act = book(Activity(), (t(10), t(10, 5)), RESET).activity
    b = book(act, (t(10, 1), t(10, 3)), RESET)
    assert (b.pieces, b.total) == ((), ZERO)
    assert b.activity == act


def test_overlap_books_only_the_new_parts():
    act = Activity(recent=((t(10, 1), t(10, 2)), (t(10, 3), t(10, 4))), streak_start=t(10, 1), last_active=t(10, 4))
    b = book(act, (t(10), t(10, 5)), RESET)
    assert b.pieces == ((t(10), t(10, 1)), (t(10, 2), t(10, 3)), (t(10, 4), t(10, 5)))
    assert b.total == timedelta(minutes=3)
    assert b.activity.recent == ((t(10), t(10, 5)),)
    assert (b.activity.streak_start, b.activity.last_active) == (t(10, 1), t(10, 5))


@pytest.mark.parametrize("pause,streak_start", [
    (timedelta(minutes=14, seconds=59), t(10)),
    (timedelta(minutes=15), None),
    (timedelta(hours=3), None),
], ids=["short-pause-keeps-streak", "break-resets", "long-pause-resets"])
def test_streak_resets_after_a_pause_of_reset_gap(pause, streak_start):
    act = book(Activity(), (t(10), t(10, 10)), RESET).activity
    again = t(10, 10) + pause
    act = book(act, (again, again), RESET).activity  # a new session starts
    assert act.streak_start == (streak_start or again) and act.last_active == again
    act = book(act, (again, again + timedelta(minutes=1)), RESET).activity
    assert act.streak_start == (streak_start or again)


def test_two_tabs_for_ten_minutes_are_ten_minutes():
    """Tab A from 10:00, tab B from 10:00:30, each heartbeating every minute until 10:10:30;
    prune keeps what a still-open tab could overlap, as the service does."""
    act, total = Activity(), ZERO
    seen = {"a": t(10), "b": t(10, 0, 30)}
    for tab in ("a", "b"):
        act = book(act, (seen[tab], seen[tab]), RESET).activity
    beats = sorted((seen[tab] + timedelta(minutes=i), tab) for tab in seen for i in range(1, 11))
    for now, tab in beats:
        booking = book(act, covered_interval(seen[tab], now, GRACE, None), RESET)
        act, total, seen[tab] = booking.activity, total + booking.total, now
        act = prune(act, min(seen.values()))
    assert total == timedelta(minutes=10, seconds=30)
    assert act.streak_start == t(10) and act.last_active == t(10, 10, 30)


# -- prune, subtract, merge --------------------------------------------------------------------------

def test_prune():
    act = Activity(recent=((t(9), t(9, 30)), (t(10), t(10, 5))), streak_start=t(10), last_active=t(10, 5))
    assert prune(act, None) == Activity(streak_start=t(10), last_active=t(10, 5))
    assert prune(act, t(9, 45)).recent == ((t(10), t(10, 5)),)
    assert prune(act, t(9, 30)).recent == act.recent  # an interval that ends at keep_from may still touch
    assert prune(act, t(11)).recent == ()
    assert prune(act, t(8)) == act


@pytest.mark.parametrize("interval,covered,expected", [
    ((1, 5), (), ((1, 5),)),
    ((1, 5), ((1, 5),), ()),
    ((1, 5), ((0, 9),), ()),
    ((1, 5), ((2, 3),), ((1, 2), (3, 5))),
    ((1, 5), ((0, 2), (4, 9)), ((2, 4),)),
    ((1, 5), ((5, 6), (-1, 0)), ((1, 5),)),
    ((1, 5), ((-3, -1), (1, 2), (3, 4), (6, 7)), ((2, 3), (4, 5))),
    ((3, 3), ((0, 9),), ()),
    ((3, 3), (), ()),
], ids=["nothing-covered", "all-covered", "inside-cover", "hole", "both-ends", "touching-only", "several",
        "empty-covered", "empty"])
def test_subtract(interval, covered, expected):
    def at(x):
        return t(10) + timedelta(minutes=x)
    got = subtract((at(interval[0]), at(interval[1])), tuple((at(a), at(b)) for a, b in covered))
    assert got == tuple((at(a), at(b)) for a, b in expected)


@pytest.mark.parametrize("intervals,expected", [
    ((), ()),
    (((3, 4), (1, 2)), ((1, 2), (3, 4))),
    (((1, 3), (2, 4)), ((1, 4),)),
    (((1, 2), (2, 3)), ((1, 3),)),
    (((1, 9), (2, 3), (4, 5)), ((1, 9),)),
], ids=["empty", "sorts", "overlap", "touching", "nested"])
def test_merge(intervals, expected):
    def at(x):
        return t(10) + timedelta(minutes=x)
    assert merge(tuple((at(a), at(b)) for a, b in intervals)) == tuple((at(a), at(b)) for a, b in expected)


# -- split_by_day ------------------------------------------------------------------------------------

D2, D3, D4 = date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 4)


@pytest.mark.parametrize("interval,expected", [
    ((t(10), t(11)), [(D2, timedelta(hours=1))]),
    ((t(23, 50), t(0, 10, day=3)), [(D2, timedelta(minutes=10)), (D3, timedelta(minutes=10))]),
    ((t(23, 59, 59), t(0, day=3)), [(D2, secs(1))]),
    ((t(0, day=3), t(0, 0, 1, day=3)), [(D3, secs(1))]),
    ((t(22), t(2, day=4)), [(D2, timedelta(hours=2)), (D3, timedelta(hours=24)), (D4, timedelta(hours=2))]),
    ((t(10), t(10)), []),
    ((datetime(2026, 12, 2, 15, 50, tzinfo=UTC), datetime(2026, 12, 2, 16, 10, tzinfo=UTC)),
     [(D2, timedelta(minutes=10)), (D3, timedelta(minutes=10))]),
], ids=["within-a-day", "across-midnight", "ends-at-midnight", "starts-at-midnight", "several-days", "empty",
        "utc-times-split-at-local-midnight"])
def test_split_by_day(interval, expected):
    assert split_by_day(interval, SH) == expected


@pytest.mark.parametrize("start,end,expected", [
    (datetime(2026, 3, 8, 0, 30, tzinfo=NY), datetime(2026, 3, 8, 4, tzinfo=NY), [(date(2026, 3, 8), secs(9000))]),
    (datetime(2026, 3, 7, 23, tzinfo=NY), datetime(2026, 3, 9, 1, tzinfo=NY),
     [(date(2026, 3, 7), secs(3600)), (date(2026, 3, 8), secs(23 * 3600)), (date(2026, 3, 9), secs(3600))]),
    (datetime(2026, 11, 1, 0, 30, tzinfo=NY), datetime(2026, 11, 1, 3, tzinfo=NY), [(date(2026, 11, 1), secs(12600))]),
], ids=["spring-forward", "short-day", "fall-back"])
def test_split_by_day_counts_real_time_on_daylight_saving_days(start, end, expected):
    assert split_by_day((start, end), NY) == expected


# -- properties ---------------------------------------------------------------------------------------

BASE = t(10)
ZONES = [SH, NY, UTC, ZoneInfo("Europe/London"), ZoneInfo("America/Santiago"), ZoneInfo("Australia/Lord_Howe"),
         ZoneInfo("America/Havana"), ZoneInfo("Pacific/Apia"), ZoneInfo("Asia/Kathmandu")]


@given(last_seen=st.integers(-3600, 3600), now=st.integers(-3600, 3600), grace=st.integers(0, 600),
       ends_at=st.none() | st.integers(-3600, 3600))
def test_covered_interval_is_never_negative_nor_longer_than_wall_time(last_seen, now, grace, ends_at):
    seen, current = BASE + secs(last_seen), BASE + secs(now)
    cap = None if ends_at is None else BASE + secs(ends_at)
    got = covered_interval(seen, current, secs(grace), cap)
    if now < last_seen:
        assert got is None  # the clock went backwards
    if got is not None:
        a, b = got
        assert a == seen and ZERO <= b - a <= min(current - seen, secs(grace))
        assert cap is None or b <= cap


_intervals = st.tuples(st.integers(0, 600), st.integers(0, 120)).map(lambda p: (p[0], p[0] + p[1]))


@given(recent=st.lists(_intervals, max_size=6), interval=_intervals, gap=st.integers(1, 900))
def test_book_never_negative_never_more_than_the_interval(recent, interval, gap):
    def span(iv):
        return BASE + secs(iv[0]), BASE + secs(iv[1])
    covered = merge(tuple(span(iv) for iv in recent))
    act = Activity(covered, covered[0][0] if covered else None, covered[-1][1] if covered else None)
    b = book(act, span(interval), secs(gap))
    assert ZERO <= b.total <= span(interval)[1] - span(interval)[0]
    for a, z in b.pieces:
        assert span(interval)[0] <= a < z <= span(interval)[1]
        assert all(y <= a or x >= z for x, y in covered)  # new time only
    assert b.activity.recent == merge(covered + b.pieces)
    assert b.activity.streak_start <= b.activity.last_active


def union_seconds(intervals) -> int:
    """Brute force: the set of covered whole seconds (all times here are whole seconds after BASE)."""
    seconds: set[int] = set()
    for a, b in intervals:
        seconds.update(range(int((a - BASE).total_seconds()), int((b - BASE).total_seconds())))
    return len(seconds)


_events = st.lists(st.tuples(st.integers(0, 200), st.sampled_from(["start", "beat", "beat", "beat", "end"]),
                             st.integers(0, 9), st.none() | st.integers(1, 1800)), min_size=1, max_size=60)


@settings(max_examples=300)
@given(events=_events)
def test_union_of_sessions_in_any_interleaving(events):
    """Several sessions heartbeat at increasing times, in any order, some silent past the grace;
    each heartbeat books its session's [last_seen, now] through book(), then prune() keeps what an
    active session could still overlap (as the service does; a heartbeat at or after a session's
    ends_at ends it). The time booked is exactly the union of the intervals: never negative, never
    above their sum nor the wall time spanned."""
    act, total, now = Activity(), ZERO, BASE
    active: dict[int, tuple[datetime, datetime | None]] = {}  # id -> (last_seen, ends_at)
    covered, pieces, marks, next_id = [], [], [], 0
    for gap, action, pick, limit in events:
        now += secs(gap)
        if action == "start" or not active:
            ends_at = None if limit is None else now + secs(limit)
            b = book(act, (now, now), RESET)
            assert b.total == ZERO
            active[next_id], next_id = (now, ends_at), next_id + 1
            marks.append(now)
        else:
            sid = sorted(active)[pick % len(active)]
            last_seen, ends_at = active[sid]
            interval = covered_interval(last_seen, now, GRACE, ends_at)
            assert interval is not None
            b = book(act, interval, RESET)
            covered.append(interval)
            marks.append(interval[1])
            active[sid] = (now, ends_at)
            if action == "end" or (ends_at is not None and now >= ends_at):
                del active[sid]
        act, total = b.activity, total + b.total
        pieces.extend(b.pieces)
        assert b.total >= ZERO
        act = prune(act, min((seen for seen, _ in active.values()), default=None))
    assert total == secs(union_seconds(covered))
    assert total == sum((b - a for a, b in pieces), ZERO) == secs(union_seconds(pieces))  # pieces never overlap
    assert total <= sum((b - a for a, b in covered), ZERO)
    assert total <= now - BASE
    assert act.last_active == max(marks)
    assert act.streak_start is not None and BASE <= act.streak_start <= act.last_active


@settings(max_examples=200)
@given(gaps=st.lists(st.integers(0, 1500), min_size=1, max_size=40))
def test_one_session_streak_matches_brute_force(gaps):
    """With one session, intervals arrive in order: the streak begins after the last pause of at
    least the reset gap between booked intervals."""
    act = book(Activity(), (BASE, BASE), RESET).activity
    seen, covered = BASE, [(BASE, BASE)]
    for gap in gaps:
        now = seen + secs(gap)
        interval = covered_interval(seen, now, GRACE, None)
        act = prune(book(act, interval, RESET).activity, now)
        covered.append(interval)
        seen = now
    expected, last = covered[0][0], covered[0][1]
    for a, b in covered[1:]:
        if a - last >= RESET:
            expected = a
        last = max(last, b)
    assert (act.streak_start, act.last_active) == (expected, last)


# days on which some of ZONES change their clocks (Apia skipped 2011-12-30 altogether)
CLOCK_CHANGES = [date(2026, 3, 8), date(2026, 11, 1), date(2026, 3, 29), date(2026, 10, 25), date(2026, 4, 5),
                 date(2026, 9, 6), date(2026, 10, 4), date(2011, 12, 29)]
_anywhen = st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))
_near_a_change = st.builds(lambda day, s: datetime.combine(day, datetime.min.time(), UTC) + secs(s),
                           st.sampled_from(CLOCK_CHANGES), st.integers(-2 * 86400, 2 * 86400))


@settings(max_examples=300)
@given(start=_anywhen | _near_a_change, length=st.integers(0, 4 * 86400), zone=st.sampled_from(ZONES),
       given_in=st.sampled_from(["utc", "local", "sh"]))
def test_split_by_day_pieces_add_up_and_each_lies_in_one_local_day(start, length, zone, given_in):
    end = start + secs(length)
    shown_in = {"utc": UTC, "local": zone, "sh": SH}[given_in]
    pieces = split_by_day((start.astimezone(shown_in), end.astimezone(shown_in)), zone)
    assert sum((d for _, d in pieces), ZERO) == end - start
    if length == 0:
        assert pieces == []
        return
    days = [day for day, _ in pieces]
    assert days == sorted(set(days))
    assert days[0] == start.astimezone(zone).date()
    assert days[-1] == (end - timedelta(microseconds=1)).astimezone(zone).date()
    cursor = start
    for day, used in pieces:  # rebuild each piece: it starts and ends within its local day
        assert used > ZERO
        piece_end = cursor + used
        assert cursor.astimezone(zone).date() == day
        assert (piece_end - timedelta(microseconds=1)).astimezone(zone).date() == day
        cursor = piece_end
