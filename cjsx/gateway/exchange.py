"""The gateway's only contact with Kafka: publish as each force, read each force's receipts.

Each force has its own ``producers.Publisher`` on its own ingest topic, connecting *as that
force* with that force's credentials (as the console publishes corrections), so the broker's
ACLs hold for the gateway exactly as for a force's own client, and the worker cannot tell a
gateway event from any other. The publisher commits each event to its outbox and resolves its
``Sent`` only on the broker's acknowledgement (``acks=all``, idempotent): the gateway answers
``202`` on that and never before. Receipts are read with the force's credentials too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from cjsx.runtime import Runtime
from infra.security.policy import force_principal
from producers import Publisher, Sent
from schemas.codec import Codec, CodecError
from schemas.models import CaseEvent, Receipt


def force_client(runtime: Runtime, force: str) -> dict[str, Any]:
    """kafka-python settings to connect as the force itself."""
    if runtime.security is None:
        return {}
    who = force_principal(force)
    return runtime.security.client(who, runtime.credentials.password(who))


@dataclass(frozen=True, slots=True)
class ReceiptPage:
    """Receipts after a position, and the position after them (per partition)."""

    receipts: list[dict[str, Any]]
    next: dict[int, int]


class Exchange:
    """Publishers and receipt readers per force, made on first use; thread-safe."""

    def __init__(self, runtime: Runtime, codec: Codec | None = None) -> None:
        self.runtime = runtime
        self.codec = codec or Codec()
        self._publishers: dict[str, Publisher] = {}
        self._readers: dict[str, tuple[threading.Lock, KafkaConsumer]] = {}
        self._lock = threading.Lock()
        self._outbox_dir = runtime.settings.cache_dir / "outbox"

    def publisher(self, force: str) -> Publisher:
        with self._lock:
            publisher = self._publishers.get(force)
            if publisher is None:
                topic = self.runtime.catalog.ingest(force)
                publisher = Publisher(
                    bootstrap_servers=self.runtime.bootstrap,
                    topic=topic,
                    codec=self.codec,
                    outbox_dir=self._outbox_dir,
                    max_message_bytes=self.runtime.catalog.max_message_bytes(topic),
                    **force_client(self.runtime, force),
                )
                self._publishers[force] = publisher
            return publisher

    def publish(self, force: str, events: Sequence[CaseEvent]) -> list[Sent]:
        """Commit ``events`` to the force's outbox and send them, in order (blocking: run it
        off the event loop). ``PublishRefused`` before anything is kept if one can never fit
        the topic."""
        publisher = self.publisher(force)
        for event in events:
            publisher.check_size(*publisher.encode(event), str(event.envelope.event_id))
        return [publisher.publish(event) for event in events]

    def pending(self, force: str) -> int:
        """The force's events kept in the gateway's outbox, not yet acknowledged."""
        return self.publisher(force).pending()

    def receipts(self, force: str, after: dict[int, int], limit: int) -> ReceiptPage:
        """Up to ``limit`` of the force's receipts after the positions ``after`` (from the
        start of a partition it does not name), read as the force (blocking)."""
        with self._lock:
            reader = self._readers.get(force)
            if reader is None:
                consumer = KafkaConsumer(
                    bootstrap_servers=self.runtime.bootstrap,
                    group_id=None,
                    enable_auto_commit=False,
                    **force_client(self.runtime, force),
                )
                reader = self._readers[force] = (threading.Lock(), consumer)
        guard, consumer = reader
        with guard:
            return self._read(consumer, self.runtime.catalog.receipts(force), after, limit)

    def _read(
        self, consumer: KafkaConsumer, topic: str, after: dict[int, int], limit: int
    ) -> ReceiptPage:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        starts = consumer.beginning_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, max(after.get(tp.partition, 0), starts[tp]))
        ends = consumer.end_offsets(partitions)
        positions = {tp.partition: consumer.position(tp) for tp in partitions}
        found: list[tuple[int, int, bytes]] = []
        deadline = time.monotonic() + 10
        while len(found) < limit and time.monotonic() < deadline:
            behind = [tp for tp in partitions if positions[tp.partition] < ends[tp]]
            if not behind:
                break
            polled = consumer.poll(timeout_ms=200, max_records=limit - len(found))
            for tp, records in polled.items():
                for record in records:
                    if len(found) < limit and record.offset >= positions[tp.partition]:
                        found.append((tp.partition, record.offset, record.value or b""))
                        positions[tp.partition] = record.offset + 1
        # A poll fetches ahead; what was not returned is read again from ``next``.
        found.sort(key=lambda item: (item[0], item[1]))
        receipts = []
        for partition, offset, value in found:
            try:
                receipt = self.codec.decode_as(value, Receipt)
            except CodecError:
                continue  # the worker writes this topic; an unreadable record is not the force's
            receipts.append(
                {"partition": partition, "offset": offset, **receipt.model_dump(mode="json")}
            )
        return ReceiptPage(receipts, positions)

    def close(self) -> None:
        with self._lock:
            publishers, self._publishers = self._publishers, {}
            readers, self._readers = self._readers, {}
        for publisher in publishers.values():
            publisher.close(timeout=10)
        for _, consumer in readers.values():
            consumer.close()
