"""Noticing a consumer that has stopped fetching some of its partitions.

In the fault proofs, after a partition leader and then the active controller were killed, a
partner's kafka-python consumer (3.0.12) kept its assignment and its other partitions but never
fetched one or two partitions again: their committed offsets stayed at 0 while the partitions
held records up to their last stable offset (ADR 0013). Nothing in the client reports it; the
only sign is a position that does not move while there is something to read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition


@dataclass
class FetchWatch:
    """Assigned partitions whose position has stood still, with records to read, for
    ``stall_seconds``; checked at most every ``check_every`` seconds (one ListOffsets)."""

    stall_seconds: float
    check_every: float = 10.0
    _since: dict[TopicPartition, tuple[int, float]] = field(default_factory=dict)
    _checked: float = 0.0

    def stalled(self, consumer: KafkaConsumer, now: float | None = None) -> list[TopicPartition]:
        now = time.monotonic() if now is None else now
        if now - self._checked < self.check_every:
            return []
        self._checked = now
        assigned = sorted(consumer.assignment())
        if not assigned:
            return []
        ends = consumer.end_offsets(assigned)
        stuck = []
        for partition in assigned:
            position = consumer.position(partition)
            since = self._since.get(partition)
            if since is None or since[0] != position or position >= ends[partition]:
                self._since[partition] = (position, now)  # moving, or nothing to read
            elif now - since[1] >= self.stall_seconds:
                stuck.append(partition)
        return stuck

    def reset(self) -> None:
        self._since.clear()
