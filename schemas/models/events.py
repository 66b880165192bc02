"""The case-file events force systems publish: one model per Avro event schema."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from schemas.models.base import AvroRecord, Int32
from schemas.models.common import (
    Address,
    Defendant,
    DiscontinuanceScope,
    Document,
    FileType,
    Hearing,
    Offence,
    RemandStatus,
)
from schemas.models.envelope import Envelope


class CaseEvent(AvroRecord):
    """Base of every event: the envelope travels with each one."""

    envelope: Envelope


class CaseFileSubmitted(CaseEvent):
    file_type: FileType
    suspects: list[Defendant]
    proposed_offences: list[Offence]
    report_to_prosecutor: str
    documents: list[Document]


class DefendantCharged(CaseEvent):
    file_type: FileType
    defendant: Defendant
    charge_date: date
    offences: list[Offence]
    remand_status: RemandStatus
    bail_conditions: list[str] = Field(default_factory=list)
    first_hearing: Hearing
    charging_advice: str | None = None


class CaseDocumentsAdded(CaseEvent):
    file_type: FileType
    documents: list[Document]


class RemandStatusChanged(CaseEvent):
    asn: str
    remand_status: RemandStatus
    bail_conditions: list[str] = Field(default_factory=list)
    effective_date: date
    next_hearing: Hearing | None = None


class DefendantDetailsAmended(CaseEvent):
    asn: str
    given_names: list[str] | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    address: Address | None = None
    pnc_id: str | None = None
    cro_number: str | None = None
    reason: str


class CaseDiscontinued(CaseEvent):
    scope: DiscontinuanceScope
    asn: str | None = None
    offence_sequences: list[Int32] = Field(default_factory=list)
    decided_on: date
    reason: str


AnyEvent = (
    CaseFileSubmitted
    | DefendantCharged
    | CaseDocumentsAdded
    | RemandStatusChanged
    | DefendantDetailsAmended
    | CaseDiscontinued
)

EVENT_TYPES: tuple[type[CaseEvent], ...] = (
    CaseFileSubmitted,
    DefendantCharged,
    CaseDocumentsAdded,
    RemandStatusChanged,
    DefendantDetailsAmended,
    CaseDiscontinued,
)
"""Every event type, in the order of the Delivery schema's union."""
