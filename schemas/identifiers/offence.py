"""National CJS offence codes: the Act (2 letters), its year and a number, or common law.

Only the layout is checked here; whether a code is current, and chargeable, is decided against
the standing data's offence list.
"""

from __future__ import annotations

import re

from schemas.identifiers.checkchar import IdCheck, IdKind, accepted, rejected, tidy
from schemas.reasons import ReasonCode

# Act letters, the Act's 2-digit year, then 3 letters or digits: the standing data has codes
# such as TH68A11 and SX03A01 beside the usual TH68010. ``XX00nnn`` indictment forms fit too.
# The optional final letter is a qualifier (A attempt, B aid/abet, C conspiracy, I incite).
_OFFENCE = re.compile(r"[A-Z]{2}[0-9]{2}[0-9A-Z]{3}[A-Z]?|COML[0-9]{3}[A-Z]?")
_EXPECTED = (
    "expected 2 letters, 2 digits and 3 letters or digits (for example TH68010) or COML and "
    "3 digits, either optionally followed by a qualifier letter"
)


def _problem(cleaned: str) -> str:
    if not cleaned:
        return f"Offence code is empty; {_EXPECTED}."
    if cleaned.startswith("COML"):
        return "A common-law offence code must be COML, 3 digits and an optional qualifier letter."
    if not cleaned[:2].isalpha():
        return f"Offence code must start with 2 letters for the Act; {_EXPECTED}."
    return f"Offence code must have the Act's 2-digit year and 3 more characters; {_EXPECTED}."


def check_offence_code(text: str, field: str = "offence_code") -> IdCheck:
    """Check an offence code's layout; whether it is a known offence is checked elsewhere."""
    cleaned = tidy(text, drop=" ")
    if cleaned is None:
        message = (
            f"Offence code contains a character that is not an ASCII letter or digit; {_EXPECTED}."
        )
        return rejected(IdKind.OFFENCE, text, ReasonCode.OFFENCE_CODE_FORMAT, field, message)
    if _OFFENCE.fullmatch(cleaned) is None:
        message = _problem(cleaned)
        return rejected(IdKind.OFFENCE, text, ReasonCode.OFFENCE_CODE_FORMAT, field, message)
    return accepted(IdKind.OFFENCE, text, cleaned)
