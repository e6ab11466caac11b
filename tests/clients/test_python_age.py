"""governor_client's age-signal mappings (docs/age-signals.md) against the platforms' documented
answers, and set_age_signal against the real app."""
from __future__ import annotations

import httpx
import pytest
from governor_client import (
    GovernorError,
    age_signal_from_apple,
    age_signal_from_google_play,
    age_signal_from_os_bracket,
)

from tests.clients.conftest import client_on


@pytest.mark.parametrize("answer,expected", [
    (("sharing", 13, 15, "guardianDeclared"), (13, 15, "guardian_declared", "substantial")),
    (("sharing", 18, None, "selfDeclared"), (18, None, "self_declared", "low")),
    (("sharing", 18, None, "governmentIDChecked"), (18, None, "id_checked", "high")),
    (("sharing", 16, 17, "guardianPaymentChecked"), (16, 17, "payment_checked", "substantial")),
    (("sharing", None, 12, "confirmed"), (0, 12, "other", "substantial")),
    (("sharing", 13, 15, None), (13, 15, "self_declared", "low")),
    (("sharing", 13, 15, "somethingNew"), (13, 15, "self_declared", "low")),
])
def test_apple_declared_age_range(answer, expected):
    got = age_signal_from_apple(*answer)
    assert (got["age_min"], got["age_max"], got["method"], got["assurance"]) == expected
    assert "parental_consent" not in got
    assert age_signal_from_apple("declinedSharing") is None
    assert age_signal_from_apple("sharing", 13, 15, "guardianDeclared", "revoked")["parental_consent"] == "revoked"


@pytest.mark.parametrize("answer,expected", [
    (("VERIFIED",), (18, None, "other", "substantial", None)),
    (("SUPERVISED", 13, 15), (13, 15, "guardian_declared", "substantial", "granted")),
    (("SUPERVISED_APPROVAL_PENDING", 0, 12), (0, 12, "guardian_declared", "substantial", "pending")),
    (("SUPERVISED_APPROVAL_DENIED", 16, 17), (16, 17, "guardian_declared", "substantial", "denied")),
])
def test_google_play_age_signals(answer, expected):
    got = age_signal_from_google_play(*answer)
    assert (got["age_min"], got["age_max"], got["method"], got["assurance"], got.get("parental_consent")) == expected
    for nothing in ("UNKNOWN", "", None, "DECLARED"):
        assert age_signal_from_google_play(nothing, 13, 15) is None


def test_ab_1043_brackets():
    assert [(s["age_min"], s["age_max"]) for s in map(age_signal_from_os_bracket,
                                                       ("under_13", "13_15", "16_17", "18_plus"))] == [
        (0, 12), (13, 15), (16, 17), (18, None)]
    with pytest.raises(ValueError):
        age_signal_from_os_bracket("13-15")


def test_set_age_signal_and_its_bands_under_the_default_policy(app, bearer):
    with client_on(httpx.WSGITransport(app=app), bearer("age")) as c:
        assert c.set_age_signal("kid", "os_age_signal", age_signal_from_os_bracket("13_15"))["age"]["band"] == \
            "age_8_15"
        adult = c.set_age_signal("grown", "apple_declared_age_range", age_signal_from_apple("sharing", 18, None,
                                                                                             "selfDeclared"))
        assert adult["age"]["band"] == "unverified"  # a self-declared adult unlocks nothing
        assert c.withdraw_age_signal("kid", "os_age_signal")["band"] == "unverified"
        with pytest.raises(GovernorError) as caught:
            c.set_age_signal("kid", "os_age_signal", {**age_signal_from_os_bracket("13_15"), "age_max": 3})
        assert caught.value.status == 422
