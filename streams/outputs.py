"""Records the exchange writes (receipts, rejections, deliveries), ready for a producer.

Ids are derived (UUID v5) from the event id and what the record says, so a record re-emitted
after a worker restart carries the same id as the first time: sinks drop it by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from schemas.cloudevents import EXCHANGE_SOURCE, Headers, ce_headers
from schemas.codec import HEADER_SIZE, Codec
from schemas.ids import derived_id
from schemas.models import (
    AvroRecord,
    CaseEvent,
    Delivery,
    Enrichment,
    Header,
    HearingResulted,
    OrderingFlag,
    Receipt,
    ReceiptStatus,
    RejectedEvent,
    ResultDelivery,
    ResultEnrichment,
)
from schemas.models import Reason as ReasonRecord
from schemas.reasons import Reason
from schemas.splice import SplicedWriter
from schemas.store import SchemaVersion
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


def reason_datums(reasons: Sequence[Reason]) -> list[dict[str, str]]:
    return [
        {"code": r.code.value, "field": r.field, "message": r.message, "hint": r.hint}
        for r in reasons
    ]


@dataclass
class EventBodies:
    """One event's Avro record bodies, each encoded at most once however many recipients
    see it: the event as it arrived reuses its input's body when that was written with the
    schema the delivery embeds (``schemas/splice.py``)."""

    writer: SplicedWriter
    event: CaseEvent
    value: bytes
    """The event's input record (single-object bytes)."""
    _made: dict[int, bytes] = field(default_factory=dict)

    def of(self, seen: CaseEvent) -> bytes | None:
        """The body of ``seen`` (the event or a projection of it), or None when its type
        cannot be spliced into the delivery."""
        name = seen.avro_name
        if not self.writer.splices(name):
            return None
        if seen is self.event and (
            self.value[2:HEADER_SIZE] == self.writer.event_version(name).fingerprint
        ):
            return self.value[HEADER_SIZE:]
        body = self._made.get(id(seen))
        if body is None:
            body = self._made[id(seen)] = self.writer.encode_body(name, seen.to_avro())
        return body


class OutputFactory:
    """Encodes exchange records with CloudEvents headers. The records of every accepted event
    (its receipt, its deliveries) are encoded from plain datums: no model is built for them."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.deliveries = SplicedWriter(codec.store, Delivery.avro_name)
        self.result_deliveries = SplicedWriter(codec.store, ResultDelivery.avro_name)
        self._receipt = codec.store.latest(Receipt.avro_name)

    def bodies(self, event: CaseEvent, value: bytes) -> EventBodies:
        """The bodies of ``event`` (a force's event, or a court's results) for splicing."""
        writer = self.result_deliveries if isinstance(event, HearingResulted) else self.deliveries
        return EventBodies(writer, event, value)

    def _output(
        self, topic: str, record: AvroRecord, id: UUID, subject: str, at: datetime, key: str
    ) -> Output:
        version = self.codec.writer_schema(record)
        return self._framed(
            topic, version, self.codec.encode(record, version), id, subject, at, key
        )

    @staticmethod
    def _framed(
        topic: str,
        version: SchemaVersion,
        value: bytes,
        id: UUID,
        subject: str,
        at: datetime,
        key: str,
    ) -> Output:
        """An encoded record with its CloudEvents headers, keyed for its topic."""
        headers = ce_headers(
            id=str(id),
            source=EXCHANGE_SOURCE,
            type=version.name,
            subject=subject,
            time=at,
            dataschema=version.dataschema,
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
        receipt_id = receipt_id or derived_id(event_id, status.value, recipient or "", occurrence)
        datum: dict[str, Any] = {
            "receipt_id": receipt_id,
            "event_id": event_id,
            "case_urn": case_urn,
            "force": force,
            "status": status.value,
            "reasons": reason_datums(reasons),
            "original_event_id": original_event_id,
            "recipient": recipient,
            "issued_at": now,
            "deliveries": list(deliveries),
        }
        value = self.codec.encode_datum(datum, self._receipt)
        return self._framed(topic, self._receipt, value, receipt_id, case_urn, now, case_urn)

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
        event: CaseEvent,
        body: bytes | None,
        enrichment: Enrichment,
        enrichment_datum: dict[str, Any],
        terms: DeliveryTerms,
    ) -> Output:
        """One event as one partner may see it. The record itself is the disclosure: it
        carries why (purpose, legal basis, policy version), when and by whom, and the auditor
        chains it from these bytes (``streams/audit``). ``body`` is the event's record body
        (``EventBodies.of``); None encodes the whole record through its model."""
        return self._delivery(
            self.deliveries, Delivery, topic, event, body, enrichment, enrichment_datum, terms
        )

    def result_delivery(
        self,
        topic: str,
        *,
        event: HearingResulted,
        body: bytes | None,
        enrichment: ResultEnrichment,
        enrichment_datum: dict[str, Any],
        terms: DeliveryTerms,
    ) -> Output:
        """A court's results for one recipient (the charging force, or a partner)."""
        return self._delivery(
            self.result_deliveries,
            ResultDelivery,
            topic,
            event,
            body,
            enrichment,
            enrichment_datum,
            terms,
        )

    def _delivery(
        self,
        writer: SplicedWriter,
        model: type[Delivery] | type[ResultDelivery],
        topic: str,
        event: CaseEvent,
        body: bytes | None,
        enrichment: AvroRecord,
        enrichment_datum: dict[str, Any],
        delivery: DeliveryTerms,
    ) -> Output:
        urn = event.envelope.case_urn
        if body is None:
            record = model(
                delivery_id=delivery.delivery_id,
                recipient=delivery.recipient,
                policy_version=delivery.policy_version,
                ordering=delivery.ordering,
                enrichment=enrichment,
                event=event,
                delivered_at=delivery.now,
                purpose=delivery.purpose,
                legal_basis=delivery.legal_basis,
                delivered_by=delivery.delivered_by,
            )
            return self._output(topic, record, delivery.delivery_id, urn, delivery.now, urn)
        value = writer.encode(
            {
                "delivery_id": delivery.delivery_id,
                "recipient": delivery.recipient,
                "policy_version": delivery.policy_version,
                "ordering": delivery.ordering.value,
                "enrichment": enrichment_datum,
            },
            event.avro_name,
            body,
            {
                "delivered_at": delivery.now,
                "purpose": delivery.purpose,
                "legal_basis": delivery.legal_basis,
                "delivered_by": delivery.delivered_by,
            },
        )
        return self._framed(
            topic, writer.version, value, delivery.delivery_id, urn, delivery.now, urn
        )


@dataclass(frozen=True, slots=True)
class DeliveryTerms:
    """What a delivery says besides its event and enrichment: to whom, in what order, why,
    when and by whom (the same for a force's events and a court's results)."""

    delivery_id: UUID
    recipient: str
    ordering: OrderingFlag
    policy_version: int
    purpose: str
    legal_basis: str
    delivered_by: str
    now: datetime
