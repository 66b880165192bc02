"""Organisation-unit codes: where a court or police unit sits in the CJS hierarchy.

Police units have 6 characters (second, third and bottom level); courts and other top-level
bodies have 7, the first being the top level (``B`` magistrates' court, ``C`` Crown Court).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.identifiers.checkchar import IdCheck, IdKind, accepted, rejected, tidy
from schemas.reasons import ReasonCode

_OU = re.compile(r"([A-Z]?)([A-Z0-9]{2})([A-Z0-9]{2})([A-Z0-9]{2})")
_COURT_TOP_LEVELS = ("B", "C")
_EXPECTED = (
    "expected 6 letters or digits for a police unit (for example 01ZD00) or a top-level "
    "letter and 6 letters or digits for a court (for example B01EF00)"
)


@dataclass(frozen=True, slots=True)
class OuParts:
    """The levels of an OU code; ``top`` is '' for a 6-character (police) code."""

    top: str
    second: str
    third: str
    bottom: str

    @property
    def is_court(self) -> bool:
        """True for a magistrates' court (B) or Crown Court (C)."""
        return self.top in _COURT_TOP_LEVELS

    @property
    def force_area(self) -> str:
        """The second level: the police force area, which decides a court's CPS area."""
        return self.second

    @property
    def code(self) -> str:
        """The normalised code."""
        return self.top + self.second + self.third + self.bottom


def _problem(cleaned: str) -> str:
    if not cleaned:
        return f"Organisation-unit code is empty; {_EXPECTED}."
    if len(cleaned) not in (6, 7):
        return f"Organisation-unit code has {len(cleaned)} characters; {_EXPECTED}."
    if len(cleaned) == 7 and not cleaned[0].isalpha():
        return f"A 7-character organisation-unit code must start with a letter; {_EXPECTED}."
    return f"Organisation-unit code must be letters and digits only; {_EXPECTED}."


def _parse(text: str) -> OuParts | str:
    cleaned = tidy(text)
    if cleaned is None:
        return (
            "Organisation-unit code contains a character that is not an ASCII letter or "
            f"digit; {_EXPECTED}."
        )
    matched = _OU.fullmatch(cleaned)
    if matched is None:
        return _problem(cleaned)
    return OuParts(*matched.groups())


def check_ou(text: str, field: str = "ou") -> IdCheck:
    """Check an OU code's layout; whether the unit exists is for the standing-data stage."""
    parsed = _parse(text)
    if isinstance(parsed, str):
        return rejected(IdKind.OU, text, ReasonCode.OU_FORMAT, field, parsed)
    return accepted(IdKind.OU, text, parsed.code)


def ou_parts(code: str) -> OuParts:
    """Split an OU code into its levels. Raises ValueError when it is not in the OU layout."""
    parsed = _parse(code)
    if isinstance(parsed, str):
        raise ValueError(parsed)
    return parsed
