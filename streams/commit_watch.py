"""Noticing a partition whose committed offset no longer follows its records.

Faust commits a partition up to its first record no agent acknowledged. A record the
framework lost without the agent ever noticing (around a rebalance, where the continuity
guard starts afresh) therefore holds the commit back for good, while the agent goes on
processing the records after it: the lost record is never processed, and nothing says so.
After a 30-second broker pause the group's commit stood still at such a record on four
ingest partitions while the worker, alive and reading, had processed far beyond it. And a
worker restarted while a broker was down became ready, filled two holes on its
acknowledgement topics, and then never received an ingest record again.

The watch keeps, per assigned partition, since when its committed offset has not moved and
since when it has been seen *behind* with that commit: the agents have handled records past
it, or the broker holds a record at or after it (asked by whoever owns the watch, for a
commit that has stood still 10 s with nothing handled past it; a transaction marker at
the end of a partition is no record, and nothing can commit past it). A commit that stays
behind for ``stall_seconds`` without moving is a stall: the worker stops without committing
and the supervisor starts a new one, which reads again from the committed offset (records
already processed come out with the same ids, so sinks drop them). Measuring from the first
sight of records waiting, not from the last commit, keeps a partition that was idle and has
just received a record from looking stalled. Rebalancing resets the watch.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

Partition = tuple[str, int]

_ASK_AFTER_SECONDS = 10.0
BUSY_AFTER_SECONDS = 5.0


def busy_partitions(
    now: float,
    partitions: Collection[Partition],
    stage_topics: Mapping[str, Collection[str]],
    caught_up: Mapping[str, float],
    took_batch: Mapping[str, float],
    after: float = BUSY_AFTER_SECONDS,
) -> set[Partition]:
    """The partitions whose agent is working through a backlog: it has taken a batch within
    ``after`` seconds, and none short of full (caught up) for longer than that. An agent
    that takes no batch at all is not busy but blocked (on a send, or a commit flushing a
    producer that no longer sends), and records waiting behind it must count: in a fault
    proof a blocked worker passed for busy for four minutes and was never restarted."""
    busy_stages = {
        stage
        for stage in stage_topics
        if now - caught_up[stage] > after and now - took_batch[stage] <= after
    }
    return {p for p in partitions for s in busy_stages if p[0] in stage_topics[s]}


@dataclass(frozen=True, slots=True)
class Stall:
    """A partition whose commit stood at ``committed`` for ``seconds`` with records waiting
    past it; ``handled_next`` is the offset after the last record the agents handled (None:
    they handled none past the commit; the broker showed records there)."""

    partition: Partition
    committed: int | None
    handled_next: int | None
    seconds: float


@dataclass
class _Clock:
    committed: int | None
    still_since: float
    behind_since: float | None = None
    asked_at: float | None = None
    only_asked: bool = False
    """Behind on the broker's word alone: no agent handled anything past the commit."""


@dataclass
class CommitWatch:
    """Per partition: the committed offset last seen, since when it has not moved, and since
    when records have been seen waiting past it."""

    stall_seconds: float
    _clocks: dict[Partition, _Clock] = field(default_factory=dict)

    @property
    def ask_after(self) -> float:
        """How long a commit stands still, with nothing handled past it, before the broker
        is asked whether records wait there (and how often it is asked again)."""
        return min(_ASK_AFTER_SECONDS, self.stall_seconds / 3)

    def observe(
        self,
        now: float,
        committed: Mapping[Partition, int | None],
        handled_next: Mapping[Partition, int],
        busy: Collection[Partition] = (),
    ) -> tuple[list[Stall], dict[Partition, int]]:
        """The stalls at ``now`` (monotonic seconds), and the partitions to ask the broker
        about (partition → the offset at or after which a record would be waiting).
        ``committed`` covers the assigned partitions (None: nothing committed yet);
        ``handled_next`` the offset after the last record handled in each, as far as known;
        ``busy`` the partitions whose agent is working through a backlog (only full batches
        lately): records waiting there are not yet handed over, not lost, so the broker is
        not asked about them and its earlier word does not count."""
        for gone in set(self._clocks) - set(committed):
            del self._clocks[gone]
        stalls: list[Stall] = []
        ask: dict[Partition, int] = {}
        for partition, offset in committed.items():
            clock = self._clocks.get(partition)
            if clock is None or clock.committed != offset:
                clock = self._clocks[partition] = _Clock(offset, now)
            handled = handled_next.get(partition)
            if handled is not None and (offset is None or handled > offset):
                if clock.behind_since is None or clock.only_asked:
                    clock.behind_since = clock.behind_since or now
                    clock.only_asked = False
            else:
                handled = None
            if partition in busy:
                if clock.only_asked:
                    clock.behind_since, clock.only_asked = None, False
                if clock.behind_since is None:
                    clock.asked_at = now  # ask only once the agent has caught up
                    continue
            if clock.behind_since is not None:
                if now - clock.behind_since >= self.stall_seconds:
                    stalls.append(Stall(partition, offset, handled, now - clock.behind_since))
            elif now - max(clock.still_since, clock.asked_at or clock.still_since) >= (
                self.ask_after
            ):
                ask[partition] = offset or 0
        return stalls, ask

    def answered(self, partition: Partition, now: float, *, waiting: bool) -> None:
        """The broker's answer for a partition asked about: records wait past its commit (its
        stall clock starts), or none do (asked again after ``ask_after``)."""
        clock = self._clocks.get(partition)
        if clock is None:
            return
        clock.asked_at = now
        if waiting and clock.behind_since is None:
            clock.behind_since = now
            clock.only_asked = True

    def reset(self) -> None:
        """Forget every clock (a rebalance moves commits for reasons of its own)."""
        self._clocks.clear()
