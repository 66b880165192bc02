"""When a partition counts as no longer fetched: behind its end and still, for long enough."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition

from consumers.fetch_watch import FetchWatch

TP = TopicPartition("deliver", 0)


@dataclass
class Consumer:
    """The three questions the watch asks a kafka-python consumer."""

    positions: dict[TopicPartition, int] = field(default_factory=lambda: {TP: 0})
    ends: dict[TopicPartition, int] = field(default_factory=lambda: {TP: 0})

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {p: self.ends[p] for p in partitions}

    def position(self, partition: TopicPartition) -> int:
        return self.positions[partition]


def watch(consumer: Any, times: list[float]) -> list[list[TopicPartition]]:
    w = FetchWatch(stall_seconds=60, check_every=10)
    return [w.stalled(consumer, now=t) for t in times]


def test_a_partition_behind_and_still_for_the_stall_time_is_stalled() -> None:
    consumer = Consumer(ends={TP: 5})
    assert watch(consumer, [100, 130, 150, 160]) == [[], [], [], [TP]]


def test_a_caught_up_partition_is_never_stalled_and_the_clock_starts_when_records_arrive() -> None:
    consumer = Consumer()
    w = FetchWatch(stall_seconds=60, check_every=10)
    assert w.stalled(consumer, now=100) == []
    assert w.stalled(consumer, now=500) == []  # idle for minutes: nothing to read
    consumer.ends[TP] = 5
    assert w.stalled(consumer, now=510) == []  # records arrived; the clock started at 500
    assert w.stalled(consumer, now=550) == []
    assert w.stalled(consumer, now=560) == [TP]


def test_a_moving_partition_is_not_stalled_and_checks_are_spaced() -> None:
    consumer = Consumer(ends={TP: 1000})
    w = FetchWatch(stall_seconds=60, check_every=10)
    for step, now in enumerate(range(100, 400, 30)):
        consumer.positions[TP] = step
        assert w.stalled(consumer, now=now) == []
    consumer.positions[TP] = 0  # would look stalled against the first sample
    assert w.stalled(consumer, now=375) == []  # within check_every of the last check
