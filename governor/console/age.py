"""The age part of a user's page (DESIGN section 8): the band the signals give, today's span, the
sources that decided, the parental consent in force (and whether the band needs it), and every
signal with its provenance. Read through the same service as GET /v1/users/{uid}/age, so the page
shows what that endpoint shows and never a birth date."""
from __future__ import annotations

from dataclasses import dataclass

from governor.service import admin
from governor.service import age as ages


@dataclass(frozen=True)
class AgeSection:
    view: ages.AgeView
    consent_required: bool  # the band is one of the policy's `requires_parental_consent`


def section(svc, user_id: str) -> AgeSection:
    view = ages.get(svc, user_id)
    policy, _ = admin.active_policy(svc)
    rules = policy.bands.get(view.age.band)
    return AgeSection(view, bool(rules and rules.requires_parental_consent))


def span(age_min: int | None, age_max: int | None) -> str:
    """An age range as a person reads it: `12`, `13-15`, `18 or over`, `unknown`."""
    if age_min is None:
        return "unknown"
    if age_max is None:
        return f"{age_min} or over"
    return str(age_min) if age_min == age_max else f"{age_min}-{age_max}"
