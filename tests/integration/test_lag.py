"""Consumer lag and the rejected backlog read from the real broker."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry

from infra.broker.node import free_port
from infra.security.policy import OPERATOR, WORKER
from infra.topics import TopicCatalog
from streams.lag import (
    REJECTED_REVIEW_TOOL,
    BrokerMetrics,
    KafkaOffsetReader,
    Watch,
    register_broker_metrics,
)
from tests.support.world import Broker

PARTNER = "court-magistrates"
N, M = 10, 4


def _produce(kafka: Broker, topic: str, ages_seconds: list[float], partition: int = 0) -> None:
    """Records stamped ``ages_seconds`` ago, in that order, on one partition, written as the
    worker writes delivery and rejected topics."""
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", **kafka.client(WORKER))
    now_ms = int(time.time() * 1000)
    try:
        for i, age in enumerate(ages_seconds):
            producer.send(
                topic,
                value=b"x",
                key=f"k{i}".encode(),
                partition=partition,
                timestamp_ms=now_ms - int(age * 1000),
            )
        producer.flush()
    finally:
        producer.close()


def _consume_and_commit(kafka: Broker, principal: str, topic: str, group: str, upto: int) -> None:
    """Read partition 0 up to offset ``upto`` and commit exactly that, as ``principal`` (a
    partner, or an operator's review tool) would."""
    tp = TopicPartition(topic, 0)
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **kafka.client(principal),
    )
    try:
        consumer.assign([tp])
        last = -1
        deadline = time.monotonic() + 30
        while last < upto - 1 and time.monotonic() < deadline:
            for record in consumer.poll(timeout_ms=500).get(tp, []):
                if record.offset < upto:
                    last = record.offset
        assert last == upto - 1
        consumer.commit({tp: OffsetAndMetadata(upto, "", -1)})
    finally:
        consumer.close()


def _wait_for(registry: CollectorRegistry, name: str, labels: dict[str, str], want: float) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if registry.get_sample_value(name, labels) == want:
            return
        time.sleep(0.1)
    raise AssertionError(f"{name}{labels} = {registry.get_sample_value(name, labels)}, not {want}")


def test_partner_lag_in_messages_and_seconds(kafka: Broker, catalog: TopicCatalog) -> None:
    topic = catalog.deliver(PARTNER)
    # Oldest first: record i is (100 - i) s old, so after M are consumed the oldest left is
    # (100 - M) s old.
    _produce(kafka, topic, [100.0 - i for i in range(N)])
    _produce(kafka, catalog.rejected, [30.0, 20.0])
    _consume_and_commit(kafka, PARTNER, topic, catalog.partner_group(PARTNER), M)

    # Read with the worker's identity, as the worker that serves these metrics reads them.
    registry = CollectorRegistry()
    collector = register_broker_metrics(
        registry, kafka.bootstrap, catalog, kafka.client(WORKER), interval=0.5
    )
    try:
        labels = {"recipient": PARTNER}
        _wait_for(registry, "cjsx_consumer_lag_messages", labels, N - M)
        seconds = registry.get_sample_value("cjsx_consumer_lag_seconds", labels)
        assert seconds is not None
        assert 100 - M <= seconds < 100 - M + 20
        assert registry.get_sample_value("cjsx_broker_up") == 1
        # Other partners have nothing waiting.
        other = {"recipient": "court-crown"}
        assert registry.get_sample_value("cjsx_consumer_lag_messages", other) == 0
        assert registry.get_sample_value("cjsx_consumer_lag_seconds", other) == 0
        # Nobody reviewed the rejected topic: everything on it is backlog.
        assert registry.get_sample_value("cjsx_rejected_backlog_messages") == 2
        age = registry.get_sample_value("cjsx_rejected_oldest_age_seconds")
        assert age is not None
        assert 30 <= age < 50

        # The partner catches up: lag falls to zero on a later refresh.
        _consume_and_commit(kafka, PARTNER, topic, catalog.partner_group(PARTNER), N)
        _wait_for(registry, "cjsx_consumer_lag_messages", labels, 0)
        assert registry.get_sample_value("cjsx_consumer_lag_seconds", labels) == 0
        review = catalog.operator_group(REJECTED_REVIEW_TOOL)
        _consume_and_commit(kafka, OPERATOR, catalog.rejected, review, 2)
        _wait_for(registry, "cjsx_rejected_backlog_messages", {}, 0)
    finally:
        collector.close()


def test_an_unreachable_broker_reads_as_down() -> None:
    address = f"127.0.0.1:{free_port()}"
    collector = BrokerMetrics(
        [Watch("nowhere", "partner-nobody", "nobody")],
        lambda: KafkaOffsetReader(address, {}, timeout_ms=1000),
    )
    registry = CollectorRegistry()
    registry.register(collector)
    started = time.monotonic()
    assert collector.refresh() is None
    assert time.monotonic() - started < 10
    assert registry.get_sample_value("cjsx_broker_up") == 0
    assert registry.get_sample_value("cjsx_consumer_lag_messages", {"recipient": "nobody"}) is None
