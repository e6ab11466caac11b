"""The published contract holds: Schemathesis generates requests for every operation of
/openapi.json (its examples, coverage and fuzzing phases, valid and invalid data), sends them to
the real app with a token of the operation's scope, and checks every answer against the
document: no 500, only documented statuses and media types, bodies that fit their schemas,
invalid data refused, and auth enforced. Bounded and derandomized, so it is the same run each
time and takes well under a minute."""
from __future__ import annotations

import os
import shutil

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from governor import create_app
from governor.api.openapi import document
from governor.auth import Authenticator
from governor.clock import FakeClock, SystemClock
from tests.conftest import SECRET, settings_for, shanghai

CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "negative_data_rejection", "ignored_auth"]
CONFIG = {
    "seed": int(os.environ.get("GOVERNOR_CONTRACT_SEED", "8")),
    # GOVERNOR_CONTRACT_EXAMPLES=200 for a deeper (slower) run than the one `make test` makes
    "generation": {"max-examples": int(os.environ.get("GOVERNOR_CONTRACT_EXAMPLES", "12")), "deterministic": True},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS},
               "negative_data_rejection": {"enabled": True, "expected-statuses": [
                   "400", "401", "403", "404", "405", "409", "413", "415", "422", "429"]}},
}


@pytest.fixture(scope="module")
def contract_app(sqlite_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("contract") / "governor.db"
    shutil.copy(sqlite_template, path)
    app = create_app(settings_for(f"sqlite:///{path}"), clock=FakeClock(shanghai(2026, 12, 2, 7, 0)))
    yield app
    app.extensions["governor"].db.dispose()


@pytest.fixture(scope="module")
def tokens():
    auth = Authenticator(SECRET, "governor", "governor", 0)
    now = SystemClock().now()
    return {scope: auth.mint(f"contract-{scope}", [scope], 3600, now)
            for scope in ("sessions", "age", "admin", "audit")}


# The document the app serves (built from the same code, needing no app): one test per operation.
schema = schemathesis.openapi.from_dict(document(), config=SchemathesisConfig.from_dict(CONFIG))


@schema.parametrize()
def test_every_operation_keeps_the_contract(case, contract_app, tokens):
    assert contract_app.test_client().get("/openapi.json").json == schema.raw_schema
    case.operation.schema.app = contract_app
    security = case.operation.definition.raw.get("security")
    headers = {"Authorization": f"Bearer {tokens[security[0]['bearer'][0]]}"} if security else None
    case.call_and_validate(headers=headers, app=contract_app)
