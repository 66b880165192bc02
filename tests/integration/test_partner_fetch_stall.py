"""A partner whose consumer stops fetching a partition is noticed and replaced: the position
standing still with records to read is the only sign (ADR 0013). Here the stall is made with
the client's own ``pause``; in the fault proofs kafka-python stopped by itself after a leader
and controller failover."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka import KafkaProducer

from common.processes import wait_for
from consumers.store import PartnerStore
from consumers.subscriber import Subscriber
from infra.topics import TopicCatalog
from tests.integration.test_partner_ack_stall import PARTNER, deliveries
from tests.support.world import Broker


@pytest.mark.timeout(180)
def test_a_consumer_that_stopped_fetching_is_replaced_and_catches_up(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    made = deliveries(cases=4)
    store = PartnerStore.sqlite(str(tmp_path / "court.sqlite"))
    subscriber = Subscriber(
        bootstrap_servers=kafka.bootstrap,
        topic=catalog.deliver(PARTNER),
        group_id=catalog.partner_group(PARTNER),
        store=store,
        acks_topic=catalog.acks(PARTNER),
        fetch_stall_timeout=3,
        **kafka.client(PARTNER),
    )
    subscriber.fetch_watch.check_every = 1
    try:
        assigned = wait_for(
            lambda: bool(subscriber.poll_once(200) >= 0 and subscriber.consumer.assignment()), 60
        )
        assert assigned, "the partner was given no partitions"
        subscriber.consumer.pause(*subscriber.consumer.assignment())  # fetches nothing more
        writer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", **kafka.client())
        for delivery, value in made:
            key = delivery.event.envelope.case_urn.encode()
            writer.send(catalog.deliver(PARTNER), key=key, value=value)
        writer.flush(timeout=30)
        writer.close()
        subscriber.run(until=lambda: store.counts().deliveries >= len(made), idle_timeout=60)
    finally:
        subscriber.close()
    assert subscriber.stats.fetch_stalls == 1
    assert subscriber.stats.stored == len(made)
