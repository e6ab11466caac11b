"""The tamper-evident log: listing, exports, verification against direct edits of the table,
erasure by crypto-shredding, retention by chain prefix."""
from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import create_engine, text

from governor.service import audit as audit_log

FE = "sessions"


def day_of_events(client, clock, token, users=("kid-a", "kid-b")):
    """A few users, each verified, with a session started, heartbeated and ended."""
    for uid in users:
        client.put(f"/v1/users/{uid}/age-verification", headers=token("age", sub="kyc"),
                   json={"status": "verified", "birth_date": "2013-06-01"})
        sid = client.post("/v1/sessions", json={"user_id": uid}, headers=token(FE)).json["session_id"]
        clock.advance(minutes=1)
        client.post(f"/v1/sessions/{sid}/heartbeat", headers=token(FE))
        client.post(f"/v1/sessions/{sid}/end", headers=token(FE))


def sql(db_url, statement, **params):
    engine = create_engine(db_url)
    with engine.begin() as c:
        result = c.execute(text(statement), params)
        rows = result.all() if result.returns_rows else None
    engine.dispose()
    return rows


def verify(client, token):
    r = client.get("/v1/audit/verify", headers=token("audit"))
    assert r.status_code == 200
    return r.json


def test_listing_resolves_user_ids_and_pages_with_a_cursor(client, clock, token):
    day_of_events(client, clock, token)
    aud = token("audit")
    r = client.get("/v1/audit/events?user_id=kid-a", headers=aud)
    actions = [e["action"] for e in r.json["events"]]
    assert actions == ["verification.changed", "session.started", "session.ended"]
    assert {e["user_id"] for e in r.json["events"]} == {"kid-a"} and r.json["next_cursor"] is None
    first = r.json["events"][0]
    assert first["client"] == "kyc" and first["seq"] == 1 and first["policy"] == {"name": "cn-minor-mode",
                                                                                   "version": 1}
    seen, cursor = [], None
    while True:
        r = client.get("/v1/audit/events?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=aud)
        seen += [e["id"] for e in r.json["events"]]
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 7  # policy activation + 3 per user
    r = client.get("/v1/audit/events?action=session.ended", headers=aud)
    assert [e["reason"] for e in r.json["events"]] == ["client", "client"]
    assert client.get("/v1/audit/events?cursor=garbage", headers=aud).status_code == 422
    assert client.get("/v1/audit/events?since=yesterday", headers=aud).status_code == 422
    assert client.get("/v1/audit/events", headers=token("admin")).status_code == 403


def test_exports_stream_every_event_as_ndjson_and_csv(client, clock, token):
    day_of_events(client, clock, token)
    aud = token("audit")
    r = client.get("/v1/audit/events?format=ndjson", headers=aud)
    lines = [json.loads(line) for line in r.data.decode().splitlines()]
    assert r.mimetype == "application/x-ndjson" and len(lines) == 7
    r = client.get("/v1/audit/events?format=csv&user_id=kid-b", headers=aud)
    rows = list(csv.DictReader(io.StringIO(r.data.decode())))
    assert r.mimetype == "text/csv" and len(rows) == 3 and {row["user_id"] for row in rows} == {"kid-b"}
    assert rows[0]["action"] == "verification.changed" and json.loads(rows[0]["data"])["band"] == "age_8_15"


def test_verify_passes_on_an_untouched_log(client, clock, token):
    day_of_events(client, clock, token)
    assert verify(client, token) == {"ok": True, "events_checked": 7}


@pytest.mark.parametrize("tamper,expect", [
    ("edit", "edited"),
    ("delete_middle", "sequence broken"),
    ("delete_last", "missing at the end"),
    ("insert", "does not link"),
    ("reorder", "reordered"),
    ("edit_and_rehash", "does not link"),
])
def test_verify_names_the_first_tampered_event(client, clock, token, db_url, tamper, expect):
    day_of_events(client, clock, token)
    rows = sql(db_url, "SELECT id, chain, seq FROM audit_events WHERE chain <> 'system' ORDER BY chain, seq")
    chain = rows[0].chain
    ids = [r.id for r in rows if r.chain == chain]  # three events: verification, started, ended
    if tamper == "edit":
        sql(db_url, "UPDATE audit_events SET client = 'someone-else' WHERE id = :id", id=ids[1])
        bad = (ids[1], 2)
    elif tamper == "delete_middle":
        sql(db_url, "DELETE FROM audit_events WHERE id = :id", id=ids[1])
        bad = (ids[2], 3)
    elif tamper == "delete_last":
        sql(db_url, "DELETE FROM audit_events WHERE id = :id", id=ids[2])
        bad = (None, 3)
    elif tamper == "insert":
        sql(db_url, "UPDATE audit_events SET seq = seq + 10 WHERE id = :id", id=ids[2])
        sql(db_url, "INSERT INTO audit_events (chain, seq, at, client, action, reason, data, prev_hash, hash) "
                    "SELECT chain, 3, at, client, action, reason, data, prev_hash, hash FROM audit_events "
                    "WHERE id = :id", id=ids[1])
        bad = (None, 3)
    elif tamper == "reorder":
        sql(db_url, "UPDATE audit_events SET seq = 100 WHERE id = :id", id=ids[1])
        sql(db_url, "UPDATE audit_events SET seq = 2 WHERE id = :id", id=ids[2])
        bad = (ids[2], 2)
    else:  # edit the content and recompute its own hash: the next event no longer links to it
        from governor.domain.audit_chain import event_hash
        from governor.store.tables import AuditEvent
        sql(db_url, "UPDATE audit_events SET reason = 'forged' WHERE id = :id", id=ids[1])
        engine = create_engine(db_url)
        from sqlalchemy.orm import Session
        with Session(engine) as s, s.begin():
            e = s.get(AuditEvent, ids[1])
            e.hash = event_hash(e)
        engine.dispose()
        bad = (ids[2], 3)
    result = verify(client, token)
    assert result["ok"] is False
    found = result["first_bad_event"]
    assert found["chain"] == chain and found["seq"] == bad[1] and expect in found["problem"]
    if bad[0] is not None:
        assert found["id"] == bad[0]


def test_erasure_shreds_the_link_and_keeps_verifiable_events(client, clock, token, svc, db_url):
    uid = "erase-me-7f3a9c"
    day_of_events(client, clock, token, users=(uid, "kid-stays"))
    client.post("/v1/complaints", json={"user_id": uid, "category": "other", "text": "complaint by " + uid},
                headers=token(FE))
    client.post(f"/v1/admin/users/{uid}/grants", json={"extra_minutes": 5}, headers=token("admin"))
    r = client.delete(f"/v1/admin/users/{uid}", headers=token("admin", sub="dpo"))
    assert r.status_code == 200 and r.json["audit_events_kept"] == 5
    assert client.delete(f"/v1/admin/users/{uid}", headers=token("admin")).status_code == 404
    for table in ("users", "sessions", "usage_days", "grants", "complaints"):
        (n,) = sql(db_url, f"SELECT count(*) FROM {table} t"
                           + ("" if table == "users" else " JOIN users u ON u.pk = t.user_pk")
                           + " WHERE u.user_id = :uid" if table != "users" else
                           f"SELECT count(*) FROM {table} WHERE user_id = :uid", uid=uid)[0]
        assert n == 0, table
    events = client.get("/v1/audit/events?format=ndjson", headers=token("audit")).data.decode()
    assert uid not in events
    erased = [json.loads(line) for line in events.splitlines() if '"user.erased"' in line]
    assert len(erased) == 1 and erased[0]["client"] == "dpo" and erased[0]["data"]["events_kept"] == 5
    assert verify(client, token)["ok"] is True
    if db_url.startswith("sqlite"):
        svc.db.dispose()
        path = db_url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            try:
                raw = open(path + suffix, "rb").read()
            except FileNotFoundError:
                continue
            assert uid.encode() not in raw, f"the erased id is still in {path + suffix}"


def test_retention_prunes_by_prefix_and_verify_still_holds(client, clock, token, svc):
    day_of_events(client, clock, token)
    clock.advance(days=400)
    day_of_events(client, clock, token, users=("kid-a", "kid-new"))
    aud = token("audit")
    before = client.get("/v1/audit/events?format=ndjson", headers=aud).data.decode().splitlines()
    r = client.get("/v1/users/kid-b/usage?from=2026-12-02&to=2026-12-02", headers=aud)
    assert r.json["days"][0]["seconds"] == 60
    removed = audit_log.prune(svc, retention_days=365, usage_retention_days=365)
    assert removed == 7  # the first day's events: policy activation and three per user
    after = [json.loads(line) for line in client.get("/v1/audit/events?format=ndjson", headers=aud).data
             .decode().splitlines()]
    assert len(after) == len(before) - 7 + 1 and after[-1]["action"] == "audit.pruned"
    kid_a = [e for e in after if e["user_id"] == "kid-a"]
    assert [e["seq"] for e in kid_a] == [4, 5, 6]
    assert verify(client, token)["ok"] is True
    assert audit_log.prune(svc, retention_days=365, usage_retention_days=365) == 0
    r = client.get("/v1/users/kid-b/usage?from=2026-12-02&to=2026-12-02", headers=aud)
    assert r.json["days"][0]["seconds"] == 0  # usage past its retention is gone too


def forge_pruned_prefix(db_url: str, user_id: str, through_seq: int) -> tuple[str, list[int]]:
    """The attacker: delete a chain's first events and write the marker that retention would have
    left: (the chain, the ids of its events that remain)."""
    chain = sql(db_url, "SELECT pseudonym FROM users WHERE user_id = :u", u=user_id)[0][0]
    (last,) = sql(db_url, "SELECT seq, hash FROM audit_events WHERE chain = :c AND seq = :s", c=chain, s=through_seq)
    sql(db_url, "DELETE FROM audit_events WHERE chain = :c AND seq <= :s", c=chain, s=through_seq)
    sql(db_url, "DELETE FROM audit_chains WHERE chain = :c", c=chain)
    sql(db_url, "INSERT INTO audit_chains (chain, head_seq, head_hash, pruned_seq, pruned_hash) "
                "VALUES (:c, 0, :g, :s, :h)", c=chain, g="0" * 64, s=last.seq, h=last.hash)
    return chain, [r.id for r in sql(db_url, "SELECT id FROM audit_events WHERE chain = :c ORDER BY seq", c=chain)]


@pytest.mark.parametrize("through", [2, 3])  # the first two events; every event (the marker is the head)
def test_a_prefix_deleted_and_disguised_as_retention_is_caught(client, clock, token, db_url, tmp_path, through):
    day_of_events(client, clock, token)
    chain, kept = forge_pruned_prefix(db_url, "kid-a", through)
    result = verify(client, token)
    assert result["ok"] is False and result["events_checked"] == 7 - through
    bad = result["first_bad_event"]
    assert bad["chain"] == chain and "deleted outside retention" in bad["problem"]
    assert (bad["id"], bad["seq"]) == ((kept[0], 3) if kept else (None, 3))

    from tests.conftest import SECRET
    from tests.integration.test_cli import governor
    done = governor("audit", "verify", cwd=tmp_path, GOVERNOR_DATABASE_URL=db_url, GOVERNOR_JWT_SECRET=SECRET)
    assert done.returncode == 1 and json.loads(done.stdout)["first_bad_event"] == bad, done.stderr


def test_each_marker_retention_sets_is_recorded_and_a_forged_one_past_it_is_caught(client, clock, token, svc,
                                                                                  db_url):
    day_of_events(client, clock, token)
    clock.advance(days=400)
    day_of_events(client, clock, token, users=("kid-a",))
    audit_log.prune(svc, retention_days=365, usage_retention_days=365)
    (pruned,) = [json.loads(line) for line in client.get("/v1/audit/events?format=ndjson&action=audit.pruned",
                                                         headers=token("audit")).data.decode().splitlines()]
    chains = dict(sql(db_url, "SELECT chain, pruned_seq FROM audit_chains WHERE pruned_seq > 0"))
    assert {c: seq for c, (seq, _) in pruned["data"]["markers"].items()} == chains and len(chains) == 3
    assert verify(client, token)["ok"] is True
    chain, kept = forge_pruned_prefix(db_url, "kid-a", 4)  # one more event of the kept ones
    assert verify(client, token)["first_bad_event"]["id"] == kept[0]


def test_markers_outlive_the_system_events_that_recorded_them(client, clock, token, svc, db_url):
    """Retention removes the system chain's old `audit.pruned` events too: the markers that only
    they recorded (here, chains that retention emptied) are restated in the new one."""
    day_of_events(client, clock, token)
    clock.advance(days=400)
    assert audit_log.prune(svc, retention_days=365, usage_retention_days=365) == 7  # kid-a, kid-b: emptied
    clock.advance(days=400)
    day_of_events(client, clock, token, users=("kid-new",))
    assert audit_log.prune(svc, retention_days=365, usage_retention_days=365) == 1  # the first audit.pruned
    events = [json.loads(line) for line in client.get("/v1/audit/events?format=ndjson",
                                                      headers=token("audit")).data.decode().splitlines()]
    assert [e["action"] for e in events if e["chain"] == "system"] == ["audit.pruned"]
    emptied = {r.pseudonym for r in sql(db_url, "SELECT pseudonym FROM users WHERE user_id IN ('kid-a', 'kid-b')")}
    assert set(events[-1]["data"]["markers"]) == emptied | {"system"}
    assert verify(client, token) == {"ok": True, "events_checked": 4}
    forge_pruned_prefix(db_url, "kid-new", 1)
    assert verify(client, token)["ok"] is False
