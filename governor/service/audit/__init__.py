"""The audit log's use cases (DESIGN section 5, docs/audit.md).

- record.py: appending an event inside the caller's transaction (every state change);
- log.py: filtered pages and streaming exports;
- verify.py: verifying every chain in one snapshot;
- checkpoints.py: signing the chains' heads outside the database, and checking against them;
- retention.py: pruning old events by chain prefix, recording each chain's marker.

The hashing is the domain's (governor/domain/audit_chain.py), the statements the store's
(governor/store/audit_log.py, events.py, checkpoints.py).
"""
from governor.domain.audit_chain import SYSTEM_CHAIN, BadEvent, Entry, Verification, timestamp
from governor.service.audit import checkpoints
from governor.service.audit.checkpoints import checkpoint, verify_checkpoints
from governor.service.audit.log import (
    CSV_COLUMNS,
    EventFilter,
    Page,
    csv_cell,
    csv_row,
    decode_cursor,
    encode_cursor,
    event_json,
    page,
    stream,
)
from governor.service.audit.record import (
    append_system_event,
    append_to_user_chain,
    append_user_event,
    lock_system_chain,
)
from governor.service.audit.retention import prune
from governor.service.audit.verify import verify

__all__ = ["CSV_COLUMNS", "SYSTEM_CHAIN", "BadEvent", "Entry", "EventFilter", "Page", "Verification",
           "append_system_event", "append_to_user_chain", "append_user_event", "checkpoint", "checkpoints",
           "csv_cell", "csv_row", "decode_cursor", "encode_cursor", "event_json", "lock_system_chain", "page",
           "prune", "stream", "timestamp", "verify", "verify_checkpoints"]
