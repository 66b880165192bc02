"""Pydantic models mirroring the Avro contract in ``schemas/avro``."""

from schemas.models.base import AvroRecord, Millis
from schemas.models.common import (
    Address,
    Defendant,
    DiscontinuanceScope,
    Document,
    FileType,
    Hearing,
    MgForm,
    Offence,
    RemandStatus,
    Sensitivity,
)
from schemas.models.envelope import Envelope
from schemas.models.events import (
    EVENT_TYPES,
    AnyEvent,
    CaseDiscontinued,
    CaseDocumentsAdded,
    CaseEvent,
    CaseFileSubmitted,
    DefendantCharged,
    DefendantDetailsAmended,
    RemandStatusChanged,
)
from schemas.models.exchange import (
    Delivery,
    EnrichedOffence,
    Enrichment,
    Header,
    ModeOfTrial,
    OrderingFlag,
    Reason,
    Receipt,
    ReceiptStatus,
    RejectedEvent,
    Venue,
)

TOP_LEVEL_TYPES: tuple[type[AvroRecord], ...] = (*EVENT_TYPES, Receipt, RejectedEvent, Delivery)
"""Every record that travels on its own (and so has released schema versions)."""

__all__ = [
    "EVENT_TYPES",
    "TOP_LEVEL_TYPES",
    "Address",
    "AnyEvent",
    "AvroRecord",
    "CaseDiscontinued",
    "CaseDocumentsAdded",
    "CaseEvent",
    "CaseFileSubmitted",
    "Defendant",
    "DefendantCharged",
    "DefendantDetailsAmended",
    "Delivery",
    "DiscontinuanceScope",
    "Document",
    "EnrichedOffence",
    "Enrichment",
    "Envelope",
    "FileType",
    "Header",
    "Hearing",
    "MgForm",
    "Millis",
    "ModeOfTrial",
    "Offence",
    "OrderingFlag",
    "Reason",
    "Receipt",
    "ReceiptStatus",
    "RejectedEvent",
    "RemandStatus",
    "RemandStatusChanged",
    "Sensitivity",
    "Venue",
]
