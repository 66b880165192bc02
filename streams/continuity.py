"""Noticing records the stream framework skipped, so they can be read again.

Within one consumer generation a partition's records reach the agent in offset order with
no holes (the exchange's input topics are neither compacted nor, as far as the exchange
writes them, transactional). Faust can nevertheless drop a record before the agent sees it:
a restarted worker resumes its stream partitions while it still seeks them to their
committed offsets, and a record fetched across that seek can be lost (seen in the crash
run: one acknowledgement in 47,000 never processed). Faust's commit then moves past it (its
check for an unacknowledged record at the head of a partition allows exactly one), so the
loss outlives a restart too.

The guard tracks, per partition and generation, the offset it expects next. A record
further on means a hole: the agent processes what it has and seeks the partition back to
the hole, so the missing records come again (the ones after it are read twice, which the
pipeline already treats as a replay: same ids, nothing twice at a partner). A hole that is
still there after one seek back is a real gap in the log (a transaction marker written by a
force's transactional producer, say) and is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Partition = tuple[str, int]


@dataclass
class Continuity:
    """Expected next offsets, and the holes already sought back to once."""

    _next: dict[Partition, tuple[int, int]] = field(default_factory=dict)
    _sought: set[tuple[Partition, int, int]] = field(default_factory=set)

    def observe(self, partition: Partition, generation: int, offset: int) -> int | None:
        """Note a record the agent received; return the offset to seek back to when
        records before it were never received (None when nothing is missing)."""
        expected = self._next.get(partition)
        self._next[partition] = (generation, offset + 1)
        if expected is None or expected[0] != generation or offset <= expected[1]:
            return None  # first record, a new generation, in order, or read again
        hole = (partition, generation, expected[1])
        if hole in self._sought:
            return None  # still missing after a seek back: a gap in the log itself
        self._sought.add(hole)
        return expected[1]
