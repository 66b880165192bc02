"""The publisher's edge against the real broker: the size limit it enforces is the broker's
(the largest record it lets through is accepted; one byte more is refused before it is kept),
acknowledged events leave the outbox, and a producer that stops sending is replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka.errors import KafkaError, KafkaTimeoutError

from infra.topics import TopicCatalog
from producers.outbox import pending_in
from producers.profiles import force_profile
from producers.publisher import PublishCode, Publisher, PublishRefused
from producers.simulator import SyntheticForce
from schemas.models import CaseEvent
from streams.reference import StandingData
from tests.support.world import Broker, read_topic, start_broker, stuck_producer


def largest_that_fits(publisher: Publisher, key: bytes) -> int:
    low, high = 0, publisher.max_record_bytes
    while low < high:  # the largest value size check_size lets through
        mid = (low + high + 1) // 2
        try:
            publisher.check_size(key, b"x" * mid, [])
            low = mid
        except PublishRefused:
            high = mid - 1
    return low


def test_the_largest_record_let_through_is_accepted_and_one_byte_more_is_refused(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    topic = catalog.ingest("05")
    with Publisher(
        bootstrap_servers=kafka.bootstrap,
        topic=topic,
        outbox_dir=tmp_path,
        **kafka.client("force-05"),
    ) as publisher:
        size = largest_that_fits(publisher, b"key")
        assert size > 1_000_000
        publisher.send_raw(b"key", b"x" * size).get(timeout=60)  # the broker takes it
        with pytest.raises(PublishRefused) as refused:
            publisher.send_raw(b"key", b"x" * (size + 1))
        assert refused.value.code is PublishCode.EVENT_TOO_LARGE

        sim = SyntheticForce(force_profile(StandingData.load(), "05"), seed=3)
        event = sim.charge(sim.new_case(), advised=True)
        huge = event.model_copy(update={"charging_advice": "Advice. " * 150_000})
        with pytest.raises(PublishRefused) as refused:
            publisher.publish(huge)
        assert refused.value.code is PublishCode.EVENT_TOO_LARGE
        assert refused.value.event_id == str(event.envelope.event_id)
        assert publisher.pending() == 0  # refused events are never kept
    values = [value for _, value, _ in read_topic(kafka, topic, timeout_ms=3000)]
    assert [len(v) for v in values] == [size]


def test_acknowledged_events_leave_the_outbox(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    topic = catalog.ingest("01")
    sim = SyntheticForce(force_profile(StandingData.load(), "01"), seed=4)
    events = [e for _ in range(20) for e in sim.case_story()]
    with Publisher(
        bootstrap_servers=kafka.bootstrap,
        topic=topic,
        outbox_dir=tmp_path,
        **kafka.client("force-01"),
    ) as publisher:
        sent = [publisher.publish(e) for e in events]
        assert publisher.pending() > 0 or all(s.is_done for s in sent)
        publisher.flush(timeout=60)
        assert all(s.succeeded() for s in sent)
        assert publisher.pending() == 0
    assert pending_in(tmp_path / topic) == 0
    assert list((tmp_path / topic).glob("*.sqlite")) == []
    on_topic = [d for _, _, d in read_topic(kafka, topic) if d is not None]
    assert len(on_topic) == len(events)


def test_a_refused_publisher_says_why_and_keeps_its_events(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    """Force 05 may not write force 01's topic: flush raises the broker's refusal instead of
    waiting for ever, and close keeps the events for when an operator has fixed the ACL."""
    topic = catalog.ingest("01")
    sim = SyntheticForce(force_profile(StandingData.load(), "05"), seed=5)
    publisher = Publisher(
        bootstrap_servers=kafka.bootstrap,
        topic=topic,
        outbox_dir=tmp_path,
        **kafka.client("force-05"),
    )
    try:
        for _ in range(3):
            publisher.publish(sim.charge(sim.new_case()))
        with pytest.raises(KafkaError) as refused:
            publisher.flush(timeout=60)
        assert not isinstance(refused.value, KafkaTimeoutError)
        assert "Authorization" in type(refused.value).__name__
    finally:
        publisher.close(timeout=5)
    assert pending_in(tmp_path / topic) == 3


@pytest.mark.timeout(240)
def test_a_producer_that_stops_sending_is_replaced_and_every_event_arrives_in_order(
    kafka: Broker, catalog: TopicCatalog, kafka_lib: Path, tmp_path: Path
) -> None:
    """The stall is real: the publisher's producer is one whose broker was SIGKILLed after it
    learned the topic, so what it is handed stays in its buffer, unanswered (its retries
    would go on for the producer's whole delivery timeout, and then again)."""
    topic = catalog.ingest("05")
    sim = SyntheticForce(force_profile(StandingData.load(), "05"), seed=5)
    events = [e for _ in range(6) for e in sim.case_story()]
    gone = start_broker(tmp_path / "gone", kafka_lib)
    publisher = Publisher(
        bootstrap_servers=kafka.bootstrap,
        topic=topic,
        outbox_dir=tmp_path / "outbox",
        stall_seconds=3,
        **kafka.client("force-05"),
    )
    try:
        publisher.producer = stuck_producer(gone, topic)  # before anything is handed over
        for event in events:
            publisher.publish(event)
        publisher.flush(timeout=90)
    finally:
        publisher.close(timeout=10)
        gone.cluster.stop()
    assert publisher.producers_replaced == 1
    on_topic = [d for _, _, d in read_topic(kafka, topic, timeout_ms=3000)]
    assert all(isinstance(d, CaseEvent) for d in on_topic)
    arrived = [d.envelope for d in on_topic if isinstance(d, CaseEvent)]
    assert sorted(str(e.event_id) for e in arrived) == sorted(
        str(e.envelope.event_id) for e in events
    )  # each once: the stuck producer wrote nothing
    by_case: dict[str, list[int]] = {}
    for envelope in arrived:
        by_case.setdefault(envelope.case_urn, []).append(envelope.sequence)
    assert all(seqs == sorted(seqs) for seqs in by_case.values())
    assert pending_in(tmp_path / "outbox" / topic) == 0
