"""Whatever state a crashed worker rebuilds, its replay sends every delivery (ADR 0002).

A worker's state (a Faust table: RocksDB and a changelog) and its outputs are not written
atomically. A worker starting after an unclean stop rebuilds its tables from their changelogs
(``cjsx.cli.worker``), which hold, per partition, a prefix of the writes made: everything up
to the last commit (a commit flushes the producer first), and any part of what followed. Here
the worker's loop is modelled over the real stages (decide a batch with staged state, send
its outputs, write its state in ``write_rank`` order, commit now and then), killed at any
point (while sending a batch's outputs, or part-way through writing its state), rebuilt from
any such prefix and replayed from the commit: the deliveries on the broker must be exactly
those of a run without a crash. The same model with the state written before the outputs
loses deliveries (the last test), as CI's crash run did.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.models import CaseEvent, Delivery
from streams.order import write_rank
from streams.outputs import Output
from streams.record import SourceRecord
from streams.staging import StagedStore
from streams.state import DictStore
from tests.support.builders import (
    HOLD,
    NOW,
    FixedClock,
    catalog,
    decoded,
    exchange,
    record,
    synthetic_force,
)

PARTITIONS = catalog().ingest_partitions


@dataclass(frozen=True)
class Step:
    """One input record and the time the worker decides it."""

    record: SourceRecord
    at: datetime


class _Crash(Exception):
    """The worker dies here."""


@dataclass
class ChangelogStore:
    """A table partitioned like the worker's: a local store, and a changelog per partition
    holding every write in the order it was made."""

    local: dict[str, bytes] = field(default_factory=dict)
    logs: dict[int, list[tuple[str, bytes | None]]] = field(default_factory=dict)
    partition: int = 0
    budget: int | None = None
    """Writes left before the worker dies inside a flush (None: no limit)."""

    def in_partition(self, partition: int) -> None:
        self.partition = partition

    def get(self, key: str) -> bytes | None:
        return self.local.get(key)

    def put(self, key: str, value: bytes) -> None:
        self._write(key, value)

    def delete(self, key: str) -> None:
        self._write(key, None)

    def _write(self, key: str, value: bytes | None) -> None:
        if self.budget is not None:
            if self.budget == 0:
                raise _Crash
            self.budget -= 1
        if value is None:
            self.local.pop(key, None)
        else:
            self.local[key] = value
        self.logs.setdefault(self.partition, []).append((key, value))

    def lengths(self) -> dict[int, int]:
        return {p: len(log) for p, log in self.logs.items()}

    def recovered(self, committed: dict[int, int], rng: random.Random) -> DictStore:
        """What a worker rebuilding from the changelog finds: per partition, the records up
        to a random point at or after the commit (which flushed everything before it)."""
        store = DictStore()
        for partition, log in self.logs.items():
            landed = rng.randint(committed.get(partition, 0), len(log))
            for key, value in log[:landed]:
                if value is None:
                    store.delete(key)
                else:
                    store.put(key, value)
        return store


def _traffic() -> list[Step]:
    """Cases in order, out of order and with a gap that never fills, interleaved, with a tick
    of every partition after every third record; the clock moves 1.5 s per record, so held
    events are released by ticks (hold: 10 s) within the run."""
    sim = synthetic_force(seed=7)
    rng = random.Random(7)
    stories: list[list[CaseEvent]] = []
    for kind in ["in order"] * 4 + ["reversed"] * 3 + ["gap"] * 3:
        story = sim.case_story()
        while len(story) < 2:
            story = sim.case_story()
        if kind == "reversed":
            story = story[::-1]
        elif kind == "gap":
            story = story[1:]
        stories.append(story)
    arrivals: list[CaseEvent] = []
    while any(stories):
        story = rng.choice([s for s in stories if s])
        arrivals.append(story.pop(0))
    steps: list[Step] = []
    offsets: dict[tuple[str, int], int] = {}
    at = NOW
    for n, event in enumerate(arrivals, 1):
        at += timedelta(seconds=1.5)
        placed = record(event)
        where = (placed.topic, placed.partition)
        offsets[where] = offsets.get(where, -1) + 1
        steps.append(Step(record(event, offsets[where]), at))
        if n % 3 == 0:
            steps += _ticks(offsets, at)
    for _ in range(2):  # past every hold: nothing may stay held
        at += HOLD * 2
        steps += _ticks(offsets, at)
    return steps


def _ticks(offsets: dict[tuple[str, int], int], at: datetime) -> list[Step]:
    ticks: list[Step] = []
    for partition in range(PARTITIONS):
        where = (catalog().ticks, partition)
        offsets[where] = offsets.get(where, -1) + 1
        tick = SourceRecord(catalog().ticks, partition, offsets[where], None, b"")
        ticks.append(Step(tick, at))
    return ticks


TRAFFIC = _traffic()


@dataclass
class Worker:
    """The worker's loop over the real stages (``streams.app`` wires the same stores)."""

    seen: ChangelogStore | DictStore
    cases: ChangelogStore | DictStore
    ordered: bool = True
    """Write the ordering state in ``write_rank`` order (as the worker does), or as first
    written in the batch."""
    clock: FixedClock = field(default_factory=FixedClock)

    def __post_init__(self) -> None:
        self.staged = (
            StagedStore(self.seen),
            StagedStore(self.cases, write_rank if self.ordered else None),
        )
        self.exchange = exchange(self.clock, seen=self.staged[0], cases=self.staged[1])

    def decide(self, batch: Sequence[Step]) -> list[Output]:
        outputs: list[Output] = []
        for step in batch:
            self.clock.now = step.at
            r = step.record
            outcome = (
                self.exchange.tick(r) if r.topic == catalog().ticks else self.exchange.process(r)
            )
            for store in self.staged:
                store.keep(r.partition)
            outputs += outcome.outputs
        return outputs

    def write_state(self) -> None:
        for staged, base in zip(self.staged, (self.seen, self.cases), strict=True):
            partition = base.in_partition if isinstance(base, ChangelogStore) else _anywhere
            staged.flush(partition)


def _anywhere(_partition: int) -> None:
    """A dict store has no partitions."""


def _deliveries(outputs: Sequence[Output]) -> set[UUID]:
    return {d.delivery_id for d in decoded(outputs, Delivery)}


def _batches(steps: Sequence[Step], rng: random.Random) -> list[list[Step]]:
    batches: list[list[Step]] = []
    i = 0
    while i < len(steps):
        n = rng.randint(1, 5)
        batches.append(list(steps[i : i + n]))
        i += n
    return batches


def _without_a_crash() -> set[UUID]:
    worker = Worker(DictStore(), DictStore())
    outputs: list[Output] = []
    for step in TRAFFIC:
        outputs += worker.decide([step])
        worker.write_state()
    return _deliveries(outputs)


EXPECTED = _without_a_crash()


def _crash_and_recover(seed: int, *, state_first: bool = False, ordered: bool = True) -> set[UUID]:
    """Run the traffic in random batches, committing now and then; die in a random batch,
    while sending its outputs or part-way through writing its state; rebuild the state from
    the changelog as far as it reached; replay from the commit. Returns the deliveries that
    reached the broker."""
    rng = random.Random(seed)
    seen, cases = ChangelogStore(), ChangelogStore()
    worker = Worker(seen, cases, ordered)
    landed: list[Output] = []
    batches = _batches(TRAFFIC, rng)
    crash_in = rng.randrange(len(batches))
    in_flush = rng.random() < 0.5
    done = 0
    committed: tuple[int, dict[int, int], dict[int, int]] = (0, {}, {})
    for number, batch in enumerate(batches):
        outputs = worker.decide(batch)
        crashing = number == crash_in
        sent = outputs
        if crashing and not in_flush:
            sent = rng.sample(outputs, rng.randint(0, len(outputs)))
        if crashing and in_flush:
            seen.budget = rng.randint(0, worker.staged[0].pending)
            cases.budget = rng.randint(0, worker.staged[1].pending)
        try:
            if state_first:
                worker.write_state()
                landed += sent
            else:
                landed += sent
                if crashing and not in_flush:
                    break  # died before writing any state
                worker.write_state()
        except _Crash:
            break
        if crashing:
            break
        done += len(batch)
        if rng.random() < 0.4:  # a commit: everything before is on the broker
            committed = (done, seen.lengths(), cases.lengths())
    steps, seen_at, cases_at = committed
    restarted = Worker(seen.recovered(seen_at, rng), cases.recovered(cases_at, rng), ordered)
    for batch in _batches(TRAFFIC[steps:], rng):
        landed += restarted.decide(batch)
        restarted.write_state()
    return _deliveries(landed)


def test_the_traffic_holds_and_releases_events() -> None:
    """The model's traffic has what the property needs: ticks that release held events."""
    worker = Worker(DictStore(), DictStore())
    released_by_ticks = 0
    for step in TRAFFIC:
        outputs = worker.decide([step])
        worker.write_state()
        if step.record.topic == catalog().ticks:
            released_by_ticks += len(_deliveries(outputs))
    assert released_by_ticks >= 3
    assert len(EXPECTED) >= 20


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_any_crash_and_any_rebuilt_prefix_still_sends_every_delivery(seed: int) -> None:
    assert _crash_and_recover(seed, state_first=False) == EXPECTED


def test_with_the_state_written_first_some_crash_loses_a_delivery() -> None:
    """Why the order matters: the same model with the state written before the outputs loses
    deliveries for some crash points and prefixes (CI's crash run: held events accepted and
    never delivered). Measured once over seeds 0-399: 26 lose with the state first, 2 with the
    state written in first-write order instead of ``write_rank`` (``test_order.py`` shows that
    hazard directly), none as the worker does."""
    lost = next(
        (s for s in range(400) if not _crash_and_recover(s, state_first=True) >= EXPECTED), None
    )
    assert lost is not None, "no crash of the model loses a delivery with the state first"
    assert _crash_and_recover(lost) == EXPECTED  # the same crash, outputs first
