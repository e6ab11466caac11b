"""A 100k-event export streams in bounded memory."""
from __future__ import annotations

import tracemalloc
from datetime import datetime, timezone

from sqlalchemy import insert

from governor.store.tables import AuditEvent

EVENTS = 100_000


def _fill(svc):
    at = datetime(2026, 12, 1, tzinfo=timezone.utc)
    for start in range(0, EVENTS, 10_000):
        rows = [{"chain": f"c{i % 500:04d}", "seq": i // 500 + 1, "at": at, "client": "bulk",
                 "action": "session.started", "reason": "ok", "policy_name": "cn-minor-mode", "policy_version": 1,
                 "data": f'{{"band":"age_8_15","session_id":"s_{i:08d}"}}', "prev_hash": "0" * 64, "hash": "f" * 64}
                for i in range(start, start + 10_000)]
        with svc.db.write() as s:
            s.execute(insert(AuditEvent), rows)


def _export(client, token, fmt):
    response = client.get(f"/v1/audit/events?format={fmt}", headers=token("audit"), buffered=False)
    total = lines = 0
    for chunk in response.response:
        data = chunk if isinstance(chunk, bytes) else chunk.encode()
        total += len(data)
        lines += data.count(b"\n")
    response.close()
    return total, lines


def test_exports_of_100k_events_stream_in_bounded_memory(client, token, svc):
    _fill(svc)
    tracemalloc.start()
    total, lines = _export(client, token, "ndjson")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert lines == EVENTS + 1  # and the policy activation
    assert total > 40_000_000, "the export should be tens of megabytes"
    assert peak < 8_000_000, f"peak {peak / 1e6:.1f} MB for a {total / 1e6:.1f} MB export"
    total, lines = _export(client, token, "csv")  # the same stream, written as CSV
    assert lines == EVENTS + 2 and total > 25_000_000
