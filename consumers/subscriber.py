"""What a CJS partner runs to receive its deliveries: exactly once in its own store.

At-least-once from Kafka plus an idempotent store gives exactly-once at the store: each
record is written (or recognised as already written) before its offset is committed, so a
crash at any point leads to redelivery, never loss, and a redelivery is dropped by its id.
After each write the subscriber acknowledges the delivery; the exchange turns that into an
"acknowledged by partner" receipt for the force.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import (
    CommitFailedError,
    IllegalGenerationError,
    KafkaError,
    KafkaTimeoutError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)

from common.processes import poll_until
from common.producer_close import close_producer
from consumers.fetch_watch import FetchWatch
from consumers.store import PartnerStore
from schemas.cloudevents import to_kafka
from schemas.codec import Codec, CodecError
from schemas.ids import acknowledgement_id
from schemas.models import Delivery, Receipt, ReceiptStatus

log = logging.getLogger("cjsx.partner")

_OUTAGE_PAUSE_S = 1.0
_TOPIC_WAIT_S = 30.0
"""How long a new consumer waits to see its topic's partitions before subscribing anyway (a
topic not there yet is then assigned at a later metadata refresh)."""


_COMMIT_REFUSED = (
    RebalanceInProgressError,
    CommitFailedError,
    IllegalGenerationError,
    UnknownMemberIdError,
)
"""A commit the group coordinator refused because the group's membership changed; kafka-python
marks these not retriable, but for a subscriber whose batch is already stored and
acknowledged they only mean "commit later" (``Subscriber._commit``)."""


@dataclass
class SubscriberStats:
    received: int = 0
    stored: int = 0
    redelivered: int = 0
    quarantined: int = 0
    ack_stalls: int = 0
    fetch_stalls: int = 0
    commits_refused: int = 0


class Subscriber:
    """Consumes one partner's delivery topic into a ``PartnerStore``."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        group_id: str,
        store: PartnerStore,
        acks_topic: str | None = None,
        codec: Codec | None = None,
        ack_timeout: float = 30.0,
        fetch_stall_timeout: float = 60.0,
        **client: Any,
    ) -> None:
        self.topic = topic
        self.store = store
        self.acks_topic = acks_topic
        self.codec = codec or Codec()
        self.stats = SubscriberStats()
        self._consumer_settings: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "group_id": group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "isolation_level": "read_committed",
            **client,
        }
        self.consumer = self._new_consumer()
        self.fetch_watch = FetchWatch(stall_seconds=fetch_stall_timeout)
        self._refused_since: float | None = None  # since when commits have been refused
        self.ack_timeout = ack_timeout
        self._producer_settings: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "acks": "all",
            "enable_idempotence": True,
            **client,
        }
        self.producer = KafkaProducer(**self._producer_settings) if acks_topic else None

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Handle one batch; returns how many records it held."""
        batches = self.consumer.poll(timeout_ms=timeout_ms, max_records=500)
        readable: list[Delivery] = []
        count = 0
        for records in batches.values():
            for record in records:
                count += 1
                delivery = self._decode(record.topic, record.partition, record.offset, record.value)
                if delivery is not None:
                    readable.append(delivery)
        if count:
            self.stats.received += count
            starts = {tp: records[0].offset for tp, records in batches.items()}
            try:
                fresh = sum(self.store.store_many(readable))
                self.stats.stored += fresh
                self.stats.redelivered += len(readable) - fresh
                for delivery in readable:
                    self._acknowledge(delivery)
                if self._acknowledgements_sent():
                    self._commit()
                else:
                    self._read_again(starts)
            except KafkaError:
                # An acknowledgement or the commit failed (a broker outage): the position
                # has moved past the batch, so without this the next commit would cover
                # records whose acknowledgements were never sent.
                self._read_again(starts)
                raise
        elif self._refused_since is not None:
            self._commit()  # nothing new to commit with: the refused position, again
        return count

    def _commit(self) -> None:
        """Commit the position. A commit the group refuses because it is rebalancing is
        left to a later batch's commit: this batch is stored and acknowledged, so moving on
        is safe (a partition the rebalance takes away is read again by its new holder from
        the last commit, and recognised). Seeking back instead re-read one batch for ever
        while the client never finished rejoining (a fault proof: 394 refusals, one batch
        received 196,767 times). A consumer refused for longer than the fetch stall bound is
        replaced, as a stalled one is."""
        try:
            self.consumer.commit()
        except _COMMIT_REFUSED as error:
            self.stats.commits_refused += 1
            if self._refused_since is None:
                self._refused_since = time.monotonic()
            log.warning(
                "commit refused by a rebalance; committed with a later batch",
                extra={"error": type(error).__name__},
            )
            return
        self._refused_since = None

    def _acknowledgements_sent(self) -> bool:
        """Whether the batch's acknowledgements reached the broker within ``ack_timeout``.

        A kafka-python producer can stop sending to a partition after its leader moved (seen
        in the fault proofs: two NotLeaderForPartition answers, then silence), so an
        unbounded flush would hang the partner for good. On a timeout the producer is
        abandoned and a new one made; the batch, not committed, is read again, found in the
        store, and acknowledged again (acknowledgement ids are derived, so a repeat is
        harmless)."""
        if self.producer is None:
            return True
        try:
            self.producer.flush(timeout=self.ack_timeout)
            return True
        except KafkaTimeoutError:
            close_producer(self.producer, timeout=0)
            self.producer = None  # made again when next needed (the broker may be down now)
            self.stats.ack_stalls += 1
            log.warning("acknowledgements stalled; producer replaced, batch read again")
            return False

    def _new_consumer(self) -> KafkaConsumer:
        """A consumer subscribed once its topic's partitions are known. Subscribed before, a
        group leader can assign nothing (kafka-python's assignor finds no partition metadata
        for a topic just created) and keep that until its next metadata refresh, 5 minutes
        later: seen as a partner given no partitions for 60 s in a fresh-clone run."""
        consumer = KafkaConsumer(**self._consumer_settings)
        try:
            deadline = time.monotonic() + _TOPIC_WAIT_S
            while not consumer.partitions_for_topic(self.topic) and time.monotonic() < deadline:
                time.sleep(0.2)
            consumer.subscribe([self.topic])
        except BaseException:
            consumer.close(autocommit=False)
            raise
        return consumer

    def _replace_consumer_if_stalled(self) -> None:
        """A consumer that stopped fetching a partition is closed and a new one joins in its
        place, from the committed offsets: what was stored and not committed comes again
        and is recognised (ADR 0013)."""
        refused = self._refused_since
        try:
            stuck = [str(tp.partition) for tp in self.fetch_watch.stalled(self.consumer)]
            if refused is not None and time.monotonic() - refused >= self.fetch_watch.stall_seconds:
                stuck.append("commits-refused")
        except KafkaTimeoutError:
            # The watch's own offsets request went unanswered for the client's whole request
            # timeout: in the fault proofs this is how a consumer stuck on a dead connection
            # showed (every 31 s, for minutes). In a real outage a new consumer waits as well.
            stuck = ["unanswered"]
        if not stuck:
            return
        try:
            fresh = self._new_consumer()
        except KafkaError as error:
            # The brokers are down as well, so no new consumer can start yet: keep the old
            # one (closing it first left the partner polling a closed consumer, and it
            # exited) and try again at the watch's next check.
            log.warning(
                "fetching stalled; no new consumer yet", extra={"error": type(error).__name__}
            )
            return
        log.warning("fetching stalled; consumer replaced", extra={"partitions": ",".join(stuck)})
        self.stats.fetch_stalls += 1
        self.consumer.close(autocommit=False)
        self.consumer = fresh
        self.fetch_watch.reset()
        self._refused_since = None

    def _read_again(self, starts: dict[TopicPartition, int]) -> None:
        """Seek back to the batch; a partition no longer ours is read again by its new holder
        from the committed offset."""
        assigned = self.consumer.assignment()
        for partition, offset in starts.items():
            if partition in assigned:
                self.consumer.seek(partition, offset)

    def run(
        self, *, until: Callable[[], bool] = lambda: False, idle_timeout: float | None = None
    ) -> SubscriberStats:
        """Poll until ``until()`` is true, or nothing has arrived for ``idle_timeout`` s."""
        poll_until(self._poll_through_outages, until=until, idle_timeout=idle_timeout)
        return self.stats

    def _poll_through_outages(self) -> int:
        """``poll_once``, riding out a broker outage instead of dying of it.

        Nothing is lost by carrying on: a batch is stored before its offsets are committed,
        so one whose commit failed comes again and the store recognises it.
        """
        try:
            count = self.poll_once()
            self._replace_consumer_if_stalled()
            return count
        except KafkaError as error:
            if not error.retriable:
                raise
            log.warning("broker unavailable; retrying", extra={"error": type(error).__name__})
            time.sleep(_OUTAGE_PAUSE_S)
            return 0

    def _decode(
        self, topic: str, partition: int, offset: int, value: bytes | None
    ) -> Delivery | None:
        """The delivery in a record, or None after quarantining what could not be read."""
        position = f"{topic}/{partition}/{offset}"
        try:
            return self.codec.decode_as(value or b"", Delivery)
        except CodecError as error:
            self.store.quarantine(position, f"{error.code}: {error.message}", value or b"")
            self.stats.quarantined += 1
            log.warning("quarantined", extra={"position": position, "code": error.code.value})
            return None

    def _acknowledge(self, delivery: Delivery) -> None:
        """Tell the exchange the delivery is safely stored (again, harmlessly, on redelivery)."""
        if self.acks_topic is None:
            return
        if self.producer is None:
            self.producer = KafkaProducer(**self._producer_settings)
        env = delivery.event.envelope
        now = datetime.now(UTC)
        receipt = Receipt(
            receipt_id=acknowledgement_id(delivery.delivery_id),
            event_id=env.event_id,
            case_urn=env.case_urn,
            force=env.force,
            status=ReceiptStatus.ACKNOWLEDGED,
            recipient=delivery.recipient,
            issued_at=now,
        )
        value, headers = to_kafka(
            self.codec,
            receipt,
            id=str(receipt.receipt_id),
            source=f"/cjs/partners/{delivery.recipient}",
            subject=env.case_urn,
            time=now,
        )
        self.producer.send(self.acks_topic, key=env.case_urn.encode(), value=value, headers=headers)

    def close(self) -> None:
        self.consumer.close()
        if self.producer is not None:
            close_producer(self.producer, timeout=self.ack_timeout)
