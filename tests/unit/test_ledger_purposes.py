"""Uncounted use (section 7) in the ledger: examples, then the union rule with purposes checked
against brute force over whole seconds, as today's accounting is."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from governor.domain import uncounted
from governor.domain.ledger import (
    Activity,
    book,
    covered_interval,
    day_pieces,
    prune,
    prune_marked,
    reclaim,
    uncounted_parts,
)
from tests.unit.test_ledger import GRACE, RESET, SH, UTC, ZERO, secs, t

BASE = datetime(2026, 12, 2, 22, 0, tzinfo=SH)  # two hours before a local midnight
WED, THU = BASE.date(), BASE.date() + timedelta(days=1)


def test_day_pieces_cut_at_local_midnight():
    assert day_pieces((t(23, 50), t(0, 10, day=3)), SH) == [
        (WED, (t(23, 50).astimezone(UTC), t(0, 0, day=3).astimezone(UTC))),
        (THU, (t(0, 0, day=3).astimezone(UTC), t(0, 10, day=3).astimezone(UTC)))]


def test_uncounted_parts_fill_each_days_room_first():
    pieces = ((t(23, 40), t(23, 50)), (t(23, 55), t(0, 20, day=3)))
    parts = uncounted_parts(pieces, "learning", SH, {WED: secs(720), THU: secs(600)})
    assert [(d, b - a) for d, (a, b, _) in parts] == [(WED, secs(600)), (WED, secs(120)), (THU, secs(600))]
    assert all(p == "learning" for _, (_, _, p) in parts)
    assert uncounted_parts(pieces, "learning", SH, {WED: ZERO}) == ()


def test_counted_use_takes_back_the_uncounted_time_it_overlaps():
    marks = ((t(10), t(10, 30), "learning"),)
    keep, moved = reclaim((t(10, 10), t(10, 20)), marks)
    u = lambda *a: a[0].astimezone(UTC) if len(a) == 1 else None  # noqa: E731
    assert moved == ((u(t(10, 10)), u(t(10, 20)), "learning"),)
    assert [(a.astimezone(UTC), b.astimezone(UTC)) for a, b, _ in keep] == [
        (u(t(10)), u(t(10, 10))), (u(t(10, 20)), u(t(10, 30)))]
    assert reclaim((t(11), t(11, 5)), marks) == (marks, ())
    assert reclaim((t(10, 5), t(10, 5)), marks) == (marks, ())  # a start covers nothing
    assert prune_marked(marks, None) == () and prune_marked(marks, t(10, 30)) == marks
    assert prune_marked(marks, t(10, 31)) == ()


def covered(intervals) -> set[int]:
    out: set[int] = set()
    for a, b in intervals:
        out.update(range(int((a - BASE).total_seconds()), int((b - BASE).total_seconds())))
    return out


def local_day(second: int):
    return (BASE + secs(second)).astimezone(SH).date()


_events = st.lists(st.tuples(st.integers(0, 300), st.sampled_from(["start", "beat", "beat", "beat", "end"]),
                             st.integers(0, 9), st.sampled_from([None, "learning", "learning"])),
                   min_size=1, max_size=60)


def run(events, cap: timedelta):
    """The union booking (as service/sessions/steps.accrue does it) and the uncounted rule purposes.account
    applies (`uncounted.account`, the same function) over random interleavings."""
    act, marks, now = Activity(), (), BASE
    unc: dict = defaultdict(lambda: ZERO)
    total = ZERO
    active: dict[int, tuple[datetime, str | None]] = {}
    ordinary, learning, next_id = [], [], 0
    for gap, action, pick, purpose in events:
        now += secs(gap)
        if action == "start" or not active:
            act = book(act, (now, now), RESET).activity
            active[next_id], next_id = (now, purpose), next_id + 1
        else:
            sid = sorted(active)[pick % len(active)]
            last_seen, p = active[sid]
            interval = covered_interval(last_seen, now, GRACE, None)
            b = book(act, interval, RESET)
            act, total = b.activity, total + b.total
            (learning if p else ordinary).append(interval)
            allowed = cap if p else ZERO  # the band's allowance for the session's purpose
            days = uncounted.days_to_read(allowed, b.pieces, SH)
            change = uncounted.account(allowed, p, interval, b.pieces, marks,
                                       {d: {"learning": unc[d]} for d in days}, SH)
            for d, purpose_, amount in change.moves:
                assert purpose_ == "learning"
                unc[d] += amount
            marks = change.marks
            active[sid] = (now, p)
            if action == "end":
                del active[sid]
        keep_from = min((seen for seen, _ in active.values()), default=None)
        act, marks = prune(act, keep_from), prune_marked(marks, keep_from)
    return total, dict(unc), covered(ordinary), covered(learning)


@settings(max_examples=300, deadline=None)
@given(events=_events)
def test_uncounted_is_exactly_the_time_only_learning_covered(events):
    """With room to spare, the uncounted time of each day is exactly the seconds that learning
    sessions covered and no ordinary session did; the total is still the union."""
    total, unc, ordinary, learning = run(events, timedelta(days=2))
    assert total == secs(len(ordinary | learning))
    only = defaultdict(int)
    for second in learning - ordinary:
        only[local_day(second)] += 1
    assert {d: v for d, v in unc.items() if v} == {d: secs(n) for d, n in only.items()}


@settings(max_examples=300, deadline=None)
@given(events=_events, cap=st.integers(0, 900))
def test_uncounted_time_never_exceeds_the_cap_nor_the_learning_only_time(events, cap):
    total, unc, ordinary, learning = run(events, secs(cap))
    assert total == secs(len(ordinary | learning))
    only = defaultdict(int)
    for second in learning - ordinary:
        only[local_day(second)] += 1
    for day, value in unc.items():
        assert ZERO <= value <= secs(cap)
        assert value <= secs(only[day])
