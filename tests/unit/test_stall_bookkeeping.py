"""A stall's log says what Faust's commit bookkeeping held: offsets, never case data."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from faust.types import TP
from intervaltree import IntervalTree

from streams.app import _commit_bookkeeping

TICKS = TP("cjs.internal.ticks.v1", 1)


def test_the_acknowledged_offsets_and_gaps_of_the_stalled_partition() -> None:
    gaps: defaultdict[TP, IntervalTree] = defaultdict(IntervalTree)
    gaps[TICKS].addi(37, 55)
    consumer = SimpleNamespace(_acked={TICKS: [58, 55, 56, 57, 59, 60]}, _gap=gaps)
    assert _commit_bookkeeping(consumer, TICKS) == {
        "acked_count": 6,
        "acked_first": [55, 56, 57, 58, 59],
        "acked_last": 60,
        "gaps": [(37, 54)],
    }
    assert _commit_bookkeeping(consumer, TP("other", 0))["acked_count"] == 0


def test_a_consumer_without_the_bookkeeping_gives_nothing_rather_than_failing() -> None:
    assert _commit_bookkeeping(SimpleNamespace(), TICKS) == {}
