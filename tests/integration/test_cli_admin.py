"""`governor audit export|prune` and `governor policy show|validate|activate`, as subprocesses."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from pathlib import Path

from governor.config import PROJECT_DIR
from tests.conftest import DEFAULT_POLICY, SECRET

GOVERNOR = str(Path(PROJECT_DIR) / ".venv" / "bin" / "governor")


def run(db_url, *args, check=True):
    env = dict(os.environ, GOVERNOR_DATABASE_URL=db_url, GOVERNOR_JWT_SECRET=SECRET, GOVERNOR_POLICY=DEFAULT_POLICY)
    r = subprocess.run([GOVERNOR, *args], env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def test_export_verify_and_prune(client, token, db_url):
    for uid in ("a", "b"):
        client.post("/v1/sessions", json={"user_id": uid}, headers=token("sessions", sub="web"))
    lines = run(db_url, "audit", "export").stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["action"] for e in events] == ["policy.activated", "session.started", "session.started"]
    assert {e["user_id"] for e in events[1:]} == {"a", "b"}
    rows = list(csv.DictReader(io.StringIO(run(db_url, "audit", "export", "--format", "csv", "--user-id", "b").stdout)))
    assert len(rows) == 1 and rows[0]["user_id"] == "b" and rows[0]["client"] == "web"
    assert json.loads(run(db_url, "audit", "verify").stdout) == {"ok": True, "events_checked": 3}
    assert "removed 0 audit events" in run(db_url, "audit", "prune").stdout
    r = run(db_url, "audit", "prune", "--retention-days", "30", check=False)
    assert r.returncode == 2 and "183" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_policy_show_validate_activate(client, token, db_url, tmp_path):
    shown = json.loads(run(db_url, "policy", "show").stdout)
    assert shown["name"] == "cn-minor-mode" and shown["version"] == 1
    nppa = str(PROJECT_DIR / "config" / "policies" / "cn-nppa-2021.toml")
    assert "valid policy 'cn-nppa-2021'" in run(db_url, "policy", "validate", nppa).stdout
    broken = tmp_path / "broken.toml"
    broken.write_text(Path(DEFAULT_POLICY).read_text().replace("break_minutes = 15", "break_minutes = -1", 1))
    r = run(db_url, "policy", "validate", str(broken), check=False)
    assert r.returncode == 2 and "bands.under_8.break_minutes" in r.stderr and "broken.toml" in r.stderr
    assert "as version 2" in run(db_url, "policy", "activate", nppa).stdout
    r = client.get("/v1/users/someone/status", headers=token("sessions"))
    assert r.json["policy"] == {"name": "cn-nppa-2021", "version": 2}
    assert r.json["reason"] == "verification_required"
