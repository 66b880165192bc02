"""Build a synthetic force's profile from the CJS standing data.

Kept apart from the publisher (which force systems embed and which needs no standing data):
only the simulator, demos and benchmarks draw on it.
"""

from __future__ import annotations

from producers.simulator import ForceProfile
from streams.reference import StandingData

_FALLBACK_COURT_AREA = "01"  # forces with no courts of their own (City of London, BTP)
_SAMPLE = 40


def _spread(codes: list[str], n: int) -> list[str]:
    """``n`` codes spread evenly over the sorted list, so samples are stable and varied."""
    codes = sorted(codes)
    step = max(1, len(codes) // n)
    return codes[::step][:n]


def force_profile(standing: StandingData, force: str) -> ForceProfile:
    units = [u.code for u in standing.police_units(force) if u.third_level.isalpha()]
    area = force if any(c.force_area == force for c in standing.courts()) else None
    area = area or _FALLBACK_COURT_AREA
    courts = [c for c in standing.courts() if c.force_area == area]
    routed = [c for c in courts if standing.cps_area_for_court(c.code) is not None]
    offences = [
        o
        for o in standing.offences()
        if o.chargeable and o.title and len(o.code) == 7 and o.code[:2].isalpha()
    ]
    return ForceProfile(
        force=force,
        police_units=_spread(units, _SAMPLE),
        magistrates_courts=_spread([c.code for c in routed if c.kind == "MAGISTRATES"], 10),
        crown_courts=_spread([c.code for c in routed if c.kind == "CROWN"], 5),
        offences=_spread([o.code for o in offences if o.category in ("CE", "CS", "CM")], 60),
        indictable_offences=_spread([o.code for o in offences if o.category == "CI"], 20),
    )
