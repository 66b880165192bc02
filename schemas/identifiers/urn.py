"""Case Unique Reference Number: its force and unit prefix routes a case to its owning force.

Only the prefix and the length of the digits after it are enforced, as the real exchange does;
the usual split of those digits into sequence and year is not confirmed, so it is not checked.
"""

from __future__ import annotations

import re

from schemas.identifiers.checkchar import IdCheck, IdKind, accepted, rejected, tidy
from schemas.reasons import ReasonCode

_URN = re.compile(r"[0-9]{2}[A-Z0-9]{2}[0-9]{3,7}")
_EXPECTED = (
    "expected a 2-digit force code, a 2-character unit code and then 3 to 7 digits "
    "(spaces, slashes and hyphens are ignored)"
)


def _problem(cleaned: str) -> str:
    """Say which part of the URN is wrong."""
    if not cleaned:
        return f"URN is empty; {_EXPECTED}."
    force, unit, number = cleaned[:2], cleaned[2:4], cleaned[4:]
    if not (len(force) == 2 and force.isdigit()):
        return f"URN must start with a 2-digit force code; {_EXPECTED}."
    if not (len(unit) == 2 and unit.isalnum()):
        return f"URN unit code (characters 3-4) must be 2 letters or digits; {_EXPECTED}."
    if not number.isdigit():
        return f"URN must have only digits after the force and unit codes; {_EXPECTED}."
    return f"URN has {len(number)} digits after the force and unit codes; {_EXPECTED}."


def check_urn(text: str, field: str = "case_urn") -> IdCheck:
    """Check a URN's layout; whether its unit exists is for the standing-data stage."""
    cleaned = tidy(text, drop=" /-")
    if cleaned is None:
        message = f"URN contains a character that is not an ASCII letter or digit; {_EXPECTED}."
        return rejected(IdKind.URN, text, ReasonCode.URN_FORMAT, field, message)
    if _URN.fullmatch(cleaned) is None:
        return rejected(IdKind.URN, text, ReasonCode.URN_FORMAT, field, _problem(cleaned))
    return accepted(IdKind.URN, text, cleaned)


def _valid(urn: str) -> str:
    result = check_urn(urn)
    if result.normalized is None:
        raise ValueError(result.reason.message if result.reason else "not a URN")
    return result.normalized


def urn_force(urn: str) -> str:
    """The 2-digit force code that owns the case. Raises ValueError when ``urn`` is not a URN."""
    return _valid(urn)[:2]


def urn_unit(urn: str) -> str:
    """The 2-character unit code (characters 3-4). Raises ValueError when ``urn`` is not a URN."""
    return _valid(urn)[2:4]
