"""Session ids carry their user's key (docs/deploy.md, "Past one database host"): a heartbeat
names only its session, and once the tables are distributed by the user's key the id alone must
route it to the user's shard. New ids are `s<users.pk in hex>_<22 url-safe characters: 128 random
bits>`, at most 40 characters for any 64-bit key; ids of the earlier shape, `s_<24 characters>`,
still heartbeat and end."""
from __future__ import annotations

import re
import secrets

from sqlalchemy import text

from governor.api.sessions import SESSION_ID
from governor.store.sessions import new_id
from tests.api.conftest import Api

NEW_SHAPE = re.compile(r"s([0-9a-f]+)_([A-Za-z0-9_-]{22})")


def user_pk_of(session_id: str) -> int | None:
    """The user's key a session id carries; None for an id of the earlier shape (`s_...`)."""
    head, sep, _ = session_id.partition("_")
    return int(head[1:], 16) if sep and len(head) > 1 else None


def pk_of(svc, user_id: str) -> int:
    with svc.db.write() as s:
        return s.execute(text("SELECT pk FROM users WHERE user_id = :u"), {"u": user_id}).scalar_one()


def test_a_new_session_id_carries_its_users_key(client, token, svc):
    api = Api(client, token)
    for i in range(3):  # three users: three keys
        api.started(f"shard-other-{i}")
    first, second = api.started("shard-child"), api.started("shard-child")  # two tabs of one child
    key = pk_of(svc, "shard-child")
    for sid in (first, second):
        m = NEW_SHAPE.fullmatch(sid)
        assert m and len(sid) <= 40 and SESSION_ID.fullmatch(sid), sid
        assert user_pk_of(sid) == key
    assert first != second and NEW_SHAPE.fullmatch(first)[2] != NEW_SHAPE.fullmatch(second)[2]
    with svc.db.write() as s:
        stored = s.execute(text("SELECT id, user_pk FROM sessions")).all()
    assert len(stored) == 5 and len({pk for _, pk in stored}) == 4
    assert all(user_pk_of(sid) == pk for sid, pk in stored), stored


def test_ids_fit_the_column_for_any_64_bit_key_and_are_unguessable():
    for key in (1, 0xFFFF_FFFF, 2**63 - 1):
        sid = new_id(key)
        assert len(sid) <= 40 and SESSION_ID.fullmatch(sid) and user_pk_of(sid) == key, sid
    assert len(new_id(2**63 - 1)) == 40
    randoms = {NEW_SHAPE.fullmatch(new_id(7))[2] for _ in range(2000)}
    assert len(randoms) == 2000  # 128 random bits each: no repeats, nothing to guess from the key


def test_an_id_of_the_earlier_shape_still_heartbeats_and_ends(client, token, svc, clock):
    api = Api(client, token)
    made = api.started("shard-legacy")
    legacy = "s_" + secrets.token_urlsafe(18)  # what new_id made before
    assert user_pk_of(legacy) is None and len(legacy) == 26
    with svc.db.write() as s:
        s.execute(text("UPDATE sessions SET id = :new WHERE id = :old"), {"new": legacy, "old": made})
    clock.advance(seconds=60)
    beat = api.beat(legacy)
    assert beat.status_code == 200, beat.json
    assert (beat.json["allowed"], beat.json["used_today_seconds"]) == (True, 60)
    clock.advance(seconds=30)
    ended = client.post(f"/v1/sessions/{legacy}/end", headers=api.fe)
    assert ended.status_code == 200 and ended.json["duration_seconds"] == 90, ended.json
    assert api.beat(made).status_code == 404  # the renamed row is the only one
