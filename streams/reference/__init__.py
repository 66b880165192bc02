"""CJS standing data (forces, organisation units, courts, offences, results) and CPS routing.

Shipped as a snapshot of the Bichard 7 standing-data package so that no npm or network is
needed at run time. The snapshot is refreshed by ``python -m tools.standing_data_snapshot``
(a maintainer's tool, deliberately not imported here).
"""

from streams.reference.standing import (
    QUALIFIERS,
    Court,
    CourtKind,
    CpsArea,
    Force,
    ModeOfTrial,
    Offence,
    OrganisationUnit,
    ResultCode,
    SourceInfo,
    StandingData,
    Trigger,
)

__all__ = [
    "QUALIFIERS",
    "Court",
    "CourtKind",
    "CpsArea",
    "Force",
    "ModeOfTrial",
    "Offence",
    "OrganisationUnit",
    "ResultCode",
    "SourceInfo",
    "StandingData",
    "Trigger",
]
