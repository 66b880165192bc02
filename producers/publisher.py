"""What a force system uses to publish case-file events to the exchange.

An idempotent Kafka producer (``enable_idempotence``, ``acks=all``) writes each event to the
force's own ingest topic, keyed by case URN so one case stays in one partition and in order,
with CloudEvents headers so other tools can route without decoding Avro.

Nothing handed to ``publish`` is lost when the broker is unreachable or this process dies:
the event is first committed to a local outbox (``producers.outbox``), a sending thread hands
the outbox to the producer in order, and an entry is removed only after the broker has
acknowledged it. A publisher started after a crash sends what its predecessor left, first,
with the same event ids (the exchange drops repeats by event id). An event too large for the
topic is refused before it is stored or sent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.future import Future
from kafka.producer.future import RecordMetadata
from kafka.record.default_records import DefaultRecordBatchBuilder

from common.errors import CjsxError
from common.producer_close import close_producer
from infra.topics import TopicCatalog
from producers.outbox import Durability, Entry, Outbox
from schemas.cloudevents import Headers, court_source, force_source, to_kafka
from schemas.codec import Codec
from schemas.models import CaseEvent, HearingResulted

log = logging.getLogger(__name__)

KAFKA_MAX_MESSAGE_BYTES = 1_048_588
"""The broker's ``message.max.bytes`` default: a topic's limit where the spec sets none."""
DEFAULT_OUTBOX_DIR = Path(".cache") / "outbox"
_RETRY_MAX_SECONDS = 5.0


def max_message_bytes(catalog: TopicCatalog, topic: str) -> int:
    """``topic``'s limit on one record batch, as the topic spec declares it
    (``max.message.bytes``), or the broker's default."""
    for declared in catalog.topics():
        if declared.name == topic:
            return int(declared.config.get("max.message.bytes", KAFKA_MAX_MESSAGE_BYTES))
    raise KeyError(f"{topic} is not in the topic spec")


class PublishCode(StrEnum):
    """Why the publisher refused an event: stable codes a force's system can act on."""

    EVENT_TOO_LARGE = "EVENT_TOO_LARGE"


class PublishRefused(CjsxError):
    """An event the exchange could never accept as it is, refused before it was stored or
    sent; ``code`` says why, ``event_id`` which one."""

    def __init__(self, code: PublishCode, message: str, event_id: str | None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.event_id = event_id


class Sent(Future):  # type: ignore[misc] # kafka-python is untyped
    """The broker's acknowledgement of one event, to come. ``get`` waits for it like
    kafka-python's own future. A failure means "not yet": the event stays in the outbox and
    is sent again."""

    def __init__(self) -> None:
        super().__init__()
        self._done = threading.Event()
        self.add_both(lambda _: self._done.set())

    def get(self, timeout: float | None = None) -> RecordMetadata:
        if not self._done.wait(timeout):
            raise KafkaTimeoutError(f"not acknowledged within {timeout} s (kept in the outbox)")
        if self.failed():
            raise self.exception
        return self.value


class Publisher:
    """Publishes one force's events; construct with the force's topic and client settings.

    ``outbox_dir`` holds the outbox (one folder per topic; default ``.cache/outbox``), or pass
    an ``Outbox`` (the publisher closes it). ``max_message_bytes`` is the topic's limit
    (``max_message_bytes(catalog, topic)`` reads it from the topic spec); ``durability`` is
    the outbox's (see ``producers.outbox``)."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        codec: Codec | None = None,
        outbox: Outbox | None = None,
        outbox_dir: Path | str | None = None,
        durability: Durability = "process",
        max_message_bytes: int = KAFKA_MAX_MESSAGE_BYTES,
        stall_seconds: float = 120.0,
        **client: Any,
    ) -> None:
        self.topic = topic
        self.stall_seconds = stall_seconds
        self.codec = codec or Codec()
        # The outbox retries for ever; the producer retries each batch until the broker is back
        # rather than failing it (which would cost order), and a send waits briefly for metadata
        # so that closing stays prompt.
        settings: dict[str, Any] = {
            "linger_ms": 5,
            "delivery_timeout_ms": 7 * 24 * 3_600_000,
            "max_block_ms": 10_000,
            **client,
        }
        unknown = set(settings) - set(KafkaProducer.DEFAULT_CONFIG)
        if unknown:
            raise TypeError(f"unknown Kafka client settings: {sorted(unknown)}")
        self._producer_settings: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "enable_idempotence": True,
            "acks": "all",
            "max_in_flight_requests_per_connection": 5,
            **settings,
        }
        # Made by the sending thread, so that a publisher starts (and keeps what it is
        # handed) while the broker is unreachable.
        self.producer: KafkaProducer | None = None
        self._fatal: BaseException | None = None
        self._refusal: Exception | None = None  # the broker's last non-retriable answer
        max_request = int(
            settings.get("max_request_size", KafkaProducer.DEFAULT_CONFIG["max_request_size"])
        )
        self.max_record_bytes = min(max_message_bytes, max_request)
        folder = Path(outbox_dir or DEFAULT_OUTBOX_DIR) / topic
        self.outbox = outbox or Outbox(folder, durability=durability)
        self._futures: dict[int, Sent] = {}
        self._acked: deque[int] = deque()
        self._failed: deque[int] = deque()
        self._handed = 0  # the highest outbox seq handed to the producer, in order
        self._in_flight: set[int] = set()  # handed to the producer, not yet answered
        self._last_answer = time.monotonic()
        self.producers_replaced = 0
        self._abandoning = False
        self._wake = threading.Condition()
        self._stopping = False
        self._relay = threading.Thread(target=self._run, name=f"outbox-{topic}", daemon=True)
        self._relay.start()

    def encode(self, event: CaseEvent) -> tuple[bytes, bytes, Headers]:
        """Key, value and headers for ``event``, as they go on the wire."""
        env = event.envelope
        # A court publisher's results name their own source; a force's events the force's.
        source = (
            court_source(event.publisher, env.system)
            if isinstance(event, HearingResulted)
            else force_source(env.force, env.system)
        )
        value, headers = to_kafka(
            self.codec,
            event,
            id=str(env.event_id),
            source=source,
            subject=env.case_urn,
            time=env.occurred_at,
        )
        return env.case_urn.encode(), value, headers

    def publish(self, event: CaseEvent) -> Sent:
        """Keep ``event`` in the outbox (committed when this returns) and send it.

        Raises ``PublishRefused`` (``EVENT_TOO_LARGE``) if it could never fit the topic."""
        key, value, headers = self.encode(event)
        return self._submit(key, value, headers, str(event.envelope.event_id))

    def send_raw(
        self, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]] = ()
    ) -> Sent:
        """Send bytes as they are (through the outbox too): for resends of exact bytes, and
        for hostile-input tests."""
        return self._submit(key, value, headers, None)

    def check_size(
        self,
        key: bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, bytes]],
        event_id: str | None = None,
    ) -> int:
        """The record's size on the wire (with its batch's overhead), or ``PublishRefused``
        if it exceeds the topic's limit: the broker would reject it, however often sent."""
        size = int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, list(headers)))
        if size > self.max_record_bytes:
            raise PublishRefused(
                PublishCode.EVENT_TOO_LARGE,
                f"the event is {size} bytes on the wire; {self.topic} takes at most "
                f"{self.max_record_bytes} (split its documents into several events)",
                event_id,
            )
        return size

    def _submit(
        self,
        key: bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, bytes]],
        event_id: str | None,
    ) -> Sent:
        self.check_size(key, value, headers, event_id)
        future = Sent()
        with self._wake:
            if self._stopping:
                raise RuntimeError("the publisher is closed")
            entry = self.outbox.add(self.topic, key, value, headers, event_id)
            self._futures[entry.seq] = future
            self._wake.notify_all()
        return future

    # The sending thread: the only one that hands entries to the producer or removes them.

    def _run(self) -> None:
        try:
            self._relay_loop()
        except BaseException as error:  # surfaced by flush(); the outbox keeps every event
            log.exception("the outbox's sending thread stopped")
            self._fatal = error

    def _connect(self) -> KafkaProducer:
        if self.producer is None:
            self.producer = KafkaProducer(**self._producer_settings)
        return self.producer

    def _relay_loop(self) -> None:
        backoff = 0.5
        while True:
            with self._wake:
                if self._stopping:  # close() has flushed what it could; the rest stays kept
                    break
            try:
                self._forget_acknowledged()
                if self._stalled():
                    self._replace_producer()
                if self._failed:
                    failed = min(self._drain(self._failed))
                    self._handed = min(self._handed, failed - 1)
                    time.sleep(backoff)
                    backoff = min(backoff * 2, _RETRY_MAX_SECONDS)
                handed = self._hand_over()
                if handed:
                    backoff = 0.5
            except KafkaError as error:  # no metadata, a full buffer, or a refusal
                if not error.retriable and not isinstance(error, KafkaTimeoutError):
                    self._refusal = error
                log.warning("outbox waits for the broker", extra={"error": type(error).__name__})
                time.sleep(backoff)
                backoff = min(backoff * 2, _RETRY_MAX_SECONDS)
                continue
            with self._wake:
                if not self._relay_has_work() and not self._stopping:
                    self._wake.wait(timeout=0.2)
        self._forget_acknowledged()

    def _stalled(self) -> bool:
        """Records handed over and no answer (ack or failure) for ``stall_seconds``: the
        producer has stopped sending (seen in the fault proofs after a leader change). Its
        retries would go on for days; waiting on it would keep every later event back."""
        return (
            self.producer is not None
            and bool(self._in_flight)
            and time.monotonic() - self._last_answer > self.stall_seconds
        )

    def _replace_producer(self) -> None:
        """Abandon the producer and hand everything still in the outbox to a new one, in
        order. Records the old one did write are written again: the exchange recognises them
        by event id (a DUPLICATE receipt), which is the price of not waiting for ever."""
        old, self.producer = self.producer, None
        log.warning(
            "producer stopped sending; replaced",
            extra={"in_flight": len(self._in_flight), "stall_seconds": self.stall_seconds},
        )
        if old is not None:
            self._abandoning = True  # its records fail (IllegalStateError): not a refusal
            try:
                close_producer(old, timeout=0)  # they are still in the outbox
            finally:
                self._abandoning = False
        self._forget_acknowledged()
        self._drain(self._failed)
        self._in_flight.clear()
        self._handed = 0
        self._last_answer = time.monotonic()
        self.producers_replaced += 1

    def _relay_has_work(self) -> bool:
        return bool(self._acked or self._failed) or bool(self.outbox.pending(self._handed, 1))

    @staticmethod
    def _drain(queue: deque[int]) -> list[int]:
        items = []
        while queue:
            items.append(queue.popleft())
        return items

    def _hand_over(self) -> int:
        """Give the producer every entry after ``_handed``, in order; stops at the first
        that it will not take yet (it raises, and is tried again)."""
        handed = 0
        while batch := self.outbox.pending(self._handed):
            for entry in batch:
                self._send(entry)
                self._handed = entry.seq
                handed += 1
            if self._failed:
                break
        return handed

    def _send(self, entry: Entry) -> None:
        sent = self._connect().send(
            entry.topic, key=entry.key, value=entry.value, headers=list(entry.headers)
        )
        if not self._in_flight:
            self._last_answer = time.monotonic()  # the wait for an answer starts now
        self._in_flight.add(entry.seq)
        sent.add_callback(self._on_ack, entry.seq)
        sent.add_errback(self._on_failure, entry.seq)

    def _on_ack(self, seq: int, metadata: RecordMetadata) -> None:
        # On the producer's network thread: record it; the sending thread removes it.
        self._answered(seq)
        self._acked.append(seq)
        with self._wake:
            future = self._futures.pop(seq, None)
            self._wake.notify_all()
        if future is not None:
            future.success(metadata)

    def _on_failure(self, seq: int, error: Exception) -> None:
        if not getattr(error, "retriable", True) and not self._abandoning:
            self._refusal = error  # retried all the same (an operator may fix an ACL)
        self._answered(seq)
        self._failed.append(seq)
        with self._wake:
            future = self._futures.pop(seq, None)
            self._wake.notify_all()
        if future is not None:
            future.failure(error)

    def _answered(self, seq: int) -> None:
        self._in_flight.discard(seq)
        self._last_answer = time.monotonic()

    def _forget_acknowledged(self) -> None:
        if self._acked:
            self.outbox.remove(self._drain(self._acked))
            with self._wake:
                self._wake.notify_all()

    def pending(self) -> int:
        """Events kept in the outbox, not yet acknowledged by the broker."""
        return len(self.outbox)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every event handed to this publisher has been acknowledged and removed
        from the outbox; ``KafkaTimeoutError`` if not within ``timeout`` seconds, or the
        broker's refusal (an authorisation error, say) if it refuses one. Either way nothing
        is lost: the events stay in the outbox."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._wake:
            self._wake.notify_all()
            while len(self.outbox) > 0 or self._acked:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise KafkaTimeoutError(
                        f"{len(self.outbox)} event(s) not acknowledged within {timeout} s "
                        "(kept in the outbox)"
                    )
                if self._fatal is not None:
                    raise self._fatal
                if self._refusal is not None:  # waiting would be for ever: say why
                    refusal, self._refusal = self._refusal, None
                    raise refusal
                if not self._relay.is_alive():
                    raise RuntimeError("the publisher's sending thread has stopped")
                self._wake.wait(timeout=0.2 if remaining is None else min(remaining, 0.2))

    def close(self, timeout: float | None = None) -> None:
        """Flush (for at most ``timeout`` seconds), then stop. What is not acknowledged by
        then stays in the outbox for the next publisher of this topic."""
        try:
            self.flush(timeout)
        except KafkaError as error:
            log.warning(
                "publisher closed with events kept in its outbox",
                extra={"error": type(error).__name__, "kept": len(self.outbox)},
            )
        finally:
            with self._wake:
                self._stopping = True
                self._wake.notify_all()
            self._relay.join(timeout=15)
            if self.producer is not None:
                close_producer(self.producer, timeout=0 if len(self.outbox) else timeout)
            self.outbox.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
