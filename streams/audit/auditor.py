"""The auditor: the one writer of the audit log (Data Protection Act 2018, s.62).

It reads two kinds of source and appends each of their records to one hash chain on the
audit topic (see :mod:`streams.audit.chain`): every delivery and results record the worker
writes (each partition of every topic :meth:`TopicCatalog.disclosing_topics` names for the
registry), each one disclosure, derived from its bytes (:func:`disclosure_of`: the hash of
exactly the bytes the recipient reads, and the purpose, legal basis, policy version and
principal the record carries) and chained as an ``AuditRecord`` that names its topic and
partition; and the ``ConsoleAction`` records the exceptions console writes for every action
of its users, each chained as an ``ActionAuditRecord``. Each source partition is chained in
the order it arrived; a poll's records of all of them are interleaved by their Kafka
timestamps without reordering any.

Exactly once, from the log itself
    The auditor keeps no state of its own. On start it reads the committed audit topic and
    finds the chain head (sequence and hash) and, *per source topic partition*, the offset of
    the last input it chained (the head alone does not say where the others stopped), and
    resumes each at the offset after it. Each poll's batch (of all sources) is appended
    in one Kafka transaction, and the head and offsets only move when the transaction
    commits, so a crash at any point leaves either the whole batch or none of it: no gaps, no
    duplicates, no fork.

One writer
    ``init_transactions`` with the auditor's transactional id aborts whatever a previous
    instance left open and fences it: a zombie auditor's next transaction fails with
    ``ProducerFencedError`` (raised here as :class:`AuditorFenced`), so two auditors can never
    both extend the chain. The head is read *after* ``init_transactions`` for that reason.

Re-emitted deliveries
    After a worker crash the worker may deliver an event to a partner again: a second delivery
    record with the same ``delivery_id`` at a later offset. That is a second transfer on the
    wire, so it is chained as a record of its own: the log records transfers, not unique
    deliveries.

Records it did not write
    Each record carries the auditor's Ed25519 signature of its hash (header
    ``cjsx_audit_signature``, :mod:`streams.audit.signing`); only the auditor holds the key.
    On start the head is the committed record *the auditor signed* with the highest sequence
    (the whole log is read: a super user could append a signed copy of an old record), so a
    record appended by anyone else (``admin`` can write any topic) is never chained after.
    While running, the auditor also reads the audit topic back: every committed record must
    be one it has just written, in order; anything else (an unsigned record, a copy of an old
    one, bytes that are not a record) is *foreign*. It is logged as an error with reason
    ``foreign`` and its offset, counted in :attr:`AuditorStats.foreign`, and the auditor
    carries on from its own head: the genuine chain is intact, ``cjsx audit verify`` reports
    the foreign record at its own position, and stopping would only stop the disclosure log
    while the worker keeps disclosing. See ``docs/audit.md``.

Faults
    An abortable failure (a timeout, a lost broker) aborts the batch and retries it from the
    committed head. Being fenced, not authorised, an input that does not decode or does not
    say why it was disclosed (only the worker writes the delivery and results topics, only the
    console the console-actions topic) or an audit head that fails its own hash stop the
    auditor: extending a chain it cannot trust would hide the problem.
"""

from __future__ import annotations

import heapq
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kafka_errors

from common.errors import CjsxError
from common.processes import poll_until
from schemas.cloudevents import EXCHANGE_SOURCE, to_kafka
from schemas.codec import Codec, CodecError
from schemas.models import AuditRecord, ConsoleAction
from streams.audit.chain import (
    BreakKind,
    ChainRecord,
    Source,
    SourceKey,
    decode_link,
    disclosure_of,
    link,
    record_hash,
    source_key,
    source_of,
)
from streams.audit.signing import SIGNATURE_HEADER, StoredRecord, sign, signed_by

log = logging.getLogger("cjsx.auditor")

_AUDIT_IDS = uuid.UUID("5d3f7a0e-9b1c-4e62-8a4d-2c7e1f6b9d03")
_Input = tuple[TopicPartition, int, int, bytes | None]
"""A source record to chain: its topic partition, offset, Kafka timestamp and value."""
_FENCED = (kafka_errors.ProducerFencedError, kafka_errors.InvalidProducerEpochError)


def _fenced(error: BaseException) -> bool:
    """Whether ``error`` says another producer took the transactional id.

    kafka-python 3.0 raises ``ProducerFencedError`` once; every later transactional call on
    that producer raises a plain ``KafkaError`` that only names it in its text.
    """
    return isinstance(error, _FENCED) or any(e.__name__ in str(error) for e in _FENCED)


class AuditorError(CjsxError):
    """The auditor cannot safely extend the chain; an operator must look."""


class AuditorFenced(AuditorError):
    """Another auditor with the same transactional id has started: this one must stop."""


def transactional_id(namespace: str = "") -> str:
    """The auditor's transactional id; the ACLs grant it to ``exchange-auditor`` by prefix."""
    return f"{namespace}.exchange-auditor" if namespace else "exchange-auditor"


def _only_partition(consumer: KafkaConsumer, topic: str) -> TopicPartition:
    """Partition 0 of a single-partition topic: one partition is what makes one chain."""
    partitions = consumer.partitions_for_topic(topic)
    if partitions != {0}:
        raise AuditorError(f"{topic} must exist with exactly one partition, has {partitions}")
    return TopicPartition(topic, 0)


def _all_partitions(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic`` (a delivery or results topic), which must exist."""
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise AuditorError(f"{topic} does not exist or the auditor may not read it")
    return [TopicPartition(topic, p) for p in sorted(partitions)]


def read_log(
    bootstrap_servers: str,
    topic: str,
    *,
    client: dict[str, Any] | None = None,
    stall_timeout: float = 30.0,
) -> Iterator[bytes]:
    """Every committed record value of the audit topic, oldest first, up to its current end.

    Reads by position (no consumer group), so it needs only read access to the topic.
    """
    for stored in read_stored(bootstrap_servers, topic, client=client, stall_timeout=stall_timeout):
        yield stored.value


def read_stored(
    bootstrap_servers: str,
    topic: str,
    *,
    client: dict[str, Any] | None = None,
    stall_timeout: float = 30.0,
) -> Iterator[StoredRecord]:
    """Like :func:`read_log`, with each record's signature header (what the writer check
    needs)."""
    consumer = _committed_reader(bootstrap_servers, client)
    try:
        tp = _only_partition(consumer, topic)
        consumer.assign([tp])
        end = consumer.end_offsets([tp])[tp]
        consumer.seek_to_beginning(tp)
        for _, stored in _read_until(consumer, tp, end, stall_timeout):
            yield stored
    finally:
        consumer.close()


def _committed_reader(bootstrap_servers: str, client: dict[str, Any] | None) -> KafkaConsumer:
    """A group-less consumer that sees only committed transactions."""
    return KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **(client or {}),
    )


def _signature(headers: Any) -> bytes | None:
    for name, value in headers or ():
        if name == SIGNATURE_HEADER:
            return bytes(value) if value is not None else None
    return None


def _read_until(
    consumer: KafkaConsumer, tp: TopicPartition, end: int, stall_timeout: float
) -> Iterator[tuple[int, StoredRecord]]:
    """(offset, record) from the consumer's position up to ``end`` (markers and aborted data
    skipped)."""
    last_progress = time.monotonic()
    while consumer.position(tp) < end:
        before = consumer.position(tp)
        for record in consumer.poll(timeout_ms=500).get(tp, []):
            if record.offset < end:
                value = record.value if record.value is not None else b""
                yield record.offset, StoredRecord(value, _signature(record.headers))
        if consumer.position(tp) > before:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > stall_timeout:
            raise AuditorError(f"reading {tp.topic} stalled at offset {consumer.position(tp)}")


def read_head(
    bootstrap_servers: str,
    topic: str,
    *,
    codec: Codec | None = None,
    client: dict[str, Any] | None = None,
    stall_timeout: float = 30.0,
    writer: Ed25519PublicKey | None = None,
) -> ChainRecord | None:
    """The last committed record of the audit topic (``None`` if the log is empty).

    With ``writer`` (the auditor's public key), the last record the auditor *signed*: records
    after it that it did not sign are someone else's and never a head to chain after.
    """
    found = _last_record(
        bootstrap_servers,
        topic,
        codec=codec or Codec(),
        client=client,
        stall_timeout=stall_timeout,
        writer=writer,
    )
    return found.head if found is not None else None


@dataclass(frozen=True)
class _ChainState:
    """What a restart needs from the log: the head, where it is, and per source topic
    partition the offset of the last input chained."""

    head: ChainRecord
    head_offset: int
    """The head's own offset on the audit topic."""
    chained: dict[SourceKey, int]


def _last_record(
    bootstrap_servers: str,
    topic: str,
    *,
    codec: Codec,
    client: dict[str, Any] | None,
    stall_timeout: float,
    writer: Ed25519PublicKey | None,
) -> _ChainState | None:
    """The chain's head and its offset: the last committed record or, with ``writer``, the
    signed record with the highest sequence (and, per source, the last input chained).

    Without ``writer``: the offset before the end is usually a transaction's commit marker,
    not a record, and aborted batches hold offsets too, so the window read before the end
    widens until it holds a record.

    With ``writer`` the whole log is read. The last signed record is not enough: a super user
    can append a *copy* of an old genuine record, signature header and all, and an auditor
    resuming after it would chain the same disclosures again. The auditor writes sequences in
    increasing order, so its real head is the signed record with the highest sequence, which
    only a full read can establish. A signature is checked only for a record that would raise
    the highest sequence so far of its source. This makes start-up linear in the log's length
    (the price of keeping no state outside the log).
    """
    consumer = _committed_reader(bootstrap_servers, client)
    try:
        tp = _only_partition(consumer, topic)
        consumer.assign([tp])
        begin = consumer.beginning_offsets([tp])[tp]
        end = consumer.end_offsets([tp])[tp]
        if writer is not None:
            consumer.seek(tp, begin)
            return _highest_signed(_read_until(consumer, tp, end, stall_timeout), codec, writer)
        window = 2
        while True:
            start = max(begin, end - window)
            consumer.seek(tp, start)
            last: _ChainState | None = None
            for offset, stored in _read_until(consumer, tp, end, stall_timeout):
                record = _own(stored, codec, None)
                if record is not None:
                    last = _ChainState(record, offset, {source_key(record): record.source_offset})
            if last is not None:
                return last
            if start == begin:
                return None
            window *= 8
    finally:
        consumer.close()


def _highest_signed(
    records: Iterator[tuple[int, StoredRecord]], codec: Codec, writer: Ed25519PublicKey
) -> _ChainState | None:
    """Per source topic partition, the signed record with the highest sequence (its first
    copy); the head is the highest of them.

    The auditor chains each source partition in offset order, so the highest-sequence record
    of one that the auditor signed holds the last offset chained from it. A copy of an older
    genuine record has a lower sequence and is never looked at twice.
    """
    best: dict[SourceKey, tuple[ChainRecord, int]] = {}
    for offset, stored in records:
        try:
            found = decode_link(codec, stored.value)
        except CodecError:
            continue  # not a record, so not one the auditor wrote
        source = source_key(found)
        if source in best and found.sequence <= best[source][0].sequence:
            continue
        record = _own(stored, codec, writer)
        if record is not None:
            best[source] = (record, offset)
    if not best:
        return None
    head, head_offset = max(best.values(), key=lambda pair: pair[0].sequence)
    return _ChainState(head, head_offset, {s: r.source_offset for s, (r, _) in best.items()})


def _own(stored: StoredRecord, codec: Codec, writer: Ed25519PublicKey | None) -> ChainRecord | None:
    """The record, if it may be a head: it decodes and (with ``writer``) the auditor signed it.

    A record the auditor signed whose content no longer matches its hash was altered: the
    chain cannot be trusted, so that stops the auditor rather than being skipped.
    """
    try:
        record = decode_link(codec, stored.value)
    except CodecError as error:
        if writer is not None:
            return None  # not a record at all, so not one the auditor wrote
        raise AuditorError(f"the audit log's last record does not decode ({error.code})") from error
    if writer is not None and not signed_by(writer, record.hash, stored.signature):
        return None
    if record_hash(record) != record.hash:
        raise AuditorError(f"the audit log's last record (sequence {record.sequence}) is altered")
    return record


@dataclass
class AuditorStats:
    chained: int = 0
    """Records chained, of all sources."""
    actions: int = 0
    """Of those, console actions."""
    transactions: int = 0
    aborted: int = 0
    foreign: int = 0
    """Committed audit records the auditor found that it did not write."""


class Auditor:
    """Chains the delivery and results topics (every record a disclosure) and the
    console-actions topic into the audit topic, one transaction per poll."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        disclosing_topics: Sequence[str],
        audit_topic: str,
        actions_topic: str | None = None,
        transactional_id: str,
        signing_key: Ed25519PrivateKey,
        client: dict[str, Any] | None = None,
        codec: Codec | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch_size: int = 500,
        retry_pause: float = 1.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.bootstrap_servers = bootstrap_servers
        self.disclosing_topics = list(disclosing_topics)
        """Every delivery and results topic (``TopicCatalog.disclosing_topics``)."""
        self.actions_topic = actions_topic
        """The console-actions topic (``None``: an exchange without a console)."""
        self.audit_topic = audit_topic
        self.client = dict(client or {})
        self.codec = codec or Codec()
        self.clock = clock
        self.batch_size = batch_size
        self.retry_pause = retry_pause
        self.signing_key = signing_key
        self.stats = AuditorStats()
        self._written: deque[str] = deque()
        """Hashes committed but not yet read back from the audit topic, oldest first."""
        self.head: ChainRecord | None = None
        """The last record of the chain as committed (what a restart would resume from)."""
        self.chained_offsets: dict[TopicPartition, int] = {}
        """Per source topic partition, the offset of the last input committed to the chain."""
        self._started = False
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            transactional_id=transactional_id,
            acks="all",
            **self.client,
        )
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            enable_auto_commit=False,
            isolation_level="read_committed",
            **self.client,
        )
        self._tail = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            enable_auto_commit=False,
            isolation_level="read_committed",
            **self.client,
        )
        self._audit = TopicPartition(audit_topic, 0)
        self._source_of: dict[TopicPartition, Source] = {}
        """Every source topic partition, and the kind of input it holds."""

    def start(self) -> ChainRecord | None:
        """Fence any earlier auditor, find the chain head and where each source stopped,
        resume after them. Returns the head."""
        if self._started:
            return self.head
        self.producer.init_transactions()
        _only_partition(self.consumer, self.audit_topic)
        self._source_of = {
            tp: Source.DISCLOSURES
            for topic in self.disclosing_topics
            for tp in _all_partitions(self.consumer, topic)
        }
        if self.actions_topic is not None:
            actions = _only_partition(self.consumer, self.actions_topic)
            self._source_of[actions] = Source.CONSOLE_ACTIONS
        self.consumer.assign(list(self._source_of))
        found = _last_record(
            self.bootstrap_servers,
            self.audit_topic,
            codec=self.codec,
            client=self.client,
            stall_timeout=30.0,
            writer=self.signing_key.public_key(),
        )
        self.head = found.head if found is not None else None
        self.chained_offsets = {}
        for key, offset in (found.chained if found is not None else {}).items():
            tp = self._partition_of(key)
            if tp in self._source_of:  # not a record of version 1 (the retired topic)
                self.chained_offsets[tp] = offset
        self._tail.assign([self._audit])
        if found is not None:
            self._tail.seek(self._audit, found.head_offset + 1)
        else:
            self._tail.seek_to_beginning(self._audit)
        self._rewind()
        self._started = True
        self.check_log()  # anything after the auditor's own head was written by someone else
        log.info(
            "auditor started",
            extra={
                "sequence": self.head.sequence if self.head else 0,
                "sources": len(self._source_of),
                "resumed_sources": len(self.chained_offsets),
            },
        )
        return self.head

    def _partition_of(self, key: SourceKey) -> TopicPartition:
        """The topic partition a link's source key names, on this auditor's topics."""
        kind, topic, partition = key
        if kind is Source.CONSOLE_ACTIONS:
            return TopicPartition(self.actions_topic or "", 0)
        return TopicPartition(topic, partition)

    def _resume_offset(self, tp: TopicPartition) -> int:
        last = self.chained_offsets.get(tp)
        return last + 1 if last is not None else 0

    def _rewind(self) -> None:
        """Put each source partition back to just after the last input committed from it."""
        begins = self.consumer.beginning_offsets(list(self._source_of))
        for tp, source in self._source_of.items():
            begin = begins[tp]
            resume = self._resume_offset(tp)
            if resume < begin:
                # Retention removed inputs the auditor never chained: the log has a hole
                # the chain cannot show, so say so loudly.
                log.error(
                    "deliveries expired before they were chained"
                    if source is Source.DISCLOSURES
                    else "console actions expired before they were chained",
                    extra={
                        "topic": tp.topic,
                        "partition": tp.partition,
                        "from_offset": resume,
                        "to_offset": begin - 1,
                        "missing": begin - resume,
                    },
                )
                resume = begin
            self.consumer.seek(tp, resume)

    def check_log(self) -> int:
        """Read the audit topic back to its end; report each record the auditor did not write.

        Every committed record after the head the auditor started from must be, in order, one
        it committed itself. Returns how many foreign records this call found.
        """
        end = self._tail.end_offsets([self._audit])[self._audit]
        found = 0
        for offset, stored in _read_until(self._tail, self._audit, end, 30.0):
            try:
                record: ChainRecord | None = decode_link(self.codec, stored.value)
            except CodecError:
                record = None
            if record is not None and self._written and record.hash == self._written[0]:
                self._written.popleft()
                continue
            found += 1
            self.stats.foreign += 1
            log.error(
                "audit record not written by the auditor",
                extra={
                    "reason": BreakKind.FOREIGN.value,
                    "audit_offset": offset,
                    "claimed_sequence": record.sequence if record is not None else None,
                    "signed": stored.signature is not None,
                },
            )
        return found

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Chain one batch of all sources in one transaction; returns how many were chained.

        The audit topic is read back first, so a record someone else appended since the last
        batch is reported before the chain grows past it.
        """
        self.start()
        self.check_log()
        batch = self.consumer.poll(timeout_ms=timeout_ms, max_records=self.batch_size)
        records = self._in_order(batch)
        if not records:
            return 0
        try:
            head = self._append(records)
        except kafka_errors.AuthorizationError as error:
            raise AuditorError("the auditor is not authorised to write the audit log") from error
        except kafka_errors.KafkaError as error:
            if _fenced(error):
                raise AuditorFenced("another auditor holds the transactional id") from error
            self._abort(error)
            time.sleep(self.retry_pause)
            return 0
        except CodecError as error:
            self._abort(error)
            raise AuditorError(
                f"an input of the audit log does not decode ({error.code}); the auditor stops"
            ) from error
        self.head = head
        for tp, offset, _, _ in records:
            self.chained_offsets[tp] = offset
        self.stats.chained += len(records)
        self.stats.actions += sum(
            1 for r in records if self._source_of[r[0]] is Source.CONSOLE_ACTIONS
        )
        self.stats.transactions += 1
        log.debug(
            "chained", extra={"records": len(records), "sequence": head.sequence if head else 0}
        )
        return len(records)

    def _in_order(self, batch: dict[TopicPartition, list[Any]]) -> list[_Input]:
        """The polled records of all sources as one list: each source partition in offset
        order, all interleaved by their Kafka timestamps (a merge, so none is ever
        reordered)."""
        streams = [
            [(tp, r.offset, r.timestamp, r.value) for r in records]
            for tp, records in batch.items()
            if tp in self._source_of
        ]
        return list(heapq.merge(*streams, key=lambda r: r[2]))

    def _link(
        self, previous: ChainRecord | None, tp: TopicPartition, offset: int, value: bytes | None
    ) -> ChainRecord:
        """A source record linked after ``previous`` as what it records (``CodecError`` if it
        is not one): a console action, or the disclosure a delivery record is."""
        if self._source_of[tp] is Source.CONSOLE_ACTIONS:
            action = self.codec.decode_as(value or b"", ConsoleAction)
            return link(previous, action, offset, self.clock())
        return link(
            previous,
            disclosure_of(self.codec, value or b""),
            offset,
            self.clock(),
            source_topic=tp.topic,
            source_partition=tp.partition,
        )

    def _append(self, records: list[_Input]) -> ChainRecord | None:
        """Link, sign and write the batch, then commit: the head moves only if the commit
        succeeds."""
        previous = self.head
        self.producer.begin_transaction()
        futures = []
        hashes = []
        for tp, offset, _, value in records:
            previous = self._link(previous, tp, offset, value)
            entry = previous.disclosure if isinstance(previous, AuditRecord) else previous.action
            case_urn = entry.case_urn
            value, headers = to_kafka(
                self.codec,
                previous,
                id=str(uuid.uuid5(_AUDIT_IDS, str(previous.sequence))),
                source=EXCHANGE_SOURCE,
                subject=case_urn or f"console/{source_of(entry).value}",
                time=previous.recorded_at,
            )
            headers = [*headers, (SIGNATURE_HEADER, sign(self.signing_key, previous.hash))]
            hashes.append(previous.hash)
            futures.append(
                self.producer.send(
                    self.audit_topic,
                    key=case_urn.encode() if case_urn else None,
                    value=value,
                    headers=headers,
                    partition=0,
                )
            )
        self.producer.flush()
        for future in futures:
            future.get(timeout=0)  # raises the send's error, if any, before committing
        self.producer.commit_transaction()
        self._written.extend(hashes)
        return previous

    def _abort(self, error: Exception) -> None:
        """Abort the open transaction and resume from the committed head."""
        self.stats.aborted += 1
        log.warning("batch aborted", extra={"error": type(error).__name__})
        try:
            self.producer.abort_transaction()
        except kafka_errors.KafkaError as abort_error:
            if _fenced(abort_error):
                raise AuditorFenced("another auditor holds the transactional id") from abort_error
            raise AuditorError("the batch could not be aborted; the auditor stops") from abort_error
        self._rewind()

    def run(
        self, *, until: Callable[[], bool] = lambda: False, idle_timeout: float | None = None
    ) -> AuditorStats:
        """Chain until ``until()`` is true, or nothing has arrived for ``idle_timeout`` s."""
        self.start()
        poll_until(self.poll_once, until=until, idle_timeout=idle_timeout)
        return self.stats

    def close(self, timeout: float | None = 10.0) -> None:
        """Close the clients; ``timeout`` bounds the wait for the producer's pending sends."""
        self.consumer.close()
        self._tail.close()
        self.producer.close(timeout=timeout)

    def __enter__(self) -> Auditor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
