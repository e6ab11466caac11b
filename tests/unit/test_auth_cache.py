"""Verified tokens are remembered, but never past their expiry."""
from datetime import datetime, timezone

import pytest
import time_machine

from governor.auth import Authenticator
from governor.errors import Unauthorized

SECRET = "unit-secret-0123456789abcdef0123456789abcdef"


def test_a_remembered_token_still_expires():
    auth = Authenticator(SECRET, "governor", "governor", leeway=10)
    start = datetime(2026, 12, 2, 0, 0, tzinfo=timezone.utc)
    with time_machine.travel(start, tick=False) as traveller:
        token = auth.mint("web", ["sessions"], ttl=60, now=start)
        assert auth.verify("Bearer " + token).sub == "web"
        traveller.shift(65)  # past exp, within the leeway
        assert auth.verify("Bearer " + token).scopes == {"sessions"}
        traveller.shift(10)  # past exp + leeway
        with pytest.raises(Unauthorized):
            auth.verify("Bearer " + token)


def test_a_forged_token_is_not_taken_from_the_cache():
    auth = Authenticator(SECRET, "governor", "governor", leeway=10)
    token = auth.mint("web", ["sessions"], ttl=60, now=datetime.now(timezone.utc))
    auth.verify("Bearer " + token)
    with pytest.raises(Unauthorized):
        auth.verify("Bearer " + token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
