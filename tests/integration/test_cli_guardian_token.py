"""`governor token --guardian-id` (issue 18.4): a guardian token bound to one guardian, minted by
the command line, acts for that guardian alone through the API (404 for another); the option goes
only with the guardian scope and takes a guardian id's characters."""
from __future__ import annotations

import jwt

from tests.conftest import SECRET
from tests.integration.test_cli import governor, one_line

ENV = {"GOVERNOR_JWT_SECRET": SECRET}


def minted(tmp_path, *args: str) -> str:
    done = governor("token", "--sub", "parent-app", *args, cwd=tmp_path, **ENV)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_bound_guardian_token_acts_for_its_guardian_alone(tmp_path, client, token):
    bound = minted(tmp_path, "--scope", "guardian", "--guardian-id", "g-mum-7")
    claims = jwt.decode(bound, SECRET, algorithms=["HS256"], audience="governor")
    assert claims["guardian_id"] == "g-mum-7" and claims["scope"] == "guardian" and claims["sub"] == "parent-app"
    assert "guardian_id" not in jwt.decode(minted(tmp_path, "--scope", "guardian"), SECRET, algorithms=["HS256"],
                                           audience="governor")
    age = token("age")
    for gid in ("g-mum-7", "g-dad-3"):
        assert client.put(f"/v1/users/kid/guardians/{gid}", headers=age).status_code == 200
    auth = {"Authorization": f"Bearer {bound}"}
    own = client.get("/v1/guardians/g-mum-7/children", headers=auth)
    assert own.status_code == 200 and [c["user_id"] for c in own.json["children"]] == ["kid"]
    assert client.get("/v1/guardians/g-dad-3/children", headers=auth).status_code == 404


def test_a_key_signed_token_carries_it_too(tmp_path):
    assert governor("keys", "generate", "--kid", "k1", cwd=tmp_path, **ENV).returncode == 0
    signed = minted(tmp_path, "--key", "k1.pem", "--scope", "guardian", "--guardian-id", "g-1")
    assert jwt.decode(signed, options={"verify_signature": False})["guardian_id"] == "g-1"


def test_it_goes_with_the_guardian_scope_and_a_guardian_ids_characters(tmp_path):
    line = one_line(governor("token", "--sub", "fe", "--scope", "sessions", "--guardian-id", "g-1", cwd=tmp_path,
                             **ENV))
    assert line == "governor: --guardian-id: goes with --scope guardian"
    for bad in ("g mum", "", "x" * 129, "g/1"):
        line = one_line(governor("token", "--sub", "p", "--scope", "guardian", "--guardian-id", bad, cwd=tmp_path,
                                 **ENV))
        assert line.startswith("governor: --guardian-id: 1-128 characters of A-Z a-z 0-9 . _ : @ -"), line
