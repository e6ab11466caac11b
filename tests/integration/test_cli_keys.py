"""`governor keys generate`, `governor token --key --kid`, and `governor audit keygen|checkpoint|
verify --checkpoints`, as an operator runs them (subprocesses, SQLite: the commands are the same
on both databases, and test_checkpoints.py covers both)."""
from __future__ import annotations

import json
import stat

import jwt

from governor import create_app
from governor.security.keys import parse_jwks
from tests.conftest import settings_for
from tests.integration.test_audit_log import day_of_events
from tests.integration.test_checkpoints import rewrite_history
from tests.integration.test_cli import governor, one_line


def test_keys_generate_then_token_with_the_private_key_is_accepted(tmp_path, sqlite_template, clock):
    for kid, alg in (("k1", "EdDSA"), ("k2", "ES256"), ("k3", "RS256")):
        done = governor("keys", "generate", "--kid", kid, "--alg", alg, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert stat.S_IMODE((tmp_path / f"{kid}.pem").stat().st_mode) == 0o600
    keys = parse_jwks((tmp_path / "jwks.json").read_text())
    assert {k: v.algorithm for k, v in keys.items()} == {"k1": "EdDSA", "k2": "ES256", "k3": "RS256"}
    assert "PRIVATE" not in (tmp_path / "jwks.json").read_text()

    app = create_app(settings_for(f"sqlite:///{sqlite_template}", jwt_keys=str(tmp_path / "jwks.json")), clock=clock)
    client = app.test_client()
    for kid in ("k1", "k2", "k3"):
        done = governor("token", "--key", f"{kid}.pem", "--kid", kid, "--sub", "idp-web", "--scope", "sessions",
                        cwd=tmp_path)  # no secret needed: the key signs
        assert done.returncode == 0, done.stderr
        token = done.stdout.strip()
        assert jwt.get_unverified_header(token) == {"alg": keys[kid].algorithm, "kid": kid, "typ": "JWT"}
        r = client.get("/v1/users/u1/status", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.json
    app.extensions["governor"].db.dispose()


def test_keys_generate_never_overwrites_and_token_with_a_bad_key_is_one_line(tmp_path):
    assert governor("keys", "generate", "--kid", "k1", cwd=tmp_path).returncode == 0
    assert "already in" in one_line(governor("keys", "generate", "--kid", "k1", "--private-key", "other.pem",
                                             cwd=tmp_path))
    assert "never overwritten" in one_line(governor("keys", "generate", "--kid", "k2", "--private-key", "k1.pem",
                                                    cwd=tmp_path))
    assert len(parse_jwks((tmp_path / "jwks.json").read_text())) == 1
    assert "--key" in one_line(governor("token", "--key", "nope.pem", "--kid", "k1", "--sub", "a", "--scope",
                                        "admin", cwd=tmp_path))


def test_audit_checkpoint_and_verify_against_the_checkpoints(tmp_path, sqlite_template, clock):
    db = tmp_path / "governor.db"
    db.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{db}"
    app = create_app(settings_for(url), clock=clock)
    from tests.conftest import SECRET
    env = {"GOVERNOR_DATABASE_URL": url, "GOVERNOR_JWT_SECRET": SECRET}

    assert governor("audit", "keygen", "audit.key", cwd=tmp_path).returncode == 0
    assert stat.S_IMODE((tmp_path / "audit.key").stat().st_mode) == 0o600
    from governor.clock import SystemClock
    from governor.security.tokens import Authenticator
    auth = Authenticator(SECRET, "governor", "governor", 0)

    def token(scope, sub="t"):
        return {"Authorization": "Bearer " + auth.mint(sub, scope.split(), 600, SystemClock().now())}
    day_of_events(app.test_client(), clock, token)

    signed = {**env, "GOVERNOR_AUDIT_SIGNING_KEY": str(tmp_path / "audit.key"),
              "GOVERNOR_AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints")}
    done = governor("audit", "checkpoint", cwd=tmp_path, **signed)
    assert done.returncode == 0 and "signed the heads of 3 chains" in done.stdout, done.stderr

    rewrite_history(url, "kid-a", 2, client="someone-else")
    plain = governor("audit", "verify", cwd=tmp_path, **env)
    assert plain.returncode == 0 and json.loads(plain.stdout)["ok"] is True  # fooled

    anchored = governor("audit", "verify", "--checkpoints", "checkpoints", "--public-key", "audit.key.pub",
                        cwd=tmp_path, **env)  # the verifier holds only the public key
    assert anchored.returncode == 1, anchored.stderr
    out = json.loads(anchored.stdout)
    assert out["ok"] is False and out["checkpoints"]["ok"] is False
    assert out["checkpoints"]["checkpoints"] == 1 and out["checkpoints"]["chains"] == 3
    assert len(out["checkpoints"]["problems"]) == 1 and "history was rewritten" in out["checkpoints"]["problems"][0]

    assert "--public-key" in one_line(governor("audit", "verify", "--checkpoints", "checkpoints", cwd=tmp_path, **env))
    assert "GOVERNOR_AUDIT_SIGNING_KEY" in one_line(governor("audit", "checkpoint", cwd=tmp_path, **env))
    app.extensions["governor"].db.dispose()
