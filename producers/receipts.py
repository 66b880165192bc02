"""What a force system uses to learn what became of its events: the receipts it gets back.

Every event ends in one outcome receipt (ACCEPTED listing the partners it went to, REJECTED
with every reason, or DUPLICATE pointing at the original); an event held for ordering gets a
DELIVERED receipt listing its partners when released; each partner that stored it sends an
ACKNOWLEDGED one. ``ReceiptWatcher`` folds them into a status per event id.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from kafka import KafkaConsumer

from schemas.codec import Codec, CodecError
from schemas.models import Reason, Receipt, ReceiptStatus

OUTCOMES = frozenset({ReceiptStatus.ACCEPTED, ReceiptStatus.REJECTED, ReceiptStatus.DUPLICATE})


@dataclass
class EventStatus:
    """Everything the force has heard about one event."""

    event_id: UUID
    case_urn: str
    outcome: ReceiptStatus | None = None
    reasons: list[Reason] = field(default_factory=list)
    original_event_id: UUID | None = None
    """For a resent event: the event it repeats (from its DUPLICATE receipt)."""
    duplicates: int = 0
    delivered_to: set[str] = field(default_factory=set)
    acknowledged_by: set[str] = field(default_factory=set)
    receipts: set[UUID] = field(default_factory=set)


def _undeliverable(receipt: Receipt) -> bool:
    return receipt.status is ReceiptStatus.REJECTED and any(
        r.code == "NO_RECIPIENT" for r in receipt.reasons
    )


class ReceiptWatcher:
    """Reads one or more receipts topics and keeps a status per event id."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topics: Iterable[str],
        codec: Codec | None = None,
        **client: Any,
    ) -> None:
        self.codec = codec or Codec()
        self.statuses: dict[UUID, EventStatus] = {}
        self.outcomes: Counter[tuple[str, ReceiptStatus]] = Counter()
        """Distinct outcome receipts per (force, status): one per arrival of an event."""
        self.reasons: Counter[tuple[str, str]] = Counter()
        self.duplicates_seen = 0
        self.consumer = KafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **client,
        )

    def poll(self, timeout_ms: int = 200) -> int:
        count = 0
        for records in self.consumer.poll(timeout_ms=timeout_ms, max_records=2000).values():
            for record in records:
                try:
                    receipt = self.codec.decode_as(record.value or b"", Receipt)
                except CodecError:
                    continue
                self._apply(receipt)
                count += 1
        return count

    def _apply(self, receipt: Receipt) -> None:
        status = self.statuses.setdefault(
            receipt.event_id, EventStatus(receipt.event_id, receipt.case_urn)
        )
        if receipt.receipt_id in status.receipts:
            self.duplicates_seen += 1  # a receipt re-emitted after a restart: same id
            return
        status.receipts.add(receipt.receipt_id)
        if receipt.status in OUTCOMES:
            self.outcomes[receipt.force, receipt.status] += 1
            for reason in receipt.reasons:
                self.reasons[receipt.force, reason.code] += 1
            if _undeliverable(receipt) and status.outcome is ReceiptStatus.ACCEPTED:
                # accepted, then found to have no recipient: the rejection is the final word
                self.outcomes[receipt.force, ReceiptStatus.ACCEPTED] -= 1
        status.delivered_to.update(receipt.deliveries)
        match receipt.status:
            case ReceiptStatus.DELIVERED if receipt.recipient is not None:
                status.delivered_to.add(receipt.recipient)  # version 1: one per partner
            case ReceiptStatus.ACKNOWLEDGED:
                status.acknowledged_by.add(receipt.recipient or "")
            case ReceiptStatus.DUPLICATE:
                status.duplicates += 1
                status.original_event_id = receipt.original_event_id
                status.outcome = status.outcome or ReceiptStatus.DUPLICATE
            case ReceiptStatus.REJECTED if _undeliverable(receipt):
                status.outcome = ReceiptStatus.REJECTED
                status.reasons = list(receipt.reasons)
            case _ if receipt.status in OUTCOMES and status.outcome is None:
                status.outcome = receipt.status
                status.reasons = list(receipt.reasons)

    def wait_until(self, condition: Callable[[ReceiptWatcher], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if condition(self):
                return True
        return condition(self)

    def close(self) -> None:
        self.consumer.close()
