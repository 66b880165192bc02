"""Types shared by several events: people, offences, hearings, documents, and closed lists."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from schemas.models.base import AvroRecord, Int32


class FileType(StrEnum):
    PRE_CHARGE = "PRE_CHARGE"
    GAP = "GAP"
    NGAP = "NGAP"
    CROWN = "CROWN"
    UPGRADE = "UPGRADE"


class RemandStatus(StrEnum):
    NOT_APPLICABLE = "NOT_APPLICABLE"
    UNCONDITIONAL_BAIL = "UNCONDITIONAL_BAIL"
    CONDITIONAL_BAIL = "CONDITIONAL_BAIL"
    REMANDED_IN_CUSTODY = "REMANDED_IN_CUSTODY"


class MgForm(StrEnum):
    """Manual of Guidance form of a document; OTHER for anything else."""

    MG1 = "MG1"
    MG2 = "MG2"
    MG3 = "MG3"
    MG3A = "MG3A"
    MG4 = "MG4"
    MG4A = "MG4A"
    MG4B = "MG4B"
    MG4D = "MG4D"
    MG4E = "MG4E"
    MG4F = "MG4F"
    MG5 = "MG5"
    MG6 = "MG6"
    MG6C = "MG6C"
    MG6D = "MG6D"
    MG6E = "MG6E"
    MG7 = "MG7"
    MG8 = "MG8"
    MG9 = "MG9"
    MG10 = "MG10"
    MG11 = "MG11"
    MG12 = "MG12"
    MG13 = "MG13"
    MG14 = "MG14"
    MG15 = "MG15"
    MG16 = "MG16"
    MG17 = "MG17"
    MG18 = "MG18"
    MG19 = "MG19"
    MG20 = "MG20"
    MG21 = "MG21"
    OTHER = "OTHER"


class Sensitivity(StrEnum):
    OFFICIAL = "OFFICIAL"
    OFFICIAL_SENSITIVE = "OFFICIAL_SENSITIVE"
    SECRET = "SECRET"  # noqa: S105 - a security marking, not a password


class DiscontinuanceScope(StrEnum):
    CHARGES_WITHDRAWN = "CHARGES_WITHDRAWN"
    CASE_DISCONTINUED = "CASE_DISCONTINUED"


class Address(AvroRecord):
    lines: list[str]
    postcode: str | None = None


class Defendant(AvroRecord):
    asn: str
    pnc_id: str | None = None
    cro_number: str | None = None
    given_names: list[str]
    family_name: str
    date_of_birth: date
    address: Address | None = None


class Offence(AvroRecord):
    sequence: Int32
    code: str
    wording: str
    offence_date: date


class Hearing(AvroRecord):
    court_ou: str
    date: date


class Document(AvroRecord):
    document_id: UUID
    form: MgForm
    title: str
    sha256: str
    sensitivity: Sensitivity
