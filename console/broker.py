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
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from cjsx.runtime import Runtime
from console.store import ConsoleStore
from infra.security.policy import OPERATOR, force_principal
from producers.publisher import Publisher
from producers.receipts import ReceiptWatcher
from schemas.codec import Codec, CodecError
from schemas.models import CaseEvent, RejectedEvent

log = logging.getLogger(__name__)


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

    def __init__(self, feed: RejectedFeed, follower: ReceiptFollower, interval: float) -> None:
        self.feed = feed
        self.follower = follower
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
            except KafkaError as error:
                log.warning("broker unavailable", extra={"error": type(error).__name__})
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.feed.close()
        self.follower.close()
