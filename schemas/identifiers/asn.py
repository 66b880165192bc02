"""Arrest/Summons Number: the identifier that ties a charge to its arrest and owning police unit.

Three written forms are accepted and all normalise to the 20-character long form
``YYFFUUSSnnnnnnnnnnnC``: the long form itself, the 21-character variant with a top-level OU
character after the year (dropped), and the short display form ``YY/FFUU/SS/<sequence>C``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.identifiers.checkchar import (
    IdCheck,
    IdKind,
    accepted,
    check_letter,
    is_ascii_digits,
    rejected,
    tidy,
    wrong_letter_message,
)
from schemas.reasons import ReasonCode

_LONG = re.compile(r"([0-9]{2})([A-Z0-9]{2})([A-Z0-9]{2})([A-Z0-9]{2})([0-9]{11})([A-Z])")
_SHORT = re.compile(r"([0-9]{2})/([A-Z0-9]{2})([A-Z0-9]{2})/([A-Z0-9]{2})/([0-9]{1,11})([A-Z])")
_CODE = re.compile(r"[A-Z0-9]{2}")
_SEQUENCE_DIGITS = 11
_EXPECTED = (
    "expected YYFFUUSSnnnnnnnnnnnC (20 characters: year, force, unit and system codes, "
    "11-digit sequence, check letter) or the short form YY/FFUU/SS/<sequence><check letter>"
)


@dataclass(frozen=True, slots=True)
class AsnParts:
    """The fields of an ASN; ``police_ou`` is what the exchange looks up in the standing data."""

    year: str
    force: str
    unit: str
    system: str
    sequence: str
    check: str

    @property
    def police_ou(self) -> str:
        """Force + unit + system: the 6-character police organisation unit that issued it."""
        return self.force + self.unit + self.system

    @property
    def long_form(self) -> str:
        """The normalised 20-character form."""
        return self.year + self.force + self.unit + self.system + self.sequence + self.check

    @property
    def expected_check(self) -> str:
        """The check letter the digits call for."""
        return _letter(self.year, self.force, self.system, self.sequence)


def _letter(year: str, force: str, system: str, sequence: str) -> str:
    # Force and system codes count only when they are all digits; the unit code never counts.
    digits = (
        (force if is_ascii_digits(force) else "")
        + (system if is_ascii_digits(system) else "")
        + year
        + sequence
    )
    return check_letter(int(digits))


def _long_problem(text: str) -> str:
    """Say which part of a 20-character ASN is malformed."""
    parts = (
        ("year", text[0:2], "2 digits", is_ascii_digits),
        ("force code", text[2:4], "2 letters or digits", _is_code),
        ("unit code", text[4:6], "2 letters or digits", _is_code),
        ("system code", text[6:8], "2 letters or digits", _is_code),
        ("sequence", text[8:19], "11 digits", is_ascii_digits),
        ("check letter", text[19:20], "a letter", str.isalpha),
    )
    for name, value, wanted, ok in parts:
        if not ok(value):
            return f"ASN {name} must be {wanted}, not '{value}'; {_EXPECTED}."
    return f"ASN is not in a recognised format; {_EXPECTED}."


def _short_problem(text: str) -> str:
    """Say which part of a slashed (short-form) ASN is malformed."""
    pieces = text.split("/")
    if len(pieces) != 4:
        return (
            f"ASN short form has {len(pieces) - 1} slashes; expected 3, as in "
            "YY/FFUU/SS/<sequence><check letter>."
        )
    year, force_unit, system, tail = pieces
    if not (len(year) == 2 and is_ascii_digits(year)):
        return f"ASN year (before the first slash) must be 2 digits; {_EXPECTED}."
    if not (len(force_unit) == 4 and _is_code(force_unit[:2]) and _is_code(force_unit[2:])):
        return f"ASN force and unit codes (FFUU) must be 4 letters or digits; {_EXPECTED}."
    if not _is_code(system):
        return f"ASN system code (SS) must be 2 letters or digits; {_EXPECTED}."
    if not tail or not tail[-1].isalpha():
        return "ASN short form must end with its check letter, after the sequence number."
    if not (1 <= len(tail) - 1 <= _SEQUENCE_DIGITS and is_ascii_digits(tail[:-1])):
        return "ASN sequence (after the last slash) must be 1 to 11 digits before the check letter."
    return f"ASN is not in a recognised format; {_EXPECTED}."


def _is_code(value: str) -> bool:
    return _CODE.fullmatch(value) is not None


def _parse(text: str) -> AsnParts | str:
    """The parts of any accepted form, or a message saying why the text is not an ASN."""
    cleaned = tidy(text, drop=" ")
    if cleaned is None:
        return f"ASN contains a character that is not an ASCII letter or digit; {_EXPECTED}."
    if not cleaned:
        return f"ASN is empty; {_EXPECTED}."
    if "/" in cleaned:
        short = _SHORT.fullmatch(cleaned)
        if short is None:
            return _short_problem(cleaned)
        year, force, unit, system, sequence, letter = short.groups()
        return AsnParts(year, force, unit, system, sequence.zfill(_SEQUENCE_DIGITS), letter)
    if len(cleaned) == 21:
        if not cleaned[2].isalnum():  # ASCII only: tidy() refused anything else
            return (
                f"ASN of 21 characters must have a top-level OU letter or digit after the year, "
                f"not '{cleaned[2]}'; {_EXPECTED}."
            )
        cleaned = cleaned[:2] + cleaned[3:]
    elif len(cleaned) != 20:
        missing = " (the check letter may be missing)" if len(cleaned) == 19 else ""
        return (
            f"ASN has {len(cleaned)} characters{missing}; {_EXPECTED}, or 21 characters with a "
            "top-level OU character after the year."
        )
    long = _LONG.fullmatch(cleaned)
    if long is None:
        return _long_problem(cleaned)
    return AsnParts(*long.groups())


def check_asn(text: str, field: str = "asn") -> IdCheck:
    """Check an ASN's format and check letter; unit lookup is left to the standing data stage."""
    parsed = _parse(text)
    if isinstance(parsed, str):
        return rejected(IdKind.ASN, text, ReasonCode.ASN_FORMAT, field, parsed)
    expected = parsed.expected_check
    if parsed.check != expected:
        message = wrong_letter_message("ASN", parsed.check, expected)
        return rejected(
            IdKind.ASN,
            text,
            ReasonCode.ASN_CHECK_CHARACTER,
            field,
            message,
            normalized=parsed.long_form,
        )
    return accepted(IdKind.ASN, text, parsed.long_form)


def asn_parts(asn: str) -> AsnParts:
    """Split an ASN in any accepted form; the check letter is not verified (``check_asn`` is).

    Raises ValueError when the text is not in an ASN format.
    """
    parsed = _parse(asn)
    if isinstance(parsed, str):
        raise ValueError(parsed)
    return parsed


def build_asn(year: int, force: str, unit: str, system: str, sequence: int) -> str:
    """A 20-character ASN with its check letter, for simulators and tests.

    ``year`` may be two digits (24) or a full year (2024); codes are 2 upper-case letters or
    digits. Raises ValueError on anything that would not make a well-formed ASN.
    """
    if not 0 <= year <= 9999:
        raise ValueError(f"ASN year must be 0-99 or a full year, not {year}")
    for name, code in (("force", force), ("unit", unit), ("system", system)):
        if not _is_code(code):
            raise ValueError(f"ASN {name} code must be 2 upper-case letters or digits: {code!r}")
    if not 0 <= sequence < 10**_SEQUENCE_DIGITS:
        raise ValueError(f"ASN sequence must be 0 to 11 digits, not {sequence}")
    yy = f"{year % 100:02d}"
    seq = f"{sequence:0{_SEQUENCE_DIGITS}d}"
    return yy + force + unit + system + seq + _letter(yy, force, system, seq)
