"""A worker whose topics appear late keeps going: metadata learned at start does not stall it.

Two hazards of the worker's Kafka clients (aiokafka under Faust), both about topics a client
did not see at its first metadata refresh:

- the producer: it learns every topic from the refresh Faust makes after creating the table
  changelogs, tracking none; the first send to a topic it did not see then narrows every later
  refresh to the tracked topics, and a record queued for another topic loses its leader, waits
  the 60 s request timeout and fails (NotLeaderForPartition). Large records widen the window
  (the one request in flight to the broker takes longer, so more records wait in the queue).
  ``tests/integration/test_producer_metadata.py`` shows this deterministically.
- the consumer: it learns the changelogs Faust has just created only from a metadata refresh;
  one that came before they were visible left every state write refused (PartitionsMismatch)
  until the next refresh, five minutes later by Faust's default, so the worker stopped.

Here every delivery topic is created only after the worker is running, which on the shared
broker also tends to delay the changelogs' visibility. Valid events (each written to a
receipts topic and the delivery topics of its recipients) mixed with large hostile
records must each end in exactly one outcome, with the worker alive and never stopping before
a commit. Before the fix the worker stopped here (PartitionsMismatch after 60 s).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient

from common import processes
from infra.topics import TopicCatalog, apply_topics
from schemas.codec import Codec, CodecError
from schemas.ids import derived_id
from schemas.models import CaseEvent, Receipt, ReceiptStatus
from schemas.reasons import ReasonCode
from tests.support.hostile import Hostile, HostileForce
from tests.support.world import Broker, WorkerProcess, new_catalog

FORCE = "01"
OUTCOMES = (ReceiptStatus.ACCEPTED, ReceiptStatus.REJECTED, ReceiptStatus.DUPLICATE)
SETTLE_SECONDS = 150.0
"""Longer than the worker's producer request timeout (60 s), so a stuck send shows."""


@pytest.fixture
def late_catalog(kafka: Broker) -> TopicCatalog:
    """A fresh topic set whose delivery topics do not exist yet."""
    catalog = new_catalog(kafka)
    late = [catalog.deliver(p.id) for p in catalog.registry.partners]
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, **kafka.client())
    try:
        admin.delete_topics(late, timeout_ms=60_000)
        deadline = time.monotonic() + 60
        while set(late) & set(admin.list_topics()):
            assert time.monotonic() < deadline, "the topics were not deleted"
            time.sleep(0.5)
    finally:
        admin.close()
    return catalog


@pytest.fixture
def late_worker(
    kafka: Broker, late_catalog: TopicCatalog, tmp_path: Path
) -> Iterator[WorkerProcess]:
    process = WorkerProcess(kafka, late_catalog, tmp_path).start()
    try:
        yield process
    finally:
        process.stop()


def _records(catalog: TopicCatalog) -> list[Hostile]:
    """Valid events of every type with large records in between: an event whose outputs are
    too large, a near-1 MiB undecodable value, and thousands of reasons."""
    gen = HostileForce(FORCE, seed=7, partitions=catalog.ingest_partitions, codec=Codec())
    large = [gen.oversized, lambda: gen.noise(900_000), gen.reasons_flood]
    out: list[Hostile] = []
    for i in range(60):
        out.append(gen.valid())
        if i % 10 == 9:
            out.append(large[(i // 10) % len(large)]())
    return out


def _publish(kafka: Broker, catalog: TopicCatalog, records: list[Hostile]) -> list[str]:
    """Publish as the force; return where each record landed (topic/partition/offset)."""
    producer = KafkaProducer(
        bootstrap_servers=kafka.bootstrap,
        acks="all",
        max_request_size=2 * 1024 * 1024,
        **kafka.client(f"force-{FORCE}"),
    )
    try:
        futures = [
            producer.send(catalog.ingest(FORCE), key=r.key, value=r.value, headers=list(r.headers))
            for r in records
        ]
        producer.flush(timeout=60)
        metas = [f.get(timeout=60) for f in futures]
    finally:
        producer.close(timeout=10)
    return [f"{m.topic}/{m.partition}/{m.offset}" for m in metas]


def _event_id(codec: Codec, record: Hostile, position: str) -> UUID:
    try:
        return codec.decode_as(record.value, CaseEvent).envelope.event_id
    except CodecError:
        return derived_id(position, "undecodable")


def _outcomes(kafka: Broker, topic: str, wanted: set[UUID], codec: Codec) -> Counter[UUID]:
    """Outcome receipts per event id, read until every wanted one arrived (or the time is up)."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        **kafka.client(),
    )
    seen: dict[UUID, Receipt] = {}

    def poll(timeout_ms: int) -> None:
        for records in consumer.poll(timeout_ms=timeout_ms).values():
            for record in records:
                receipt = codec.decode_as(record.value, Receipt)
                codes = [r.code for r in receipt.reasons]
                if receipt.status in OUTCOMES and codes != [ReasonCode.NO_RECIPIENT.value]:
                    seen[receipt.receipt_id] = receipt

    try:
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline and not wanted <= {r.event_id for r in seen.values()}:
            poll(500)
        time.sleep(3)  # and a little longer, so a second outcome would show
        poll(2000)
    finally:
        consumer.close()
    return Counter(r.event_id for r in seen.values())


def test_topics_created_after_the_worker_started_do_not_stall_it(
    kafka: Broker, late_catalog: TopicCatalog, late_worker: WorkerProcess
) -> None:
    codec = Codec()
    apply_topics(late_catalog, kafka.bootstrap, **kafka.client())
    records = _records(late_catalog)
    positions = _publish(kafka, late_catalog, records)
    wanted = {_event_id(codec, r, p) for r, p in zip(records, positions, strict=True)}
    assert len(wanted) == len(records)

    outcomes = _outcomes(kafka, late_catalog.receipts(FORCE), wanted, codec)

    log = late_worker.log.read_text(errors="replace")
    assert late_worker.process is not None
    assert late_worker.process.poll() is None, log[-2000:]
    assert "stopping before commit" not in log
    assert "NotLeaderForPartition" not in log
    missing = wanted - set(outcomes)
    assert not missing, f"{len(missing)} of {len(wanted)} records have no outcome receipt"
    assert set(outcomes.values()) == {1}, "a record with more than one outcome"
    assert set(outcomes) == wanted
    # Records replayed after the late changelogs' rebalance are counted once, as read.
    assert processes.wait_for(
        lambda: late_worker.metric("cjsx_events_received_total", force=FORCE) >= len(records), 20
    )
    assert late_worker.metric("cjsx_events_received_total", force=FORCE) == len(records)
