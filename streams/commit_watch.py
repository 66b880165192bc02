"""Noticing a partition whose committed offset no longer follows what the agents processed.

Faust commits a partition up to its first record no agent acknowledged. A record the
framework lost without the agent ever noticing (around a rebalance, where the continuity
guard starts afresh) therefore holds the commit back for good, while the agent goes on
processing the records after it: the lost record is never processed, and nothing says so.
After a 30-second broker pause the group's commit stood still at such a record on four
ingest partitions while the worker, alive and reading, had processed far beyond it.

The watch compares, per assigned partition, the committed offset with the offset after the
last record an agent handled. A commit that stays behind for ``stall_seconds`` without
moving is a stall; the worker then stops without committing and the supervisor starts a new
one, which reads again from the committed offset (records already processed come out with
the same ids, so sinks drop them). Rebalancing resets the watch: a partition's clock starts
when its commit is first seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Partition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Stall:
    """A partition whose commit stood at ``committed`` for ``seconds`` while the agents had
    processed up to ``handled_next`` (exclusive)."""

    partition: Partition
    committed: int | None
    handled_next: int
    seconds: float


@dataclass
class CommitWatch:
    """Per partition: the committed offset last seen and since when it has not moved."""

    stall_seconds: float
    _since: dict[Partition, tuple[int | None, float]] = field(default_factory=dict)

    def observe(
        self,
        now: float,
        committed: Mapping[Partition, int | None],
        handled_next: Mapping[Partition, int],
    ) -> list[Stall]:
        """The partitions stalled at ``now`` (monotonic seconds). ``committed`` covers the
        assigned partitions (None: nothing committed yet); ``handled_next`` the offset after
        the last record handled in each, as far as known."""
        for gone in set(self._since) - set(committed):
            del self._since[gone]
        stalls = []
        for partition, offset in committed.items():
            seen = self._since.get(partition)
            if seen is None or seen[0] != offset:
                self._since[partition] = (offset, now)
                continue
            handled = handled_next.get(partition)
            behind = handled is not None and (offset is None or offset < handled)
            if behind and now - seen[1] >= self.stall_seconds:
                assert handled is not None
                stalls.append(Stall(partition, offset, handled, now - seen[1]))
        return stalls

    def reset(self) -> None:
        """Forget every clock (a rebalance moves commits for reasons of its own)."""
        self._since.clear()
