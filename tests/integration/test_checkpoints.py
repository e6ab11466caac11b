"""Signed checkpoints: the hash chains resist someone who can write the database only when the
heads are anchored outside it. The attack: edit an event, recompute its hash, every hash after
it and the chain's head. Plain verification says ok; verification against the checkpoints does not."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from governor import jobs
from governor.config import ConfigError
from governor.domain.audit_chain import event_hash
from governor.service import audit as audit_log
from governor.service.audit import checkpoints
from governor.store.tables import AuditEvent, User
from tests.integration.test_audit_log import day_of_events, forge_pruned_prefix, sql


@pytest.fixture
def signing_key(tmp_path):
    path = tmp_path / "keys" / "audit.key"
    path.parent.mkdir()
    checkpoints.generate_key(path)
    return path


@pytest.fixture
def public_key(signing_key):
    return checkpoints.load_public_key(str(signing_key) + ".pub")


def rewrite_history(db_url: str, user_id: str, seq: int, **changes) -> None:
    """The attacker: change one event, then recompute its hash, the chain after it and the head."""
    engine = create_engine(db_url)
    with Session(engine) as s, s.begin():
        user = s.execute(select(User).where(User.user_id == user_id)).scalar_one()
        events = s.execute(select(AuditEvent).where(AuditEvent.chain == user.pseudonym)
                           .order_by(AuditEvent.seq)).scalars().all()
        prev = None
        for e in events:
            if e.seq == seq:
                for name, value in changes.items():
                    setattr(e, name, value)
            if e.seq >= seq:
                if prev is not None:
                    e.prev_hash = prev.hash
                e.hash = event_hash(e)
            prev = e
        user.audit_head = events[-1].hash
    engine.dispose()


def check(svc, directory, keys):
    return audit_log.verify_checkpoints(svc, str(directory), keys)[1]


def test_a_rewritten_history_passes_plain_verify_and_fails_against_the_checkpoints(
        client, clock, token, svc, db_url, signing_key, public_key, tmp_path):
    day_of_events(client, clock, token)
    path, chains = audit_log.checkpoint(svc, str(signing_key), str(tmp_path / "checkpoints"))
    assert chains == 3 and path.parent == tmp_path / "checkpoints"  # two users and the system chain
    assert check(svc, tmp_path / "checkpoints", [public_key]) == []

    rewrite_history(db_url, "kid-a", 3, reason="limit", client="someone-else")

    assert audit_log.verify(svc).ok is True  # the chain is consistent with its (rewritten) head
    problems = check(svc, tmp_path / "checkpoints", [public_key])
    pseudonym = sql(db_url, "SELECT pseudonym FROM users WHERE user_id = 'kid-a'")[0][0]
    assert len(problems) == 1
    assert f"chain {pseudonym}: event 3 differs from the checkpoint" in problems[0]
    assert "history was rewritten" in problems[0]


def test_an_early_edit_is_caught_through_a_later_checkpoint(client, clock, token, svc, db_url, signing_key,
                                                            public_key, tmp_path):
    day_of_events(client, clock, token)
    audit_log.checkpoint(svc, str(signing_key), str(tmp_path))
    rewrite_history(db_url, "kid-b", 1, data=json.dumps({"band": "adult"}))
    assert audit_log.verify(svc).ok is True
    assert any("event 3 differs" in p for p in check(svc, tmp_path, [public_key]))


def test_what_follows_the_last_checkpoint_is_not_covered_until_the_next(client, clock, token, svc, db_url,
                                                                         signing_key, public_key, tmp_path):
    """The limit, stated in docs/audit.md: events after the last checkpoint are as safe as the
    database; the next checkpoint anchors them."""
    day_of_events(client, clock, token)
    audit_log.checkpoint(svc, str(signing_key), str(tmp_path))
    day_of_events(client, clock, token, users=("kid-a",))  # three more events on kid-a's chain
    assert check(svc, tmp_path, [public_key]) == []  # a chain that grew is fine
    rewrite_history(db_url, "kid-a", 5, reason="limit")
    assert check(svc, tmp_path, [public_key]) == []
    rewrite_history(db_url, "kid-a", 2, reason="limit")
    assert check(svc, tmp_path, [public_key]) != []


def test_deleted_chains_and_truncated_chains_are_caught(client, clock, token, svc, db_url, signing_key, public_key,
                                                        tmp_path):
    day_of_events(client, clock, token)
    audit_log.checkpoint(svc, str(signing_key), str(tmp_path))
    a, b = (sql(db_url, "SELECT pseudonym FROM users WHERE user_id = :u", u=u)[0][0] for u in ("kid-a", "kid-b"))
    sql(db_url, "DELETE FROM audit_events WHERE chain = :c", c=a)  # a whole chain, and its head
    sql(db_url, "UPDATE users SET audit_seq = 0, audit_head = :g WHERE pseudonym = :c", g="0" * 64, c=a)
    sql(db_url, "DELETE FROM audit_events WHERE chain = :c AND seq = 3", c=b)  # the last event, head moved back
    sql(db_url, "UPDATE users SET audit_seq = 2, audit_head = (SELECT hash FROM audit_events "
                "WHERE chain = :c AND seq = 2) WHERE pseudonym = :c", c=b)
    assert audit_log.verify(svc).ok is True
    problems = sorted(check(svc, tmp_path, [public_key]))
    assert len(problems) == 2
    for chain, problem in zip(sorted([a, b]), problems, strict=True):
        assert problem.startswith(f"chain {chain}: event 3, signed in the checkpoint of ")
        assert problem.endswith(", is missing")


def test_retention_after_a_checkpoint_is_not_taken_for_tampering(client, clock, token, svc, signing_key, public_key,
                                                                 tmp_path):
    day_of_events(client, clock, token)
    audit_log.checkpoint(svc, str(signing_key), str(tmp_path))
    clock.advance(days=400)
    day_of_events(client, clock, token, users=("kid-a",))
    assert audit_log.prune(svc, 183, 183) > 0
    assert audit_log.verify(svc).ok is True
    assert check(svc, tmp_path, [public_key]) == []
    audit_log.checkpoint(svc, str(signing_key), str(tmp_path))  # next day's file
    assert check(svc, tmp_path, [public_key]) == []


def test_a_chain_deleted_and_disguised_as_retention_is_missing_from_the_checkpoints(
        client, clock, token, svc, db_url, signing_key, public_key, tmp_path):
    """The marker that would excuse the signed event's absence is not one retention recorded."""
    day_of_events(client, clock, token)
    audit_log.checkpoint(svc, str(signing_key), str(tmp_path))
    chain, _ = forge_pruned_prefix(db_url, "kid-b", 3)
    problems = check(svc, tmp_path, [public_key])
    assert len(problems) == 1 and problems[0].startswith(f"chain {chain}: event 3, signed in the checkpoint of ")


def test_an_altered_or_foreign_checkpoint_is_a_problem(client, clock, token, svc, signing_key, public_key, tmp_path):
    day_of_events(client, clock, token)
    path, _ = audit_log.checkpoint(svc, str(signing_key), str(tmp_path))
    doc = json.loads(path.read_text())
    chain = next(c for c in doc["heads"] if c != "system")
    doc["heads"][chain][1] = "f" * 64
    with open(path, "a") as f:
        f.write(json.dumps(doc) + "\n")
        f.write("{half a line\n")
    other = tmp_path / "other.key"
    checkpoints.generate_key(other)
    foreign = checkpoints.sign({"system": (1, "0" * 64)}, clock.now(), checkpoints.load_signing_key(str(other)))
    checkpoints.append(tmp_path / "elsewhere", foreign)
    (tmp_path / "x.jsonl").write_text((tmp_path / "elsewhere" / path.name).read_text())
    problems = check(svc, tmp_path, [public_key])
    assert any("line 2: the signature does not match" in p for p in problems)
    assert any("line 3: not a checkpoint" in p for p in problems)
    assert any("x.jsonl line 1: signed by an unknown key" in p for p in problems)
    # the holder of both public keys accepts the foreign one, whose claim the database contradicts
    both = check(svc, tmp_path, [public_key, checkpoints.load_public_key(str(other))])
    assert any(p.startswith("chain system: checkpoints of") and p.endswith("disagree at seq 1") for p in both)


def test_an_empty_folder_is_not_a_pass(svc, public_key, tmp_path):
    assert check(svc, tmp_path / "nothing", [public_key]) == [f"no checkpoint found in {tmp_path / 'nothing'}"]


def test_the_scheduler_job_appends_a_checkpoint(client, clock, token, svc, signing_key, public_key, tmp_path):
    day_of_events(client, clock, token)
    svc.settings = svc.settings.replace(audit_signing_key=str(signing_key),
                                        audit_checkpoint_dir=str(tmp_path / "cp"))
    assert jobs.checkpoint(svc) == 3
    clock.advance(hours=1)
    assert jobs.checkpoint(svc) == 3
    lines = [json.loads(line) for f in sorted((tmp_path / "cp").glob("*.jsonl")) for line in f.open()]
    assert len(lines) == 2 and lines[1]["at"] > lines[0]["at"]
    assert check(svc, tmp_path / "cp", [public_key]) == []


def test_keys_are_checked(tmp_path):
    (tmp_path / "not-a-key").write_text("hello")
    with pytest.raises(ConfigError, match="GOVERNOR_AUDIT_SIGNING_KEY"):
        checkpoints.load_signing_key(str(tmp_path / "not-a-key"))
    with pytest.raises(FileExistsError):
        checkpoints.generate_key(tmp_path / "not-a-key")  # never overwritten


def test_checkpoint_timestamps_are_the_clock_s(client, clock, token, svc, signing_key, tmp_path):
    path, _ = audit_log.checkpoint(svc, str(signing_key), str(tmp_path))
    at = json.loads(path.read_text())["at"]
    assert at == clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ") and path.name == at[:10] + ".jsonl"


def test_a_scheduler_run_without_its_key_logs_and_carries_on(svc, tmp_path, caplog):
    svc.settings = svc.settings.replace(audit_signing_key=str(tmp_path / "gone.key"),
                                        audit_checkpoint_dir=str(tmp_path / "cp"))
    with caplog.at_level("ERROR", logger="governor.jobs"):
        jobs._guarded(jobs.checkpoint, svc)()
    assert "job checkpoint failed: GOVERNOR_AUDIT_SIGNING_KEY" in caplog.text
    assert not (tmp_path / "cp").exists()
