"""Age verification rules (DESIGN section 2) through the HTTP API."""
import pytest

from tests.conftest import shanghai

UID = "user-1"


@pytest.mark.parametrize(("status", "birth_date", "band", "remaining"), [
    ("verified", "1990-01-01", "adult", None),
    ("verified", "2014-06-15", "age_8_15", 3600),
    ("verified", "2009-06-15", "age_16_17", 7200),
    ("verified", "2020-06-15", "under_8", 2400),
    ("self_declared", "1990-01-01", "unverified", 2400),   # can never unlock the adult band
    ("self_declared", "2014-06-15", "age_8_15", 3600),     # asking for protection is believed
    ("self_declared", "2009-06-15", "age_16_17", 7200),
    ("unverified", None, "unverified", 2400),
])
def test_the_band_a_verification_gives(api, status, birth_date, band, remaining):
    r = api.verify(UID, birth_date, status=status)
    assert r.json["band"] == band
    assert (r.json["status"], r.json["birth_date"]) == (status, birth_date)
    s = api.status(UID)
    assert (s["band"], s["remaining_seconds"]) == (band, remaining)
    assert s["verification"]["status"] == status


def test_the_stored_verification_is_returned_in_full(api):
    r = api.verify(UID, "2014-06-15", method="id_document", provider="acme-kyc", assurance="substantial",
                   expires_at="2027-12-02T00:00:00+08:00")
    assert r.json == {
        "user_id": UID, "status": "verified", "birth_date": "2014-06-15", "method": "id_document",
        "provider": "acme-kyc", "assurance": "substantial", "expires_at": "2027-12-01T16:00:00+00:00",
        "verified_at": "2026-12-01T23:00:00+00:00", "band": "age_8_15"}
    hidden = ("user_id", "band", "birth_date")  # status shows a frontend everything but the birth date
    assert api.status(UID)["verification"] == {k: v for k, v in r.json.items() if k not in hidden}


def test_unverified_keeps_no_birth_date(api):
    api.verify(UID, "2014-06-15")
    r = api.verify(UID, "2014-06-15", status="unverified")
    assert (r.json["band"], r.json["birth_date"]) == ("unverified", None)
    assert "birth_date" not in api.status(UID)["verification"]


def test_a_verification_that_expired_counts_as_unverified(api):
    r = api.verify(UID, "1990-01-01", expires_at="2026-12-01T00:00:00+08:00")
    assert (r.json["band"], r.json["status"]) == ("unverified", "expired")
    s = api.status(UID)
    assert s["band"] == "unverified" and s["verification"]["status"] == "expired"
    assert s["verification"]["expires_at"] == "2026-11-30T16:00:00+00:00"


def test_a_verification_expires_on_time(api, clock):
    api.verify(UID, "1990-01-01", expires_at="2026-12-02T12:00:00+08:00")
    clock.set(shanghai(2026, 12, 2, 11, 59, 59))
    s = api.status(UID)
    assert (s["band"], s["verification"]["status"]) == ("adult", "verified")
    clock.set(shanghai(2026, 12, 2, 12, 0))
    s = api.status(UID)
    assert (s["band"], s["remaining_seconds"]) == ("unverified", 2400)
    assert s["verification"]["status"] == "expired"  # reads as what it is now, not "verified"


def test_a_birthday_moves_the_band_without_touching_the_record(api, clock):
    r = api.verify(UID, "2010-12-03")               # sixteen tomorrow
    assert r.json["band"] == "age_8_15"
    record = api.status(UID)["verification"]
    clock.set(shanghai(2026, 12, 2, 23, 59, 59))
    assert api.status(UID)["band"] == "age_8_15"
    clock.set(shanghai(2026, 12, 3, 0, 0))          # Shanghai midnight, not UTC midnight
    clock.advance(seconds=7 * 3600)
    s = api.status(UID)
    assert (s["band"], s["remaining_seconds"]) == ("age_16_17", 7200)
    assert s["verification"] == record


def test_the_birthday_is_a_local_date(api, clock):
    api.verify(UID, "2008-12-03")                   # eighteen on 2026-12-03 in Shanghai
    clock.set(shanghai(2026, 12, 3, 0, 30))         # still 2026-12-02 in UTC
    assert api.status(UID)["band"] == "adult"

