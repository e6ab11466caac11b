"""A decision's whole seconds: used (floored) and remaining (ceiled) add up to the allowance; and a
verification reads `expired` from its `expires_at` on."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from governor.domain.decision import Decision, Reason, Verification
from governor.domain.policy import Band

LIMIT = timedelta(minutes=60)


def decision(used: timedelta, remaining: timedelta | None) -> Decision:
    return Decision(user_id="u", allowed=True, reason=Reason.OK, band=Band.AGE_8_15, used_today=used,
                    remaining=remaining, ends_at=None, retry_at=None, warnings=(), policy_name="p", policy_version=1)


@pytest.mark.parametrize("used_ms", [0, 1, 499, 500, 999, 1000, 60_500, 3_599_001, 3_599_999, 3_600_000])
def test_used_and_remaining_add_up_to_the_allowance(used_ms):
    used = timedelta(milliseconds=used_ms)
    d = decision(used, LIMIT - used)
    assert d.used_today_seconds + d.remaining_seconds == 3600
    assert d.used_today_seconds == used_ms // 1000


def test_a_decision_that_allows_never_says_zero_seconds_remain_and_unlimited_is_none():
    assert decision(timedelta(0), timedelta(milliseconds=1)).remaining_seconds == 1
    assert decision(timedelta(hours=5), None).remaining_seconds is None


def test_a_verification_reads_expired_from_its_expires_at_on():
    at = datetime(2026, 12, 2, 4, 0, tzinfo=timezone.utc)
    v = Verification(status="verified", birth_date=date(2014, 3, 1), expires_at=at)
    assert v.status_at(at - timedelta(microseconds=1)) == "verified"
    assert v.status_at(at) == "expired"
    assert Verification(status="self_declared", birth_date=date(2014, 3, 1)).status_at(at) == "self_declared"
