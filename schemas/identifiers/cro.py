"""CRO number: the Criminal Records Office number, in the standard or the small-format form.

Standard ``NNNNNN/YYC`` normalises with the serial zero-padded to 6 digits; small-format
``SFYY/NNNNNNC`` keeps its serial as written, because its check letter is computed over the
serial as written and padding it would change the number.
"""

from __future__ import annotations

import re

from schemas.identifiers.checkchar import (
    IdCheck,
    IdKind,
    accepted,
    check_letter,
    rejected,
    tidy,
    wrong_letter_message,
)
from schemas.reasons import ReasonCode

_STANDARD = re.compile(r"([0-9]{1,6})/([0-9]{2})([A-Z])")
_SMALL_FORMAT = re.compile(r"SF([0-9]{2})/([0-9]{1,6})([A-Z])")
_SERIAL_DIGITS = 6
_EXPECTED = (
    "expected NNNNNN/YYC (serial of up to 6 digits, slash, 2-digit year, check letter) or "
    "SFYY/NNNNNNC (SF, 2-digit year, slash, serial of up to 6 digits, check letter)"
)


def _problem(cleaned: str) -> str:
    """Say what is wrong with text that matched neither form."""
    if not cleaned:
        return f"CRO number is empty; {_EXPECTED}."
    if not cleaned[-1].isalpha():
        return f"CRO number must end with its check letter; {_EXPECTED}."
    if cleaned.count("/") != 1:
        return f"CRO number must have exactly one slash; {_EXPECTED}."
    before, _, after = cleaned[:-1].partition("/")
    year = before[2:] if cleaned.startswith("SF") else after
    if not (len(year) == 2 and year.isdigit()):
        return f"CRO number year must be 2 digits; {_EXPECTED}."
    return f"CRO number serial must be 1 to 6 digits; {_EXPECTED}."


def _parse(cleaned: str) -> tuple[str, str, str] | None:
    """(normalised form without its letter, digits the letter is computed over, given letter)."""
    standard = _STANDARD.fullmatch(cleaned)
    if standard is not None:
        serial, year, letter = standard.groups()
        padded = serial.zfill(_SERIAL_DIGITS)
        return f"{padded}/{year}", year + padded, letter
    small = _SMALL_FORMAT.fullmatch(cleaned)
    if small is not None:
        year, serial, letter = small.groups()
        return f"SF{year}/{serial}", year + serial, letter
    return None


def check_cro(text: str, field: str = "cro_number") -> IdCheck:
    """Check a CRO number's format and check letter."""
    cleaned = tidy(text, drop=" ")
    if cleaned is None:
        message = (
            f"CRO number contains a character that is not an ASCII letter or digit; {_EXPECTED}."
        )
        return rejected(IdKind.CRO, text, ReasonCode.CRO_FORMAT, field, message)
    parsed = _parse(cleaned)
    if parsed is None:
        return rejected(IdKind.CRO, text, ReasonCode.CRO_FORMAT, field, _problem(cleaned))
    stem, digits, letter = parsed
    normalized = stem + letter
    expected = check_letter(int(digits))
    if letter != expected:
        message = wrong_letter_message("CRO number", letter, expected)
        return rejected(
            IdKind.CRO, text, ReasonCode.CRO_CHECK_CHARACTER, field, message, normalized
        )
    return accepted(IdKind.CRO, text, normalized)


def build_cro(serial: int, year: int) -> str:
    """A standard-form CRO number ``NNNNNN/YYC``, for simulators and tests.

    ``year`` may be two digits (65) or a full year (1965).
    """
    if not 0 <= serial < 10**_SERIAL_DIGITS:
        raise ValueError(f"CRO serial must be 0 to 6 digits, not {serial}")
    if not 0 <= year <= 9999:
        raise ValueError(f"CRO year must be 0-99 or a full year, not {year}")
    padded = f"{serial:0{_SERIAL_DIGITS}d}"
    yy = f"{year % 100:02d}"
    return f"{padded}/{yy}{check_letter(int(yy + padded))}"
