"""An aiokafka producer that tracks the worker's output topics never loses their leaders.

The worker's producer (aiokafka, under Faust) learns every topic when Faust refreshes it after
creating the table changelogs, without tracking any. The first send to a topic it did not
learn then narrows every later refresh to the tracked topics, so a record already queued for
an untracked topic has no partition leader: it waits the whole request timeout and fails with
``NotLeaderForPartitionError`` (the worker then stops before committing). The first test shows
that on the real broker; the second that ``streams.emitter.track_topics``, which the worker
calls before its first batch, prevents it.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import NotLeaderForPartitionError
from kafka.admin import NewTopic

from infra.security.access import admin_client
from infra.topics import TopicCatalog
from streams.emitter import track_topics
from tests.support.world import Broker

REQUEST_TIMEOUT_MS = 6_000
LINGER_MS = 1_500
"""Long enough that the record is still queued when the narrowing refresh completes."""


async def _send_around_a_new_topic(kafka: Broker, known: str, *, track: bool) -> Any:
    """Queue a record for ``known`` after a refresh of every topic, then send to a topic
    created since; return what became of the first record."""
    settings = kafka.client()
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap,
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=settings["sasl_plain_username"],
        sasl_plain_password=settings["sasl_plain_password"],
        ssl_context=ssl.create_default_context(cafile=settings["ssl_cafile"]),
        acks="all",
        linger_ms=LINGER_MS,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
    )
    await producer.start()
    try:
        if track:
            await track_topics(producer.client, [known])
        await producer.client.force_metadata_update()  # what Faust does after creating a topic
        queued = await producer.send(known, b"queued before the new topic's first send")
        later = f"{known}.later-{uuid.uuid4().hex[:8]}"
        admin = admin_client(kafka.bootstrap, kafka.client())
        try:
            admin.create_topics([NewTopic(later, 1, 1)], timeout_ms=30_000)
        finally:
            admin.close()
        await asyncio.sleep(0.5)
        await producer.send(later, b"the first record of a topic created later")
        started = time.monotonic()
        try:
            return await queued
        except NotLeaderForPartitionError as error:
            assert time.monotonic() - started > (REQUEST_TIMEOUT_MS - LINGER_MS) / 1000 / 2
            return error
    finally:
        await producer.stop()


@pytest.mark.timeout(120)
def test_an_untracked_topic_loses_its_leader_when_another_topic_is_first_sent(
    kafka: Broker, catalog: TopicCatalog
) -> None:
    outcome = asyncio.run(_send_around_a_new_topic(kafka, catalog.rejected, track=False))
    assert isinstance(outcome, NotLeaderForPartitionError)


@pytest.mark.timeout(120)
def test_tracked_topics_keep_their_leaders(kafka: Broker, catalog: TopicCatalog) -> None:
    outcome = asyncio.run(_send_around_a_new_topic(kafka, catalog.rejected, track=True))
    assert not isinstance(outcome, BaseException)
    assert outcome.topic == catalog.rejected
    assert outcome.offset == 0
