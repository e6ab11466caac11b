"""Age signals from the platforms' answers (docs/age-signals.md): Apple's Declared Age Range,
Google Play's Age Signals and the AB 1043 operating-system brackets, each mapped to the body of
`PUT /v1/users/{user_id}/age-signals/{source}`. Each returns None when the answer carries no age
(sharing declined, an unknown status): send nothing then."""
from __future__ import annotations

from typing import Any

APPLE_SOURCE, GOOGLE_PLAY_SOURCE, OS_SOURCE = "apple_declared_age_range", "google_play_age_signals", "os_age_signal"

# Apple's AgeRangeService.AgeRangeDeclaration cases (iOS 26, 26.2, 26.5) -> (method, assurance)
_APPLE = {
    "selfDeclared": ("self_declared", "low"),
    "guardianDeclared": ("guardian_declared", "substantial"),
    "paymentChecked": ("payment_checked", "substantial"),
    "guardianPaymentChecked": ("payment_checked", "substantial"),
    "governmentIDChecked": ("id_checked", "high"),
    "guardianGovernmentIDChecked": ("id_checked", "high"),
    "checkedByOtherMethod": ("other", "substantial"),
    "guardianCheckedByOtherMethod": ("other", "substantial"),
    "confirmed": ("other", "substantial"),
}
_PLAY_CONSENT = {"SUPERVISED": "granted", "SUPERVISED_APPROVAL_PENDING": "pending",
                 "SUPERVISED_APPROVAL_DENIED": "denied"}
# California AB 1043 (Civil Code 1798.500 ff., operative 2027-01-01): the four brackets
_BRACKETS = {"under_13": (0, 12), "13_15": (13, 15), "16_17": (16, 17), "18_plus": (18, None)}


def age_signal_from_apple(response: str, lower_bound: int | None = None, upper_bound: int | None = None,
                          declaration: str | None = None, parental_consent: str | None = None) -> dict[str, Any] | None:
    """Apple's `requestAgeRange` answer: `response` "sharing" (with the range's `lowerBound`,
    `upperBound` and `ageRangeDeclaration` case name) or "declinedSharing" (None). An unknown or
    missing declaration is taken as a self-declaration (it can then never give `adult`)."""
    if response != "sharing" or (lower_bound is None and upper_bound is None):
        return None
    method, assurance = _APPLE.get(declaration or "", ("self_declared", "low"))
    return _signal(lower_bound or 0, upper_bound, method, assurance, parental_consent)


def age_signal_from_google_play(user_status: str | None, age_lower: int | None = None,
                                age_upper: int | None = None) -> dict[str, Any] | None:
    """Google Play's `checkAgeSignals` answer: `VERIFIED` is 18 or over (checked by Google);
    `SUPERVISED*` is the parent-set range with the approval as the parental consent; anything else
    (`UNKNOWN`, empty) is no signal."""
    if user_status == "VERIFIED":
        return _signal(18, None, "other", "substantial", None)
    if user_status in _PLAY_CONSENT and age_lower is not None:
        return _signal(age_lower, age_upper, "guardian_declared", "substantial", _PLAY_CONSENT[user_status])
    return None


def age_signal_from_os_bracket(bracket: str) -> dict[str, Any]:
    """An AB 1043 bracket (`under_13`, `13_15`, `16_17`, `18_plus`); the statute deems the app to
    know it, so it counts as `other` at `substantial` assurance."""
    if bracket not in _BRACKETS:
        raise ValueError(f"unknown bracket {bracket!r}: one of {', '.join(_BRACKETS)}")
    lo, hi = _BRACKETS[bracket]
    return _signal(lo, hi, "other", "substantial", None)


def _signal(lo: int, hi: int | None, method: str, assurance: str, consent: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"age_min": lo, "age_max": hi, "method": method, "assurance": assurance}
    if consent is not None:
        body["parental_consent"] = consent
    return body
