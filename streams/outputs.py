"""Records the exchange writes (receipts, rejections, deliveries), ready for a producer.

Ids are derived (UUID v5) from the event id and what the record says, so a record re-emitted
after a worker restart carries the same id as the first time: sinks drop it by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from schemas.cloudevents import EXCHANGE_SOURCE, Headers, to_kafka
from schemas.codec import Codec
from schemas.ids import derived_id
from schemas.models import (
    AvroRecord,
    CaseEvent,
    Delivery,
    Enrichment,
    Header,
    OrderingFlag,
    Receipt,
    ReceiptStatus,
    RejectedEvent,
    ResultDelivery,
    ResultEnrichment,
)
from schemas.models import Reason as ReasonRecord
from schemas.reasons import Reason
from streams.record import SourceRecord


@dataclass(frozen=True, slots=True)
class Output:
    """One record to produce."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers


def reason_records(reasons: Sequence[Reason]) -> list[ReasonRecord]:
    return [
        ReasonRecord(code=r.code.value, field=r.field, message=r.message, hint=r.hint)
        for r in reasons
    ]


class OutputFactory:
    """Encodes exchange records with CloudEvents headers."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec

    def _output(
        self, topic: str, record: AvroRecord, id: UUID, subject: str, at: datetime, key: str
    ) -> Output:
        value, headers = to_kafka(
            self.codec, record, id=str(id), source=EXCHANGE_SOURCE, subject=subject, time=at
        )
        return Output(topic, key.encode(), value, headers)

    def receipt(
        self,
        topic: str,
        *,
        event_id: UUID,
        case_urn: str,
        force: str,
        status: ReceiptStatus,
        now: datetime,
        reasons: Sequence[Reason] = (),
        original_event_id: UUID | None = None,
        recipient: str | None = None,
        occurrence: str = "",
        receipt_id: UUID | None = None,
        deliveries: Sequence[str] = (),
    ) -> Output:
        """``occurrence`` tells apart receipts about separate arrivals of the same event id
        (each resend gets its own DUPLICATE receipt); a replay of one arrival reuses it."""
        receipt = Receipt(
            receipt_id=receipt_id
            or derived_id(event_id, status.value, recipient or "", occurrence),
            event_id=event_id,
            case_urn=case_urn,
            force=force,
            status=status,
            reasons=reason_records(reasons),
            original_event_id=original_event_id,
            recipient=recipient,
            issued_at=now,
            deliveries=list(deliveries),
        )
        return self._output(topic, receipt, receipt.receipt_id, case_urn, now, case_urn)

    def rejected(
        self,
        topic: str,
        source: SourceRecord,
        *,
        force: str | None,
        reasons: Sequence[Reason],
        now: datetime,
        event: CaseEvent | None = None,
    ) -> Output:
        rejection = RejectedEvent(
            rejection_id=derived_id(source.position, "rejected"),
            source_topic=source.topic,
            source_partition=source.partition,
            source_offset=source.offset,
            key=source.key,
            value=source.value,
            headers=[Header(key=k, value=v) for k, v in source.headers],
            force=force,
            event_id=event.envelope.event_id if event else None,
            case_urn=event.envelope.case_urn if event else None,
            event_type=event.avro_name if event else None,
            reasons=reason_records(reasons),
            rejected_at=now,
        )
        subject = rejection.case_urn or source.position
        return self._output(
            topic, rejection, rejection.rejection_id, subject, now, key=force or "unknown"
        )

    def delivery(
        self,
        topic: str,
        *,
        delivery_id: UUID,
        recipient: str,
        event: CaseEvent,
        enrichment: Enrichment,
        ordering: OrderingFlag,
        policy_version: int,
        purpose: str,
        legal_basis: str,
        delivered_by: str,
        now: datetime,
    ) -> Output:
        """One event as one partner may see it. The record itself is the disclosure: it
        carries why (purpose, legal basis, policy version), when and by whom, and the auditor
        chains it from these bytes (``streams/audit``)."""
        delivery = Delivery(
            delivery_id=delivery_id,
            recipient=recipient,
            policy_version=policy_version,
            ordering=ordering,
            enrichment=enrichment,
            event=event,
            delivered_at=now,
            purpose=purpose,
            legal_basis=legal_basis,
            delivered_by=delivered_by,
        )
        urn = event.envelope.case_urn
        return self._output(topic, delivery, delivery.delivery_id, urn, now, urn)

    def result_delivery(
        self,
        topic: str,
        *,
        delivery_id: UUID,
        recipient: str,
        event: CaseEvent,
        enrichment: ResultEnrichment,
        ordering: OrderingFlag,
        policy_version: int,
        purpose: str,
        legal_basis: str,
        delivered_by: str,
        now: datetime,
    ) -> Output:
        """A court's results for one recipient (the charging force, or a partner)."""
        delivery = ResultDelivery(
            delivery_id=delivery_id,
            recipient=recipient,
            policy_version=policy_version,
            ordering=ordering,
            enrichment=enrichment,
            event=event,
            delivered_at=now,
            purpose=purpose,
            legal_basis=legal_basis,
            delivered_by=delivered_by,
        )
        urn = event.envelope.case_urn
        return self._output(topic, delivery, delivery.delivery_id, urn, now, urn)
