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
from governor.clock import FakeClock, SystemClock
from governor.security.tokens import Authenticator
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


# The document the app serves (built from the same code, needing no app): one test per operation.
schema = schemathesis.openapi.from_dict(document(), config=SchemathesisConfig.from_dict(CONFIG))




def scope_of(case, _ctx=None) -> str | None:
    security = case.operation.definition.raw.get("security")
    return security[0]["bearer"][0] if security else None


@schema.auth(cache_by_key=scope_of)
class ScopedTokens:
    """A token with the scope the operation asks for (given to Schemathesis as the auth, so that
    its own auth checks take tokens away and forge them)."""

    def get(self, case, ctx):
        scope = scope_of(case)
        if scope is None:
            return None
        auth = Authenticator(SECRET, "governor", "governor", 0)
        return auth.mint(f"contract-{scope}", [scope], 3600, SystemClock().now())

    def set(self, case, token, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@schema.parametrize()
def test_every_operation_keeps_the_contract(case, contract_app):
    assert contract_app.test_client().get("/openapi.json").json == schema.raw_schema
    case.operation.schema.app = contract_app  # for the probes of Schemathesis's own checks too
    case.call_and_validate(app=contract_app)
