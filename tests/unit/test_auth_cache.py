"""Verified tokens are remembered, but never past their expiry."""
from datetime import datetime, timezone

import pytest
import time_machine

from governor.errors import Unauthorized
from governor.security.tokens import Authenticator

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


def test_a_revoked_jti_is_refused_although_the_token_is_cached():
    from governor.clock import FakeClock
    from governor.security.revocations import Revocations

    clock = FakeClock(datetime(2026, 12, 2, tzinfo=timezone.utc))
    revoked: set[str] = set()
    reads = []

    def load(now):
        reads.append(now)
        return frozenset(revoked)
    auth = Authenticator(SECRET, "governor", "governor", leeway=10, revocations=Revocations(load, clock))
    token = auth.mint("web", ["sessions"], ttl=600, now=datetime.now(timezone.utc))
    principal = auth.verify("Bearer " + token)
    assert principal.jti
    revoked.add(principal.jti)
    clock.advance(seconds=1.9)
    assert auth.verify("Bearer " + token).sub == "web"  # the set read 1.9 s ago is still current
    clock.advance(seconds=0.1)
    with pytest.raises(Unauthorized):
        auth.verify("Bearer " + token)
    assert len(reads) == 2


def test_a_clock_stepped_back_does_not_freeze_the_revoked_set():
    from governor.clock import FakeClock
    from governor.security.revocations import Revocations

    clock = FakeClock(datetime(2026, 12, 2, tzinfo=timezone.utc))
    reads = []
    revocations = Revocations(lambda now: reads.append(now) or frozenset(), clock)
    assert "x" not in revocations
    clock.advance(hours=-1)
    assert "x" not in revocations
    assert len(reads) == 2
