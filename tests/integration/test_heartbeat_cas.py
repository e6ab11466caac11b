"""PostgreSQL's lock-free heartbeat (service/sessions/fastways.fast, store/sessions.save_heartbeat): a
change of the user's committed between its read and its write makes the write miss (it compares
the user row's version), and the heartbeat is then decided in full under the user's lock, from the
changed facts, booked once. And the one-statement heartbeat (fastways.in_one): a change committed
while it waits for the user's row makes it write nothing. (On SQLite the heartbeat's read and
write run in one write transaction, the only writer: nothing can come between them.)"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import date, timedelta

import psycopg
import pytest
from sqlalchemy.engine import make_url

from governor import create_app
from governor.clock import FakeClock
from governor.domain.decision import Verification
from governor.service import admin, sessions, users
from governor.service.sessions import fastways
from governor.store import sessions as session_store
from tests.conftest import settings_for, shanghai

KID = "kid"


def _service(url):
    clock = FakeClock(shanghai(2026, 12, 2, 9, 0))
    app = create_app(settings_for(url), clock=clock)
    return app.extensions["governor"], clock


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_grant_between_read_and_write_sends_the_heartbeat_the_locked_way(db_url, monkeypatch):
    monkeypatch.setattr(fastways, "in_one", lambda svc, session_id, client: None)  # the two-statement way here
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


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_change_committed_while_the_one_statement_heartbeat_waits_makes_it_write_nothing(db_url):
    svc, clock = _service(db_url)
    users.set_verification(svc, KID, Verification("verified", date(2014, 6, 15)), "t")
    sid = sessions.start(svc, KID, "t").session_id
    clock.advance(seconds=60)
    sessions.heartbeat(svc, sid, "t")  # the two-statement way: this process learns the policy version
    clock.advance(seconds=60)
    assert fastways.in_one(svc, sid, "t").used_today == timedelta(minutes=2)  # the one-statement way

    dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as other:  # a change of the user's, not yet committed
        other.execute("UPDATE users SET facts_version = facts_version + 1 WHERE user_id = %s", (KID,))
        clock.advance(seconds=60)
        got = []
        beat = threading.Thread(target=lambda: got.append(fastways.in_one(svc, sid, "t")))
        beat.start()
        with psycopg.connect(dsn, autocommit=True) as watch:  # until the heartbeat waits for the row
            for _ in range(1000):
                if watch.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                 "AND datname = current_database()").fetchone()[0]:
                    break
                time.sleep(0.01)
            else:
                pytest.fail("the heartbeat never waited for the user's row")
        other.commit()
        beat.join(10)
    assert got == [None]  # wrote nothing
    with svc.db.hot_read() as tx:
        view = session_store.heartbeat_view(tx, sid, "t", fastways.days_around(clock.now()))
    assert view.session.counted_ms == 120_000 and view.used[date(2026, 12, 2)] == 120_000
    d = sessions.heartbeat(svc, sid, "t")  # decided afresh (the facts changed), booked once
    assert d.used_today == timedelta(minutes=3)
    svc.db.dispose()
