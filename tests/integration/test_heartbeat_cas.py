"""The lock-free heartbeat (service/sessions._fast, store/sessions.save_heartbeat): a change of
the user's committed between its read and its write makes the write miss, and the heartbeat is
then decided in full under the user's lock, from the changed facts, booked once. On both
databases: PostgreSQL compares the user row's version, SQLite the whole view."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

from governor import create_app
from governor.clock import FakeClock
from governor.domain.engine import Verification
from governor.service import admin, sessions, users
from governor.store import sessions as session_store
from tests.conftest import settings_for, shanghai

KID = "kid"


def _service(url):
    clock = FakeClock(shanghai(2026, 12, 2, 9, 0))
    app = create_app(settings_for(url), clock=clock)
    return app.extensions["governor"], clock


def test_a_grant_between_read_and_write_sends_the_heartbeat_the_locked_way(db_url, monkeypatch):
    svc, clock = _service(db_url)
    users.set_verification(svc, KID, Verification("verified", date(2014, 6, 15)), "t")
    sid = sessions.start(svc, KID, "t").session_id
    clock.advance(seconds=60)
    assert sessions.heartbeat(svc, sid, "t").remaining == timedelta(minutes=59)  # an hour a day, fast

    cas, writes = svc.db.hot_cas, []

    @contextmanager
    def grant_then_cas():  # after the heartbeat's read, before its write
        admin.add_grant(svc, KID, 15, None, None, "admin")  # commits on another connection
        monkeypatch.setattr(svc.db, "hot_cas", cas)  # once
        with cas() as tx:
            yield tx

    def spied_save(tx, view, day, ms):
        writes.append(saved := save(tx, view, day, ms))
        return saved

    save = session_store.save_heartbeat
    monkeypatch.setattr(svc.db, "hot_cas", grant_then_cas)
    monkeypatch.setattr(session_store, "save_heartbeat", spied_save)
    clock.advance(seconds=60)
    d = sessions.heartbeat(svc, sid, "t")
    assert writes == [False]  # the compare-and-set missed; the locked way answered
    assert d.used_today == timedelta(minutes=2)
    assert d.remaining == timedelta(minutes=58 + 15)  # the grant counts at once
    st = sessions.status(svc, KID)
    assert st.decision.used_today == timedelta(minutes=2)  # booked once

    clock.advance(seconds=60)
    assert sessions.heartbeat(svc, sid, "t").remaining == timedelta(minutes=57 + 15)
    assert writes[-1] is True  # and the next one is fast again
    svc.db.dispose()
