"""Records the commit watch found waiting are read directly only if the agent lacks them."""

from __future__ import annotations

from streams.rescue import still_waiting

P = ("cjs.ingest.93.v1", 1)
OTHER = ("cjs.internal.ticks.v1", 1)


def test_records_no_agent_received_are_read() -> None:
    assert still_waiting(P, range(0, 52), {}, {OTHER}) == range(0, 52)


def test_records_handed_over_after_the_probe_looked_are_not_read_again() -> None:
    """A worker's start: the probe saw offsets 0-51 waiting; Faust then handed 0-29 over."""
    assert still_waiting(P, range(0, 52), {P: 30}, {OTHER}) == range(30, 52)
    assert still_waiting(P, range(0, 52), {P: 52}, {OTHER}) == range(0)
    assert still_waiting(P, range(0, 52), {P: 80}, {OTHER}) == range(0)


def test_a_batch_holding_the_partition_leaves_its_gaps_to_the_continuity_guard() -> None:
    """Its records are processed as they are; what precedes them is a hole the guard reads."""
    assert still_waiting(P, range(0, 52), {}, {P, OTHER}) == range(0)
