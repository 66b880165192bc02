"""A partner whose acknowledgements stall does not hang: the batch is read again and
acknowledged through a new producer, then committed. The stall is real: the partner's
producer is one whose broker has been killed with records in its buffer (in the fault proofs
a producer stopped sending to a partition after its leader moved, and the partner's
unbounded flush hung it for good).

A partner whose commit is refused because its group is rebalancing goes on and commits later
(in a fault proof a court's subscriber died of
``RebalanceInProgressError`` when a broker came back, and its deliveries stayed unstored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaTimeoutError, RebalanceInProgressError

from consumers.store import PartnerStore
from consumers.subscriber import Subscriber
from infra.topics import TopicCatalog
from schemas.ids import acknowledgement_id
from schemas.models import Delivery, Receipt
from tests.support.builders import catalog as plain_catalog
from tests.support.builders import codec, exchange, record, synthetic_force
from tests.support.world import Broker, read_topic, start_broker, stuck_producer

PARTNER = "court-magistrates"


def deliveries(cases: int) -> list[tuple[Delivery, bytes]]:
    """What the in-process pipeline delivers to the court for a few synthetic cases."""
    sim = synthetic_force()
    x, topic = exchange(), plain_catalog().deliver(PARTNER)
    found: list[tuple[Delivery, bytes]] = []
    offset = 0
    for _ in range(cases):
        story = sim.new_case()
        for event in (sim.charge(story), sim.remand_change(story)):
            for out in x.process(record(event, offset)).outputs:
                if out.topic == topic:
                    found.append((codec().decode_as(out.value, Delivery), out.value))
            offset += 1
    return found


def write(kafka: Broker, catalog: TopicCatalog, made: list[tuple[Delivery, bytes]]) -> None:
    """Put deliveries on the partner's topic as the worker would."""
    writer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", **kafka.client())
    for delivery, value in made:
        key = delivery.event.envelope.case_urn.encode()
        writer.send(catalog.deliver(PARTNER), key=key, value=value)
    writer.flush(timeout=30)
    writer.close()


def court_subscriber(
    kafka: Broker, catalog: TopicCatalog, store: PartnerStore, **settings: Any
) -> Subscriber:
    """The court's subscriber on the test's topic set, acknowledging unless told otherwise."""
    settings.setdefault("acks_topic", catalog.acks(PARTNER))
    return Subscriber(
        bootstrap_servers=kafka.bootstrap,
        topic=catalog.deliver(PARTNER),
        group_id=catalog.partner_group(PARTNER),
        store=store,
        **settings,
        **kafka.client(PARTNER),
    )


def committed_total(kafka: Broker, catalog: TopicCatalog) -> int:
    """The court's group's committed offsets, summed over the partitions."""
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, **kafka.client())
    try:
        group = catalog.partner_group(PARTNER)
        committed = admin.list_group_offsets({group: None})[group]
    finally:
        admin.close()
    return sum(o.offset for o in committed.values())


@pytest.mark.timeout(240)
def test_stalled_acknowledgements_are_sent_again_by_a_new_producer(
    kafka: Broker, catalog: TopicCatalog, kafka_lib: Path, tmp_path: Path
) -> None:
    made = deliveries(cases=4)
    assert len(made) >= 4
    write(kafka, catalog, made)
    gone = start_broker(tmp_path / "gone", kafka_lib)
    store = PartnerStore.sqlite(str(tmp_path / "court.sqlite"))
    subscriber = court_subscriber(kafka, catalog, store, ack_timeout=2)
    try:
        assert subscriber.producer is not None
        subscriber.producer.close()
        subscriber.producer = stuck_producer(gone, catalog.acks(PARTNER))
        stats = subscriber.run(idle_timeout=10)  # until nothing more arrives
    finally:
        subscriber.close()
        gone.cluster.stop()
    assert stats.ack_stalls == 1
    assert stats.stored == len(made)  # each once
    assert stats.redelivered >= 1  # the stalled batch, read again and recognised
    assert stats.received == len(made) + stats.redelivered
    assert committed_total(kafka, catalog) == len(made)  # and committed
    acks = {
        r.receipt_id
        for _, _, r in read_topic(kafka, catalog.acks(PARTNER))
        if isinstance(r, Receipt)
    }
    assert acks == {acknowledgement_id(d.delivery_id) for d, _ in made}


@pytest.mark.timeout(180)
def test_a_batch_whose_acknowledgement_fails_is_read_again_not_committed_past(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    """An acknowledgement that cannot be handed to the producer (no metadata in a broker
    outage) fails the batch after its deliveries are stored: the batch is read again, not
    left behind by a later commit with its acknowledgements unsent."""
    made = deliveries(cases=4)
    write(kafka, catalog, made)
    store = PartnerStore.sqlite(str(tmp_path / "court.sqlite"))
    subscriber = court_subscriber(kafka, catalog, store)
    try:
        producer = subscriber.producer
        assert producer is not None
        real_send, failed = producer.send, []

        def send_failing_once(*args: Any, **kwargs: Any) -> Any:
            if not failed:
                failed.append(True)
                raise KafkaTimeoutError("Failed to update metadata after 60.0 secs.")
            return real_send(*args, **kwargs)

        producer.send = send_failing_once  # type: ignore[method-assign]
        stats = subscriber.run(idle_timeout=10)
    finally:
        subscriber.close()
    assert failed
    assert stats.stored == len(made)
    assert stats.redelivered >= 1  # the failed batch, read again
    acks = {
        r.receipt_id
        for _, _, r in read_topic(kafka, catalog.acks(PARTNER))
        if isinstance(r, Receipt)
    }
    assert acks == {acknowledgement_id(d.delivery_id) for d, _ in made}


@pytest.mark.timeout(180)
def test_a_commit_refused_by_a_rebalance_is_read_again_and_each_delivery_stored_once(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    """kafka-python refuses a commit while its member is rejoining the group with
    ``RebalanceInProgressError``, which it marks not retriable (what a court's subscriber
    died of in a fault proof, when a broker came back). The subscriber goes on: the batch is
    stored and acknowledged, and its position is committed at the next poll."""
    made = deliveries(cases=4)
    write(kafka, catalog, made)
    store = PartnerStore.sqlite(str(tmp_path / "court.sqlite"))
    subscriber = court_subscriber(kafka, catalog, store)
    try:
        real_commit, refused = subscriber.consumer.commit, []

        def commit_refused_once(*args: Any, **kwargs: Any) -> Any:
            if not refused:
                refused.append(True)
                raise RebalanceInProgressError(
                    "Offset commit cannot be completed since the consumer is undergoing a rebalance"
                )
            return real_commit(*args, **kwargs)

        subscriber.consumer.commit = commit_refused_once  # type: ignore[method-assign]
        stats = subscriber.run(idle_timeout=10)
    finally:
        subscriber.close()
    assert refused
    assert stats.commits_refused == 1
    assert stats.stored == len(made)  # each once
    assert sorted(store.delivery_ids()) == sorted(str(d.delivery_id) for d, _ in made)
    assert committed_total(kafka, catalog) == len(made)  # and committed after all


@pytest.mark.timeout(180)
def test_a_consumer_whose_commits_stay_refused_is_replaced_and_commits(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    """A client that never finishes rejoining has every commit refused (the whole-cluster
    fault run). After the fetch stall bound it is replaced; the new consumer reads the
    uncommitted deliveries again, recognises them, and commits."""
    made = deliveries(cases=4)
    write(kafka, catalog, made)
    store = PartnerStore.sqlite(str(tmp_path / "court.sqlite"))
    subscriber = court_subscriber(kafka, catalog, store, fetch_stall_timeout=3)
    subscriber.fetch_watch.check_every = 1
    stuck = subscriber.consumer

    def always_refused(*args: Any, **kwargs: Any) -> Any:
        raise RebalanceInProgressError("the consumer is undergoing a rebalance")

    stuck.commit = always_refused  # type: ignore[method-assign]
    try:
        stats = subscriber.run(
            until=lambda: (
                subscriber.consumer is not stuck and subscriber.stats.redelivered >= len(made)
            ),
            idle_timeout=60,
        )
    finally:
        subscriber.close()
    assert stats.commits_refused >= 2  # refused with the batch, and again while idle
    assert stats.fetch_stalls == 1  # replaced once
    assert sorted(store.delivery_ids()) == sorted(str(d.delivery_id) for d, _ in made)
    assert committed_total(kafka, catalog) == len(made)
