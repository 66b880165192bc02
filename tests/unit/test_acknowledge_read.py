"""Records an agent read itself move Faust's commit, from the committed offset on.

Faust's own ``Consumer._new_offset`` decides the commit here, over the bookkeeping that
``acknowledge_read`` fills (a stand-in object carries Faust's attributes)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from faust.transport.consumer import Consumer
from faust.types import TP
from intervaltree import IntervalTree

from streams.app import acknowledge_read

TICKS = TP("cjs.internal.ticks.v1", 2)


def _bookkeeping(committed: int) -> Any:
    consumer = SimpleNamespace(
        _acked=defaultdict(list),
        _acked_index=defaultdict(set),
        _gap=defaultdict(IntervalTree),
        _committed_offset=defaultdict(lambda: None),
        _n_acked=0,
    )
    consumer._committed_offset[TICKS] = committed
    return consumer


def test_records_read_from_the_commit_on_move_it_past_them() -> None:
    consumer = _bookkeeping(committed=52)
    acknowledge_read(consumer, TICKS, range(52, 81))
    assert Consumer._new_offset(consumer, TICKS) == 81
    assert consumer._n_acked == 29


def test_as_a_gap_the_same_read_never_moved_the_commit() -> None:
    """What fresh clone V's stall log showed: committed 52, gaps [[53, 80]], nothing acked."""
    consumer = _bookkeeping(committed=52)
    asyncio.run(Consumer._add_gap(consumer, TICKS, 52, 80))
    assert Consumer._new_offset(consumer, TICKS) is None


def test_offsets_below_the_commit_or_already_acknowledged_are_left_alone() -> None:
    consumer = _bookkeeping(committed=52)
    consumer._acked[TICKS].append(55)
    consumer._acked_index[TICKS].add(55)
    acknowledge_read(consumer, TICKS, range(50, 57))
    assert sorted(consumer._acked[TICKS]) == [52, 53, 54, 55, 56]
    assert Consumer._new_offset(consumer, TICKS) == 57
