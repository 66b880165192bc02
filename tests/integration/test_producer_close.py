"""``close_producer`` against a real broker that has gone: it returns, stops the producer's
I/O thread and fails what it held, where kafka-python's own ``close(timeout)`` raises and
leaves the thread running (the partner's acknowledgements hung on such a producer)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from common.producer_close import close_producer
from tests.support.world import start_broker


@pytest.mark.timeout(180)
def test_a_producer_whose_broker_is_gone_is_closed_and_its_records_failed(
    kafka_lib: Path, tmp_path: Path
) -> None:
    broker = start_broker(tmp_path / "broker", kafka_lib)
    producer: KafkaProducer | None = None
    try:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, **broker.client())
        admin.create_topics([NewTopic("gone", 1, 1)])
        admin.close()
        producer = KafkaProducer(
            bootstrap_servers=broker.bootstrap,
            acks="all",
            enable_idempotence=True,
            **broker.client(),
        )
        producer.send("gone", b"before").get(timeout=30)
        broker.cluster.nodes[0].kill()
        held = [producer.send("gone", f"after-{i}".encode()) for i in range(10)]
        started = time.monotonic()
        assert close_producer(producer, timeout=1) is False  # records were abandoned
        assert time.monotonic() - started < 20
        assert not producer._sender.is_alive()  # its I/O thread has stopped
        assert all(f.is_done and f.failed() for f in held)
    finally:
        if producer is not None:
            close_producer(producer, timeout=0)
        broker.cluster.stop()
