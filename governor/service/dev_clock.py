"""Development mode's clock (GOVERNOR_ENV=development): an admin sets the server's time so that
integrators see curfew and break screens without waiting for the night; audited like any change,
on the system chain."""
from __future__ import annotations

from datetime import datetime

from governor.clock import OffsetClock
from governor.service.audit import Entry, append_system_event
from governor.service.context import Services


def set_clock(svc: Services, clock: OffsetClock, at: datetime | None, client: str) -> tuple[datetime, float]:
    """Move the clock to `at` (None: back to the system's time); the clock's time now and its
    offset in seconds."""
    if at is None:
        clock.reset()
    else:
        clock.set(at)
    now = clock.now()
    offset = clock.offset.total_seconds()
    with svc.db.write() as s:
        append_system_event(s, now, Entry(client=client, action="dev.clock_reset" if at is None else "dev.clock_set",
                                          data={"now": now.isoformat(timespec="seconds"), "offset_seconds": offset}))
    return now, offset
