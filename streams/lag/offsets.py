"""Lag arithmetic, pure: what a group has not consumed of a topic, and how old the oldest is.

A group's position is its commit, or the log start if it has none or its commit fell off the
log (retention); its lag is the end offset minus that position, summed over partitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    """One partition's log start and end offsets and a group's committed offset, if any."""

    start: int
    end: int
    committed: int | None = None

    @property
    def position(self) -> int:
        """The next offset the group will read: its commit, or the log start if it has none
        or its commit fell off the log (retention)."""
        committed = self.start if self.committed is None or self.committed < 0 else self.committed
        return min(max(committed, self.start), self.end)

    @property
    def unconsumed(self) -> int:
        return self.end - self.position


@dataclass(frozen=True, slots=True)
class Backlog:
    """Unconsumed records of one topic for one group, and the age of the oldest (None when
    there are records but none could be read to date them)."""

    messages: int
    seconds: float | None


def backlog(
    partitions: Mapping[int, PartitionOffsets],
    oldest_timestamp_ms: Mapping[int, int],
    now: float,
) -> Backlog:
    """Sum the partitions' lag; the age is that of the oldest unconsumed record of any.

    ``oldest_timestamp_ms`` holds the timestamp of the record at each lagging partition's
    position; a caught-up topic is 0 s behind, however old its last record.
    """
    messages = sum(p.unconsumed for p in partitions.values())
    if messages == 0:
        return Backlog(0, 0.0)
    ages = [
        max(0.0, now - oldest_timestamp_ms[n] / 1000)
        for n, p in partitions.items()
        if p.unconsumed > 0 and oldest_timestamp_ms.get(n, -1) >= 0
    ]
    return Backlog(messages, max(ages) if ages else None)


@dataclass(frozen=True, slots=True)
class Watch:
    """A topic read by a consumer group; ``recipient`` is None for the rejected topic."""

    topic: str
    group: str
    recipient: str | None = None
