"""A partner whose consumer stops fetching a partition is noticed and replaced: the position
standing still with records to read is the only sign (ADR 0013). Here the stall is made with
the client's own ``pause``; in the fault proofs kafka-python stopped by itself after a leader
and controller failover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer
from kafka.errors import KafkaTimeoutError

from common.processes import wait_for
from consumers.store import PartnerStore
from consumers.subscriber import Subscriber
from infra.topics import TopicCatalog
from tests.integration.test_partner_ack_stall import court_subscriber, deliveries, write
from tests.support.world import Broker


def stop_fetching(subscriber: Subscriber) -> None:
    """Wait until the partner has its partitions, then pause them: it fetches nothing more."""
    assigned = wait_for(
        lambda: bool(subscriber.poll_once(200) >= 0 and subscriber.consumer.assignment()), 60
    )
    assert assigned, "the partner was given no partitions"
    subscriber.consumer.pause(*subscriber.consumer.assignment())


@pytest.mark.timeout(180)
def test_a_consumer_that_stopped_fetching_is_replaced_and_catches_up(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    made = deliveries(cases=4)
    store = PartnerStore.sqlite(str(tmp_path / "court.sqlite"))
    subscriber = court_subscriber(kafka, catalog, store, fetch_stall_timeout=3)
    subscriber.fetch_watch.check_every = 1
    try:
        stop_fetching(subscriber)
        write(kafka, catalog, made)
        subscriber.run(until=lambda: store.counts().deliveries >= len(made), idle_timeout=60)
    finally:
        subscriber.close()
    assert subscriber.stats.fetch_stalls == 1
    assert subscriber.stats.stored == len(made)


@pytest.mark.timeout(180)
def test_a_replacement_that_cannot_start_yet_keeps_the_old_consumer_and_tries_again(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a whole-cluster outage the new consumer cannot bootstrap either: its constructor
    raises. The partner must not be left with the closed one (in the fault proof three
    partners exited with ``IllegalStateError: KafkaConsumer is closed``)."""
    made = deliveries(cases=4)
    store = PartnerStore.sqlite(str(tmp_path / "court.sqlite"))
    subscriber = court_subscriber(kafka, catalog, store, fetch_stall_timeout=3)
    subscriber.fetch_watch.check_every = 1
    refused: list[str] = []

    def cannot_bootstrap_once(*args: Any, **kwargs: Any) -> KafkaConsumer:
        if not refused:
            refused.append("once")
            raise KafkaTimeoutError("Bootstrap failed: timed out")  # as the outage showed
        return KafkaConsumer(*args, **kwargs)

    try:
        stop_fetching(subscriber)
        monkeypatch.setattr("consumers.subscriber.KafkaConsumer", cannot_bootstrap_once)
        write(kafka, catalog, made)
        subscriber.run(until=lambda: store.counts().deliveries >= len(made), idle_timeout=60)
    finally:
        subscriber.close()
    assert refused == ["once"]
    assert subscriber.stats.fetch_stalls == 1  # the second attempt
    assert subscriber.stats.stored == len(made)


@pytest.mark.timeout(180)
def test_a_consumer_whose_offsets_requests_go_unanswered_is_replaced(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    """The other face of the same stall: the watch's own ListOffsets times out (as it did
    every 31 s in the fault proofs), so the position cannot even be compared."""
    made = deliveries(cases=4)
    store = PartnerStore.sqlite(str(tmp_path / "court.sqlite"))
    # The bound out of reach: only the unanswered request can trigger a replacement.
    subscriber = court_subscriber(kafka, catalog, store, fetch_stall_timeout=10_000)
    subscriber.fetch_watch.check_every = 1
    try:
        stop_fetching(subscriber)
        stuck = subscriber.consumer

        def unanswered(*_: object, **__: object) -> None:
            raise KafkaTimeoutError("Failed to get offsets by times in 30000 ms")

        stuck.end_offsets = unanswered  # type: ignore[method-assign]
        write(kafka, catalog, made)
        subscriber.run(until=lambda: store.counts().deliveries >= len(made), idle_timeout=60)
    finally:
        subscriber.close()
    assert subscriber.stats.fetch_stalls == 1
    assert subscriber.stats.stored == len(made)
