"""Records the exchange itself writes: receipts, rejections and deliveries."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import Field, field_validator

from schemas.models.base import AvroRecord, Int32, Int64, Millis
from schemas.models.events import EVENT_TYPES, AnyEvent


class ReceiptStatus(StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    DUPLICATE = "DUPLICATE"
    DELIVERED = "DELIVERED"
    ACKNOWLEDGED = "ACKNOWLEDGED"


class ModeOfTrial(StrEnum):
    INDICTABLE_ONLY = "INDICTABLE_ONLY"
    EITHER_WAY = "EITHER_WAY"
    SUMMARY = "SUMMARY"


class Venue(StrEnum):
    MAGISTRATES = "MAGISTRATES"
    CROWN = "CROWN"


class OrderingFlag(StrEnum):
    IN_ORDER = "IN_ORDER"
    RELEASED_AFTER_GAP = "RELEASED_AFTER_GAP"
    LATE = "LATE"


class Reason(AvroRecord):
    code: str
    field: str
    message: str
    hint: str


class Receipt(AvroRecord):
    receipt_id: UUID
    event_id: UUID
    case_urn: str
    force: str
    status: ReceiptStatus
    reasons: list[Reason] = Field(default_factory=list)
    original_event_id: UUID | None = None
    recipient: str | None = None
    issued_at: Millis
    deliveries: list[str] = Field(default_factory=list)


class Header(AvroRecord):
    key: str
    value: bytes | None = None


class RejectedEvent(AvroRecord):
    rejection_id: UUID
    source_topic: str
    source_partition: Int32
    source_offset: Int64
    key: bytes | None = None
    value: bytes
    headers: list[Header] = Field(default_factory=list)
    force: str | None = None
    event_id: UUID | None = None
    case_urn: str | None = None
    event_type: str | None = None
    reasons: list[Reason]
    rejected_at: Millis


class EnrichedOffence(AvroRecord):
    code: str
    title: str
    category: str
    mode_of_trial: ModeOfTrial | None = None
    recordable: bool


class Enrichment(AvroRecord):
    force_name: str
    court_ou: str | None = None
    court_name: str | None = None
    cps_area: str | None = None
    cps_area_name: str | None = None
    venue: Venue | None = None
    offences: list[EnrichedOffence] = Field(default_factory=list)


_EVENT_BY_NAME = {t.avro_name: t for t in EVENT_TYPES}


class Delivery(AvroRecord):
    delivery_id: UUID
    recipient: str
    policy_version: Int32
    ordering: OrderingFlag
    enrichment: Enrichment
    event: AnyEvent
    delivered_at: Millis
    purpose: str = ""
    legal_basis: str = ""
    delivered_by: str = ""

    @field_validator("event", mode="before")
    @classmethod
    def _named_branch(cls, value: Any) -> Any:
        """Avro readers return a union-of-records branch as ``(full name, datum)``."""
        if isinstance(value, tuple):
            name, datum = value
            model = _EVENT_BY_NAME.get(name)
            if model is None:
                raise ValueError(f"{name} is not an event type of this contract")
            return model.model_validate(datum)
        return value

    def to_avro(self) -> dict[str, Any]:
        datum = super().to_avro()
        datum["event"] = (self.event.avro_name, datum["event"])
        return datum


class Disclosure(AvroRecord):
    delivery_id: UUID
    event_id: UUID
    case_urn: str
    event_type: str
    force: str
    recipient: str
    purpose: str
    legal_basis: str
    policy_version: Int32
    payload_sha256: str
    disclosed_at: Millis
    disclosed_by: str


class AuditRecord(AvroRecord):
    sequence: Int64
    disclosure: Disclosure
    source_offset: Int64
    recorded_at: Millis
    previous_hash: str
    hash: str
    source_topic: str = ""
    source_partition: Int32 = 0


class ConsoleAction(AvroRecord):
    action_id: UUID
    action: str
    outcome: str
    user_id: str
    role: str
    rejection_id: str | None = None
    event_id: UUID | None = None
    correction_event_id: UUID | None = None
    case_urn: str | None = None
    force: str | None = None
    detail: str | None = None
    acted_at: Millis
    recorded_by: str


class ActionAuditRecord(AvroRecord):
    sequence: Int64
    action: ConsoleAction
    source_offset: Int64
    recorded_at: Millis
    previous_hash: str
    hash: str
