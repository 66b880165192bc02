"""The console's only contact with Kafka: read rejections, publish corrections, follow receipts.

Rejections are read with the console's principal (an operator's: only operators may read the
rejected topic) from the positions kept in the console's store. A correction is published by
the normal ``producers.Publisher`` on the force's own ingest topic, connecting *as that force*,
so the worker treats it exactly like anything else the force sends; its receipts are followed
the same way, with ``producers.ReceiptWatcher`` as that force.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from cjsx.console.actions import ActionLog
from cjsx.console.panel import MetricsHistory
from cjsx.console.store import ConsoleStore
from cjsx.console.users import User
from cjsx.runtime import Runtime
from infra.security.policy import CONSOLE, OPERATOR, force_principal
from producers.publisher import Publisher
from producers.receipts import ReceiptWatcher
from schemas.codec import Codec, CodecError
from schemas.models import AuditRecord, CaseEvent, Receipt, RejectedEvent

log = logging.getLogger(__name__)


def action_log(runtime: Runtime, users: dict[str, User], codec: Codec) -> ActionLog:
    """What records each user action in the audit log, connected as the console's own
    principal (the only one that may write the console-actions topic)."""
    client: dict[str, Any] = {}
    if runtime.security is not None:
        client = runtime.security.client(CONSOLE, runtime.credentials.password(CONSOLE))
    return ActionLog(
        bootstrap_servers=runtime.bootstrap,
        topic=runtime.catalog.console_actions,
        principal=CONSOLE,
        users=users,
        client=client,
        codec=codec,
    )


def force_client(runtime: Runtime, force: str) -> dict[str, Any]:
    """kafka-python settings to connect as the force itself (not as ``CJSX_PRINCIPAL``)."""
    if runtime.security is None:
        return {}
    who = force_principal(force)
    return runtime.security.client(who, runtime.credentials.password(who))


class RejectedFeed:
    """Copies new records of the rejected topic into the store, resuming where it stopped."""

    def __init__(self, runtime: Runtime, store: ConsoleStore, codec: Codec) -> None:
        self.runtime = runtime
        self.store = store
        self.codec = codec
        self.topic = runtime.catalog.rejected
        self.consumer: KafkaConsumer | None = None

    def _consumer(self) -> KafkaConsumer:
        if self.consumer is None:
            consumer = KafkaConsumer(
                bootstrap_servers=self.runtime.bootstrap,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                **self.runtime.client_config(OPERATOR),
            )
            partitions = consumer.partitions_for_topic(self.topic) or set()
            assigned = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(assigned)
            positions = self.store.positions(self.topic)
            for tp in assigned:
                if tp.partition in positions:
                    consumer.seek(tp, positions[tp.partition])
                else:
                    consumer.seek_to_beginning(tp)
            self.consumer = consumer
        return self.consumer

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Read what is there now; returns how many new exceptions were stored."""
        batch: list[tuple[int, int, RejectedEvent]] = []
        polled = self._consumer().poll(timeout_ms=timeout_ms, max_records=500)
        for records in polled.values():
            for record in records:
                try:
                    rejected = self.codec.decode_as(record.value or b"", RejectedEvent)
                except CodecError as error:
                    # The worker writes this topic; a record it cannot read is a fault to see.
                    log.error(
                        "unreadable rejected record",
                        extra={
                            "code": error.code,
                            "partition": record.partition,
                            "offset": record.offset,
                        },
                    )
                    continue
                batch.append((record.partition, record.offset, rejected))
        return self.store.add_rejections(self.topic, batch) if batch else 0

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close()


def publish_as_force(runtime: Runtime, force: str, event: CaseEvent, codec: Codec) -> str:
    """Publish through the force's normal ingest path; returns topic/partition/offset."""
    topic = runtime.catalog.ingest(force)
    with Publisher(
        bootstrap_servers=runtime.bootstrap,
        topic=topic,
        codec=codec,
        **force_client(runtime, force),
    ) as publisher:
        metadata = publisher.publish(event).get(timeout=30)
    return f"{topic}/{metadata.partition}/{metadata.offset}"


class ReceiptFollower:
    """Follows the receipts of published corrections, one watcher per force."""

    def __init__(self, runtime: Runtime, store: ConsoleStore, codec: Codec) -> None:
        self.runtime = runtime
        self.store = store
        self.codec = codec
        self.watchers: dict[str, ReceiptWatcher] = {}

    def poll_once(self) -> None:
        for force, correction in self.store.following():
            if correction.acknowledged_by and correction.outcome:
                continue
            watcher = self.watchers.get(force)
            if watcher is None:
                watcher = ReceiptWatcher(
                    bootstrap_servers=self.runtime.bootstrap,
                    topics=[self.runtime.catalog.receipts(force)],
                    codec=self.codec,
                    **force_client(self.runtime, force),
                )
                self.watchers[force] = watcher
        for watcher in self.watchers.values():
            watcher.poll(timeout_ms=100)
        for force, correction in self.store.following():
            watcher = self.watchers.get(force)
            status = None
            if watcher is not None:
                status = next(
                    (
                        s
                        for s in watcher.statuses.values()
                        if str(s.event_id) == correction.new_event_id
                    ),
                    None,
                )
            if status is None:
                continue
            self.store.record_receipts(
                correction.new_event_id,
                outcome=None if status.outcome is None else status.outcome.value,
                reasons=[
                    {"code": r.code, "field": r.field, "message": r.message, "hint": r.hint}
                    for r in status.reasons
                ],
                delivered_to=sorted(status.delivered_to),
                acknowledged_by=sorted(status.acknowledged_by),
            )

    def close(self) -> None:
        for watcher in self.watchers.values():
            watcher.close()


class Background:
    """A thread that keeps the store current: new rejections, receipts of corrections."""

    def __init__(
        self,
        feed: RejectedFeed,
        follower: ReceiptFollower,
        interval: float,
        metrics: MetricsHistory | None = None,
    ) -> None:
        self.feed = feed
        self.follower = follower
        self.metrics = metrics
        self.interval = interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="console-feed", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.feed.poll_once()
                self.follower.poll_once()
                if self.metrics is not None:
                    self.metrics.scrape()
            except KafkaError as error:
                log.warning("broker unavailable", extra={"error": type(error).__name__})
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.feed.close()
        self.follower.close()


@dataclass(frozen=True)
class Step:
    """One thing that happened to an event: a receipt the force got, or an audit record."""

    at: datetime
    source: str
    event_id: str
    case_urn: str
    what: str
    detail: str


def _read_all(runtime: Runtime, topics: list[str], client: dict[str, Any]) -> list[bytes]:
    """Every record of ``topics`` up to their current end (no consumer group)."""
    consumer = KafkaConsumer(bootstrap_servers=runtime.bootstrap, **client)
    values: list[bytes] = []
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return values
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(
            consumer.position(tp) < end for tp, end in ends.items()
        ):
            for records in consumer.poll(timeout_ms=200, max_records=5000).values():
                values += [r.value for r in records if r.value is not None]
    finally:
        consumer.close()
    return values


def timeline(runtime: Runtime, codec: Codec, forces: list[str], query: str) -> list[Step]:
    """Where an event (by id) or a case (by URN) of ``forces`` has been: the receipts the
    force got and the chained audit log's disclosures, oldest first.

    Reads each topic from its start: fine for a local exchange, a search index for a real one.
    """
    query = query.strip()
    steps: list[Step] = []
    shown: set[UUID] = set()

    def wanted(event_id: str, case_urn: str) -> bool:
        return query in (event_id, case_urn) or query.upper() == case_urn

    for force in forces:
        for value in _read_all(
            runtime, [runtime.catalog.receipts(force)], force_client(runtime, force)
        ):
            try:
                receipt = codec.decode_as(value, Receipt)
            except CodecError:
                continue
            if not wanted(str(receipt.event_id), receipt.case_urn) or receipt.receipt_id in shown:
                continue  # a receipt sent again (a partner's repeated acknowledgement, a
                # worker's replay) has the same id: the force got it once
            shown.add(receipt.receipt_id)
            detail = receipt.recipient or ", ".join(r.code for r in receipt.reasons)
            if receipt.original_event_id is not None:
                detail = f"repeats {receipt.original_event_id}"
            steps.append(
                Step(
                    receipt.issued_at,
                    "receipt",
                    str(receipt.event_id),
                    receipt.case_urn,
                    receipt.status.value,
                    detail,
                )
            )
            # A receipt lists the partners the event went to with it (Receipt v2): each
            # delivery is a step of the journey.
            steps += [
                Step(
                    receipt.issued_at,
                    "receipt",
                    str(receipt.event_id),
                    receipt.case_urn,
                    "DELIVERED",
                    partner,
                )
                for partner in receipt.deliveries
            ]
    for value in _read_all(runtime, [runtime.catalog.audit], runtime.client_config(OPERATOR)):
        try:
            record = codec.decode_as(value, AuditRecord)
        except CodecError:
            continue
        disclosure = record.disclosure
        if disclosure.force not in forces or not wanted(
            str(disclosure.event_id), disclosure.case_urn
        ):
            continue
        steps.append(
            Step(
                record.recorded_at,
                "audit",
                str(disclosure.event_id),
                disclosure.case_urn,
                f"disclosed to {disclosure.recipient}",
                f"#{record.sequence} {disclosure.purpose}; hash {record.hash[:12]}",
            )
        )
    return sorted(steps, key=lambda s: s.at)
