"""Sessions: admission, heartbeats, ends and the sweeper, each one short transaction under the
user's lock: gather the facts, let the pure core decide, apply the result and its audit event.

These are the hot paths: they run on the DB-API connection (store/sql.py). A heartbeat that
changes nothing but the time used answers from the user's stored decision (domain/fastpath.py)
and takes no lock: one read of the user, the session and the day, one compare-and-set write (on
PostgreSQL, commonly, both in one statement). A status reads only the user's row when this process
has seen that row before (`seen.read`), and an idle child's status moves an earlier decision on.

The package: lifecycle.py (start, heartbeat, end, sweep), fastways.py (the heartbeats that move the
stored decision on), seen.py (status, and what a process keeps for it), steps.py (the steps they
share: gather, book, end, audit).
"""
from governor.service.sessions.lifecycle import SWEEPER, Ended, Started, end, heartbeat, start, sweep
from governor.service.sessions.seen import Status, status

__all__ = ["SWEEPER", "Ended", "Started", "Status", "end", "heartbeat", "start", "status", "sweep"]
