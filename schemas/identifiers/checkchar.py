"""The check alphabet shared by ASN, PNC ID and CRO number, and the result type of every check.

The result type lives here, beside the alphabet, so that each identifier module can import it
without importing the package (which imports them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from schemas.reasons import Reason, ReasonCode

CHECK_ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"
"""Remainder mod 23 -> letter. I, O and S are left out because they read as 1, 0 and 5."""

_ASCII_DIGITS = re.compile(r"[0-9]+")


class IdKind(StrEnum):
    """The identifiers the exchange checks; the values are what users type (`cjsx check-id asn`)."""

    ASN = "asn"
    PNC = "pnc"
    CRO = "cro"
    URN = "urn"
    OU = "ou"
    OFFENCE = "offence"


@dataclass(frozen=True, slots=True)
class IdCheck:
    """The outcome of checking one identifier: never an exception, always a value to report.

    ``normalized`` is set whenever the text could be parsed, including when only the check
    letter is wrong, so a caller can still look the identifier up or show it corrected.
    """

    kind: IdKind
    input: str
    normalized: str | None
    reason: Reason | None

    @property
    def valid(self) -> bool:
        """True when there is nothing to report."""
        return self.reason is None


def check_letter(number: int) -> str:
    """The check letter of a non-negative number (its remainder mod 23 through the alphabet)."""
    if number < 0:
        raise ValueError(f"check letters are defined for non-negative numbers, not {number}")
    return CHECK_ALPHABET[number % 23]


def is_ascii_digits(text: str) -> bool:
    """True for one or more of 0-9 only; ``str.isdigit`` would also accept digits such as '٣'."""
    return _ASCII_DIGITS.fullmatch(text) is not None


def tidy(text: str, drop: str = "") -> str | None:
    """Strip, remove the separator characters in ``drop`` and upper-case; None if not ASCII.

    Non-ASCII text is refused before upper-casing because ``str.upper`` turns some non-ASCII
    letters into ASCII ones (long s U+017F becomes 'S', dotless i U+0131 becomes 'I'), which
    would let a lookalike pass.
    """
    cleaned = text.strip()
    for separator in drop:
        cleaned = cleaned.replace(separator, "")
    if not cleaned.isascii():
        return None
    return cleaned.upper()


def accepted(kind: IdKind, text: str, normalized: str) -> IdCheck:
    """A valid identifier in its normalised form."""
    return IdCheck(kind=kind, input=text, normalized=normalized, reason=None)


def rejected(
    kind: IdKind,
    text: str,
    code: ReasonCode,
    field: str,
    message: str,
    normalized: str | None = None,
) -> IdCheck:
    """An identifier with one reason against it."""
    return IdCheck(
        kind=kind, input=text, normalized=normalized, reason=Reason.of(code, field, message)
    )


def wrong_letter_message(name: str, given: str, expected: str) -> str:
    """Name both letters, so the person correcting knows what the digits imply."""
    if given not in CHECK_ALPHABET:
        return (
            f"{name} check letter '{given}' is never a check letter (I, O and S are not used); "
            f"the digits give '{expected}'. Re-read the digits and the letter from the source."
        )
    return (
        f"{name} check letter is '{given}' but the digits give '{expected}': a digit or the "
        "letter is mistyped. Re-read it from the source."
    )
