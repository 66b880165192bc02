"""PNC ID: the Police National Computer's identifier for a person, ``YYYY/NNNNNNNC``.

Also accepted: the same without the slash, and the legacy short form ``YY/NNNNNNC`` (two-digit
year, serial without leading zeros) found in old records; both normalise to ``YYYY/NNNNNNNC``.
"""

from __future__ import annotations

import re
from datetime import date

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

_FULL = re.compile(r"([0-9]{4})/?([0-9]{7})([A-Z])")
_LEGACY = re.compile(r"([0-9]{2})/([0-9]{1,7})([A-Z])")
_SERIAL_DIGITS = 7
_EXPECTED = (
    "expected YYYY/NNNNNNNC (4-digit year, slash, 7-digit serial, check letter), the same "
    "without the slash, or the legacy YY/NNNNNNC"
)


def _letter(year: str, serial: str) -> str:
    # Only the last two digits of the year count, so the century never changes the letter.
    return check_letter(int(year[-2:] + serial))


def _century(two_digits: str, current_year: int) -> str:
    """19YY when YY is later than this year's last two digits, else 20YY.

    A PNC ID cannot be issued in the future, so a two-digit year ahead of this year must belong
    to the last century. The result only fills in the normalised form: the check letter does not
    depend on the century.
    """
    century = "19" if int(two_digits) > current_year % 100 else "20"
    return century + two_digits


def _problem(cleaned: str) -> str:
    """Say what is wrong with text that matched no accepted form."""
    if not cleaned:
        return f"PNC ID is empty; {_EXPECTED}."
    if not cleaned[-1].isalpha():
        return f"PNC ID must end with its check letter; {_EXPECTED}."
    body = cleaned[:-1]
    year, slash, serial = body.partition("/")
    if not slash:
        year, serial = body[:4], body[4:]
    if "/" in serial:
        return f"PNC ID has more than one slash; {_EXPECTED}."
    if len(year) not in (2, 4) or not year.isdigit():
        return f"PNC ID year must be 4 digits (or 2 in the legacy form); {_EXPECTED}."
    if not serial:
        return f"PNC ID has no serial number; {_EXPECTED}."
    if not serial.isdigit():
        return f"PNC ID serial must be digits only; {_EXPECTED}."
    return (
        f"PNC ID serial has {len(serial)} digits; expected 7 after a 4-digit year "
        "(or 1 to 7 after a 2-digit year)."
    )


def check_pnc_id(text: str, field: str = "pnc_id", *, current_year: int | None = None) -> IdCheck:
    """Check a PNC ID's format and check letter.

    ``current_year`` settles the century of a legacy two-digit year (today's year by default);
    pass it to make the normalised form reproducible.
    """
    cleaned = tidy(text, drop=" ")
    if cleaned is None:
        message = f"PNC ID contains a character that is not an ASCII letter or digit; {_EXPECTED}."
        return rejected(IdKind.PNC, text, ReasonCode.PNC_ID_FORMAT, field, message)
    full = _FULL.fullmatch(cleaned)
    if full is not None:
        year, serial, letter = full.groups()
    else:
        legacy = _LEGACY.fullmatch(cleaned)
        if legacy is None:
            return rejected(IdKind.PNC, text, ReasonCode.PNC_ID_FORMAT, field, _problem(cleaned))
        short_year, short_serial, letter = legacy.groups()
        this_year = date.today().year if current_year is None else current_year
        year = _century(short_year, this_year)
        serial = short_serial.zfill(_SERIAL_DIGITS)
    normalized = f"{year}/{serial}{letter}"
    expected = _letter(year, serial)
    if letter != expected:
        message = wrong_letter_message("PNC ID", letter, expected)
        return rejected(
            IdKind.PNC, text, ReasonCode.PNC_ID_CHECK_CHARACTER, field, message, normalized
        )
    return accepted(IdKind.PNC, text, normalized)


def build_pnc_id(year: int, serial: int) -> str:
    """A PNC ID ``YYYY/NNNNNNNC`` with its check letter, for simulators and tests."""
    if not 1000 <= year <= 9999:
        raise ValueError(f"PNC ID year must have 4 digits, not {year}")
    if not 0 <= serial < 10**_SERIAL_DIGITS:
        raise ValueError(f"PNC ID serial must be 0 to 7 digits, not {serial}")
    yyyy = f"{year:04d}"
    digits = f"{serial:0{_SERIAL_DIGITS}d}"
    return f"{yyyy}/{digits}{_letter(yyyy, digits)}"
