"""Identifier checks for the case-file exchange: format, check letter and normalised form.

Every ``check_*`` function returns an :class:`IdCheck` and never raises, whatever the text: a
bad identifier is data to report with a stable reason code, not a fault. Lookups against the
standing data (is this unit or offence known?) happen in the validation stage, not here.
"""

from __future__ import annotations

from schemas.identifiers.asn import AsnParts, asn_parts, build_asn, check_asn
from schemas.identifiers.checkchar import IdCheck, IdKind, check_letter
from schemas.identifiers.cro import build_cro, check_cro
from schemas.identifiers.offence import check_offence_code
from schemas.identifiers.ou import OuParts, check_ou, ou_parts
from schemas.identifiers.pnc import build_pnc_id, check_pnc_id
from schemas.identifiers.urn import check_urn, urn_force, urn_unit

__all__ = [
    "AsnParts",
    "IdCheck",
    "IdKind",
    "OuParts",
    "asn_parts",
    "build_asn",
    "build_cro",
    "build_pnc_id",
    "check",
    "check_asn",
    "check_cro",
    "check_letter",
    "check_offence_code",
    "check_ou",
    "check_pnc_id",
    "check_urn",
    "ou_parts",
    "urn_force",
    "urn_unit",
]


def check(kind: IdKind, text: str, field: str = "") -> IdCheck:
    """Check ``text`` as an identifier of ``kind``; an empty ``field`` means the kind's default."""
    match kind:
        case IdKind.ASN:
            return check_asn(text, field or "asn")
        case IdKind.PNC:
            return check_pnc_id(text, field or "pnc_id")
        case IdKind.CRO:
            return check_cro(text, field or "cro_number")
        case IdKind.URN:
            return check_urn(text, field or "case_urn")
        case IdKind.OU:
            return check_ou(text, field or "ou")
        case IdKind.OFFENCE:
            return check_offence_code(text, field or "offence_code")
