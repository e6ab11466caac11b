"""The audit chains' pure core: the encoding every stored hash depends on, and the verification
walk, fed by hand."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from governor.domain.audit_chain import (
    GENESIS,
    UNRECORDED,
    Entry,
    Walk,
    event_hash,
    pruned_data,
    recorded_markers,
    seal,
)

AT = datetime(2026, 12, 2, 7, 0, 1, 123456, tzinfo=timezone(timedelta(hours=8)))


def chain(name: str, n: int, start=(0, GENESIS)):
    events, (seq, prev) = [], start
    for i in range(n):
        e = seal(name, seq + 1, prev, AT + timedelta(minutes=i), Entry(client="c", action="session.started",
                                                                       data={"i": i}))
        events.append(e)
        seq, prev = e.seq, e.hash
    return events


def test_the_encoding_and_hash_are_pinned():
    """Stored hashes depend on every byte of the encoding: this vector must never change."""
    e = seal("abc", 1, GENESIS, AT, Entry(client="frontend-1", action="session.started", reason="ok",
                                          policy_name="cn-minor-mode", policy_version=1,
                                          data={"session_id": "s_1", "band": "age_8_15", "名": "小明"}))
    assert e.data == '{"band":"age_8_15","session_id":"s_1","名":"小明"}'
    assert e.hash == "f55d2b5fd364b84d6b203dc31d1fa454559dd28da00d08d7e31b67b45acb1c89" == event_hash(e)


def walk(events, heads, markers=None, recorded=()):
    w = Walk(heads, markers or {}, recorded_markers(recorded))
    for e in events:
        w.feed(e)
    return w.finish()


def test_a_whole_chain_verifies_and_a_pruned_one_only_with_its_record():
    full = chain("a", 5)
    head = {"a": (5, full[-1].hash)}
    assert walk(full, head).ok and walk(full, head).events_checked == 5
    marker = {"a": (2, full[1].hash)}
    record = [(7, json.dumps(pruned_data(AT, 2, 1, 0, marker)))]
    assert walk(full[2:], head, marker, record).ok
    result = walk(full[2:], head, marker)  # no audit.pruned event names it
    assert result.first_bad_event.problem == UNRECORDED and result.first_bad_event.seq == 3
    emptied = {"a": (5, full[-1].hash)}  # every event gone, the marker at the head
    assert walk([], head, emptied, [(7, json.dumps(pruned_data(AT, 5, 1, 0, emptied)))]).ok
    assert not walk([], head, emptied, record).ok  # recorded at 2, found at 5


@pytest.mark.parametrize("markers,ok", [
    ({"a": [4, "h4"]}, True),                       # the later record replaces the earlier one
    ({"a": [4, "other"]}, False),
    ({"a": "garbage"}, False),                      # a malformed record vouches for nothing
])
def test_the_latest_record_of_a_chain_counts(markers, ok):
    records = [(3, json.dumps({"markers": {"a": [2, "h2"]}})), (9, json.dumps({"cutoff": "..."})),  # legacy: none
               (12, json.dumps({"markers": markers}))]
    assert recorded_markers(records)["a"][2] == 12
    w = Walk({}, {"a": (4, "h4")}, recorded_markers(records))
    assert w.finish().ok is ok


def test_a_marker_reset_while_a_record_stands_is_caught():
    w = Walk({}, {}, recorded_markers([(3, json.dumps({"markers": {"a": [2, "h2"]}}))]))
    assert w.finish().first_bad_event.chain == "a"
