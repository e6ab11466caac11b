"""Guardians' grants (DESIGN section 7): the band's cap on what all guardians together may give
a child for one local day."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from governor.domain.policy import Band


@dataclass(frozen=True)
class GrantRefused:
    """Why a guardian's grant is refused, with the figures the answer shows."""

    why: str
    cap: int | None
    granted: int


def guardian_grant_refusal(band: Band, cap: int | None, granted: int, asked: int, day: date) -> GrantRefused | None:
    """None when `asked` more minutes for `day` stay within the band's `guardian_grant_max_minutes`
    (`cap`, None: guardians may grant nothing) given the `granted` minutes of every guardian."""
    if cap is None:
        return GrantRefused(f"the {band.value} band lets guardians grant no time", None, granted)
    if granted + asked > cap:
        return GrantRefused(f"guardians may grant at most {cap} minutes a day in the {band.value} band "
                            f"({granted} granted for {day.isoformat()}, {asked} asked)", cap, granted)
    return None
